// Package layout holds no code: its tests check the repository's layout
// rules, such as the size limit on packages (see docs/development.md,
// "Package size").
package layout
