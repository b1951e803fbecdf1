// Package load is the HTTP stimulus of relapse's request-driven incidents
// (e.g. php-tmpfile-dentry): it POSTs bodies of a chosen size to a workload
// on the loopback interface at a bounded rate, count and time, and counts
// each served request as one op so resource curves can be fitted per
// request.
//
// It refuses anything but loopback: the workloads run with host networking
// on the test machine, and a load generator must never be pointed elsewhere
// by a typo.
package load
