package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/golang-jwt/jwt/v5"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/delivery"
	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// verifyCallbackToken validates a callback token as a bot would, with an
// independent JOSE library: keys from the published OpenID configuration,
// then signature, issuer, audience, lifetime and tenant.
func verifyCallbackToken(t *testing.T, env *testenv.Env, token, wantIssuer, appID, tenantID string) error {
	t.Helper()
	var config struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	env.Do(t, http.MethodGet, "/v1/.well-known/OpenIdConfiguration", "", nil).JSON(t, &config)
	if config.Issuer != wantIssuer {
		t.Fatalf("OpenID configuration issuer %q, want %q", config.Issuer, wantIssuer)
	}
	resp, err := env.Client.Get(config.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var keys jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&keys); err != nil {
		t.Fatal(err)
	}
	parsed, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return err
	}
	if len(parsed.Headers) != 1 {
		t.Fatalf("%d signatures", len(parsed.Headers))
	}
	matching := keys.Key(parsed.Headers[0].KeyID)
	if len(matching) == 0 {
		t.Fatalf("kid %q not published", parsed.Headers[0].KeyID)
	}
	var claims josejwt.Claims
	var custom struct {
		TenantID string `json:"tid"`
	}
	if err := parsed.Claims(matching[0].Key, &claims, &custom); err != nil {
		return err
	}
	if err := claims.ValidateWithLeeway(josejwt.Expected{
		Issuer:      config.Issuer,
		AnyAudience: josejwt.Audience{appID},
		Time:        time.Now(),
	}, 0); err != nil {
		return err
	}
	if claims.Expiry == nil || claims.NotBefore == nil || claims.IssuedAt == nil {
		t.Fatalf("lifetime claims missing: %+v", claims)
	}
	if custom.TenantID != tenantID {
		t.Fatalf("tid %q, want %q", custom.TenantID, tenantID)
	}
	return nil
}

// TestCallbackTokenVerifies: the token on every notification validates
// against callplane's published keys, with a configurable issuer, and a
// forged one does not.
func TestCallbackTokenVerifies(t *testing.T) {
	const issuer = "https://callbacks.example.test"
	env := testenv.Start(t, func(c *server.Config) { c.CallbackIssuer = issuer })
	bot := testbot.Start(t)
	c := env.PlaceCall(t, bot.URL)
	got := bot.WaitAcked(t, wait, "/communications/calls/"+c.ID, 2)
	app := env.Server.Directory().DefaultApplication()
	tenant := env.Server.Directory().TenantID()
	token := strings.TrimPrefix(got[0].Header.Get("Authorization"), "Bearer ")
	if err := verifyCallbackToken(t, env, token, issuer, app.ClientID, tenant); err != nil {
		t.Fatalf("callback token does not verify: %v", err)
	}
	for _, h := range []string{"X-Microsoft-Skype-Chain-ID", "X-Microsoft-Skype-Message-ID", "Scenario-Id", "User-Agent", "Content-Type", "Accept"} {
		if got[0].Header.Get(h) == "" {
			t.Errorf("callback lacks %s", h)
		}
	}

	if aud, ok := claimsOf(t, token)["aud"].(string); !ok || aud != app.ClientID {
		t.Errorf("aud = %#v, want the bot's app id as a string", claimsOf(t, token)["aud"])
	}

	// Same claims, same kid, another key: refused.
	forgeKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	claims := claimsOf(t, token)
	parsed, _, _ := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	forged := signWith(t, forgeKey, parsed.Header["kid"].(string), claims)
	if err := verifyCallbackToken(t, env, forged, issuer, app.ClientID, tenant); err == nil {
		t.Fatal("a forged callback token verified")
	}
	// A genuine token for another bot is refused by this bot.
	if err := verifyCallbackToken(t, env, token, issuer, "some-other-app", tenant); err == nil {
		t.Fatal("a token for another audience verified")
	}
}

