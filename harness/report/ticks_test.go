package report

import (
	"strings"
	"testing"
)

func TestAxisTicks(t *testing.T) {
	lo, hi, ts := axisTicks(0, 7.1e8, 5, "bytes")
	var labels []string
	for _, tk := range ts {
		labels = append(labels, tk.label)
	}
	if got := strings.Join(labels, ","); got != "0 MiB,200 MiB,400 MiB,600 MiB,800 MiB" {
		t.Errorf("byte ticks %s", got)
	}
	if lo != 0 || hi != 800<<20 {
		t.Errorf("byte range %v..%v, want 0..800 MiB", lo, hi)
	}

	_, _, ts = axisTicks(55, 84, 5, "goroutines")
	labels = labels[:0]
	for _, tk := range ts {
		labels = append(labels, tk.label)
	}
	if got := strings.Join(labels, ","); got != "50,60,70,80,90" {
		t.Errorf("count ticks %s", got)
	}

	_, _, ts = axisTicks(0, 0.3, 5, "")
	if ts[1].label != "0.1" {
		t.Errorf("fractional ticks %+v", ts)
	}
}
