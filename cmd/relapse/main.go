// Command relapse is the harness' command line: it plans and runs incidents
// on private runtimes (the same engine the Ginkgo suites use), judges saved
// runs again from their raw series, prints a run's verdict table and
// metrics, and compares two runs (A/B) to catch a runtime upgrade that
// brings an incident back.
//
// Exit codes: 0 success, 1 a failing outcome (a variant not ok, a
// regression), 2 bad usage or unreadable input.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Exit codes, so CI can tell "the runtime regressed" from "the command was
// called wrongly".
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// command is one subcommand.
type command struct {
	name, args, help string
	run              func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "[ID...] [-variant V] [-label L] [-runtimes CELLS] [-jobs N] [-containerd-config F] [-dockerd-config F]", "run incidents end to end on private runtimes and write results/<run>; exit 1 if any run is not ok", runRun},
		{"plan", "[ID...] [same flags as run] [-builds|-json]", "print what run would run and the verdict each must give; -builds: only the runtime builds it needs", runPlan},
		{"judge", "[-rules v1|v2|v3] DIR", "recompute every verdict of a saved run from its series (-rules: replay it under other verdict rules and explain each change); exit 1 on any difference from summary.json", runJudge},
		{"calibrate", "[-replays N] [-real DIR...] [-out DIR] | -live N [-live-from DIR,...]", "replay series of known truth through the watcher's looks under each verdict rule set: false-breach rate, power, time to verdict; writes calibration.md/.json and SVG plots; -live: run the leaker N times per leak size on private dockerds and tally those live runs the same way (live.md)", runCalibrate},
		{"list", "", "list the incidents: id, runtime, variants, title", runList},
		{"table", "DIR", "print the verdict table of the run in DIR (results/<id> or results/latest); exit 1 if any variant is not ok", runTable},
		{"ab", "BASE CANDIDATE [-out DIR]", "compare two runs' directories budget by budget, write ab.html/ab.json/ab.txt; exit 1 if the candidate regressed", runAB},
		{"bisect", bisectArgs, "find the first build (release tag, or commit of a clone with -repo) whose verdict differs from -good's; writes bisect.html/bisect.json", runBisect},
		{"metrics", "DIR", "print the run in DIR as OpenMetrics text", runMetrics},
		{"track-record", "DIR [-readme FILE]", "render the README's track record from the run in DIR: per incident and build the verdict and headline number of each variant's last run; -readme rewrites it in place", runTrackRecord},
		{"merge", "-out DIR RUN...", "merge runs measured apart (one per matrix cell) into ONE run directory, summary.json and index.html as one matrix run writes; exit 1 if any variant is not ok", runMerge},
		{"images", "[ID...]", "build (or find in the cache) the workload images of the incidents, or of all, and print each archive", runImages},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "relapse: no command given")
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "relapse: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: relapse COMMAND [ARGS]")
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n  %-12s   %s\n", c.name, c.args, "", c.help)
	}
}

// newFlags returns a flag set for a subcommand that reports errors instead
// of exiting, with a usage line naming the command.
func newFlags(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("relapse "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: relapse %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags placed anywhere among the arguments (Go's flag package
// stops at the first positional one, but `relapse ab A B -out DIR` is the
// natural order) and returns the positional arguments. A lone "--" ends the
// flags.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumedDashDash(args, rest) {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// consumedDashDash says whether flag parsing stopped at a "--".
func consumedDashDash(args, rest []string) bool {
	n := len(args) - len(rest)
	return n > 0 && args[n-1] == "--"
}

// usageError prints a usage error naming what is wrong and returns exitUsage.
func usageError(fs *flag.FlagSet, stderr io.Writer, format string, a ...any) int {
	fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return exitUsage
}

// flagError turns a flag parsing error into an exit code: -h is a request
// for help, anything else was already reported by the flag package.
func flagError(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// oneLine keeps a message on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// timedLogf narrates to w, each line stamped with the wall-clock time (a
// run's phases read against the daemons' own logs).
func timedLogf(w io.Writer) func(format string, a ...any) {
	return func(format string, a ...any) {
		fmt.Fprintf(w, "%s %s\n", time.Now().Format("15:04:05"), strings.TrimSuffix(fmt.Sprintf(format, a...), "\n"))
	}
}
