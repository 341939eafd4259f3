package server

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// Ready is the --ready-file: what a test or a CI script needs to use a
// callplane it started, written once it accepts requests, so that nothing
// has to parse the banner.
type Ready struct {
	GraphURL                    string `json:"graphUrl"`
	HTTPSGraphURL               string `json:"httpsGraphUrl,omitempty"`
	BaseURL                     string `json:"baseUrl"`
	AdminURL                    string `json:"adminUrl"`
	TenantID                    string `json:"tenantId"`
	ClientID                    string `json:"clientId"`
	ClientSecret                string `json:"clientSecret,omitempty"`
	AdminSecret                 string `json:"adminSecret"`
	TokenEndpoint               string `json:"tokenEndpoint"`
	OpenIDConfiguration         string `json:"openidConfiguration"`
	CallbackOpenIDConfiguration string `json:"callbackOpenidConfiguration"`
	CAFile                      string `json:"caFile,omitempty"`
	PhoneNumber                 string `json:"phoneNumber,omitempty"`
	DataDir                     string `json:"dataDir"`
	PID                         int    `json:"pid"`
}

// Ready describes the running server.
func (s *Server) Ready() Ready {
	dir := s.identity.Directory
	app := dir.DefaultApplication()
	tenant := dir.TenantID()
	r := Ready{
		GraphURL:                    s.httpURL + "/v1.0",
		BaseURL:                     s.httpURL,
		AdminURL:                    s.httpURL + "/callplane",
		TenantID:                    tenant,
		ClientID:                    app.ClientID,
		ClientSecret:                app.Secret,
		AdminSecret:                 dir.AdminSecret(),
		TokenEndpoint:               s.httpURL + "/" + tenant + "/oauth2/v2.0/token",
		OpenIDConfiguration:         s.httpURL + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		CallbackOpenIDConfiguration: s.httpURL + "/v1/.well-known/OpenIdConfiguration",
		DataDir:                     absolute(s.cfg.DataDir),
		PID:                         os.Getpid(),
	}
	if s.tlsURL != "" {
		r.HTTPSGraphURL = s.tlsURL + "/v1.0"
	}
	if s.caPath != "" {
		r.CAFile = absolute(s.caPath)
	}
	if len(app.Instances) > 0 {
		r.PhoneNumber = app.Instances[0].PhoneNumber
	}
	return r
}

// writeReady writes the ready file whole or not at all: a reader polling
// for it never sees half of it.
func writeReady(path string, r Ready) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ready-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil { // it holds secrets
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func absolute(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
