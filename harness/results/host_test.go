package results

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHostInfo(t *testing.T) {
	h, err := HostInfo()
	if err != nil {
		t.Fatal(err)
	}
	release, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	if h.Kernel == "" || h.Kernel+"\n" != string(release) {
		t.Errorf("kernel %q, /proc says %q", h.Kernel, release)
	}
	want := "v1"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		want = "v2"
	}
	if h.CgroupVersion != want || h.CPUs < 1 || h.MemTotal < 64<<20 {
		t.Errorf("host %+v, want cgroup %s", h, want)
	}
}

func TestCgroupVersionAndMemTotal(t *testing.T) {
	dir := t.TempDir()
	if v, err := cgroupVersion(dir); err != nil || v != "v1" {
		t.Errorf("no cgroup.controllers: %q %v", v, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.controllers"), []byte("memory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, err := cgroupVersion(dir); err != nil || v != "v2" {
		t.Errorf("with cgroup.controllers: %q %v", v, err)
	}

	mi := filepath.Join(dir, "meminfo")
	if err := os.WriteFile(mi, []byte("MemTotal:       24576000 kB\nMemFree: 1 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := memTotal(mi); err != nil || m != 24576000*1024 {
		t.Errorf("mem total %d %v", m, err)
	}
	if err := os.WriteFile(mi, []byte("MemFree: 1 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := memTotal(mi); err == nil {
		t.Errorf("meminfo without MemTotal accepted")
	}
}
