package auth

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ClientAssertionType is the client_assertion_type of a certificate
// credential's assertion (RFC 7523).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionError is a refused client assertion: the AADSTS code Entra
// answers it with, and why.
type assertionError struct {
	aadsts int
	msg    string
}

func (e *assertionError) Error() string { return e.msg }

// assertionLeeway is the clock skew allowed on an assertion's times.
const assertionLeeway = 5 * time.Minute

// checkAssertion verifies a client assertion for app, as Entra does: an
// RS256 or PS256 JWT signed with the key of one of the application's
// certificates (named by its x5t or x5t#S256 header, in base64url or, as
// MSAL for Go writes it, standard base64), issued and subjected to the client
// id, for a token endpoint of the tenant, in its lifetime. A reused jti is
// accepted: MSAL reuses its assertions until they expire, and Entra takes
// them.
func (s *TokenService) checkAssertion(app Application, assertion string, now time.Time) error {
	var claims struct {
		jwt.RegisteredClaims
		Audience audience `json:"aud"`
	}
	var used *CertificateCredential
	_, err := jwt.ParseWithClaims(assertion, &claims, func(t *jwt.Token) (any, error) {
		c, err := certificateFor(app, t.Header)
		if err != nil {
			return nil, err
		}
		used = c
		cert, err := c.certificate()
		if err != nil {
			return nil, err
		}
		key, _ := publicKeyOf(cert)
		return key, nil
	},
		jwt.WithValidMethods([]string{"RS256", "PS256"}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(assertionLeeway),
		jwt.WithExpirationRequired(),
	)
	var refused *assertionError
	switch {
	case errors.As(err, &refused):
		return refused
	case errors.Is(err, jwt.ErrTokenMalformed):
		return &assertionError{50027, "Invalid JWT token: the client assertion is not a JWS compact serialization."}
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet):
		return &assertionError{700024, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s.", now.UTC().Format(time.RFC3339))}
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return &assertionError{700027, "Client assertion contains an invalid signature."}
	case err != nil:
		return &assertionError{700027, "Client assertion failed signature validation: " + err.Error()}
	}
	if used != nil && (now.Before(used.NotBefore) || now.After(used.NotAfter)) {
		return &assertionError{700027, fmt.Sprintf("Client assertion contains an invalid signature. [Reason - The key used is expired. Thumbprint of key used by client: '%s', Found key 'Start=%s, End=%s']",
			used.Thumbprint, used.NotBefore.Format(time.RFC3339), used.NotAfter.Format(time.RFC3339))}
	}
	if claims.Issuer != app.ClientID || claims.Subject != app.ClientID {
		return &assertionError{700021, "Client assertion application identifier doesn't match 'client_id' parameter: iss and sub must be the client id."}
	}
	for _, aud := range claims.Audience {
		if s.isTokenEndpoint(aud) {
			return nil
		}
	}
	return &assertionError{700023, "Client assertion audience claim does not match Realm issuer: aud must be the token endpoint, …/" + s.reg.TenantID() + "/oauth2/v2.0/token."}
}

// isTokenEndpoint accepts the tenant's token endpoint on any host, as the
// issuer rule accepts any host: the client names the URL it posts to.
func (s *TokenService) isTokenEndpoint(aud string) bool {
	u, err := url.Parse(aud)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	return strings.EqualFold(strings.TrimSuffix(u.Path, "/"), "/"+s.reg.TenantID()+"/oauth2/v2.0/token")
}

// certificateFor finds the certificate an assertion's header names. An
// assertion without a thumbprint is tried against the application's only
// certificate.
func certificateFor(app Application, header map[string]any) (*CertificateCredential, error) {
	if len(app.Certificates) == 0 {
		return nil, &assertionError{700027, fmt.Sprintf("Client assertion contains an invalid signature. [Reason - The key was not found. No certificate credentials are configured for app Id '%s'.]", app.ClientID)}
	}
	sha1Print, _ := header["x5t"].(string)
	sha256Print, _ := header["x5t#S256"].(string)
	for i, c := range app.Certificates {
		switch {
		case sha256Print != "" && thumbprintIs(sha256Print, c.ThumbprintSHA256),
			sha1Print != "" && thumbprintIs(sha1Print, c.Thumbprint),
			sha1Print == "" && sha256Print == "" && len(app.Certificates) == 1:
			return &app.Certificates[i], nil
		}
	}
	named := sha256Print
	if named == "" {
		named = sha1Print
	}
	return nil, &assertionError{700027, fmt.Sprintf("Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '%s'. Please visit the application's credentials to verify the configured keys for app Id '%s'.]", named, app.ClientID)}
}

// thumbprintIs compares a header's base64 thumbprint with a stored hex one.
func thumbprintIs(encoded, hexPrint string) bool {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if raw, err := enc.DecodeString(encoded); err == nil {
			return strings.EqualFold(fmt.Sprintf("%x", raw), hexPrint)
		}
	}
	return false
}

// publicKeyOf is a certificate's RSA key.
func publicKeyOf(cert *x509.Certificate) (*rsa.PublicKey, bool) {
	k, ok := cert.PublicKey.(*rsa.PublicKey)
	return k, ok
}

// Thumbprints returns the x5t and x5t#S256 header values of a certificate:
// for clients (and tests) that sign assertions.
func Thumbprints(cert *x509.Certificate) (x5t, x5tS256 string) {
	a := sha1.Sum(cert.Raw)
	b := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(a[:]), base64.RawURLEncoding.EncodeToString(b[:])
}
