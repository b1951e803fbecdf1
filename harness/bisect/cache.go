package bisect

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
)

// Cache keeps finished steps of one variant, one JSON file per candidate,
// under a directory named for the incident, the variant and a fingerprint
// of its budgets: a change of budgets judges every build again, while a
// second bisection over the same range reuses every verdict. A nil Cache
// keeps nothing.
type Cache struct {
	dir string
}

// NewCache is the step cache of an incident's variant with these budgets
// under root (e.g. $RELAPSE_CACHE/bisect).
func NewCache(root, incident, variant string, budgets []curve.Budget) (*Cache, error) {
	b, err := json.Marshal(budgets)
	if err != nil {
		return nil, fmt.Errorf("bisect cache: fingerprint of %s/%s's budgets: %w", incident, variant, err)
	}
	sum := sha256.Sum256(b)
	return &Cache{dir: filepath.Join(root, incident, variant+"-"+hex.EncodeToString(sum[:6]))}, nil
}

// Dir is where the steps are kept.
func (c *Cache) Dir() string { return c.dir }

func (c *Cache) path(candidate string) string {
	return filepath.Join(c.dir, strings.NewReplacer("/", "_", "..", "_").Replace(candidate)+".json")
}

// Load returns the cached step of a candidate whose run results still
// exist (a cleaned results directory means judging again, so every step
// keeps a link to its evidence).
func (c *Cache) Load(candidate string) (Step, bool) {
	if c == nil {
		return Step{}, false
	}
	b, err := os.ReadFile(c.path(candidate))
	if err != nil {
		return Step{}, false
	}
	var s Step
	if json.Unmarshal(b, &s) != nil || s.Candidate != candidate || s.Skip != "" {
		return Step{}, false
	}
	if _, err := os.Stat(filepath.Join(s.Result, results.ResultFile)); err != nil {
		return Step{}, false
	}
	return s, true
}

// Store keeps a finished step.
func (c *Cache) Store(s Step) error {
	if c == nil {
		return nil
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("bisect cache: %w", err)
	}
	s.Cached = false
	if err := results.WriteJSON(c.path(s.Candidate), s); err != nil {
		return fmt.Errorf("bisect cache: %w", err)
	}
	return nil
}
