package api

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseForwardedFor(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []string
		ok     bool
	}{
		{"one", []string{"for=192.0.2.60"}, []string{"192.0.2.60"}, true},
		{"RFC 7239 example", []string{`for=192.0.2.60;proto=http;by=203.0.113.43`}, []string{"192.0.2.60"}, true},
		{"list", []string{`for=192.0.2.43, for=198.51.100.17`}, []string{"192.0.2.43", "198.51.100.17"}, true},
		{"two fields", []string{"for=192.0.2.43", "for=198.51.100.17"}, []string{"192.0.2.43", "198.51.100.17"}, true},
		{"quoted IPv6 with port", []string{`For="[2001:db8:cafe::17]:4711"`}, []string{"[2001:db8:cafe::17]:4711"}, true},
		{"case-insensitive name", []string{`FOR=192.0.2.1;Proto=https`}, []string{"192.0.2.1"}, true},
		{"comma inside quotes", []string{`for="_a,b", for=192.0.2.1`}, []string{"_a,b", "192.0.2.1"}, true},
		{"escaped quote", []string{`for="x\"y", for=192.0.2.1`}, []string{`x"y`, "192.0.2.1"}, true},
		{"element without for", []string{`proto=https, for=192.0.2.1`}, []string{"", "192.0.2.1"}, true},
		{"empty elements", []string{`, for=192.0.2.1,,`}, []string{"192.0.2.1"}, true},
		{"spaces", []string{" for=192.0.2.1 ; proto=http ,for=192.0.2.2 "}, []string{"192.0.2.1", "192.0.2.2"}, true},
		{"unknown and obfuscated", []string{"for=unknown, for=_hidden"}, []string{"unknown", "_hidden"}, true},
		{"open quote", []string{`for="192.0.2.1, for=192.0.2.2`}, nil, false},
		{"backslash at end", []string{`for="x\`}, nil, false},
		{"no value", []string{"for="}, nil, false},
		{"no equals", []string{"for"}, nil, false},
		{"bad token", []string{"for=192.0.2.1 x"}, nil, false},
		{"for twice", []string{"for=192.0.2.1;for=192.0.2.2"}, nil, false},
		{"unquoted IPv6", []string{"for=[2001:db8::1]"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseForwardedFor(tt.values)
			if ok != tt.ok || !slices.Equal(got, tt.want) {
				t.Errorf("parseForwardedFor(%q) = %q, %v; want %q, %v", tt.values, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseNode(t *testing.T) {
	tests := []struct {
		node, want string // want "" means not an address
	}{
		{"192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:8080", "192.0.2.1"},
		{"192.0.2.1:_port", "192.0.2.1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"[192.0.2.1]", ""},
		{"[2001:db8::1", ""},
		{"[2001:db8::1]:4711", "2001:db8::1"},
		{"2001:db8::1", "2001:db8::1"},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"[192.0.2.1]:80", ""},
		{"unknown", ""},
		{"_hidden", ""},
		{"fe80::1%eth0", ""},
		{"[fe80::1%eth0]:80", ""},
		{"192.0.2.1:", ""},
		{"example.com", ""},
		{"", ""},
	}
	for _, tt := range tests {
		a, ok := parseNode(tt.node)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tt.want {
			t.Errorf("parseNode(%q) = %q, want %q", tt.node, got, tt.want)
		}
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.7 ,fd00::/8,::ffff:198.51.100.1,192.0.2.130/25")
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "fd00::/8", "198.51.100.1/32", "192.0.2.128/25"}
	var gotS []string
	for _, p := range got {
		gotS = append(gotS, p.String())
	}
	if err != nil || !slices.Equal(gotS, want) {
		t.Fatalf("got %q, %v; want %q", gotS, err, want)
	}
	if got, err := ParseTrustedProxies(""); err != nil || len(got) != 0 {
		t.Errorf("empty: %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "localhost", "10.0.0.1,x", "fe80::1%eth0"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestTrustedProxies_ClientAddr(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 2001:db8:ffff::/48")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer, forwarded, xff, want string
	}{
		{"untrusted peer", "192.0.2.9:1234", "for=203.0.113.1", "203.0.113.2", "192.0.2.9"},
		{"trusted peer, no headers", "10.0.0.1:1234", "", "", "10.0.0.1"},
		{"X-Forwarded-For", "10.0.0.1:1234", "", "203.0.113.2", "203.0.113.2"},
		{"X-Forwarded-For, several fields", "10.0.0.1:1234", "", "198.51.100.9, 203.0.113.2", "203.0.113.2"},
		{"chain of trusted proxies", "10.0.0.1:1234", "", "203.0.113.2, 10.1.1.1, 10.2.2.2", "203.0.113.2"},
		{"spoofed entry left of the client", "10.0.0.1:1234", "", "10.9.9.9, 198.51.100.1, 203.0.113.2", "203.0.113.2"},
		{"all trusted: the left-most", "10.0.0.1:1234", "", "10.3.3.3, 10.2.2.2", "10.3.3.3"},
		{"X-Forwarded-For garbage: the proxy", "10.0.0.1:1234", "", "198.51.100.1, not-an-ip", "10.0.0.1"},
		{"Forwarded", "10.0.0.1:1234", "for=203.0.113.3;proto=https", "", "203.0.113.3"},
		{"Forwarded IPv6", "10.0.0.1:1234", `for="[2001:db8:cafe::17]:4711"`, "", "2001:db8:cafe::17"},
		{"Forwarded unknown stops the walk", "10.0.0.1:1234", "for=198.51.100.1, for=unknown", "", "10.0.0.1"},
		{"Forwarded obfuscated behind a trusted hop", "10.0.0.1:1234", `for=198.51.100.1, for=_gw, for="10.4.4.4:80"`, "", "10.4.4.4"},
		{"Forwarded malformed: the proxy", "10.0.0.1:1234", `for="198.51.100.1`, "", "10.0.0.1"},
		{"both agree", "10.0.0.1:1234", "for=203.0.113.4", "203.0.113.4", "203.0.113.4"},
		{"both disagree: the proxy", "10.0.0.1:1234", "for=203.0.113.4", "203.0.113.5", "10.0.0.1"},
		{"IPv6 trusted peer", "[2001:db8:ffff::1]:443", "", "2001:db8::42", "2001:db8::42"},
		{"IPv4-mapped trusted peer", "[::ffff:10.0.0.1]:443", "", "203.0.113.6", "203.0.113.6"},
		{"IPv4-mapped client", "10.0.0.1:1234", "", "::ffff:203.0.113.7", "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.peer, Header: http.Header{}}
			if tt.forwarded != "" {
				r.Header.Set("Forwarded", tt.forwarded)
			}
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := trusted.ClientAddr(r).String(); got != tt.want {
				t.Errorf("ClientAddr = %s, want %s", got, tt.want)
			}
		})
	}
	if got := (TrustedProxies(nil)).ClientAddr(&http.Request{RemoteAddr: "10.0.0.1:1", Header: http.Header{"X-Forwarded-For": {"203.0.113.1"}}}); got.String() != "10.0.0.1" {
		t.Errorf("no trusted proxies: %s", got)
	}
}

