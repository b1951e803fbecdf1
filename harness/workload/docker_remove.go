package workload

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// RemoveDocker force-removes a container (killing it first) with its
// anonymous volumes; a container that does not exist is not an error.
//
// Register it as a cleanup under the container's name before RunDocker:
// a start cancelled midway may leave a created container behind without
// ever returning a handle to terminate.
func RemoveDocker(ctx context.Context, cli *client.Client, nameOrID string) error {
	_, err := cli.ContainerRemove(ctx, nameOrID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", nameOrID, err)
	}
	return nil
}
