// Package crash turns a healthy dockerd sandbox into the state a power loss
// leaves behind and watches it come back: Populate fills it with
// user-defined networks and running and stopped containers (so its stores
// hold real records), PowerLoss SIGKILLs dockerd and its containerd and
// damages a file under the data-root while nothing holds it (Bolt,
// BoltOnContainer), StartBoot starts it again in the background, and
// NetworksLost tells what a restart silently dropped. LocalKV and MetaDB
// name the stores that matter.
//
// Daemons that create networks must not touch the host's networking:
// NetNS runs a dockerd (and so its containerd, shims and bridges) in a
// private network namespace that disappears with its last process.
package crash
