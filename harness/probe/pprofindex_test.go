package probe

import (
	"bytes"
	"context"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"testing"
)

func TestParseIndexGoroutinesInEveryGoFormat(t *testing.T) {
	for name, tc := range map[string]struct {
		page  string
		want  int
		found bool
	}{
		"go1.16+": {page: "<table>\n<thead><td>Count</td><td>Profile</td></thead>\n" +
			"<tr><td>0</td><td><a href='allocs?debug=1'>allocs</a></td></tr>\n" +
			"<tr><td>163</td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>\n" +
			"<tr><td>12</td><td><a href='threadcreate?debug=1'>threadcreate</a></td></tr>\n</table>\n" +
			`<a href="goroutine?debug=2">full goroutine stack dump</a>`, want: 163, found: true},
		"go1.12-1.15": {page: "<tr><td>7</td><td><a href=heap?debug=1>heap</a></td></tr>\n" +
			"<tr><td>41</td><td><a href=goroutine?debug=1>goroutine</a></td></tr>\n", want: 41, found: true},
		"before go1.12": {page: "<table>\n<tr><td align=right>3<td><a href=\"block?debug=1\">block</a>\n" +
			"<tr><td align=right>88<td><a href=\"goroutine?debug=1\">goroutine</a>\n</table>", want: 88, found: true},
		// The stack dump link alone is no count.
		"no goroutine row": {page: `<a href="goroutine?debug=2">full goroutine stack dump</a>`},
		"not an index":     {page: "goroutine profile: total 12\n"},
	} {
		n, found, err := parseIndexGoroutines(strings.NewReader(tc.page))
		if err != nil || n != tc.want || found != tc.found {
			t.Errorf("%s: parseIndexGoroutines = %d, %v, %v; want %d, %v", name, n, found, err, tc.want, tc.found)
		}
	}
}

// The index's count is the goroutine profile's total: read from one
// process with goroutines parked, they agree to within the probe's own.
func TestIndexCountIsTheProfileTotal(t *testing.T) {
	sock := serveUnix(t, pprofMux())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() { defer wg.Done(); <-stop }()
	}
	defer func() { close(stop); wg.Wait() }()
	g, err := NewGoroutines("self", sock)
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g.profileOnly.Load() {
		t.Fatal("Go's own pprof index was not understood: the probe fell back to the profile")
	}
	var sum bytes.Buffer
	if err := GoroutineSummary(context.Background(), sock, &sum); err != nil {
		t.Fatal(err)
	}
	total, err := parseGoroutineTotal(&sum)
	if err != nil {
		t.Fatal(err)
	}
	if d := got["self_goroutines"] - float64(total); d < -3 || d > 3 {
		t.Errorf("index count %v, profile total %d: want them within the probes' own goroutines", got["self_goroutines"], total)
	}
}

// A daemon whose index shows no count (an older or a custom pprof mux) is
// read from the goroutine profile, from the first sample on.
func TestGoroutinesFallsBackToTheProfile(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>profiles: heap goroutine</html>"))
	})
	mux.Handle("/debug/pprof/goroutine", pprof.Handler("goroutine"))
	sock := serveUnix(t, mux)
	g, err := NewGoroutines("self", sock)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		got, err := g.Collect(context.Background())
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		if got["self_goroutines"] < 2 {
			t.Fatalf("sample %d: %v goroutines, want this test's and the server's", i, got)
		}
	}
	if !g.profileOnly.Load() {
		t.Error("after an index without a count the probe still asks the index")
	}
}
