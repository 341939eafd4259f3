package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// post sends a create-call body with the default token, as JSON unless
// header says otherwise.
func post(t *testing.T, env *testenv.Env, body []byte, header map[string]string) testenv.Response {
	t.Helper()
	h := map[string]string{"Authorization": "Bearer " + env.Token, "Content-Type": "application/json"}
	for k, v := range header {
		h[k] = v
	}
	return request(t, env, http.MethodPost, "/v1.0/communications/calls", body, h)
}

func gzipped(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGzipRequestBody: the official SDKs gzip request bodies by default.
func TestGzipRequestBody(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	// The Go SDK's own serialization: no @odata.type on the call or targets.
	body := []byte(`{"callbackUri":"` + bot.URL + `","mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"},"requestedModalities":["audio"],"targets":[{"identity":{"user":{"id":"u-1"}}}]}`)
	r := post(t, env, gzipped(t, body), map[string]string{"Content-Encoding": "gzip"})
	if r.Status != http.StatusCreated {
		t.Fatalf("gzip create: %d %s", r.Status, r.Body)
	}
}

// TestBadInput: every malformed request gets a Graph error and the right
// status, and none of them disturbs existing calls.
func TestBadInput(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	live := env.PlaceCall(t, bot.URL)

	valid, _ := json.Marshal(testenv.CallRequest(bot.URL))
	edit := func(f func(m map[string]any)) []byte {
		m := testenv.CallRequest(bot.URL)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	cases := []struct {
		name   string
		body   []byte
		header map[string]string
		status int
	}{
		{"not JSON", []byte(`{"callbackUri":`), nil, 400},
		{"empty body", nil, nil, 400},
		{"JSON array", []byte(`[]`), nil, 400},
		{"wrong type", []byte(`{"callbackUri": 42}`), nil, 400},
		{"no callbackUri", edit(func(m map[string]any) { delete(m, "callbackUri") }), nil, 400},
		{"relative callbackUri", edit(func(m map[string]any) { m["callbackUri"] = "/api/calls" }), nil, 400},
		{"callbackUri with user info", edit(func(m map[string]any) { m["callbackUri"] = "http://u:p@127.0.0.1/x" }), nil, 400},
		{"javascript callbackUri", edit(func(m map[string]any) { m["callbackUri"] = "javascript:alert(1)" }), nil, 400},
		{"no mediaConfig", edit(func(m map[string]any) { delete(m, "mediaConfig") }), nil, 400},
		{"untyped mediaConfig", edit(func(m map[string]any) { m["mediaConfig"] = map[string]any{} }), nil, 400},
		{"unknown mediaConfig", edit(func(m map[string]any) { m["mediaConfig"] = map[string]any{"@odata.type": "#microsoft.graph.fooConfig"} }), nil, 400},
		{"no targets", edit(func(m map[string]any) { delete(m, "targets") }), nil, 400},
		{"target without identity", edit(func(m map[string]any) { m["targets"] = []any{map[string]any{}} }), nil, 400},
		{"empty identity", edit(func(m map[string]any) { m["targets"] = []any{map[string]any{"identity": map[string]any{}}} }), nil, 400},
		{"phone without application instance", edit(func(m map[string]any) {
			m["targets"] = []any{map[string]any{"identity": map[string]any{"phone": map[string]any{"id": "+15550100"}}}}
		}), nil, 400},
		{"unknown modality", edit(func(m map[string]any) { m["requestedModalities"] = []string{"smell"} }), nil, 400},
		{"incoming call options", edit(func(m map[string]any) {
			m["callOptions"] = map[string]any{"@odata.type": "#microsoft.graph.incomingCallOptions"}
		}), nil, 400},
		{"other tenant", edit(func(m map[string]any) { m["tenantId"] = "11111111-2222-3333-4444-555555555555" }), nil, 403},
		{"bad gzip", []byte("not gzip"), map[string]string{"Content-Encoding": "gzip"}, 400},
		{"brotli", valid, map[string]string{"Content-Encoding": "br"}, 415},
		{"too large", append(append([]byte(`{"subject":"`), bytes.Repeat([]byte("x"), 2<<20)...), []byte(`"}`)...), nil, 413},
		{"gzip bomb", gzipped(t, append(append([]byte(`{"subject":"`), bytes.Repeat([]byte("x"), 8<<20)...), []byte(`"}`)...)), map[string]string{"Content-Encoding": "gzip"}, 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, env, tc.body, tc.header)
			code := map[int]string{400: "BadRequest", 403: "accessDenied", 413: "BadRequest", 415: "BadRequest"}[tc.status]
			checkGraphError(t, r, tc.status, code)
		})
	}

	t.Run("unknown segment", func(t *testing.T) {
		checkGraphError(t, env.Do(t, http.MethodGet, "/v1.0/communications/callz", env.Token, nil), 400, "BadRequest")
		checkGraphError(t, env.Do(t, http.MethodGet, "/v1.0", env.Token, nil), 400, "BadRequest")
	})
	t.Run("method not allowed", func(t *testing.T) {
		checkGraphError(t, env.Do(t, http.MethodPut, testenv.CallPath(live.ID), env.Token, nil), 405, "BadRequest")
		checkGraphError(t, env.Do(t, http.MethodGet, "/v1.0/communications/calls", env.Token, nil), 405, "BadRequest")
		checkGraphError(t, env.Do(t, http.MethodGet, testenv.CallPath(live.ID)+"/keepAlive", env.Token, nil), 405, "BadRequest")
	})
	t.Run("odd ids", func(t *testing.T) {
		for _, id := range []string{"%00", "..%2F..%2Fetc", strings.Repeat("a", 5000), "'; DROP TABLE calls; --"} {
			r := env.Do(t, http.MethodDelete, "/v1.0/communications/calls/"+id, env.Token, nil)
			if r.Status != 404 && r.Status != 400 {
				t.Errorf("DELETE %.40q: %d %s", id, r.Status, r.Body)
			}
		}
	})

	if r := env.Do(t, http.MethodGet, testenv.CallPath(live.ID), env.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("the live call did not survive bad input: %d %s", r.Status, r.Body)
	}
}

