package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/delivery"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/media"
	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// promptServer serves prompt files: WAVs of known lengths, a page that is
// not audio, and 404 for anything else.
func promptServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/menu.wav":
			w.Write(media.Recording(600*time.Millisecond, nil))
		case "/short.wav":
			w.Write(media.Recording(200*time.Millisecond, nil))
		case "/long.wav":
			w.Write(media.Recording(30*time.Second, nil))
		case "/page.html":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>this is not audio</html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// mediaCall is an answered incoming call from a simulated person, its
// bot receiving at in.bot.
func mediaCall(t *testing.T, in *inbound) string {
	t.Helper()
	v := in.ring(t, alice, in.app())
	in.created(t, v.ID)
	in.answer(t, v.ID)
	in.bot.WaitAcked(t, wait, "/communications/calls/"+v.ID, 2)
	return v.ID
}

func promptBody(uris ...string) map[string]any {
	var prompts []any
	for _, u := range uris {
		prompts = append(prompts, map[string]any{"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": map[string]any{"uri": u, "resourceId": "r-" + u[strings.LastIndex(u, "/")+1:]}})
	}
	return map[string]any{"prompts": prompts, "clientContext": "ctx"}
}

// startOperation posts an action that answers an operation, and returns it.
func startOperation(t *testing.T, in *inbound, callID, action string, body any) graph.Operation {
	t.Helper()
	r := in.action(t, callID, action, body)
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %d %s", action, r.Status, r.Body)
	}
	var op graph.Operation
	r.JSON(t, &op)
	if !strings.HasSuffix(r.Header.Get("Location"), "/communications/calls/"+callID+"/operations/"+op.ID) {
		t.Fatalf("%s: Location %q", action, r.Header.Get("Location"))
	}
	return op
}

// finishedOp waits for an operation's deleted notification and returns it.
func finishedOp(t *testing.T, bot *testbot.Bot, callID, opID string) (graph.Operation, time.Time) {
	t.Helper()
	n := bot.WaitAcked(t, wait, "/communications/calls/"+callID+"/operations/"+opID, 1)[0]
	var op graph.Operation
	if err := json.Unmarshal(n.Data, &op); err != nil {
		t.Fatal(err)
	}
	if n.ChangeType != "deleted" {
		t.Fatalf("operation finished with %s", n.ChangeType)
	}
	return op, n.At
}

// TestPromptPlaysForItsLength: a 600 ms prompt completes no earlier than
// 600 ms after playPrompt, 200/0, and the caller heard it.
func TestPromptPlaysForItsLength(t *testing.T) {
	files := promptServer(t)
	in := startInbound(t)
	id := mediaCall(t, in)
	began := time.Now()
	op := startOperation(t, in, id, "playPrompt", promptBody(files+"/menu.wav"))
	if op.Status != "Running" || op.ClientContext != "ctx" {
		t.Fatalf("playPrompt: %+v", op)
	}
	done, at := finishedOp(t, in.bot, id, op.ID)
	if took := at.Sub(began); took < 600*time.Millisecond {
		t.Fatalf("a 600 ms prompt completed after %v", took)
	}
	if done.Status != "Completed" || done.ResultInfo == nil || done.ResultInfo.Code != 200 || done.ResultInfo.Subcode != 0 || done.ClientContext != "ctx" {
		t.Fatalf("completed: %+v", done)
	}
	v := in.view(t, id)
	if len(v.Prompts) != 1 || v.Prompts[0].URI != files+"/menu.wav" || v.Prompts[0].DurationSeconds != 0.6 || v.Prompts[0].Outcome != "played" {
		t.Fatalf("heard: %+v", v.Prompts)
	}
	r := in.env.Do(t, http.MethodGet, testenv.CallPath(id)+"/operations/"+op.ID, in.env.Token, nil)
	if !strings.Contains(string(r.Body), `"status":"Completed"`) {
		t.Fatalf("GET the operation: %s", r.Body)
	}
	checkNotificationSchemas(t, in.bot)
}

