package load

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
)

// checkURL accepts only http(s) URLs whose host is a loopback IP or
// "localhost". The dialer checks again at connect time (see
// loopbackControl), so a name that resolves elsewhere cannot slip through.
func checkURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("load: URL is empty; give the workload's loopback URL, e.g. http://127.0.0.1:8080/upload")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("load: URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("load: URL %q: scheme %q, want http or https", raw, u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("load: URL %q has no host; want a loopback address such as 127.0.0.1", raw)
	}
	if strings.EqualFold(host, "localhost") {
		return u, nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("load: refusing URL %q: host %q is not a loopback address; load is only sent to workloads on this machine (127.0.0.0/8, ::1 or localhost)", raw, host)
	}
	return u, nil
}

// loopbackControl is a net.Dialer Control hook that refuses to connect to a
// non-loopback address, whatever the URL's name resolved to.
func loopbackControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("load: dialing %q: %w", address, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("load: refusing to connect to %s: not a loopback address", address)
	}
	return nil
}

// loopbackDialer returns a DialContext that only reaches loopback addresses,
// through dial when it is set.
func loopbackDialer(dial func(context.Context, *net.Dialer, string, string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Control: loopbackControl}
	if dial == nil {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return dial(ctx, d, network, addr) }
}
