package diag

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// tasks writes, for every thread of t: its state, wait channel and kernel
// stack. They tell a thread spinning in user space (R, empty stack) from
// one asleep in a futex or stuck in the kernel (D, and where). Only procfs
// files that never block are read (no cmdline of a D task).
func (c *collection) tasks(t target) error {
	if t.pid == 0 {
		return fmt.Errorf("%s is not running", t.name)
	}
	text, err := TaskReport(t.pid)
	if err != nil {
		return err
	}
	return c.write(t.name+"-tasks.txt", []byte(text))
}

// TaskReport renders every thread of pid with its state, wait channel and
// kernel stack, a count per state first.
func TaskReport(pid int) (string, error) {
	taskDir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(taskDir)
	if err != nil {
		return "", fmt.Errorf("threads of pid %d: %w", pid, err)
	}
	var tids []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	sort.Ints(tids)
	states := map[string]int{}
	var body strings.Builder
	for _, tid := range tids {
		dir := filepath.Join(taskDir, strconv.Itoa(tid))
		comm, state := statFields(filepath.Join(dir, "stat"))
		if state == "" {
			continue // exited meanwhile
		}
		states[state]++
		wchan := readTrim(filepath.Join(dir, "wchan"))
		if wchan == "" || wchan == "0" {
			wchan = "-"
		}
		fmt.Fprintf(&body, "tid %d (%s) state %s wchan %s\n", tid, comm, state, wchan)
		stack := readTrim(filepath.Join(dir, "stack"))
		if stack == "" {
			stack = "(no kernel stack: running in user space, or not readable)"
		}
		for _, l := range strings.Split(stack, "\n") {
			body.WriteString("    " + l + "\n")
		}
	}
	var head strings.Builder
	fmt.Fprintf(&head, "pid %d: %d threads;", pid, len(tids))
	keys := make([]string, 0, len(states))
	for s := range states {
		keys = append(keys, s)
	}
	sort.Strings(keys)
	for _, s := range keys {
		fmt.Fprintf(&head, " %s=%d", s, states[s])
	}
	head.WriteString("\n\n")
	return head.String() + body.String(), nil
}

// statFields returns comm and state from a /proc stat file ("" if gone).
func statFields(path string) (comm, state string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", ""
	}
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || end+2 >= len(s) {
		return "", ""
	}
	return s[open+1 : end], s[end+2 : end+3]
}

func readTrim(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}
