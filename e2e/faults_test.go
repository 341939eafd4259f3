package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/fault"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// addFault adds a rule and returns it.
func addFault(t *testing.T, env *testenv.Env, rule map[string]any) fault.Rule {
	t.Helper()
	r := sim(t, env, http.MethodPost, "/faults", rule)
	if r.Status != http.StatusCreated {
		t.Fatalf("add fault %v: %d %s", rule, r.Status, r.Body)
	}
	var added fault.Rule
	r.JSON(t, &added)
	return added
}

// TestGraphFaults: a rule answers the next matching Graph requests with
// 429 and Retry-After in Graph's error body, then lets them through; a
// latency rule slows a request down; a token rule fails the token
// endpoint with an OAuth2 error body.
func TestGraphFaults(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	rule := addFault(t, env, map[string]any{"kind": "graph", "method": "POST", "path": "/communications/calls", "status": 429, "retryAfter": 1, "times": 2})
	for range 2 {
		r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, testenv.CallRequest(bot.URL))
		checkGraphError(t, r, http.StatusTooManyRequests, "TooManyRequests")
		if r.Header.Get("Retry-After") != "1" || !strings.Contains(string(r.Body), rule.ID) {
			t.Fatalf("throttled: Retry-After %q, %s", r.Header.Get("Retry-After"), r.Body)
		}
	}
	id := graphID(t, env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, testenv.CallRequest(bot.URL)))
	if id == "" {
		t.Fatal("the third create did not get through")
	}
	var list admin.FaultList
	sim(t, env, http.MethodGet, "/faults", nil).JSON(t, &list)
	if len(list.Value) != 0 {
		t.Fatalf("a rule used up is still listed: %+v", list.Value)
	}

	// Latency, on one call's requests only.
	slow := addFault(t, env, map[string]any{"kind": "graph", "callId": id, "latency": "300ms"})
	started := time.Now()
	if r := env.Do(t, http.MethodGet, testenv.CallPath(id), env.Token, nil); r.Status != http.StatusOK || time.Since(started) < 300*time.Millisecond {
		t.Fatalf("a slowed GET: %d after %v", r.Status, time.Since(started))
	}
	sim(t, env, http.MethodGet, "/faults", nil).JSON(t, &list)
	if len(list.Value) != 1 || list.Value[0].ID != slow.ID || list.Value[0].Matched != 1 {
		t.Fatalf("faults: %+v", list.Value)
	}
	if r := sim(t, env, http.MethodDelete, "/faults/"+slow.ID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("remove: %d", r.Status)
	}
	checkGraphError(t, env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, map[string]any{"kind": "x"}), http.StatusBadRequest, "BadRequest")
	if r := sim(t, env, http.MethodPost, "/faults", map[string]any{"kind": "graph", "status": 418}); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "418") {
		t.Fatalf("a bad rule: %d %s", r.Status, r.Body)
	}

	// The token endpoint, once, from the command line.
	output(t, nil, "sim", "fault", "add", `{"kind": "token", "status": 503, "retryAfter": 2, "times": 1}`, "--data", env.DataDir)
	if listed := output(t, nil, "sim", "fault", "list", "--data", env.DataDir); !strings.Contains(listed, `"kind":"token"`) {
		t.Fatalf("sim fault list: %s", listed)
	}
	app := env.Server.Directory().DefaultApplication()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.Secret}, "scope": {"https://graph.microsoft.com/.default"}}
	tokenURL := env.URL + "/" + env.Server.Directory().TenantID() + "/oauth2/v2.0/token"
	resp, err := http.PostForm(tokenURL, form)
	if err != nil {
		t.Fatal(err)
	}
	var oauth struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	json.NewDecoder(resp.Body).Decode(&oauth)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" || oauth.Error != "temporarily_unavailable" || len(oauth.Codes) != 1 {
		t.Fatalf("token fault: %d %+v", resp.StatusCode, oauth)
	}
	if resp, err := http.PostForm(tokenURL, form); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the token endpoint after the fault: %v %v", resp.StatusCode, err)
	}
}

