package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// sim sends a simulator request with the admin credential.
func sim(t *testing.T, env *testenv.Env, method, path string, body any) testenv.Response {
	t.Helper()
	return env.Do(t, method, "/callplane"+path, env.Server.Directory().AdminSecret(), body)
}

// createMeeting creates a meeting with simulated people, by user id.
func createMeeting(t *testing.T, env *testenv.Env, people ...string) admin.GroupView {
	t.Helper()
	req := admin.MeetingRequest{Subject: "Weekly sync"}
	for _, p := range people {
		req.Participants = append(req.Participants, graph.IdentitySet{User: &graph.Identity{ID: p, DisplayName: "Person " + p}})
	}
	r := sim(t, env, http.MethodPost, "/meetings", req)
	if r.Status != http.StatusCreated {
		t.Fatalf("create meeting: %d %s", r.Status, r.Body)
	}
	var m admin.GroupView
	r.JSON(t, &m)
	if m.JoinInfo == nil || m.JoinInfo.ChatInfo.ThreadID == "" || m.JoinInfo.JoinMeetingIDMeetingInfo.JoinMeetingID == "" {
		t.Fatalf("meeting without join information: %s", r.Body)
	}
	return m
}

// joinBody is a create-call body that joins a meeting, the way the
// simulator's join information is meant to be used.
func joinBody(callbackURI string, m admin.GroupView, how string, delta bool) map[string]any {
	body := map[string]any{
		"callbackUri":         callbackURI,
		"requestedModalities": []string{"audio"},
		"mediaConfig":         map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
	}
	switch how {
	case "organizer":
		body["chatInfo"] = m.JoinInfo.ChatInfo
		body["meetingInfo"] = m.JoinInfo.OrganizerMeetingInfo
	case "joinMeetingId":
		body["meetingInfo"] = m.JoinInfo.JoinMeetingIDMeetingInfo
	case "token":
		body["meetingInfo"] = m.JoinInfo.TokenMeetingInfo
	}
	if delta {
		body["callOptions"] = map[string]any{"@odata.type": "#microsoft.graph.outgoingCallOptions", "isDeltaRosterEnabled": true}
	}
	return body
}

// leg is one bot's call in a group call.
type leg struct {
	env   *testenv.Env
	bot   *testbot.Bot
	token string
	delta bool
	call  graph.Call
}

func (l *leg) resource() string { return "/communications/calls/" + l.call.ID }
func (l *leg) roster() string   { return l.resource() + "/participants" }

// join has a bot join the meeting and waits until it is established.
func join(t *testing.T, env *testenv.Env, token string, m admin.GroupView, how string, delta bool) *leg {
	t.Helper()
	l := &leg{env: env, bot: testbot.Start(t), token: token, delta: delta}
	r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", token, joinBody(l.bot.URL, m, how, delta))
	if r.Status != http.StatusCreated {
		t.Fatalf("join meeting: %d %s", r.Status, r.Body)
	}
	checkSchema(t, "microsoft.graph.call", r.Body)
	r.JSON(t, &l.call)
	l.waitEstablished(t, m)
	return l
}

// waitEstablished checks the leg belongs to the meeting and waits until it
// is established.
func (l *leg) waitEstablished(t *testing.T, m admin.GroupView) {
	t.Helper()
	if l.call.CallChainID != m.CallChainID {
		t.Fatalf("leg callChainId %s, meeting's %s", l.call.CallChainID, m.CallChainID)
	}
	got := l.bot.WaitAcked(t, wait, l.resource(), 2)
	if got[1].State != "established" {
		t.Fatalf("join: %v", states(got))
	}
}

// idOf names a participant: its user, application or phone id.
func idOf(set *graph.IdentitySet) string {
	for _, id := range []*graph.Identity{set.User, set.Application, set.Phone, set.ApplicationInstance} {
		if id != nil {
			return id.ID
		}
	}
	return ""
}

// rosterIDs returns the ids of a roster notification's participants, sorted,
// and the ids among them marked removed.
func rosterIDs(t *testing.T, n testbot.Notification) (present, removed []string) {
	t.Helper()
	var ps []graph.Participant
	if err := json.Unmarshal(n.Data, &ps); err != nil {
		t.Fatalf("roster data: %v\n%s", err, n.Data)
	}
	for _, p := range ps {
		if p.RemovedState != nil {
			removed = append(removed, idOf(p.Info.Identity))
		} else {
			present = append(present, idOf(p.Info.Identity))
		}
	}
	sort.Strings(present)
	sort.Strings(removed)
	return present, removed
}

