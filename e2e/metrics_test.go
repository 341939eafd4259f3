package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// scrape reads the metrics at url (with the admin credential, if any)
// and checks them with Prometheus' linter.
func scrape(t *testing.T, url, secret string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body.String())
	}
	problems, err := promlint.New(bytes.NewReader(body.Bytes())).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body.Bytes()))
	if err != nil {
		t.Fatalf("parse the metrics: %v", err)
	}
	return families
}

// value is the value of the metric with the labels (a counter's, a
// gauge's, or a histogram's count); zero if there is none.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f, ok := families[name]
	if !ok {
		return 0
	}
	var total float64
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && have[labels[i]] == labels[i+1]
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

// TestMetrics: /metrics answers the admin credential only on the main
// listener and anyone on --metrics-listen, passes Prometheus' linter, and
// moves by exactly what one call's life does: its Graph requests, its
// notifications created and delivered (and timed), one prompt completed,
// the call live while established and not after.
func TestMetrics(t *testing.T) {
	env := testenv.Start(t, func(c *server.Config) {
		c.MetricsListen = "127.0.0.1:0"
		c.PromptFetch = false
		c.PromptDuration = 50 * time.Millisecond
	})
	secret := env.Server.Directory().AdminSecret()
	if r := env.Do(t, http.MethodGet, "/metrics", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("/metrics without the admin credential: %d", r.Status)
	}
	open := env.Server.MetricsURL() + "/metrics"
	scrape(t, open, "") // no credential needed there
	before := scrape(t, env.URL+"/metrics", secret)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "callplane_notifications_backlog"} {
		if _, ok := before[name]; !ok {
			t.Errorf("no %s", name)
		}
	}

	bot := testbot.Start(t)
	c := env.PlaceCall(t, bot.URL)
	resource := "/communications/calls/" + c.ID
	waitStates(t, bot, resource, "established")
	during := scrape(t, env.URL+"/metrics", secret)
	if got := value(during, "callplane_calls", "state", "established", "kind", "peerToPeer"); got != 1 {
		t.Errorf("callplane_calls{established, peerToPeer} = %v while the call is established", got)
	}
	r := env.Do(t, http.MethodPost, testenv.CallPath(c.ID)+"/playPrompt", env.Token, promptBody("http://127.0.0.1:9/hello.wav"))
	if r.Status != http.StatusOK {
		t.Fatalf("playPrompt: %d %s", r.Status, r.Body)
	}
	bot.Wait(t, wait, "the prompt's completion", func(all []testbot.Notification) bool {
		for _, n := range all {
			if n.Acked() && strings.HasPrefix(n.ResourceURL, resource+"/operations/") {
				return true
			}
		}
		return false
	})
	// An unknown action and an unknown path: labelled by pattern, never by
	// what the client sent.
	env.Do(t, http.MethodPost, testenv.CallPath(c.ID)+"/noSuchAction", env.Token, map[string]any{})
	env.Do(t, http.MethodGet, "/v1.0/communications/nothing/here", env.Token, nil)
	if r := env.Do(t, http.MethodDelete, testenv.CallPath(c.ID), env.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d", r.Status)
	}
	waitStates(t, bot, resource, "terminated")
	notes := len(firstDeliveries(bot.All()))
	// The last acknowledgement is counted right after the bot answers it.
	var after map[string]*dto.MetricFamily
	deadline := time.Now().Add(wait)
	for {
		after = scrape(t, env.URL+"/metrics", secret)
		if value(after, "callplane_notifications_total", "event", "delivered")-value(before, "callplane_notifications_total", "event", "delivered") >= float64(notes) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	delta := func(name string, labels ...string) float64 {
		return value(after, name, labels...) - value(before, name, labels...)
	}
	for _, tc := range []struct {
		what   string
		got    float64
		expect float64
	}{
		{"requests POST /communications/calls 201", delta("callplane_graph_requests_total", "method", "POST", "route", "/communications/calls", "code", "201"), 1},
		{"requests POST …/playPrompt 200", delta("callplane_graph_requests_total", "method", "POST", "route", "/communications/calls/{id}/playPrompt", "code", "200"), 1},
		{"requests DELETE /communications/calls/{id} 204", delta("callplane_graph_requests_total", "method", "DELETE", "route", "/communications/calls/{id}", "code", "204"), 1},
		{"requests to an unknown action", delta("callplane_graph_requests_total", "route", "/communications/calls/{id}/{action}", "code", "400"), 1},
		{"requests to no route", delta("callplane_graph_requests_total", "route", "unmatched"), 1},
		{"request durations timed", delta("callplane_graph_request_duration_seconds"), 5},
		{"notifications created", delta("callplane_notifications_total", "event", "created"), float64(notes)},
		{"notifications delivered", delta("callplane_notifications_total", "event", "delivered"), float64(notes)},
		{"deliveries timed", delta("callplane_notification_delivery_seconds"), float64(notes)},
		{"notifications failed", delta("callplane_notifications_total", "event", "failed"), 0},
		{"prompts completed", delta("callplane_operations_total", "type", "playPrompt", "outcome", "completed"), 1},
		{"live calls at the end", value(after, "callplane_calls"), 0},
		{"backlog at the end", value(after, "callplane_notifications_backlog"), 0},
	} {
		if tc.got != tc.expect {
			t.Errorf("%s: moved by %v, want %v", tc.what, tc.got, tc.expect)
		}
	}
	if commits := delta("callplane_commit_batch_size"); commits < 4 { // create, answer, prompt (played, done), hang-up
		t.Errorf("%v commits recorded, want at least 4", commits)
	}
	if saves := delta("callplane_store_duration_seconds", "operation", "save_batch"); saves != delta("callplane_commit_batch_size") {
		t.Errorf("%v store saves timed for %v commits", saves, delta("callplane_commit_batch_size"))
	}
	t.Logf("one call's life: %d notifications, %v commits", notes, delta("callplane_commit_batch_size"))
}

// TestJSONLogs: --log-format json writes one JSON object per line, and a
// request's line names its request id and its call.
func TestJSONLogs(t *testing.T) {
	s := serveReady(t, "--listen", "127.0.0.1:0", "--ephemeral", "--log-format", "json", "--log-level", "debug")
	p, ready := s.p, s.ready
	env := &testenv.Env{URL: ready.BaseURL, Client: &http.Client{Timeout: wait}}
	token := tokenFrom(t, ready.TokenEndpoint, ready.ClientID, ready.ClientSecret)
	bot := testbot.Start(t)
	r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", token, testenv.CallRequest(bot.URL))
	var c graph.Call
	r.JSON(t, &c)
	env.Do(t, http.MethodGet, testenv.CallPath(c.ID), token, nil)
	deadline := time.Now().Add(wait)
	for {
		p.mu.Lock()
		lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
		p.mu.Unlock()
		found := false
		for _, l := range lines {
			var entry map[string]any
			if err := json.Unmarshal([]byte(l), &entry); err != nil {
				t.Fatalf("a log line that is not JSON: %q", l)
			}
			if entry["msg"] == "request" && entry["call"] == c.ID && entry["request-id"] != "" && entry["method"] == "GET" {
				found = true
			}
		}
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no JSON line for the GET of call %s with its request id:\n%s", c.ID, strings.Join(lines, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
