package workload

import (
	"context"
	"testing"
	"time"
)

// TestExecSyncRejectsWhatTheCRICannotSay: the CRI's timeout is whole
// seconds and a command is required; both are refused before any call.
func TestExecSyncRejectsWhatTheCRICannotSay(t *testing.T) {
	var c CRI // no connection: nothing may be sent
	for _, tc := range []struct {
		cmd     []string
		timeout time.Duration
	}{
		{nil, time.Second},
		{[]string{"/probe"}, 0},
		{[]string{"/probe"}, 500 * time.Millisecond},
		{[]string{"/probe"}, 1500 * time.Millisecond},
	} {
		if _, err := c.ExecSync(context.Background(), "c", tc.cmd, tc.timeout); err == nil {
			t.Errorf("ExecSync(%q, %v): no error", tc.cmd, tc.timeout)
		}
	}
}
