package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// TestHTTPSListener: with --tls-listen, the same API is served over HTTPS
// with a certificate from callplane's own CA, and tokens issued on either
// listener work on both.
func TestHTTPSListener(t *testing.T) {
	env := testenv.Start(t, func(c *server.Config) { c.TLSListen = "127.0.0.1:0" })
	bot := testbot.Start(t)
	caPath := env.Server.CACertPath()
	if caPath == "" || !strings.HasPrefix(env.Server.TLSURL(), "https://127.0.0.1:") {
		t.Fatalf("TLS URL %q, CA %q", env.Server.TLSURL(), caPath)
	}
	pem, err := os.ReadFile(caPath)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("CA file holds no certificate")
	}
	secure := &testenv.Env{
		URL:    env.Server.TLSURL(),
		Server: env.Server,
		Client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
	}

	// A token from the HTTPS token endpoint carries the HTTPS issuer, which
	// is what the HTTPS OpenID configuration names.
	app := env.Server.Directory().DefaultApplication()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.Secret},
		"scope": {"https://graph.microsoft.com/.default"}}
	status, body := tokenRequest(t, secure, form)
	if status != http.StatusOK {
		t.Fatalf("token over https: %d %v", status, body)
	}
	secure.Token = body["access_token"].(string)
	var config struct {
		Issuer string `json:"issuer"`
	}
	secure.Do(t, http.MethodGet, "/"+env.Server.Directory().TenantID()+"/v2.0/.well-known/openid-configuration", "", nil).JSON(t, &config)
	if iss := claimsOf(t, secure.Token)["iss"]; iss != config.Issuer || !strings.HasPrefix(config.Issuer, "https://") {
		t.Fatalf("https token iss %v, https metadata issuer %q", iss, config.Issuer)
	}

	c := secure.PlaceCall(t, bot.URL)
	if r := env.Do(t, http.MethodGet, testenv.CallPath(c.ID), secure.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("https token on the http listener: %d %s", r.Status, r.Body)
	}
	if r := secure.Do(t, http.MethodDelete, testenv.CallPath(c.ID), env.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("http token on the https listener: %d %s", r.Status, r.Body)
	}
	if r := secure.Do(t, http.MethodGet, testenv.CallPath(c.ID), secure.Token, nil); r.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no Strict-Transport-Security over https")
	}

	// The generated certificate is kept across restarts.
	before, _ := os.ReadFile(caPath)
	env.Restart(t)
	after, _ := os.ReadFile(env.Server.CACertPath())
	if string(before) != string(after) {
		t.Fatal("the CA changed on restart: clients would have to trust it again")
	}
}

// TestLooseMode: with --loose, a request without a token acts as the dev
// application; a request with a bad token is still refused.
func TestLooseMode(t *testing.T) {
	env := testenv.Start(t, func(c *server.Config) { c.Loose = true })
	bot := testbot.Start(t)
	r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", "", testenv.CallRequest(bot.URL))
	if r.Status != http.StatusCreated {
		t.Fatalf("create without a token in loose mode: %d %s", r.Status, r.Body)
	}
	var c struct {
		ID string `json:"id"`
	}
	r.JSON(t, &c)
	// The call is the dev application's: visible with its real token too.
	if r := env.Do(t, http.MethodGet, testenv.CallPath(c.ID), env.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("dev application cannot see the loose call: %d", r.Status)
	}
	checkGraphError(t, env.Do(t, http.MethodGet, testenv.CallPath(c.ID), "garbage", nil), http.StatusUnauthorized, "InvalidAuthenticationToken")
	if !strings.Contains(env.Server.Describe(), "LOOSE") {
		t.Fatal("the banner does not say loose mode is on")
	}

	strict := testenv.Start(t)
	checkGraphError(t, strict.Do(t, http.MethodPost, "/v1.0/communications/calls", "", testenv.CallRequest(bot.URL)), http.StatusUnauthorized, "InvalidAuthenticationToken")
	if strings.Contains(strict.Server.Describe(), "LOOSE") {
		t.Fatal("loose mode is on by default")
	}
}
