package dockerdattachleak

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// census is what a process' open fds are, counted by kind, with its unix
// stream sockets told apart by whether their peer still exists: a server
// socket whose client has closed (peer gone) is a connection the daemon
// has not noticed ending, the shape of an attach leak; one with a live peer
// is a client still connected.
type census struct {
	kinds map[string]int
	// sockets are `ss -xanp` lines of the process' unix sockets.
	sockets []string
	// peerless counts the process' connected unix sockets whose peer is gone.
	peerless, peered int
}

// ssPeer reads the peer inode of an `ss -xanp` line ("* 1234" or "* 0").
var ssPeer = regexp.MustCompile(`\s\*\s+(\d+)\s+users:`)

// takeCensus counts pid's fds by kind and describes its unix sockets with
// ss(8) (the socket diagnostics that know each socket's peer).
func takeCensus(ctx context.Context, pid int) (census, error) {
	c := census{kinds: map[string]int{}}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return c, fmt.Errorf("fd census of %d: %w", pid, err)
	}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		c.kinds[fdKind(target)]++
	}
	out, err := exec.CommandContext(ctx, "ss", "-xanp").Output()
	if err != nil {
		return c, fmt.Errorf("fd census of %d: ss -xanp: %w", pid, err)
	}
	tag := fmt.Sprintf(",pid=%d,", pid)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, tag) {
			continue
		}
		c.sockets = append(c.sockets, strings.Join(strings.Fields(line), " "))
		if !strings.Contains(line, "ESTAB") {
			continue
		}
		if m := ssPeer.FindStringSubmatch(line); m != nil && m[1] == "0" {
			c.peerless++
		} else {
			c.peered++
		}
	}
	return c, sc.Err()
}

// fdKind is "socket", "pipe", "anon_inode:[eventpoll]", "/dev/null", or
// the directory of a regular file (one line per kind, not per file).
func fdKind(target string) string {
	switch {
	case strings.HasPrefix(target, "socket:"):
		return "socket"
	case strings.HasPrefix(target, "pipe:"):
		return "pipe"
	case strings.HasPrefix(target, "anon_inode:"), strings.HasPrefix(target, "/dev/"):
		return target
	}
	return filepath.Dir(target) + "/*"
}

// String is the census as a small report.
func (c census) String() string {
	var b strings.Builder
	kinds := make([]string, 0, len(c.kinds))
	total := 0
	for k, n := range c.kinds {
		kinds = append(kinds, k)
		total += n
	}
	sort.Strings(kinds)
	fmt.Fprintf(&b, "%d fds\n", total)
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %5d %s\n", c.kinds[k], k)
	}
	fmt.Fprintf(&b, "unix stream sockets connected: %d with a live peer, %d whose peer is gone\n", c.peered, c.peerless)
	for _, s := range c.sockets {
		fmt.Fprintf(&b, "  %s\n", s)
	}
	return b.String()
}
