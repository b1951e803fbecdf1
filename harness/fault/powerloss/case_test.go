package powerloss

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/incident"
)

// TestStartRefusesAnIncompleteCase: a case that cannot bound its restart or
// has no image for its population fails before it touches the sandbox.
func TestStartRefusesAnIncompleteCase(t *testing.T) {
	env := &incident.Env{Images: map[incident.Image]string{}}
	if _, err := (Case{Image: "pause"}).Start(context.Background(), env); err == nil || !strings.Contains(err.Error(), "BootFor") {
		t.Errorf("no BootFor: err %v, want one naming BootFor", err)
	}
	if _, err := (Case{Image: "pause", BootFor: time.Second}).Start(context.Background(), env); err == nil || !strings.Contains(err.Error(), `"pause"`) {
		t.Errorf("image not loaded: err %v, want one naming the image", err)
	}
}

func TestContainerdAboveWithoutItsWatchdog(t *testing.T) {
	if _, now := ContainerdAbove(0)(context.Background(), Daemons{}); now {
		t.Error("ContainerdAbove says yes with no containerd watched")
	}
}
