// Command hugeline writes one endless log line: bytes without a single newline
// to stdout, at a paced rate up to a bounded total, then stays alive idle until
// SIGTERM or SIGINT so what the daemon does after the write stays observable.
//
// It reproduces the "huge log line" incidents: a runtime that buffers a log
// line until its newline (containerd with max_container_log_line_size = -1,
// for one) grows with every byte. The pace is a token bucket refilled every
// 10 ms with a burst of one refill (or one chunk), so a writer stalled by a
// slow reader loses its tokens instead of bursting afterwards.
//
// Flags (each also read from the environment; a flag wins):
//
//	-rate  HUGELINE_RATE   bytes per second (default 50MiB)
//	-total HUGELINE_TOTAL  bytes to write, 0 = until signalled (default 512MiB)
//	-chunk HUGELINE_CHUNK  bytes per write(2) (default 64KiB)
//
// Sizes take B, KiB, MiB, GiB (binary) or KB, MB, GB (decimal) suffixes. A
// one-line summary goes to stderr when the write ends; stdout never sees a
// newline.
//
// Build: CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" ./images/hugeline
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// refill is the token bucket's refill period.
const refill = 10 * time.Millisecond

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hugeline: %v\n", err)
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	fmt.Fprintf(os.Stderr, "hugeline: writing %s at %s/s in %s chunks, no newline\n",
		human(cfg.total), human(cfg.rate), human(cfg.chunk))
	start := time.Now()
	n, sig, werr := write(os.Stdout, cfg, sigs)
	el := time.Since(start)
	fmt.Fprintf(os.Stderr, "hugeline: wrote %d bytes (%s) in %s: %.2f MiB/s (target %.2f MiB/s)%s\n",
		n, human(n), el.Round(time.Millisecond), float64(n)/el.Seconds()/(1<<20), float64(cfg.rate)/(1<<20), suffix(sig, werr))
	if werr != nil {
		os.Exit(1)
	}
	if sig == nil {
		sig = <-sigs
	}
	fmt.Fprintf(os.Stderr, "hugeline: %v, exiting\n", sig)
}

func suffix(sig os.Signal, err error) string {
	switch {
	case err != nil:
		return fmt.Sprintf("; write failed: %v", err)
	case sig != nil:
		return fmt.Sprintf("; stopped by %v", sig)
	default:
		return "; idle until SIGTERM/SIGINT"
	}
}

type config struct {
	rate, total, chunk int64
}

// parseConfig reads flags over environment defaults.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	cfg := config{rate: 50 << 20, total: 512 << 20, chunk: 64 << 10}
	for _, e := range []struct {
		name string
		dst  *int64
	}{{"HUGELINE_RATE", &cfg.rate}, {"HUGELINE_TOTAL", &cfg.total}, {"HUGELINE_CHUNK", &cfg.chunk}} {
		if v := getenv(e.name); v != "" {
			n, err := parseSize(v)
			if err != nil {
				return cfg, fmt.Errorf("%s=%q: %w", e.name, v, err)
			}
			*e.dst = n
		}
	}
	fs := flag.NewFlagSet("hugeline", flag.ContinueOnError)
	fs.Var((*sizeFlag)(&cfg.rate), "rate", "bytes per second (e.g. 50MiB)")
	fs.Var((*sizeFlag)(&cfg.total), "total", "bytes to write, 0 = until signalled (e.g. 512MiB)")
	fs.Var((*sizeFlag)(&cfg.chunk), "chunk", "bytes per write (e.g. 64KiB)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q: use -rate, -total, -chunk", fs.Args())
	}
	if cfg.rate <= 0 {
		return cfg, fmt.Errorf("rate %d: want > 0 bytes/s", cfg.rate)
	}
	if cfg.total < 0 {
		return cfg, fmt.Errorf("total %d: want >= 0 (0 = until signalled)", cfg.total)
	}
	if cfg.chunk <= 0 || cfg.chunk > 64<<20 {
		return cfg, fmt.Errorf("chunk %d: want 1 byte to 64MiB", cfg.chunk)
	}
	return cfg, nil
}

// write paces cfg.total bytes into w with a token bucket. It returns the bytes
// written and the signal or error that ended it early, if any.
func write(w io.Writer, cfg config, sigs <-chan os.Signal) (int64, os.Signal, error) {
	buf := make([]byte, cfg.chunk)
	const pattern = "abcdefghijklmnopqrstuvwxyz0123456789"
	for i := range buf {
		buf[i] = pattern[i%len(pattern)]
	}
	perRefill := float64(cfg.rate) * refill.Seconds()
	burst := math.Max(perRefill, float64(cfg.chunk))
	tick := time.NewTicker(refill)
	defer tick.Stop()

	var written int64
	tokens := 0.0
	last := time.Now()
	for cfg.total == 0 || written < cfg.total {
		select {
		case sig := <-sigs:
			return written, sig, nil
		case now := <-tick.C:
			tokens = math.Min(burst, tokens+float64(cfg.rate)*now.Sub(last).Seconds())
			last = now
		}
		for tokens >= 1 && (cfg.total == 0 || written < cfg.total) {
			n := int64(math.Min(tokens, float64(cfg.chunk)))
			if cfg.total > 0 && n > cfg.total-written {
				n = cfg.total - written
			}
			m, err := w.Write(buf[:n])
			written += int64(m)
			tokens -= float64(m)
			if err != nil {
				return written, nil, err
			}
		}
	}
	return written, nil, nil
}

// sizeFlag is a byte count with unit suffixes.
type sizeFlag int64

func (s *sizeFlag) String() string { return strconv.FormatInt(int64(*s), 10) }

func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(n)
	return nil
}

var units = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"B", 1},
}

// parseSize reads "52428800", "50MiB" or "1GB".
func parseSize(v string) (int64, error) {
	num, mult := strings.TrimSpace(v), int64(1)
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q: want a non-negative integer with an optional B, KiB, MiB, GiB, KB, MB or GB suffix", v)
	}
	return n * mult, nil
}

func human(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%dB", n)
	}
}
