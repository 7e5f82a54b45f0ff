package qemu

import "syscall"

// procAttr makes the kernel kill QEMU when the process that started it
// dies (a test binary killed by its timeout), so no VM outlives its test.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
