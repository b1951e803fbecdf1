// Package powerloss is the shared machinery of the power-loss incidents: a
// dockerd is populated with networks and containers in a private network
// namespace, loses power (dockerd and its containerd SIGKILLed, a store
// under its data-root damaged while nothing holds it), and is started again
// while watchdogs follow its memory and its API at 50 ms.
//
// A Case is one such variant's configuration and implements incident.Case;
// its Start returns an attempt that owns everything one run makes (the
// namespace, the population, the watchdogs, the restart's outcome), so two
// runs never share state. The attempt's probes add, next to the watchdogs'
// peaks and API wait, three gauges set once the restart has ended:
//
//	dockerd_boot_s          how long the restart took to come up or fail
//	dockerd_exit_code       how a failed restart ended (137: SIGKILL)
//	dockerd_networks_lost   user networks a restart that came up dropped
//
// What a variant expects of them, its budgets, is the incident's business,
// not this package's.
package powerloss
