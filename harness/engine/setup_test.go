package engine

import (
	"testing"
	"time"
)

func TestSetupTimeoutScales(t *testing.T) {
	for scale, want := range map[float64]time.Duration{
		1:  6 * time.Minute, // the host: image loads and starts take seconds
		5:  6 * time.Minute,
		10: 10 * time.Minute,
		20: 20 * time.Minute, // a TCG guest: a container's stop and start takes ~10 s
	} {
		if got := setupTimeout(scale); got != want {
			t.Errorf("setupTimeout(%g) = %v, want %v", scale, got, want)
		}
	}
}
