package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/callplane/callplane/internal/httpx"
	"github.com/callplane/callplane/internal/ids"
)

// maxFormBytes bounds a token request's form.
const maxFormBytes = 64 << 10

// Routes registers the Entra-shaped endpoints on mux: the OAuth2 v2.0 token
// endpoint, the OpenID configuration (at Entra's v2.0 path and, for MSAL's
// OIDC protocol mode, without v2.0/) and the key set, under /{tenant}/.
// baseURL is the base URL callplane advertises for a request: it names the
// endpoints and the issuer, and never comes from the request's Host header.
func (s *TokenService) Routes(mux *http.ServeMux, baseURL func(*http.Request) string) {
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		s.handleToken(w, r, baseURL(r))
	})
	openID := func(w http.ResponseWriter, r *http.Request) {
		tenant := r.PathValue("tenant")
		if !s.knownTenant(tenant) {
			WriteOAuthError(w, http.StatusBadRequest, "invalid_tenant", 90002,
				fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID.", tenant))
			return
		}
		base := strings.TrimSuffix(baseURL(r), "/")
		tid := s.reg.TenantID()
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":         s.Issuer(base),
			"token_endpoint": base + "/" + tid + "/oauth2/v2.0/token",
			// Not served (only client credentials are), but MSAL refuses a
			// configuration without it.
			"authorization_endpoint":                           base + "/" + tid + "/oauth2/v2.0/authorize",
			"jwks_uri":                                         base + "/" + tid + "/discovery/v2.0/keys",
			"token_endpoint_auth_methods_supported":            []string{"client_secret_post", "client_secret_basic", "private_key_jwt"},
			"token_endpoint_auth_signing_alg_values_supported": []string{"RS256", "PS256"},
			"grant_types_supported":                            []string{"client_credentials"},
			"response_types_supported":                         []string{"token"},
			"subject_types_supported":                          []string{"pairwise"},
			"id_token_signing_alg_values_supported":            []string{"RS256"},
			"scopes_supported":                                 []string{GraphScope},
			"claims_supported":                                 []string{"aud", "iss", "iat", "nbf", "exp", "tid", "appid", "azp", "oid", "sub", "roles", "scp", "idtyp"},
			"tenant_region_scope":                              "NA",
		})
	}
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", openID)
	mux.HandleFunc("GET /{tenant}/.well-known/openid-configuration", openID)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, JWKSet{Keys: []JWK{s.key.JWK()}})
	})
}

// Unrouted answers what no identity route takes with an OAuth2 error body:
// 405, with Allow, for a known path and another method; else 404.
func Unrouted(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if allowed := httpx.AllowedMethods(mux, r); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			WriteOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", 0,
				fmt.Sprintf("The HTTP method '%s' is not allowed for %s: use %s.", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
			return
		}
		WriteOAuthError(w, http.StatusNotFound, "invalid_request", 0,
			fmt.Sprintf("No endpoint at %s. The identity endpoints are /{tenant}/oauth2/v2.0/token, /{tenant}/v2.0/.well-known/openid-configuration and /{tenant}/discovery/v2.0/keys.", r.URL.Path))
	}
}

// knownTenant accepts the tenant id in any case.
func (s *TokenService) knownTenant(t string) bool {
	return strings.EqualFold(t, s.reg.TenantID())
}

