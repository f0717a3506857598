package slapdtest

import "syscall"

// sysProcAttr makes the kernel kill slapd when the test binary dies
// without running its cleanups (a panic, a go test -timeout), so no slapd
// outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
