//go:build !linux

package main

import (
	"errors"
	"net"
)

func epollServe(net.Listener, string, int) error {
	return errors.New("-epoll needs Linux")
}