// lastRoster waits until the leg got a roster notification satisfying cond
// and returns its participants (by user or app id) and removed ones.
func (l *leg) waitRoster(t *testing.T, what string, cond func(present, removed []string) bool) (present, removed []string) {
	t.Helper()
	l.bot.Wait(t, wait, what, func(all []testbot.Notification) bool {
		rs := testbot.Acked(all, l.roster())
		if len(rs) == 0 {
			return false
		}
		present, removed = rosterIDs(t, rs[len(rs)-1])
		return cond(present, removed)
	})
	return present, removed
}

// participants lists the leg's roster through the API.
func (l *leg) participants(t *testing.T) []graph.Participant {
	t.Helper()
	r := l.env.Do(t, http.MethodGet, testenv.CallPath(l.call.ID)+"/participants", l.token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list participants: %d %s", r.Status, r.Body)
	}
	checkSchema(t, "Collection(microsoft.graph.participant)", r.Body)
	var list graph.ParticipantList
	r.JSON(t, &list)
	return list.Value
}

func same(a []string, b ...string) bool {
	b = slices.Clone(b)
	sort.Strings(b)
	return slices.Equal(a, b)
}

// checkRosterBodies checks every roster and operation notification a bot got
// against Graph's schema.
func checkNotificationSchemas(t *testing.T, bots ...*testbot.Bot) {
	t.Helper()
	for _, b := range bots {
		for _, body := range b.Bodies() {
			checkSchema(t, "microsoft.graph.commsNotifications", body)
		}
	}
}

// TestLeavingAMeetingEndsOnlyYourLeg is the seed page's group-call promise:
// two applications' bots in one meeting; when A hangs up, A hears
// terminating and terminated, B hears a roster without A, and B's call and
// the people in the meeting go on.
func TestLeavingAMeetingEndsOnlyYourLeg(t *testing.T) {
	env := testenv.Start(t)
	appB, _, err := env.Server.Directory().AddApplication(auth.AppSettings{DisplayName: "bot B"})
	if err != nil {
		t.Fatal(err)
	}
	tokenB, _, _ := env.Server.Tokens().AppToken(appB)
	m := createMeeting(t, env, "alice", "bob")
	a := join(t, env, env.Token, m, "organizer", false)
	b := join(t, env, tokenB, m, "joinMeetingId", false)
	appA := env.Server.Directory().DefaultApplication().ClientID

	b.waitRoster(t, "B sees A, B, Alice and Bob", func(p, _ []string) bool { return same(p, "alice", "bob", appA, appB.ClientID) })

	if r := env.Do(t, http.MethodDelete, testenv.CallPath(a.call.ID), a.token, nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("A's DELETE: %d %q", r.Status, r.Body)
	}
	got := a.bot.WaitAcked(t, wait, a.resource(), 4)
	if !equal(states(got), []string{"updated/establishing", "updated/established", "updated/terminating", "deleted/terminated"}) {
		t.Fatalf("A's notifications: %v", states(got))
	}
	if ri := got[3].ResultInfo; ri == nil || ri.Code != 0 {
		t.Fatalf("A's resultInfo %+v, want code 0", ri)
	}
	b.waitRoster(t, "B's roster without A", func(p, _ []string) bool { return same(p, "alice", "bob", appB.ClientID) })

	r := env.Do(t, http.MethodGet, testenv.CallPath(b.call.ID), tokenB, nil)
	var bCall graph.Call
	r.JSON(t, &bCall)
	if r.Status != http.StatusOK || bCall.State != "established" {
		t.Fatalf("B's call after A left: %d %s", r.Status, r.Body)
	}
	var ids []string
	for _, p := range b.participants(t) {
		ids = append(ids, idOf(p.Info.Identity))
	}
	sort.Strings(ids)
	if !same(ids, "alice", "bob", appB.ClientID) {
		t.Fatalf("B's participants after A left: %v", ids)
	}
	for _, n := range testbot.Acked(b.bot.All(), b.resource()) {
		if n.State != "establishing" && n.State != "established" {
			t.Fatalf("B's call changed when A left: %v", states(testbot.Acked(b.bot.All(), b.resource())))
		}
	}
	var meeting admin.GroupView
	sim(t, env, http.MethodGet, "/meetings/"+m.ID, nil).JSON(t, &meeting)
	if meeting.Ended || len(meeting.Participants) != 3 {
		t.Fatalf("meeting after A left: ended %v, %d participants", meeting.Ended, len(meeting.Participants))
	}
	checkNotificationSchemas(t, a.bot, b.bot)
}

