// Package bench_test measures what relapse's sampler costs on a real
// sandbox, beside what the Docker API costs for the same numbers: a
// private dockerd with its own containerd and one running container, its
// shim and its memory cgroup, sampled at 10 Hz. It starts daemons, so it
// lives outside harness/ (whose unit tests must not) and runs under the
// e2e lock from `make bench`.
package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/cpucost"
	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/probe"
)

const (
	// interval is the engine's default sampling interval: 10 Hz.
	interval = 100 * time.Millisecond
	// judgedInterval is the interval of the incidents whose budgets judge
	// a daemon's goroutines (the kill loop, attach, ExecSync): there the
	// goroutine probe is read at every sample, as it costs more than the
	// rest of the sample together.
	judgedInterval = 250 * time.Millisecond
	// idleFor is how long the daemons' background CPU is measured with
	// nothing calling them; it is subtracted at its rate from every loop.
	idleFor = 30 * time.Second
)

// daemons are the meter's targets in report order.
var daemons = []string{"dockerd", "containerd", "shim"}

// measured is one loop's CPU over its samples, the idle rate subtracted.
type measured struct {
	samples int
	// hz is the loop's sampling rate.
	hz   float64
	cost cpucost.Cost
}

func (m measured) caller() time.Duration  { return cpucost.Per(m.cost.Self, m.samples) }
func (m measured) daemons() time.Duration { return cpucost.Per(m.cost.Daemons(), m.samples) }
func (m measured) total() time.Duration   { return m.caller() + m.daemons() }
func (m measured) share() float64         { return cpucost.PercentOfCore(m.total(), m.hz) }