// TestActionRouter: bound actions route by name, with or without Graph's
// namespace; an unknown action is "Resource not found" naming it (not the
// call id before it); an action takes only POST, and a call's collections
// only their own methods (405 with Allow).
func TestActionRouter(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	c := env.PlaceCall(t, bot.URL)
	for _, name := range []string{"keepAlive", "microsoft.graph.keepAlive"} {
		if r := env.Do(t, http.MethodPost, testenv.CallPath(c.ID)+"/"+name, env.Token, nil); r.Status != http.StatusOK {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	for _, path := range []string{
		testenv.CallPath(c.ID) + "/dance",
		testenv.CallPath(c.ID) + "/microsoft.graph.dance",
		testenv.CallPath(c.ID) + "/participants/" + c.MyParticipantID + "/dance",
	} {
		r := env.Do(t, http.MethodPost, path, env.Token, map[string]any{})
		checkGraphError(t, r, http.StatusBadRequest, "BadRequest")
		segment := path[strings.LastIndex(path, "/")+1:]
		if want := "Resource not found for the segment '" + segment + "'."; !strings.Contains(string(r.Body), want) {
			t.Errorf("POST %s: %s, want %q", path, r.Body, want)
		}
	}
	r := env.Do(t, http.MethodGet, testenv.CallPath(c.ID)+"/keepAlive", env.Token, nil)
	checkGraphError(t, r, http.StatusMethodNotAllowed, "BadRequest")
	if r.Header.Get("Allow") != "POST" {
		t.Errorf("Allow %q", r.Header.Get("Allow"))
	}
	// A segment that names no action where an entity's key may stand is
	// that entity: a call, a participant; they allow GET and DELETE.
	for _, path := range []string{testenv.CallPath(c.ID), testenv.CallPath(c.ID) + "/participants/dance"} {
		r = env.Do(t, http.MethodPost, path, env.Token, map[string]any{})
		checkGraphError(t, r, http.StatusMethodNotAllowed, "BadRequest")
		if r.Header.Get("Allow") != "GET, DELETE" {
			t.Errorf("POST %s: Allow %q", path, r.Header.Get("Allow"))
		}
	}
	// The roster is not an action.
	if r := env.Do(t, http.MethodGet, testenv.CallPath(c.ID)+"/participants", env.Token, nil); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "group calls") {
		t.Errorf("roster of a peer-to-peer call: %d %s", r.Status, r.Body)
	}
	// A call's collections take the methods they have, not another.
	for path, allow := range map[string]string{"/operations": "GET", "/contentSharingSessions": "GET", "/audioRoutingGroups": "GET, POST"} {
		r := env.Do(t, http.MethodPatch, testenv.CallPath(c.ID)+path, env.Token, map[string]any{})
		checkGraphError(t, r, http.StatusMethodNotAllowed, "BadRequest")
		if r.Header.Get("Allow") != allow {
			t.Errorf("PATCH %s: Allow %q, want %q", path, r.Header.Get("Allow"), allow)
		}
	}
	r = env.Do(t, http.MethodPost, testenv.CallPath(c.ID)+"/contentSharingSessions", env.Token, map[string]any{})
	checkGraphError(t, r, http.StatusMethodNotAllowed, "BadRequest")
}
