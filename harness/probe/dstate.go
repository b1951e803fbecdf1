package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Task is one kernel task's scheduler state as procfs shows it: what a
// person looks at first when a container will not die.
type Task struct {
	// PID is the task id (a thread id for threads other than the leader).
	PID int `json:"pid"`
	// Comm is the task's command name.
	Comm string `json:"comm"`
	// State is the state letter: R running, S sleeping, D uninterruptible
	// sleep, Z zombie, ...
	State string `json:"state"`
	// Wchan is the kernel function the task sleeps in (e.g.
	// request_wait_answer for a FUSE read), empty when running or hidden.
	Wchan string `json:"wchan,omitempty"`
	// Kernel marks a kernel thread (PF_KTHREAD): workers such as
	// kworker pass through D on their own and are nobody's leftover.
	Kernel bool `json:"kernel,omitempty"`
}

// pfKthread is the kernel's PF_KTHREAD task flag.
const pfKthread = 0x00200000

// ReadTask reads a task's comm, state and wait channel from /proc/<pid>.
func ReadTask(pid int) (Task, error) {
	return readTask(fmt.Sprintf("/proc/%d", pid), pid)
}

func readTask(dir string, pid int) (Task, error) {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Task{}, fmt.Errorf("task %d: %w", pid, err)
	}
	comm, state, err := parseStatState(b)
	if err != nil {
		return Task{}, fmt.Errorf("task %d: %w", pid, err)
	}
	t := Task{PID: pid, Comm: comm, State: state, Kernel: statFlags(b)&pfKthread != 0}
	if w, err := os.ReadFile(filepath.Join(dir, "wchan")); err == nil && string(w) != "0" {
		t.Wchan = strings.TrimSpace(string(w))
	}
	return t, nil
}

// parseStatState pulls comm and the state letter out of a /proc stat line.
// comm may hold spaces and parentheses, so the state is found after the last
// ')'.
func parseStatState(stat []byte) (comm, state string, err error) {
	open := bytes.IndexByte(stat, '(')
	end := bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open || end+2 >= len(stat) {
		return "", "", fmt.Errorf("malformed stat line %q", truncate(stat, 80))
	}
	return string(stat[open+1 : end]), string(stat[end+2]), nil
}

// statFlags is the flags field of a /proc stat line (field 9), 0 when
// unreadable.
func statFlags(stat []byte) uint64 {
	v, _ := statUint(stat, 9)
	return v
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// TaskStack describes a task for a diagnostics bundle: state, wait channel
// and the kernel stack from /proc/<pid>/stack, for every thread of the
// process, so a D-state task shows where in the kernel it is stuck (e.g.
// request_wait_answer <- fuse_simple_request <- fuse_direct_io).
func TaskStack(pid int) (string, error) {
	tids, err := threadIDs(pid)
	if err != nil {
		return "", fmt.Errorf("task stack of %d: %w", pid, err)
	}
	var sb strings.Builder
	for _, tid := range tids {
		dir := fmt.Sprintf("/proc/%d/task/%d", pid, tid)
		t, err := readTask(dir, tid)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // thread exited while we looked
			}
			return "", fmt.Errorf("task stack of %d: %w", pid, err)
		}
		fmt.Fprintf(&sb, "task %d (%s) of pid %d: state %s wchan %s\n", tid, t.Comm, pid, t.State, orDash(t.Wchan))
		stack, err := os.ReadFile(filepath.Join(dir, "stack"))
		switch {
		case err == nil:
			sb.Write(stack)
		case errors.Is(err, fs.ErrPermission):
			sb.WriteString("  (kernel stack hidden: reading /proc/<pid>/stack needs root)\n")
		case errors.Is(err, fs.ErrNotExist):
			sb.WriteString("  (no kernel stack: the kernel lacks CONFIG_STACKTRACE or the task exited)\n")
		default:
			fmt.Fprintf(&sb, "  (kernel stack unreadable: %v)\n", err)
		}
	}
	return sb.String(), nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func threadIDs(pid int) ([]int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil, err
	}
	var tids []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	sort.Ints(tids)
	return tids, nil
}

// DStateTasks lists every task (thread) on the machine in uninterruptible
// sleep. Tasks that exit during the scan are skipped.
func DStateTasks() ([]Task, error) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	var out []Task
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		tids, err := threadIDs(pid)
		if err != nil {
			continue // exited
		}
		for _, tid := range tids {
			dir := fmt.Sprintf("/proc/%d/task/%d", pid, tid)
			b, err := os.ReadFile(filepath.Join(dir, "stat"))
			if err != nil {
				continue
			}
			if _, state, err := parseStatState(b); err != nil || state != "D" {
				continue
			}
			if t, err := readTask(dir, tid); err == nil && t.State == "D" {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// CountDState counts the tasks on the machine in uninterruptible sleep.
func CountDState() (int, error) {
	ts, err := DStateTasks()
	return len(ts), err
}

// DStateCount is a Source for the machine-wide number of D-state tasks
// (metric "dstate_tasks"): tasks stuck on a hung FUSE mount pile up here
// while every per-process metric stays flat. It counts the whole machine,
// so disk I/O adds brief noise.
type DStateCount struct{}

// NewDStateCount returns the machine-wide D-state task counter.
func NewDStateCount() *DStateCount { return &DStateCount{} }

// Describe implements Source.
func (DStateCount) Describe() []Desc { return []Desc{{Name: "dstate_tasks", Unit: "tasks"}} }

// Collect implements Source.
func (DStateCount) Collect(context.Context) (map[string]float64, error) {
	n, err := CountDState()
	if err != nil {
		return nil, fmt.Errorf("dstate probe: %w", err)
	}
	return map[string]float64{"dstate_tasks": float64(n)}, nil
}

// TaskState is a Source for one task's state: metric <prefix>_dstate is 1
// while the task is in uninterruptible sleep (D) and 0 otherwise, so a curve
// shows when a container's process got stuck and whether a release freed it.
// Last keeps the latest state letter and wait channel for narration.
type TaskState struct {
	prefix string
	pid    func() int

	mu   sync.Mutex
	last Task
}

// NewTaskState returns a state source for the task pid names; while pid is
// 0 or the task is gone the sample is missing.
func NewTaskState(prefix string, pid func() int) (*TaskState, error) {
	if prefix == "" || pid == nil {
		return nil, errors.New("task state probe: need a metric prefix and a pid function")
	}
	return &TaskState{prefix: prefix, pid: pid}, nil
}

// Describe implements Source.
func (s *TaskState) Describe() []Desc {
	return []Desc{{Name: s.prefix + "_dstate", Unit: "bool"}}
}

// Collect implements Source.
func (s *TaskState) Collect(context.Context) (map[string]float64, error) {
	pid := s.pid()
	if pid <= 0 {
		return nil, nil
	}
	t, err := ReadTask(pid)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil // exited: no sample, not an error
		}
		return nil, fmt.Errorf("task state probe %s: %w", s.prefix, err)
	}
	s.mu.Lock()
	s.last = t
	s.mu.Unlock()
	v := 0.0
	if t.State == "D" {
		v = 1
	}
	return map[string]float64{s.prefix + "_dstate": v}, nil
}

// Last is the task as the latest Collect saw it.
func (s *TaskState) Last() Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}
