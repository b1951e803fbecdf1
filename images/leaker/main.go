// Command leaker is a daemon whose leak is known: per operation it keeps
// exactly the goroutines, fds and resident bytes it is told to, and with
// its noise switched on it also behaves like a real Go daemon under load,
// so a verdict rule can be measured against a truth nobody has to guess.
//
// An operation is one HTTP request to /op on its unix socket (a host
// directory bound into the container). It serves net/http/pprof on the
// same socket, so relapse reads its goroutines exactly as it reads
// dockerd's, and /stats with what it has leaked so far.
//
// Rates are per op and may be fractional: -goroutines 0.05 keeps one
// goroutine every 20 ops (op n keeps the increment of floor(n x rate)).
// Rate 0 everywhere is the null case.
//
// Noise (-noise gc,plateau,step,jitter, or all, or none):
//
//	gc       RSS ramps up by -gc-rate bytes a second and falls back every
//	         -gc-period (0.5-1.5x, at random): a GC sawtooth
//	plateau  each op starts an in-flight call that holds a goroutine and
//	         an fd for -plateau-hold (0.5-1.5x), at most -plateau-max at
//	         once: a plateau that drains after the stimulus
//	step     op -step-at keeps -step-goroutines, -step-fds and -step-bytes
//	         once: a subsystem initialised lazily
//	jitter   each op's reply waits up to -jitter, so its connection lives
//	         a varying time
//
// Build: CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" ./images/leaker
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// config is the leak and the noise.
type config struct {
	socket                  string
	goroutines, fds, bytes  float64
	noise                   noiseSet
	plateauMax              int
	plateauHold             time.Duration
	stepAt                  int
	stepGoroutines, stepFDs int
	stepBytes               int
	gcRate                  int
	gcPeriod                time.Duration
	jitter                  time.Duration
	seed                    uint64
}

// noiseSet says which noises are on.
type noiseSet struct{ gc, plateau, step, jitter bool }

// parseNoise reads "all", "none" or a comma-separated list of noises.
func parseNoise(s string) (noiseSet, error) {
	var n noiseSet
	switch strings.TrimSpace(s) {
	case "none", "":
		return n, nil
	case "all":
		return noiseSet{true, true, true, true}, nil
	}
	for _, name := range strings.Split(s, ",") {
		switch strings.TrimSpace(name) {
		case "gc":
			n.gc = true
		case "plateau":
			n.plateau = true
		case "step":
			n.step = true
		case "jitter":
			n.jitter = true
		default:
			return n, fmt.Errorf("noise %q: want gc, plateau, step, jitter, all or none", name)
		}
	}
	return n, nil
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("leaker", flag.ContinueOnError)
	fs.StringVar(&c.socket, "socket", "/run/leaker/leaker.sock", "unix socket to serve on")
	fs.Float64Var(&c.goroutines, "goroutines", 0, "goroutines kept per op")
	fs.Float64Var(&c.fds, "fds", 0, "fds kept per op")
	fs.Float64Var(&c.bytes, "bytes", 0, "resident bytes kept per op")
	noise := fs.String("noise", "none", "noises: gc,plateau,step,jitter, all or none")
	fs.IntVar(&c.plateauMax, "plateau-max", 16, "in-flight calls at most")
	fs.DurationVar(&c.plateauHold, "plateau-hold", 500*time.Millisecond, "mean time an in-flight call holds its goroutine and fd")
	fs.IntVar(&c.stepAt, "step-at", 1, "the op that takes the one-off step")
	fs.IntVar(&c.stepGoroutines, "step-goroutines", 4, "goroutines the step keeps")
	fs.IntVar(&c.stepFDs, "step-fds", 4, "fds the step keeps")
	fs.IntVar(&c.stepBytes, "step-bytes", 2<<20, "resident bytes the step keeps")
	fs.IntVar(&c.gcRate, "gc-rate", 2<<20, "bytes a second the sawtooth allocates and keeps until it drops them")
	fs.DurationVar(&c.gcPeriod, "gc-period", 4*time.Second, "mean period of the sawtooth")
	fs.DurationVar(&c.jitter, "jitter", 20*time.Millisecond, "longest pause before an op's reply")
	fs.Uint64Var(&c.seed, "seed", uint64(time.Now().UnixNano()), "seed of the noise")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if c.noise, err = parseNoise(*noise); err != nil {
		return c, err
	}
	switch {
	case c.goroutines < 0 || c.fds < 0 || c.bytes < 0:
		return c, errors.New("leak rates must not be negative")
	case c.plateauMax < 1 || c.stepAt < 1 || c.stepGoroutines < 0 || c.stepFDs < 0 || c.stepBytes < 0 || c.gcRate < 0:
		return c, errors.New("-plateau-max and -step-at must be at least 1, step sizes and -gc-rate not negative")
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "leaker: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "leaker: %v\n", err)
		os.Exit(1)
	}
}

// serve listens on cfg.socket until ctx ends (SIGTERM: as PID 1 of its
// container nothing else would stop it).
func serve(ctx context.Context, cfg config) error {
	if err := os.MkdirAll(filepath.Dir(cfg.socket), 0o755); err != nil {
		return err
	}
	_ = os.Remove(cfg.socket) // a stale socket of an earlier run
	ln, err := net.Listen("unix", cfg.socket)
	if err != nil {
		return err
	}
	l := newLeaker(cfg)
	defer l.close()
	if cfg.noise.gc {
		go sawtooth(ctx, cfg.gcRate, cfg.gcPeriod, cfg.seed)
	}
	srv := &http.Server{Handler: l.mux(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Fprintf(os.Stderr, "leaker: serving on %s (per op: %g goroutines, %g fds, %g bytes; noise %+v)\n",
		cfg.socket, cfg.goroutines, cfg.fds, cfg.bytes, cfg.noise)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// mux serves /op, /stats and pprof.
func (l *leaker) mux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/op", func(w http.ResponseWriter, r *http.Request) {
		n, err := l.op()
		if err != nil {
			http.Error(w, fmt.Sprintf("op %d: %v", n, err), http.StatusInternalServerError)
			return
		}
		if d := l.jitter(); d > 0 {
			time.Sleep(d)
		}
		fmt.Fprintf(w, "%d\n", n)
	})
	m.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(l.stats())
	})
	m.HandleFunc("/debug/pprof/", pprof.Index)
	return m
}
