package auth

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/ids"
)

// Routes registers the Entra-shaped endpoints on mux: the OAuth2 v2.0 token
// endpoint, the OpenID configuration and the key set, under /{tenant}/.
// baseURL derives the public base URL of a request.
func (s *TokenService) Routes(mux *http.ServeMux, baseURL func(*http.Request) string) {
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		s.handleToken(w, r, baseURL(r))
	})
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		tenant := r.PathValue("tenant")
		if !s.knownTenant(tenant) {
			writeOAuthError(w, http.StatusBadRequest, "invalid_tenant", 90002,
				fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID.", tenant))
			return
		}
		base := strings.TrimSuffix(baseURL(r), "/")
		tid := s.dir.TenantID()
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":         s.issuerFor(base),
			"token_endpoint": base + "/" + tid + "/oauth2/v2.0/token",
			// Not served (only client credentials are), but MSAL refuses a
			// configuration without it.
			"authorization_endpoint":                base + "/" + tid + "/oauth2/v2.0/authorize",
			"jwks_uri":                              base + "/" + tid + "/discovery/v2.0/keys",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
			"grant_types_supported":                 []string{"client_credentials"},
			"response_types_supported":              []string{"token"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"scopes_supported":                      []string{GraphScope},
			"claims_supported":                      []string{"aud", "iss", "iat", "nbf", "exp", "tid", "appid", "azp", "oid", "sub", "roles", "scp", "idtyp"},
			"tenant_region_scope":                   "NA",
		})
	})
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, JWKSet{Keys: []JWK{s.key.JWK()}})
	})
}

// knownTenant accepts the tenant id in any case.
func (s *TokenService) knownTenant(t string) bool {
	return strings.EqualFold(t, s.dir.TenantID())
}

// handleToken is the client-credentials grant: an application trades its
// client id and secret for an access token to Graph.
func (s *TokenService) handleToken(w http.ResponseWriter, r *http.Request, baseURL string) {
	if !s.knownTenant(r.PathValue("tenant")) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID.", r.PathValue("tenant")))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s': this service supports client_credentials.", gt))
		return
	}
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if clientID == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	app, ok := s.dir.Application(clientID)
	if !ok {
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, s.dir.TenantID()))
		return
	}
	if secret == "" {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", 7000215,
			fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
		return
	}
	scope := r.PostForm.Get("scope")
	if strings.TrimSpace(scope) == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", 90014, "The request body must contain the following parameter: 'scope'.")
		return
	}
	if !graphDefaultScope(scope) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope", 1002012,
			fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI): this service issues %s.", scope, GraphScope))
		return
	}
	token, expires, err := s.appTokenFor(app, baseURL)
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", 50000, "The token could not be signed.")
		return
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(time.Until(expires).Seconds()),
		"ext_expires_in": int(time.Until(expires).Seconds()),
		"access_token":   token,
	})
}

// graphDefaultScope reports whether a client-credentials scope asks for
// Graph's .default scope and nothing else. The OpenID scopes are ignored, as
// Entra ignores them: MSAL adds them to every request.
func graphDefaultScope(scope string) bool {
	var resources []string
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "offline_access", "profile":
		default:
			resources = append(resources, s)
		}
	}
	return len(resources) == 1 && (resources[0] == GraphScope || resources[0] == GraphResourceID+"/.default")
}

// writeOAuthError writes an OAuth2 error response with Entra's extra fields
// (AADSTS code, timestamp, trace and correlation ids), which MSAL reads.
func writeOAuthError(w http.ResponseWriter, status int, code string, aadsts int, description string) {
	now := time.Now().UTC()
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Timestamp: %s", aadsts, description, ids.New(), now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          ids.New(),
		"correlation_id":    ids.New(),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