// TestJoinByToken: the third way to name a meeting.
func TestJoinByToken(t *testing.T) {
	env := testenv.Start(t)
	m := createMeeting(t, env, "alice")
	l := join(t, env, env.Token, m, "token", false)
	app := env.Server.Directory().DefaultApplication().ClientID
	l.waitRoster(t, "roster with the bot and Alice", func(p, _ []string) bool { return same(p, "alice", app) })
}

// TestJoinUnknownMeeting: joining a meeting that does not exist, or with the
// wrong passcode, is accepted and then fails the way the real service fails
// it: terminated with a documented result code and a clear message.
func TestJoinUnknownMeeting(t *testing.T) {
	env := testenv.Start(t)
	m := createMeeting(t, env)
	cases := map[string]func(body map[string]any){
		"unknown thread": func(body map[string]any) {
			body["chatInfo"] = map[string]any{"threadId": "19:meeting_doesnotexist@thread.v2", "messageId": "0"}
		},
		"wrong passcode": func(body map[string]any) {
			body["meetingInfo"] = map[string]any{"@odata.type": "#microsoft.graph.joinMeetingIdMeetingInfo", "joinMeetingId": m.JoinInfo.JoinMeetingIDMeetingInfo.JoinMeetingID, "passcode": "wrong"}
			delete(body, "chatInfo")
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			bot := testbot.Start(t)
			body := joinBody(bot.URL, m, "organizer", false)
			edit(body)
			r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, body)
			if r.Status != http.StatusCreated {
				t.Fatalf("join: %d %s", r.Status, r.Body)
			}
			var c graph.Call
			r.JSON(t, &c)
			got := bot.WaitAcked(t, wait, "/communications/calls/"+c.ID, 3)
			if !equal(states(got), []string{"updated/establishing", "updated/terminating", "deleted/terminated"}) {
				t.Fatalf("notifications: %v", states(got))
			}
			ri := got[2].ResultInfo
			if ri == nil || ri.Code != 480 || ri.Subcode != 10134 || !strings.Contains(ri.Message, "meeting") {
				t.Fatalf("resultInfo %+v, want 480/10134 naming the meeting", ri)
			}
			t.Logf("%s: %s", name, ri.Message)
		})
	}
}

// groupHarness is a meeting with Alice and Bob and one bot in it.
func groupHarness(t *testing.T, delta bool) (*testenv.Env, admin.GroupView, *leg) {
	env := testenv.Start(t)
	m := createMeeting(t, env, "alice", "bob")
	l := join(t, env, env.Token, m, "organizer", delta)
	app := env.Server.Directory().DefaultApplication().ClientID
	l.waitRoster(t, "the first roster: everyone", func(p, _ []string) bool { return same(p, "alice", "bob", app) })
	return env, m, l
}

func rosterModes(t *testing.T, f func(t *testing.T, delta bool)) {
	t.Run("full roster", func(t *testing.T) { f(t, false) })
	t.Run("delta roster", func(t *testing.T) { f(t, true) })
}

