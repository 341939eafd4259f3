package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// clientCredentials gets a token from the token endpoint of env, as a bot
// does, with the dev application's secret.
func clientCredentials(t *testing.T, env *testenv.Env) string {
	t.Helper()
	app := env.Server.Directory().DefaultApplication()
	status, body := tokenRequest(t, env, url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID},
		"client_secret": {app.Secret}, "scope": {"https://graph.microsoft.com/.default"}})
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	return body["access_token"].(string)
}

// TestTokenSurvivesRestartOnAnotherPort: a bot's cached token, obtained
// from the token endpoint, stays valid after callplane restarts on another
// port (as in CI with --listen 127.0.0.1:0), and the OpenID metadata then
// names the new address.
func TestTokenSurvivesRestartOnAnotherPort(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	cached := clientCredentials(t, env)
	if iss := claimsOf(t, cached)["iss"]; !strings.HasPrefix(iss.(string), env.URL+"/") {
		t.Fatalf("iss %v does not name the address it was obtained through, %s", iss, env.URL)
	}
	before := env.URL
	env.RestartOn(t, "127.0.0.1:0")
	if env.URL == before {
		t.Fatalf("restarted on the same address %s", env.URL)
	}
	r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", cached, testenv.CallRequest(bot.URL))
	if r.Status != http.StatusCreated {
		t.Fatalf("the cached token after a restart on another port: %d %s", r.Status, r.Body)
	}
	var config struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	env.Do(t, http.MethodGet, "/"+env.Server.Directory().TenantID()+"/v2.0/.well-known/openid-configuration", "", nil).JSON(t, &config)
	if !strings.HasPrefix(config.Issuer, env.URL+"/") || !strings.HasPrefix(config.TokenEndpoint, env.URL+"/") {
		t.Fatalf("metadata after the restart: %+v, want %s", config, env.URL)
	}
}

// TestOpenIDConfigurationForOIDCMode: MSAL's OIDC protocol mode fetches the
// configuration without v2.0/; it is the same document.
func TestOpenIDConfigurationForOIDCMode(t *testing.T) {
	env := testenv.Start(t)
	tenant := env.Server.Directory().TenantID()
	v2 := env.Do(t, http.MethodGet, "/"+tenant+"/v2.0/.well-known/openid-configuration", "", nil)
	oidc := env.Do(t, http.MethodGet, "/"+tenant+"/.well-known/openid-configuration", "", nil)
	if oidc.Status != http.StatusOK || !bytes.Equal(v2.Body, oidc.Body) {
		t.Fatalf("OIDC-mode path: %d %s\nv2.0 path: %s", oidc.Status, oidc.Body, v2.Body)
	}
	var config map[string]any
	oidc.JSON(t, &config)
	for _, k := range []string{"issuer", "token_endpoint", "authorization_endpoint", "jwks_uri"} {
		if config[k] == nil {
			t.Errorf("no %s: MSAL refuses the configuration", k)
		}
	}
}

