package probe

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// requestTimeout bounds one probe request, so a wedged daemon costs the
// sampler a missing sample rather than a stuck sampler.
const requestTimeout = 5 * time.Second

// UnixClient is an HTTP client for a daemon's unix API socket. Keep-alives
// are off: an idle connection would leave goroutines behind in the harness
// (goleak) and hold a steady extra fd in the daemon under test.
func UnixClient(socket string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}}
}

// get fetches path from the daemon on socket over a connection of its own,
// closed when done, and hands the body to read.
//
// It writes the request and reads the response with net/http's own
// Request.Write and ReadResponse rather than through an http.Client: with
// keep-alives off (see UnixClient) a client's Transport sets up a dial
// goroutine and a read and a write loop for every request, about a third
// of what a request cost the caller on this VM (paced at 10 Hz: 0.51 ms
// of CPU through a client, 0.36 ms without).
func get(ctx context.Context, socket, path string, read func(io.Reader) error) error {
	if err := roundTrip(ctx, socket, path, read); err != nil {
		return fmt.Errorf("GET %s on %s: %w", path, socket, err)
	}
	return nil
}

func roundTrip(ctx context.Context, socket, path string, read func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://daemon"+path, nil)
	if err != nil {
		return err
	}
	req.Close = true
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	// A cancelled or expired ctx unblocks the connection's reads and writes.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	ctxErr := func(err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return err
	}
	if err := req.Write(conn); err != nil {
		return ctxErr(err)
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, responseBuf), req)
	if err != nil {
		return ctxErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if err := read(resp.Body); err != nil {
		return ctxErr(err)
	}
	return nil
}

// responseBuf holds a pprof index page (~3 KiB) with its headers in one
// read.
const responseBuf = 8 << 10

// Goroutines is a Source for a Go daemon's goroutine count from its pprof
// endpoint (metric <prefix>_goroutines), the count a per-call leak in the
// daemon grows. dockerd serves pprof on its API socket only when started
// with --debug.
//
// It reads the count from the pprof index page, and from the goroutine
// profile's total only when the index does not show it: the profile makes
// the daemon stop the world, walk every stack and symbolize it at every
// sample, which was most of what sampling a dockerd cost it (make bench).
type Goroutines struct {
	prefix string
	socket string
	// profileOnly is set once the daemon's index showed no count.
	profileOnly atomic.Bool
}

// NewGoroutines returns a goroutine source for the daemon whose API (with
// /debug/pprof) listens on the unix socket.
func NewGoroutines(prefix, socket string) (*Goroutines, error) {
	if prefix == "" || socket == "" {
		return nil, errors.New("goroutine probe: need a metric prefix and a unix socket path")
	}
	return &Goroutines{prefix: prefix, socket: socket}, nil
}

// Describe implements Source.
func (g *Goroutines) Describe() []Desc {
	return []Desc{{Name: g.prefix + "_goroutines", Unit: "goroutines"}}
}

// Collect implements Source.
func (g *Goroutines) Collect(ctx context.Context) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var total int
	found := false
	if !g.profileOnly.Load() {
		err := get(ctx, g.socket, "/debug/pprof/", func(r io.Reader) error {
			var err error
			total, found, err = parseIndexGoroutines(r)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("goroutine probe %s (is the daemon running with --debug?): %w", g.prefix, err)
		}
		if !found {
			g.profileOnly.Store(true)
		}
	}
	if !found {
		err := get(ctx, g.socket, "/debug/pprof/goroutine?debug=1", func(r io.Reader) error {
			var err error
			total, err = parseGoroutineTotal(r)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("goroutine probe %s (is the daemon running with --debug?): %w", g.prefix, err)
		}
	}
	return map[string]float64{g.prefix + "_goroutines": float64(total)}, nil
}

// parseGoroutineTotal reads "goroutine profile: total N" from the first line
// of a debug=1 goroutine profile and drains the rest.
func parseGoroutineTotal(r io.Reader) (int, error) {
	br := bufio.NewReader(r)
	line, err := br.ReadString('\n')
	if err != nil && line == "" {
		return 0, fmt.Errorf("empty goroutine profile: %w", err)
	}
	const head = "goroutine profile: total "
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, head) {
		return 0, fmt.Errorf("goroutine profile starts with %q, want %q", truncate([]byte(line), 80), head+"N")
	}
	n, err := strconv.Atoi(strings.TrimPrefix(line, head))
	if err != nil {
		return 0, fmt.Errorf("goroutine profile total %q: %w", line, err)
	}
	_, _ = io.Copy(io.Discard, br)
	return n, nil
}

// GoroutineDump writes every goroutine's full stack (pprof debug=2) of the
// daemon on socket to w: the diagnostic that shows where leaked goroutines
// wait.
func GoroutineDump(ctx context.Context, socket string, w io.Writer) error {
	return goroutineProfile(ctx, socket, w, 2)
}

// GoroutineSummary writes the daemon's goroutines grouped by identical stack
// with a count per group (pprof debug=1): compact enough to diff before and
// after a stimulus.
func GoroutineSummary(ctx context.Context, socket string, w io.Writer) error {
	return goroutineProfile(ctx, socket, w, 1)
}

func goroutineProfile(ctx context.Context, socket string, w io.Writer, debug int) error {
	err := get(ctx, socket, "/debug/pprof/goroutine?debug="+strconv.Itoa(debug), func(r io.Reader) error {
		_, err := io.Copy(w, r)
		return err
	})
	if err != nil {
		return fmt.Errorf("goroutine dump (is the daemon running with --debug?): %w", err)
	}
	return nil
}

// DockerInfo is a Source for dockerd's own view of its goroutines and open
// fds from GET /info (metrics dockerd_info_goroutines, dockerd_info_fds): a
// second witness next to pprof and procfs. dockerd fills NGoroutines and NFd
// only when started with --debug.
type DockerInfo struct {
	socket string
}

// NewDockerInfo returns an /info source for the dockerd on the unix socket.
func NewDockerInfo(socket string) (*DockerInfo, error) {
	if socket == "" {
		return nil, errors.New("docker info probe: need dockerd's unix socket path")
	}
	return &DockerInfo{socket: socket}, nil
}

// Describe implements Source.
func (d *DockerInfo) Describe() []Desc {
	return []Desc{
		{Name: "dockerd_info_goroutines", Unit: "goroutines"},
		{Name: "dockerd_info_fds", Unit: "fds"},
	}
}

// Collect implements Source.
func (d *DockerInfo) Collect(ctx context.Context) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var info struct {
		Debug       bool
		NGoroutines int
		NFd         int
	}
	err := get(ctx, d.socket, "/info", func(r io.Reader) error {
		return json.NewDecoder(r).Decode(&info)
	})
	if err != nil {
		return nil, fmt.Errorf("docker info probe: %w", err)
	}
	if !info.Debug {
		return nil, fmt.Errorf("docker info probe: dockerd on %s runs without --debug, so /info reports no NGoroutines/NFd; start it with --debug", d.socket)
	}
	return map[string]float64{
		"dockerd_info_goroutines": float64(info.NGoroutines),
		"dockerd_info_fds":        float64(info.NFd),
	}, nil
}