// BenchmarkSamplerCost runs relapse's sampler over a dockerd run's probes
// at 10 Hz for b.N samples (make bench: -benchtime 600x, a minute), then
// for as long at the 4 Hz of the incidents that judge dockerd's goroutines,
// then the Docker API calls that report the same container and daemon
// numbers, and reports the CPU per sample of the caller and of each
// daemon, its share of one core at the loop's rate, and the ratio.
//
// The 10 Hz run's probes are those of a variant no budget of which judges
// goroutines (the PHP and huge-log-line incidents on dockerd): dockerd's
// goroutines are read every 500 ms there (engine.SandboxSources), the
// procfs and cgroupfs numbers at every sample.
//
// The sampler reads more than the API can give (every daemon's RSS,
// threads and fds, dockerd's goroutines, six memory cgroup values); the
// API loop reads what it has: one-shot container stats (memory usage and
// memory.stat) and /info (NGoroutines, NFd, filled since dockerd runs with
// --debug). Its client keeps connections alive, the API's best case; the
// sampler's probes do not (an idle connection would be a held fd in the
// daemon under test).
func BenchmarkSamplerCost(b *testing.B) {
	s := startSandbox(b)
	idle := s.idle(b)

	var sampled, judged, api measured
	b.Run("sampler", func(b *testing.B) {
		srcs, err := s.sources(b, nil)
		if err != nil {
			b.Fatal(err)
		}
		sampled = s.sampler(b, interval, time.Duration(b.N)*interval, srcs, idle)
		report(b, sampled)
	})
	b.Run("sampler-goroutines-judged", func(b *testing.B) {
		srcs, err := s.sources(b, []curve.Budget{{Metric: "dockerd_goroutines", Kind: curve.Slope, Per: curve.PerOp, Max: 1}})
		if err != nil {
			b.Fatal(err)
		}
		judged = s.sampler(b, judgedInterval, time.Duration(b.N)*interval, srcs, idle)
		report(b, judged)
	})
	b.Run("stats-api", func(b *testing.B) {
		api = s.statsAPI(b, idle)
		report(b, api)
	})
	if sampled.samples == 0 || judged.samples == 0 || api.samples == 0 {
		return
	}
	again := s.idle(b)
	// A parent benchmark's log is shown only when it fails: the summary
	// goes to stdout, into results/bench.txt beside the metrics.
	w := os.Stdout
	for _, name := range daemons {
		fmt.Fprintf(w, "idle %s: %v/s before the loops, %v/s after (the rate subtracted is the first)\n",
			name, perSecond(idle.Procs[name].Total(), idle.Wall), perSecond(again.Procs[name].Total(), again.Wall))
	}
	ratio := float64(api.total()) / float64(sampled.total())
	fmt.Fprintf(w, "sampler: %v a sample (caller %v, daemons %v) = %.2f %% of one core at %g Hz (target <= 1 %%): %s\n",
		sampled.total(), sampled.caller(), sampled.daemons(), sampled.share(), sampled.hz, verdict(sampled.share() <= 1))
	fmt.Fprintf(w, "sampler with dockerd's goroutines judged: %v a sample (caller %v, daemons %v) = %.2f %% of one core at %g Hz\n",
		judged.total(), judged.caller(), judged.daemons(), judged.share(), judged.hz)
	fmt.Fprintf(w, "stats API + /info: %v a sample (caller %v, daemons %v), %.2f samples/s at most\n",
		api.total(), api.caller(), api.daemons(), float64(api.samples)/api.cost.Wall.Seconds())
	fmt.Fprintf(w, "the stats API costs %.1fx the sampler a sample (target >= 5x): %s\n", ratio, verdict(ratio >= 5))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func perSecond(d, wall time.Duration) time.Duration {
	if wall <= 0 {
		return 0
	}
	return time.Duration(float64(d) / wall.Seconds())
}

// idle measures the daemons' and this process' CPU over idleFor with
// nothing sampling.
func (s *sandbox) idle(b *testing.B) cpucost.Cost {
	return s.charge(b, func() { time.Sleep(idleFor) })
}

// charge is the CPU the caller and the daemons used while loop ran.
func (s *sandbox) charge(b *testing.B, loop func()) cpucost.Cost {
	b.Helper()
	before, err := s.meter.Read()
	if err != nil {
		b.Fatal(err)
	}
	loop()
	after, err := s.meter.Read()
	if err != nil {
		b.Fatal(err)
	}
	c, err := after.Since(before)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// sampler runs a probe.Sampler over sources at every for wall. A sample
// is one round over every source; the rounds are counted from the dockerd
// RSS series, which every round adds to, and a Paced source is expected in
// its share of them.
func (s *sandbox) sampler(b *testing.B, every, wall time.Duration, sources []probe.Source, idle cpucost.Cost) measured {
	var mu sync.Mutex
	var errs []string
	logf := func(format string, args ...any) {
		mu.Lock()
		errs = append(errs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	smp := probe.NewSampler(every, nil, logf, sources...)
	c := s.charge(b, func() {
		smp.Start(context.Background())
		time.Sleep(wall)
		smp.Stop()
	})
	if len(errs) > 0 {
		b.Fatalf("the sampler reported errors: %s", strings.Join(errs, "; "))
	}
	pace := map[string]float64{}
	for _, src := range sources {
		if p, ok := src.(probe.Paced); ok {
			for _, d := range p.Describe() {
				pace[d.Name] = max(1, float64(p.Every)/float64(every))
			}
		}
	}
	series := smp.Series()
	rounds := 0
	for _, sr := range series {
		if sr.Metric == "dockerd_rss_bytes" {
			rounds = len(sr.Points)
		}
	}
	for _, sr := range series {
		// A source whose read overran an interval skips a tick; every one
		// must still have sampled nearly every round (a paced one nearly
		// every round of its pace), or the loop measured something other
		// than a run's sampling.
		want := float64(rounds) / max(1, pace[sr.Metric])
		if missing := want - float64(len(sr.Points)); len(sr.Points) == 0 || missing > 1+want/10 {
			b.Fatalf("series %s has %d points over %d rounds, want about %.0f", sr.Metric, len(sr.Points), rounds, want)
		}
	}
	return measured{samples: rounds, hz: float64(time.Second) / float64(every), cost: c.LessIdle(idle)}
}

// statsAPI asks dockerd for the container's memory (one-shot stats) and
// its own goroutines and fds (/info) as often as it answers, for the wall
// time the sampler took b.N samples in. It cannot answer at 10 Hz: a
// one-shot stats request waits for the daemon's stats collector, which
// publishes once a second, so the loop gets about b.N/10 samples and each
// is charged its share.
func (s *sandbox) statsAPI(b *testing.B, idle cpucost.Cost) measured {
	ctx := context.Background()
	n := 0
	c := s.charge(b, func() {
		for end := time.Now().Add(time.Duration(b.N) * interval); n == 0 || time.Now().Before(end); n++ {
			if err := readAPI(ctx, s.cli, s.container); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(n)/c.Wall.Seconds(), "samples/s")
	// Charged as if it sampled at 10 Hz, as the sampler does; it cannot.
	return measured{samples: n, hz: float64(time.Second / interval), cost: c.LessIdle(idle)}
}

// readAPI reads the numbers the Docker API has for what the sampler reads,
// and checks they are there.
func readAPI(ctx context.Context, cli *client.Client, id string) error {
	res, err := cli.ContainerStats(ctx, id, client.ContainerStatsOptions{})
	if err != nil {
		return fmt.Errorf("container stats: %w", err)
	}
	var st container.StatsResponse
	err = json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	if err != nil {
		return fmt.Errorf("container stats: decoding: %w", err)
	}
	if st.MemoryStats.Usage == 0 || len(st.MemoryStats.Stats) == 0 {
		return fmt.Errorf("container stats: no memory usage or memory.stat in %+v", st.MemoryStats)
	}
	info, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return fmt.Errorf("/info: %w", err)
	}
	if info.Info.NGoroutines == 0 || info.Info.NFd == 0 {
		return fmt.Errorf("/info: NGoroutines %d, NFd %d: is dockerd running with --debug?", info.Info.NGoroutines, info.Info.NFd)
	}
	return nil
}

// report records a loop's CPU per sample: the caller's, each daemon's
// (with the children it waited for), their sum, and the share of one core
// that is at the loop's rate. The stat-tick
// figures are logged beside the schedstat ones as a check on threads that
// exited during the loop (schedstat cannot see those).
func report(b *testing.B, m measured) {
	ns := func(d time.Duration) float64 { return float64(cpucost.Per(d, m.samples).Nanoseconds()) }
	b.ReportMetric(ns(m.cost.Self), "caller-cpu-ns/sample")
	var ticks []string
	for _, name := range daemons {
		p := m.cost.Procs[name]
		b.ReportMetric(ns(p.Total()), name+"-cpu-ns/sample")
		ticks = append(ticks, fmt.Sprintf("%s %v (stat ticks %v) + children %v", name,
			cpucost.Per(p.Run, m.samples), cpucost.Per(p.Ticks, m.samples), cpucost.Per(p.Children, m.samples)))
	}
	b.ReportMetric(ns(m.cost.Daemons()), "daemons-cpu-ns/sample")
	b.ReportMetric(float64(m.total().Nanoseconds()), "total-cpu-ns/sample")
	b.ReportMetric(m.share(), fmt.Sprintf("%%core@%gHz", m.hz))
	b.Logf("%d samples over %v: per sample caller %v, %s", m.samples, m.cost.Wall.Round(time.Millisecond), m.caller(), strings.Join(ticks, ", "))
}