// TestBotDownDuringDelete: a bot that is down when its call is hung up gets
// terminating then terminated once it is back.
func TestBotDownDuringDelete(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	c := env.PlaceCall(t, bot.URL)
	resource := "/communications/calls/" + c.ID
	bot.WaitAcked(t, wait, resource, 2)
	waitDelivered(t, env, c.ID, 2) // callplane has the acknowledgements too
	addr := bot.Addr()
	bot.Stop()

	if r := env.Do(t, http.MethodDelete, testenv.CallPath(c.ID), env.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	// The admin API shows the notification waiting, with the failed attempt.
	var waiting []admin.Delivery
	eventually(t, "a failed attempt recorded", func() bool {
		waiting = adminDeliveries(t, env, "?call="+c.ID+"&status=pending")
		return len(waiting) > 0 && waiting[len(waiting)-1].Attempts > 0
	})
	oldest := waiting[len(waiting)-1]
	if oldest.State != "terminating" || oldest.LastError == "" || oldest.NextAttemptAt == nil {
		t.Fatalf("pending delivery: %+v", oldest)
	}

	back := testbot.StartOn(t, addr)
	got := back.WaitAcked(t, wait, resource, 2)
	if !equal(states(got), []string{"updated/terminating", "deleted/terminated"}) {
		t.Fatalf("after the bot came back: %v", states(got))
	}
}

func adminDeliveries(t *testing.T, env *testenv.Env, query string) []admin.Delivery {
	t.Helper()
	r := env.Do(t, http.MethodGet, "/callplane/deliveries"+query, env.Server.Directory().AdminSecret(), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("admin deliveries: %d %s", r.Status, r.Body)
	}
	var list admin.DeliveryList
	r.JSON(t, &list)
	return list.Value
}

// TestFailedDeliveryInspectable: a notification the bot refuses past the
// retry deadline is marked failed, shows in the admin API and the CLI with
// its attempts and last error, and the call's later notification still
// arrives.
func TestFailedDeliveryInspectable(t *testing.T) {
	env := testenv.Start(t, func(c *server.Config) { c.Delivery.RetryDeadline = 200 * time.Millisecond })
	bot := testbot.Start(t)
	bot.Respond(func(r *http.Request, body []byte) int {
		if strings.Contains(string(body), `"state":"terminating"`) {
			return http.StatusInternalServerError
		}
		return http.StatusAccepted
	})
	c := env.PlaceCall(t, bot.URL)
	resource := "/communications/calls/" + c.ID
	bot.WaitAcked(t, wait, resource, 2)
	env.Do(t, http.MethodDelete, testenv.CallPath(c.ID), env.Token, nil)
	got := bot.WaitAcked(t, wait, resource, 3)
	if got[2].State != "terminated" {
		t.Fatalf("after the failed one: %v", states(got))
	}

	// Outcomes are recorded in the background: wait for the failure's.
	var failed []admin.Delivery
	eventually(t, "the failure recorded", func() bool {
		failed = adminDeliveries(t, env, "?call="+c.ID+"&status=failed")
		return len(failed) > 0
	})
	if len(failed) != 1 || failed[0].State != "terminating" || failed[0].Attempts < 2 ||
		failed[0].LastStatusCode != 500 || !strings.Contains(failed[0].LastError, "500") {
		t.Fatalf("failed deliveries: %+v", failed)
	}
	if !strings.Contains(string(failed[0].Payload), `"terminating"`) {
		t.Fatalf("payload not shown: %s", failed[0].Payload)
	}
	waitDelivered(t, env, c.ID, 4)
	byCallback := adminDeliveries(t, env, "?callback="+bot.URL)
	if len(byCallback) != 4 {
		t.Fatalf("by callback URI: %d deliveries, want 4", len(byCallback))
	}
	if r := env.Do(t, http.MethodGet, "/callplane/deliveries", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("admin API without the credential: %d", r.Status)
	}
	if r := env.Do(t, http.MethodGet, "/callplane/deliveries", env.Token, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("admin API with a Graph token: %d", r.Status)
	}

	out, err := exec.Command(callplaneBinary, "deliveries", "--data", env.DataDir, "--call", c.ID).CombinedOutput()
	if err != nil {
		t.Fatalf("callplane deliveries: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "updated/terminating") || !strings.Contains(string(out), "failed") || !strings.Contains(string(out), "HTTP 500") {
		t.Fatalf("callplane deliveries output:\n%s", out)
	}
}

// TestCallbackPolicy: with an allow list, only https callbacks to listed
// hosts and networks are accepted.
func TestCallbackPolicy(t *testing.T) {
	policy, err := delivery.ParsePolicyList("bots.example.test, 10.1.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, func(c *server.Config) { c.Delivery.Policy = policy })
	for uri, want := range map[string]int{
		"https://bots.example.test/api/calls": http.StatusCreated,
		"https://10.1.2.3:8443/api/calls":     http.StatusCreated,
		"http://bots.example.test/api/calls":  http.StatusBadRequest,
		"https://evil.example.test/api/calls": http.StatusBadRequest,
		"https://10.2.0.1/api/calls":          http.StatusBadRequest,
		"https://127.0.0.1/api/calls":         http.StatusBadRequest,
	} {
		r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, testenv.CallRequest(uri))
		if r.Status != want {
			t.Errorf("%s: %d %s, want %d", uri, r.Status, r.Body, want)
		}
	}
}
