package diag

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// pprof saves one /debug/pprof endpoint of t into name.
func (c *collection) pprof(ctx context.Context, t target, path, name string) error {
	if t.pid == 0 {
		return fmt.Errorf("%s is not running", t.name)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", t.pprofSocket)
		},
		DisableKeepAlives: true,
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://daemon"+path, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("GET %s on %s: no answer within %s (API wedged or not serving yet)", path, t.pprofSocket, c.opts.RequestTimeout)
		}
		return fmt.Errorf("GET %s on %s: %w", path, t.pprofSocket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s on %s: %s: %s (is the daemon running with debug on?)", path, t.pprofSocket, resp.Status, strings.TrimSpace(string(body)))
	}
	p := filepath.Join(c.dir, name)
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	_, cerr := io.Copy(f, resp.Body)
	if err := f.Close(); err != nil && cerr == nil {
		cerr = err
	}
	if cerr != nil {
		return fmt.Errorf("GET %s on %s: %w", path, t.pprofSocket, cerr)
	}
	c.add(p)
	return nil
}
