// Package auth is callplane's identity: the dev tenant and its app
// registrations, the Entra-shaped OAuth2 token endpoint and OpenID metadata
// that issue and publish Graph access tokens, their validation on every Graph
// request, and the tokens callplane signs its own callbacks with.
package auth

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// GraphAudience is the resource a Graph access token is issued for. Graph
// also accepts its application id as the audience.
const (
	GraphAudience   = "https://graph.microsoft.com"
	GraphResourceID = "00000003-0000-0000-c000-000000000000"
	// GraphScope is the only scope the client-credentials flow grants here.
	GraphScope = GraphAudience + "/.default"
)

// TokenLifetime is how long issued access tokens are valid; Entra's default.
const TokenLifetime = time.Hour

// accessClaims are the claims of a Graph access token, as Entra issues them.
type accessClaims struct {
	registeredClaims
	TenantID string   `json:"tid"`
	AppID    string   `json:"appid,omitempty"`
	AZP      string   `json:"azp,omitempty"`
	OID      string   `json:"oid,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	Scope    string   `json:"scp,omitempty"`
	IDType   string   `json:"idtyp,omitempty"`
	UPN      string   `json:"upn,omitempty"`
	Version  string   `json:"ver,omitempty"`
}

// TokenFailure is a failure asked of the token endpoint: answer Status
// (with Retry-After seconds) after waiting Latency; a zero Status answers
// normally, late.
type TokenFailure struct {
	Status, RetryAfter int
	Latency            time.Duration
	// Rule names what asked for it, for the error's description.
	Rule string
}

// SetFailures has fail decide, for each token request, whether to fail
// it. Set it before serving.
func (s *TokenService) SetFailures(fail func(appID string) (TokenFailure, bool)) { s.fail = fail }

// Issuer returns the issuer of tokens for tenant, given the base URL that
// serves its OpenID metadata: Entra's v2.0 form.
func Issuer(baseURL, tenantID string) string {
	return strings.TrimSuffix(baseURL, "/") + "/" + tenantID + "/v2.0"
}

// TokenService issues and validates Graph access tokens for one registry.
//
// A token is accepted for what it is, not for where it was obtained: signed
// with the service's key, for Graph, for the tenant, of a registered
// application, in its lifetime. Its issuer names the URL it was obtained
// through (OpenID clients compare it with the metadata they fetched) and
// must have Entra's form for the tenant, on any host: a token obtained on
// one port stays valid when callplane restarts on another, or is reached
// through a proxy.
type TokenService struct {
	reg Registry
	key *Key
	// defaultBase names the issuer of tokens issued without a request
	// (callplane token, tests): the server's advertised base URL.
	defaultBase string
	now         func() time.Time
	// fail, when set, is asked about each token request: a test may want
	// the endpoint to fail or be slow (SetFailures).
	fail func(appID string) (TokenFailure, bool)

	// verified caches the outcome of signature checks: a bot sends the same
	// token on every request for an hour, and RSA verification is the
	// dearest part of a request.
	mu       sync.Mutex
	verified map[string]*Principal
}

// NewTokenService issues tokens for the registry's tenant with key; tokens
// issued without a request carry the issuer of defaultBase.
func NewTokenService(reg Registry, key *Key, defaultBase string) *TokenService {
	return &TokenService{
		reg:         reg,
		key:         key,
		defaultBase: defaultBase,
		now:         time.Now,
		verified:    make(map[string]*Principal),
	}
}

// Issuer is the iss claim of tokens obtained through baseURL.
func (s *TokenService) Issuer(baseURL string) string {
	return Issuer(baseURL, s.reg.TenantID())
}

// Key is the key the service signs with.
func (s *TokenService) Key() *Key { return s.key }

// AppToken issues an application (client-credentials) token for app.
func (s *TokenService) AppToken(app Application) (string, time.Time, error) {
	return s.appTokenFor(app, s.defaultBase)
}

// appTokenFor issues an application token under the issuer of baseURL.
func (s *TokenService) appTokenFor(app Application, baseURL string) (string, time.Time, error) {
	c := s.appClaims(app, s.now(), TokenLifetime)
	c.Issuer = s.Issuer(baseURL)
	return s.sign(c)
}

// DelegatedToken issues a token for user signed in to app: scopes instead of
// roles. Graph's calls API refuses such tokens; they exist so bots can test
// that.
func (s *TokenService) DelegatedToken(app Application, user User) (string, time.Time, error) {
	now := s.now()
	return s.sign(s.baseClaims(app, now, TokenLifetime, func(c *accessClaims) {
		c.Subject = user.ObjectID
		c.OID = user.ObjectID
		c.UPN = user.UserPrincipalName
		c.Scope = "Calls.Initiate.All Calls.AccessMedia.All User.Read"
		c.IDType = "user"
	}))
}

// SignedAt issues an application token whose lifetime starts at issuedAt and
// lasts lifetime: expired or not-yet-valid tokens, for tests.
func (s *TokenService) SignedAt(app Application, issuedAt time.Time, lifetime time.Duration) (string, error) {
	tok, _, err := s.sign(s.appClaims(app, issuedAt, lifetime))
	return tok, err
}

// appClaims are an application token's: the service principal as subject,
// and the application permissions as roles.
func (s *TokenService) appClaims(app Application, now time.Time, lifetime time.Duration) *accessClaims {
	return s.baseClaims(app, now, lifetime, func(c *accessClaims) {
		c.Subject = app.ObjectID
		c.OID = app.ObjectID
		c.Roles = app.Roles
		c.IDType = "app"
	})
}

func (s *TokenService) baseClaims(app Application, now time.Time, lifetime time.Duration, set func(*accessClaims)) *accessClaims {
	c := &accessClaims{
		registeredClaims: registeredClaims{
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer:    s.Issuer(s.defaultBase),
				IssuedAt:  jwt.NewNumericDate(now),
				NotBefore: jwt.NewNumericDate(now),
				ExpiresAt: jwt.NewNumericDate(now.Add(lifetime)),
			},
			Audience: audience{GraphAudience},
		},
		TenantID: s.reg.TenantID(),
		AppID:    app.ClientID,
		AZP:      app.ClientID,
		Version:  "2.0",
	}
	set(c)
	return c
}

func (s *TokenService) sign(c *accessClaims) (string, time.Time, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = s.key.ID
	signed, err := t.SignedString(s.key.Private)
	return signed, c.ExpiresAt.Time, err
}

// Principal is who a valid token speaks for.
type Principal struct {
	TenantID string
	AppID    string
	Roles    []string
	// Delegated is set for a user's token (scopes, no roles).
	Delegated bool
	UserID    string
	expires   time.Time
}

// TokenError says why a bearer token was refused; its message is fit to show
// the caller.
type TokenError struct{ Reason string }

func (e *TokenError) Error() string { return e.Reason }

// ErrNoToken is a request without a bearer token.
var ErrNoToken = &TokenError{Reason: "Access token is empty."}

// Verify checks a bearer token's signature, lifetime, audience, issuer and
// tenant, and that its application is still registered, and returns the
// principal it speaks for, with the application's current roles: a changed
// or removed registration takes effect on tokens already issued.
func (s *TokenService) Verify(token string) (*Principal, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	now := s.now()
	s.mu.Lock()
	p, ok := s.verified[token]
	s.mu.Unlock()
	if !ok {
		var err error
		if p, err = s.verify(token, now); err != nil {
			return nil, err
		}
		s.mu.Lock()
		if len(s.verified) > 10000 {
			clear(s.verified) // bounded: a flood of distinct tokens only costs re-verification
		}
		s.verified[token] = p
		s.mu.Unlock()
	}
	if !now.Before(p.expires) {
		return nil, &TokenError{Reason: "Access token has expired or is not yet valid."}
	}
	roles, registered := s.reg.Registered(p.AppID)
	if !registered {
		return nil, &TokenError{Reason: fmt.Sprintf("Invalid application: %s is not registered in the tenant (it may have been removed).", p.AppID)}
	}
	current := *p
	if !current.Delegated {
		current.Roles = roles
	}
	return &current, nil
}

// validIssuer accepts Entra's v2.0 issuer form for the tenant on any http or
// https host: {scheme}://{host}/{tenant}/v2.0.
func (s *TokenService) validIssuer(iss string) bool {
	u, err := url.Parse(iss)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return false
	}
	return strings.EqualFold(u.Path, "/"+s.reg.TenantID()+"/v2.0")
}

func (s *TokenService) verify(token string, now time.Time) (*Principal, error) {
	var c accessClaims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != s.key.ID {
			return nil, errors.New("unknown signing key")
		}
		return s.key.Public(), nil
	},
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
		jwt.WithAudience(GraphAudience, GraphResourceID),
	)
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, &TokenError{Reason: "Access token is malformed: it is not a JWS compact serialization."}
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet):
		return nil, &TokenError{Reason: "Access token has expired or is not yet valid."}
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return nil, &TokenError{Reason: "Access token signature is invalid."}
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return nil, &TokenError{Reason: "Invalid audience: the token was not issued for Microsoft Graph."}
	default:
		return nil, &TokenError{Reason: "Access token validation failure: " + err.Error()}
	}
	if !s.validIssuer(c.Issuer) {
		return nil, &TokenError{Reason: fmt.Sprintf("Invalid issuer: this service issues tokens as <its URL>/%s/v2.0.", s.reg.TenantID())}
	}
	if c.TenantID != s.reg.TenantID() {
		return nil, &TokenError{Reason: "Invalid tenant: the token was issued for another tenant."}
	}
	p := &Principal{
		TenantID:  c.TenantID,
		AppID:     c.AppID,
		Delegated: c.Scope != "" && len(c.Roles) == 0,
		expires:   c.ExpiresAt.Time,
	}
	if p.Delegated {
		p.UserID = c.OID
	}
	if p.AppID == "" {
		p.AppID = c.AZP
	}
	if p.AppID == "" {
		return nil, &TokenError{Reason: "Access token names no application (appid)."}
	}
	return p, nil
}
