//go:build unix && !linux

package localaws

import "syscall"

func setPdeathsig(*syscall.SysProcAttr) {}
