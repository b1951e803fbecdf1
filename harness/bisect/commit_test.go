package bisect_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/bisect"
	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// TestBisectFindsTheCommitThatLeaks bisects a repository the test makes:
// twelve builds of a toy daemon that starts keeping a goroutine per request
// at a known commit. Every candidate the search needs is built with go
// build, started as a process, driven with real requests, probed through
// /proc and pprof and judged by the engine; the search must name that
// commit within ceil(log2 n)+1 judged builds, and a second bisection must
// reuse every build and verdict.
func TestBisectFindsTheCommitThatLeaks(t *testing.T) {
	const leakAt = 7
	repo, hashes := toydRepo(t, 11, leakAt)
	candidates, err := bisect.Commits(context.Background(), repo, hashes[0], "main")
	if err != nil {
		t.Fatal(err)
	}
	if len(candidates) != len(hashes) || candidates[0] != hashes[0] || candidates[len(candidates)-1] != hashes[len(hashes)-1] {
		t.Fatalf("candidates %v, want the %d commits oldest first", candidates, len(hashes))
	}

	cache := t.TempDir()
	first := bisectToyd(t, repo, cache, candidates)
	if first.First != hashes[leakAt] {
		t.Fatalf("bisect named %q, want commit %d %s; steps %s", first.First, leakAt, hashes[leakAt], first.Verdicts())
	}
	if n := first.Judged(); n > bisect.MaxJudged(len(candidates)) {
		t.Errorf("judged %d builds, at most %d for %d candidates", n, bisect.MaxJudged(len(candidates)), len(candidates))
	}
	for _, s := range first.Steps {
		if s.Cached {
			t.Errorf("first bisection: %s reported cached", s.Candidate)
		}
		if s.Verdict == curve.Breach && s.Slope < 0.5 {
			t.Errorf("%s breached with a slope of %g goroutines/request, the leak keeps 1", s.Candidate, s.Slope)
		}
		if _, err := os.Stat(filepath.Join(s.Result, results.ResultFile)); err != nil {
			t.Errorf("%s: its run's result: %v", s.Candidate, err)
		}
	}

	second := bisectToyd(t, repo, cache, candidates)
	if second.First != first.First || second.Verdicts() != first.Verdicts() {
		t.Errorf("second bisection: %s, %s; first: %s, %s", second.First, second.Verdicts(), first.First, first.Verdicts())
	}
	for _, s := range second.Steps {
		if !s.Cached {
			t.Errorf("second bisection judged %s again instead of reusing it", s.Candidate)
		}
	}
}

// bisectToyd runs one bisection of the toy's commits through the engine,
// with builds and verdicts cached under cache.
func bisectToyd(t *testing.T, repo, cache string, candidates []string) bisect.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cat := incident.Catalog{toydIncident()}
	p, err := engine.NewPlan(cat, engine.Filter{Incident: "toyd-request-leak", Variant: "requests"})
	if err != nil {
		t.Fatal(err)
	}
	item := p.Items[0]
	store, err := results.Open(t.TempDir(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var mu sync.Mutex
	binaries := map[string]string{}
	eng := engine.New(engine.Deps{
		Store: store,
		Sandboxes: func(it engine.Item, _ func(string, ...any)) (runtime.Sandbox, error) {
			mu.Lock()
			defer mu.Unlock()
			bin, ok := binaries[it.Cell]
			if !ok {
				return nil, errNoBinary
			}
			root, err := os.MkdirTemp("", "toyd-")
			if err != nil {
				return nil, err
			}
			return &toydSandbox{binary: bin, version: it.Cell, root: root}, nil
		},
		Images: func(context.Context, runtime.Sandbox, []incident.Image) (map[incident.Image]string, error) {
			return nil, nil
		},
		Logf: t.Logf,
	})
	on := func(it engine.Item, candidate, build string) engine.Item {
		it.Cell = candidate[:12]
		mu.Lock()
		binaries[it.Cell] = filepath.Join(build, "toyd")
		mu.Unlock()
		return it
	}
	steps, err := bisect.NewCache(filepath.Join(cache, "steps"), item.Incident.ID, item.Variant.Name, item.Variant.Budgets)
	if err != nil {
		t.Fatal(err)
	}
	b := bisect.Bisection{
		Report: bisect.Report{Incident: item.Incident.ID, Variant: item.Variant.Name, Runtime: "toyd", Level: "commit",
			Good: candidates[0], Bad: "main", Candidates: candidates},
		Judge: bisect.Stepper{
			Build: bisect.SourceBuilder{Repo: repo, Dir: filepath.Join(cache, "builds"), Make: bisect.GoBuild("toyd")}.Build,
			Run: func(ctx context.Context, candidate, build string) (results.Result, string, error) {
				it := on(item, candidate, build)
				res, err := eng.Run(ctx, it)
				return res, filepath.Join(store.Dir(), it.Incident.ID, results.VariantDirName(it.Variant.Name, it.Cell)), err
			},
			Cache: steps,
			Logf:  t.Logf,
		}.Judge,
		Write: func(r bisect.Report) error {
			if err := r.Write(store.Dir()); err != nil {
				return err
			}
			return report.WriteBisect(store.Dir(), r)
		},
		Logf: t.Logf,
	}
	r, err := b.Run(ctx)
	if err != nil {
		t.Fatalf("bisect: %v (steps %s)", err, r.Verdicts())
	}
	for _, f := range []string{bisect.JSONFile, bisect.HTMLFile} {
		b, err := os.ReadFile(filepath.Join(store.Dir(), f))
		if err != nil || !strings.Contains(string(b), bisect.Short(r.First)) {
			t.Errorf("%s does not name the first build %s (%v)", f, bisect.Short(r.First), err)
		}
		if f == bisect.HTMLFile && !strings.Contains(string(b), "index.html#toyd-request-leak--requests--"+bisect.Short(r.First)) {
			t.Errorf("%s does not link the first build's run in its report", f)
		}
	}
	return r
}

func TestCommitsNamesBadRanges(t *testing.T) {
	repo, hashes := toydRepo(t, 2, 1)
	ctx := context.Background()
	for name, c := range map[string]struct{ good, bad, want string }{
		"unknown":  {"v9.9.9", "main", `unknown revision "v9.9.9"`},
		"empty":    {"main", hashes[0], "has no commits"},
		"adjacent": {hashes[1], "main", "is the only commit after"},
		"no clone": {"main", "main", "is not a git clone"},
	} {
		dir := repo
		if name == "no clone" {
			dir = t.TempDir()
		}
		if _, err := bisect.Commits(ctx, dir, c.good, c.bad); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
	}
}
