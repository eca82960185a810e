//go:build unix

package secretcmd

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup starts cmd in a process group of its own and makes
// cancellation (timeout or the caller's context) kill the whole group, so
// that a helper's children ("sh -c 'vault ... & wait'") do not outlive it.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The group's ID is the leader's PID; a negative PID names the group.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
