package boltcorrupt

import (
	"fmt"
	"slices"
	"strings"
)

// Defaults aim at dockerd's libnetwork store, network/files/local-kv.db:
// libkv's boltdb backend keeps every key in one top-level bucket named
// "libnetwork", keys built by libnetwork's datastore.Key as
// "docker/network/v1.0/<kind>/<ids...>/", and getEndpointsFromStore lists
// "docker/network/v1.0/endpoint/<network id>/" with a cursor at startup.
const (
	DefaultBucket = "libnetwork"
	DefaultPrefix = "docker/network/v1.0/endpoint/"
	DefaultSeed   = uint64(1)
)

// Options say where a corruption strikes. Every corruption takes the same
// options so that a scenario can aim any of them at the same data; the ones a
// corruption does not need are ignored by design and named in its
// description.
type Options struct {
	// Bucket is the path of nested bucket names from the top level, e.g.
	// ["libnetwork"] or containerd's ["v1"].
	Bucket []string
	// Prefix selects the keys (and so the leaf pages) to damage within the
	// bucket; "" means every key.
	Prefix string
	// Seed makes every random choice (which leaf, which bytes) repeatable.
	Seed uint64
}

// DefaultOptions aim at dockerd's local-kv.db endpoints with seed 1.
func DefaultOptions() Options {
	return Options{Bucket: []string{DefaultBucket}, Prefix: DefaultPrefix, Seed: DefaultSeed}
}

// Result says what Apply changed, for the scenario's log and diagnostics.
type Result struct {
	// Corruption is the name of the corruption applied.
	Corruption string
	// Path is the file changed.
	Path string
	// Pages are the ids of the pages written (for truncate: the first page
	// cut off).
	Pages []uint64
	// Detail tells in one line exactly what was done.
	Detail string
}

// String renders r in one line.
func (r Result) String() string {
	return fmt.Sprintf("%s on %s: %s", r.Corruption, r.Path, r.Detail)
}

// Corruption is one kind of damage to a bbolt file, with its options. It is
// a value: the With* methods return changed copies, so a scenario declares
// one in a line and nothing is shared.
type Corruption struct {
	name string
	desc string
	opts Options
	// usesBucket is false for corruptions of the file as a whole (metas,
	// freelist), which apply to any bbolt file whatever its buckets.
	usesBucket bool
	apply      func(t *target) (Result, error)
}

// Name is the corruption's key in the Registry, e.g. "cycle-loop".
func (c Corruption) Name() string { return c.name }

// Description says in one line what real-world damage the corruption models.
func (c Corruption) Description() string { return c.desc }

// Options returns the options Apply will use.
func (c Corruption) Options() Options {
	o := c.opts
	o.Bucket = slices.Clone(o.Bucket)
	return o
}

// WithBucket aims the corruption at the bucket at path (top-level name
// first).
func (c Corruption) WithBucket(path ...string) Corruption {
	c.opts.Bucket = slices.Clone(path)
	return c
}

// WithPrefix aims the corruption at the leaf pages holding keys with prefix.
func (c Corruption) WithPrefix(prefix string) Corruption {
	c.opts.Prefix = prefix
	return c
}

// WithSeed changes the seed of the corruption's random choices.
func (c Corruption) WithSeed(seed uint64) Corruption {
	c.opts.Seed = seed
	return c
}

// String names the corruption and its options, for logs.
func (c Corruption) String() string {
	return fmt.Sprintf("%s(bucket=%s prefix=%q seed=%d)", c.name, pathString(c.opts.Bucket), c.opts.Prefix, c.opts.Seed)
}

// Apply damages the bbolt file at path. The file must not be open by a
// running runtime (Apply takes bbolt's exclusive flock and fails when it is
// held). Apply is deterministic: the same file, options and seed give the
// same bytes. When the target cannot be found the error says what the file
// holds instead, and the file is left untouched.
func (c Corruption) Apply(path string) (Result, error) {
	if c.apply == nil {
		return Result{}, fmt.Errorf("corruption %q has no implementation: take one from Registry or ByName", c.name)
	}
	if c.usesBucket && len(c.opts.Bucket) == 0 {
		return Result{}, fmt.Errorf("corruption %s: no target bucket: set one with WithBucket (dockerd's is %q)", c.name, DefaultBucket)
	}
	f, fh, err := loadFile(path)
	if err != nil {
		return Result{}, fmt.Errorf("corruption %s: %w", c.name, err)
	}
	defer fh.Close()
	t, err := locate(f, c.Options(), c.usesBucket)
	if err != nil {
		return Result{}, fmt.Errorf("corruption %s: %w", c.name, err)
	}
	res, err := c.apply(t)
	if err != nil {
		return Result{}, fmt.Errorf("corruption %s: %w", c.name, err)
	}
	if err := f.flush(fh); err != nil {
		return Result{}, fmt.Errorf("corruption %s: %w", c.name, err)
	}
	if err := fh.Close(); err != nil {
		return Result{}, fmt.Errorf("corruption %s: close %s: %w", c.name, path, err)
	}
	res.Corruption, res.Path = c.name, path
	return res, nil
}

// pageList renders page ids for a Result's detail.
func pageList(ids []uint64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ",")
}
