package crash

import (
	"context"
	"fmt"
	"slices"

	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// NetworksLost lists the networks of pop the running dockerd no longer
// knows: the silent data loss a store that opens cleanly on the wrong tree
// gives.
func NetworksLost(ctx context.Context, sb runtime.Sandbox, pop Population) ([]string, error) {
	dc, ok := sb.(dockerClient)
	if !ok {
		return nil, fmt.Errorf("networks lost: %s sandbox: want a dockerd sandbox", sb.Kind())
	}
	cli, err := dc.Client(ctx)
	if err != nil {
		return nil, fmt.Errorf("networks lost: %w", err)
	}
	defer cli.Close()
	res, err := cli.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, fmt.Errorf("networks lost: list: %w", err)
	}
	have := map[string]bool{}
	for _, n := range res.Items {
		have[n.ID] = true
		have[n.Name] = true
	}
	var lost []string
	for _, n := range pop.Networks {
		if !have[n.ID] || !have[n.Name] {
			lost = append(lost, n.Name)
		}
	}
	slices.Sort(lost)
	return lost, nil
}