// TestInviteParticipants: an invitation runs, then completes with a
// notification on the operation, and the invitee joins the roster.
func TestInviteParticipants(t *testing.T) {
	rosterModes(t, func(t *testing.T, delta bool) {
		env, _, l := groupHarness(t, delta)
		app := env.Server.Directory().DefaultApplication().ClientID
		r := env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/participants/invite", l.token, map[string]any{
			"clientContext": "invite-carol",
			"participants":  []any{map[string]any{"@odata.type": "#microsoft.graph.invitationParticipantInfo", "identity": map[string]any{"user": map[string]any{"id": "carol", "displayName": "Carol"}}}},
		})
		if r.Status != http.StatusOK {
			t.Fatalf("invite: %d %s", r.Status, r.Body)
		}
		checkSchema(t, "microsoft.graph.inviteParticipantsOperation", r.Body)
		var op graph.Operation
		r.JSON(t, &op)
		if op.Status != "Running" || op.ClientContext != "invite-carol" || len(op.Participants) != 1 {
			t.Fatalf("invite operation: %s", r.Body)
		}
		if loc := r.Header.Get("Location"); !strings.HasSuffix(loc, "/communications/calls/"+l.call.ID+"/operations/"+op.ID) {
			t.Fatalf("Location %q", loc)
		}
		opURL := l.resource() + "/operations/" + op.ID
		done := l.bot.WaitAcked(t, wait, opURL, 1)[0]
		var finished graph.Operation
		json.Unmarshal(done.Data, &finished)
		if done.ChangeType != "deleted" || finished.Status != "Completed" || finished.ClientContext != "invite-carol" ||
			finished.ResultInfo == nil || finished.ResultInfo.Code != 200 {
			t.Fatalf("completion: %s %s", done.ChangeType, done.Data)
		}
		if delta {
			l.waitRoster(t, "a delta with Carol only", func(p, rm []string) bool { return same(p, "carol") && len(rm) == 0 })
		} else {
			l.waitRoster(t, "the roster with Carol", func(p, _ []string) bool { return same(p, "alice", "bob", "carol", app) })
		}
		// The completion comes before the roster that shows the invitee.
		all := l.bot.All()
		iDone := slices.IndexFunc(all, func(n testbot.Notification) bool { return n.ResourceURL == opURL })
		iRoster := slices.IndexFunc(all, func(n testbot.Notification) bool {
			if n.ResourceURL != l.roster() {
				return false
			}
			p, _ := rosterIDs(t, n)
			return slices.Contains(p, "carol")
		})
		if iDone < 0 || iRoster < iDone {
			t.Fatalf("the invitation's completion (#%d) should come before the roster with Carol (#%d):\n%s", iDone, iRoster, testbot.Describe(all))
		}
		get := env.Do(t, http.MethodGet, testenv.CallPath(l.call.ID)+"/operations/"+op.ID, l.token, nil)
		checkSchema(t, "microsoft.graph.inviteParticipantsOperation", get.Body)
		checkNotificationSchemas(t, l.bot)
	})
}

// TestMuteParticipant: muting completes at once (the response says so, with
// a Location) and every leg gets a roster with the participant muted.
func TestMuteParticipant(t *testing.T) {
	rosterModes(t, func(t *testing.T, delta bool) {
		env, _, l := groupHarness(t, delta)
		alice := participantID(t, l, "alice")
		r := env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/participants/"+alice+"/mute", l.token, map[string]any{"clientContext": "mute-alice"})
		if r.Status != http.StatusOK || r.Header.Get("Location") == "" {
			t.Fatalf("mute: %d %s", r.Status, r.Body)
		}
		checkSchema(t, "microsoft.graph.muteParticipantOperation", r.Body)
		var op graph.Operation
		r.JSON(t, &op)
		if op.Status != "Completed" || op.ClientContext != "mute-alice" {
			t.Fatalf("mute operation: %s", r.Body)
		}
		mutedIn := func(n testbot.Notification) (muted []string, count int) {
			var ps []graph.Participant
			json.Unmarshal(n.Data, &ps)
			for _, p := range ps {
				if p.IsMuted {
					muted = append(muted, idOf(p.Info.Identity))
				}
			}
			return muted, len(ps)
		}
		got := l.bot.Wait(t, wait, "a roster with Alice muted", func(all []testbot.Notification) bool {
			rs := testbot.Acked(all, l.roster())
			muted, _ := mutedIn(rs[len(rs)-1])
			return same(muted, "alice")
		})
		rs := testbot.Acked(got, l.roster())
		_, count := mutedIn(rs[len(rs)-1])
		if delta && count != 1 || !delta && count != 3 {
			t.Fatalf("roster with %d participants (delta %v)", count, delta)
		}
		// Muting the bot itself, and unmuting it.
		for _, action := range []string{"mute", "unmute"} {
			r := env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/"+action, l.token, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", action, r.Status, r.Body)
			}
			checkSchema(t, "microsoft.graph."+action+"ParticipantOperation", r.Body)
		}
		app := env.Server.Directory().DefaultApplication().ClientID
		got = l.bot.Wait(t, wait, "rosters for the bot's mute and unmute", func(all []testbot.Notification) bool {
			sawMuted := false
			for _, n := range testbot.Acked(all, l.roster()) {
				muted, _ := mutedIn(n)
				if slices.Contains(muted, app) {
					sawMuted = true
				} else if sawMuted {
					return true
				}
			}
			return false
		})
		// A delta for the bot's own mute holds only the bot (it once got the
		// whole roster, as if the bot had just joined).
		rs = testbot.Acked(got, l.roster())
		for _, n := range rs[len(rs)-2:] {
			present, _ := rosterIDs(t, n)
			if delta && !same(present, app) || !delta && len(present) != 3 {
				t.Fatalf("roster for the bot's own mute (delta %v): %v", delta, present)
			}
		}
		checkNotificationSchemas(t, l.bot)
	})
}

