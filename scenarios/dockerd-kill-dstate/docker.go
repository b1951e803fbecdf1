package dockerdkilldstate

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/incident"
)

// dockerClient is the sandbox dockerd's API client, closed when the
// variant ends. The kill loop speaks the Docker API itself, as kubelet's
// dockershim did, rather than through testcontainers.
func dockerClient(ctx context.Context, env *incident.Env) (*client.Client, error) {
	d, ok := env.Sandbox.(interface {
		Client(context.Context) (*client.Client, error)
	})
	if !ok {
		return nil, fmt.Errorf("%s sandbox has no Docker API client", env.Sandbox.Kind())
	}
	cli, err := d.Client(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", env.Sandbox.Address(), err)
	}
	env.Defer(func(context.Context) error { return cli.Close() })
	return cli, nil
}
