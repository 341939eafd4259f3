package e2e

import (
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// freeAddr returns a loopback address nobody listens on, so a restarted
// server can come back at the same place.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startChild runs callplane serve as a child process and waits until it
// serves.
func startChild(t *testing.T, listen, data string) (*process, *testenv.Env) {
	t.Helper()
	p := run(t, nil, "serve", "--listen", listen, "--data", data, "--answer-delay", "10ms",
		"--delivery-min-backoff", "10ms", "--delivery-max-backoff", "300ms", "--delivery-deadline", "10m")
	p.waitLine(t, regexp.MustCompile(`Graph base URL`))
	token := strings.TrimSpace(output(t, nil, "token", "--data", data))
	return p, &testenv.Env{URL: "http://" + listen, Token: token, Client: &http.Client{Timeout: wait}}
}

// TestCrashLosesNoNotification: 200 calls are placed and hung up while the
// bot refuses a third of all deliveries at random, and callplane is killed
// with SIGKILL in the middle of the hang-ups. After a restart on the same
// data directory, every call's four notifications have arrived, in order;
// a notification delivered twice carries the same message id both times.
func TestCrashLosesNoNotification(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	const calls = 200
	data := t.TempDir()
	listen := freeAddr(t)
	bot := testbot.Start(t)
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	bot.Respond(func(r *http.Request, body []byte) int {
		mu.Lock()
		defer mu.Unlock()
		if rng.IntN(3) == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusAccepted
	})

	child, env := startChild(t, listen, data)
	ids := make([]string, calls)
	parallel(t, calls, func(i int) {
		ids[i] = env.PlaceCall(t, bot.URL).ID
	})

	// Hang up every call from 8 workers; kill callplane once half the
	// hang-ups were answered, with the rest in flight.
	deleted := make([]bool, calls)
	var answered atomic.Int64
	killed := make(chan struct{})
	var killOnce sync.Once
	parallel(t, calls, func(i int) {
		select {
		case <-killed:
			return
		default:
		}
		req, _ := http.NewRequest(http.MethodDelete, env.URL+testenv.CallPath(ids[i]), nil)
		req.Header.Set("Authorization", "Bearer "+env.Token)
		resp, err := env.Client.Do(req)
		if err != nil {
			return // the server died under this request
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("delete %s: %d", ids[i], resp.StatusCode)
			return
		}
		deleted[i] = true
		if answered.Add(1) == calls/2 {
			killOnce.Do(func() {
				child.cmd.Process.Kill() // SIGKILL
				close(killed)
			})
		}
	})
	<-killed
	child.cmd.Wait()
	t.Logf("killed after %d hang-ups were answered", answered.Load())

	_, env = startChild(t, listen, data)
	redone := 0
	for i, ok := range deleted {
		if ok {
			continue
		}
		redone++
		r := env.Do(t, http.MethodDelete, testenv.CallPath(ids[i]), env.Token, nil)
		if r.Status != http.StatusNoContent && r.Status != http.StatusNotFound {
			t.Fatalf("delete %s after restart: %d %s", ids[i], r.Status, r.Body)
		}
	}
	t.Logf("%d hang-ups sent again after the restart (204 or, if committed before the kill, 404)", redone)

	want := []string{"establishing", "established", "terminating", "terminated"}
	all := bot.Wait(t, 60*time.Second, "every call's four notifications", func(all []testbot.Notification) bool {
		return len(firstDeliveries(all)) == calls*len(want)
	})
	first := firstDeliveries(all)
	duplicates := 0
	for _, id := range ids {
		resource := "/communications/calls/" + id
		var got []string
		byState := map[string]string{}
		for _, n := range first {
			if n.ResourceURL != resource {
				continue
			}
			got = append(got, n.State)
			if prev, ok := byState[n.State]; ok && prev != n.MessageID {
				t.Errorf("call %s: %s announced twice, as messages %s and %s", id, n.State, prev, n.MessageID)
			}
			byState[n.State] = n.MessageID
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("call %s: notifications %v, want %v", id, got, want)
		}
	}
	acked := 0
	for _, n := range all {
		if n.Acked() {
			acked++
		}
	}
	duplicates = acked - len(first)
	t.Logf("%d notifications acknowledged for %d distinct messages (%d duplicates, all with their first delivery's message id); %d deliveries refused by the bot",
		acked, len(first), duplicates, len(all)-acked)
}

// firstDeliveries keeps each message's first acknowledged delivery, in
// arrival order. A later delivery of the same message is a duplicate, which
// the same message id lets a bot discard.
func firstDeliveries(all []testbot.Notification) []testbot.Notification {
	seen := map[string]bool{}
	var out []testbot.Notification
	for _, n := range all {
		if n.Acked() && !seen[n.MessageID] {
			seen[n.MessageID] = true
			out = append(out, n)
		}
	}
	return out
}

// parallel runs f(0..n-1) on 8 workers and waits for them.
func parallel(t *testing.T, n int, f func(i int)) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// TestCrashBetweenIncomingAndAnswer: callplane is killed (SIGKILL) after a
// call rang the bot and before the bot answered, with the created
// notification not yet acknowledged. After a restart the webhook gets
// created, the bot answers, and hears establishing and established.
func TestCrashBetweenIncomingAndAnswer(t *testing.T) {
	data := t.TempDir()
	listen := freeAddr(t)
	webhook := testbot.Start(t)
	answered := testbot.Start(t)
	down := true
	var mu sync.Mutex
	webhook.Respond(func(*http.Request, []byte) int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusServiceUnavailable // not acknowledged before the crash
		}
		return http.StatusAccepted
	})
	p, env := startChild(t, listen, data)
	admin := func(env *testenv.Env, method, path string, body any) testenv.Response {
		secret := regexp.MustCompile(`"adminSecret":\s*"([^"]+)"`).FindStringSubmatch(readFile(t, data+"/directory.json"))[1]
		return env.Do(t, method, path, secret, body)
	}
	dev := regexp.MustCompile(`"clientId":\s*"([^"]+)"`).FindStringSubmatch(readFile(t, data+"/directory.json"))[1]
	if r := admin(env, http.MethodPatch, "/callplane/applications/"+dev, map[string]any{"callingWebhook": webhook.URL}); r.Status != http.StatusOK {
		t.Fatalf("set the webhook: %d %s", r.Status, r.Body)
	}
	r := admin(env, http.MethodPost, "/callplane/calls", map[string]any{"from": map[string]any{"user": map[string]any{"id": "alice"}}, "to": map[string]any{"application": map[string]any{}}})
	var placed struct {
		ID string `json:"id"`
	}
	r.JSON(t, &placed)
	resource := "/communications/calls/" + placed.ID
	webhook.Wait(t, wait, "a refused attempt at created", func(all []testbot.Notification) bool { return len(all) > 0 })
	p.cmd.Process.Kill()
	p.cmd.Wait()

	mu.Lock()
	down = false
	mu.Unlock()
	_, env = startChild(t, listen, data)
	created := webhook.WaitAcked(t, wait, resource, 1)[0]
	if created.ChangeType != "created" || created.State != "incoming" {
		t.Fatalf("after the restart: %s/%s", created.ChangeType, created.State)
	}
	r = env.Do(t, http.MethodPost, testenv.CallPath(placed.ID)+"/answer", env.Token, map[string]any{
		"callbackUri": answered.URL, "mediaConfig": map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
	})
	if r.Status != http.StatusAccepted {
		t.Fatalf("answer after the restart: %d %s", r.Status, r.Body)
	}
	got := answered.WaitAcked(t, wait, resource, 2)
	if !equal(states(got), []string{"updated/establishing", "updated/established"}) {
		t.Fatalf("after answering: %v", states(got))
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
