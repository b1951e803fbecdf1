package probe

import (
	"context"
	"os"
	"testing"
)

// The procfs and cgroupfs halves of a sample, read from this process: the
// live benchmark (suites/bench) measures a whole sample on real daemons,
// these isolate the file reads so a change to a parser shows on its own.

func BenchmarkProcessCollect(b *testing.B) {
	p, err := NewProcess("self", os.Getpid)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() })
	for b.Loop() {
		if vals, err := p.Collect(context.Background()); err != nil || len(vals) != 3 {
			b.Fatalf("Collect = %v, %v", vals, err)
		}
	}
}

func BenchmarkCgroupMemoryCollect(b *testing.B) {
	c, err := CgroupMemory("self", os.Getpid)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	if _, err := c.Cgroup(); err != nil {
		b.Skipf("no memory cgroup for this process: %v", err)
	}
	for b.Loop() {
		if vals, err := c.Collect(context.Background()); err != nil || len(vals) != 6 {
			b.Fatalf("Collect = %v, %v", vals, err)
		}
	}
}
