package probe

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/procfs"
)

// Fixtures: real files from kernel 6.18 (v1, trimmed) and a 6.x v2 host.
const (
	v1MemoryStat = `cache 217088
rss 1675264
rss_huge 0
shmem 0
mapped_file 0
hierarchical_memory_limit 536870912
total_cache 4096000
total_rss 10522624
total_rss_huge 0
total_shmem 0
`
	v1OOMControl = `oom_kill_disable 0
under_oom 0
oom_kill 3
`
	v2MemoryStat = `anon 10485760
file 2097152
kernel 21037056
kernel_stack 245760
pagetables 425984
sec_pagetables 0
percpu 7200
sock 0
vmalloc 8192
shmem 0
slab_reclaimable 19922944
slab_unreclaimable 360448
slab 20283392
`
	// Before 5.18 memory.stat had no "kernel" line.
	v2MemoryStatOld = `anon 10485760
file 2097152
kernel_stack 245760
pagetables 425984
percpu 7200
sock 0
shmem 0
slab_reclaimable 19922944
slab_unreclaimable 360448
slab 20283392
`
	v2MemoryEvents = `low 0
high 0
max 17
oom 2
oom_kill 1
oom_group_kill 0
`
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadCgroupMemoryV1Fixture(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"memory.usage_in_bytes":      "36864000\n",
		"memory.kmem.usage_in_bytes": "20971520\n",
		"memory.failcnt":             "5\n",
		"memory.stat":                v1MemoryStat,
		"memory.oom_control":         v1OOMControl,
	})
	got, err := ReadCgroupMemory(MemoryCgroup{Version: CgroupV1, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := CgroupMemoryStats{Usage: 36864000, Kmem: 20971520, RSS: 10522624, Cache: 4096000, Failcnt: 5, OOMKills: 3}
	if got != want {
		t.Errorf("v1 stats\n got %+v\nwant %+v (total_* keys, not the cgroup-local ones)", got, want)
	}
}

func TestReadCgroupMemoryV2Fixture(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		kmem       uint64
	}{
		{"kernel key", v2MemoryStat, 21037056},
		// slab + kernel_stack + pagetables + percpu
		{"pre-5.18 sum", v2MemoryStatOld, 20283392 + 245760 + 425984 + 7200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{
				"memory.current": "40000000\n",
				"memory.stat":    tc.stat,
				"memory.events":  v2MemoryEvents,
			})
			got, err := ReadCgroupMemory(MemoryCgroup{Version: CgroupV2, Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			want := CgroupMemoryStats{Usage: 40000000, Kmem: tc.kmem, RSS: 10485760, Cache: 2097152, Failcnt: 17, OOMKills: 1}
			if got != want {
				t.Errorf("v2 stats\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestReadCgroupMemoryErrorsNameTheFile(t *testing.T) {
	full := map[string]string{
		"memory.usage_in_bytes":      "1\n",
		"memory.kmem.usage_in_bytes": "1\n",
		"memory.failcnt":             "0\n",
		"memory.stat":                v1MemoryStat,
		"memory.oom_control":         v1OOMControl,
	}
	for _, tc := range []struct {
		name, file, text, want string
	}{
		{"missing kmem file", "memory.kmem.usage_in_bytes", "", "memory.kmem.usage_in_bytes"},
		{"garbage usage", "memory.usage_in_bytes", "lots\n", `memory.usage_in_bytes: want one unsigned integer, got "lots"`},
		{"no total_rss", "memory.stat", "total_cache 1\n", `no "total_rss" key`},
		{"bad stat line", "memory.stat", "total_rss 1 2\n", "line 1"},
		{"no oom_kill (kernel < 4.13)", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n", `no "oom_kill" key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range full {
				files[k] = v
			}
			if tc.text == "" {
				delete(files, tc.file)
			} else {
				files[tc.file] = tc.text
			}
			_, err := ReadCgroupMemory(MemoryCgroup{Version: CgroupV1, Dir: writeFiles(t, files)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := ReadCgroupMemory(MemoryCgroup{Version: 3, Dir: "/x"}); err == nil || !strings.Contains(err.Error(), "unknown cgroup version 3") {
		t.Fatalf("version 3: err = %v", err)
	}
}

func TestParseKeyedUints(t *testing.T) {
	m, err := parseKeyedUints([]byte(v2MemoryEvents + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 6 || m["max"] != 17 || m["oom_kill"] != 1 {
		t.Fatalf("memory.events parsed to %v", m)
	}
	if _, err := parseKeyedUints([]byte("max -1\n")); err == nil {
		t.Fatal("negative value accepted")
	}
}

func mount(fsType, root, point string, superOpts ...string) *procfs.MountInfo {
	so := map[string]string{}
	for _, o := range superOpts {
		so[o] = ""
	}
	return &procfs.MountInfo{FSType: fsType, Root: root, MountPoint: point, SuperOptions: so}
}

func TestResolveMemoryCgroup(t *testing.T) {
	hybrid := []*procfs.MountInfo{
		mount("tmpfs", "/", "/sys/fs/cgroup"),
		mount("cgroup", "/", "/sys/fs/cgroup/cpu", "rw", "cpu"),
		mount("cgroup", "/", "/sys/fs/cgroup/memory", "rw", "memory"),
		mount("cgroup2", "/", "/sys/fs/cgroup/unified", "rw"),
	}
	unified := []*procfs.MountInfo{mount("cgroup2", "/", "/sys/fs/cgroup", "rw", "nsdelegate")}
	docker := "/docker/5fb335b4c208"
	v1cgs := []procfs.Cgroup{
		{HierarchyID: 9, Controllers: []string{"name=systemd"}, Path: "/"},
		{HierarchyID: 4, Controllers: []string{"memory"}, Path: docker},
		{HierarchyID: 1, Controllers: []string{"cpu"}, Path: "/"},
		{HierarchyID: 0, Path: "/"},
	}
	v2cgs := []procfs.Cgroup{{HierarchyID: 0, Path: "/system.slice/docker-5fb335b4c208.scope"}}

	for _, tc := range []struct {
		name    string
		cgs     []procfs.Cgroup
		mounts  []*procfs.MountInfo
		want    MemoryCgroup
		wantErr string
	}{
		{name: "v1 hybrid", cgs: v1cgs, mounts: hybrid,
			want: MemoryCgroup{Version: CgroupV1, Path: docker, Dir: "/sys/fs/cgroup/memory/docker/5fb335b4c208"}},
		{name: "v2 unified", cgs: v2cgs, mounts: unified,
			want: MemoryCgroup{Version: CgroupV2, Path: v2cgs[0].Path, Dir: "/sys/fs/cgroup/system.slice/docker-5fb335b4c208.scope"}},
		{name: "namespaced v2 mount", cgs: v2cgs,
			mounts: []*procfs.MountInfo{mount("cgroup2", "/system.slice", "/sys/fs/cgroup")},
			want:   MemoryCgroup{Version: CgroupV2, Path: v2cgs[0].Path, Dir: "/sys/fs/cgroup/docker-5fb335b4c208.scope"}},
		{name: "outside namespaced mount", cgs: v2cgs,
			mounts:  []*procfs.MountInfo{mount("cgroup2", "/system.slic", "/sys/fs/cgroup")},
			wantErr: "outside the part of the hierarchy"},
		{name: "v1 memory not mounted", cgs: v1cgs, mounts: unified, wantErr: "no cgroup v1 memory hierarchy is mounted"},
		{name: "v2 not mounted", cgs: v2cgs, mounts: hybrid[:3], wantErr: "no cgroup2 filesystem is mounted"},
		{name: "no memory at all", cgs: v1cgs[2:3], mounts: hybrid, wantErr: "no memory controller"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveMemoryCgroup(tc.cgs, tc.mounts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestFindMemoryCgroupOfSelf(t *testing.T) {
	cg, err := FindMemoryCgroup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	procs, err := os.ReadFile(filepath.Join(cg.Dir, "cgroup.procs"))
	if err != nil {
		t.Fatalf("cgroup dir %s: %v", cg.Dir, err)
	}
	if !containsPid(string(procs), os.Getpid()) {
		t.Fatalf("%s/cgroup.procs does not list this process (%d)", cg.Dir, os.Getpid())
	}
	s, err := ReadCgroupMemory(cg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Usage == 0 || s.RSS == 0 {
		t.Errorf("own cgroup %s reads %+v: usage and rss must be > 0 with this process in it", cg.Dir, s)
	}
	stat, err := MemoryStat(cg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(stat) < 5 {
		t.Errorf("memory.stat has %d keys", len(stat))
	}
}

func containsPid(procs string, pid int) bool {
	for _, l := range strings.Fields(procs) {
		if l == strconv.Itoa(pid) {
			return true
		}
	}
	return false
}

// TestCgroupMemoryChildCgroup puts a helper process in a fresh child memory
// cgroup, lets it touch 64 MiB and create+unlink 20000 new file names, and
// expects the source to see both: the rss and the negative dentries' kmem.
func TestCgroupMemoryChildCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a cgroup")
	}
	own, err := FindMemoryCgroup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(own.Dir, fmt.Sprintf("relapse-probe-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot create a child cgroup under %s: %v", own.Dir, err)
	}
	t.Cleanup(func() {
		// rmdir fails while a process is in it; the helper is waited for first.
		if err := os.Remove(dir); err != nil {
			t.Errorf("removing test cgroup: %v", err)
		}
	})
	current := "memory.usage_in_bytes"
	if own.Version == CgroupV2 {
		current = "memory.current"
	}
	if _, err := os.Stat(filepath.Join(dir, current)); err != nil {
		t.Skipf("memory controller not enabled in child cgroups of %s", own.Dir)
	}

	const files = 20000
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperChurn$")
	cmd.Env = append(os.Environ(), "RELAPSE_PROBE_HELPER=churn", "RELAPSE_PROBE_DIR="+t.TempDir(), fmt.Sprintf("RELAPSE_PROBE_FILES=%d", files))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	helperDone := false
	t.Cleanup(func() {
		if !helperDone {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatalf("moving helper into %s: %v", dir, err)
	}

	pid := cmd.Process.Pid
	src, err := CgroupMemory("helper", func() int { return pid })
	if err != nil {
		t.Fatal(err)
	}
	cg, err := src.Cgroup()
	if err != nil {
		t.Fatal(err)
	}
	if cg.Dir != dir {
		t.Fatalf("source found cgroup %s, want %s", cg.Dir, dir)
	}
	before, err := src.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	after, err := src.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range src.Describe() {
		if _, ok := after[d.Name]; !ok {
			t.Errorf("metric %s missing from %v", d.Name, after)
		}
	}
	if d := after["helper_rss_bytes"] - before["helper_rss_bytes"]; d < 60<<20 {
		t.Errorf("rss rose by %.0f after the helper touched 64 MiB, want >= 60 MiB", d)
	}
	// A dentry is a 192-byte slab object; allow for per-cpu batching.
	if d := after["helper_kmem_bytes"] - before["helper_kmem_bytes"]; d < files*100 {
		t.Errorf("kmem rose by %.0f after %d create+unlink of new names, want >= %d", d, files, files*100)
	}
	if after["helper_usage_bytes"] < after["helper_rss_bytes"] {
		t.Errorf("usage %.0f below rss %.0f", after["helper_usage_bytes"], after["helper_rss_bytes"])
	}
	t.Logf("helper cgroup: before %v after %v", before, after)

	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	helperDone = true
	gone, err := src.Collect(context.Background())
	if err != nil || len(gone) != 0 {
		t.Fatalf("after the helper exited: %v, %v; want no values and no error", gone, err)
	}
}

// TestHelperChurn is the helper process of TestCgroupMemoryChildCgroup, not a
// test: it waits for a line on stdin (it has been moved to its cgroup), then
// touches 64 MiB and churns file names, says "ready" and waits for stdin to
// close.
func TestHelperChurn(t *testing.T) {
	if os.Getenv("RELAPSE_PROBE_HELPER") != "churn" {
		t.Skip("helper process only")
	}
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	ballast := make([]byte, 64<<20)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	n, err := strconv.Atoi(os.Getenv("RELAPSE_PROBE_FILES"))
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("RELAPSE_PROBE_DIR")
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("churn-%d", i))
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("ready")
	_, _ = in.ReadString('\n') // until stdin closes
	runtime.KeepAlive(ballast)
}
