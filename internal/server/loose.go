package server

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// sameOrigin guards loose mode, where a request without a token acts as
// the dev application, against the web pages a developer has open: a page
// can POST to callplane on loopback (a text/plain body needs no preflight),
// or reach it under a name of its own that it rebinds to 127.0.0.1. So a
// request must not come from another origin, and must name callplane by a
// loopback name or address, its listen address, or its public URL's host.
func (s *Server) sameOrigin(r *http.Request) error {
	if origin := r.Header.Get("Origin"); origin != "" && !s.ownOrigin(origin) {
		return errors.New("loose mode refuses requests from web pages of other origins (Origin: " + origin + ")")
	}
	if !s.ownHost(r.Host) {
		return errors.New("loose mode refuses requests for host " + r.Host + ": use a loopback address or callplane's own name")
	}
	return nil
}

func (s *Server) ownOrigin(origin string) bool {
	for _, base := range []string{s.httpURL, s.tlsURL, s.listenURL, s.tlsListenURL} {
		if base != "" && strings.EqualFold(origin, base) {
			return true
		}
	}
	return false
}

func (s *Server) ownHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Unmap().IsLoopback() {
		return true
	}
	for _, raw := range []string{s.cfg.Listen, s.cfg.TLSListen} {
		if h, _, err := net.SplitHostPort(raw); err == nil && h != "" && strings.EqualFold(h, host) {
			return true
		}
	}
	if u, err := url.Parse(s.cfg.PublicURL); err == nil && u.Hostname() != "" && strings.EqualFold(u.Hostname(), host) {
		return true
	}
	return false
}