// TestMediaQueue: two prompts and a recording play in order, one after
// another.
func TestMediaQueue(t *testing.T) {
	files := promptServer(t)
	in := startInbound(t)
	id := mediaCall(t, in)
	first := startOperation(t, in, id, "playPrompt", promptBody(files+"/short.wav"))
	second := startOperation(t, in, id, "playPrompt", promptBody(files+"/short.wav"))
	rec := startOperation(t, in, id, "recordResponse", map[string]any{"initialSilenceTimeoutInSeconds": 1, "playBeep": false})
	_, a := finishedOp(t, in.bot, id, first.ID)
	_, b := finishedOp(t, in.bot, id, second.ID)
	r, c := finishedOp(t, in.bot, id, rec.ID)
	// Arrival times, so give or take delivery's jitter.
	if !a.Before(b) || !b.Before(c) || b.Sub(a) < 150*time.Millisecond || c.Sub(b) < 900*time.Millisecond {
		t.Fatalf("finished at +0, +%v, +%v", b.Sub(a), c.Sub(a))
	}
	if r.Status != "Failed" || r.ResultInfo.Code != 400 || r.ResultInfo.Subcode != 8510 {
		t.Fatalf("a recording nobody spoke into: %+v", r)
	}
	checkNotificationSchemas(t, in.bot)
}

