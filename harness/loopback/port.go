// Package loopback finds free addresses on 127.0.0.1 for the endpoints
// relapse starts (a daemon's metrics, a workload's HTTP port).
package loopback

import (
	"fmt"
	"net"
)

// FreeAddress returns a 127.0.0.1 TCP address nobody listens on now. The
// taker binds it a moment later; a race with another taker makes that bind
// fail, which the taker reports.
func FreeAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free loopback port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// FreePort is FreeAddress's port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
