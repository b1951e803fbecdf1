package dockerdkilldstate

import (
	"context"

	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/workload"
)

// dockerClient is the sandbox dockerd's API client, closed when the
// variant ends. The kill loop speaks the Docker API itself, as kubelet's
// dockershim did, rather than through testcontainers.
func dockerClient(ctx context.Context, env *incident.Env) (*client.Client, error) {
	cli, err := workload.DockerClient(ctx, env.Sandbox)
	if err != nil {
		return nil, err
	}
	env.Defer(func(context.Context) error { return cli.Close() })
	return cli, nil
}
