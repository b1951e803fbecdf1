package probe

import "sync"

// holding is what a source keeps open for the process its pid function
// names (see keptFile): held until a read says the process is gone, then
// let go, and pid asked again. A daemon that restarts is a new process,
// so the source follows it without asking pid at every sample.
type holding[T interface{ close() }] struct {
	mu  sync.Mutex
	cur T
	has bool
}

// collect reads what is held, first holding what hold opens for the
// process pid names if nothing is. A read that says the process is gone
// (goneErr) lets it go and tries once more, since pid may already name a
// successor. No process, or one gone before it could be read, is no
// values and no error: a restart, not a fault.
func (h *holding[T]) collect(pid func() int, hold func(pid int) (T, error), read func(T) (map[string]float64, error)) (map[string]float64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for range 2 {
		if !h.has {
			n := pid()
			if n <= 0 {
				return nil, nil
			}
			t, err := hold(n)
			if err != nil {
				if goneErr(err) {
					return nil, nil
				}
				return nil, err
			}
			h.cur, h.has = t, true
		}
		vals, err := read(h.cur)
		if err == nil {
			return vals, nil
		}
		h.letGo()
		if !goneErr(err) {
			return nil, err
		}
	}
	return nil, nil
}

// held returns what is held, if anything.
func (h *holding[T]) held() (T, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur, h.has
}

// release closes what is held; the next collect holds anew.
func (h *holding[T]) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.letGo()
}

func (h *holding[T]) letGo() {
	if h.has {
		h.cur.close()
	}
	var zero T
	h.cur, h.has = zero, false
}
