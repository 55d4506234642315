package notify

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Reach decides which addresses webhook deliveries may connect to. A webhook URL is chosen by
// an admin, but its deliveries come from inside the service's network: without a bound, a URL
// naming the cloud's metadata service (169.254.169.254), the embedded store's loopback port or
// a host on the private network would make the service a proxy into places its callers cannot
// reach (server-side request forgery). So only public unicast addresses are reached, plus the
// networks an operator lists (a relay on the same host or the private network).
//
// The address is checked twice: when the webhook is registered (a literal address, or what the
// name resolves to then) and on every connection, after resolution (a name that resolves to a
// public address at registration may resolve to a private one later: DNS rebinding). Redirects
// are never followed (the client answers the 3xx as a failed delivery), so a public receiver
// cannot bounce a delivery inward.
type Reach struct {
	// Allow lists networks that are reached although they are not public.
	Allow []netip.Prefix
}

// Loopback is the networks of this host, which development allows by default.
var Loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// UnreachableError names an address deliveries may not connect to.
type UnreachableError struct{ Addr string }

func (e *UnreachableError) Error() string { return e.Addr + " is not a public address" }

// nonPublic are the special-purpose networks that are not the public internet beyond those the
// netip predicates name (loopback, private, link-local, multicast, unspecified).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT, often the cloud's internal network
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: embeds any IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds any IPv4 address
	netip.MustParsePrefix("2001::/32"),       // Teredo
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
}

// CheckAddr returns nil when deliveries may connect to ip.
func (r Reach) CheckAddr(ip netip.Addr) error {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	for _, p := range r.Allow {
		if p.Contains(ip) {
			return nil
		}
	}
	public := ip.IsValid() && ip.IsGlobalUnicast() && !ip.IsPrivate()
	for _, p := range nonPublic {
		if p.Contains(ip) {
			public = false
		}
	}
	if !public {
		return &UnreachableError{ip.String()}
	}
	return nil
}

// CheckHost checks a URL's host: a literal address, or every address the name resolves to now.
// A name that does not resolve passes (it may exist later, where the service runs); the check
// at connection time decides then.
func (r Reach) CheckHost(ctx context.Context, host string) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		return r.CheckAddr(ip)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if err := r.CheckAddr(a); err != nil {
			return fmt.Errorf("%s resolves to %w", host, err)
		}
	}
	return nil
}

// control refuses a connection to an address outside the reach; it runs after resolution,
// once per address tried.
func (r Reach) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &UnreachableError{address}
	}
	return r.CheckAddr(ap.Addr())
}

// MaxResponseBody is how much of a receiver's answer is read: it means nothing beyond its
// status, and a receiver must not make the service read without end.
const MaxResponseBody = 64 << 10

// Client returns the HTTP client of deliveries: connections only within the reach, no
// redirects followed, no proxy from the environment (it would connect on the service's behalf
// to any address), and a bound on the time to the answer's headers.
func (r Reach) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: r.control}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConns:          16,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
