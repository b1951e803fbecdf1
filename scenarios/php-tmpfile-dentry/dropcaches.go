package phptmpfiledentry

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/relapse-dev/relapse/harness/wait"
)

// EnvAllowDropCaches opts in to the diagnostic that drops the kernel's
// dentry and inode caches (echo 2 > /proc/sys/vm/drop_caches) to see whether
// the pod's kmem is reclaimable. It is host-wide, so never done by default.
const EnvAllowDropCaches = "RELAPSE_ALLOW_DROP_CACHES"

// dropCachesReport says whether the pod's kmem is reclaimable dentry cache.
type dropCachesReport struct {
	Done           bool    `json:"done"`
	Why            string  `json:"why,omitempty"`
	KmemBefore     float64 `json:"kmem_before_bytes,omitempty"`
	KmemAfter      float64 `json:"kmem_after_bytes,omitempty"`
	NegativeBefore float64 `json:"negative_dentries_before,omitempty"`
	NegativeAfter  float64 `json:"negative_dentries_after,omitempty"`
	KmemFell       bool    `json:"kmem_fell"`
	KmemFellBytes  float64 `json:"kmem_fell_bytes,omitempty"`
}

// dropCaches writes 2 to /proc/sys/vm/drop_caches (dentries and inodes,
// host-wide) when RELAPSE_ALLOW_DROP_CACHES=1 and records whether the pod's
// kmem and the negative dentries fall. Otherwise it records that it was
// skipped and how to opt in.
func (a *uploading) dropCaches(ctx context.Context) ([]byte, error) {
	if os.Getenv(EnvAllowDropCaches) != "1" {
		return json.MarshalIndent(dropCachesReport{Why: "skipped: dropping caches is host-wide; set " + EnvAllowDropCaches + "=1 to see whether the pod's kmem is reclaimable dentry cache"}, "", "  ")
	}
	read := func() (kmem, neg float64, err error) {
		m, err := a.cgroup.Collect(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("reading the pod's kmem: %w", err)
		}
		d, err := a.dentry.Collect(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("reading the dentry counts: %w", err)
		}
		return m[kmemMetric], d[negativeMetric], nil
	}
	var rep dropCachesReport
	var err error
	if rep.KmemBefore, rep.NegativeBefore, err = read(); err != nil {
		return nil, err
	}
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("2\n"), 0o200); err != nil {
		return nil, fmt.Errorf("drop caches: %w", err)
	}
	rep.Done = true
	if err := wait.Sleep(ctx, time.Second); err != nil {
		return nil, err
	}
	if rep.KmemAfter, rep.NegativeAfter, err = read(); err != nil {
		return nil, err
	}
	rep.KmemFellBytes = rep.KmemBefore - rep.KmemAfter
	rep.KmemFell = rep.KmemFellBytes > 0
	return json.MarshalIndent(rep, "", "  ")
}
