package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
)

// A run with -jobs K runs its items in K relapse processes at once (each
// with its own engine, sandboxes and part of the run's results), then
// merges the parts into one run directory. They are processes because an
// engine runs one item at a time and its dockerd sandboxes listen on one
// socket per process. The items whose incident needs the machine to itself
// (Incident.Alone) run last, one at a time, as Ginkgo runs Serial specs.
//
// The parent speaks to each child over its stdin and stdout: it writes an
// item's name, the child runs it and answers with doneLine; closing stdin
// ends the child, which closes its part.
const doneLine = "relapse-item-done"

// runChild is a -jobs child: it runs the items of plan p its parent names
// on stdin, one at a time, recording them in dir (a part of the parent's
// run), and answers each with doneLine on stdout.
func runChild(ctx context.Context, p engine.Plan, dir string, opts engine.Options, stdin io.Reader, stdout io.Writer, logf func(string, ...any)) int {
	childIgnoresBrokenPipe()
	opts.Results, opts.RunID = filepath.Dir(dir), filepath.Base(dir)
	eng, err := engine.Open(ctx, opts)
	if err != nil {
		logf("relapse run: %v", err)
		return exitFail
	}
	code := exitOK
	sc := bufio.NewScanner(stdin)
	for sc.Scan() && ctx.Err() == nil {
		name := sc.Text()
		i := slices.IndexFunc(p.Items, func(it engine.Item) bool { return it.Name() == name })
		if i < 0 {
			logf("relapse run: the parent asked for %q, which this plan does not hold", name)
			code = exitFail
		} else if _, ok := runItem(ctx, eng, p.Items[i], i+1, len(p.Items), logf); !ok {
			code = exitFail
		}
		fmt.Fprintln(stdout, doneLine)
	}
	if err := eng.Close(); err != nil {
		logf("relapse run: %v", err)
		return exitFail
	}
	return code
}

// jobChild is one running child and the ends of its pipes.
type jobChild struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	logs sync.WaitGroup
}

// run hands the child one item and waits for its answer.
func (c *jobChild) run(it engine.Item) error {
	if _, err := fmt.Fprintln(c.in, it.Name()); err != nil {
		return fmt.Errorf("%s: handing it %s: %w", c.name, it.Name(), err)
	}
	for c.out.Scan() {
		if c.out.Text() == doneLine {
			return nil
		}
	}
	return fmt.Errorf("%s exited while running %s", c.name, it.Name())
}