// request sends a request with any method, host and headers.
func request(t *testing.T, env *testenv.Env, method, path string, body []byte, header map[string]string) testenv.Response {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if strings.EqualFold(k, "Host") {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := env.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return testenv.Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// TestHostHeaderNotReflected: what callplane advertises (Location,
// @odata.context, the OpenID documents) comes from its configuration, never
// from the request's Host header, which a shared cache would then serve to
// everyone.
func TestHostHeaderNotReflected(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	tenant := env.Server.Directory().TenantID()
	evil := map[string]string{"Host": "evil.example:666", "Authorization": "Bearer " + env.Token, "Content-Type": "application/json"}
	body, _ := json.Marshal(testenv.CallRequest(bot.URL))
	created := request(t, env, http.MethodPost, "/v1.0/communications/calls", body, evil)
	if created.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	var c struct {
		ODataContext string `json:"@odata.context"`
	}
	created.JSON(t, &c)
	responses := map[string]string{
		"Location":       created.Header.Get("Location"),
		"@odata.context": c.ODataContext,
	}
	for path, keys := range map[string][]string{
		"/" + tenant + "/v2.0/.well-known/openid-configuration": {"issuer", "token_endpoint", "authorization_endpoint", "jwks_uri"},
		"/" + tenant + "/.well-known/openid-configuration":      {"issuer", "token_endpoint", "authorization_endpoint", "jwks_uri"},
		"/v1/.well-known/OpenIdConfiguration":                   {"jwks_uri"},
	} {
		var doc map[string]any
		request(t, env, http.MethodGet, path, nil, evil).JSON(t, &doc)
		for _, k := range keys {
			v, _ := doc[k].(string)
			responses[path+" "+k] = v
		}
	}
	for what, v := range responses {
		if strings.Contains(v, "evil.example") || !strings.HasPrefix(v, env.URL) {
			t.Errorf("%s = %q: it follows the Host header, not %s", what, v, env.URL)
		}
	}
}

// TestPublicURLAdvertised: behind a proxy, --public-url is the one base URL
// callplane names: banner, Location, OpenID documents, token issuer. It
// does not decide which tokens are accepted.
func TestPublicURLAdvertised(t *testing.T) {
	const public = "https://callplane.example.test"
	env := testenv.Start(t, func(c *server.Config) { c.PublicURL = public + "/" })
	bot := testbot.Start(t)
	if b := env.Server.Describe(); !strings.Contains(b, public+"/v1.0") || !strings.Contains(b, env.URL) {
		t.Fatalf("banner:\n%s", b)
	}
	token := clientCredentials(t, env)
	if iss := claimsOf(t, token)["iss"].(string); !strings.HasPrefix(iss, public+"/") {
		t.Fatalf("token issuer %s", iss)
	}
	r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", token, testenv.CallRequest(bot.URL))
	if r.Status != http.StatusCreated || !strings.HasPrefix(r.Header.Get("Location"), public+"/v1.0/communications/calls/") {
		t.Fatalf("create: %d, Location %q", r.Status, r.Header.Get("Location"))
	}
	// A token from a callplane without a public URL works here too.
	if r := env.Do(t, http.MethodGet, "/v1.0/communications/calls/"+graphID(t, r), env.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("a token naming the listener: %d %s", r.Status, r.Body)
	}
	var config struct {
		TokenEndpoint string `json:"token_endpoint"`
		JWKSURI       string `json:"jwks_uri"`
	}
	env.Do(t, http.MethodGet, "/"+env.Server.Directory().TenantID()+"/.well-known/openid-configuration", "", nil).JSON(t, &config)
	if !strings.HasPrefix(config.TokenEndpoint, public+"/") || !strings.HasPrefix(config.JWKSURI, public+"/") {
		t.Fatalf("metadata %+v", config)
	}
}

func graphID(t *testing.T, r testenv.Response) string {
	t.Helper()
	var c struct {
		ID string `json:"id"`
	}
	r.JSON(t, &c)
	return c.ID
}

// TestUnknownPathsAnswerJSON: whatever the path, the answer is a JSON body
// of the surface it falls under: Graph's under /v1.0 and /beta, OAuth2's
// under the identity endpoints, callplane's under /callplane/; so are 405s
// and oversized bodies. Never net/http's plain text.
func TestUnknownPathsAnswerJSON(t *testing.T) {
	env := testenv.Start(t)
	tenant := env.Server.Directory().TenantID()
	admin := "Bearer " + env.Server.Directory().AdminSecret()
	graphToken := "Bearer " + env.Token
	big := bytes.Repeat([]byte("x"), 2<<20)
	cases := []struct {
		name, method, path string
		header             map[string]string
		body               []byte
		status             int
		shape              string // graph, oauth, callplane
	}{
		{"Graph: unknown segment", "GET", "/v1.0/communications/nothing", map[string]string{"Authorization": graphToken}, nil, 400, "graph"},
		{"Graph: other method", "PUT", "/beta/communications/calls", map[string]string{"Authorization": graphToken}, nil, 405, "graph"},
		{"Graph: body too large", "POST", "/v1.0/communications/calls", map[string]string{"Authorization": graphToken, "Content-Type": "application/json"}, big, 413, "graph"},
		{"identity: root", "GET", "/", nil, nil, 404, "oauth"},
		{"identity: unknown", "GET", "/favicon.ico", nil, nil, 404, "oauth"},
		{"identity: unknown under the tenant", "GET", "/" + tenant + "/oauth2/authorize", nil, nil, 404, "oauth"},
		{"identity: GET on the token endpoint", "GET", "/" + tenant + "/oauth2/v2.0/token", nil, nil, 405, "oauth"},
		{"identity: POST on the keys", "POST", "/" + tenant + "/discovery/v2.0/keys", nil, nil, 405, "oauth"},
		{"identity: token form too large", "POST", "/" + tenant + "/oauth2/v2.0/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, append([]byte("grant_type=client_credentials&x="), big...), 413, "oauth"},
		{"callback metadata: unknown", "GET", "/v1/nothing", nil, nil, 404, "oauth"},
		{"callplane: unknown", "GET", "/callplane/nothing", map[string]string{"Authorization": admin}, nil, 404, "callplane"},
		{"callplane: other method", "PUT", "/callplane/applications", map[string]string{"Authorization": admin}, nil, 405, "callplane"},
		{"callplane: no credential", "GET", "/callplane/nothing", nil, nil, 401, "callplane"},
		{"callplane: body too large", "POST", "/callplane/meetings", map[string]string{"Authorization": admin, "Content-Type": "application/json"}, big, 413, "callplane"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := request(t, env, tc.method, tc.path, tc.body, tc.header)
			if r.Status != tc.status || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("%d %q %s, want %d and JSON", r.Status, r.Header.Get("Content-Type"), r.Body, tc.status)
			}
			var body map[string]any
			r.JSON(t, &body)
			switch tc.shape {
			case "oauth":
				if _, ok := body["error"].(string); !ok || body["error_description"] == nil {
					t.Fatalf("not an OAuth2 error: %s", r.Body)
				}
			default:
				e, _ := body["error"].(map[string]any)
				if e == nil || e["code"] == nil || e["message"] == nil {
					t.Fatalf("not a %s error: %s", tc.shape, r.Body)
				}
			}
			if tc.status == 405 && r.Header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
}

// TestAdminSecretNeverEmpty: a hand-written directory.json without an admin
// secret does not open the admin API: callplane generates one, saves it and
// prints it. The admin credential is compared as a bearer token in any case.
func TestAdminSecretNeverEmpty(t *testing.T) {
	cfg := testenv.Config(t)
	handWritten := `{"tenantId": "59046c29-0e44-4a5a-9a28-a7e6f1d638e9", "adminSecret": "",
		"applications": [{"clientId": "3404a0ce-42f6-42b0-a3a6-7d57a39b0ca5", "displayName": "bot",
		"clientSecret": "s3cret", "roles": ["Calls.Initiate.All"], "objectId": "1b0e9c9a-0000-4000-8000-000000000001"}]}`
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "directory.json"), []byte(handWritten), 0o600); err != nil {
		t.Fatal(err)
	}
	env := testenv.StartWith(t, cfg)
	secret := env.Server.Directory().AdminSecret()
	if len(secret) < 32 || !strings.Contains(env.Server.Describe(), secret) {
		t.Fatalf("admin secret %q, banner:\n%s", secret, env.Server.Describe())
	}
	for _, header := range []string{"", "Bearer", "Bearer ", "Bearer  ", "Basic Og=="} {
		r := request(t, env, http.MethodGet, "/callplane/applications", nil, map[string]string{"Authorization": header})
		if r.Status != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d %s", header, r.Status, r.Body)
		}
	}
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		r := request(t, env, http.MethodGet, "/callplane/applications", nil, map[string]string{"Authorization": scheme + " " + secret})
		if r.Status != http.StatusOK {
			t.Errorf("%s scheme: %d %s", scheme, r.Status, r.Body)
		}
	}
	// The hand-written application still gets tokens with its secret.
	status, body := tokenRequest(t, env, url.Values{"grant_type": {"client_credentials"}, "client_id": {"3404a0ce-42f6-42b0-a3a6-7d57a39b0ca5"},
		"client_secret": {"s3cret"}, "scope": {"https://graph.microsoft.com/.default"}})
	if status != http.StatusOK {
		t.Fatalf("the hand-written application's token: %d %v", status, body)
	}
}
