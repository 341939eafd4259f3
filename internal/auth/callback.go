package auth

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultCallbackIssuer is the iss claim of the real service's callback
// tokens.
const DefaultCallbackIssuer = "https://api.botframework.com"

// Callback token timing: tokens live an hour, like the real service's, and
// are reused until ten minutes before they expire, so signing (about a
// millisecond of RSA) is paid once per bot per tenant, not per notification.
const (
	callbackTokenLifetime = time.Hour
	callbackTokenReuse    = 50 * time.Minute
)

// CallbackSigner issues the bearer tokens callplane puts on every
// notification it POSTs, so a bot can check that a notification really came
// from callplane: RS256, aud = the bot's application id, tid = the tenant.
type CallbackSigner struct {
	key    *Key
	issuer string
	now    func() time.Time

	mu    sync.Mutex
	cache map[[2]string]cachedToken
}

type cachedToken struct {
	token    string
	issuedAt time.Time
}

// NewCallbackSigner signs with key under issuer.
func NewCallbackSigner(key *Key, issuer string) *CallbackSigner {
	return &CallbackSigner{key: key, issuer: issuer, now: time.Now, cache: make(map[[2]string]cachedToken)}
}

// Token returns a valid callback token for the application in the tenant.
func (s *CallbackSigner) Token(appID, tenantID string) (string, error) {
	now := s.now()
	k := [2]string{appID, tenantID}
	s.mu.Lock()
	c, ok := s.cache[k]
	s.mu.Unlock()
	if ok && now.Sub(c.issuedAt) < callbackTokenReuse {
		return c.token, nil
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, callbackClaims{
		registeredClaims: registeredClaims{
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer:    s.issuer,
				IssuedAt:  jwt.NewNumericDate(now),
				NotBefore: jwt.NewNumericDate(now),
				ExpiresAt: jwt.NewNumericDate(now.Add(callbackTokenLifetime)),
			},
			Audience: audience{appID},
		},
		TenantID: tenantID,
	})
	t.Header["kid"] = s.key.ID
	signed, err := t.SignedString(s.key.Private)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.cache[k] = cachedToken{token: signed, issuedAt: now}
	s.mu.Unlock()
	return signed, nil
}

type callbackClaims struct {
	registeredClaims
	TenantID string `json:"tid"`
}

// Routes publishes the callback tokens' OpenID configuration at the path the
// real service uses, /v1/.well-known/OpenIdConfiguration, with its key set at
// /v1/keys: a bot validates callplane's tokens as it validates the real
// service's, with only the host of the metadata URL changed.
func (s *CallbackSigner) Routes(mux *http.ServeMux, baseURL func(*http.Request) string) {
	mux.HandleFunc("GET /v1/.well-known/OpenIdConfiguration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                s.issuer,
			"jwks_uri":                              strings.TrimSuffix(baseURL(r), "/") + "/v1/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		})
	})
	mux.HandleFunc("GET /v1/keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, JWKSet{Keys: []JWK{s.key.JWK()}})
	})
}
