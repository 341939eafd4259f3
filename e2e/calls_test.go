// Package e2e tests callplane from the outside: a real server on a loopback
// port, driven over HTTP, notifying real HTTP receivers that play the bots.
package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/graph/graphschema"
	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/store"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

const wait = 10 * time.Second

var schema = graphschema.MustLoad()

// openExtras are the undeclared properties of Graph's open types that
// callplane sends because Graph does: a large gallery view's identity says
// "ApplicationType": "LargeGallery-V2" ("Identify large gallery view
// participants in a roster").
var openExtras = []graphschema.Option{graphschema.AllowExtra("microsoft.graph.identity", "ApplicationType")}

// checkSchema fails the test if body is not a valid instance of the Graph
// type.
func checkSchema(t *testing.T, typeName string, body []byte) {
	t.Helper()
	for _, err := range schema.Check(typeName, body, openExtras...) {
		t.Errorf("%s does not match Graph's schema: %v\n%s", typeName, err, body)
	}
}

// checkGraphError checks that a response is a Graph error with the status
// and code, correlated with the request.
func checkGraphError(t *testing.T, r testenv.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	var e graph.ErrorResponse
	r.JSON(t, &e)
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error code %q message %q, want code %q and a message", e.Error.Code, e.Error.Message, code)
	}
	if e.Error.InnerError.RequestID == "" || e.Error.InnerError.RequestID != r.Header.Get("request-id") {
		t.Fatalf("innerError.request-id %q, header request-id %q", e.Error.InnerError.RequestID, r.Header.Get("request-id"))
	}
	if _, err := time.Parse("2006-01-02T15:04:05", e.Error.InnerError.Date); err != nil {
		t.Fatalf("innerError.date %q: %v", e.Error.InnerError.Date, err)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
	}
}

func states(ns []testbot.Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.ChangeType+"/"+n.State)
	}
	return out
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// TestCallLifecycle is the whole story of the seed page: place a call, see it
// establish, hang up with DELETE, and hear terminating then terminated.
func TestCallLifecycle(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)

	resp := env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, testenv.CallRequest(bot.URL))
	if resp.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	checkSchema(t, "microsoft.graph.call", resp.Body)
	var created graph.Call
	resp.JSON(t, &created)
	if created.State != "establishing" || created.ID == "" || created.MyParticipantID == "" || created.CallChainID == "" {
		t.Fatalf("created call: %s", resp.Body)
	}
	if want := env.URL + "/v1.0/communications/calls/" + created.ID; resp.Header.Get("Location") != want {
		t.Fatalf("Location = %q, want %q", resp.Header.Get("Location"), want)
	}
	if want := env.URL + "/v1.0/$metadata#communications/calls/$entity"; created.ODataContext != want {
		t.Fatalf("@odata.context = %q, want %q", created.ODataContext, want)
	}
	if resp.Header.Get("request-id") == "" || resp.Header.Get("client-request-id") == "" {
		t.Fatalf("missing request-id / client-request-id headers: %v", resp.Header)
	}

	resource := "/communications/calls/" + created.ID
	got := bot.WaitAcked(t, wait, resource, 2)
	if !equal(states(got), []string{"updated/establishing", "updated/established"}) {
		t.Fatalf("create notifications: %v", states(got))
	}

	get := env.Do(t, http.MethodGet, testenv.CallPath(created.ID), env.Token, nil)
	if get.Status != http.StatusOK {
		t.Fatalf("get: %d %s", get.Status, get.Body)
	}
	checkSchema(t, "microsoft.graph.call", get.Body)
	var fetched graph.Call
	get.JSON(t, &fetched)
	if fetched.State != "established" || fetched.ID != created.ID {
		t.Fatalf("get after answer: %s", get.Body)
	}

	del := env.Do(t, http.MethodDelete, testenv.CallPath(created.ID), env.Token, nil)
	if del.Status != http.StatusNoContent || len(del.Body) != 0 {
		t.Fatalf("delete: %d %q, want 204 and an empty body", del.Status, del.Body)
	}

	got = bot.WaitAcked(t, wait, resource, 4)
	if !equal(states(got), []string{"updated/establishing", "updated/established", "updated/terminating", "deleted/terminated"}) {
		t.Fatalf("notifications: %v", states(got))
	}
	end := got[3]
	if end.ResultInfo == nil || end.ResultInfo.Code != 0 {
		t.Fatalf("terminated resultInfo = %+v, want code 0", end.ResultInfo)
	}
	if strings.Contains(string(end.Data), `"code":"`) {
		t.Fatalf("resultInfo.code is a string: %s", end.Data)
	}

	// Every notification is a valid commsNotifications body, signed, with the
	// real service's headers, and a distinct message id.
	seen := map[string]bool{}
	for _, body := range bot.Bodies() {
		checkSchema(t, "microsoft.graph.commsNotifications", body)
	}
	for _, n := range got {
		if !strings.HasPrefix(n.Header.Get("Authorization"), "Bearer ") {
			t.Errorf("notification without a bearer token: %v", n.Header)
		}
		if n.ChainID != created.CallChainID {
			t.Errorf("X-Microsoft-Skype-Chain-ID = %q, want the call chain id %q", n.ChainID, created.CallChainID)
		}
		if n.MessageID == "" || seen[n.MessageID] {
			t.Errorf("message id %q empty or repeated", n.MessageID)
		}
		seen[n.MessageID] = true
		if ua := n.Header.Get("User-Agent"); ua != "Microsoft-Skype/3.0,(Calling/1.0)" {
			t.Errorf("User-Agent = %q", ua)
		}
		if ct := n.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
	}

	checkGraphError(t, env.Do(t, http.MethodGet, testenv.CallPath(created.ID), env.Token, nil), http.StatusNotFound, "8522")
	checkGraphError(t, env.Do(t, http.MethodDelete, testenv.CallPath(created.ID), env.Token, nil), http.StatusNotFound, "8522")
	checkGraphError(t, env.Do(t, http.MethodPost, testenv.CallPath(created.ID)+"/keepAlive", env.Token, nil), http.StatusNotFound, "8522")
}

