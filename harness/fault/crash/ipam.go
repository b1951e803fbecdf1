package crash

import (
	"net/netip"

	"github.com/moby/moby/api/types/network"
)

// ipam gives network i the subnet 10.200.i.0/24. Fixed subnets keep
// dockerd's pool allocator (and so local-kv.db's IPAM records) the same
// from run to run, and 10.200/16 stays clear of docker's default pools.
func ipam(i int) *network.IPAM {
	subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(i), 0}), 24)
	return &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet}}}
}
