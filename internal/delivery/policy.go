package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/callplane/callplane/internal/call"
)

// Policy says which URLs callplane may POST to: callbacks, the redirects
// bots answer with, and calling webhooks. Every URL must be an absolute http
// or https URL with a host, a valid port and no user info. The zero Policy
// then allows any destination, loopback and private addresses included:
// that is where a developer's bot lives.
//
// The rules hold when a URL is accepted (Check), when a redirect is
// followed (Check again), and when a connection is made (DialContext), on
// the address the name resolved to then: a name that resolved into the
// allowed networks when the call was created and resolves elsewhere later
// (DNS rebinding) is refused at dial time.
type Policy struct {
	// HTTPSOnly refuses http URLs.
	HTTPSOnly bool
	// Hosts and Networks, when either is set, are the only destinations
	// allowed: a host name listed in Hosts is trusted to resolve where its
	// owner says; any other name must resolve only into Networks, and an IP
	// address must fall in Networks.
	Hosts    []string
	Networks []netip.Prefix
	// Resolver looks up names that are not listed; nil means the system's.
	Resolver Resolver
}

// Resolver resolves host names; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ParsePolicyList reads a comma-separated allow list of host names, IP
// addresses and CIDR networks into a policy that also requires https.
func ParsePolicyList(list string) (Policy, error) {
	p := Policy{HTTPSOnly: true}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
		case strings.Contains(item, "/"):
			prefix, err := netip.ParsePrefix(item)
			if err != nil {
				return Policy{}, fmt.Errorf("callback allow list: %w", err)
			}
			p.Networks = append(p.Networks, prefix.Masked())
		default:
			if addr, err := netip.ParseAddr(item); err == nil {
				p.Networks = append(p.Networks, netip.PrefixFrom(addr, addr.BitLen()))
			} else {
				p.Hosts = append(p.Hosts, strings.ToLower(item))
			}
		}
	}
	return p, nil
}

// PolicyError is a URL the policy refuses; retrying cannot help.
type PolicyError struct{ Msg string }

func (e *PolicyError) Error() string { return e.Msg }

func refused(format string, args ...any) error {
	return &PolicyError{Msg: fmt.Sprintf(format, args...)}
}

// restricted reports whether the policy limits destinations at all.
func (p Policy) restricted() bool { return len(p.Hosts) > 0 || len(p.Networks) > 0 }

// Check returns a *PolicyError if callplane may not POST to raw. A name that
// is not listed is resolved, and must resolve only into the allowed
// networks.
func (p Policy) Check(raw string) error {
	if err := call.CheckCallbackURL("the URL", raw); err != nil {
		return &PolicyError{Msg: err.Error()}
	}
	u, _ := url.Parse(raw) // CheckCallbackURL parsed it
	if p.HTTPSOnly && u.Scheme != "https" {
		return refused("callback URL %q: this callplane only delivers to https URLs", raw)
	}
	if !p.restricted() {
		return nil
	}
	host := strings.ToLower(u.Hostname())
	if p.listed(host) {
		return nil
	}
	addrs, err := p.resolve(context.Background(), host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if !p.inNetworks(a) {
			return refused("callback host %q (%s) is not on this callplane's allow list", host, a)
		}
	}
	return nil
}

func (p Policy) listed(host string) bool {
	for _, h := range p.Hosts {
		if h == host {
			return true
		}
	}
	return false
}

func (p Policy) inNetworks(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p.Networks {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// resolve returns the addresses of host: itself if it is an IP literal.
func (p Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil, refused("callback host %q does not resolve", host)
		}
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, refused("callback host %q does not resolve", host)
	}
	return addrs, nil
}

// DialContext wraps dial so that, under a restricting policy, it connects
// only to allowed addresses: a listed name as it resolves; any other name
// to the first of its current addresses in the allowed networks, and not at
// all if none is.
func (p Policy) DialContext(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if !p.restricted() {
		return dial
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		host = strings.ToLower(host)
		if p.listed(host) {
			return dial(ctx, network, addr)
		}
		addrs, err := p.resolve(ctx, host)
		if err != nil {
			return nil, err
		}
		var lastErr error
		for _, a := range addrs {
			if !p.inNetworks(a) {
				lastErr = refused("callback host %q now resolves to %s, which is not on this callplane's allow list", host, a)
				continue
			}
			c, err := dial(ctx, network, net.JoinHostPort(a.String(), port))
			if err == nil {
				return c, nil
			}
			lastErr = err
		}
		return nil, lastErr
	}
}
