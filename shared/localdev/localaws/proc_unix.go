//go:build unix

package localaws

import "syscall"

// sysProcAttr puts the child in its own process group so that Stop can end it
// and anything it spawned; on Linux the child also dies with this process.
func sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	setPdeathsig(a)
	return a
}

func killGroup(pid int) {
	if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
