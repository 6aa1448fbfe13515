package main

import (
	"os"
	"syscall"
)

// dieWithParent asks the kernel to send SIGTERM to this process when the process that
// started it dies (PR_SET_PDEATHSIG), when KCP_DIE_WITH_PARENT=1. The test fixture sets it,
// so a test session killed outright (SIGKILL, an OOM kill) leaves no control plane behind;
// SIGTERM lets every component shut down as usual.
func dieWithParent() {
	if os.Getenv("KCP_DIE_WITH_PARENT") != "1" {
		return
	}
	parent := os.Getppid()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0); errno != 0 {
		return
	}
	if os.Getppid() != parent { // the parent died before the request took effect
		os.Exit(1)
	}
}
