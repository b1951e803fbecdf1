package runtime

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// A variant's ContainerdConfig reaches the rendered config.toml as TOML
// trees merged over relapse's template, so a containerd setting relapse has
// never heard of needs no change here. The merge must not undo what makes
// the sandbox private (its paths, sockets and runc state, which Close relies
// on to leave nothing behind), so the keys that carry those are refused
// rather than silently overridden: a variant that needs them is wrong about
// what a sandbox is.

// wildcard in a protected path matches any single key.
const wildcard = "*"

// protectedPaths lists the config keys an overlay may not set for a config
// version: everything privatizeContainerdConfig rewrites in a user's file,
// plus the version and imports, which would change what the rest means.
func protectedPaths(t criTables) [][]string {
	paths := [][]string{
		{"version"}, {"imports"},
		{"root"}, {"state"}, {"temp"},
		{"grpc", "address"}, {"grpc", "tcp_address"},
		{"ttrpc", "address"},
		{"debug", "address"},
		{"metrics", "address"},
		{"plugins", wildcard, "root_path"},
		append(slices.Clone(t.opt), "path"),
		append(slices.Clone(t.runtime), "containerd", "runtimes", wildcard, "options", "Root"),
	}
	for _, k := range []string{"bin_dir", "bin_dirs", "conf_dir"} {
		paths = append(paths, append(slices.Clone(t.runtime), "cni", k))
	}
	if t.nri != nil {
		paths = append(paths, append(slices.Clone(t.nri), "socket_path"))
	}
	return paths
}

// normalizeTree deep-copies an overlay into the shape toml.Unmarshal gives
// (map[string]any tables, int64, []any), so that merging compares like with
// like and never aliases the caller's maps. what names the overlay in errors.
func normalizeTree(tree map[string]any, what string) (map[string]any, error) {
	if err := refuseNil(tree, nil, what); err != nil {
		return nil, err
	}
	data, err := toml.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("%s is not a TOML tree: %w", what, err)
	}
	out := map[string]any{}
	if err := toml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s does not read back as TOML: %w", what, err)
	}
	return out, nil
}

// refuseNil reports a nil value: TOML has none, and the encoder would drop
// the key without a word.
func refuseNil(v any, path []string, what string) error {
	switch x := v.(type) {
	case nil:
		return fmt.Errorf("%s key %s is nil: TOML has no null; remove the key to keep containerd's default", what, dottedKey(path))
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if err := refuseNil(x[k], append(slices.Clip(path), k), what); err != nil {
				return err
			}
		}
	}
	return nil
}

// leaves lists the key paths of every non-table value in tree (an empty
// table is a leaf too: it is what the overlay sets there), sorted.
func leaves(tree map[string]any, prefix []string) [][]string {
	var out [][]string
	for _, k := range slices.Sorted(maps.Keys(tree)) {
		path := append(slices.Clip(prefix), k)
		if sub, ok := tree[k].(map[string]any); ok && len(sub) > 0 {
			out = append(out, leaves(sub, path)...)
			continue
		}
		out = append(out, path)
	}
	return out
}

// checkProtected refuses a leaf at a protected path, or a non-table value at
// a prefix of one (it would replace the whole table holding it).
func checkProtected(tree map[string]any, base []string, protected [][]string, what string) error {
	for _, rel := range leaves(tree, nil) {
		full := append(slices.Clip(base), rel...)
		v, _ := lookup(tree, rel...)
		_, isTable := v.(map[string]any)
		for _, p := range protected {
			if pathMatches(p, full) || (!isTable && len(full) < len(p) && pathMatches(p[:len(full)], full)) {
				return fmt.Errorf("%s key %s would set %s, which keeps the sandbox private (relapse sets it below the sandbox root); remove it from the variant",
					what, dottedKey(rel), dottedKey(p))
			}
		}
	}
	return nil
}

// pathMatches says whether path is pattern, wildcards matching any key.
func pathMatches(pattern, path []string) bool {
	if len(pattern) != len(path) {
		return false
	}
	for i, p := range pattern {
		if p != wildcard && p != path[i] {
			return false
		}
	}
	return true
}

