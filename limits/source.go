package limits

import "net/netip"

// SourceKey returns the budget key of a client's IP address: the address
// itself for IPv4 (and IPv4-mapped IPv6), and its /64 prefix for IPv6, since
// one host usually holds a whole /64 and could otherwise pick a fresh
// address for every request. A string that is not an IP address is returned
// as it is.
func SourceKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a.Is4() {
		return ip // ParseAddr takes IPv4 only in its canonical form: no copy needed
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
