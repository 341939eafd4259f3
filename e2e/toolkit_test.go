package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// TestReadyFile: serve --listen 127.0.0.1:0 --ephemeral --ready-file
// writes, by the time it says it listens, a file that is all a test needs
// to get a token and place a call; at exit the file and the temporary data
// directory are gone.
func TestReadyFile(t *testing.T) {
	readyPath := filepath.Join(t.TempDir(), "ready.json")
	p := run(t, nil, "serve", "--listen", "127.0.0.1:0", "--ephemeral", "--ready-file", readyPath)
	p.waitLine(t, regexp.MustCompile(`callplane is listening`))
	data, err := os.ReadFile(readyPath)
	if err != nil {
		t.Fatal(err)
	}
	var ready server.Ready
	if err := json.Unmarshal(data, &ready); err != nil {
		t.Fatalf("ready file: %v\n%s", err, data)
	}
	for key, v := range map[string]string{"graphUrl": ready.GraphURL, "tenantId": ready.TenantID, "clientId": ready.ClientID,
		"clientSecret": ready.ClientSecret, "adminSecret": ready.AdminSecret, "tokenEndpoint": ready.TokenEndpoint,
		"openidConfiguration": ready.OpenIDConfiguration, "callbackOpenidConfiguration": ready.CallbackOpenIDConfiguration} {
		if v == "" {
			t.Errorf("ready file: no %s\n%s", key, data)
		}
	}
	if ready.PID != p.cmd.Process.Pid || !strings.HasPrefix(ready.GraphURL, "http://127.0.0.1:") || strings.HasSuffix(ready.GraphURL, ":0/v1.0") {
		t.Fatalf("ready file: %s", data)
	}

	// A token from the token endpoint with the file's credentials, then a call.
	resp, err := http.PostForm(ready.TokenEndpoint, url.Values{"grant_type": {"client_credentials"}, "client_id": {ready.ClientID},
		"client_secret": {ready.ClientSecret}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var token struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&token)
	resp.Body.Close()
	bot := testbot.Start(t)
	graph := &testenv.Env{URL: strings.TrimSuffix(ready.GraphURL, "/v1.0"), Client: http.DefaultClient}
	r := graph.Do(t, http.MethodPost, "/v1.0/communications/calls", token.AccessToken, testenv.CallRequest(bot.URL))
	if r.Status != http.StatusCreated {
		t.Fatalf("create a call with the ready file's token: %d %s", r.Status, r.Body)
	}
	health := graph.Do(t, http.MethodGet, "/callplane/health", "", nil)
	if health.Status != http.StatusOK || !strings.Contains(string(health.Body), `"ok"`) {
		t.Fatalf("health without credentials: %d %s", health.Status, health.Body)
	}

	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("serve exited: %v\n%s", err, p.stderr.String())
	}
	for _, gone := range []string{readyPath, ready.DataDir} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s still there after exit: %v", gone, err)
		}
	}
}

// TestReset: a reset ends live calls and meetings without a notification,
// forgets people, and the next test starts clean, while tokens minted
// before it still work.
func TestReset(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	before := graphID(t, env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, testenv.CallRequest(bot.URL)))
	bot.WaitAcked(t, wait, "/communications/calls/"+before, 2)
	m := createMeeting(t, env, "alice")
	leg := join(t, env, env.Token, m, "organizer", false)
	sim(t, env, http.MethodPut, "/people/bob", map[string]any{"answer": "busy"})
	notified := len(bot.All()) + len(leg.bot.All())

	if r := sim(t, env, http.MethodPost, "/reset", nil); r.Status != http.StatusNoContent {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	for _, path := range []string{testenv.CallPath(before), testenv.CallPath(leg.call.ID)} {
		if r := env.Do(t, http.MethodGet, path, env.Token, nil); r.Status != http.StatusNotFound {
			t.Errorf("GET %s after reset: %d", path, r.Status)
		}
	}
	if r := sim(t, env, http.MethodGet, "/meetings/"+m.ID, nil); r.Status != http.StatusNotFound {
		t.Errorf("the meeting after reset: %d", r.Status)
	}
	var people admin.PeopleList
	sim(t, env, http.MethodGet, "/people", nil).JSON(t, &people)
	if len(people.Value) != 0 {
		t.Errorf("people after reset: %+v", people.Value)
	}
	deliveries := sim(t, env, http.MethodGet, "/deliveries", nil)
	var list admin.DeliveryList
	deliveries.JSON(t, &list)
	if len(list.Value) != 0 {
		t.Errorf("deliveries after reset: %d", len(list.Value))
	}

	// The next test: the token minted before the reset places a call, and
	// its notifications are the first anyone got since.
	after := graphID(t, env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, testenv.CallRequest(bot.URL)))
	bot.WaitAcked(t, wait, "/communications/calls/"+after, 2)
	if got := len(bot.All()) + len(leg.bot.All()); got != notified+2 {
		t.Fatalf("%d notifications since the reset, want the new call's 2: %s %s", got-notified, testbot.Describe(bot.All()), testbot.Describe(leg.bot.All()))
	}
	r := env.Do(t, http.MethodDelete, testenv.CallPath(after), env.Token, nil)
	if r.Status != http.StatusNoContent {
		t.Fatalf("delete after reset: %d", r.Status)
	}
	bot.WaitAcked(t, wait, "/communications/calls/"+after, 4)
}