// runJobs runs items in jobs child processes, records them as one run in
// results/<runID> (a new timestamp when empty) and returns the merged run's
// directory. Every child gets childArgs (the parent's own selection and
// rules) so it plans exactly what the parent did.
func runJobs(ctx context.Context, items []engine.Item, jobs int, childArgs []string, resultsDir, runID string, stderr io.Writer, logf func(string, ...any)) (results.Run, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return results.Run{}, "", fmt.Errorf("-jobs: finding relapse's own binary: %w", err)
	}
	root, err := engine.ResultsDir(resultsDir)
	if err != nil {
		return results.Run{}, "", err
	}
	dir, err := results.Claim(root, runID)
	if err != nil {
		return results.Run{}, "", err
	}
	shared, alone := engine.SideBySide(items, engine.PastWalls(root, items, logf))
	jobs = max(1, min(jobs, len(shared)))
	logf("%d runs in %d processes at once (%d of them alone, after the others), recorded in %s", len(items), jobs, len(alone), dir)
	var out sync.Mutex // one child's line at a time on stderr
	children := make([]*jobChild, 0, jobs)
	// Closing a child's stdin ends it once its item is over; stop waits
	// for them all (also when starting one of them failed).
	stop := func() {
		for _, c := range children {
			_ = c.in.Close()
		}
		for _, c := range children {
			// Its stderr is read to the end before Wait closes the pipe,
			// so a child's last lines (its cleanup) are never lost.
			c.logs.Wait()
			if err := c.cmd.Wait(); err != nil && ctx.Err() == nil {
				logf("%s exited: %v", c.name, err)
			}
		}
		children = nil
	}
	defer stop()
	for k := 1; k <= jobs; k++ {
		c, err := startChild(ctx, exe, fmt.Sprintf("j%d", k), filepath.Join(dir, results.PartsDir, fmt.Sprintf("j%d", k)), childArgs, stderr, &out)
		if err != nil {
			return results.Run{}, dir, err
		}
		children = append(children, c)
	}
	queue := make(chan engine.Item, len(shared))
	for _, it := range shared {
		queue <- it
	}
	close(queue)
	var wg sync.WaitGroup
	for _, c := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range queue {
				if ctx.Err() != nil {
					return
				}
				if err := c.run(it); err != nil {
					logf("%v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, it := range alone {
		if ctx.Err() != nil {
			break
		}
		if err := children[0].run(it); err != nil {
			logf("%v", err)
			break
		}
	}
	stop()
	run, err := results.MergeParts(dir, report.Renderer{})
	if err != nil {
		return results.Run{}, dir, fmt.Errorf("%w (the parts stay in %s)", err, filepath.Join(dir, results.PartsDir))
	}
	return run, dir, nil
}

// startChild starts one child recording into part, its stderr copied to
// stderr line by line behind its name.
func startChild(ctx context.Context, exe, name, part string, args []string, stderr io.Writer, out *sync.Mutex) (*jobChild, error) {
	cmd := childCommand(ctx, exe, append([]string{"run", "-run-child", part}, args...)...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logs, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := startChildCommand(cmd); err != nil {
		return nil, fmt.Errorf("starting %s %s: %w", exe, strings.Join(cmd.Args[1:], " "), err)
	}
	c := &jobChild{name: name, cmd: cmd, in: in, out: bufio.NewScanner(stdout)}
	c.logs.Add(1)
	go func() {
		defer c.logs.Done()
		copyLines(stderr, logs, name+" ", out)
	}()
	return c, nil
}

// childCommand is a child relapse process of -jobs (run or calibrate).
// Ctrl-C reaches the children through the terminal too; either way they
// get SIGTERM, stop, clean up their sandbox and exit, within
// childWaitDelay. A parent killed outright (SIGKILL) cannot stop them:
// they get SIGTERM from the kernel instead (Pdeathsig; start them with
// startChildCommand).
func childCommand(ctx context.Context, exe string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = childWaitDelay
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	return cmd
}

// startChildCommand starts cmd from one locked thread: Pdeathsig follows
// the thread that forks, not the process.
func startChildCommand(cmd *exec.Cmd) error {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	return cmd.Start()
}

// childIgnoresBrokenPipe keeps a child alive when its parent has died and
// left its stderr a broken pipe: writing to it fails quietly instead of
// killing the child before it has cleaned up (the parent's death reaches
// it as SIGTERM).
func childIgnoresBrokenPipe() { signal.Ignore(syscall.SIGPIPE) }

// copyLines copies r to w line by line behind prefix, one whole line at a
// time under mu: the narration of several children on one stderr.
func copyLines(w io.Writer, r io.Reader, prefix string, mu *sync.Mutex) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		mu.Lock()
		fmt.Fprintln(w, prefix+sc.Text())
		mu.Unlock()
	}
}

// explainJobs prints what runRun prints for an item that did not give its
// expected verdict, for every such item of a merged run, and says whether
// every item was recorded and ok.
func explainJobs(stdout io.Writer, items []engine.Item, run results.Run, dir string) bool {
	byName := map[string]results.Result{}
	for _, r := range run.Results {
		byName[r.Name()] = r
	}
	ok := true
	for _, it := range items {
		res, recorded := byName[it.Name()]
		switch {
		case !recorded:
			ok = false
			fmt.Fprintf(stdout, "%s: not run (its process stopped first; its log is above)\n", it.Name())
		case !res.OK:
			ok = false
			explainItem(stdout, it, res, dir)
		}
	}
	return ok
}
