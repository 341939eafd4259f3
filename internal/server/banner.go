package server

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Describe is the startup banner: where callplane is and how to use it.
func (s *Server) Describe() string {
	dir := s.identity.Directory
	app := dir.DefaultApplication()
	tenant := dir.TenantID()
	var b strings.Builder
	line := func(label, format string, args ...any) {
		if label != "" {
			label += ":"
		}
		fmt.Fprintf(&b, "  %-16s %s\n", label, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(&b, "callplane is listening\n")
	line("Graph base URL", "%s/v1.0", s.httpURL)
	if s.httpURL != s.listenURL {
		line("listening on", "%s", s.listenURL)
	}
	if s.tlsURL != "" {
		line("HTTPS base URL", "%s/v1.0", s.tlsURL)
		if s.tlsURL != s.tlsListenURL {
			line("HTTPS listening", "%s", s.tlsListenURL)
		}
		u, _ := url.Parse(s.tlsURL)
		line("MSAL authority", "%s/%s (knownAuthorities: [\"%s\"])", s.tlsURL, tenant, u.Host)
	}
	if s.caPath != "" {
		abs, err := filepath.Abs(s.caPath)
		if err != nil {
			abs = s.caPath
		}
		line("trust this CA", "%s", abs)
		line("", "Node: NODE_EXTRA_CA_CERTS=%s", abs)
		line("", "Go on Linux: SSL_CERT_FILE=%s (instead of the system's roots)", abs)
		line("", "curl: --cacert %s", abs)
	}
	line("tenant id", "%s", tenant)
	line("client id", "%s", app.ClientID)
	if app.Secret != "" {
		line("client secret", "%s", app.Secret)
	} else {
		line("client secret", "(removed; add one: callplane app secret add %s)", app.ClientID)
	}
	for _, in := range app.Instances {
		line("phone number", "%s (application instance %s)", in.PhoneNumber, in.ID)
	}
	if app.CallingWebhook != "" {
		line("calling webhook", "%s", app.CallingWebhook)
	}
	line("token endpoint", "%s/%s/oauth2/v2.0/token", s.httpURL, tenant)
	line("callback tokens", "%s/v1/.well-known/OpenIdConfiguration", s.httpURL)
	line("admin API", "%s/callplane/ (bearer %s)", s.httpURL, dir.AdminSecret())
	line("console", "%s/console (sign in with the admin secret)", s.httpURL)
	line("data directory", "%s", s.cfg.DataDir)
	if s.cfg.Loose {
		fmt.Fprintf(&b, "  LOOSE MODE: requests without a token act as the dev application\n")
	}
	return b.String()
}