// mergeTree deep-merges src into dst: tables merge key by key, anything
// else replaces what dst holds.
func mergeTree(dst, src map[string]any) {
	for k, v := range src {
		if s, ok := v.(map[string]any); ok {
			if d, ok := dst[k].(map[string]any); ok {
				mergeTree(d, s)
				continue
			}
		}
		dst[k] = v
	}
}

// applyContainerdConfig merges a variant's overlays into a parsed config of
// the given version: CRI into the CRI runtime table, Overlay into the root.
// Every runc runtime the overlays add gets its state below the sandbox root;
// any other runtime type is refused, since relapse only knows where runc
// keeps state and could not clean up after another.
func applyContainerdConfig(cfg map[string]any, version int64, l containerdLayout, c ContainerdConfig) error {
	t, err := criTablesFor(version)
	if err != nil {
		return err
	}
	protected := protectedPaths(t)
	cri, err := normalizeTree(c.CRI, "CRI overlay")
	if err != nil {
		return err
	}
	overlay, err := normalizeTree(c.Overlay, "overlay")
	if err != nil {
		return err
	}
	if err := checkProtected(cri, t.runtime, protected, "CRI overlay"); err != nil {
		return err
	}
	if err := checkProtected(overlay, nil, protected, "overlay"); err != nil {
		return err
	}
	mergeTree(table(cfg, t.runtime...), cri)
	mergeTree(cfg, overlay)

	runtimes, ok := lookup(cfg, append(t.runtime, "containerd", "runtimes")...)
	if !ok {
		return nil
	}
	rts, ok := runtimes.(map[string]any)
	if !ok {
		return fmt.Errorf("%s is not a table", dottedKey(append(t.runtime, "containerd", "runtimes")))
	}
	for _, name := range slices.Sorted(maps.Keys(rts)) {
		rt, ok := rts[name].(map[string]any)
		if !ok {
			return fmt.Errorf("CRI runtime %q is not a table", name)
		}
		if typ, _ := rt["runtime_type"].(string); typ != "" && !strings.Contains(typ, "runc") {
			return fmt.Errorf("CRI runtime %q has runtime_type %q: relapse keeps only runc's state below the sandbox root, so it cannot clean up after this one", name, typ)
		}
		table(rt, "options")["Root"] = l.runcRoot(name)
	}
	return nil
}

// containerdKnobs reads back, from a parsed config, every key c sets: CRI
// keys by their path inside the CRI runtime table (e.g.
// "max_container_log_line_size"), Overlay keys by their full dotted path
// (e.g. `plugins."io.containerd.internal.v1.tracing".sampling_ratio`). A key
// the config does not hold (a user's file that leaves it to containerd's
// default) is absent. Integers come back as int.
func containerdKnobs(cfg map[string]any, version int64, c ContainerdConfig) (map[string]any, error) {
	t, err := criTablesFor(version)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	read := func(tree map[string]any, base []string) {
		for _, rel := range leaves(tree, nil) {
			if v, ok := lookup(cfg, append(slices.Clip(base), rel...)...); ok {
				out[dottedKey(rel)] = plainValue(v)
			}
		}
	}
	cri, err := normalizeTree(c.CRI, "CRI overlay")
	if err != nil {
		return nil, err
	}
	overlay, err := normalizeTree(c.Overlay, "overlay")
	if err != nil {
		return nil, err
	}
	read(cri, t.runtime)
	read(overlay, nil)
	return out, nil
}

// plainValue turns TOML's int64 into int, the type variants write their
// knobs in, so a report compares equal to the variant's own value.
func plainValue(v any) any {
	if n, ok := v.(int64); ok && int64(int(n)) == n {
		return int(n)
	}
	return v
}

// dottedKey writes a key path as a TOML dotted key, quoting the keys that
// need it (plugin ids contain dots).
func dottedKey(path []string) string {
	parts := make([]string, len(path))
	for i, k := range path {
		if isBareKey(k) {
			parts[i] = k
		} else {
			parts[i] = tomlString(k)
		}
	}
	return strings.Join(parts, ".")
}

// isBareKey says whether k is a TOML bare key: A-Za-z0-9_- only.
func isBareKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
