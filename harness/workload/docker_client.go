package workload

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// DockerClient is the Docker API client of a dockerd sandbox, for a case
// that speaks the API itself (a kill or attach loop, a container with
// resources testcontainers does not set). The caller closes it.
func DockerClient(ctx context.Context, sb runtime.Sandbox) (*client.Client, error) {
	d, ok := sb.(interface {
		Client(context.Context) (*client.Client, error)
	})
	if !ok {
		return nil, fmt.Errorf("%s sandbox has no Docker API client: the variant needs a dockerd sandbox", sb.Kind())
	}
	cli, err := d.Client(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", sb.Address(), err)
	}
	return cli, nil
}
