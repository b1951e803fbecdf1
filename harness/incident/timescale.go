package incident

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// EnvTimeScale names the variable that stretches the time bounds a case
// measured on a fast machine (how long it drives load, how long it waits for
// its workload) for a slower one, e.g. a guest under software emulation
// that serves a hundred times fewer requests per second. Budgets never
// change with it: they are per operation, or judged on the same curve.
const EnvTimeScale = "RELAPSE_TIME_SCALE"

// maxTimeScale bounds the stretch so a typo cannot make a run take days.
const maxTimeScale = 100

// TimeScale reads RELAPSE_TIME_SCALE: 1 when unset, else a number from 1 to
// 100.
func TimeScale() (float64, error) {
	v := os.Getenv(EnvTimeScale)
	if v == "" {
		return 1, nil
	}
	s, err := strconv.ParseFloat(v, 64)
	if err != nil || s < 1 || s > maxTimeScale {
		return 1, fmt.Errorf("%s=%q: want a number from 1 to %d (how many times slower than the machine the time bounds were measured on)", EnvTimeScale, v, maxTimeScale)
	}
	return s, nil
}

// Scale stretches d by s; s below 1 (unset) leaves it as it is.
func Scale(d time.Duration, s float64) time.Duration {
	if s <= 1 {
		return d
	}
	return time.Duration(float64(d) * s)
}
