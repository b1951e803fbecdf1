package diag

import (
	"fmt"
	"time"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// userHZ is the unit of /proc/<pid>/stat's times: USER_HZ, 100 on every
// architecture Linux builds for user space today.
const userHZ = 100

// processStart is when the process of st started, read against the boot
// clock: its start in ticks after boot and CLOCK_BOOTTIME now give its age
// to within two ticks. procfs' StartTime adds those ticks to /proc/stat's
// btime, which the kernel truncates to the second, so it places a start up
// to a second too early; a warm-up of a second measured from there can be
// almost nothing.
func processStart(st procfs.ProcStat, now time.Time) (time.Time, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return time.Time{}, fmt.Errorf("read the boot clock: %w", err)
	}
	age := time.Duration(ts.Nano()) - time.Duration(st.Starttime)*time.Second/userHZ
	return now.Add(-age), nil
}
