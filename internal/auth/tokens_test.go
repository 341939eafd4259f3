package auth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/auth/registrytest"
	"github.com/callplane/callplane/internal/ids"
)

func newTokens(t *testing.T) (*auth.Directory, *auth.TokenService, *auth.Key) {
	t.Helper()
	dir := t.TempDir()
	d, _ := openDirectory(t, filepath.Join(dir, "directory.json"))
	key, err := auth.LoadOrCreateKey(filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return d, auth.NewTokenService(d, key, "http://127.0.0.1:8080"), key
}

// TestTokensOutliveTheAddress: a token is accepted whatever address it was
// issued through, as long as its issuer has Entra's form for the tenant.
func TestTokensOutliveTheAddress(t *testing.T) {
	d, tokens, key := newTokens(t)
	app := d.DefaultApplication()
	elsewhere := auth.NewTokenService(d, key, "https://callplane.example:9443")
	tok, _, err := elsewhere.AppToken(app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Verify(tok); err != nil {
		t.Fatalf("a token issued under another base URL: %v", err)
	}
	for _, iss := range []string{
		"https://login.example.com/x/v2.0",
		"https://h/" + d.TenantID() + "/v1.0",
		"ftp://h/" + d.TenantID() + "/v2.0",
		d.TenantID() + "/v2.0",
	} {
		claims := jwt.MapClaims{"iss": iss, "aud": auth.GraphAudience, "tid": d.TenantID(), "appid": app.ClientID,
			"exp": time.Now().Add(time.Hour).Unix(), "roles": app.Roles}
		forged := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
		forged.Header["kid"] = key.ID
		signed, _ := forged.SignedString(key.Private)
		if _, err := tokens.Verify(signed); err == nil {
			t.Errorf("issuer %q accepted", iss)
		}
	}
}

// TestRegistryDecidesAtOnce: a token speaks for its application's current
// registration: changed roles apply to it, and once the application is
// removed it is refused, cached or not.
func TestRegistryDecidesAtOnce(t *testing.T) {
	d, tokens, _ := newTokens(t)
	app, _, err := d.AddApplication(auth.AppSettings{DisplayName: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _ := tokens.AppToken(app)
	if _, err := tokens.Verify(tok); err != nil {
		t.Fatal(err)
	}
	roles := []string{"Calls.JoinGroupCall.All"}
	if _, err := d.UpdateApplication(app.ClientID, auth.AppChanges{Roles: &roles}); err != nil {
		t.Fatal(err)
	}
	p, err := tokens.Verify(tok)
	if err != nil || len(p.Roles) != 1 || p.Roles[0] != roles[0] {
		t.Fatalf("after the role change: %+v, %v", p, err)
	}
	if _, err := d.RemoveApplication(app.ClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Verify(tok); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("a removed application's token: %v", err)
	}
}

// TestClientAssertions: the token endpoint takes certificate credentials as
// Entra does, signed as MSAL for Node and for Go sign them, and refuses the
// assertions Entra refuses, with its AADSTS codes.
func TestClientAssertions(t *testing.T) {
	d, tokens, _ := newTokens(t)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tokens.Routes(mux, func(*http.Request) string { return srv.URL })
	app, _, err := d.AddApplication(auth.AppSettings{DisplayName: "certified"})
	if err != nil {
		t.Fatal(err)
	}
	cert := registrytest.NewCertificate(t, "CN=certified")
	if _, err := d.AddCertificate(app.ClientID, "", cert.PEM); err != nil {
		t.Fatal(err)
	}
	other := registrytest.NewCertificate(t, "CN=someone else")
	endpoint := srv.URL + "/" + d.TenantID() + "/oauth2/v2.0/token"
	x5t, x5tS256 := auth.Thumbprints(cert.Cert)
	sum := sha256.Sum256(cert.Cert.Raw)
	stdS256 := base64.StdEncoding.EncodeToString(sum[:]) // as MSAL for Go writes it

	type assertion struct {
		method jwt.SigningMethod
		header map[string]any
		claims jwt.MapClaims
		key    any
	}
	good := func() assertion {
		now := time.Now()
		return assertion{
			method: jwt.SigningMethodPS256,
			header: map[string]any{"x5t#S256": x5tS256},
			claims: jwt.MapClaims{"aud": endpoint, "iss": app.ClientID, "sub": app.ClientID, "jti": ids.New(),
				"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()},
			key: cert.Key,
		}
	}
	post := func(a assertion) (int, map[string]any) {
		tok := jwt.NewWithClaims(a.method, a.claims)
		for k, v := range a.header {
			tok.Header[k] = v
		}
		signed, err := tok.SignedString(a.key)
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "scope": {auth.GraphScope},
			"client_assertion_type": {auth.ClientAssertionType}, "client_assertion": {signed}}
		resp, err := http.PostForm(endpoint, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	edit := func(f func(*assertion)) assertion { a := good(); f(&a); return a }

	for name, a := range map[string]assertion{
		"PS256 with x5t#S256 (MSAL for Node)":           good(),
		"PS256 with standard base64 x5t#S256 (MSAL Go)": edit(func(a *assertion) { a.header = map[string]any{"x5t#S256": stdS256} }),
		"RS256 with x5t (older MSALs)":                  edit(func(a *assertion) { a.method, a.header = jwt.SigningMethodRS256, map[string]any{"x5t": x5t} }),
		"the same jti again (MSAL reuses assertions)":   good(),
	} {
		if status, body := post(a); status != http.StatusOK || body["access_token"] == nil {
			t.Errorf("%s: %d %v", name, status, body)
		}
	}
	for name, tc := range map[string]struct {
		a      assertion
		aadsts string
	}{
		"another key":           {edit(func(a *assertion) { a.key = other.Key }), "AADSTS700027"},
		"unknown thumbprint":    {edit(func(a *assertion) { a.header = map[string]any{"x5t": "bm9wZQ"} }), "AADSTS700027"},
		"expired":               {edit(func(a *assertion) { a.claims["exp"] = time.Now().Add(-time.Hour).Unix() }), "AADSTS700024"},
		"wrong audience":        {edit(func(a *assertion) { a.claims["aud"] = "https://login.example.com/x/oauth2/v2.0/token" }), "AADSTS700023"},
		"iss is not the client": {edit(func(a *assertion) { a.claims["iss"] = ids.New() }), "AADSTS700021"},
		"HS256":                 {edit(func(a *assertion) { a.method, a.key = jwt.SigningMethodHS256, []byte("secret") }), "AADSTS700027"},
	} {
		status, body := post(tc.a)
		if desc, _ := body["error_description"].(string); status != http.StatusUnauthorized || body["error"] != "invalid_client" || !strings.HasPrefix(desc, tc.aadsts) {
			t.Errorf("%s: %d %v, want 401 invalid_client %s", name, status, body, tc.aadsts)
		}
	}
}
