package engine

import (
	"context"
	"sync"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/engine/testdata/throwaway"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// An incident needs nothing outside its own directory: a throwaway one
// with its own knob, probe and image is planned and run by the engine
// unchanged, and each of the three reaches where it must.
func TestAThrowawayIncidentRunsUnchanged(t *testing.T) {
	t.Parallel() // judged on its own counter, not on this process' RSS
	cat, err := incident.NewCatalog(throwaway.Incident())
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(cat, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if names(p) != "throwaway-widget-leak/leaks=breach throwaway-widget-leak/frees=hold" {
		t.Fatalf("plan %s", names(p))
	}
	var mu sync.Mutex
	knobs := map[string]any{}
	var images []incident.Image
	store := newStore(t)
	eng := New(Deps{
		Store: store,
		Sandboxes: func(it Item, _ func(string, ...any)) (runtime.Sandbox, error) {
			mu.Lock()
			defer mu.Unlock()
			knobs[it.Variant.Name] = it.Variant.Sandbox.Containerd.CRI[throwaway.Knob]
			return &selfSandbox{root: t.TempDir()}, nil
		},
		Images: func(_ context.Context, _ runtime.Sandbox, imgs []incident.Image) (map[incident.Image]string, error) {
			mu.Lock()
			defer mu.Unlock()
			images = imgs
			refs := map[incident.Image]string{}
			for _, i := range imgs {
				refs[i] = "relapse.local/" + string(i) + ":test"
			}
			return refs, nil
		},
		Logf: t.Logf,
	})
	// Both variants at once: each is judged on its own probe, and a verdict
	// takes the default rules 12 s or more.
	runs := make([]results.Result, len(p.Items))
	errs := make([]error, len(p.Items))
	var wg sync.WaitGroup
	for i, it := range p.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i], errs[i] = eng.Run(context.Background(), it)
		}()
	}
	wg.Wait()
	for i, it := range p.Items {
		res, err := runs[i], errs[i]
		if err != nil || !res.OK {
			t.Fatalf("%s: err %v, verdict %s, want %s: %+v", it.Name(), err, res.Verdict, it.Expect, res.Evaluations)
		}
		if res.Metric != "throwaway_widgets" {
			t.Errorf("%s judged %q, want the incident's own probe's metric", it.Name(), res.Metric)
		}
	}
	if knobs["leaks"] != "on" || knobs["frees"] != "off" {
		t.Errorf("knobs reaching the sandbox: %v, want leaks=on frees=off", knobs)
	}
	if len(images) != 1 || images[0] != "throwaway-widgets" {
		t.Errorf("images loaded %v, want the incident's own", images)
	}
	if got := store.Run().Results; len(got) != 2 || got[0].Verdict != string(curve.Hold) && got[1].Verdict != string(curve.Hold) {
		t.Errorf("recorded %+v", got)
	}
}
