//go:build !linux

package slapdtest

import "syscall"

// sysProcAttr has nothing to add outside Linux.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
