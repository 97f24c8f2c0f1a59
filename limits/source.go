package limits

import (
	"math"
	"net/netip"
	"strconv"
	"time"
)

// MaxTrackedSources bounds the source addresses whose budgets one limiter
// holds (NewBounded): every per-address budget of the server uses it.
const MaxTrackedSources = 100_000

// CeilSeconds returns d in whole seconds, rounded up.
func CeilSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// RetryAfter returns the Retry-After value for a refusal that lifts in d:
// whole seconds rounded up, at least 1, so that a client that waits that
// long is allowed.
func RetryAfter(d time.Duration) string { return strconv.Itoa(max(1, CeilSeconds(d))) }

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
