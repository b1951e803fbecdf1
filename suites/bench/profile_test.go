package bench_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/relapse-dev/relapse/harness/probe"
)

// profileGoroutines reads dockerd's goroutines as the sampler did before it
// read them from the pprof index: the goroutine profile's total, for which
// dockerd stops the world, walks every stack and symbolizes it. Measured
// beside the sampler so the difference stays on record.
type profileGoroutines struct{ socket string }

func (p profileGoroutines) Describe() []probe.Desc {
	return []probe.Desc{{Name: "dockerd_goroutines", Unit: "goroutines"}}
}

func (p profileGoroutines) Collect(ctx context.Context) (map[string]float64, error) {
	var sum bytes.Buffer
	if err := probe.GoroutineSummary(ctx, p.socket, &sum); err != nil {
		return nil, err
	}
	const head = "goroutine profile: total "
	line, _, _ := strings.Cut(sum.String(), "\n")
	n, err := strconv.Atoi(strings.TrimPrefix(line, head))
	if err != nil || !strings.HasPrefix(line, head) {
		return nil, fmt.Errorf("goroutine profile of dockerd starts %q", line)
	}
	return map[string]float64{"dockerd_goroutines": float64(n)}, nil
}

// withProfileGoroutines is sources with dockerd's goroutine probe reading
// the profile.
func withProfileGoroutines(sources []probe.Source, socket string) ([]probe.Source, error) {
	out := make([]probe.Source, 0, len(sources))
	replaced := false
	for _, s := range sources {
		if _, ok := s.(*probe.Goroutines); ok {
			s, replaced = profileGoroutines{socket: socket}, true
		}
		out = append(out, s)
	}
	if !replaced {
		return nil, fmt.Errorf("no goroutine probe among the run's %d sources", len(sources))
	}
	return out, nil
}
