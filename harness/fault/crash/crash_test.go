package crash

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/runtime"
)

func TestStorePaths(t *testing.T) {
	if got, want := LocalKV("/d"), "/d/network/files/local-kv.db"; got != want {
		t.Errorf("LocalKV = %s, want %s", got, want)
	}
	if got, want := MetaDB("/d"), "/d/containerd/daemon/io.containerd.metadata.v1.bolt/meta.db"; got != want {
		t.Errorf("MetaDB = %s, want %s", got, want)
	}
}

// containerdOnly is a sandbox that is not a dockerd.
type containerdOnly struct{ runtime.Sandbox }

func (containerdOnly) Kind() runtime.Kind { return runtime.Containerd }

func TestDataRootWantsDockerd(t *testing.T) {
	_, err := DataRoot(containerdOnly{})
	if err == nil || !strings.Contains(err.Error(), "want a dockerd sandbox") {
		t.Errorf("DataRoot of a containerd sandbox: %v", err)
	}
	if _, err := PowerLoss(context.Background(), containerdOnly{}, nil); err == nil {
		t.Error("PowerLoss of a containerd sandbox: no error")
	}
}

func TestSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		bad  string
	}{
		{Spec{Networks: 2, RunningPerNetwork: 3, Stopped: 1, Image: "pause"}, ""},
		{Spec{}, ""},
		{Spec{Networks: -1}, "negative"},
		{Spec{Networks: 201}, "at most 200"},
		{Spec{Networks: 1, RunningPerNetwork: 251, Image: "p"}, "at most 250"},
		{Spec{RunningPerNetwork: 1, Image: "p"}, "need a network"},
		{Spec{Networks: 1, Stopped: 1}, "need an Image"},
	} {
		err := tc.spec.Validate()
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%+v: %v", tc.spec, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%+v: error %v, want one saying %q", tc.spec, err, tc.bad)
		}
	}
}

func TestExitStatus(t *testing.T) {
	for err, want := range map[error]string{
		nil: "",
		errors.New("start dockerd 20.10.24 in /x: dockerd exited during startup (exit status 2); last lines"): "exit status 2",
		errors.New("dockerd exited during startup (signal: killed); last lines"):                              "signal: killed",
		errors.New("dockerd not ready: context deadline exceeded"):                                            "",
	} {
		if got := ExitStatus(err); got != want {
			t.Errorf("ExitStatus(%v) = %q, want %q", err, got, want)
		}
	}
}

// TestNetNS checks that a process forked from the namespace's thread lives
// in another network namespace than the test, sees only its own loopback
// (up), and that a closed NetNS refuses work.
func TestNetNS(t *testing.T) {
	ns, err := NewNetNS()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	var out []byte
	var runErr error
	sleeper := exec.Command("sleep", "30")
	if err := ns.Do(func() {
		out, runErr = exec.Command("ip", "-o", "link", "show").Output()
		if err := sleeper.Start(); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if runErr != nil {
		t.Fatalf("commands in the namespace: %v", runErr)
	}
	defer func() {
		_ = sleeper.Process.Kill()
		_ = sleeper.Wait()
	}()
	theirs, err := NetNSInode(sleeper.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := NetNSInode(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if theirs != ns.Inode() || theirs == ours {
		t.Errorf("child's namespace %d, NetNS %d, ours %d: want the child in NetNS's, not ours", theirs, ns.Inode(), ours)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], ": lo:") || !strings.Contains(lines[0], "UP") {
		t.Errorf("links in the namespace: want lo alone and up, got:\n%s", out)
	}
	if _, err := NetNSInode(1 << 30); err == nil {
		t.Error("NetNSInode of a pid that cannot exist: no error")
	}
	ns.Close()
	ns.Close() // twice is fine
	if err := ns.Do(func() {}); err == nil {
		t.Error("Do after Close: no error")
	}
}
