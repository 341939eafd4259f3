package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/pgtest"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// roundRobin sends the bots' requests over the nodes of a cluster, as a
// load balancer does: request i goes to node i mod n, or to the next one
// when that node does not answer (it is down).
type roundRobin struct {
	mu     sync.Mutex
	nodes  []*clusterNode
	next   atomic.Int64
	token  string
	client *http.Client
	// served counts the requests each node answered.
	served []atomic.Int64
}

func (rr *roundRobin) node(i int) *clusterNode {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.nodes[i%len(rr.nodes)]
}

func (rr *roundRobin) replace(i int, n *clusterNode) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.nodes[i] = n
}

// do sends a Graph request with the bots' token and returns the status and
// body. A request a node never answered (refused, or cut by its death) is
// sent to the next node: for creations, the first may have been saved all
// the same, and the test knows only the call it was answered about.
func (rr *roundRobin) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	return rr.send(t, method, path, rr.token, body)
}

// send is do with another credential (the admin secret, for the
// simulator).
func (rr *roundRobin) send(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	status, out, _ := rr.sendTo(t, method, path, token, body)
	return status, out
}

// sendTo is send that also says which node answered.
func (rr *roundRobin) sendTo(t *testing.T, method, path, token string, body any) (int, []byte, int) {
	t.Helper()
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	start := int(rr.next.Add(1))
	deadline := time.Now().Add(wait)
	for k := 0; time.Now().Before(deadline); k++ {
		i := (start + k) % len(rr.nodes)
		n := rr.node(i)
		req, _ := http.NewRequest(method, n.ready.BaseURL+path, strings.NewReader(string(data)))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := rr.client.Do(req)
		if err != nil {
			continue
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			continue
		}
		rr.served[i].Add(1)
		return resp.StatusCode, out, i
	}
	t.Errorf("%s %s: no node answered within %v", method, path, wait)
	return 0, nil, -1
}

// failoverCall is one call of the failover test and what it did.
type failoverCall struct {
	id  string
	bot *testbot.Bot
	// node created it, at created.
	node    int
	created time.Time
	prompt  string // the playPrompt operation, if it played one
	tone    bool   // whether it subscribed to tones and its person pressed 1
}

