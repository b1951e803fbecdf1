package diag

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// dockerdDumpGlob matches the goroutine dumps dockerd writes into its
// exec-root on SIGUSR1 (daemon.setupDumpStackTrap, installed early in
// NewDaemon: a dockerd stuck before that, e.g. waiting for containerd,
// ignores the signal).
const dockerdDumpGlob = "goroutine-stacks-*.log"

// signalDump sends SIGUSR1 to t and returns a func that waits for the dump
// and saves it (and, for dockerd, every earlier dump still in its
// exec-root); nil when t has no such dump.
func (c *collection) signalDump(t target) func() {
	switch {
	case t.dumpDir != "":
		before := globSet(filepath.Join(t.dumpDir, dockerdDumpGlob))
		sent := c.sigusr1(t)
		return func() {
			c.piece(t.name+" SIGUSR1 dump", func() error {
				var fresh []string
				if sent == nil {
					fresh = waitNewFiles(filepath.Join(t.dumpDir, dockerdDumpGlob), before, c.opts.SignalWait)
				}
				// Earlier dumps (a scenario's own, taken while the daemon
				// misbehaved) are kept too.
				all := globSet(filepath.Join(t.dumpDir, dockerdDumpGlob))
				for _, f := range slices.Sorted(mapsKeys(all)) {
					if err := c.copyFile(f, t.name+"-"+filepath.Base(f)); err != nil {
						return err
					}
				}
				switch {
				case sent != nil:
					return sent
				case len(fresh) == 0:
					return fmt.Errorf("no new %s in %s within %s of SIGUSR1 (dockerd installs its handler in NewDaemon, after it has its containerd)", dockerdDumpGlob, t.dumpDir, c.opts.SignalWait)
				}
				return nil
			})
		}
	case t.stacksInTmp:
		if t.pid == 0 {
			return nil // nothing to signal; the tasks piece says it is down
		}
		tmp := processTmpDir(t.pid)
		file := filepath.Join(tmp, fmt.Sprintf("containerd.%d.stacks.log", t.pid))
		var old time.Time
		if fi, err := os.Stat(file); err == nil {
			old = fi.ModTime()
		}
		sent := c.sigusr1(t)
		return func() {
			c.piece(t.name+" SIGUSR1 dump", func() error {
				if sent != nil {
					return sent
				}
				if !waitFile(file, old, c.opts.SignalWait) {
					return fmt.Errorf("no %s within %s of SIGUSR1", file, c.opts.SignalWait)
				}
				return c.copyFile(file, t.name+"-sigusr1-stacks.log")
			})
		}
	}
	return nil
}

func (c *collection) sigusr1(t target) error {
	if t.pid == 0 {
		return fmt.Errorf("%s is not running: no SIGUSR1 dump", t.name)
	}
	if err := syscall.Kill(t.pid, syscall.SIGUSR1); err != nil {
		return fmt.Errorf("SIGUSR1 to %s (pid %d): %w", t.name, t.pid, err)
	}
	return nil
}

// copyFile copies src into the collection as name once its size is stable
// (the daemon may still be writing it).
func (c *collection) copyFile(src, name string) error {
	var data []byte
	for range 10 {
		d, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if data != nil && bytes.Equal(d, data) {
			break
		}
		data = d
		time.Sleep(50 * time.Millisecond)
	}
	return c.write(name, data)
}

func globSet(pattern string) map[string]bool {
	m, _ := filepath.Glob(pattern)
	out := make(map[string]bool, len(m))
	for _, f := range m {
		out[f] = true
	}
	return out
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// waitNewFiles waits up to d for files matching pattern that are not in before.
func waitNewFiles(pattern string, before map[string]bool, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		var fresh []string
		for f := range globSet(pattern) {
			if !before[f] {
				fresh = append(fresh, f)
			}
		}
		if len(fresh) > 0 || time.Now().After(deadline) {
			return fresh
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFile waits up to d for file to exist with a modification time after old.
func waitFile(file string, old time.Time, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if fi, err := os.Stat(file); err == nil && fi.ModTime().After(old) && fi.Size() > 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processTmpDir is the TMPDIR in pid's environment, or /tmp: where Go's
// os.TempDir points in that process.
func processTmpDir(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err == nil {
		for _, kv := range strings.Split(string(data), "\x00") {
			if v, ok := strings.CutPrefix(kv, "TMPDIR="); ok && v != "" {
				return v
			}
		}
	}
	return os.TempDir()
}