// handleToken is the client-credentials grant: an application trades its
// client id and a secret, or a client assertion signed with one of its
// certificates, for an access token to Graph.
func (s *TokenService) handleToken(w http.ResponseWriter, r *http.Request, baseURL string) {
	if !s.knownTenant(r.PathValue("tenant")) {
		WriteOAuthError(w, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID.", r.PathValue("tenant")))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			WriteOAuthError(w, http.StatusRequestEntityTooLarge, "invalid_request", 0, fmt.Sprintf("The request body is larger than %d bytes.", maxFormBytes))
			return
		}
		WriteOAuthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		WriteOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s': this service supports client_credentials.", gt))
		return
	}
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	assertion := r.PostForm.Get("client_assertion")
	if clientID == "" && assertion != "" {
		clientID = assertionSubject(assertion) // client_id is optional with an assertion
	}
	if clientID == "" {
		WriteOAuthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	if s.fail != nil {
		if f, ok := s.fail(clientID); ok {
			if f.Latency > 0 {
				t := time.NewTimer(f.Latency)
				select {
				case <-t.C:
				case <-r.Context().Done():
					t.Stop()
					return
				}
			}
			if f.Status != 0 {
				if f.RetryAfter > 0 {
					w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
				}
				// What Entra answers when it is overloaded or down.
				WriteOAuthError(w, f.Status, "temporarily_unavailable", 90033,
					"A transient error has occurred. Please try again. (callplane fault rule "+f.Rule+")")
				return
			}
		}
	}
	app, ok := s.reg.Application(clientID)
	if !ok {
		WriteOAuthError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, s.reg.TenantID()))
		return
	}
	now := s.now()
	switch {
	case secret != "":
		switch err := app.CheckSecret(secret, now); {
		case errors.Is(err, ErrSecretExpired):
			WriteOAuthError(w, http.StatusUnauthorized, "invalid_client", 7000222,
				fmt.Sprintf("The provided client secret keys for app '%s' are expired. Create a new client secret for the app.", clientID))
			return
		case err != nil:
			WriteOAuthError(w, http.StatusUnauthorized, "invalid_client", 7000215,
				fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
			return
		}
	case assertion != "":
		if t := r.PostForm.Get("client_assertion_type"); t != ClientAssertionType {
			WriteOAuthError(w, http.StatusBadRequest, "invalid_request", 700025,
				fmt.Sprintf("client_assertion_type must be %s, not '%s'.", ClientAssertionType, t))
			return
		}
		if err := s.checkAssertion(app, assertion, now); err != nil {
			var refused *assertionError
			errors.As(err, &refused)
			WriteOAuthError(w, http.StatusUnauthorized, "invalid_client", refused.aadsts, refused.msg)
			return
		}
	default:
		WriteOAuthError(w, http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	scope := r.PostForm.Get("scope")
	if strings.TrimSpace(scope) == "" {
		WriteOAuthError(w, http.StatusBadRequest, "invalid_request", 90014, "The request body must contain the following parameter: 'scope'.")
		return
	}
	if !graphDefaultScope(scope) {
		WriteOAuthError(w, http.StatusBadRequest, "invalid_scope", 1002012,
			fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI): this service issues %s.", scope, GraphScope))
		return
	}
	token, expires, err := s.appTokenFor(app, baseURL)
	if err != nil {
		WriteOAuthError(w, http.StatusInternalServerError, "server_error", 50000, "The token could not be signed.")
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

// assertionSubject reads the sub claim of an unverified assertion: which
// application it claims to be, so that its keys can be found.
func assertionSubject(assertion string) string {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(assertion, &c); err != nil {
		return ""
	}
	return c.Subject
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

// WriteOAuthError writes an OAuth2 error response with Entra's extra fields
// (AADSTS code, timestamp, trace and correlation ids), which MSAL reads.
// An aadsts of 0 is an error Entra has no code for.
func WriteOAuthError(w http.ResponseWriter, status int, code string, aadsts int, description string) {
	now := time.Now().UTC()
	traceID := ids.New()
	body := map[string]any{
		"error":          code,
		"timestamp":      now.Format("2006-01-02 15:04:05Z"),
		"trace_id":       traceID,
		"correlation_id": ids.New(),
	}
	prefix := ""
	if aadsts != 0 {
		prefix = fmt.Sprintf("AADSTS%d: ", aadsts)
		body["error_codes"] = []int{aadsts}
	}
	body["error_description"] = fmt.Sprintf("%s%s Trace ID: %s Timestamp: %s", prefix, description, traceID, now.Format("2006-01-02 15:04:05Z"))
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
