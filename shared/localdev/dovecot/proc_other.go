//go:build unix && !linux

package dovecot

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func killGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }

// sessions is unknown here: none.
func sessions(int) (int, error) { return 0, nil }
