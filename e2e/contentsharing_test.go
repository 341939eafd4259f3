package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// joinSharing has a bot join the meeting asking for content sharing
// notifications.
func joinSharing(t *testing.T, env *testenv.Env, m admin.GroupView) *leg {
	t.Helper()
	l := &leg{env: env, bot: testbot.Start(t), token: env.Token}
	body := joinBody(l.bot.URL, m, "organizer", false)
	body["callOptions"] = map[string]any{"@odata.type": "#microsoft.graph.outgoingCallOptions", "isContentSharingNotificationEnabled": true}
	r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("join: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &l.call)
	l.waitEstablished(t, m)
	return l
}

// sharingNews is what a bot heard on its call's contentsharingsessions:
// each change with the session's id.
func sharingNews(t *testing.T, l *leg) []string {
	t.Helper()
	var out []string
	for _, n := range testbot.Acked(l.bot.All(), l.resource()+"/contentsharingsessions") {
		var sessions []graph.ContentSharingSession
		if err := json.Unmarshal(n.Data, &sessions); err != nil || len(sessions) != 1 || sessions[0].ODataType != "#microsoft.graph.contentSharingSession" {
			t.Fatalf("%s notification's resourceData: %s (%v)", n.ChangeType, n.Data, err)
		}
		out = append(out, n.ChangeType+" "+sessions[0].ID)
	}
	return out
}

// participantOf returns a participant from the leg's roster.
func participantOf(t *testing.T, l *leg, participantID string) graph.Participant {
	t.Helper()
	for _, p := range l.participants(t) {
		if p.ID == participantID {
			return p
		}
	}
	t.Fatalf("no participant %s in the roster", participantID)
	return graph.Participant{}
}

// checkAdminError checks that a simulator answer is an error with the
// status and a message.
func checkAdminError(t *testing.T, r testenv.Response, status int) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if r.Status != status || json.Unmarshal(r.Body, &e) != nil || e.Error.Message == "" {
		t.Fatalf("simulator answered %d %s, want %d with an error", r.Status, r.Body, status)
	}
}

// waitSharingNews waits until the bot has heard exactly the changes.
func waitSharingNews(t *testing.T, l *leg, want ...string) {
	t.Helper()
	l.bot.Wait(t, wait, "content sharing notifications", func([]testbot.Notification) bool { return len(sharingNews(t, l)) >= len(want) })
	if got := sharingNews(t, l); !slices.Equal(got, want) {
		t.Fatalf("content sharing notifications: %q, want %q", got, want)
	}
}