func participantID(t *testing.T, l *leg, userOrApp string) string {
	t.Helper()
	for _, p := range l.participants(t) {
		if idOf(p.Info.Identity) == userOrApp {
			return p.ID
		}
	}
	t.Fatalf("no participant %s", userOrApp)
	return ""
}

// TestDeleteParticipant: removing a person answers 204 and every leg gets a
// roster without them (or, delta, with them marked removed); removing
// another bot ends that bot's leg with "removed by another participant".
func TestDeleteParticipant(t *testing.T) {
	rosterModes(t, func(t *testing.T, delta bool) {
		env, m, l := groupHarness(t, delta)
		app := env.Server.Directory().DefaultApplication().ClientID
		bob := participantID(t, l, "bob")
		if r := env.Do(t, http.MethodDelete, testenv.CallPath(l.call.ID)+"/participants/"+bob, l.token, nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete participant: %d %s", r.Status, r.Body)
		}
		if delta {
			l.waitRoster(t, "a delta with Bob removed", func(p, rm []string) bool { return len(p) == 0 && same(rm, "bob") })
		} else {
			l.waitRoster(t, "the roster without Bob", func(p, _ []string) bool { return same(p, "alice", app) })
		}
		checkGraphError(t, env.Do(t, http.MethodDelete, testenv.CallPath(l.call.ID)+"/participants/"+bob, l.token, nil), http.StatusNotFound, "itemNotFound")

		other, _, _ := env.Server.Directory().AddApplication(auth.AppSettings{DisplayName: "other bot"})
		otherToken, _, _ := env.Server.Tokens().AppToken(other)
		o := join(t, env, otherToken, m, "organizer", false)
		otherPID := participantID(t, l, other.ClientID)
		if r := env.Do(t, http.MethodDelete, testenv.CallPath(l.call.ID)+"/participants/"+otherPID, l.token, nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete the other bot: %d %s", r.Status, r.Body)
		}
		got := o.bot.WaitAcked(t, wait, o.resource(), 4)
		if ri := got[3].ResultInfo; got[3].State != "terminated" || ri == nil || ri.Code != 200 || ri.Subcode != 5000 {
			t.Fatalf("removed bot: %v %+v", states(got), ri)
		}
		checkNotificationSchemas(t, l.bot, o.bot)
	})
}

