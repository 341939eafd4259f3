package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/httpapi"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// signWith signs claims with key under kid, to forge tokens.
func signWith(t *testing.T, key *rsa.PrivateKey, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claimsOf(t *testing.T, token string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBearerTokenRejected: every malformed, expired, forged or misdirected
// token gets 401 with Graph's error body, on every Graph route.
func TestBearerTokenRejected(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	c := env.PlaceCall(t, bot.URL)
	tokens := env.Server.Tokens()
	app := env.Server.Directory().DefaultApplication()
	key := tokens.Key()

	expired, err := tokens.SignedAt(app, time.Now().Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	notYet, err := tokens.SignedAt(app, time.Now().Add(time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(env.Token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), app.ClientID, strings.Repeat("0", len(app.ClientID)), 1))
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]

	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	valid := claimsOf(t, env.Token)
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for name, val := range valid {
			c[name] = val
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	forged := signWith(t, otherKey, key.ID, valid)
	cases := map[string]string{
		"no token":         "",
		"not a JWT":        "not-a-token",
		"tampered payload": tampered,
		"expired":          expired,
		"not yet valid":    notYet,
		"other key":        forged,
		"wrong audience":   signWith(t, key.Private, key.ID, with("aud", "https://management.azure.com")),
		"wrong issuer":     signWith(t, key.Private, key.ID, with("iss", "https://login.example.com/x/v2.0")),
		"wrong tenant":     signWith(t, key.Private, key.ID, with("tid", "11111111-2222-3333-4444-555555555555")),
		"no expiry":        signWith(t, key.Private, key.ID, with("exp", nil)),
		"alg none":         "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + ".",
	}
	routes := httpapi.RoutePatterns() // every Graph route, both versions
	if len(routes) < 30 {
		t.Fatalf("only %d routes", len(routes))
	}
	ids := strings.NewReplacer("{id}", c.ID, "{pid}", "8d1e2f3a-0000-4000-8000-000000000009", "{opid}", "8d1e2f3a-0000-4000-8000-00000000000a")
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			for _, pattern := range routes {
				method, path, _ := strings.Cut(pattern, " ")
				path = ids.Replace(path)
				r := env.Do(t, method, path, token, nil)
				checkGraphError(t, r, http.StatusUnauthorized, "InvalidAuthenticationToken")
				if r.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s %s: 401 without WWW-Authenticate", method, path)
				}
			}
		})
	}
	// None of that touched the call.
	if r := env.Do(t, http.MethodGet, testenv.CallPath(c.ID), env.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("call lost after bad requests: %d", r.Status)
	}
}

// TestDelegatedTokenForbidden: a signed-in user's token is valid but not
// allowed: delegated permissions are not supported for calls.
func TestDelegatedTokenForbidden(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	c := env.PlaceCall(t, bot.URL)
	dir := env.Server.Directory()
	delegated, _, err := env.Server.Tokens().DelegatedToken(dir.DefaultApplication(), dir.DefaultUser())
	if err != nil {
		t.Fatal(err)
	}
	claims := claimsOf(t, delegated)
	if claims["scp"] == nil || claims["roles"] != nil || claims["oid"] != dir.DefaultUser().ObjectID {
		t.Fatalf("delegated token claims: %v", claims)
	}
	checkGraphError(t, env.Do(t, http.MethodDelete, testenv.CallPath(c.ID), delegated, nil), http.StatusForbidden, "accessDenied")
	checkGraphError(t, env.Do(t, http.MethodGet, testenv.CallPath(c.ID), delegated, nil), http.StatusForbidden, "accessDenied")
	checkGraphError(t, env.Do(t, http.MethodPost, "/v1.0/communications/calls", delegated, testenv.CallRequest(bot.URL)), http.StatusForbidden, "accessDenied")
	if r := env.Do(t, http.MethodGet, testenv.CallPath(c.ID), env.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("the refused DELETE ended the call: %d", r.Status)
	}
}

// TestOtherApplicationsCallInvisible: another application's call is 404 for
// every method, and stays up for its owner.
func TestOtherApplicationsCallInvisible(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	c := env.PlaceCall(t, bot.URL)
	other, _, err := env.Server.Directory().AddApplication(auth.AppSettings{DisplayName: "another bot"})
	if err != nil {
		t.Fatal(err)
	}
	otherToken, _, err := env.Server.Tokens().AppToken(other)
	if err != nil {
		t.Fatal(err)
	}
	checkGraphError(t, env.Do(t, http.MethodDelete, testenv.CallPath(c.ID), otherToken, nil), http.StatusNotFound, "8522")
	checkGraphError(t, env.Do(t, http.MethodGet, testenv.CallPath(c.ID), otherToken, nil), http.StatusNotFound, "8522")
	checkGraphError(t, env.Do(t, http.MethodPost, testenv.CallPath(c.ID)+"/keepAlive", otherToken, nil), http.StatusNotFound, "8522")
	if r := env.Do(t, http.MethodGet, testenv.CallPath(c.ID), env.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("owner lost its call: %d", r.Status)
	}
}

