package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/workload"
)

// ImageLoader makes an incident's workload images available in a running
// sandbox and returns their references there.
type ImageLoader func(ctx context.Context, sb runtime.Sandbox, images []incident.Image) (map[incident.Image]string, error)

// PauseImage is the workload image CRI pods are sandboxed with; a user's
// config that names another sandbox image gets it tagged under that name,
// since there is no registry to pull from.
const PauseImage incident.Image = "pause"

// imageCache builds each workload image once per process (and once per
// source change on disk, through workload.Build's own cache) and loads it
// into every sandbox that needs it.
type imageCache struct {
	root, cache string
	logf        func(string, ...any)

	mu    sync.Mutex
	built map[incident.Image]workload.Image
}

func newImageCache(root, cache string, logf func(string, ...any)) *imageCache {
	return &imageCache{root: root, cache: cache, logf: logf, built: map[incident.Image]workload.Image{}}
}

func (c *imageCache) load(ctx context.Context, sb runtime.Sandbox, images []incident.Image) (map[incident.Image]string, error) {
	refs := map[incident.Image]string{}
	for _, name := range images {
		img, err := c.build(ctx, name)
		if err != nil {
			return nil, err
		}
		if err := loadInto(ctx, sb, name, img); err != nil {
			return nil, fmt.Errorf("loading image %s into %s: %w", img.Ref, sb.Kind(), err)
		}
		refs[name] = img.Ref
	}
	return refs, nil
}

func (c *imageCache) build(ctx context.Context, name incident.Image) (workload.Image, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if img, ok := c.built[name]; ok {
		return img, nil
	}
	start := time.Now()
	c.logf("image %s: building (or finding it in the cache)", name)
	img, err := workload.Build(ctx, c.root, c.cache, string(name))
	if err != nil {
		return workload.Image{}, fmt.Errorf("building image %s: %w", name, err)
	}
	how := "built"
	if img.Cached {
		how = "cached"
	}
	c.logf("image %s %s in %s (%s)", img.Ref, how, time.Since(start).Round(time.Millisecond), img.Tar)
	c.built[name] = img
	return img, nil
}

func loadInto(ctx context.Context, sb runtime.Sandbox, name incident.Image, img workload.Image) error {
	switch d := sb.(type) {
	case *runtime.DockerdSandbox:
		cli, err := d.Client(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		return workload.LoadDocker(ctx, cli, img)
	case *runtime.ContainerdSandbox:
		if err := workload.LoadContainerd(ctx, sb.Address(), img); err != nil {
			return err
		}
		if name == PauseImage && d.SandboxImage() != "" && d.SandboxImage() != img.Ref {
			return workload.TagContainerd(ctx, sb.Address(), img.Ref, d.SandboxImage())
		}
		return nil
	}
	return fmt.Errorf("no image loader for a %s sandbox (%T)", sb.Kind(), sb)
}
