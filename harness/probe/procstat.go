package probe

import (
	"bytes"
	"fmt"
	"strconv"
)

// procStat is what the process probe takes from a /proc/<pid>/stat line.
type procStat struct {
	// state is the state letter (field 3): R, S, D, Z, ...
	state byte
	// threads is num_threads (field 20).
	threads uint64
	// rssPages is rss (field 24), in pages.
	rssPages uint64
}

// parseProcStat parses the three fields the process probe records, without
// the allocations of a full parse of the line's 52 fields.
func parseProcStat(stat []byte) (procStat, error) {
	state, ok := statField(stat, 3)
	if !ok || len(state) != 1 {
		return procStat{}, fmt.Errorf("malformed stat line %q", truncate(stat, 80))
	}
	var st procStat
	st.state = state[0]
	var err error
	if st.threads, err = statUint(stat, 20); err != nil {
		return procStat{}, err
	}
	if st.rssPages, err = statUint(stat, 24); err != nil {
		return procStat{}, err
	}
	return st, nil
}

// statField returns field n (numbered from 1 as in proc(5); n >= 3) of a
// /proc stat line. comm (field 2) may hold spaces and parentheses, so the
// fields are counted from after its last ')'.
func statField(stat []byte, n int) ([]byte, bool) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 || n < 3 {
		return nil, false
	}
	rest := stat[end+1:]
	for field := 3; ; field++ {
		i := 0
		for i < len(rest) && (rest[i] == ' ' || rest[i] == '\n') {
			i++
		}
		rest = rest[i:]
		if len(rest) == 0 {
			return nil, false
		}
		j := 0
		for j < len(rest) && rest[j] != ' ' && rest[j] != '\n' {
			j++
		}
		if field == n {
			return rest[:j], true
		}
		rest = rest[j:]
	}
}

// statUint returns field n of a stat line as an unsigned integer.
func statUint(stat []byte, n int) (uint64, error) {
	f, ok := statField(stat, n)
	if !ok {
		return 0, fmt.Errorf("stat line has no field %d: %q", n, truncate(stat, 80))
	}
	v, err := strconv.ParseUint(string(f), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat field %d is not an unsigned integer: %q", n, f)
	}
	return v, nil
}
