package crash

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"golang.org/x/sync/errgroup"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// NamePrefix starts the name of everything Populate makes, so a report or a
// diff of networks after a restart can tell them from dockerd's own
// (bridge, host, none).
const NamePrefix = "relapse-"

// Spec says what Populate makes on a sandbox dockerd.
type Spec struct {
	// Networks is the number of user-defined bridge networks. Each is
	// internal (no gateway to the outside) and gets its own /24.
	Networks int
	// RunningPerNetwork containers run on each network: each one is an
	// endpoint record in local-kv.db for as long as it runs (a clean stop
	// deletes it, a crash keeps it).
	RunningPerNetwork int
	// Stopped containers are started on the networks in turn and stopped
	// again: records in dockerd's and containerd's stores, no endpoints.
	Stopped int
	// Image runs in every container (a reference already loaded into the
	// sandbox, e.g. Env.Images["pause"]); it must block until signalled.
	Image string
}

// Validate names what is wrong with a Spec.
func (s Spec) Validate() error {
	switch {
	case s.Networks < 0 || s.RunningPerNetwork < 0 || s.Stopped < 0:
		return fmt.Errorf("populate: negative count in %+v", s)
	case s.Networks > 200:
		return fmt.Errorf("populate: %d networks: at most 200 (one /24 each in 10.200.0.0/16)", s.Networks)
	case s.RunningPerNetwork > 250:
		return fmt.Errorf("populate: %d containers per network: at most 250 fit a /24", s.RunningPerNetwork)
	case s.Networks == 0 && (s.RunningPerNetwork > 0 || s.Stopped > 0):
		return errors.New("populate: containers need a network: set Networks > 0")
	case s.Image == "" && (s.RunningPerNetwork > 0 || s.Stopped > 0):
		return errors.New("populate: containers need an Image (a reference loaded into the sandbox, e.g. Env.Images[\"pause\"])")
	}
	return nil
}

// Network is one network Populate made.
type Network struct {
	Name string
	ID   string
}

// Population is what Populate made.
type Population struct {
	Networks []Network
	// Running and Stopped are container IDs.
	Running []string
	Stopped []string
}

// NetworkNames lists the networks' names, sorted.
func (p Population) NetworkNames() []string {
	var out []string
	for _, n := range p.Networks {
		out = append(out, n.Name)
	}
	slices.Sort(out)
	return out
}

// dockerClient is what a dockerd sandbox offers (runtime.DockerdSandbox).
type dockerClient interface {
	Client(ctx context.Context) (*client.Client, error)
}

// Populate makes spec's networks and containers on the sandbox dockerd.
// Bridge networks create interfaces in the daemon's network namespace, so
// Populate refuses to make any while the daemon shares the harness' (the
// host's) namespace: start it through a NetNS first.
func Populate(ctx context.Context, sb runtime.Sandbox, spec Spec) (Population, error) {
	if err := spec.Validate(); err != nil {
		return Population{}, err
	}
	dc, ok := sb.(dockerClient)
	if !ok {
		return Population{}, fmt.Errorf("populate: %s sandbox: want a dockerd sandbox", sb.Kind())
	}
	if spec.Networks > 0 {
		if err := checkPrivateNetNS(sb.PID()); err != nil {
			return Population{}, err
		}
	}
	cli, err := dc.Client(ctx)
	if err != nil {
		return Population{}, fmt.Errorf("populate: %w", err)
	}
	defer cli.Close()

	var pop Population
	for i := range spec.Networks {
		name := fmt.Sprintf("%snet%d", NamePrefix, i)
		id, err := createNetwork(ctx, cli, name, i)
		if err != nil {
			return pop, err
		}
		pop.Networks = append(pop.Networks, Network{Name: name, ID: id})
	}
	pop.Running = make([]string, spec.Networks*spec.RunningPerNetwork)
	pop.Stopped = make([]string, spec.Stopped)
	// Containers start populateWorkers at a time: a start is mostly waiting
	// on runc and the network driver, and one at a time it was most of a
	// power-loss variant's setup. The same records result, written in the
	// order the starts finish; the stores' page layout already varied from
	// run to run with the random container ids.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(populateWorkers)
	for i, n := range pop.Networks {
		for j := range spec.RunningPerNetwork {
			g.Go(func() error {
				id, err := runContainer(gctx, cli, fmt.Sprintf("%s%d-%d", NamePrefix, i, j), spec.Image, n.Name)
				pop.Running[i*spec.RunningPerNetwork+j] = id
				return err
			})
		}
	}
	for k := range spec.Stopped {
		n := pop.Networks[k%len(pop.Networks)]
		g.Go(func() error {
			id, err := runContainer(gctx, cli, fmt.Sprintf("%sstopped-%d", NamePrefix, k), spec.Image, n.Name)
			if err != nil {
				return err
			}
			zero := 0
			if _, err := cli.ContainerStop(gctx, id, client.ContainerStopOptions{Timeout: &zero}); err != nil {
				return fmt.Errorf("populate: stop container %s: %w", id, err)
			}
			pop.Stopped[k] = id
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		pop.Running, pop.Stopped = compact(pop.Running), compact(pop.Stopped)
		return pop, err
	}
	return pop, nil
}

// populateWorkers is how many containers Populate starts at once.
const populateWorkers = 4

// compact drops the empty ids of containers that were never made.
func compact(ids []string) []string {
	return slices.DeleteFunc(ids, func(id string) bool { return id == "" })
}

// checkPrivateNetNS refuses a daemon in the harness' own network namespace.
func checkPrivateNetNS(pid int) error {
	if pid <= 0 {
		return errors.New("populate: dockerd is not running")
	}
	theirs, err := NetNSInode(pid)
	if err != nil {
		return fmt.Errorf("populate: %w", err)
	}
	ours, err := NetNSInode(os.Getpid())
	if err != nil {
		return fmt.Errorf("populate: %w", err)
	}
	if theirs == ours {
		return fmt.Errorf("populate: dockerd (pid %d) shares the host's network namespace, where its bridge networks would add interfaces and routes: start it through crash.NetNS (NetNS.Do(func() { sb.Start(ctx) }))", pid)
	}
	return nil
}

func createNetwork(ctx context.Context, cli *client.Client, name string, i int) (string, error) {
	res, err := cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{
		Driver:   "bridge",
		Internal: true,
		IPAM:     ipam(i),
		Labels:   map[string]string{"relapse": "crash"},
	})
	if err != nil {
		return "", fmt.Errorf("populate: create network %s: %w", name, err)
	}
	return res.ID, nil
}

func runContainer(ctx context.Context, cli *client.Client, name, image, network string) (string, error) {
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:       name,
		Config:     &container.Config{Image: image, Labels: map[string]string{"relapse": "crash"}},
		HostConfig: &container.HostConfig{NetworkMode: container.NetworkMode(network)},
	})
	if err != nil {
		return "", fmt.Errorf("populate: create container %s on %s: %w", name, network, err)
	}
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return "", fmt.Errorf("populate: start container %s on %s: %w", name, network, err)
	}
	return res.ID, nil
}
