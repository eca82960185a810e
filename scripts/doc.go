// Package scripts holds no Go code: scripts/ is the project's shell and
// PowerShell tooling (tenant setup, the test driver). The package exists
// so that `go test ./...` runs the tests of those scripts, which drive them
// against fakes (a fake Azure CLI first on PATH) and check what they print.
package scripts
