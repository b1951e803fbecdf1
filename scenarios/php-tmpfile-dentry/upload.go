package phptmpfiledentry

import (
	"context"
	"fmt"

	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/loopback"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Metrics the attempt's probes add, under the names the budgets and the
// extras read.
const (
	kmemMetric     = "pod_kmem_bytes"
	negativeMetric = "dentry_negative"
)

// upload is one configuration of the php-upload workload: nginx and a
// static pool of php-fpm workers serving an upload script.
type upload struct {
	// bodySize is each POST body's size: above PHP's 16 KiB in-memory
	// limit a body is spooled to a temp file in /tmp.
	bodySize int
	// tmpfs mounts a tmpfs on /tmp, the fix.
	tmpfs bool
}

// container is the workload as the runtime started it.
type container struct {
	pid int
	// logs returns the workload's output, for errors and diagnostics.
	logs func(ctx context.Context) string
}

// Start runs php-upload on the sandbox's runtime, with the node's network
// on a free loopback port, and waits until its upload endpoint answers.
func (u upload) Start(ctx context.Context, env *incident.Env) (incident.Attempt, error) {
	port, err := loopback.FreePort()
	if err != nil {
		return nil, err
	}
	var c container
	switch kind := env.Sandbox.Kind(); kind {
	case runtime.Dockerd:
		c, err = u.runDocker(ctx, env, port)
	case runtime.Containerd:
		c, err = u.runCRI(ctx, env, port)
	default:
		err = fmt.Errorf("php-upload on %s: want dockerd or containerd", kind)
	}
	if err != nil {
		return nil, err
	}
	cgroup, err := probe.CgroupMemory("pod", func() int { return c.pid })
	if err != nil {
		return nil, err
	}
	if _, err := cgroup.Cgroup(); err != nil {
		return nil, fmt.Errorf("php-upload container (pid %d): %w", c.pid, err)
	}
	dentry, err := probe.Dentry()
	if err != nil {
		return nil, err
	}
	a := &uploading{
		cfg: u, container: c, port: port, cgroup: cgroup, dentry: dentry,
		ops: env.Ops, mark: env.Mark, logf: env.Logf, dir: env.Dir,
		dial: runtime.Dialer(env.Sandbox), scale: env.TimeScale,
	}
	if err := a.waitReady(ctx); err != nil {
		return nil, err
	}
	env.Logf("php-upload (pid %d) on 127.0.0.1:%d, /tmp %s, bodies %d KiB", c.pid, port, u.tmpDesc(), u.bodySize>>10)
	return a, nil
}

func (u upload) tmpDesc() string {
	if u.tmpfs {
		return "on tmpfs"
	}
	return "in the image"
}

// uploading is one run of the workload under load.
type uploading struct {
	cfg upload
	container
	port   int
	cgroup *probe.CgroupMemorySource
	dentry *probe.DentrySource

	ops  *probe.Ops
	mark func(string)
	logf func(string, ...any)
	// dir is the variant's results directory, for load.json.
	dir string
	// scale stretches loadFor and readyWithin on a slower machine.
	scale float64
	// dial connects from the runtime's network namespace (a dockerd
	// sandbox has a private one), where the host-network workload listens.
	dial runtime.DialFunc
}

// Probes: the pod's memory cgroup (usage, kmem, rss) and the machine's
// dentry counts, the second witness that the kmem is negative dentries.
func (a *uploading) Probes() []probe.Source { return []probe.Source{a.cgroup, a.dentry} }

// The engine finds an attempt's diagnostics and extras by these interfaces.
var (
	_ incident.Diagnoser = (*uploading)(nil)
	_ incident.Reporter  = (*uploading)(nil)
)
