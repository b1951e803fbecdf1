package load

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/relapse-dev/relapse/harness/probe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunSendsTotalAndCountsOps(t *testing.T) {
	const size = 100 << 10
	var served, bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != FormURLEncoded ||
			len(b) != 5+size || !strings.HasPrefix(string(b), "data=aaa") {
			bad.Add(1)
		}
		served.Add(1)
	}))
	defer srv.Close()

	ops := &probe.Ops{}
	st, err := Run(context.Background(), Options{URL: srv.URL + "/upload.php", BodySize: size, Concurrency: 4, Total: 300, Timeout: 30 * time.Second, Ops: ops})
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent != 300 || st.OK != 300 || st.Failed() != 0 || served.Load() != 300 || ops.Load() != 300 {
		t.Fatalf("stats %s, served %d, ops %d: want 300 of each and no errors", st, served.Load(), ops.Load())
	}
	if bad.Load() != 0 {
		t.Fatalf("%d requests had the wrong method, content type or body", bad.Load())
	}
	if st.P50 <= 0 || st.P99 < st.P50 || st.Rate <= 0 {
		t.Fatalf("latency/rate not measured: %s", st)
	}
}

func TestRunRawBody(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(r.Header.Get("Content-Type") + " " + string(b))
	}))
	defer srv.Close()
	if _, err := Run(context.Background(), Options{URL: srv.URL, BodySize: 3, Total: 1, Timeout: 10 * time.Second, ContentType: "application/octet-stream"}); err != nil {
		t.Fatal(err)
	}
	if got.Load() != "application/octet-stream aaa" {
		t.Fatalf("server got %q", got.Load())
	}
}

func TestRunRateLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	st, err := Run(context.Background(), Options{URL: srv.URL, BodySize: 10, Rate: 200, Concurrency: 8, Total: 200, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// 200 requests at 200/s take ~1 s; unpaced they would take a few ms.
	if st.Elapsed < 900*time.Millisecond || st.Elapsed > 1500*time.Millisecond {
		t.Errorf("200 requests at 200/s took %s, want ~1s", st.Elapsed)
	}
	if st.Rate < 140 || st.Rate > 220 {
		t.Errorf("achieved %.0f req/s, want ~200", st.Rate)
	}
}

func TestRunErrorClassesAndOpsOnlyForOK(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 4 {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		case 3:
			http.Redirect(w, r, "http://10.1.2.3/", http.StatusFound)
		}
	}))
	defer srv.Close()
	ops := &probe.Ops{}
	st, err := Run(context.Background(), Options{URL: srv.URL, Concurrency: 1, Total: 100, Timeout: 10 * time.Second, Ops: ops})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"http_5xx": 25, "http_4xx": 25, "http_other": 25}
	for k, v := range want {
		if st.Errors[k] != v {
			t.Errorf("errors[%s] = %d, want %d (all: %v)", k, st.Errors[k], v, st.Errors)
		}
	}
	if st.OK != 25 || ops.Load() != 25 || st.Sent != st.OK+st.Failed() {
		t.Errorf("ok %d ops %d sent %d failed %d: want 25 ok and ops, sent = ok + failed", st.OK, ops.Load(), st.Sent, st.Failed())
	}
}

func TestRunTimeBound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		time.Sleep(50 * time.Millisecond)
	}))
	defer srv.Close()
	t0 := time.Now()
	st, err := Run(context.Background(), Options{URL: srv.URL, Concurrency: 1, Total: 1000, Timeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("err = %v, want ErrIncomplete", err)
	}
	if took := time.Since(t0); took > 2*time.Second {
		t.Errorf("run took %s with a 300ms bound", took)
	}
	// ~6 requests of 50 ms fit in 300 ms (fewer on a loaded machine, never
	// more than the bound allows); in-flight ones finish, not fail.
	if st.Sent < 1 || st.Sent > 10 || st.Failed() != 0 {
		t.Errorf("stats %s: want 1 to 10 sent (~6 on an idle machine), none failed", st)
	}
}

func TestRunRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	st, err := Run(context.Background(), Options{URL: srv.URL, Concurrency: 2, Total: 2, Timeout: 5 * time.Second, RequestTimeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "none of 2") {
		t.Fatalf("err = %v, want none succeeded", err)
	}
	if st.Errors["timeout"] != 2 {
		t.Fatalf("errors %v, want 2 timeouts", st.Errors)
	}
}

func TestRunServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	st, err := Run(context.Background(), Options{URL: "http://" + addr + "/upload.php", Total: 5, Timeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "is the workload up") {
		t.Fatalf("err = %v, want a hint that nothing listens", err)
	}
	if st.Errors["refused"] != 5 || st.OK != 0 {
		t.Fatalf("stats %s, want 5 refused", st)
	}
}

func TestRunContextCanceled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	st, err := Run(ctx, Options{URL: srv.URL, Rate: 100, Total: 1000, Timeout: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's error", err)
	}
	if st.Sent == 0 || st.Sent > 40 {
		t.Fatalf("sent %d in 200ms at 100/s", st.Sent)
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	for _, u := range []string{
		"http://10.0.0.1:8080/upload.php",
		"http://example.com/",
		"http://[2001:db8::1]:80/",
		"http://0.0.0.0:8080/",
		"http://127.0.0.1.example.com/",
	} {
		_, err := Run(context.Background(), Options{URL: u, Total: 1, Timeout: time.Second})
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("URL %s: err = %v, want a refusal naming loopback", u, err)
		}
	}
	for _, u := range []string{"", "ftp://127.0.0.1/", "http:///x", "::"} {
		if _, err := Run(context.Background(), Options{URL: u, Total: 1, Timeout: time.Second}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
	for _, u := range []string{"http://127.0.0.1:1/", "http://127.9.9.9:1/", "http://[::1]:1/", "http://LOCALHOST:1/"} {
		if _, err := checkURL(u); err != nil {
			t.Errorf("loopback URL %s refused: %v", u, err)
		}
	}
}

func TestDialerRefusesNonLoopback(t *testing.T) {
	if err := loopbackControl("tcp4", "192.0.2.1:80", nil); err == nil || !strings.Contains(err.Error(), "not a loopback") {
		t.Errorf("dial to 192.0.2.1: err = %v", err)
	}
	for _, a := range []string{"127.0.0.1:80", "[::1]:80"} {
		if err := loopbackControl("tcp", a, nil); err != nil {
			t.Errorf("dial to %s refused: %v", a, err)
		}
	}
}

func TestOptionsValidation(t *testing.T) {
	ok := Options{URL: "http://127.0.0.1:1/", Total: 1, Timeout: time.Second}
	for _, tc := range []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"no total", func(o *Options) { o.Total = 0 }, "Total 0 must be > 0"},
		{"no timeout", func(o *Options) { o.Timeout = 0 }, "Timeout 0s must be > 0"},
		{"negative rate", func(o *Options) { o.Rate = -1 }, "Rate -1"},
		{"negative body", func(o *Options) { o.BodySize = -1 }, "BodySize -1"},
		{"negative concurrency", func(o *Options) { o.Concurrency = -2 }, "Concurrency -2"},
		{"negative request timeout", func(o *Options) { o.RequestTimeout = -time.Second }, "RequestTimeout -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.mod(&o)
			_, err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(d, 0.5); p != 50*time.Millisecond {
		t.Errorf("p50 = %s", p)
	}
	if p := percentile(d, 0.99); p != 99*time.Millisecond {
		t.Errorf("p99 = %s", p)
	}
	if p := percentile(nil, 0.5); p != 0 {
		t.Errorf("empty p50 = %s", p)
	}
	if p := percentile([]time.Duration{7}, 0.99); p != 7 {
		t.Errorf("single p99 = %s", p)
	}
}

// A slow server: the time bound alone ends the run at ~10 answers; with
// MinOK the run goes on past it until MinOK are answered, then stops.
func TestRunExtendsToMinOK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { time.Sleep(20 * time.Millisecond) }))
	defer srv.Close()
	opts := Options{URL: srv.URL, Concurrency: 1, Total: 1000, Timeout: 200 * time.Millisecond}
	st, err := Run(context.Background(), opts)
	if !errors.Is(err, ErrIncomplete) || st.OK > 15 {
		t.Fatalf("without MinOK: %v, %s; want incomplete at ~10 answered", err, st)
	}
	opts.MinOK, opts.Extend = 40, 10*time.Second
	st, err = Run(context.Background(), opts)
	if !errors.Is(err, ErrIncomplete) || st.OK < 40 || st.OK > 45 || st.Elapsed > 5*time.Second {
		t.Fatalf("with MinOK 40: %v, %s; want incomplete just past 40 answered, well before the extension's end", err, st)
	}
}
