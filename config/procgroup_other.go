//go:build !unix

package config

import "os/exec"

// ownProcessGroup does nothing here: exec.CommandContext kills the command
// itself on cancellation.
func ownProcessGroup(cmd *exec.Cmd) {}
