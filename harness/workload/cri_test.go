package workload

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// criLog sums a CRI log file: stdout payload bytes, stdout partial ("P")
// entries, and the stderr lines.
func criLog(t *testing.T, p string) (stdout int64, partial int, stderr []string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		// <RFC3339Nano> <stream> <P|F> <payload>
		parts := strings.SplitN(sc.Text(), " ", 4)
		if len(parts) < 3 {
			t.Fatalf("malformed CRI log line %q", sc.Text())
		}
		payload := ""
		if len(parts) == 4 {
			payload = parts[3]
		}
		switch parts[1] {
		case "stdout":
			stdout += int64(len(payload))
			if parts[2] == "P" {
				partial++
			} else {
				// hugeline never ends a line: a full entry means it wrote a newline.
				t.Errorf("full stdout entry %.60q: hugeline wrote a newline", sc.Text())
			}
		case "stderr":
			stderr = append(stderr, payload)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stdout, partial, stderr
}

func TestCRIRunsHugeline(t *testing.T) {
	needRoot(t, "containerd", "ctr", "runc")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pause, hugeline := buildImage(t, "pause"), buildImage(t, "hugeline")
	cd := startContainerd(t, pause.Ref)
	for _, img := range []Image{pause, hugeline} {
		if err := LoadContainerd(ctx, cd.Address(), img); err != nil {
			t.Fatal(err)
		}
	}

	cri, err := DialCRI(ctx, cd.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer cri.Close()

	logDir := filepath.Join(cd.Root(), "pods", "huge")
	podID, err := cri.RunPod(ctx, "huge", logDir)
	if err != nil {
		t.Fatal(err)
	}
	removed := false
	t.Cleanup(func() {
		if !removed {
			_ = cri.StopPod(context.Background(), podID)
			_ = cri.RemovePod(context.Background(), podID)
		}
	})

	const rate, total = 5 << 20, 20 << 20
	started := time.Now()
	id, err := cri.RunContainer(ctx, podID, ContainerSpec{
		Name:  "hugeline",
		Image: hugeline.Ref,
		Args:  []string{"-rate", "5MiB", "-total", "20MiB"},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := cri.ContainerStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtimeapi.ContainerState_CONTAINER_RUNNING || st.LogPath != filepath.Join(logDir, "hugeline.log") {
		t.Fatalf("status: state %s log %s, want running with log %s", st.State, st.LogPath, filepath.Join(logDir, "hugeline.log"))
	}
	pid, err := cri.ContainerPID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// The pod's shim is a probe target by the pod's id, and it is the
	// container's parent.
	shimPID := runtime.ShimPID(cd, podID)()
	if shimPID == 0 {
		t.Fatalf("no shim found for pod %s of %s", podID, cd.Root())
	}
	if ppid := parentOf(t, pid); ppid != shimPID {
		t.Errorf("container pid %d has parent %d, want the pod's shim %d", pid, ppid, shimPID)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.HasPrefix(string(cmdline), "/hugeline\x00") {
		t.Fatalf("pid %d cmdline %q (%v), want /hugeline", pid, cmdline, err)
	}

	// The log grows at about the paced rate while the line is written.
	time.Sleep(time.Second)
	fi1, err := os.Stat(st.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	time.Sleep(2 * time.Second)
	fi2, err := os.Stat(st.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	growth := float64(fi2.Size()-fi1.Size()) / time.Since(t1).Seconds()
	t.Logf("log %s grew %.2f MiB/s (paced %d MiB/s)", st.LogPath, growth/(1<<20), rate>>20)
	if growth < 0.7*rate || growth > 1.3*rate {
		t.Errorf("log growth %.0f B/s, want %d B/s within 30%%", growth, rate)
	}

	// Then the whole line is in the log, split into partial entries, with the
	// summary on stderr, and the writer idles, still running.
	var stdout int64
	var partial int
	var stderr []string
	for time.Since(started) < 15*time.Second {
		stdout, partial, stderr = criLog(t, st.LogPath)
		if len(stderr) >= 2 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("stdout payload %d bytes in %d partial entries; stderr %q", stdout, partial, stderr)
	if len(stderr) < 2 || !strings.Contains(stderr[1], fmt.Sprintf("wrote %d bytes", total)) {
		t.Fatalf("stderr %q: want hugeline's summary of %d bytes", stderr, total)
	}
	if stdout < total-16384 || stdout > total {
		t.Errorf("stdout payload %d bytes, want %d (less at most one unflushed 16 KiB partial)", stdout, total)
	}
	if partial < total/16384-1 {
		t.Errorf("%d partial entries, want about %d: containerd's default max_container_log_line_size splits at 16 KiB", partial, total/16384)
	}
	if st, err := cri.ContainerStatus(ctx, id); err != nil || st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("after the write: state %v (%v), want running (idle)", st.GetState(), err)
	}

	if _, err := cri.RunContainer(ctx, "no-such-pod", ContainerSpec{Name: "x", Image: pause.Ref}); err == nil || !strings.Contains(err.Error(), "RunPod first") {
		t.Errorf("container in unknown pod: %v", err)
	}

	if err := cri.StopPod(ctx, podID); err != nil {
		t.Fatal(err)
	}
	if err := cri.RemovePod(ctx, podID); err != nil {
		t.Fatal(err)
	}
	removed = true
	if _, err := cri.ContainerStatus(ctx, id); status.Code(err) != codes.NotFound {
		t.Errorf("status after RemovePod: %v, want NotFound", err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("hugeline pid %d still alive after RemovePod", pid)
	}
}

func TestDialCRIWithoutDaemon(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	missing := filepath.Join(t.TempDir(), "none.sock")
	if _, err := DialCRI(ctx, missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("DialCRI to nothing: %v, want an error naming %s", err, missing)
	}
}

// parentOf reads a process' parent pid from /proc.
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	return ppid
}
