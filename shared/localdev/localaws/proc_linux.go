package localaws

import "syscall"

// setPdeathsig kills dynalite when the test binary dies without calling Stop.
func setPdeathsig(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
