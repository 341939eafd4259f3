package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/auth/registrytest"
	"github.com/callplane/callplane/internal/ids"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

func adminDo(t *testing.T, env *testenv.Env, method, path string, body any) testenv.Response {
	t.Helper()
	return env.Do(t, method, path, env.Server.Directory().AdminSecret(), body)
}

// secretToken gets a token with a client secret.
func secretToken(t *testing.T, env *testenv.Env, clientID, secret string) (int, map[string]any) {
	t.Helper()
	return tokenRequest(t, env, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
}

// assertionToken gets a token with a client assertion signed by the
// certificate's key, as MSAL signs them (PS256, x5t#S256).
func assertionToken(t *testing.T, env *testenv.Env, clientID string, cert registrytest.Certificate) (int, map[string]any) {
	t.Helper()
	endpoint := env.URL + "/" + env.Server.Directory().TenantID() + "/oauth2/v2.0/token"
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodPS256, jwt.MapClaims{"aud": endpoint, "iss": clientID, "sub": clientID,
		"jti": ids.New(), "nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	_, tok.Header["x5t#S256"] = auth.Thumbprints(cert.Cert)
	assertion, err := tok.SignedString(cert.Key)
	if err != nil {
		t.Fatal(err)
	}
	return tokenRequest(t, env, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_assertion_type": {auth.ClientAssertionType}, "client_assertion": {assertion}, "scope": {"https://graph.microsoft.com/.default"}})
}

// TestApplicationsAtRunTime: on a running server, an application is
// registered, gets tokens with its secret, has its secret rotated, gets
// tokens with a certificate credential through client_assertion, loses and
// regains a permission, and is removed: its tokens are refused at once and
// its live call ends, with its last notifications delivered.
func TestApplicationsAtRunTime(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)

	r := adminDo(t, env, http.MethodPost, "/callplane/applications", map[string]any{"displayName": "help desk", "callingWebhook": bot.URL})
	if r.Status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	var added admin.NewApplicationView
	r.JSON(t, &added)
	if added.ID == "" || added.ClientSecret == "" || added.SecretID == "" || r.Header.Get("Location") != "/callplane/applications/"+added.ID ||
		len(added.Roles) != len(auth.CallsRoles) || added.CallingWebhook != bot.URL {
		t.Fatalf("registered %s (Location %q)", r.Body, r.Header.Get("Location"))
	}
	if strings.Contains(string(adminDo(t, env, http.MethodGet, "/callplane/applications/"+added.ID, nil).Body), added.ClientSecret) {
		t.Fatal("the secret is shown again after its creation")
	}
	var list admin.ApplicationList
	adminDo(t, env, http.MethodGet, "/callplane/applications", nil).JSON(t, &list)
	if len(list.Value) != 2 || !list.Value[0].DevApplication || list.Value[1].ID != added.ID {
		t.Fatalf("list: %+v", list.Value)
	}

	// Used at once: a token with its secret places a call.
	status, body := secretToken(t, env, added.ID, added.ClientSecret)
	if status != http.StatusOK {
		t.Fatalf("token with the new secret: %d %v", status, body)
	}
	token := body["access_token"].(string)
	r = env.Do(t, http.MethodPost, "/v1.0/communications/calls", token, testenv.CallRequest(bot.URL))
	if r.Status != http.StatusCreated {
		t.Fatalf("a call with the new application's token: %d %s", r.Status, r.Body)
	}
	live := graphID(t, r)
	resource := "/communications/calls/" + live
	bot.WaitAcked(t, wait, resource, 2)

	// Rotated: the new secret works, the revoked one no longer does.
	r = adminDo(t, env, http.MethodPost, "/callplane/applications/"+added.ID+"/secrets", map[string]any{"displayName": "rotation"})
	var rotated admin.NewSecretView
	r.JSON(t, &rotated)
	if r.Status != http.StatusCreated || rotated.ClientSecret == "" || rotated.SecretID == added.SecretID {
		t.Fatalf("new secret: %d %s", r.Status, r.Body)
	}
	if r := adminDo(t, env, http.MethodDelete, "/callplane/applications/"+added.ID+"/secrets/"+added.SecretID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if status, body := secretToken(t, env, added.ID, rotated.ClientSecret); status != http.StatusOK {
		t.Fatalf("token with the rotated secret: %d %v", status, body)
	}
	if status, body := secretToken(t, env, added.ID, added.ClientSecret); status != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Fatalf("token with the revoked secret: %d %v", status, body)
	}

	// A certificate credential: client_assertion instead of a secret.
	cert := registrytest.NewCertificate(t, "CN=help desk bot")
	if status, body := assertionToken(t, env, added.ID, cert); status != http.StatusUnauthorized {
		t.Fatalf("assertion before the certificate is registered: %d %v", status, body)
	}
	r = adminDo(t, env, http.MethodPost, "/callplane/applications/"+added.ID+"/certificates", map[string]any{"certificate": string(cert.PEM)})
	var certView admin.CertificateView
	r.JSON(t, &certView)
	if r.Status != http.StatusCreated || certView.CertificateID == "" || certView.Thumbprint == "" {
		t.Fatalf("add certificate: %d %s", r.Status, r.Body)
	}
	status, body = assertionToken(t, env, added.ID, cert)
	if status != http.StatusOK {
		t.Fatalf("token with a client assertion: %d %v", status, body)
	}
	certToken := body["access_token"].(string)
	if r := env.Do(t, http.MethodGet, testenv.CallPath(live), certToken, nil); r.Status != http.StatusOK {
		t.Fatalf("the certificate token on the application's call: %d %s", r.Status, r.Body)
	}

	// Roles take effect at once, on tokens already issued.
	r = adminDo(t, env, http.MethodPatch, "/callplane/applications/"+added.ID, map[string]any{"roles": []string{}})
	if r.Status != http.StatusOK {
		t.Fatalf("patch roles: %d %s", r.Status, r.Body)
	}
	checkGraphError(t, env.Do(t, http.MethodPost, "/v1.0/communications/calls", token, testenv.CallRequest(bot.URL)), http.StatusForbidden, "7504")
	r = adminDo(t, env, http.MethodPatch, "/callplane/applications/"+added.ID, map[string]any{"roles": auth.CallsRoles, "displayName": "help desk v2"})
	var patched admin.ApplicationView
	r.JSON(t, &patched)
	if patched.DisplayName != "help desk v2" || patched.CallingWebhook != bot.URL || len(patched.Roles) != len(auth.CallsRoles) {
		t.Fatalf("patched: %s", r.Body)
	}

	// Removed: tokens refused at once, the live call ends, and its last
	// notifications still reach the bot.
	r = adminDo(t, env, http.MethodDelete, "/callplane/applications/"+added.ID, nil)
	var removed admin.RemovedApplication
	r.JSON(t, &removed)
	if r.Status != http.StatusOK || removed.EndedCalls != 1 {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	for _, tok := range []string{token, certToken} {
		checkGraphError(t, env.Do(t, http.MethodGet, testenv.CallPath(live), tok, nil), http.StatusUnauthorized, "InvalidAuthenticationToken")
	}
	got := bot.WaitAcked(t, wait, resource, 4)
	last := got[3]
	if !equal(states(got[2:]), []string{"updated/terminating", "deleted/terminated"}) || last.ResultInfo == nil ||
		last.ResultInfo.Code != 403 || last.ResultInfo.Subcode != 7504 {
		t.Fatalf("the removed application's call: %v, last resultInfo %+v", states(got), last.ResultInfo)
	}
	if status, body := secretToken(t, env, added.ID, rotated.ClientSecret); status != http.StatusBadRequest || body["error"] != "unauthorized_client" {
		t.Fatalf("token for a removed application: %d %v", status, body)
	}
	if r := adminDo(t, env, http.MethodDelete, "/callplane/applications/"+env.Server.Directory().DefaultApplication().ClientID, nil); r.Status != http.StatusConflict {
		t.Fatalf("removing the dev application: %d %s", r.Status, r.Body)
	}

	// All of it was persisted.
	env.Restart(t)
	adminDo(t, env, http.MethodGet, "/callplane/applications", nil).JSON(t, &list)
	if len(list.Value) != 1 || !list.Value[0].DevApplication {
		t.Fatalf("after a restart: %+v", list.Value)
	}
}

// TestApplicationInput: bad registrations are refused with 400, and a
// calling webhook follows the callback URL rules.
func TestApplicationInput(t *testing.T) {
	env := testenv.Start(t)
	for name, body := range map[string]map[string]any{
		"unknown role":       {"roles": []string{"Calls.Everything.All"}},
		"file webhook":       {"callingWebhook": "file:///etc/passwd"},
		"user-info webhook":  {"callingWebhook": "https://u:p@bot.example/calls"},
		"port 0 webhook":     {"callingWebhook": "https://bot.example:0/calls"},
		"long display name":  {"displayName": strings.Repeat("x", 300)},
		"roles not an array": {"roles": "Calls.Initiate.All"},
	} {
		r := adminDo(t, env, http.MethodPost, "/callplane/applications", body)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if r := adminDo(t, env, http.MethodPost, "/callplane/applications/nobody/secrets", nil); r.Status != http.StatusNotFound {
		t.Errorf("secret for an unknown application: %d %s", r.Status, r.Body)
	}
	r := adminDo(t, env, http.MethodPost, "/callplane/applications/"+env.Server.Directory().DefaultApplication().ClientID+"/certificates",
		map[string]any{"certificate": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"})
	if r.Status != http.StatusBadRequest {
		t.Errorf("a broken certificate: %d %s", r.Status, r.Body)
	}
}

// TestAppCommands manages applications from the command line.
func TestAppCommands(t *testing.T) {
	env := testenv.Start(t)
	data := []string{"--data", env.DataDir}
	var added admin.NewApplicationView
	out := output(t, nil, append([]string{"app", "add", "--name", "cli bot", "--role", "Calls.Initiate.All"}, data...)...)
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.ID == "" || added.ClientSecret == "" || len(added.Roles) != 1 {
		t.Fatalf("app add printed %s (%v)", out, err)
	}
	if list := output(t, nil, append([]string{"app", "list"}, data...)...); !strings.Contains(list, added.ID) || !strings.Contains(list, "(dev)") {
		t.Fatalf("app list printed\n%s", list)
	}
	output(t, nil, append([]string{"app", "set", added.ID, "--webhook", "https://bot.example/incoming"}, data...)...)
	var secret admin.NewSecretView
	json.Unmarshal([]byte(output(t, nil, append([]string{"app", "secret", added.ID}, data...)...)), &secret)
	if status, body := secretToken(t, env, added.ID, secret.ClientSecret); status != http.StatusOK {
		t.Fatalf("token with the CLI's secret: %d %v", status, body)
	}
	cert := registrytest.NewCertificate(t, "CN=cli bot")
	pemFile := filepath.Join(t.TempDir(), "bot.pem")
	os.WriteFile(pemFile, cert.PEM, 0o600)
	output(t, nil, append([]string{"app", "certificate", added.ID, "--file", pemFile}, data...)...)
	if status, body := assertionToken(t, env, added.ID, cert); status != http.StatusOK {
		t.Fatalf("token with the CLI's certificate: %d %v", status, body)
	}
	var shown admin.ApplicationView
	json.Unmarshal([]byte(output(t, nil, append([]string{"app", "show", added.ID}, data...)...)), &shown)
	if shown.CallingWebhook != "https://bot.example/incoming" || len(shown.Secrets) != 2 || len(shown.Certificates) != 1 {
		t.Fatalf("app show: %+v", shown)
	}
	output(t, nil, append([]string{"app", "remove", added.ID}, data...)...)
	if out, err := exec.Command(callplaneBinary, append([]string{"app", "show", added.ID}, data...)...).CombinedOutput(); err == nil || !strings.Contains(string(out), "404") {
		t.Fatalf("a removed application: %v %s", err, out)
	}
}
