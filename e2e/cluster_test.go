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
	"github.com/callplane/callplane/internal/pgtest"
	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// clusterNode is a callplane serve --store child process: one node of a
// cluster on a PostgreSQL database.
type clusterNode struct {
	p      *process
	ready  server.Ready
	env    *testenv.Env
	listen string
	data   string
}

// startNode starts a node of the cluster on storeURL and waits until it
// serves. Short leases, answers, teardowns and prompts keep the tests
// quick; every call's life still runs on its timers.
func startNode(t *testing.T, storeURL, listen, data string, args ...string) *clusterNode {
	t.Helper()
	readyPath := filepath.Join(t.TempDir(), "ready.json")
	args = append([]string{"serve", "--store", storeURL, "--listen", listen, "--data", data, "--ready-file", readyPath,
		"--lease-ttl", "2s", "--answer-delay", "50ms", "--teardown-delay", "50ms", "--prompt-fetch=false", "--prompt-duration", "200ms",
		"--delivery-min-backoff", "10ms", "--delivery-max-backoff", "300ms", "--delivery-deadline", "10m"}, args...)
	p := run(t, nil, args...)
	p.waitLine(t, regexp.MustCompile(`callplane is listening`))
	raw, err := os.ReadFile(readyPath)
	if err != nil {
		t.Fatal(err)
	}
	n := &clusterNode{p: p, listen: listen, data: data}
	if err := json.Unmarshal(raw, &n.ready); err != nil {
		t.Fatalf("ready file: %v", err)
	}
	n.env = &testenv.Env{URL: n.ready.BaseURL, Client: &http.Client{Timeout: wait}}
	return n
}

// clusterToken mints the dev application's token from the cluster's store.
func clusterToken(t *testing.T, storeURL string) string {
	t.Helper()
	return strings.TrimSpace(output(t, nil, "token", "--store", storeURL))
}

// placeOn creates a call through a node with a token, failing unless 201.
func placeOn(t *testing.T, n *clusterNode, token, callbackURI string) string {
	t.Helper()
	r := n.env.Do(t, http.MethodPost, "/v1.0/communications/calls", token, testenv.CallRequest(callbackURI))
	if r.Status != http.StatusCreated {
		t.Fatalf("create a call through %s: %d %s", n.ready.BaseURL, r.Status, r.Body)
	}
	var c struct{ ID string }
	r.JSON(t, &c)
	return c.ID
}

// TestClusterIdentity: every node of a cluster issues and accepts the same
// tokens, an application added through one node works on another at once,
// and a node restarted at another address keeps accepting the tokens
// issued before.
func TestClusterIdentity(t *testing.T) {
	storeURL := pgtest.URL(t)
	a := startNode(t, storeURL, "127.0.0.1:0", t.TempDir())
	b := startNode(t, storeURL, "127.0.0.1:0", t.TempDir())
	if a.ready.TenantID != b.ready.TenantID || a.ready.ClientID != b.ready.ClientID || a.ready.AdminSecret != b.ready.AdminSecret {
		t.Fatalf("two nodes, two identities: %+v and %+v", a.ready, b.ready)
	}
	bot := testbot.Start(t)

	// A token from the store (callplane token --store), and one from a's
	// token endpoint: both work on both nodes.
	fromStore := clusterToken(t, storeURL)
	fromA := tokenFrom(t, a.ready.TokenEndpoint, a.ready.ClientID, a.ready.ClientSecret)
	for _, token := range []string{fromStore, fromA} {
		for _, n := range []*clusterNode{a, b} {
			placeOn(t, n, token, bot.URL)
		}
	}

	// An application added through a: its secret gets a token from b at
	// once, which b accepts.
	r := a.env.Do(t, http.MethodPost, "/callplane/applications", a.ready.AdminSecret, map[string]any{"displayName": "added on a"})
	if r.Status != http.StatusCreated {
		t.Fatalf("add an application through a: %d %s", r.Status, r.Body)
	}
	var added admin.NewApplicationView
	r.JSON(t, &added)
	token := tokenFrom(t, b.ready.TokenEndpoint, added.ID, added.ClientSecret)
	placeOn(t, b, token, bot.URL)

	// b, stopped and started on another address, accepts a's token.
	if err := b.p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := b.p.cmd.Wait(); err != nil {
		t.Fatalf("b exited: %v\n%s", err, b.p.stderr.String())
	}
	moved := startNode(t, storeURL, freeAddr(t), b.data)
	if moved.ready.BaseURL == b.ready.BaseURL {
		t.Fatalf("b came back at the same address %s", moved.ready.BaseURL)
	}
	placeOn(t, moved, fromA, bot.URL)
	placeOn(t, moved, token, bot.URL)
}

// tokenFrom gets an application token from a token endpoint with a secret.
func tokenFrom(t *testing.T, endpoint, clientID, secret string) string {
	t.Helper()
	resp, err := http.PostForm(endpoint, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		t.Fatalf("token for %s from %s: %d %s", clientID, endpoint, resp.StatusCode, body.Error)
	}
	return body.AccessToken
}
