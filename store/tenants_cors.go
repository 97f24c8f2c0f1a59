package store

import (
	"context"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// MaxCORSOrigins bounds the browser origins one tenant (or the server's
// --cors-origins) may allow: a list that long is a configuration mistake,
// and every cross-origin request is checked against it.
const MaxCORSOrigins = 50

// maxOriginLen bounds one origin: a scheme, a DNS name (at most 253
// characters) and a port.
const maxOriginLen = 300

// NormalizeCORSOrigins checks a list of browser origins and returns it in
// the form a browser sends in its Origin header, so that an exact string
// comparison matches: scheme and host in lower case, the scheme's default
// port dropped, duplicates removed. An origin is http or https, a host and
// an optional port, nothing else: no path (a trailing "/" is tolerated), no
// query, no user information and no wildcard, since a pattern would let
// look-alike hosts in. field names the input in the error. Returns EINVALID.
func NormalizeCORSOrigins(field string, origins []string) ([]string, error) {
	if len(origins) > MaxCORSOrigins {
		return nil, fieldError(field, "must list at most %d origins", MaxCORSOrigins)
	}
	out := make([]string, 0, len(origins))
	seen := map[string]bool{}
	for i, o := range origins {
		norm, problem := normalizeOrigin(o)
		if problem != "" {
			return nil, fieldError(field, "%q (entry %d) %s; an origin is scheme://host[:port], e.g. https://admin.example.com",
				clip(o, 80), i+1, problem)
		}
		if !seen[norm] {
			seen[norm] = true
			out = append(out, norm)
		}
	}
	return out, nil
}

// normalizeOrigin returns s as a browser serializes it, or why it is not an
// origin.
func normalizeOrigin(s string) (origin, problem string) {
	if s == "" || len(s) > maxOriginLen {
		return "", "must be 1 to " + strconv.Itoa(maxOriginLen) + " characters"
	}
	if strings.Contains(s, "*") {
		return "", "has a wildcard, and origins are matched exactly"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", "is not a URL"
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", "must start with http:// or https://"
	case u.Opaque != "" || u.Host == "":
		return "", "has no host"
	case u.User != nil:
		return "", "must not hold user information"
	case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return "", "must not have a path, query or fragment"
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if net.ParseIP(host) == nil && !originHostRE.MatchString(host) {
		return "", "has no valid host (a DNS name in ASCII, punycode for others, or an IP address)"
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return "", "has an invalid port"
		}
		if scheme == "http" && n == 80 || scheme == "https" && n == 443 {
			port = "" // a browser leaves the default port out
		}
	}
	hostPort := host
	if port != "" {
		hostPort = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		hostPort = "[" + host + "]" // IPv6
	}
	return scheme + "://" + hostPort, ""
}

// originHostRE is a DNS name as a browser puts it in an origin.
var originHostRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$`)

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// TenantCORSOrigins returns the browser origins tenant allows (set through
// UpdateTenant), from a cache: a CORS preflight must cost no more than a
// map lookup. The cache is dropped for a tenant whenever its record changes,
// here or, in cluster mode, by an entry applied from the cluster, so every
// node answers with what the file holds. The slice is shared: do not modify
// it. Returns ENOTFOUND when tenant does not exist (not cached, so that
// unknown ids do not fill the cache).
func (db *DB) TenantCORSOrigins(ctx context.Context, tenant string) ([]string, error) {
	origins, ok, gen := db.cors.get(tenant)
	if ok {
		return origins, nil
	}
	var r *tenantRecord
	err := db.View(ctx, tenant, func(tx *Tx) error {
		var err error
		r, err = readTenantRecord(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	db.cors.put(tenant, r.CORSOrigins, gen)
	return r.CORSOrigins, nil
}

// corsCache holds each tenant's allowed origins as last read from the file.
type corsCache struct {
	mu sync.RWMutex
	// gen grows with every drop, so that a value read from the file before
	// a change but put after the change's drop is not kept.
	gen     uint64
	origins map[string][]string
}

// get returns tenant's cached origins, or the generation a read from the
// file must present to put.
func (c *corsCache) get(tenant string) ([]string, bool, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	o, ok := c.origins[tenant]
	return o, ok, c.gen
}

// put caches origins read at generation gen, unless a drop came since.
func (c *corsCache) put(tenant string, origins []string, gen uint64) {
	if origins == nil {
		origins = []string{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.origins == nil {
		c.origins = map[string][]string{}
	}
	c.origins[tenant] = origins
}

// drop forgets the origins of tenants; none means every tenant.
func (c *corsCache) drop(tenants ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if len(tenants) == 0 {
		clear(c.origins)
	}
	for _, t := range tenants {
		delete(c.origins, t)
	}
}
