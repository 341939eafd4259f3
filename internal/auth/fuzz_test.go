package auth

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerifyToken feeds arbitrary strings to the bearer-token parser and to
// the client-assertion parser. Neither may panic; a bearer token is only
// ever accepted for the tenant and a registered application, and no
// assertion is accepted for an application without certificates.
func FuzzVerifyToken(f *testing.F) {
	dir := f.TempDir()
	d, _, err := LoadOrCreateDirectory(filepath.Join(dir, "directory.json"))
	if err != nil {
		f.Fatal(err)
	}
	key, err := LoadOrCreateKey(filepath.Join(dir, "key.pem"))
	if err != nil {
		f.Fatal(err)
	}
	s := NewTokenService(d, key, "http://127.0.0.1:8080")
	app := d.DefaultApplication()
	valid, _, err := s.AppToken(app)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": s.Issuer("http://h"), "appid": app.ClientID})
	unsigned, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	for _, seed := range []string{
		valid,
		parts[0] + "." + parts[1] + ".",
		unsigned,
		"eyJhbGciOiJSUzI1NiJ9.e30.",
		"a.b.c", "", "....", strings.Repeat("A", 5000),
		`eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U`,
	} {
		f.Add(seed)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, token string) {
		p, err := s.Verify(token)
		if err == nil {
			if p.TenantID != d.TenantID() {
				t.Fatalf("accepted a token of tenant %q", p.TenantID)
			}
			if _, ok := d.Registered(p.AppID); !ok {
				t.Fatalf("accepted a token of an unregistered application %q", p.AppID)
			}
		}
		if s.checkAssertion(app, token, now) == nil {
			t.Fatal("an assertion was accepted for an application without certificates")
		}
	})
}