// TestPromptFailuresSayWhy: a prompt that answers 404, one that is not a
// WAV file, one whose host refuses connections and one on a host the policy
// refuses each fail, with a message that names the cause.
func TestPromptFailuresSayWhy(t *testing.T) {
	files := promptServer(t)
	dead := "http://" + freeAddr(t) + "/menu.wav"
	policy := delivery.Policy{Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	in := startInbound(t, func(c *server.Config) { c.Delivery.Policy = policy })
	id := mediaCall(t, in)
	for uri, says := range map[string]string{
		files + "/missing.wav":            "HTTP 404",
		files + "/page.html":              "not a WAV file",
		dead:                              "connection refused",
		"http://10.255.255.1/outside.wav": "allow list",
	} {
		op := startOperation(t, in, id, "playPrompt", promptBody(uri))
		done, _ := finishedOp(t, in.bot, id, op.ID)
		if done.Status != "Failed" || done.ResultInfo == nil || !strings.Contains(done.ResultInfo.Message, uri) || !strings.Contains(done.ResultInfo.Message, says) {
			t.Errorf("%s: %+v, want a failure naming it and saying %q", uri, done.ResultInfo, says)
		}
	}
	checkGraphError(t, in.action(t, id, "playPrompt", promptBody(make([]string, 21)...)), http.StatusBadRequest, "BadRequest")
	checkNotificationSchemas(t, in.bot)
}

// TestTonesAfterSubscribing: keys pressed before subscribeToTone are not
// announced; after it, each arrives as toneInfo, in order.
func TestTonesAfterSubscribing(t *testing.T) {
	in := startInbound(t)
	id := mediaCall(t, in)
	press := func(keys string) {
		if r := sim(t, in.env, http.MethodPost, "/calls/"+id+"/tones", map[string]any{"tones": keys}); r.Status != http.StatusNoContent {
			t.Fatalf("press %s: %d %s", keys, r.Status, r.Body)
		}
	}
	press("9")
	op := startOperation(t, in, id, "subscribeToTone", map[string]any{"clientContext": "tones"})
	if op.Status != "Completed" {
		t.Fatalf("subscribeToTone: %+v", op)
	}
	press("12#")
	got := in.bot.WaitAcked(t, wait, "/communications/calls/"+id, 5)
	var tones []string
	for _, n := range got[2:] {
		var c graph.Call
		json.Unmarshal(n.Data, &c)
		if c.ToneInfo == nil {
			t.Fatalf("not a tone: %s", n.Data)
		}
		tones = append(tones, c.ToneInfo.Tone+"/"+string(rune('0'+c.ToneInfo.SequenceID)))
	}
	if !equal(tones, []string{"tone1/1", "tone2/2", "pound/3"}) {
		t.Fatalf("tones %v (9 was pressed before subscribing)", tones)
	}
	checkNotificationSchemas(t, in.bot)
}

// TestRecordings: stopped by #, ended by the maximum duration, ended by
// initial silence; the recording downloads with its token as a WAV of the
// recorded length, and not without it.
func TestRecordings(t *testing.T) {
	in := startInbound(t)
	id := mediaCall(t, in)
	record := func(body map[string]any) graph.Operation {
		return startOperation(t, in, id, "recordResponse", body)
	}
	speak := func(seconds float64) {
		if r := sim(t, in.env, http.MethodPost, "/calls/"+id+"/speech", map[string]any{"seconds": seconds}); r.Status != http.StatusNoContent {
			t.Fatalf("speak: %d %s", r.Status, r.Body)
		}
	}

	// Stopped by #: the caller speaks, then presses #.
	op := record(map[string]any{"playBeep": false, "stopTones": []string{"#"}, "maxRecordDurationInSeconds": 60})
	speak(10)
	sim(t, in.env, http.MethodPost, "/calls/"+id+"/tones", map[string]any{"tones": "#"})
	done, _ := finishedOp(t, in.bot, id, op.ID)
	if done.Status != "Completed" || done.ResultInfo.Subcode != 8514 || done.CompletionReason != "stopToneDetected" || done.RecordingLocation == nil || *done.RecordingLocation == "" {
		t.Fatalf("stopped by #: %+v", done)
	}
	// The download: with the token a WAV, without it 401.
	get := func(token string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, *done.RecordingLocation, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get(*done.RecordingAccessToken)
	var wav bytes.Buffer
	wav.ReadFrom(resp.Body)
	resp.Body.Close()
	f, err := media.ReadHeader(bytes.NewReader(wav.Bytes()))
	if resp.StatusCode != http.StatusOK || err != nil || f.Duration() <= 0 || f.Duration() > 5*time.Second {
		t.Fatalf("download: %d, %v, %v", resp.StatusCode, f.Duration(), err)
	}
	for _, token := range []string{"", "not-the-token"} {
		if resp := get(token); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("download with token %q: %d", token, resp.StatusCode)
		}
	}

	// The maximum duration, mid-speech.
	op = record(map[string]any{"playBeep": false, "maxRecordDurationInSeconds": 1})
	speak(5)
	done, _ = finishedOp(t, in.bot, id, op.ID)
	if done.Status != "Completed" || done.ResultInfo.Code != 200 || done.ResultInfo.Subcode != 8515 {
		t.Fatalf("max duration: %+v", done)
	}
	resp = get(*done.RecordingAccessToken)
	wav.Reset()
	wav.ReadFrom(resp.Body)
	resp.Body.Close()
	if f, _ := media.ReadHeader(bytes.NewReader(wav.Bytes())); f.Duration() != time.Second {
		t.Fatalf("a recording of 1 s downloads as %v", f.Duration())
	}

	// Nobody speaks.
	op = record(map[string]any{"playBeep": false, "initialSilenceTimeoutInSeconds": 1})
	done, _ = finishedOp(t, in.bot, id, op.ID)
	if done.Status != "Failed" || done.ResultInfo.Subcode != 8510 || done.RecordingLocation == nil || *done.RecordingLocation != "" {
		t.Fatalf("initial silence: %+v", done)
	}
	checkGraphError(t, in.action(t, id, "recordResponse", map[string]any{"maxRecordDurationInSeconds": 121}), http.StatusBadRequest, "BadRequest")
	checkNotificationSchemas(t, in.bot)
}

// TestCancelMediaProcessing fails the prompt playing and the one queued
// with 400/8508.
func TestCancelMediaProcessing(t *testing.T) {
	files := promptServer(t)
	in := startInbound(t)
	id := mediaCall(t, in)
	playing := startOperation(t, in, id, "playPrompt", promptBody(files+"/long.wav"))
	queued := startOperation(t, in, id, "playPrompt", promptBody(files+"/long.wav"))
	if op := startOperation(t, in, id, "cancelMediaProcessing", map[string]any{"clientContext": "stop"}); op.Status != "Completed" {
		t.Fatalf("cancel: %+v", op)
	}
	for _, op := range []graph.Operation{playing, queued} {
		done, _ := finishedOp(t, in.bot, id, op.ID)
		if done.Status != "Failed" || done.ResultInfo.Code != 400 || done.ResultInfo.Subcode != 8508 {
			t.Fatalf("cancelled: %+v", done)
		}
	}
	checkNotificationSchemas(t, in.bot)
}

// TestSendDtmfTones: the tones complete after they sounded and the caller
// heard them.
func TestSendDtmfTones(t *testing.T) {
	in := startInbound(t)
	id := mediaCall(t, in)
	op := startOperation(t, in, id, "sendDtmfTones", map[string]any{"tones": []string{"tone1", "tone2", "pound"}, "delayBetweenTonesMs": 50})
	done, _ := finishedOp(t, in.bot, id, op.ID)
	if done.Status != "Completed" || done.CompletionReason != "completedSuccessfully" {
		t.Fatalf("sent: %+v", done)
	}
	if v := in.view(t, id); v.TonesReceived != "12#" {
		t.Fatalf("the caller heard %q", v.TonesReceived)
	}
	checkNotificationSchemas(t, in.bot)
}

// TestHoldMusicAndRecordingStatus: on a meeting leg, hold music for a
// participant (one at a time) and updateRecordingStatus, seen in the roster.
func TestHoldMusicAndRecordingStatus(t *testing.T) {
	env, m, l := groupHarness(t, false)
	var alice, bob string
	for _, p := range l.participants(t) {
		switch idOf(p.Info.Identity) {
		case "alice":
			alice = p.ID
		case "bob":
			bob = p.ID
		}
	}
	hold := func(pid, action string) testenv.Response {
		return env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/participants/"+pid+"/"+action, l.token, map[string]any{"clientContext": "hold"})
	}
	r := hold(alice, "startHoldMusic")
	if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), `"status":"Running"`) {
		t.Fatalf("startHoldMusic: %d %s", r.Status, r.Body)
	}
	var op graph.Operation
	r.JSON(t, &op)
	if done, _ := finishedOp(t, l.bot, l.call.ID, op.ID); done.Status != "Completed" {
		t.Fatalf("hold music: %+v", done)
	}
	checkGraphError(t, hold(bob, "startHoldMusic"), http.StatusConflict, "Conflict")
	if r := hold(alice, "stopHoldMusic"); r.Status != http.StatusAccepted {
		t.Fatalf("stopHoldMusic: %d %s", r.Status, r.Body)
	}
	if r := hold(bob, "startHoldMusic"); r.Status != http.StatusAccepted {
		t.Fatalf("hold for bob once alice is off hold: %d %s", r.Status, r.Body)
	}

	// updateRecordingStatus is for policy-recording bots, which host their
	// media: refused on the service-hosted leg, completed on an app-hosted
	// one and shown in every leg's roster.
	checkGraphError(t, env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/updateRecordingStatus", l.token, map[string]any{"status": "recording"}), http.StatusBadRequest, "BadRequest")
	recorder := &leg{env: env, bot: testbot.Start(t), token: l.token}
	body := joinBody(recorder.bot.URL, m, "organizer", false)
	body["mediaConfig"] = map[string]any{"@odata.type": "#microsoft.graph.appHostedMediaConfig", "blob": "{}"}
	if r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", l.token, body); r.Status != http.StatusCreated {
		t.Fatalf("join with app-hosted media: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &recorder.call)
	}
	recorder.waitEstablished(t, m)
	r = env.Do(t, http.MethodPost, testenv.CallPath(recorder.call.ID)+"/updateRecordingStatus", l.token, map[string]any{"status": "recording", "clientContext": "rec"})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"status":"Completed"`) {
		t.Fatalf("updateRecordingStatus: %d %s", r.Status, r.Body)
	}
	checkSchema(t, "microsoft.graph.updateRecordingStatusOperation", r.Body)
	l.bot.Wait(t, wait, "the recording bot in the roster", func(all []testbot.Notification) bool {
		rs := testbot.Acked(all, l.roster())
		return len(rs) > 0 && strings.Contains(string(rs[len(rs)-1].Data), `"recordingStatus":"recording"`) && strings.Contains(string(rs[len(rs)-1].Data), recorder.call.MyParticipantID)
	})
	var seen admin.GroupView
	sim(t, env, http.MethodGet, "/meetings/"+m.ID, nil).JSON(t, &seen)
	for _, p := range seen.Participants {
		if rec := p.RecordingInfo; (p.ID == recorder.call.MyParticipantID) != (rec != nil && rec.RecordingStatus == "recording") {
			t.Errorf("the simulator's roster: %s records %+v", p.ID, rec)
		}
	}

	checkNotificationSchemas(t, l.bot, recorder.bot)
}

// TestScriptedIVR: a scripted person calls the bot; the bot (a test
// receiver acting on notifications) answers, plays a menu and subscribes
// to tones; the person presses 2 when the menu ends; the bot records a
// message; the person speaks 2 s; the bot downloads the recording and hangs
// up. Nothing sleeps: every step waits on a notification.
func TestScriptedIVR(t *testing.T) {
	files := promptServer(t)
	in := startInbound(t)
	r := sim(t, in.env, http.MethodPut, "/people/caller", map[string]any{"script": []any{
		map[string]any{"on": "promptFinished", "press": "2"},
		map[string]any{"on": "recordingStarted", "speak": "2s"},
	}})
	if r.Status != http.StatusOK {
		t.Fatalf("script: %d %s", r.Status, r.Body)
	}
	v := in.ring(t, map[string]any{"user": map[string]any{"id": "caller"}}, in.app())
	in.created(t, v.ID)
	in.answer(t, v.ID)
	in.bot.WaitAcked(t, wait, "/communications/calls/"+v.ID, 2)
	startOperation(t, in, v.ID, "subscribeToTone", nil)
	menu := startOperation(t, in, v.ID, "playPrompt", promptBody(files+"/menu.wav"))
	finishedOp(t, in.bot, v.ID, menu.ID)
	n := in.bot.Wait(t, wait, "the caller's key", func(all []testbot.Notification) bool {
		for _, n := range all {
			if strings.Contains(string(n.Data), `"toneInfo"`) {
				return true
			}
		}
		return false
	})
	if !strings.Contains(string(n[len(n)-1].Data), `"tone":"tone2"`) {
		t.Fatalf("the caller pressed: %s", n[len(n)-1].Data)
	}
	rec := startOperation(t, in, v.ID, "recordResponse", map[string]any{"maxSilenceTimeoutInSeconds": 1, "maxRecordDurationInSeconds": 30})
	done, _ := finishedOp(t, in.bot, v.ID, rec.ID)
	if done.Status != "Completed" || done.ResultInfo.Subcode != 8509 {
		t.Fatalf("the message: %+v", done)
	}
	req, _ := http.NewRequest(http.MethodGet, *done.RecordingLocation, nil)
	req.Header.Set("Authorization", "Bearer "+*done.RecordingAccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	f, err := media.ReadHeader(resp.Body)
	resp.Body.Close()
	// Listening starts after the 0.5 s beep; the caller speaks 2 s, then
	// 1 s of silence ends it: 3 s.
	if err != nil || f.Duration() != 3*time.Second {
		t.Fatalf("the recording: %v, %v", f.Duration(), err)
	}
	if r := in.env.Do(t, http.MethodDelete, testenv.CallPath(v.ID), in.env.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("hang up: %d", r.Status)
	}
	var view admin.CallView
	sim(t, in.env, http.MethodGet, "/calls/"+v.ID, nil).JSON(t, &view)
	if view.ScriptStep != 2 || view.Outcome != "botHungUp" {
		t.Fatalf("the caller's side: %+v", view)
	}
	checkNotificationSchemas(t, in.webhook, in.bot)
}

// TestMediaOnTheSimulatorSide: keys and speech from the command line, a
// person in a meeting pressing keys that the bot's leg hears, prompts
// prefetched when the call is created, a scripted person the bot calls, and
// media refused on an app-hosted call.
func TestMediaOnTheSimulatorSide(t *testing.T) {
	var fetched atomic.Int64
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Write(media.Recording(300*time.Millisecond, nil))
	}))
	t.Cleanup(files.Close)
	in := startInbound(t)
	data := []string{"--data", in.env.DataDir}

	// From the command line.
	id := mediaCall(t, in)
	startOperation(t, in, id, "subscribeToTone", nil)
	output(t, nil, append([]string{"sim", "call", "tones", id, "5*"}, data...)...)
	got := in.bot.WaitAcked(t, wait, "/communications/calls/"+id, 4)
	if !strings.Contains(string(got[3].Data), `"tone":"star"`) {
		t.Fatalf("sim call tones: %s", got[3].Data)
	}
	rec := startOperation(t, in, id, "recordResponse", map[string]any{"playBeep": false, "maxSilenceTimeoutInSeconds": 1})
	output(t, nil, append([]string{"sim", "call", "speak", id, "500ms"}, data...)...)
	if done, _ := finishedOp(t, in.bot, id, rec.ID); done.ResultInfo.Subcode != 8509 {
		t.Fatalf("sim call speak: %+v", done)
	}
	wavFile := filepath.Join(t.TempDir(), "hello.wav")
	if err := os.WriteFile(wavFile, media.Recording(700*time.Millisecond, []media.Interval{{From: 0, To: 700 * time.Millisecond}}), 0o600); err != nil {
		t.Fatal(err)
	}
	rec = startOperation(t, in, id, "recordResponse", map[string]any{"playBeep": false, "maxSilenceTimeoutInSeconds": 1})
	output(t, nil, append([]string{"sim", "call", "speak", id, wavFile}, data...)...)
	if done, _ := finishedOp(t, in.bot, id, rec.ID); done.ResultInfo.Subcode != 8509 {
		t.Fatalf("sim call speak FILE: %+v", done)
	}

	// In a meeting: a person presses keys, the bot's leg hears them.
	m := createMeeting(t, in.env, "alice")
	l := join(t, in.env, in.env.Token, m, "organizer", false)
	in.env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/subscribeToTone", in.env.Token, nil)
	var alicePID string
	for _, p := range l.participants(t) {
		if idOf(p.Info.Identity) == "alice" {
			alicePID = p.ID
		}
	}
	if r := sim(t, in.env, http.MethodPost, "/meetings/"+m.ID+"/participants/"+alicePID+"/tones", map[string]any{"tones": "7"}); r.Status != http.StatusNoContent {
		t.Fatalf("a person in a meeting presses 7: %d %s", r.Status, r.Body)
	}
	l.bot.Wait(t, wait, "the leg hears 7", func(all []testbot.Notification) bool {
		for _, n := range all {
			if strings.Contains(string(n.Data), `"tone":"tone7"`) {
				return true
			}
		}
		return false
	})

	// Prefetched when the call is created.
	req := testenv.CallRequest(in.bot.URL)
	req["mediaConfig"] = map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig", "preFetchMedia": []any{map[string]any{"uri": files.URL + "/pre.wav"}}}
	in.env.Do(t, http.MethodPost, "/v1.0/communications/calls", in.env.Token, req)
	eventually(t, "the prompt prefetched", func() bool { return fetched.Load() == 1 })

	// A scripted person the bot calls hangs up once the bot's prompt ends.
	sim(t, in.env, http.MethodPut, "/people/dora", map[string]any{"script": []any{map[string]any{"on": "promptFinished", "hangup": true}}})
	req = testenv.CallRequest(in.bot.URL)
	req["targets"].([]any)[0].(map[string]any)["identity"].(map[string]any)["user"].(map[string]any)["id"] = "dora"
	out := graphID(t, in.env.Do(t, http.MethodPost, "/v1.0/communications/calls", in.env.Token, req))
	in.bot.WaitAcked(t, wait, "/communications/calls/"+out, 2)
	startOperation(t, in, out, "playPrompt", promptBody(files.URL+"/pre.wav"))
	got = in.bot.WaitAcked(t, wait, "/communications/calls/"+out, 4)
	if last := got[len(got)-1]; last.State != "terminated" || last.ResultInfo.Subcode != 4521 {
		t.Fatalf("the scripted callee: %v", states(got))
	}
	if fetched.Load() != 1 {
		t.Fatalf("the prefetched prompt was fetched %d times", fetched.Load())
	}
	// And when an incoming call is answered.
	v := in.ring(t, alice, in.app())
	in.created(t, v.ID)
	if r := in.action(t, v.ID, "answer", map[string]any{
		"callbackUri": in.bot.URL, "acceptedModalities": []string{"audio"},
		"mediaConfig": map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig", "preFetchMedia": []any{map[string]any{"uri": files.URL + "/welcome.wav"}}},
	}); r.Status != http.StatusAccepted {
		t.Fatalf("answer: %d %s", r.Status, r.Body)
	}
	eventually(t, "the prompt prefetched on answer", func() bool { return fetched.Load() == 2 })

	// App-hosted media plays nothing here.
	appHosted := testenv.CallRequest(in.bot.URL)
	appHosted["mediaConfig"] = map[string]any{"@odata.type": "#microsoft.graph.appHostedMediaConfig", "blob": "x"}
	ah := graphID(t, in.env.Do(t, http.MethodPost, "/v1.0/communications/calls", in.env.Token, appHosted))
	in.bot.WaitAcked(t, wait, "/communications/calls/"+ah, 2)
	checkGraphError(t, in.action(t, ah, "playPrompt", promptBody(files.URL+"/x.wav")), http.StatusBadRequest, "BadRequest")
	// ...but records, as a policy-recording bot does; the simulator shows it.
	if r := in.action(t, ah, "updateRecordingStatus", map[string]any{"status": "recording"}); r.Status != http.StatusOK {
		t.Fatalf("updateRecordingStatus: %d %s", r.Status, r.Body)
	}
	var seen admin.CallView
	sim(t, in.env, http.MethodGet, "/calls/"+ah, nil).JSON(t, &seen)
	if seen.RecordingStatus != "recording" {
		t.Fatalf("the simulator's view of a recording bot's call: %+v", seen)
	}
	checkNotificationSchemas(t, in.bot, l.bot)
}

// TestSamplePrompts: callplane serves sample prompts, in the format the
// service plays.
func TestSamplePrompts(t *testing.T) {
	env := testenv.Start(t)
	resp, err := http.Get(env.URL + "/media/samples/menu.wav")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	f, err := media.ReadHeader(resp.Body)
	if err != nil || media.Playable(f) != nil || f.Duration() != 3*time.Second {
		t.Fatalf("menu.wav: %v %v", f, err)
	}
}

// TestUploadedSpeech: a person who speaks a WAV file of their own is
// recorded saying exactly it; audio that is not a playable WAV is refused.
func TestUploadedSpeech(t *testing.T) {
	in := startInbound(t)
	id := mediaCall(t, in)
	// 300 ms of a ramp at 8 kHz, which the recording holds at 16 kHz.
	voice := make([]int16, 2400)
	for i := range voice {
		voice[i] = int16(10 * (i + 1))
	}
	audio := media.Recording(300*time.Millisecond, nil)[:44]
	binary.LittleEndian.PutUint32(audio[24:], 8000)
	binary.LittleEndian.PutUint32(audio[28:], 16000)
	binary.LittleEndian.PutUint32(audio[40:], uint32(2*len(voice)))
	for _, v := range voice {
		audio = binary.LittleEndian.AppendUint16(audio, uint16(v))
	}

	op := startOperation(t, in, id, "recordResponse", map[string]any{"playBeep": false, "maxSilenceTimeoutInSeconds": 1})
	if r := sim(t, in.env, http.MethodPost, "/calls/"+id+"/speech", map[string]any{"audio": audio}); r.Status != http.StatusNoContent {
		t.Fatalf("speak the file: %d %s", r.Status, r.Body)
	}
	done, _ := finishedOp(t, in.bot, id, op.ID)
	if done.Status != "Completed" || done.ResultInfo.Subcode != 8509 {
		t.Fatalf("recording: %+v", done)
	}
	req, _ := http.NewRequest(http.MethodGet, *done.RecordingLocation, nil)
	req.Header.Set("Authorization", "Bearer "+*done.RecordingAccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var wav bytes.Buffer
	wav.ReadFrom(resp.Body)
	resp.Body.Close()
	f, err := media.ReadHeader(bytes.NewReader(wav.Bytes()))
	if resp.StatusCode != http.StatusOK || err != nil || f.Duration() < 1300*time.Millisecond {
		t.Fatalf("download: %d, %v, %v", resp.StatusCode, f.Duration(), err)
	}
	// The ramp, each sample twice, from where the person started speaking.
	pcm := wav.Bytes()[44:]
	start := bytes.Index(pcm, []byte{10, 0, 10, 0, 20, 0, 20, 0})
	if start < 0 {
		t.Fatal("the recording does not hold the audio spoken")
	}
	for i, v := range voice {
		for _, at := range []int{start + 4*i, start + 4*i + 2} {
			if got := int16(binary.LittleEndian.Uint16(pcm[at:])); got != v {
				t.Fatalf("sample %d of the audio spoken is %d in the recording, want %d", i, got, v)
			}
		}
	}

	stereo := bytes.Clone(audio)
	stereo[22] = 2
	for name, body := range map[string]any{
		"not a WAV": map[string]any{"audio": []byte("hello")},
		"stereo":    map[string]any{"audio": stereo},
		"both":      map[string]any{"audio": audio, "seconds": 2},
	} {
		r := sim(t, in.env, http.MethodPost, "/calls/"+id+"/speech", body)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "audio") {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	checkNotificationSchemas(t, in.bot)
}
