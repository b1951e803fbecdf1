package probe

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
)

// DentryState is the kernel's dentry cache summary from
// /proc/sys/fs/dentry-state. Negative dentries (names looked up or deleted
// that do not exist) are what a create+unlink churn of new file names leaves
// behind; they are charged to the creating cgroup as kmem.
type DentryState struct {
	// NrDentry is the number of dentries allocated.
	NrDentry uint64
	// NrUnused is the number of unused dentries (on the LRU, reclaimable).
	NrUnused uint64
	// AgeLimit is the age in seconds after which dentries may be reclaimed.
	AgeLimit uint64
	// WantPages is nonzero when shrink_dcache_pages() has been called.
	WantPages uint64
	// NrNegative is the number of negative dentries. Kernels before 5.0
	// report 0 here (the field was a placeholder).
	NrNegative uint64
}

// DentryStatePath is where the kernel publishes DentryState.
const DentryStatePath = "/proc/sys/fs/dentry-state"

// ReadDentryState reads and parses /proc/sys/fs/dentry-state.
func ReadDentryState() (DentryState, error) {
	b, err := os.ReadFile(DentryStatePath)
	if err != nil {
		return DentryState{}, fmt.Errorf("reading dentry state: %w", err)
	}
	st, err := parseDentryState(string(b))
	if err != nil {
		return DentryState{}, fmt.Errorf("%s: %w", DentryStatePath, err)
	}
	return st, nil
}

// parseDentryState parses the six fields "nr_dentry nr_unused age_limit
// want_pages nr_negative dummy".
func parseDentryState(s string) (DentryState, error) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return DentryState{}, fmt.Errorf("want 6 fields (nr_dentry nr_unused age_limit want_pages nr_negative dummy), got %d in %q", len(f), strings.TrimSpace(s))
	}
	var v [5]uint64
	names := [5]string{"nr_dentry", "nr_unused", "age_limit", "want_pages", "nr_negative"}
	for i := range v {
		n, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return DentryState{}, fmt.Errorf("%s is not an unsigned integer: %q", names[i], f[i])
		}
		v[i] = n
	}
	return DentryState{NrDentry: v[0], NrUnused: v[1], AgeLimit: v[2], WantPages: v[3], NrNegative: v[4]}, nil
}

// DentrySource samples the machine-wide dentry counts, a second witness for
// a cgroup's kmem growth: it shows the growth is dentries, not some other
// slab.
type DentrySource struct{}

// Dentry returns a source with metrics dentry_negative and dentry_total. It
// fails at once where the kernel has no dentry-state, rather than on every
// sample.
func Dentry() (*DentrySource, error) {
	if _, err := ReadDentryState(); err != nil {
		return nil, fmt.Errorf("dentry probe: %w", err)
	}
	return &DentrySource{}, nil
}

// Describe implements Source.
func (DentrySource) Describe() []Desc {
	return []Desc{
		{Name: "dentry_negative", Unit: "dentries"},
		{Name: "dentry_total", Unit: "dentries"},
	}
}

// Collect implements Source.
func (DentrySource) Collect(context.Context) (map[string]float64, error) {
	st, err := ReadDentryState()
	if err != nil {
		return nil, fmt.Errorf("dentry probe: %w", err)
	}
	return map[string]float64{
		"dentry_negative": float64(st.NrNegative),
		"dentry_total":    float64(st.NrDentry),
	}, nil
}

// SlabDentrySource samples the dentry slab cache from /proc/slabinfo: the
// memory the dentries really hold, which dentry-state does not say.
type SlabDentrySource struct {
	fs       procfs.FS
	pageSize int64
}

// SlabDentry returns a source with metrics slab_dentry_active_objs and
// slab_dentry_bytes (slabs x pages per slab x page size: the memory the
// cache pins, fragmentation included). /proc/slabinfo is readable by root
// only; without it this fails at once with a message saying so.
func SlabDentry() (*SlabDentrySource, error) {
	pfs, err := procfs.NewDefaultFS()
	if err != nil {
		return nil, fmt.Errorf("slab dentry probe: %w", err)
	}
	s := &SlabDentrySource{fs: pfs, pageSize: int64(os.Getpagesize())}
	if _, err := s.read(); err != nil {
		return nil, err
	}
	return s, nil
}

// Describe implements Source.
func (s *SlabDentrySource) Describe() []Desc {
	return []Desc{
		{Name: "slab_dentry_active_objs", Unit: "objects"},
		{Name: "slab_dentry_bytes", Unit: "bytes"},
	}
}

// Collect implements Source.
func (s *SlabDentrySource) Collect(context.Context) (map[string]float64, error) {
	slab, err := s.read()
	if err != nil {
		return nil, err
	}
	return map[string]float64{
		"slab_dentry_active_objs": float64(slab.ObjActive),
		"slab_dentry_bytes":       float64(slabBytes(slab, s.pageSize)),
	}, nil
}

func (s *SlabDentrySource) read() (*procfs.Slab, error) {
	info, err := s.fs.SlabInfo()
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("slab dentry probe: /proc/slabinfo is readable by root only; run as root or drop this probe: %w", err)
		}
		return nil, fmt.Errorf("slab dentry probe: reading /proc/slabinfo: %w", err)
	}
	return findSlab(info, "dentry")
}

func findSlab(info procfs.SlabInfo, name string) (*procfs.Slab, error) {
	for _, s := range info.Slabs {
		if s.Name == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("slab dentry probe: no %q cache in /proc/slabinfo (%d caches); is the kernel merging it into another cache (slab_nomerge)?", name, len(info.Slabs))
}

func slabBytes(s *procfs.Slab, pageSize int64) int64 {
	return s.SlabNum * s.PagesPerSlab * pageSize
}