// TestDeleteIgnoresBody: a body sent with DELETE changes nothing.
func TestDeleteIgnoresBody(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	c := env.PlaceCall(t, bot.URL)
	del := env.Do(t, http.MethodDelete, testenv.CallPath(c.ID), env.Token, []byte(`{"not":"json`))
	if del.Status != http.StatusNoContent || len(del.Body) != 0 {
		t.Fatalf("delete with a body: %d %q", del.Status, del.Body)
	}
	bot.Wait(t, wait, "terminated", func(all []testbot.Notification) bool {
		for _, n := range all {
			if n.State == "terminated" {
				return true
			}
		}
		return false
	})
}

// TestDeleteWhileTerminating: a second DELETE during teardown answers 204 and
// announces nothing new.
func TestDeleteWhileTerminating(t *testing.T) {
	env := testenv.Start(t, func(c *server.Config) { c.Timing.TeardownDelay = 500 * time.Millisecond })
	bot := testbot.Start(t)
	c := env.PlaceCall(t, bot.URL)
	resource := "/communications/calls/" + c.ID
	bot.WaitAcked(t, wait, resource, 2)

	if r := env.Do(t, http.MethodDelete, testenv.CallPath(c.ID), env.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("first delete: %d %s", r.Status, r.Body)
	}
	get := env.Do(t, http.MethodGet, testenv.CallPath(c.ID), env.Token, nil)
	var during graph.Call
	get.JSON(t, &during)
	if get.Status != http.StatusOK || during.State != "terminating" {
		t.Fatalf("get during teardown: %d %s", get.Status, get.Body)
	}
	if r := env.Do(t, http.MethodDelete, testenv.CallPath(c.ID), env.Token, nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("delete while terminating: %d %q", r.Status, r.Body)
	}
	got := bot.WaitAcked(t, wait, resource, 4)
	waitDelivered(t, env, c.ID, 4)
	got = testbot.Acked(bot.All(), resource)
	if !equal(states(got), []string{"updated/establishing", "updated/established", "updated/terminating", "deleted/terminated"}) {
		t.Fatalf("notifications: %v", states(got))
	}
}

// eventually polls cond until it holds, and fails the test if it does not
// within the wait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", wait, what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, under a deadline
	}
}

// waitDelivered waits until the call's notifications in the outbox number
// exactly n and none is pending: after that, nothing more will reach the bot.
func waitDelivered(t *testing.T, env *testenv.Env, callID string, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ns, err := env.Server.Notifications(context.Background(), store.Filter{CallID: callID})
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, x := range ns {
			if x.Status == store.Pending {
				pending++
			}
		}
		if len(ns) > n {
			t.Fatalf("call %s produced %d notifications, want %d", callID, len(ns), n)
		}
		if len(ns) == n && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d notifications, %d pending; want %d delivered", wait, len(ns), pending, n)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, under a deadline
	}
}

