package engine

import "github.com/relapse-dev/relapse/harness/runtime"

// Pairing is what a daemon runs under besides itself: the containerd a
// dockerd starts and manages, and the runc both daemons start containers
// with. An empty field means the machine's binary on PATH (Debian
// bookworm: containerd 1.6.20, runc 1.1.5).
type Pairing struct {
	Containerd string
	Runc       string
}

// Companions is the pairing a dockerd release runs with when its cell
// names none: the containerd its own release shipped with, and a runc of
// that release that runs on this machine. A dockerd measured with a
// containerd it never shipped with would blame it for the other's bugs.
//
//   - 20.10.5: Debian bullseye's containerd 1.4.13 (its package and shim,
//     bullseye-security's 1.4.13~ds1-1~deb11u6) and the machine's runc
//     1.1.5 (bullseye's 1.0.0~rc93 is older than any runc relapse builds).
//   - 20.10.24 and other 20.10.x: the machine's containerd 1.6.20 and runc
//     1.1.5, bookworm's own pairing for 20.10.24.
//   - 26.1.5: Debian trixie's containerd 1.7.24 (its package and shim) and
//     runc 1.1.15, trixie's version built from the module proxy (trixie's
//     own binary needs GLIBC 2.38).
//   - 28.5.2: Debian forky's containerd 2.1.9 and runc 1.3.6 (forky's
//     version; its binary needs GLIBC 2.38 too).
//   - 29.x: the CONTAINERD_VERSION and RUNC_VERSION of the release's
//     Dockerfile, built from the module proxy. Docker 29 containers do not
//     start on runc 1.1.5 ("namespace time does not exist").
//
// An unknown dockerd version runs with the machine's binaries.
func Companions(kind runtime.Kind, version string) Pairing {
	if kind != runtime.Dockerd {
		return Pairing{}
	}
	for _, r := range []struct {
		dockerd string
		Pairing
	}{
		{"20.10.5", Pairing{Containerd: "1.4.13"}},
		{"26.1.5", Pairing{Containerd: "1.7.24", Runc: "1.1.15"}},
		{"28.5.2", Pairing{Containerd: "2.1.9", Runc: "1.3.6"}},
		{"29.5.2", Pairing{Containerd: "2.2.3", Runc: "1.3.5"}},
		{"29.6.0", Pairing{Containerd: "2.2.4", Runc: "1.3.6"}},
		{"29.8.0", Pairing{Containerd: "2.3.4", Runc: "1.5.1"}},
		{"29.8.1", Pairing{Containerd: "2.3.5", Runc: "1.5.1"}},
	} {
		if r.dockerd == version {
			return r.Pairing
		}
	}
	return Pairing{}
}

// pairingOf is the pairing of a runtime build: what its cell names, else
// its companions.
func pairingOf(c Cell) Pairing {
	p := Companions(c.Runtime, c.Version)
	if c.Containerd != "" {
		p.Containerd = c.Containerd
	}
	if c.Runc != "" {
		p.Runc = c.Runc
	}
	return p
}
