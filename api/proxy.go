package api

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the addresses of the reverse proxies whose
// X-Forwarded-For and Forwarded (RFC 7239) headers are believed. Empty
// trusts none: the headers are then the client's word, not a fact.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies parses a comma-separated list of CIDR prefixes and
// bare IP addresses ("10.0.0.0/8, 192.0.2.7, fd00::/8"); "" is none.
// Returns an error naming the first entry that is neither.
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	var t TrustedProxies
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if p, err := netip.ParsePrefix(entry); err == nil {
			t = append(t, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(entry)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", entry)
		}
		a = a.Unmap()
		t = append(t, netip.PrefixFrom(a, a.BitLen()))
	}
	return t, nil
}

// Contains reports whether a is one of the trusted proxies.
func (t TrustedProxies) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address of the client that sent r: the direct
// peer, or, when the peer is a trusted proxy, the address that the
// forwarding headers name. It walks the hops from the right, the proxies
// nearest to this server first, and takes the first address that is not
// itself a trusted proxy, so that a client cannot pass for another by
// prepending entries. An "unknown" or obfuscated hop ends the walk at the
// proxy that wrote it, since no trusted proxy vouches for what lies to its
// left. The peer stands when the headers are malformed, or when both
// X-Forwarded-For and Forwarded are present and name different clients (a
// proxy that sets one passes the other from the client untouched).
func (t TrustedProxies) ClientAddr(r *http.Request) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	client := peer.Addr().Unmap()
	if len(t) == 0 || !t.Contains(client) {
		return client
	}
	var found []netip.Addr
	if values := r.Header.Values("Forwarded"); len(values) > 0 {
		hops, ok := parseForwardedFor(values)
		if !ok {
			return client
		}
		found = append(found, t.walk(client, hops))
	}
	if values := r.Header.Values("X-Forwarded-For"); len(values) > 0 {
		found = append(found, t.walk(client, parseXForwardedFor(values)))
	}
	switch {
	case len(found) == 0:
		return client
	case len(found) == 2 && found[0] != found[1]:
		return client
	}
	return found[0]
}

// walk returns the client of hops (left to right, as the headers list
// them) reached through peer, a trusted proxy.
func (t TrustedProxies) walk(peer netip.Addr, hops []string) netip.Addr {
	client := peer
	for i := len(hops) - 1; i >= 0 && t.Contains(client); i-- {
		a, ok := parseNode(hops[i])
		if !ok {
			break
		}
		client = a
	}
	return client
}

// TrustProxies wraps h, the outermost handler of the API listener, so that
// r.RemoteAddr is the client's address as ClientAddr finds it (the port is
// 0 when it came from a header). Everything that needs the client's
// address reads it from there (auth.ClientIP): the audit log, the
// per-address budgets, the request log and the address a cluster follower
// forwards to its leader. With no trusted proxies h is returned as it is.
func TrustProxies(h http.Handler, t TrustedProxies) http.Handler {
	if len(t) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if client := t.ClientAddr(r); err == nil && client.IsValid() && client != peer.Addr().Unmap() {
			r2 := *r
			r2.RemoteAddr = netip.AddrPortFrom(client, 0).String()
			r = &r2
		}
		h.ServeHTTP(w, r)
	})
}

// parseXForwardedFor returns the entries of X-Forwarded-For header values,
// left to right. An entry is not checked here: parseNode refuses what is
// not an address when the walk reaches it.
func parseXForwardedFor(values []string) []string {
	var hops []string
	for _, v := range values {
		for _, entry := range strings.Split(v, ",") {
			if entry = strings.TrimSpace(entry); entry != "" {
				hops = append(hops, entry)
			}
		}
	}
	return hops
}

// parseForwardedFor returns the for= node of every element of Forwarded
// header values (RFC 7239 section 4), left to right, quotes removed; "" for
// an element without one. ok is false when the values do not follow the
// grammar: a quote left open could swallow the entries a proxy appended, so
// nothing of a malformed header is believed.
func parseForwardedFor(values []string) (hops []string, ok bool) {
	s := strings.Join(values, ",")
	i := 0
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	token := func() string {
		start := i
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		return s[start:i]
	}
	for i <= len(s) {
		node, pairs := "", 0
		hasFor := false
		for {
			skipSpace()
			if i == len(s) || s[i] == ',' {
				break
			}
			if s[i] == ';' {
				i++
				continue
			}
			name := token()
			if name == "" || i == len(s) || s[i] != '=' {
				return nil, false
			}
			i++
			var value string
			if i < len(s) && s[i] == '"' {
				var b strings.Builder
				for i++; ; i++ {
					if i == len(s) {
						return nil, false
					}
					c := s[i]
					if c == '"' {
						i++
						break
					}
					if c == '\\' {
						if i++; i == len(s) {
							return nil, false
						}
						c = s[i]
					}
					b.WriteByte(c)
				}
				value = b.String()
			} else if value = token(); value == "" {
				return nil, false
			}
			pairs++
			if strings.EqualFold(name, "for") {
				if hasFor {
					return nil, false // RFC 7239 section 4: a parameter at most once per element
				}
				node, hasFor = value, true
			}
			skipSpace()
			if i < len(s) && s[i] != ';' && s[i] != ',' {
				return nil, false
			}
		}
		if pairs > 0 {
			hops = append(hops, node)
		}
		i++ // past the comma, or past the end
	}
	return hops, true
}

// isTokenChar reports whether c may appear in an HTTP token (RFC 9110
// section 5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// parseNode returns the IP address of a forwarded node: "192.0.2.1",
// "192.0.2.1:8080", "[2001:db8::1]", "[2001:db8::1]:8080" or a bare
// "2001:db8::1" (X-Forwarded-For). "unknown", an obfuscated identifier
// ("_hidden"), an address with a zone and anything else are not addresses.
func parseNode(node string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(node); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if inner, ok := strings.CutPrefix(node, "["); ok && strings.HasSuffix(inner, "]") {
		a, err := netip.ParseAddr(strings.TrimSuffix(inner, "]"))
		if err != nil || a.Zone() != "" || !a.Is6() {
			return netip.Addr{}, false
		}
		return a.Unmap(), true
	}
	host, port, err := net.SplitHostPort(node)
	if err != nil || port == "" {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" || a.Is6() != strings.HasPrefix(node, "[") {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