// FuzzTrustedProxies_ClientAddr checks, for any header a client can send
// through a trusted proxy that appends the client's real address, that the
// address found is that real one (or, for a Forwarded header the client
// left malformed, the proxy): no prefix lets a client pass for another.
func FuzzTrustedProxies_ClientAddr(f *testing.F) {
	for _, seed := range []string{"", "1.2.3.4", `for="[::1]:80"`, `for="`, "for=unknown", "10.0.0.9, 10.0.0.8", "x;y=z", `\`} {
		f.Add(seed)
	}
	trusted, err := ParseTrustedProxies("10.0.0.0/8")
	if err != nil {
		f.Fatal(err)
	}
	proxy, real := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("203.0.113.50")
	f.Fuzz(func(t *testing.T, prefix string) {
		parseForwardedFor([]string{prefix}) // never panics
		parseNode(prefix)
		r := &http.Request{RemoteAddr: "10.0.0.1:1234", Header: http.Header{}}
		r.Header.Set("X-Forwarded-For", prefix+", "+real.String())
		if got := trusted.ClientAddr(r); got != real {
			t.Errorf("X-Forwarded-For %q: %s, want %s", r.Header.Get("X-Forwarded-For"), got, real)
		}
		r.Header.Del("X-Forwarded-For")
		if strings.ContainsAny(prefix, "\r\n") {
			return // not a header value a client can send
		}
		r.Header.Set("Forwarded", prefix+", for="+real.String())
		if got := trusted.ClientAddr(r); got != real && got != proxy {
			t.Errorf("Forwarded %q: %s, want %s or the proxy", r.Header.Get("Forwarded"), got, real)
		}
	})
}

// BenchmarkTrustedProxies_ClientAddr measures finding the client address
// of a request: from an untrusted peer (the headers are not read), and
// from a trusted one through two hops of each header.
func BenchmarkTrustedProxies_ClientAddr(b *testing.B) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.0/24")
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range []struct {
		name, peer, header, value string
	}{
		{"untrusted peer", "198.51.100.1:1234", "X-Forwarded-For", "203.0.113.1, 10.1.1.1"},
		{"X-Forwarded-For", "10.0.0.1:1234", "X-Forwarded-For", "203.0.113.1, 10.1.1.1"},
		{"Forwarded", "10.0.0.1:1234", "Forwarded", `for="[2001:db8::1]:4711";proto=https, for=10.1.1.1`},
	} {
		r := &http.Request{RemoteAddr: bb.peer, Header: http.Header{bb.header: {bb.value}}}
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !trusted.ClientAddr(r).IsValid() {
					b.Fatal("no address")
				}
			}
		})
	}
}