// TestCreateNeedsPermission: an application without Calls.Initiate.All cannot
// place a call.
func TestCreateNeedsPermission(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	app, _, err := env.Server.Directory().AddApplication(auth.AppSettings{DisplayName: "no permissions", Roles: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	token, _, _ := env.Server.Tokens().AppToken(app)
	checkGraphError(t, env.Do(t, http.MethodPost, "/v1.0/communications/calls", token, testenv.CallRequest(bot.URL)), http.StatusForbidden, "7504")
}

func tokenRequest(t *testing.T, env *testenv.Env, form url.Values, basic ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/"+env.Server.Directory().TenantID()+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := env.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestClientCredentials: the OAuth2 token endpoint issues tokens the API
// accepts, refuses bad credentials the way Entra does, and publishes keys
// that verify its tokens.
func TestClientCredentials(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	app := env.Server.Directory().DefaultApplication()
	good := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {app.ClientID},
		"client_secret": {app.Secret},
		"scope":         {"https://graph.microsoft.com/.default"},
	}
	status, body := tokenRequest(t, env, good)
	if status != http.StatusOK || body["token_type"] != "Bearer" || body["access_token"] == nil || body["expires_in"] == nil {
		t.Fatalf("token: %d %v", status, body)
	}
	token := body["access_token"].(string)
	if r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", token, testenv.CallRequest(bot.URL)); r.Status != http.StatusCreated {
		t.Fatalf("create with the issued token: %d %s", r.Status, r.Body)
	}
	claims := claimsOf(t, token)
	if aud, ok := claims["aud"].(string); !ok || aud != "https://graph.microsoft.com" {
		t.Errorf("aud = %#v, want the string https://graph.microsoft.com, as Entra writes it", claims["aud"])
	}
	for _, k := range []string{"aud", "iss", "tid", "appid", "azp", "roles", "iat", "nbf", "exp"} {
		if claims[k] == nil {
			t.Errorf("token lacks %s: %v", k, claims)
		}
	}

	// MSAL adds the OpenID scopes to every request; Entra ignores them.
	basic := url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default openid offline_access profile"}}
	if status, body := tokenRequest(t, env, basic, app.ClientID, app.Secret); status != http.StatusOK {
		t.Fatalf("client_secret_basic: %d %v", status, body)
	}

	edit := func(k, v string) url.Values {
		f := url.Values{}
		for name, vals := range good {
			f[name] = vals
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	for name, tc := range map[string]struct {
		form   url.Values
		status int
		code   string
	}{
		"wrong secret":   {edit("client_secret", "nope"), http.StatusUnauthorized, "invalid_client"},
		"no secret":      {edit("client_secret", ""), http.StatusUnauthorized, "invalid_client"},
		"unknown client": {edit("client_id", "00000000-0000-0000-0000-000000000000"), http.StatusBadRequest, "unauthorized_client"},
		"password grant": {edit("grant_type", "password"), http.StatusBadRequest, "unsupported_grant_type"},
		"no scope":       {edit("scope", ""), http.StatusBadRequest, "invalid_request"},
		"user scope":     {edit("scope", "User.Read"), http.StatusBadRequest, "invalid_scope"},
		"two resources":  {edit("scope", "https://graph.microsoft.com/.default https://management.azure.com/.default"), http.StatusBadRequest, "invalid_scope"},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := tokenRequest(t, env, tc.form)
			if status != tc.status || body["error"] != tc.code || body["error_description"] == nil || body["error_codes"] == nil {
				t.Fatalf("got %d %v, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}

	// The OpenID configuration names the tokens' issuer, and its key set
	// verifies them.
	oidc := env.Do(t, http.MethodGet, "/"+env.Server.Directory().TenantID()+"/v2.0/.well-known/openid-configuration", "", nil)
	var config struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	oidc.JSON(t, &config)
	if config.Issuer != claims["iss"] {
		t.Fatalf("issuer %q, token iss %v", config.Issuer, claims["iss"])
	}
	resp, err := env.Client.Get(config.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set auth.JWKSet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	_, err = jwt.Parse(token, func(tok *jwt.Token) (any, error) {
		for _, k := range set.Keys {
			if k.Kid == tok.Header["kid"] {
				return rsaKey(t, k), nil
			}
		}
		t.Fatalf("kid %v not in %+v", tok.Header["kid"], set)
		return nil, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(config.Issuer), jwt.WithAudience("https://graph.microsoft.com"))
	if err != nil {
		t.Fatalf("token does not verify against the published keys: %v", err)
	}
}

func rsaKey(t *testing.T, k auth.JWK) *rsa.PublicKey {
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil {
		t.Fatal(err)
	}
	e, err := base64.RawURLEncoding.DecodeString(k.E)
	if err != nil {
		t.Fatal(err)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
}