// TestNotificationFaults: notifications duplicated (the same message id
// twice), reordered (swapped with the call's next), delayed, and dropped
// (visible as such in deliveries), each as ruled.
func TestNotificationFaults(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	place := func() string {
		return graphID(t, env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, testenv.CallRequest(bot.URL)))
	}
	states := func(ns []testbot.Notification) string {
		var s []string
		for _, n := range ns {
			s = append(s, n.State)
		}
		return strings.Join(s, ",")
	}

	addFault(t, env, map[string]any{"kind": "notification", "state": "established", "action": "duplicate", "times": 1})
	id := place()
	got := bot.WaitAcked(t, wait, "/communications/calls/"+id, 3)
	if states(got) != "establishing,established,established" || got[1].MessageID != got[2].MessageID {
		t.Fatalf("duplicated: %s", testbot.Describe(got))
	}

	addFault(t, env, map[string]any{"kind": "notification", "changeType": "updated", "state": "establishing", "action": "reorder", "times": 1})
	id = place()
	got = bot.WaitAcked(t, wait, "/communications/calls/"+id, 2)
	if states(got) != "established,establishing" {
		t.Fatalf("reordered: %s", testbot.Describe(got))
	}

	addFault(t, env, map[string]any{"kind": "notification", "state": "establishing", "action": "delay", "delay": "500ms", "times": 1})
	created := time.Now()
	id = place()
	got = bot.WaitAcked(t, wait, "/communications/calls/"+id, 2)
	if states(got) != "establishing,established" || got[0].At.Sub(created) < 500*time.Millisecond {
		t.Fatalf("delayed: %s, %v after the create", testbot.Describe(got), got[0].At.Sub(created))
	}

	drop := addFault(t, env, map[string]any{"kind": "notification", "state": "establishing", "action": "drop", "times": 1})
	id = place()
	got = bot.WaitAcked(t, wait, "/communications/calls/"+id, 1)
	if states(got) != "established" {
		t.Fatalf("dropped: %s", testbot.Describe(got))
	}
	var list admin.DeliveryList
	eventually(t, "the dropped notification in deliveries", func() bool {
		sim(t, env, http.MethodGet, "/deliveries?status=dropped&call="+id, nil).JSON(t, &list)
		return len(list.Value) == 1
	})
	if d := list.Value[0]; d.State != "establishing" || d.Attempts != 0 || !strings.Contains(d.LastError, drop.ID) {
		t.Fatalf("the dropped delivery: %+v", d)
	}
}

// TestDropCall: the service ends a call on its own with the resultInfo
// the test picks (a media connectivity failure by default).
func TestDropCall(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	for _, tc := range []struct {
		body          any
		code, subcode int
	}{
		{nil, 410, 301005},
		{map[string]any{"code": 500, "subcode": 1005}, 500, 1005},
	} {
		id := graphID(t, env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, testenv.CallRequest(bot.URL)))
		bot.WaitAcked(t, wait, "/communications/calls/"+id, 2)
		if r := sim(t, env, http.MethodPost, "/calls/"+id+"/drop", tc.body); r.Status != http.StatusNoContent {
			t.Fatalf("drop: %d %s", r.Status, r.Body)
		}
		got := bot.WaitAcked(t, wait, "/communications/calls/"+id, 4)
		end := got[3]
		if got[2].State != "terminating" || end.State != "terminated" || end.ResultInfo == nil || end.ResultInfo.Code != tc.code || end.ResultInfo.Subcode != tc.subcode {
			t.Fatalf("dropped with %v: %s", tc.body, testbot.Describe(got))
		}
		var v admin.CallView
		sim(t, env, http.MethodGet, "/calls/"+id, nil).JSON(t, &v)
		if v.Outcome != "droppedByService" {
			t.Fatalf("the simulator's view: %+v", v)
		}
		if r := sim(t, env, http.MethodPost, "/calls/"+id+"/drop", nil); r.Status != http.StatusNotFound {
			t.Fatalf("dropping an ended call: %d", r.Status)
		}
	}
	id := graphID(t, env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, testenv.CallRequest(bot.URL)))
	if r := sim(t, env, http.MethodPost, "/calls/"+id+"/drop", map[string]any{"code": 200, "subcode": 1}); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "410/301005") {
		t.Fatalf("an end the service does not give: %d %s", r.Status, r.Body)
	}
	bot.WaitAcked(t, wait, "/communications/calls/"+id, 2)
	output(t, nil, "sim", "call", "drop", id, "--code", "408", "--subcode", "10057", "--data", env.DataDir)
	if end := bot.WaitAcked(t, wait, "/communications/calls/"+id, 4)[3]; end.ResultInfo == nil || end.ResultInfo.Subcode != 10057 {
		t.Fatalf("sim call drop: %+v", end)
	}
	checkNotificationSchemas(t, bot)
}
