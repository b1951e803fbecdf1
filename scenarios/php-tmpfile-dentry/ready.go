package phptmpfiledentry

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/load"
	"github.com/relapse-dev/relapse/harness/wait"
)

// readyEvery is the pause between readiness probes.
const readyEvery = 200 * time.Millisecond

func uploadURL(port int) string {
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Path: "/upload.php"}).String()
}

// waitReady POSTs a one-field form until the app answers with its length
// ("data=x" parses to 5 bytes), which shows nginx, php-fpm and the script
// all work. A workload that exits meanwhile fails at once, with its log.
func (a *uploading) waitReady(ctx context.Context) error {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return a.dial(ctx, &net.Dialer{}, network, addr)
	}
	cli := &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: dial}, Timeout: 2 * time.Second}
	defer cli.CloseIdleConnections()
	target := uploadURL(a.port)
	var exited bool
	var last string
	err := wait.Until(ctx, "php-upload answering POST "+target, readyEvery, incident.Scale(readyWithin, a.scale), func() (bool, string) {
		ok, why := tryUpload(ctx, cli, target)
		if ok {
			return true, ""
		}
		last = why
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", a.pid)); err != nil {
			exited = true
			return true, ""
		}
		return false, last
	})
	logs := func() string { return a.logs(context.WithoutCancel(ctx)) }
	switch {
	case err != nil && ctx.Err() != nil:
		return err
	case err != nil:
		return fmt.Errorf("%w; its log:\n%s", err, logs())
	case exited:
		return fmt.Errorf("php-upload exited before answering on port %d (last try: %s); its log:\n%s", a.port, last, logs())
	}
	return nil
}

// tryUpload makes one readiness POST and says whether it was answered
// right, or what came back instead.
func tryUpload(ctx context.Context, cli *http.Client, target string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader("data=x"))
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("Content-Type", load.FormURLEncoded)
	resp, err := cli.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(b)) == "5" {
		return true, ""
	}
	return false, fmt.Sprintf("HTTP %d %q", resp.StatusCode, b)
}
