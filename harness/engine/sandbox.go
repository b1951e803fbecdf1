package engine

import (
	"fmt"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// SandboxFactory makes the stopped runtime sandbox an item runs on.
type SandboxFactory func(it Item, logf func(string, ...any)) (runtime.Sandbox, error)

// RealSandboxes makes private containerd and dockerd instances from
// relapse's config template with the variant's overlays, or, for a
// regression item, from the user's file with the variant's overlays
// dropped (the user's configuration is what is judged). Every dockerd
// listens on dockerHost, the one address testcontainers-go resolves per
// process.
func RealSandboxes(dockerHost string) SandboxFactory {
	return func(it Item, logf func(string, ...any)) (runtime.Sandbox, error) {
		spec := it.Variant.Sandbox
		switch it.Runtime {
		case runtime.Containerd:
			opts := runtime.ContainerdOptions{Binary: spec.Binary, Version: spec.Version, Runc: it.Pairing.Runc, Config: spec.Containerd, MemoryLimit: spec.MemoryLimit, Logf: logf, ConfigFile: runtime.TemplateConfig}
			if it.UserConfig != "" {
				opts.Config, opts.ConfigFile = runtime.ContainerdConfig{}, it.UserConfig
			}
			return runtime.NewContainerd(opts)
		case runtime.Dockerd:
			opts := runtime.DockerdOptions{Binary: spec.Binary, Version: spec.Version, Containerd: it.Pairing.Containerd, Runc: it.Pairing.Runc, Config: spec.Dockerd, MemoryLimit: spec.MemoryLimit, Host: dockerHost, Logf: logf, ConfigFile: runtime.TemplateConfig}
			if it.UserConfig != "" {
				opts.Config, opts.ConfigFile = runtime.DockerdConfig{}, it.UserConfig
			}
			return runtime.NewDockerd(opts)
		}
		return nil, fmt.Errorf("unknown runtime %q (want containerd or dockerd)", it.Runtime)
	}
}
