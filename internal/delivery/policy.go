package delivery

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// Policy says which callback URLs callplane may POST to. The zero Policy
// allows any http or https URL, loopback and private addresses included:
// that is where a developer's bot lives.
type Policy struct {
	// HTTPSOnly refuses http callbacks.
	HTTPSOnly bool
	// Hosts and Networks, when either is set, are the only destinations
	// allowed: a host name must be listed; an IP address must be listed or
	// fall in a listed network.
	Hosts    []string
	Networks []netip.Prefix
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

// PolicyError is a callback URL the policy refuses.
type PolicyError struct{ Msg string }

func (e *PolicyError) Error() string { return e.Msg }

// Check returns a *PolicyError if callplane may not POST to raw. It does
// not check what the domain already requires of any callback URI.
func (p Policy) Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return &PolicyError{Msg: fmt.Sprintf("callback URL %q does not parse", raw)}
	}
	if p.HTTPSOnly && u.Scheme != "https" {
		return &PolicyError{Msg: fmt.Sprintf("callback URL %q: this callplane only delivers to https URLs", raw)}
	}
	if len(p.Hosts) == 0 && len(p.Networks) == 0 {
		return nil
	}
	host := strings.ToLower(u.Hostname())
	if addr, err := netip.ParseAddr(host); err == nil {
		for _, n := range p.Networks {
			if n.Contains(addr.Unmap()) {
				return nil
			}
		}
	} else {
		for _, h := range p.Hosts {
			if h == host {
				return nil
			}
		}
	}
	return &PolicyError{Msg: fmt.Sprintf("callback host %q is not on this callplane's allow list", host)}
}
