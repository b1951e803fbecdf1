package workload

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestFirstCPUs(t *testing.T) {
	got, err := FirstCPUs(2)
	if err != nil {
		t.Fatal(err)
	}
	cpus := strings.Split(got, ",")
	if want := min(2, runtime.NumCPU()); len(cpus) != want {
		t.Fatalf("FirstCPUs(2) = %q: %d CPUs, want %d", got, len(cpus), want)
	}
	prev := -1
	for _, c := range cpus {
		n, err := strconv.Atoi(c)
		if err != nil || n <= prev {
			t.Fatalf("FirstCPUs(2) = %q: want increasing CPU numbers", got)
		}
		prev = n
	}
}