// TestContentSharingSessions: people in a meeting start, take over,
// change (another window) and stop presenting through the simulator; a bot whose call asked for it
// hears created, updated and deleted on …/contentsharingsessions as
// Graph's contentSharingSession page shows (a bot joining during a
// presentation hears it created), a bot that did not ask hears nothing of
// it; every leg lists and gets the session, every body matching the CSDL.
func TestContentSharingSessions(t *testing.T) {
	env := testenv.Start(t)
	m := createMeeting(t, env, "alice", "bob")
	alice, bob := m.Participants[0].ID, m.Participants[1].ID
	listening := joinSharing(t, env, m)
	quiet := join(t, env, env.Token, m, "organizer", false)
	share := func(pid string) admin.ContentSharingView {
		t.Helper()
		r := sim(t, env, http.MethodPost, "/meetings/"+m.ID+"/participants/"+pid+"/share", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("share: %d %s", r.Status, r.Body)
		}
		var v admin.ContentSharingView
		r.JSON(t, &v)
		return v
	}
	unshare := func(pid string) testenv.Response {
		return sim(t, env, http.MethodPost, "/meetings/"+m.ID+"/participants/"+pid+"/unshare", nil)
	}
	list := func(l *leg) []string {
		t.Helper()
		r := env.Do(t, http.MethodGet, testenv.CallPath(l.call.ID)+"/contentSharingSessions", env.Token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		checkSchema(t, "Collection(microsoft.graph.contentSharingSession)", r.Body)
		var body graph.ContentSharingSessionList
		r.JSON(t, &body)
		ids := []string{}
		for _, s := range body.Value {
			ids = append(ids, s.ID)
		}
		return ids
	}

	session := share(alice)
	if session.ParticipantID != alice || session.ID == "" {
		t.Fatalf("alice's session: %+v", session)
	}
	waitSharingNews(t, listening, "created "+session.ID)
	for _, l := range []*leg{listening, quiet} {
		if got := list(l); !slices.Equal(got, []string{session.ID}) {
			t.Fatalf("sessions listed: %q, want alice's", got)
		}
		r := env.Do(t, http.MethodGet, testenv.CallPath(l.call.ID)+"/contentSharingSessions/"+session.ID, env.Token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("get: %d %s", r.Status, r.Body)
		}
		checkSchema(t, "microsoft.graph.contentSharingSession", r.Body)
		p := participantOf(t, l, alice)
		if !slices.ContainsFunc(p.MediaStreams, func(s graph.MediaStream) bool {
			return s.MediaType == "videoBasedScreenSharing" && s.Direction == "sendOnly"
		}) {
			t.Fatalf("alice's roster entry while she presents: %+v", p.MediaStreams)
		}
	}

	if again := share(bob); again.ID != session.ID || again.ParticipantID != bob {
		t.Fatalf("bob takes over: %+v, want alice's session presented by bob", again)
	}
	waitSharingNews(t, listening, "created "+session.ID, "updated "+session.ID)
	share(bob) // another window
	waitSharingNews(t, listening, "created "+session.ID, "updated "+session.ID, "updated "+session.ID)
	late := joinSharing(t, env, m)
	waitSharingNews(t, late, "created "+session.ID)

	checkAdminError(t, unshare(alice), http.StatusConflict)
	if r := unshare(bob); r.Status != http.StatusNoContent {
		t.Fatalf("bob stops: %d %s", r.Status, r.Body)
	}
	waitSharingNews(t, listening, "created "+session.ID, "updated "+session.ID, "updated "+session.ID, "deleted "+session.ID)
	waitSharingNews(t, late, "created "+session.ID, "deleted "+session.ID)
	if got := list(quiet); len(got) != 0 {
		t.Fatalf("sessions after the presentation: %q", got)
	}
	checkGraphError(t, env.Do(t, http.MethodGet, testenv.CallPath(quiet.call.ID)+"/contentSharingSessions/"+session.ID, env.Token, nil), http.StatusNotFound, "itemNotFound")

	// A presenter who leaves ends the presentation.
	second := share(alice)
	if r := sim(t, env, http.MethodDelete, "/meetings/"+m.ID+"/participants/"+alice, nil); r.Status != http.StatusNoContent {
		t.Fatalf("alice leaves: %d %s", r.Status, r.Body)
	}
	waitSharingNews(t, late, "created "+session.ID, "deleted "+session.ID, "created "+second.ID, "deleted "+second.ID)
	// The quiet bot's roster without alice comes from the same unit as the
	// others' deleted: once it is here, anything quiet was sent is too.
	quiet.waitRoster(t, "alice gone", func(present, _ []string) bool { return !slices.Contains(present, alice) })
	if news := testbot.Acked(quiet.bot.All(), quiet.resource()+"/contentsharingsessions"); len(news) != 0 {
		t.Fatalf("a bot that did not ask heard of content sharing: %d notifications", len(news))
	}
	checkNotificationSchemas(t, listening.bot, quiet.bot, late.bot)

	// Applications share through changeScreenSharingRole.
	checkAdminError(t, sim(t, env, http.MethodPost, "/meetings/"+m.ID+"/participants/"+listening.call.MyParticipantID+"/share", nil), http.StatusBadRequest)
	checkAdminError(t, sim(t, env, http.MethodPost, "/meetings/"+m.ID+"/participants/nobody/share", nil), http.StatusNotFound)
}

// TestContentSharingInAPeerToPeerCall: the person on a peer-to-peer call
// presents their screen to the bot, shares another window, and stops; a
// bot that answered with isContentSharingNotificationEnabled hears
// created, updated and deleted, as Graph's create-call example shows; the
// session is listed and got while it lasts, and the simulator's view of
// the call shows it.
func TestContentSharingInAPeerToPeerCall(t *testing.T) {
	in := startInbound(t)
	v := in.ring(t, alice, in.app())
	in.created(t, v.ID)
	r := in.action(t, v.ID, "answer", map[string]any{
		"callbackUri":        in.bot.URL,
		"acceptedModalities": []string{"audio"},
		"mediaConfig":        map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
		"callOptions":        map[string]any{"@odata.type": "#microsoft.graph.incomingCallOptions", "isContentSharingNotificationEnabled": true},
	})
	if r.Status != http.StatusAccepted {
		t.Fatalf("answer: %d %s", r.Status, r.Body)
	}
	in.bot.WaitAcked(t, wait, "/communications/calls/"+v.ID, 2)
	l := &leg{env: in.env, bot: in.bot, token: in.env.Token, call: graph.Call{ID: v.ID}}
	share := func(path string) testenv.Response { return sim(t, in.env, http.MethodPost, "/calls/"+v.ID+path, nil) }

	r = share("/share")
	var session admin.ContentSharingView
	r.JSON(t, &session)
	if r.Status != http.StatusOK || session.ID == "" || session.ParticipantID == "" {
		t.Fatalf("share: %d %s", r.Status, r.Body)
	}
	waitSharingNews(t, l, "created "+session.ID)
	if shown := in.view(t, v.ID); shown.ContentSharing == nil || shown.ContentSharing.ID != session.ID {
		t.Fatalf("the simulator's view while alice presents: %+v", shown.ContentSharing)
	}
	r = in.env.Do(t, http.MethodGet, testenv.CallPath(v.ID)+"/contentSharingSessions/"+session.ID, in.env.Token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}
	checkSchema(t, "microsoft.graph.contentSharingSession", r.Body)
	if again := share("/share"); again.Status != http.StatusOK {
		t.Fatalf("share another window: %d %s", again.Status, again.Body)
	}
	waitSharingNews(t, l, "created "+session.ID, "updated "+session.ID)
	if r := share("/unshare"); r.Status != http.StatusNoContent {
		t.Fatalf("unshare: %d %s", r.Status, r.Body)
	}
	waitSharingNews(t, l, "created "+session.ID, "updated "+session.ID, "deleted "+session.ID)
	checkAdminError(t, share("/unshare"), http.StatusConflict)
	r = in.env.Do(t, http.MethodGet, testenv.CallPath(v.ID)+"/contentSharingSessions", in.env.Token, nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"value":[]`) {
		t.Fatalf("list after the presentation: %d %s", r.Status, r.Body)
	}
	checkSchema(t, "Collection(microsoft.graph.contentSharingSession)", r.Body)
	checkNotificationSchemas(t, in.bot)
	checkAdminError(t, sim(t, in.env, http.MethodPost, "/calls/no-such-call/share", nil), http.StatusNotFound)
}
