// Package httpx holds the small pieces of HTTP handling that callplane's
// surfaces (the Graph API, the identity endpoints, the admin API) share:
// reading bearer tokens, reading bounded JSON bodies, telling which methods a
// path allows, and where a request came from. It knows nothing of Graph's,
// OAuth2's or callplane's error bodies: each surface writes its own.
package httpx

import (
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
)

// BearerToken returns the token of an "Authorization: Bearer" header; the
// scheme is case-insensitive, as RFC 7235 has it. present reports whether
// the request carried an Authorization header at all: a header with another
// scheme is present with an empty token.
func BearerToken(r *http.Request) (token string, present bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(rest), true
}

// IsJSON reports whether a Content-Type names JSON: application/json, or any
// application/*+json type, with any parameters.
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// Body failures a surface answers with its own error body.
var (
	// ErrTooLarge is a body over the limit: 413.
	ErrTooLarge = errors.New("the request body is too large")
	// ErrNotJSON is a non-empty body whose Content-Type is not JSON: 415.
	ErrNotJSON = errors.New("the request body must be JSON (Content-Type: application/json)")
	// ErrTimeout is a body that did not arrive in time: 408.
	ErrTimeout = errors.New("the request body did not arrive in time")
)

// ReadBody reads at most limit bytes of the body. It returns ErrTooLarge
// past the limit and ErrTimeout when the server's read deadline cut the
// body off; other errors are the connection's.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	return ReadLimited(http.MaxBytesReader(w, r.Body, limit), limit)
}

// ReadLimited reads rd (which may already be a decompressing reader) up to
// limit bytes, with ReadBody's errors.
func ReadLimited(rd io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(rd, limit+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || int64(len(data)) > limit:
		return nil, ErrTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, ErrTimeout
	case err != nil:
		return nil, err
	}
	return data, nil
}

// CheckJSON refuses a non-empty body that is not declared JSON; a request
// without a body needs no content type.
func CheckJSON(r *http.Request, body []byte) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if !IsJSON(r.Header.Get("Content-Type")) {
		return ErrNotJSON
	}
	return nil
}

// probeMethods are the methods AllowedMethods tries.
var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// AllowedMethods lists the methods mux has a route for at r's path, other
// than its catch-all: what a 405's Allow header names. None means the path is
// unknown (404).
func AllowedMethods(mux *http.ServeMux, r *http.Request) []string {
	return AllowedMethodsBesides(mux, r, "/")
}

// AllowedMethodsBesides is AllowedMethods, not counting the routes of
// pattern either: a wildcard route that takes every method, asking whether
// a more specific route takes r's path.
func AllowedMethodsBesides(mux *http.ServeMux, r *http.Request, pattern string) []string {
	var allowed []string
	for _, m := range probeMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := mux.Handler(probe); p != "" && p != "/" && p != pattern {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// ClientAddr is the IP address a request came from (the TCP peer: callplane
// does not trust forwarding headers).
func ClientAddr(r *http.Request) netip.Addr {
	return AddrOf(r.RemoteAddr)
}

// AddrOf parses the IP of a host:port address; the zero Addr if it has none.
func AddrOf(hostport string) netip.Addr {
	ap, err := netip.ParseAddrPort(hostport)
	if err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}
