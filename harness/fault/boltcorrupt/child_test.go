package boltcorrupt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Corrupt files make bbolt panic, fault, recurse or loop, so every read of
// one runs in a child process: the test binary re-executed with
// childModeEnv set. The child reports its outcome as its exit code.

const (
	childModeEnv   = "BOLTCORRUPT_CHILD"
	childDBEnv     = "BOLTCORRUPT_DB"
	childBucketEnv = "BOLTCORRUPT_BUCKET"
	childPrefixEnv = "BOLTCORRUPT_PREFIX"

	// childMemLimit caps the child's address space: a loop that allocates
	// dies of it instead of eating the machine.
	childMemLimit = 4 << 30
	// childMaxStack makes a runaway recursion overflow in well under a
	// second instead of at Go's default of 1 GB.
	childMaxStack = 64 << 20
	// childTimeout bounds a child that hangs without allocating.
	childTimeout = 30 * time.Second
	// loopFactor: a child returning this many times the keys that exist has
	// walked into a cycle.
	loopFactor = 10
)

// Child exit codes. A Go panic or fatal error (stack overflow, fault,
// out of memory) exits 2.
const (
	exitIntact        = 0
	exitGoCrash       = 2
	exitOpenError     = 10
	exitBucketMissing = 11
	exitMismatch      = 12
	exitLoop          = 13
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

// childMain opens the file read-write as dockerd does and reads it.
//   - scan: every fixture bucket from First to the end with Next, each pair
//     compared with the fixture.
//   - list: a prefix listing in one bucket as libkv's boltdb List does (Seek,
//     then Next while the key has the prefix), counted.
func childMain(mode string) int {
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: childMemLimit, Max: childMemLimit}); err != nil {
		fmt.Printf("outcome: setrlimit: %v\n", err)
		return 1
	}
	debug.SetMaxStack(childMaxStack)
	db, err := bolt.Open(os.Getenv(childDBEnv), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		fmt.Printf("outcome: open error: %v\n", err)
		return exitOpenError
	}
	defer db.Close()
	code := exitIntact
	err = db.View(func(tx *bolt.Tx) error {
		switch mode {
		case "scan":
			for _, fb := range fixtureBuckets() {
				if code = scanBucket(tx, fb); code != exitIntact {
					return nil
				}
			}
			fmt.Println("outcome: intact")
		case "list":
			code = listPrefix(tx, strings.Split(os.Getenv(childBucketEnv), "/"), os.Getenv(childPrefixEnv))
		default:
			return fmt.Errorf("unknown child mode %q", mode)
		}
		return nil
	})
	if err != nil {
		fmt.Printf("outcome: view error: %v\n", err)
		return 1
	}
	return code
}

func childBucket(tx *bolt.Tx, path []string) *bolt.Bucket {
	b := tx.Bucket([]byte(path[0]))
	for _, name := range path[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(name))
	}
	return b
}

func scanBucket(tx *bolt.Tx, fb fixtureBucket) int {
	b := childBucket(tx, fb.path)
	if b == nil {
		fmt.Printf("outcome: bucket %v missing\n", fb.path)
		return exitBucketMissing
	}
	// Walk on past the first wrong pair, so that a cycle (which returns
	// keys already seen) is told from plain damage.
	c := b.Cursor()
	n, mismatch := 0, ""
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n >= loopFactor*len(fb.pairs) {
			fmt.Printf("outcome: loop: bucket %v returned %d keys, it holds %d\n", fb.path, n, len(fb.pairs))
			return exitLoop
		}
		if mismatch == "" && (n >= len(fb.pairs) || !bytes.Equal(k, fb.pairs[n].key) || !bytes.Equal(v, fb.pairs[n].value)) {
			mismatch = fmt.Sprintf("bucket %v pair %d: key %.80q", fb.path, n, k)
		}
		n++
	}
	if n != len(fb.pairs) && mismatch == "" {
		mismatch = fmt.Sprintf("bucket %v returned %d keys, it holds %d", fb.path, n, len(fb.pairs))
	}
	if mismatch != "" {
		fmt.Printf("outcome: mismatch: %s\n", mismatch)
		return exitMismatch
	}
	return exitIntact
}

func listPrefix(tx *bolt.Tx, path []string, prefix string) int {
	b := childBucket(tx, path)
	if b == nil {
		fmt.Printf("outcome: bucket %v missing\n", path)
		return exitBucketMissing
	}
	want := 0
	for _, fb := range fixtureBuckets() {
		if strings.Join(fb.path, "/") == strings.Join(path, "/") {
			for _, p := range fb.pairs {
				if strings.HasPrefix(string(p.key), prefix) {
					want++
				}
			}
		}
	}
	p := []byte(prefix)
	c := b.Cursor()
	n := 0
	for k, _ := c.Seek(p); bytes.HasPrefix(k, p); k, _ = c.Next() {
		n++
		if n > loopFactor*want {
			fmt.Printf("outcome: loop: listing %q returned %d keys, %d exist\n", prefix, n, want)
			return exitLoop
		}
	}
	if n != want {
		fmt.Printf("outcome: mismatch: listing %q returned %d keys, %d exist\n", prefix, n, want)
		return exitMismatch
	}
	fmt.Printf("outcome: listed %d keys\n", n)
	return exitIntact
}

// childResult is how a child ended.
type childResult struct {
	code     int // exit code, -1 when killed
	timedOut bool
	stdout   string
	stderr   string
	took     time.Duration
}

// summary is the child's outcome line, or the head of its crash report.
func (r childResult) summary() string {
	if i := strings.Index(r.stdout, "outcome: "); i >= 0 {
		return strings.TrimSpace(strings.SplitN(r.stdout[i:], "\n", 2)[0])
	}
	lines := strings.SplitN(strings.TrimSpace(r.stderr), "\n", 3)
	return strings.Join(lines[:min(2, len(lines))], " | ")
}

func (r childResult) String() string {
	return fmt.Sprintf("exit %d (timed out %v) after %v: %s", r.code, r.timedOut, r.took.Round(time.Millisecond), r.summary())
}

// runChild reads path in a child process in mode (see childMain).
func runChild(t *testing.T, mode, path string, bucket []string, prefix string) childResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childModeEnv+"="+mode,
		childDBEnv+"="+path,
		childBucketEnv+"="+strings.Join(bucket, "/"),
		childPrefixEnv+"="+prefix,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	r := childResult{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start), timedOut: ctx.Err() != nil}
	var exit *exec.ExitError
	switch {
	case err == nil:
		r.code = 0
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("run child %s on %s: %v", mode, path, err)
	}
	return r
}
