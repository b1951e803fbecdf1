package bisect

import (
	"context"
	"path/filepath"

	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/results"
)

// EngineRunner runs a plan's item on each candidate's build through the
// engine, into the engine's one results directory: item is the variant as
// NewPlan selected it, and as names the item on a build (its cell, which
// becomes the results directory <variant>@<cell> and picks the binary).
func EngineRunner(eng *engine.Engine, as func(it engine.Item, candidate, build string) engine.Item, item engine.Item) Runner {
	return func(ctx context.Context, candidate, build string) (results.Result, string, error) {
		it := as(item, candidate, build)
		ctx, cancel := context.WithTimeout(ctx, it.Timeout())
		defer cancel()
		res, err := eng.Run(ctx, it)
		return res, filepath.Join(eng.Dir(), it.Incident.ID, results.VariantDirName(it.Variant.Name, it.Cell)), err
	}
}
