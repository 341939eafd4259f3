package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/graph"
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
// serves. Short answers, teardowns and prompts keep the tests quick; every
// call's life still runs on its timers. The lease is the default (10 s),
// which a busy machine never lets run out by itself; a test of failover
// passes a shorter one in args (a later flag wins).
func startNode(t *testing.T, storeURL, listen, data string, args ...string) *clusterNode {
	t.Helper()
	s := serveReady(t, append([]string{"--store", storeURL, "--listen", listen, "--data", data,
		"--answer-delay", "50ms", "--teardown-delay", "50ms", "--prompt-fetch=false", "--prompt-duration", "200ms",
		"--delivery-min-backoff", "10ms", "--delivery-max-backoff", "300ms", "--delivery-deadline", "10m"}, args...)...)
	n := &clusterNode{p: s.p, listen: listen, data: data, ready: s.ready}
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
	// Commands reach the cluster through its store.
	if out := output(t, nil, "app", "list", "--store", storeURL); !strings.Contains(out, added.ID) {
		t.Fatalf("callplane app list --store does not list %s:\n%s", added.ID, out)
	}
	if out := output(t, nil, "deliveries", "--store", storeURL); !strings.Contains(out, "delivered") && !strings.Contains(out, "pending") {
		t.Fatalf("callplane deliveries --store:\n%s", out)
	}

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

// TestClusterGroupCall: 20 bots join one meeting through different nodes,
// then 15 leave at once through different nodes again. Every remaining
// bot's roster (notified, full or delta, and listed through any node) is
// who is left, and each leaving bot hears exactly one terminated.
func TestClusterGroupCall(t *testing.T) {
	storeURL := pgtest.URL(t)
	nodes := []*clusterNode{
		startNode(t, storeURL, "127.0.0.1:0", t.TempDir()),
		startNode(t, storeURL, "127.0.0.1:0", t.TempDir()),
		startNode(t, storeURL, "127.0.0.1:0", t.TempDir()),
	}
	secret := nodes[0].ready.AdminSecret
	req := admin.MeetingRequest{Subject: "Across nodes"}
	for _, p := range []string{"alice", "bob"} {
		req.Participants = append(req.Participants, graph.IdentitySet{User: &graph.Identity{ID: p, DisplayName: "Person " + p}})
	}
	r := nodes[0].env.Do(t, http.MethodPost, "/callplane/meetings", secret, req)
	if r.Status != http.StatusCreated {
		t.Fatalf("create meeting: %d %s", r.Status, r.Body)
	}
	var m admin.GroupView
	r.JSON(t, &m)

	const n = 20
	legs := make([]*leg, n)
	apps := make([]string, n)
	for i := range n {
		// Each bot registered through one node, its token from another.
		add := nodes[i%3].env.Do(t, http.MethodPost, "/callplane/applications", secret, map[string]any{"displayName": fmt.Sprint("bot ", i)})
		if add.Status != http.StatusCreated {
			t.Fatalf("add application: %d %s", add.Status, add.Body)
		}
		var app admin.NewApplicationView
		add.JSON(t, &app)
		apps[i] = app.ID
		from := nodes[(i+1)%3].ready
		legs[i] = &leg{env: nodes[(i+2)%3].env, bot: testbot.Start(t), token: tokenFrom(t, from.TokenEndpoint, app.ID, app.ClientSecret), delta: i%2 == 1}
	}
	joinAtOnce(t, m, legs)
	everyone := append([]string{"alice", "bob"}, apps...)
	for _, l := range legs {
		l.waitEstablished(t, m)
		waitRosterOf(t, l, "all 22", everyone)
	}

	// 15 leave at once, each through the node after the one it joined by.
	var leaving sync.WaitGroup
	for i, l := range legs[:15] {
		leaving.Add(1)
		go func() {
			defer leaving.Done()
			via := nodes[(i+3)%3].env
			if r := via.Do(t, http.MethodDelete, testenv.CallPath(l.call.ID), l.token, nil); r.Status != http.StatusNoContent {
				t.Errorf("leave %s: %d %s", l.call.ID, r.Status, r.Body)
			}
		}()
	}
	leaving.Wait()
	remaining := []string{"alice", "bob"}
	for _, l := range legs[15:] {
		remaining = append(remaining, appOf(l))
	}
	sort.Strings(remaining)
	for i, l := range legs[15:] {
		waitRosterOf(t, l, "who is left", remaining)
		// Listed through every node, the roster is the same.
		for _, node := range nodes {
			r := node.env.Do(t, http.MethodGet, testenv.CallPath(l.call.ID)+"/participants", l.token, nil)
			var list graph.ParticipantList
			r.JSON(t, &list)
			var ids []string
			for _, p := range list.Value {
				ids = append(ids, idOf(p.Info.Identity))
			}
			sort.Strings(ids)
			if !slices.Equal(ids, remaining) {
				t.Errorf("bot %d's roster through %s: %v, want %v", 15+i, node.ready.BaseURL, ids, remaining)
			}
		}
	}
	for i, l := range legs[:15] {
		got := l.bot.WaitAcked(t, wait, l.resource(), 4)
		terminated := 0
		for _, x := range testbot.Acked(l.bot.All(), l.resource()) {
			if x.State == "terminated" {
				terminated++
			}
		}
		if terminated != 1 || got[3].State != "terminated" {
			t.Errorf("leaving bot %d: %d terminated: %v", i, terminated, states(got))
		}
	}
}

// waitRosterOf waits until the leg's roster (its last full roster, or its
// deltas replayed) is who.
func waitRosterOf(t *testing.T, l *leg, what string, who []string) {
	t.Helper()
	if l.delta {
		l.bot.Wait(t, wait, "deltas adding up to "+what, func(all []testbot.Notification) bool {
			return same(replayDeltas(t, testbot.Acked(all, l.roster())), who...)
		})
		return
	}
	l.waitRoster(t, "the roster of "+what, func(p, _ []string) bool { return same(p, who...) })
}

// TestClusterScript: scripts/cluster, the README's way to try a cluster,
// starts three nodes on one database that serve, and stops them on Ctrl-C.
func TestClusterScript(t *testing.T) {
	storeURL := pgtest.URL(t)
	cmd := exec.Command("../scripts/cluster")
	cmd.Env = append(os.Environ(), "CALLPLANE_STORE="+storeURL, "CALLPLANE_BIN="+callplaneBinary, "PORT=0", "NODES=3")
	p := &process{cmd: cmd, notify: make(chan struct{}, 1)}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &syncWriter{w: &p.stderr, mu: &p.mu}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	go p.read(stdout)
	p.waitLine(t, regexp.MustCompile(`^cluster ready: 3 nodes`))
	var urls []string
	p.mu.Lock()
	for _, l := range p.lines {
		if m := regexp.MustCompile(`^node \d: (http://\S+)/v1\.0`).FindStringSubmatch(l); m != nil {
			urls = append(urls, m[1])
		}
	}
	p.mu.Unlock()
	if len(urls) != 3 {
		t.Fatalf("the script named %d nodes: %v", len(urls), urls)
	}
	token := clusterToken(t, storeURL)
	bot := testbot.Start(t)
	for _, u := range urls {
		env := &testenv.Env{URL: u, Client: &http.Client{Timeout: wait}}
		if r := env.Do(t, http.MethodGet, "/callplane/health", "", nil); r.Status != http.StatusOK {
			t.Fatalf("%s/callplane/health: %d", u, r.Status)
		}
		if r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", token, testenv.CallRequest(bot.URL)); r.Status != http.StatusCreated {
			t.Fatalf("create a call through %s: %d %s", u, r.Status, r.Body)
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(wait):
		t.Fatal("the script did not stop on Ctrl-C")
	}
	for _, u := range urls {
		if resp, err := http.Get(u + "/callplane/health"); err == nil {
			resp.Body.Close()
			t.Errorf("%s still serves after the script stopped", u)
		}
	}
}

// TestClusterResetAndFaults: a fault rule added through one node acts on
// every node, its times counted across them; a reset through one node
// ends the calls every node owns, without a notification, and the world
// starts over everywhere.
func TestClusterResetAndFaults(t *testing.T) {
	storeURL := pgtest.URL(t)
	a := startNode(t, storeURL, "127.0.0.1:0", t.TempDir())
	b := startNode(t, storeURL, "127.0.0.1:0", t.TempDir())
	secret := a.ready.AdminSecret
	token := clusterToken(t, storeURL)
	bot := testbot.Start(t)

	rule := map[string]any{"kind": "graph", "method": "POST", "path": "/communications/calls", "status": 503, "retryAfter": 1, "times": 2}
	if r := a.env.Do(t, http.MethodPost, "/callplane/faults", secret, rule); r.Status != http.StatusCreated {
		t.Fatalf("add a fault rule through a: %d %s", r.Status, r.Body)
	}
	for i, n := range []*clusterNode{b, a, b} {
		r := n.env.Do(t, http.MethodPost, "/v1.0/communications/calls", token, testenv.CallRequest(bot.URL))
		want := http.StatusServiceUnavailable
		if i == 2 {
			want = http.StatusCreated // the rule's two times are used up, across the nodes
		}
		if r.Status != want {
			t.Fatalf("create %d through %s: %d %s, want %d", i, n.ready.BaseURL, r.Status, r.Body, want)
		}
	}

	// A live call of each node's, then a reset through b.
	calls := []string{placeOn(t, a, token, bot.URL), placeOn(t, b, token, bot.URL)}
	for _, id := range calls {
		waitStates(t, bot, "/communications/calls/"+id, "established")
	}
	before := len(bot.All())
	if r := b.env.Do(t, http.MethodPost, "/callplane/reset", secret, nil); r.Status != http.StatusNoContent {
		t.Fatalf("reset through b: %d %s", r.Status, r.Body)
	}
	for _, id := range calls {
		for _, n := range []*clusterNode{a, b} {
			if r := n.env.Do(t, http.MethodGet, testenv.CallPath(id), token, nil); r.Status != http.StatusNotFound {
				t.Fatalf("call %s through %s after the reset: %d", id, n.ready.BaseURL, r.Status)
			}
		}
	}
	// The next call's notifications come; the reset calls' never do.
	next := placeOn(t, a, token, bot.URL)
	waitStates(t, bot, "/communications/calls/"+next, "established")
	for _, n := range bot.All()[before:] {
		if !strings.HasSuffix(n.ResourceURL, next) {
			t.Fatalf("a notification after the reset about %s: %s", n.ResourceURL, n.State)
		}
	}
}