// TestConcurrentDeletes: 50 DELETEs of one call race; each gets 204 or 404,
// and the bot hears exactly one terminating and one terminated.
func TestConcurrentDeletes(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	c := env.PlaceCall(t, bot.URL)
	resource := "/communications/calls/" + c.ID
	bot.WaitAcked(t, wait, resource, 2)

	const n = 50
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = env.Do(t, http.MethodDelete, testenv.CallPath(c.ID), env.Token, nil).Status
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusNoContent]+count[http.StatusNotFound] != n || count[http.StatusNoContent] == 0 {
		t.Fatalf("statuses: %v", count)
	}
	t.Logf("50 concurrent DELETEs: %d × 204, %d × 404", count[204], count[404])

	waitDelivered(t, env, c.ID, 4)
	got := testbot.Acked(bot.All(), resource)
	if !equal(states(got), []string{"updated/establishing", "updated/established", "updated/terminating", "deleted/terminated"}) {
		t.Fatalf("notifications: %v", states(got))
	}
}

// TestRestartKeepsCalls: a call placed before a restart can be fetched and
// hung up after it, with both notifications.
func TestRestartKeepsCalls(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	c := env.PlaceCall(t, bot.URL)
	resource := "/communications/calls/" + c.ID
	bot.WaitAcked(t, wait, resource, 2)

	env.Restart(t)

	get := env.Do(t, http.MethodGet, testenv.CallPath(c.ID), env.Token, nil)
	if get.Status != http.StatusOK {
		t.Fatalf("get after restart: %d %s", get.Status, get.Body)
	}
	if r := env.Do(t, http.MethodDelete, testenv.CallPath(c.ID), env.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete after restart: %d %s", r.Status, r.Body)
	}
	got := bot.WaitAcked(t, wait, resource, 4)
	if !equal(states(got), []string{"updated/establishing", "updated/established", "updated/terminating", "deleted/terminated"}) {
		t.Fatalf("notifications: %v", states(got))
	}
	if got[3].ResultInfo == nil || got[3].ResultInfo.Code != 0 {
		t.Fatalf("resultInfo %+v", got[3].ResultInfo)
	}
}

// TestRestartWhileEstablishing: the simulated callee still answers a call
// whose answer was due while callplane was down.
func TestRestartWhileEstablishing(t *testing.T) {
	env := testenv.Start(t, func(c *server.Config) { c.Timing.AnswerDelay = 300 * time.Millisecond })
	bot := testbot.Start(t)
	c := env.PlaceCall(t, bot.URL)
	env.Restart(t)
	got := bot.WaitAcked(t, wait, "/communications/calls/"+c.ID, 2)
	if !equal(states(got), []string{"updated/establishing", "updated/established"}) {
		t.Fatalf("notifications: %v", states(got))
	}
}

// TestBetaAndKeepAlive: /beta serves the same API, and keepAlive answers 200
// with an empty body on a live call, also by its qualified name.
func TestBetaAndKeepAlive(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	resp := env.Do(t, http.MethodPost, "/beta/communications/calls", env.Token, testenv.CallRequest(bot.URL))
	if resp.Status != http.StatusCreated {
		t.Fatalf("create on beta: %d %s", resp.Status, resp.Body)
	}
	var c graph.Call
	resp.JSON(t, &c)
	if !strings.Contains(resp.Header.Get("Location"), "/beta/communications/calls/"+c.ID) {
		t.Fatalf("Location %q", resp.Header.Get("Location"))
	}
	for _, action := range []string{"keepAlive", "microsoft.graph.keepAlive"} {
		r := env.Do(t, http.MethodPost, "/v1.0/communications/calls/"+c.ID+"/"+action, env.Token, nil)
		if r.Status != http.StatusOK || len(r.Body) != 0 {
			t.Fatalf("%s: %d %q", action, r.Status, r.Body)
		}
	}
	// Ids are GUIDs: any case finds the call.
	if r := env.Do(t, http.MethodGet, "/beta/communications/calls/"+strings.ToUpper(c.ID), env.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("get by upper-case id: %d", r.Status)
	}
}

// TestClientRequestIDEchoed: Graph echoes the client's correlation id.
func TestClientRequestIDEchoed(t *testing.T) {
	env := testenv.Start(t)
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/v1.0/communications/calls/unknown", nil)
	req.Header.Set("Authorization", "Bearer "+env.Token)
	req.Header.Set("client-request-id", "my-correlation-id")
	resp, err := env.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e graph.ErrorResponse
	json.NewDecoder(resp.Body).Decode(&e)
	if resp.Header.Get("client-request-id") != "my-correlation-id" || e.Error.InnerError.ClientRequestID != "my-correlation-id" {
		t.Fatalf("client-request-id header %q, body %q", resp.Header.Get("client-request-id"), e.Error.InnerError.ClientRequestID)
	}
}
