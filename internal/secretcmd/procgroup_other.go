//go:build !unix

package secretcmd

import "os/exec"

// ownProcessGroup does nothing here: exec.CommandContext kills the command
// itself on cancellation.
func ownProcessGroup(cmd *exec.Cmd) {}
