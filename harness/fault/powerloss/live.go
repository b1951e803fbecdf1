package powerloss

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/relapse-dev/relapse/harness/diag"
)

// Daemons is what a LiveWhen sees of a restart in progress.
type Daemons struct {
	// Dockerd watches the restarting dockerd.
	Dockerd *diag.Watchdog
	// Containerd watches the containerd it starts; nil unless the Case
	// sets WatchContainerd.
	Containerd *diag.Watchdog
}

// LiveWhen says whether the daemons misbehave enough, now, to be worth
// diagnosing before anything kills them, and in a few words why.
type LiveWhen func(ctx context.Context, d Daemons) (why string, now bool)

// DockerdAbove says yes once dockerd, not answering yet, has passed peak
// bytes of RSS (an undamaged restart stays under 100 MiB).
func DockerdAbove(peak float64) LiveWhen {
	return func(ctx context.Context, d Daemons) (string, bool) {
		v, _ := d.Dockerd.Collect(ctx)
		got := v["dockerd_rss_peak_bytes"]
		return fmt.Sprintf("dockerd at %.0f MiB before answering", got/(1<<20)),
			got > peak && v["dockerd_up"] == 1 && !d.Dockerd.Answered()
	}
}

// ContainerdAbove says yes once dockerd's containerd has passed peak bytes
// of RSS while dockerd has not answered.
func ContainerdAbove(peak float64) LiveWhen {
	return func(ctx context.Context, d Daemons) (string, bool) {
		if d.Containerd == nil {
			return "", false
		}
		v, _ := d.Containerd.Collect(ctx)
		got := v["containerd_rss_peak_bytes"]
		return fmt.Sprintf("containerd at %.0f MiB while dockerd has not answered", got/(1<<20)),
			got > peak && !d.Dockerd.Answered()
	}
}

// liveTimeout bounds the live diagnostics (a 1 s strace, dumps over a
// socket that may not answer).
const liveTimeout = 30 * time.Second

// captureLive takes diagnostics of the daemons while they misbehave, into
// diagnostics/live of the variant's directory. It runs under a context of
// its own: it is called when the drive's is already cancelled.
func (a *attempt) captureLive(why string) {
	env := a.env
	dir := filepath.Join(env.Dir, "diagnostics", "live")
	env.Logf("live diagnostics (%s) into %s", why, dir)
	ctx, cancel := context.WithTimeout(context.Background(), liveTimeout)
	defer cancel()
	files, err := diag.Options{StraceFor: time.Second, RequestTimeout: 2 * time.Second}.Collect(ctx, env.Sandbox, dir)
	if err != nil {
		env.Logf("live diagnostics: %v", err)
	}
	if files == nil {
		files = []string{}
	}
	a.live = files
}
