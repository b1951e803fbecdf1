package main

import (
	"context"
	"math/rand/v2"
	"runtime/debug"
	"time"
)

// sawtoothTick is how often the sawtooth allocates.
const sawtoothTick = 50 * time.Millisecond

// sawtooth is a Go daemon's memory under background work: it allocates
// rate bytes a second and keeps them (a cache, buffers of work in
// progress) for a period drawn from 0.5-1.5x mean, then drops them and
// returns the memory to the kernel, so RSS ramps up and falls back: a
// sawtooth independent of the ops. It runs until ctx ends.
func sawtooth(ctx context.Context, rate int, mean time.Duration, seed uint64) {
	if rate <= 0 || mean <= 0 {
		return
	}
	rng := rand.New(rand.NewPCG(seed, ^seed))
	chunk := max(1, int(float64(rate)*sawtoothTick.Seconds()))
	t := time.NewTicker(sawtoothTick)
	defer t.Stop()
	var garbage [][]byte
	period := func() time.Duration { return time.Duration(float64(mean) * (0.5 + rng.Float64())) }
	until := time.Now().Add(period())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if now.After(until) {
				garbage = nil
				debug.FreeOSMemory() // collects, then returns freed pages
				until = now.Add(period())
				continue
			}
			buf := make([]byte, chunk)
			touch(buf)
			garbage = append(garbage, buf)
		}
	}
}
