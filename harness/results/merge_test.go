package results

import (
	"strings"
	"testing"
	"time"
)

func TestMergeJoinsCellsIntoOneRun(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 11, 30, 3, min, 0, 0, time.UTC) }
	host := Host{Kernel: "6.18.0", CgroupVersion: "v2", Hostname: "runner-1", CPUs: 4, MemTotal: 16 << 30}
	small := host
	small.Hostname, small.CPUs, small.MemTotal = "runner-2", 2, 8<<30
	a := Run{ID: "nightly-containerd-2.0.14", Started: at(5), Finished: at(30), Host: host, Results: []Result{
		{Incident: "log", Variant: "unlimited", Cell: "containerd-2.0.14"},
		{Incident: "log", Variant: "default", Cell: "containerd-2.0.14"},
	}}
	b := Run{ID: "nightly-containerd-1.6.20", Started: at(2), Finished: at(20), Host: small, Results: []Result{
		{Incident: "log", Variant: "unlimited", Cell: "containerd-1.6.20"},
		{Incident: "exec", Variant: "fixed", Cell: "containerd-1.6.20"},
	}}
	m, err := Merge("nightly", []Run{a, b})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range m.Results {
		names = append(names, r.Name())
	}
	if got, want := strings.Join(names, " "), "exec/fixed@containerd-1.6.20 log/default@containerd-2.0.14 log/unlimited@containerd-1.6.20 log/unlimited@containerd-2.0.14"; got != want {
		t.Errorf("results %s\nwant %s", got, want)
	}
	if m.ID != "nightly" || !m.Started.Equal(at(2)) || !m.Finished.Equal(at(30)) {
		t.Errorf("run %s from %s to %s, want nightly from 03:02 to 03:30", m.ID, m.Started, m.Finished)
	}
	if m.Host.Hostname != "" || m.Host.CPUs != 2 || m.Host.MemTotal != 8<<30 || m.Host.Kernel != "6.18.0" {
		t.Errorf("host %+v: want the kernel, no hostname, the smallest machine", m.Host)
	}
	cut := b
	cut.Finished = time.Time{}
	if m, err := Merge("nightly", []Run{a, cut}); err != nil || !m.Finished.IsZero() {
		t.Errorf("a cut-short cell: finished %s, %v; want the merged run incomplete", m.Finished, err)
	}
}

func TestMergeRefusesWhatDoesNotBelongInOneReport(t *testing.T) {
	one := Run{ID: "a", Host: Host{Kernel: "6.18.0", CgroupVersion: "v1"}, Results: []Result{{Incident: "log", Variant: "default", Cell: "containerd-1.6.20"}}}
	again := one
	again.ID = "b"
	other := Run{ID: "c", Host: Host{Kernel: "6.8.0", CgroupVersion: "v2"}}
	for name, tc := range map[string]struct {
		id   string
		runs []Run
		want string
	}{
		"twice":   {"m", []Run{one, again}, "log/default@containerd-1.6.20 is in run a and in run b"},
		"kernels": {"m", []Run{one, other}, "run a measured kernel 6.18.0 with cgroup v1, run c kernel 6.8.0 with cgroup v2"},
		"none":    {"m", nil, "no runs given"},
		"bad id":  {"a/b", []Run{one}, "contains a path separator"},
	} {
		if _, err := Merge(tc.id, tc.runs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
}