// TestEndMeeting: ending the meeting through the simulator terminates every
// leg still in it, once each, with "the conversation has ended".
func TestEndMeeting(t *testing.T) {
	env := testenv.Start(t)
	m := createMeeting(t, env, "alice")
	var legs []*leg
	for range 3 {
		legs = append(legs, join(t, env, env.Token, m, "organizer", false))
	}
	if r := sim(t, env, http.MethodDelete, "/meetings/"+m.ID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("end meeting: %d %s", r.Status, r.Body)
	}
	for _, l := range legs {
		got := l.bot.WaitAcked(t, wait, l.resource(), 4)
		ri := got[3].ResultInfo
		if got[3].State != "terminated" || ri == nil || ri.Code != 200 || ri.Subcode != 5001 {
			t.Fatalf("leg %s: %v %+v", l.call.ID, states(got), ri)
		}
		waitDelivered(t, env, l.call.ID, len(testbot.Acked(l.bot.All(), l.resource()))+len(testbot.Acked(l.bot.All(), l.roster())))
		if n := len(testbot.Acked(l.bot.All(), l.resource())); n != 4 {
			t.Fatalf("leg %s got %d call notifications, want 4 (one terminated)", l.call.ID, n)
		}
		checkGraphError(t, env.Do(t, http.MethodGet, testenv.CallPath(l.call.ID), env.Token, nil), http.StatusNotFound, "8522")
	}
	// An ended meeting cannot be joined.
	bot := testbot.Start(t)
	r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, joinBody(bot.URL, m, "organizer", false))
	var c graph.Call
	r.JSON(t, &c)
	got := bot.WaitAcked(t, wait, "/communications/calls/"+c.ID, 3)
	if ri := got[2].ResultInfo; ri == nil || ri.Code != 480 {
		t.Fatalf("join after the end: %+v", ri)
	}
}

// TestLastPersonLeaving: when the last person leaves, the bots' legs end
// ("all other participants left"), as the real service ends bot-only calls.
func TestLastPersonLeaving(t *testing.T) {
	env := testenv.Start(t)
	m := createMeeting(t, env, "alice")
	l := join(t, env, env.Token, m, "organizer", false)
	alice := participantID(t, l, "alice")
	if r := sim(t, env, http.MethodDelete, "/meetings/"+m.ID+"/participants/"+alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("remove Alice: %d %s", r.Status, r.Body)
	}
	got := l.bot.WaitAcked(t, wait, l.resource(), 4)
	if ri := got[3].ResultInfo; ri == nil || ri.Code != 200 || ri.Subcode != 5002 {
		t.Fatalf("after the last person left: %v %+v", states(got), ri)
	}
}

// TestAdHocGroupCall: a call placed to several users is a group call: the
// bot and its targets make the roster, and it takes invitations.
func TestAdHocGroupCall(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	body := testenv.CallRequest(bot.URL)
	var targets []any
	for _, u := range []string{"u1", "u2", "u3"} {
		targets = append(targets, map[string]any{"identity": map[string]any{"user": map[string]any{"id": u}}})
	}
	body["targets"] = targets
	r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("ad-hoc group call: %d %s", r.Status, r.Body)
	}
	l := &leg{env: env, bot: bot, token: env.Token}
	r.JSON(t, &l.call)
	app := env.Server.Directory().DefaultApplication().ClientID
	l.waitRoster(t, "the bot and its three targets", func(p, _ []string) bool { return same(p, "u1", "u2", "u3", app) })

	six := make([]any, 6)
	for i := range six {
		six[i] = map[string]any{"identity": map[string]any{"user": map[string]any{"id": fmt.Sprint("x", i)}}}
	}
	body["targets"] = six
	checkGraphError(t, env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, body), http.StatusBadRequest, "BadRequest")

	// Group routes refuse a peer-to-peer call.
	p2p := env.PlaceCall(t, bot.URL)
	checkGraphError(t, env.Do(t, http.MethodGet, testenv.CallPath(p2p.ID)+"/participants", env.Token, nil), http.StatusBadRequest, "BadRequest")
	checkGraphError(t, env.Do(t, http.MethodPost, testenv.CallPath(p2p.ID)+"/mute", env.Token, nil), http.StatusBadRequest, "BadRequest")
}

