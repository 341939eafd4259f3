package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// inbound is a bot that receives calls: its webhook, and where its answered
// calls report.
type inbound struct {
	env     *testenv.Env
	webhook *testbot.Bot // the application's calling webhook
	bot     *testbot.Bot // the answer's callbackUri
}

func startInbound(t *testing.T, edits ...func(*server.Config)) *inbound {
	t.Helper()
	webhook := testbot.Start(t)
	bot := testbot.Start(t)
	env := testenv.Start(t, append([]func(*server.Config){func(c *server.Config) { c.CallingWebhook = webhook.URL }}, edits...)...)
	return &inbound{env: env, webhook: webhook, bot: bot}
}

// ring has a simulated party call: from and to are identity sets as JSON.
func (in *inbound) ring(t *testing.T, from, to map[string]any) admin.CallView {
	t.Helper()
	r := sim(t, in.env, http.MethodPost, "/calls", map[string]any{"from": from, "to": to, "requestedModalities": []string{"audio"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("place a call to the bot: %d %s", r.Status, r.Body)
	}
	var v admin.CallView
	r.JSON(t, &v)
	return v
}

func (in *inbound) view(t *testing.T, id string) admin.CallView {
	t.Helper()
	r := sim(t, in.env, http.MethodGet, "/calls/"+id, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("simulator view: %d %s", r.Status, r.Body)
	}
	var v admin.CallView
	r.JSON(t, &v)
	return v
}

// created waits for the incoming call's created notification at the
// webhook and returns the call it carries, checked against the schema.
func (in *inbound) created(t *testing.T, id string) graph.Call {
	t.Helper()
	n := in.webhook.WaitAcked(t, wait, "/communications/calls/"+id, 1)[0]
	if n.ChangeType != "created" || n.State != "incoming" {
		t.Fatalf("first notification: %s/%s", n.ChangeType, n.State)
	}
	checkSchema(t, "microsoft.graph.call", n.Data)
	var c graph.Call
	if err := json.Unmarshal(n.Data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (in *inbound) action(t *testing.T, id, action string, body any) testenv.Response {
	t.Helper()
	return in.env.Do(t, http.MethodPost, testenv.CallPath(id)+"/"+action, in.env.Token, body)
}

func (in *inbound) answer(t *testing.T, id string) {
	t.Helper()
	r := in.action(t, id, "answer", map[string]any{
		"callbackUri":        in.bot.URL,
		"acceptedModalities": []string{"audio"},
		"mediaConfig":        map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
	})
	if r.Status != http.StatusAccepted || len(r.Body) != 0 {
		t.Fatalf("answer: %d %s", r.Status, r.Body)
	}
}

var alice = map[string]any{"user": map[string]any{"id": "alice", "displayName": "Alice"}}

func (in *inbound) app() map[string]any {
	return map[string]any{"application": map[string]any{"id": in.env.Server.Directory().DefaultApplication().ClientID}}
}

// TestIncomingCallAnsweredThenCallerHangsUp: a user calls the bot; the
// webhook gets created with the whole incoming call; the bot answers and
// hears establishing and established at the answer's callbackUri; the
// caller hangs up and the bot hears terminating and terminated, 200/4521.
func TestIncomingCallAnsweredThenCallerHangsUp(t *testing.T) {
	in := startInbound(t)
	v := in.ring(t, alice, in.app())
	if v.Outcome != "ringing" || v.Direction != "incoming" || v.State != "incoming" {
		t.Fatalf("placed: %+v", v)
	}
	c := in.created(t, v.ID)
	app := in.env.Server.Directory().DefaultApplication()
	if c.Direction != "incoming" || c.Source == nil || c.Source.Identity.User == nil || c.Source.Identity.User.ID != "alice" ||
		len(c.Targets) != 1 || c.Targets[0].Identity.Application == nil || c.Targets[0].Identity.Application.ID != app.ClientID ||
		c.TenantID != in.env.Server.Directory().TenantID() || c.CallChainID == "" || c.MyParticipantID == "" || len(c.RequestedModalities) != 1 {
		t.Fatalf("incoming call: %+v", c)
	}
	if r := in.env.Do(t, http.MethodGet, testenv.CallPath(v.ID), in.env.Token, nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"state":"incoming"`) {
		t.Fatalf("GET the incoming call: %d %s", r.Status, r.Body)
	}
	in.answer(t, v.ID)
	got := in.bot.WaitAcked(t, wait, "/communications/calls/"+v.ID, 2)
	if !equal(states(got), []string{"updated/establishing", "updated/established"}) {
		t.Fatalf("after answering: %v", states(got))
	}
	checkGraphError(t, in.action(t, v.ID, "answer", map[string]any{"mediaConfig": map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}}), http.StatusBadRequest, "BadRequest")
	if v := in.view(t, v.ID); v.Outcome != "answered" {
		t.Fatalf("outcome after answering: %+v", v)
	}
	if r := sim(t, in.env, http.MethodPost, "/calls/"+v.ID+"/hangup", nil); r.Status != http.StatusNoContent {
		t.Fatalf("caller hangs up: %d %s", r.Status, r.Body)
	}
	got = in.bot.WaitAcked(t, wait, "/communications/calls/"+v.ID, 4)
	if !equal(states(got), []string{"updated/establishing", "updated/established", "updated/terminating", "deleted/terminated"}) ||
		got[3].ResultInfo == nil || got[3].ResultInfo.Code != 200 || got[3].ResultInfo.Subcode != 4521 {
		t.Fatalf("after the caller hung up: %v %+v", states(got), got[3].ResultInfo)
	}
	if v := in.view(t, v.ID); v.Outcome != "callerHungUp" || v.State != "terminated" {
		t.Fatalf("outcome: %+v", v)
	}
	checkNotificationSchemas(t, in.webhook, in.bot)
}

// TestPhoneCallerReachesTheInstanceNumber: a phone caller dials the dev
// application's number; the incoming call's targets carry the
// application instance, and the caller hanging up is the PSTN code.
func TestPhoneCallerReachesTheInstanceNumber(t *testing.T) {
	in := startInbound(t)
	number := in.env.Server.Directory().DefaultApplication().Instances[0]
	if !strings.Contains(in.env.Server.Describe(), number.PhoneNumber) {
		t.Fatal("the banner does not print the dev phone number")
	}
	v := in.ring(t, map[string]any{"phone": map[string]any{"id": "+15551234567"}}, map[string]any{"phone": map[string]any{"id": number.PhoneNumber}})
	c := in.created(t, v.ID)
	if c.Source.Identity.Phone == nil || c.Source.Identity.Phone.ID != "+15551234567" ||
		c.Targets[0].Identity.ApplicationInstance == nil || c.Targets[0].Identity.ApplicationInstance.ID != number.ID {
		t.Fatalf("incoming phone call: source %+v, targets %+v", c.Source.Identity, c.Targets[0].Identity)
	}
	in.answer(t, v.ID)
	in.bot.WaitAcked(t, wait, "/communications/calls/"+v.ID, 2)
	sim(t, in.env, http.MethodPost, "/calls/"+v.ID+"/hangup", nil)
	got := in.bot.WaitAcked(t, wait, "/communications/calls/"+v.ID, 4)
	if got[3].ResultInfo == nil || got[3].ResultInfo.Subcode != 540000 {
		t.Fatalf("a phone caller hangs up: %+v", got[3].ResultInfo)
	}
	checkNotificationSchemas(t, in.webhook, in.bot)
}

// TestRejectBusy: the bot rejects as busy; it hears a bare deleted, and the
// caller's outcome says busy.
func TestRejectBusy(t *testing.T) {
	in := startInbound(t)
	v := in.ring(t, alice, in.app())
	in.created(t, v.ID)
	if r := in.action(t, v.ID, "reject", map[string]any{"reason": "busy"}); r.Status != http.StatusAccepted {
		t.Fatalf("reject: %d %s", r.Status, r.Body)
	}
	got := in.webhook.WaitAcked(t, wait, "/communications/calls/"+v.ID, 2)
	if got[1].ChangeType != "deleted" || string(got[1].Data) != `{"@odata.type":"#microsoft.graph.call","@odata.id":"/communications/calls/`+v.ID+`"}` {
		t.Fatalf("after reject: %s %s", got[1].ChangeType, got[1].Data)
	}
	if v := in.view(t, v.ID); v.Outcome != "rejected" || v.Reason != "busy" {
		t.Fatalf("caller's outcome: %+v", v)
	}
	checkGraphError(t, in.action(t, v.ID, "reject", map[string]any{"reason": "busy"}), http.StatusNotFound, "8522")
	checkNotificationSchemas(t, in.webhook)
}

// TestIncomingCallUnanswered: a call nobody answers within the incoming
// timeout ends for the bot with 408/1106; answering it afterwards is 404.
func TestIncomingCallUnanswered(t *testing.T) {
	in := startInbound(t, func(c *server.Config) { c.Timing.IncomingTimeout = 200 * time.Millisecond })
	v := in.ring(t, alice, in.app())
	got := in.webhook.WaitAcked(t, wait, "/communications/calls/"+v.ID, 2)
	if !equal(states(got), []string{"created/incoming", "deleted/terminated"}) || got[1].ResultInfo == nil ||
		got[1].ResultInfo.Code != 408 || got[1].ResultInfo.Subcode != 1106 {
		t.Fatalf("unanswered: %v %+v", states(got), got[1].ResultInfo)
	}
	if v := in.view(t, v.ID); v.Outcome != "unanswered" {
		t.Fatalf("outcome: %+v", v)
	}
	checkGraphError(t, in.action(t, v.ID, "answer", map[string]any{"mediaConfig": map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}}), http.StatusNotFound, "8522")
	checkNotificationSchemas(t, in.webhook)
}

// TestRedirect: to a person who answers (the bot's call ends at once, the
// caller's outcome names the person), and to another bot, which gets an
// incoming call of its own.
func TestRedirect(t *testing.T) {
	in := startInbound(t)
	v := in.ring(t, alice, in.app())
	in.created(t, v.ID)
	if r := in.action(t, v.ID, "redirect", map[string]any{"targets": []any{map[string]any{"identity": map[string]any{"user": map[string]any{"id": "bob"}}}}}); r.Status != http.StatusAccepted {
		t.Fatalf("redirect: %d %s", r.Status, r.Body)
	}
	got := in.webhook.WaitAcked(t, wait, "/communications/calls/"+v.ID, 2)
	if !equal(states(got), []string{"created/incoming", "deleted/terminated"}) || !strings.Contains(string(got[1].Data), `"direction":"incoming"`) {
		t.Fatalf("after redirect: %v %s", states(got), got[1].Data)
	}
	checkSchema(t, "microsoft.graph.call", got[1].Data)
	if v := in.view(t, v.ID); v.Outcome != "redirected" || v.Target == nil || v.Target.User == nil || v.Target.User.ID != "bob" {
		t.Fatalf("outcome: %+v", v)
	}

	// To another bot: its webhook gets the call, from the original caller.
	other := testbot.Start(t)
	r := sim(t, in.env, http.MethodPost, "/applications", map[string]any{"displayName": "overflow", "callingWebhook": other.URL})
	var overflow admin.NewApplicationView
	r.JSON(t, &overflow)
	v = in.ring(t, alice, in.app())
	in.created(t, v.ID)
	if r := in.action(t, v.ID, "redirect", map[string]any{"targets": []any{map[string]any{"identity": map[string]any{"application": map[string]any{"id": overflow.ID}}}}}); r.Status != http.StatusAccepted {
		t.Fatalf("redirect to a bot: %d %s", r.Status, r.Body)
	}
	n := other.Wait(t, wait, "the other bot's incoming call", func(all []testbot.Notification) bool { return len(all) > 0 })[0]
	var redirected graph.Call
	json.Unmarshal(n.Data, &redirected)
	if n.ChangeType != "created" || redirected.State != "incoming" || redirected.Source.Identity.User.ID != "alice" || redirected.Targets[0].Identity.Application.ID != overflow.ID {
		t.Fatalf("the other bot got %s %s", n.ChangeType, n.Data)
	}
	status, body := secretToken(t, in.env, overflow.ID, overflow.ClientSecret)
	if status != http.StatusOK {
		t.Fatal(body)
	}
	overflowToken := body["access_token"].(string)
	r = in.env.Do(t, http.MethodPost, testenv.CallPath(redirected.ID)+"/answer", overflowToken, map[string]any{"mediaConfig": map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}})
	if r.Status != http.StatusAccepted {
		t.Fatalf("the other bot answers: %d %s", r.Status, r.Body)
	}
	other.WaitAcked(t, wait, "/communications/calls/"+redirected.ID, 3)
	if v := in.view(t, v.ID); v.Outcome != "redirected" || v.Target == nil || v.Target.Application == nil || v.Target.Application.ID != overflow.ID {
		t.Fatalf("outcome: %+v", v)
	}
	checkNotificationSchemas(t, in.webhook, other)
}

// TestTransfer: blind to a person who answers; to a busy person, the call
// stays established with the failure; consultative, the replaced call
// ends too.
func TestTransfer(t *testing.T) {
	in := startInbound(t)
	answered := func() string {
		v := in.ring(t, alice, in.app())
		in.created(t, v.ID)
		in.answer(t, v.ID)
		in.bot.WaitAcked(t, wait, "/communications/calls/"+v.ID, 2)
		return v.ID
	}
	to := func(id string) map[string]any {
		return map[string]any{"transferTarget": map[string]any{"identity": map[string]any{"user": map[string]any{"id": id}}}}
	}

	id := answered()
	if r := in.action(t, id, "transfer", to("carol")); r.Status != http.StatusAccepted {
		t.Fatalf("transfer: %d %s", r.Status, r.Body)
	}
	got := in.bot.WaitAcked(t, wait, "/communications/calls/"+id, 5)
	if !equal(states(got[2:]), []string{"updated/transferring", "updated/transferAccepted", "deleted/terminated"}) ||
		got[4].ResultInfo == nil || got[4].ResultInfo.Code != 0 || got[4].ResultInfo.Subcode != 7015 {
		t.Fatalf("blind transfer: %v %+v", states(got), got[4].ResultInfo)
	}
	if v := in.view(t, id); v.Outcome != "transferred" || v.Target == nil || v.Target.User.ID != "carol" {
		t.Fatalf("outcome: %+v", v)
	}

	if r := sim(t, in.env, http.MethodPut, "/people/dave", map[string]any{"answer": "busy"}); r.Status != http.StatusOK {
		t.Fatalf("set dave busy: %d %s", r.Status, r.Body)
	}
	id = answered()
	in.action(t, id, "transfer", to("dave"))
	got = in.bot.WaitAcked(t, wait, "/communications/calls/"+id, 4)
	if !equal(states(got[2:]), []string{"updated/transferring", "updated/established"}) || got[3].ResultInfo == nil ||
		got[3].ResultInfo.Code != 500 || got[3].ResultInfo.Subcode != 7000 {
		t.Fatalf("transfer to a busy person: %v %+v", states(got), got[3].ResultInfo)
	}
	if r := in.env.Do(t, http.MethodGet, testenv.CallPath(id), in.env.Token, nil); !strings.Contains(string(r.Body), `"state":"established"`) {
		t.Fatalf("the call after a failed transfer: %s", r.Body)
	}

	// Consultative: the bot called carol itself; transferring alice to
	// that call ends both.
	consult := in.env.PlaceCall(t, in.bot.URL)
	in.bot.WaitAcked(t, wait, "/communications/calls/"+consult.ID, 2)
	body := to("carol")
	body["transferTarget"].(map[string]any)["replacesCallId"] = consult.ID
	if r := in.action(t, id, "transfer", body); r.Status != http.StatusAccepted {
		t.Fatalf("consultative transfer: %d %s", r.Status, r.Body)
	}
	got = in.bot.WaitAcked(t, wait, "/communications/calls/"+id, 7)
	if last := got[6]; last.State != "terminated" || !strings.Contains(string(last.Data), `"terminationReason":"AppTransferred"`) {
		t.Fatalf("consultative transfer: %v %s", states(got), last.Data)
	}
	replaced := in.bot.WaitAcked(t, wait, "/communications/calls/"+consult.ID, 4)
	if replaced[3].State != "terminated" || replaced[3].ResultInfo.Subcode != 7015 {
		t.Fatalf("the replaced call: %v", states(replaced))
	}
	checkNotificationSchemas(t, in.webhook, in.bot)
}

// TestOutgoingCallsToPeopleWhoDoNotAnswer: the bot's calls to a busy
// person, one who declines and one who never answers end with 486, 603
// and 408/10057.
func TestOutgoingCallsToPeopleWhoDoNotAnswer(t *testing.T) {
	env := testenv.Start(t, func(c *server.Config) { c.Timing.RingTimeout = 300 * time.Millisecond })
	bot := testbot.Start(t)
	for id, want := range map[string][2]int{"busy-bea": {486, 0}, "declining-dan": {603, 0}, "silent-sam": {408, 10057}} {
		answer := map[string]string{"busy-bea": "busy", "declining-dan": "decline", "silent-sam": "noAnswer"}[id]
		if r := sim(t, env, http.MethodPut, "/people/"+id, map[string]any{"answer": answer, "answerDelay": "50ms"}); r.Status != http.StatusOK {
			t.Fatalf("set %s: %d %s", id, r.Status, r.Body)
		}
		req := testenv.CallRequest(bot.URL)
		req["targets"].([]any)[0].(map[string]any)["identity"].(map[string]any)["user"].(map[string]any)["id"] = id
		r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, req)
		c := graphID(t, r)
		got := bot.WaitAcked(t, wait, "/communications/calls/"+c, 3)
		last := got[len(got)-1]
		if last.State != "terminated" || last.ResultInfo == nil || last.ResultInfo.Code != want[0] || last.ResultInfo.Subcode != want[1] {
			t.Errorf("call to %s: %v %+v", id, states(got), last.ResultInfo)
		}
		var v admin.CallView
		sim(t, env, http.MethodGet, "/calls/"+c, nil).JSON(t, &v)
		if v.Outcome != "calleeRefused" || v.Reason != answer {
			t.Errorf("call to %s: simulator view %+v", id, v)
		}
	}
}

// TestCallToAnApplicationWithoutWebhook: nothing to announce it to; the
// simulator says why.
func TestCallToAnApplicationWithoutWebhook(t *testing.T) {
	env := testenv.Start(t)
	r := sim(t, env, http.MethodPost, "/calls", map[string]any{"from": alice, "to": map[string]any{"application": map[string]any{"id": env.Server.Directory().DefaultApplication().ClientID}}})
	if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "webhook") {
		t.Fatalf("call to an application without a webhook: %d %s", r.Status, r.Body)
	}
	if ns := testbot.Start(t).All(); len(ns) != 0 {
		t.Fatal("something was sent")
	}
}

// TestSimCallCommands: the "Receive a call" walk-through from the command
// line: a person calls the bot, the bot answers through Graph, the person
// hangs up; and people set to answer their way.
func TestSimCallCommands(t *testing.T) {
	in := startInbound(t)
	data := []string{"--data", in.env.DataDir}
	id := strings.TrimSpace(output(t, nil, append([]string{"sim", "call", "place", "--from", "user:alice:Alice", "--to", "app"}, data...)...))
	if strings.Count(id, "-") != 4 {
		t.Fatalf("sim call place printed %q, want the call id", id)
	}
	c := in.created(t, id)
	if c.Source.Identity.User.DisplayName != "Alice" {
		t.Fatalf("caller %+v", c.Source.Identity.User)
	}
	in.answer(t, id)
	in.bot.WaitAcked(t, wait, "/communications/calls/"+id, 2)
	output(t, nil, append([]string{"sim", "call", "hangup", id}, data...)...)
	var v admin.CallView
	json.Unmarshal([]byte(output(t, nil, append([]string{"sim", "call", "show", id}, data...)...)), &v)
	if v.Outcome != "callerHungUp" {
		t.Fatalf("sim call show: %+v", v)
	}
	number := in.env.Server.Directory().DefaultApplication().Instances[0].PhoneNumber
	phoneCall := strings.TrimSpace(output(t, nil, append([]string{"sim", "call", "place", "--from", "phone:+15557654321", "--to", "phone:" + number}, data...)...))
	in.created(t, phoneCall)

	output(t, nil, append([]string{"sim", "people", "set", "bob", "--answer", "busy", "--delay", "1s", "--name", "Bob"}, data...)...)
	list := output(t, nil, append([]string{"sim", "people", "list"}, data...)...)
	if !strings.Contains(list, `"id":"bob"`) || !strings.Contains(list, `"answer":"busy"`) || !strings.Contains(list, `"answerDelay":"1s"`) {
		t.Fatalf("sim people list: %s", list)
	}
	output(t, nil, append([]string{"sim", "people", "remove", "bob"}, data...)...)
	if list := output(t, nil, append([]string{"sim", "people", "list"}, data...)...); strings.Contains(list, "bob") {
		t.Fatalf("after remove: %s", list)
	}
}

// TestPhoneCallsNeedAnInstance: a bot's call to a phone needs an
// application instance of its own as the source, and redirecting or
// transferring to a phone needs a call that came through one.
func TestPhoneCallsNeedAnInstance(t *testing.T) {
	in := startInbound(t)
	bot := testbot.Start(t)
	phoneCall := func(instanceID string) testenv.Response {
		req := testenv.CallRequest(bot.URL)
		req["source"] = map[string]any{"identity": map[string]any{"applicationInstance": map[string]any{"id": instanceID}}}
		req["targets"] = []any{map[string]any{"identity": map[string]any{"phone": map[string]any{"id": "+15550199999"}}}}
		return in.env.Do(t, http.MethodPost, "/v1.0/communications/calls", in.env.Token, req)
	}
	checkGraphError(t, phoneCall("8d1e2f3a-0000-4000-8000-00000000abcd"), http.StatusBadRequest, "BadRequest")
	if r := phoneCall(in.env.Server.Directory().DefaultApplication().Instances[0].ID); r.Status != http.StatusCreated {
		t.Fatalf("a call from the application's own instance: %d %s", r.Status, r.Body)
	}
	v := in.ring(t, alice, in.app()) // reached by its application id, not a number
	in.created(t, v.ID)
	r := in.action(t, v.ID, "redirect", map[string]any{"targets": []any{map[string]any{"identity": map[string]any{"phone": map[string]any{"id": "+15550188888"}}}}})
	checkGraphError(t, r, http.StatusBadRequest, "BadRequest")
}

// TestMeetingInvitesABot: a person in a meeting invites the bot; its
// webhook gets an incoming call with the meeting's chatInfo and meetingInfo;
// answering it joins the bot's leg to the meeting's roster.
func TestMeetingInvitesABot(t *testing.T) {
	in := startInbound(t)
	m := createMeeting(t, in.env, "alice")
	app := in.env.Server.Directory().DefaultApplication().ClientID
	r := sim(t, in.env, http.MethodPost, "/meetings/"+m.ID+"/participants", map[string]any{"application": map[string]any{"id": app}})
	if r.Status != http.StatusCreated {
		t.Fatalf("invite the bot: %d %s", r.Status, r.Body)
	}
	var invited admin.ParticipantView
	r.JSON(t, &invited)
	c := in.created(t, invited.CallID)
	if c.ChatInfo == nil || c.ChatInfo.ThreadID != m.JoinInfo.ChatInfo.ThreadID || c.MeetingInfo == nil || c.CallChainID != m.CallChainID {
		t.Fatalf("the invitation: chatInfo %+v meetingInfo %+v chain %s", c.ChatInfo, c.MeetingInfo, c.CallChainID)
	}
	in.answer(t, invited.CallID)
	l := &leg{env: in.env, bot: in.bot, token: in.env.Token, call: c}
	l.waitRoster(t, "the bot in the roster", func(p, _ []string) bool { return same(p, "alice", app) })
	checkNotificationSchemas(t, in.webhook, in.bot)
}

// TestInvitingPeopleWhoRefuse: an invitation to a busy person fails, with
// the refusal; nobody joins.
func TestInvitingPeopleWhoRefuse(t *testing.T) {
	env, _, l := groupHarness(t, false)
	sim(t, env, http.MethodPut, "/people/busy-bea", map[string]any{"answer": "busy"})
	r := env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/participants/invite", l.token, map[string]any{
		"participants": []any{map[string]any{"identity": map[string]any{"user": map[string]any{"id": "busy-bea"}}}},
	})
	var op graph.Operation
	r.JSON(t, &op)
	done := l.bot.WaitAcked(t, wait, l.resource()+"/operations/"+op.ID, 1)[0]
	var finished graph.Operation
	json.Unmarshal(done.Data, &finished)
	if finished.Status != "Failed" || finished.ResultInfo == nil || finished.ResultInfo.Code != 486 {
		t.Fatalf("invitation to a busy person: %s", done.Data)
	}
	if ps := l.participants(t); len(ps) != 3 {
		t.Fatalf("roster after the refused invitation: %d participants", len(ps))
	}
}

// TestTransferOutOfAGroupCall: a bot in a meeting transfers a participant
// (transferee) to a person: its leg ends with 0/7015 and the transferee
// leaves the meeting's roster.
func TestTransferOutOfAGroupCall(t *testing.T) {
	env, m, l := groupHarness(t, false)
	var alice graph.Participant
	for _, p := range l.participants(t) {
		if idOf(p.Info.Identity) == "alice" {
			alice = p
		}
	}
	body := map[string]any{
		"transferTarget": map[string]any{"identity": map[string]any{"user": map[string]any{"id": "carol"}}},
		"transferee":     map[string]any{"participantId": alice.ID, "identity": map[string]any{"user": map[string]any{"id": "alice"}}},
	}
	without := map[string]any{"transferTarget": body["transferTarget"]}
	checkGraphError(t, env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/transfer", l.token, without), http.StatusBadRequest, "BadRequest")
	if r := env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/transfer", l.token, body); r.Status != http.StatusAccepted {
		t.Fatalf("transfer with transferee: %d %s", r.Status, r.Body)
	}
	got := l.bot.WaitAcked(t, wait, l.resource(), 5)
	if !equal(states(got[2:]), []string{"updated/transferring", "updated/transferAccepted", "deleted/terminated"}) || got[4].ResultInfo.Subcode != 7015 {
		t.Fatalf("the leg: %v", states(got))
	}
	var view admin.GroupView
	sim(t, env, http.MethodGet, "/meetings/"+m.ID, nil).JSON(t, &view)
	for _, p := range view.Participants {
		if p.ID == alice.ID {
			t.Fatalf("the transferee is still in the meeting: %+v", view.Participants)
		}
	}
}
