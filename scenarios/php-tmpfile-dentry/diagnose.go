package phptmpfiledentry

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/relapse-dev/relapse/harness/probe"
)

// Diagnose records what shows the growth is dentries: the dentry slab line,
// the kernel's dentry-state, the pod cgroup's memory.stat, the workload's
// log, and, only when RELAPSE_ALLOW_DROP_CACHES=1, whether dropping the
// dentry cache gives the kmem back.
func (a *uploading) Diagnose(ctx context.Context, dir string) ([]string, error) {
	var files []string
	var errs []error
	keep := func(name string, data []byte, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			errs = append(errs, err)
			return
		}
		files = append(files, p)
	}
	slab, err := slabLines("dentry")
	keep("slabinfo-dentry.txt", slab, err)
	ds, err := os.ReadFile(probe.DentryStatePath)
	keep("dentry-state.txt", append([]byte("# nr_dentry nr_unused age_limit want_pages nr_negative dummy\n"), ds...), err)
	if cg, err := a.cgroup.Cgroup(); err == nil {
		stat, err := os.ReadFile(filepath.Join(cg.Dir, "memory.stat"))
		keep("pod-memory.stat", append([]byte("# "+cg.Dir+"\n"), stat...), err)
	} else {
		errs = append(errs, err)
	}
	if logs := a.logs(ctx); logs != "" {
		keep("php-upload.log", []byte(logs), nil)
	}
	dc, err := a.dropCaches(ctx)
	keep("drop-caches.json", dc, err)
	return files, errors.Join(errs...)
}

// slabLines returns /proc/slabinfo's header and the lines of the named caches.
func slabLines(names ...string) ([]byte, error) {
	f, err := os.Open("/proc/slabinfo")
	if err != nil {
		return nil, fmt.Errorf("reading slabinfo (root only): %w", err)
	}
	defer f.Close()
	var out bytes.Buffer
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "slabinfo") {
			out.WriteString(line + "\n")
			continue
		}
		for _, n := range names {
			if len(fields) > 0 && fields[0] == n {
				out.WriteString(line + "\n")
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading slabinfo: %w", err)
	}
	return out.Bytes(), nil
}
