package dockerdboltdbcorrupt

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/relapse-dev/relapse/harness/fault/crash"
	"github.com/relapse-dev/relapse/harness/incident"
)

func TestWorkaroundRemovesLocalKV(t *testing.T) {
	dataRoot := t.TempDir()
	p := crash.LocalKV(dataRoot)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := &incident.Env{Logf: t.Logf}
	if err := removeLocalKV(context.Background(), env, dataRoot); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("%s after the workaround: %v, want it gone", p, err)
	}
	// Nothing to remove is a failed workaround, not a silent success.
	if err := removeLocalKV(context.Background(), env, dataRoot); err == nil {
		t.Error("removing a missing local-kv.db succeeded")
	}
}
