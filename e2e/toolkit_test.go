package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// TestReadyFile: serve --listen 127.0.0.1:0 --ephemeral --ready-file
// writes, by the time it says it listens, a file that is all a test needs
// to get a token and place a call; at exit the file and the temporary data
// directory are gone.
func TestReadyFile(t *testing.T) {
	s := serveReady(t, "--listen", "127.0.0.1:0", "--ephemeral")
	p, readyPath, ready, data := s.p, s.path, s.ready, s.raw
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
	leg.bot.WaitAcked(t, wait, leg.roster(), 1)
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

// TestTimeline: a call's timeline holds, oldest first, the bot's requests
// (with their status and operation), the notifications with how the bot
// acknowledged them, and what the person did.
func TestTimeline(t *testing.T) {
	in := startInbound(t)
	id := mediaCall(t, in)
	startOperation(t, in, id, "subscribeToTone", nil)
	rec := startOperation(t, in, id, "recordResponse", map[string]any{"playBeep": false, "stopTones": []string{"#"}})
	sim(t, in.env, http.MethodPost, "/calls/"+id+"/speech", map[string]any{"seconds": 1})
	sim(t, in.env, http.MethodPost, "/calls/"+id+"/tones", map[string]any{"tones": "#"})
	done, _ := finishedOp(t, in.bot, id, rec.ID)
	req, _ := http.NewRequest(http.MethodGet, *done.RecordingLocation, nil)
	req.Header.Set("Authorization", "Bearer "+*done.RecordingAccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := in.env.Do(t, http.MethodDelete, testenv.CallPath(id), in.env.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d", r.Status)
	}
	in.bot.WaitAcked(t, wait, "/communications/calls/"+id, 5) // establishing, established, the tone, terminating, terminated

	// The last acknowledgement may still be on its way to the outbox.
	var tl admin.Timeline
	eventually(t, "every notification's delivery recorded", func() bool {
		sim(t, in.env, http.MethodGet, "/calls/"+id+"/timeline", nil).JSON(t, &tl)
		return !slices.ContainsFunc(tl.Value, func(e admin.TimelineEntry) bool { return e.Delivery == "pending" })
	})
	var got []string
	for _, e := range tl.Value {
		switch e.Kind {
		case admin.EntryRequest:
			got = append(got, e.Method+" "+e.Action+" "+strconv.Itoa(e.Status))
			if e.Action == "recordResponse" && e.OperationID != rec.ID {
				t.Errorf("recordResponse's operation: %q, want %s", e.OperationID, rec.ID)
			}
		case admin.EntryNotification:
			what := e.ChangeType + " " + e.State + e.OperationStatus + e.Tone
			got = append(got, "notified "+strings.TrimSpace(what))
			if e.Delivery != "delivered" || e.AckStatus/100 != 2 || e.AckedAt == nil || e.AckMs <= 0 {
				t.Errorf("notification %s %s: delivery %s, ack %d at %v in %v ms", e.ChangeType, e.ResourceURL, e.Delivery, e.AckStatus, e.AckedAt, e.AckMs)
			}
		case admin.EntryPerson:
			got = append(got, "person "+e.Did+" "+e.Keys)
		}
	}
	// The command line prints it, and show includes it.
	printed := output(t, nil, "sim", "call", "timeline", id, "--data", in.env.DataDir)
	for _, line := range []string{"bot      POST /communications/calls/" + id + "/answer → 202", "person   pressed #", "notified deleted  /communications/calls/" + id + " terminated 0/0: delivered, answered 202"} {
		if !strings.Contains(printed, line) {
			t.Errorf("sim call timeline has no %q:\n%s", line, printed)
		}
	}
	if shown := output(t, nil, "sim", "call", "show", id, "--data", in.env.DataDir); !strings.Contains(shown, `"timeline"`) || !strings.Contains(shown, `"downloadRecording"`) {
		t.Errorf("sim call show has no timeline:\n%s", shown)
	}
	joined := strings.Join(got, "\n")
	for _, step := range []string{
		"notified created incoming", "POST answer 202", "notified updated established", "POST subscribeToTone 200",
		"POST recordResponse 200", "person spoke", "person pressed #", "notified deleted Completed",
		"notified updated establishedpound", "GET downloadRecording 200", "DELETE delete 204", "notified deleted terminated",
	} {
		i := strings.Index(joined, step)
		if i < 0 {
			t.Fatalf("timeline has no %q, or not in order:\n%s", step, strings.Join(got, "\n"))
		}
		joined = joined[i+len(step):]
	}
}