// TestTwentyBotsLeaveInParallel: 20 bots join one meeting; 15 leave at once,
// then the last 5. Every bot hears exactly one terminated, and the last
// roster each bot still in the meeting saw matches who is left.
func TestTwentyBotsLeaveInParallel(t *testing.T) {
	env := testenv.Start(t)
	m := createMeeting(t, env, "alice", "bob")
	const n = 20
	apps := make([]string, n)
	tokens := make([]string, n)
	for i := range n {
		app, _, err := env.Server.Directory().AddApplication(auth.AppSettings{DisplayName: fmt.Sprint("bot ", i)})
		if err != nil {
			t.Fatal(err)
		}
		apps[i] = app.ClientID
		tokens[i], _, _ = env.Server.Tokens().AppToken(app)
	}
	// Half the bots take delta rosters, half full ones; all join at once.
	legs := make([]*leg, n)
	for i := range n {
		legs[i] = &leg{env: env, bot: testbot.Start(t), token: tokens[i], delta: i%2 == 1}
	}
	joinAtOnce(t, m, legs)
	everyone := append([]string{"alice", "bob"}, apps...)
	for _, l := range legs {
		l.waitEstablished(t, m)
		l.waitRoster(t, "all 22 in the roster", func(p, _ []string) bool {
			if l.delta {
				return true
			}
			return same(p, everyone...)
		})
		if l.delta {
			l.bot.Wait(t, wait, "deltas adding up to all 22", func(all []testbot.Notification) bool {
				return same(replayDeltas(t, testbot.Acked(all, l.roster())), everyone...)
			})
		}
	}

	leave := func(group []*leg) {
		var wg sync.WaitGroup
		for _, l := range group {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := env.Do(t, http.MethodDelete, testenv.CallPath(l.call.ID), l.token, nil); r.Status != http.StatusNoContent {
					t.Errorf("leave %s: %d %s", l.call.ID, r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
	}
	leave(legs[:15])
	remaining := []string{"alice", "bob"}
	for _, l := range legs[15:] {
		remaining = append(remaining, appOf(l))
	}
	for _, l := range legs[15:] {
		if l.delta {
			// Delta rosters add up: replayed in order, they give who is left.
			l.bot.Wait(t, wait, "deltas adding up to who is left", func(all []testbot.Notification) bool {
				return same(replayDeltas(t, testbot.Acked(all, l.roster())), remaining...)
			})
			continue
		}
		l.waitRoster(t, "the roster of who is left", func(p, _ []string) bool { return same(p, remaining...) })
	}
	leave(legs[15:])
	for _, l := range legs {
		got := l.bot.WaitAcked(t, wait, l.resource(), 4)
		waitDelivered(t, env, l.call.ID, countFor(l.bot.All(), l.call.ID))
		terminated := 0
		for _, x := range testbot.Acked(l.bot.All(), l.resource()) {
			if x.State == "terminated" {
				terminated++
			}
		}
		if terminated != 1 || got[3].ResultInfo == nil || got[3].ResultInfo.Code != 0 {
			t.Errorf("bot %s: %d terminated: %v", l.call.ID, terminated, states(got))
		}
	}
	var meeting admin.GroupView
	sim(t, env, http.MethodGet, "/meetings/"+m.ID, nil).JSON(t, &meeting)
	var left []string
	for _, p := range meeting.Participants {
		left = append(left, idOf(p.Info.Identity))
	}
	sort.Strings(left)
	if !same(left, "alice", "bob") {
		t.Fatalf("meeting roster at the end: %v", left)
	}
}

// countFor counts the acknowledged notifications of a call and its roster
// and operations.
// joinAtOnce has every leg's bot join the meeting at the same time,
// through its own node and token, and fails unless each join is created.
func joinAtOnce(t *testing.T, m admin.GroupView, legs []*leg) {
	t.Helper()
	var wg sync.WaitGroup
	for _, l := range legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := l.env.Do(t, http.MethodPost, "/v1.0/communications/calls", l.token, joinBody(l.bot.URL, m, "organizer", l.delta))
			if r.Status != http.StatusCreated {
				t.Errorf("join: %d %s", r.Status, r.Body)
				return
			}
			r.JSON(t, &l.call)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

func countFor(all []testbot.Notification, callID string) int {
	n := 0
	seen := map[string]bool{}
	for _, x := range all {
		if x.Acked() && strings.HasPrefix(x.ResourceURL, "/communications/calls/"+callID) && !seen[x.MessageID] {
			seen[x.MessageID] = true
			n++
		}
	}
	return n
}

// replayDeltas applies delta rosters in order and returns who is present.
func replayDeltas(t *testing.T, rosters []testbot.Notification) []string {
	present := map[string]bool{}
	for _, n := range rosters {
		p, removed := rosterIDs(t, n)
		for _, id := range p {
			present[id] = true
		}
		for _, id := range removed {
			delete(present, id)
		}
	}
	var out []string
	for id := range present {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func appOf(l *leg) string { return idOf(l.call.Source.Identity) }
