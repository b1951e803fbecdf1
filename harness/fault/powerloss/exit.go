package powerloss

import (
	"strconv"
	"strings"

	"github.com/relapse-dev/relapse/harness/diag"
)

// exitCode turns "exit status 2" into 2 and "signal: killed" into 137, the
// shell's convention.
func exitCode(status string) (float64, bool) {
	if s, ok := strings.CutPrefix(status, "exit status "); ok {
		n, err := strconv.Atoi(s)
		return float64(n), err == nil
	}
	if status == "signal: killed" {
		return 128 + 9, true
	}
	return 0, false
}

// bootReason picks why the last daemon process died from its log: its
// panic, fatal error or failure line after the last start marker, as
// ": <line>", or "" when there is none.
func bootReason(logPath string) string {
	data, err := diag.Tail(logPath, 0, 4<<20)
	if err != nil {
		return ""
	}
	return reasonIn(string(data))
}

// reasonIn is bootReason on the log's text; the start marker is the line
// harness/runtime writes before each start of a daemon.
func reasonIn(text string) string {
	if i := strings.LastIndex(text, "--- relapse: starting"); i >= 0 {
		text = text[i:]
	}
	// The lines in which dockerd or containerd says why it died.
	prefixes := []string{"panic: ", "fatal error: ", "failed to start daemon: ", "failed to start containerd: "}
	for _, l := range strings.Split(text, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				return ": " + l
			}
		}
	}
	return ""
}

// firstLine is s up to its first newline (Start's errors carry a log tail).
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