// TestFailover: three nodes on one PostgreSQL, the bots' requests spread
// round-robin over them; 300 calls go through their whole life (created,
// established on the answer timer, a third play a prompt, a fifth take a
// key press, hung up, terminated on the teardown timer), while one node is
// SIGKILLed after 100 calls and started again after 200. Every call's
// notifications arrive complete and in order, each timer fires exactly
// once (one established, one completion per prompt, one terminated), and a
// notification delivered twice carries the same message id.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("failover test skipped in -short mode")
	}
	const calls = 300
	storeURL := pgtest.URL(t)
	nodes := make([]*clusterNode, 3)
	for i := range nodes {
		nodes[i] = startNode(t, storeURL, freeAddr(t), t.TempDir(), "--lease-ttl", "2s")
	}
	rr := &roundRobin{nodes: nodes, token: clusterToken(t, storeURL), client: &http.Client{Timeout: wait}, served: make([]atomic.Int64, 3)}
	admin := nodes[0].ready.AdminSecret

	// 20 bots, each refusing a tenth of the deliveries at random: retries
	// are under way when the node dies.
	bots := make([]*testbot.Bot, 20)
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range bots {
		bots[i] = testbot.Start(t)
		bots[i].Respond(func(*http.Request, []byte) int {
			mu.Lock()
			defer mu.Unlock()
			if rng.IntN(10) == 0 {
				return http.StatusInternalServerError
			}
			return http.StatusAccepted
		})
	}

	var (
		created  atomic.Int64
		killedAt time.Time
	)
	killed, restarted := make(chan struct{}), make(chan struct{})
	// onVictim hears of the calls node 1 creates: it dies right after one,
	// once 100 calls exist, so that a call of its own is under way.
	onVictim := make(chan struct{}, calls)
	go func() {
		defer close(restarted)
		for range onVictim {
			if created.Load() >= calls/3 {
				break
			}
		}
		victim := nodes[1]
		victim.p.cmd.Process.Kill() // SIGKILL: its lease runs out, its calls wait for another node
		killedAt = time.Now()
		victim.p.cmd.Wait()
		close(killed)
		t.Logf("SIGKILLed node %s after %d calls were created", victim.ready.BaseURL, created.Load())
		for giveUp := time.Now().Add(time.Minute); created.Load() < 2*calls/3 && time.Now().Before(giveUp); {
			time.Sleep(5 * time.Millisecond) // polled: the workers go on meanwhile
		}
		back := startNode(t, storeURL, victim.listen, victim.data, "--lease-ttl", "2s")
		rr.replace(1, back)
		t.Logf("started it again after %d calls", created.Load())
	}()

	results := make([]failoverCall, calls)
	parallel(t, calls, func(i int) {
		c := &results[i]
		c.bot = bots[i%len(bots)]
		c.created = time.Now()
		status, body, node := rr.sendTo(t, http.MethodPost, "/v1.0/communications/calls", rr.token, testenv.CallRequest(c.bot.URL))
		c.node = node
		if status != http.StatusCreated {
			t.Errorf("create call %d: %d %s", i, status, body)
			return
		}
		var v graph.Call
		json.Unmarshal(body, &v)
		c.id = v.ID
		created.Add(1)
		if node == 1 {
			onVictim <- struct{}{}
		}
		resource := "/communications/calls/" + c.id
		waitStates(t, c.bot, resource, "established")
		if i%3 == 0 {
			status, body := rr.do(t, http.MethodPost, testenv.CallPath(c.id)+"/playPrompt", promptBody("http://127.0.0.1:9/prompt.wav"))
			if status != http.StatusOK {
				t.Errorf("playPrompt on call %d: %d %s", i, status, body)
				return
			}
			var op graph.Operation
			json.Unmarshal(body, &op)
			c.prompt = op.ID
			c.bot.Wait(t, 3*wait, "the prompt's completion", func(all []testbot.Notification) bool {
				return len(testbot.Acked(all, resource+"/operations/"+op.ID)) > 0
			})
		}
		if i%5 == 0 {
			if status, body := rr.do(t, http.MethodPost, testenv.CallPath(c.id)+"/subscribeToTone", map[string]any{"clientContext": "keys"}); status != http.StatusOK {
				t.Errorf("subscribeToTone on call %d: %d %s", i, status, body)
				return
			}
			if status, body := rr.send(t, http.MethodPost, "/callplane/calls/"+c.id+"/tones", admin, map[string]any{"tones": "1"}); status != http.StatusNoContent {
				t.Errorf("press 1 on call %d: %d %s", i, status, body)
				return
			}
			c.tone = true
		}
		status, body = rr.do(t, http.MethodDelete, testenv.CallPath(c.id), nil)
		if status != http.StatusNoContent && status != http.StatusNotFound { // 404: a retried hang-up the first node saved
			t.Errorf("hang up call %d: %d %s", i, status, body)
		}
		waitStates(t, c.bot, resource, "terminated")
	})
	close(onVictim)
	<-restarted
	if t.Failed() {
		t.FailNow()
	}
	select {
	case <-killed:
	default:
		t.Fatal("no node was killed")
	}

	duplicates := 0
	// The calls the killed node owned while they were under way: their
	// notifications after the kill came from the node that took them over.
	var orphans int
	failover := time.Duration(0)
	for i, c := range results {
		resource := "/communications/calls/" + c.id
		all := c.bot.All()
		first := firstDeliveries(all)
		var got []string
		byKind := map[string]string{}
		for _, n := range first {
			if n.ResourceURL != resource {
				continue
			}
			kind := n.State
			var v graph.Call
			if json.Unmarshal(n.Data, &v) == nil && v.ToneInfo != nil {
				kind = "tone " + v.ToneInfo.Tone
			}
			got = append(got, kind)
			if prev, ok := byKind[kind]; ok {
				t.Errorf("call %d: %s announced twice, as messages %s and %s", i, kind, prev, n.MessageID)
			}
			byKind[kind] = n.MessageID
		}
		want := []string{"establishing", "established"}
		if c.tone {
			want = append(want, "tone tone1")
		}
		want = append(want, "terminating", "terminated")
		if !equal(got, want) {
			t.Errorf("call %d (%s): notifications %v, want %v", i, c.id, got, want)
		}
		if c.prompt != "" {
			if done := testbot.Acked(firstDeliveries(all), resource+"/operations/"+c.prompt); len(done) != 1 || done[0].ChangeType != "deleted" {
				t.Errorf("call %d: the prompt's completion announced %d times: %v", i, len(done), states(done))
			}
		}
		if c.node == 1 && c.created.Before(killedAt) {
			for _, n := range first {
				if strings.HasPrefix(n.ResourceURL, resource) && n.At.After(killedAt) {
					orphans++
					if took := n.At.Sub(killedAt); failover == 0 || took < failover {
						failover = took
					}
					break
				}
			}
		}
		seen := map[string]int{}
		for _, n := range all {
			if n.Acked() && strings.HasPrefix(n.ResourceURL, resource) {
				seen[n.MessageID]++
			}
		}
		for _, count := range seen {
			duplicates += count - 1
		}
	}
	served := make([]int64, len(rr.served))
	for i := range rr.served {
		served[i] = rr.served[i].Load()
	}
	t.Logf("%d calls; requests answered per node %v; %d notifications delivered again, each with its message id", calls, served, duplicates)
	if orphans == 0 {
		t.Fatal("no call of the killed node was under way when it died: the test did not exercise a takeover")
	}
	t.Logf("%d calls of the killed node went on elsewhere; the first of their notifications after the SIGKILL arrived %v after it (lease 2s)",
		orphans, failover.Round(time.Millisecond))
	for _, n := range []*clusterNode{nodes[0], nodes[2]} {
		n.p.mu.Lock()
		took := strings.Contains(n.p.stderr.String(), "took over a node's calls")
		n.p.mu.Unlock()
		if took {
			return
		}
	}
	t.Fatal("no surviving node logged taking the killed node's calls over")
}

// waitStates waits until the call's resource announced the state.
func waitStates(t *testing.T, bot *testbot.Bot, resource, state string) {
	t.Helper()
	bot.Wait(t, 3*wait, fmt.Sprintf("%s %s", resource, state), func(all []testbot.Notification) bool {
		for _, n := range all {
			if n.Acked() && n.ResourceURL == resource && n.State == state {
				return true
			}
		}
		return false
	})
}
