package gosdk

// Group calls through the SDK: a bot joins a simulated meeting (by its
// thread and organizer, by join meeting id, by token), reads the roster,
// invites, mutes, unmutes and removes participants, reads operations, and
// hangs up its own leg; every roster and operation notification it receives
// is read with the SDK's own models.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/store"
	nethttplibrary "github.com/microsoft/kiota-http-go"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/communications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// TestMeetingThroughSDK is a bot's whole life in a meeting, once with full
// rosters and once with delta rosters: join by thread and organizer, list
// and get participants, invite someone, mute someone, mute and unmute
// itself, read its operations, remove someone, and hang up. Each step is
// checked in the typed response and in the roster or operation
// notification it causes, read with the SDK's models.
func TestMeetingThroughSDK(t *testing.T) {
	t.Run("full roster", func(t *testing.T) { meetingThroughSDK(t, false) })
	t.Run("delta roster", func(t *testing.T) { meetingThroughSDK(t, true) })
}

func meetingThroughSDK(t *testing.T, delta bool) {
	h := setup(t)
	m := createMeeting(t, h, "Weekly sync", alice, bob)
	l := join(t, h, m, byOrganizer, delta)

	// The first roster is the whole roster in both modes: the bot, Alice and
	// Bob, nobody muted.
	first := l.nextRoster(t, 0, "the roster the bot joined")
	checkRoster(t, "first roster", first, l, []string{alice.id, bob.id, l.app}, nil, nil)
	checkPerson(t, "first roster", participantOf(t, "first roster", first, alice.id), alice)

	// List and get, as the API has them.
	listed, err := l.call().Participants().Get(h.ctx, nil)
	if err != nil {
		t.Fatalf("list participants: %v", describe(err))
	}
	checkDeclaredDeep(t, "participant list", listed)
	checkRoster(t, "listed participants", listed.GetValue(), l, []string{alice.id, bob.id, l.app}, nil, nil)
	aliceID := deref(participantOf(t, "listed participants", listed.GetValue(), alice.id).GetId())
	bobID := deref(participantOf(t, "listed participants", listed.GetValue(), bob.id).GetId())
	if inRoster := deref(participantOf(t, "first roster", first, alice.id).GetId()); aliceID != inRoster {
		t.Errorf("Alice is %s in the list and %s in the roster notification", aliceID, inRoster)
	}
	got, err := l.call().Participants().ByParticipantId(aliceID).Get(h.ctx, nil)
	if err != nil {
		t.Fatalf("get participant: %v", describe(err))
	}
	checkDeclaredDeep(t, "got participant", got)
	if deref(got.GetId()) != aliceID {
		t.Errorf("got participant %q, asked for %q", deref(got.GetId()), aliceID)
	}
	checkParticipant(t, "got participant", got, false)
	checkPerson(t, "got participant", got, alice)

	// A participant or operation that does not exist: typed 404s.
	const nobody = "00000000-0000-4000-8000-00000000dead"
	_, err = l.call().Participants().ByParticipantId(nobody).Get(h.ctx, nil)
	checkODataError(t, "get unknown participant", err, http.StatusNotFound, "itemNotFound")
	_, err = l.call().Participants().ByParticipantId(nobody).Mute().Post(h.ctx, communications.NewCallsItemParticipantsItemMutePostRequestBody(), nil)
	checkODataError(t, "mute unknown participant", err, http.StatusNotFound, "itemNotFound")
	err = l.call().Participants().ByParticipantId(nobody).Delete(h.ctx, nil)
	checkODataError(t, "delete unknown participant", err, http.StatusNotFound, "itemNotFound")
	_, err = l.call().Operations().ByCommsOperationId(nobody).Get(h.ctx, nil)
	checkODataError(t, "get unknown operation", err, http.StatusNotFound, "itemNotFound")

	// Invite Carol: the operation runs, completes with a deleted
	// notification on it, and then Carol is on the roster.
	rosters := l.rosterCount()
	invite := communications.NewCallsItemParticipantsInvitePostRequestBody()
	invite.SetParticipants([]models.InvitationParticipantInfoable{invitationOf(carol)})
	invite.SetClientContext(ptr("invite-carol"))
	headers := responseHeaders()
	op, err := l.call().Participants().Invite().Post(h.ctx, invite, &communications.CallsItemParticipantsInviteRequestBuilderPostRequestConfiguration{
		Options: []abstractions.RequestOption{headers},
	})
	if err != nil {
		t.Fatalf("invite: %v", describe(err))
	}
	checkDeclaredDeep(t, "invite response", op)
	opID := deref(op.GetId())
	checkOperation(t, "invite response", op, "#microsoft.graph.inviteParticipantsOperation", models.RUNNING_OPERATIONSTATUS, "invite-carol", 0)
	checkLocation(t, "invite response", headers, l.resource()+"/operations/"+opID)
	if len(op.GetParticipants()) != 1 {
		t.Fatalf("invite response: %d participants, want Carol", len(op.GetParticipants()))
	}
	inviteeID := deref(op.GetParticipants()[0].GetParticipantId())
	if who := identityID(op.GetParticipants()[0].GetIdentity()); who != carol.id || inviteeID == "" {
		t.Errorf("invite response: participant %q with participantId %q, want Carol with one", who, inviteeID)
	}

	opURL := l.resource() + "/operations/" + opID
	done := l.h.bot.WaitAcked(t, wait, opURL, 1)[0]
	if done.ChangeType != "deleted" {
		t.Errorf("invite completion: changeType %q, want deleted", done.ChangeType)
	}
	finished := operationOf(t, done)
	if _, ok := finished.(models.InviteParticipantsOperationable); !ok {
		t.Errorf("invite completion: the SDK made it %T, want an inviteParticipantsOperation", finished)
	}
	checkOperation(t, "invite completion", finished, "#microsoft.graph.inviteParticipantsOperation", models.COMPLETED_OPERATIONSTATUS, "invite-carol", 200)

	withCarol := l.nextRoster(t, rosters, "the roster with Carol")
	if delta {
		checkRoster(t, "delta with Carol", withCarol, l, []string{carol.id}, nil, nil)
	} else {
		checkRoster(t, "roster with Carol", withCarol, l, []string{alice.id, bob.id, carol.id, l.app}, nil, nil)
	}
	if c := byWho(withCarol)[carol.id]; c != nil {
		checkPerson(t, "roster with Carol", c, carol)
		if deref(c.GetId()) != inviteeID {
			t.Errorf("Carol joined as %q, the invitation named %q", deref(c.GetId()), inviteeID)
		}
	}
	all := l.h.bot.All()
	withCarolID := testbot.Acked(all, l.roster())[rosters].MessageID
	iDone := slices.IndexFunc(all, func(n testbot.Notification) bool { return n.ResourceURL == opURL })
	iRoster := slices.IndexFunc(all, func(n testbot.Notification) bool { return n.MessageID == withCarolID })
	if iDone < 0 || iRoster < iDone {
		t.Errorf("the invitation's completion (#%d) should come before the roster with Carol (#%d):\n%s", iDone, iRoster, testbot.Describe(all))
	}

	// The operation, read back: typed by its discriminator, completed.
	read, err := l.call().Operations().ByCommsOperationId(opID).Get(h.ctx, nil)
	if err != nil {
		t.Fatalf("get invite operation: %v", describe(err))
	}
	checkDeclaredDeep(t, "got invite operation", read)
	if ip, ok := read.(models.InviteParticipantsOperationable); !ok {
		t.Errorf("got invite operation: the SDK made it %T, want an inviteParticipantsOperation", read)
	} else if len(ip.GetParticipants()) != 1 || identityID(ip.GetParticipants()[0].GetIdentity()) != carol.id {
		t.Errorf("got invite operation: participants %v, want Carol", ip.GetParticipants())
	}
	checkOperation(t, "got invite operation", read, "#microsoft.graph.inviteParticipantsOperation", models.COMPLETED_OPERATIONSTATUS, "invite-carol", 200)

	// Mute Alice: completed at once, and the roster shows her muted.
	rosters = l.rosterCount()
	before := withCarol
	if delta {
		before = first // a delta with Carol does not show Alice
	}
	seqBefore := deref(participantOf(t, "roster before the mute", before, alice.id).GetRosterSequenceNumber())
	muteBody := communications.NewCallsItemParticipantsItemMutePostRequestBody()
	muteBody.SetClientContext(ptr("mute-alice"))
	headers = responseHeaders()
	muted, err := l.call().Participants().ByParticipantId(aliceID).Mute().Post(h.ctx, muteBody, &communications.CallsItemParticipantsItemMuteRequestBuilderPostRequestConfiguration{
		Options: []abstractions.RequestOption{headers},
	})
	if err != nil {
		t.Fatalf("mute Alice: %v", describe(err))
	}
	checkDeclaredDeep(t, "mute response", muted)
	checkOperation(t, "mute response", muted, "#microsoft.graph.muteParticipantOperation", models.COMPLETED_OPERATIONSTATUS, "mute-alice", 200)
	checkLocation(t, "mute response", headers, l.resource()+"/operations/"+deref(muted.GetId()))
	aliceMuted := l.nextRoster(t, rosters, "the roster with Alice muted")
	if delta {
		checkRoster(t, "delta with Alice muted", aliceMuted, l, []string{alice.id}, nil, []string{alice.id})
	} else {
		checkRoster(t, "roster with Alice muted", aliceMuted, l, []string{alice.id, bob.id, carol.id, l.app}, nil, []string{alice.id})
	}
	if a := byWho(aliceMuted)[alice.id]; a != nil && deref(a.GetRosterSequenceNumber()) <= seqBefore {
		t.Errorf("Alice muted: rosterSequenceNumber %d, was %d before", deref(a.GetRosterSequenceNumber()), seqBefore)
	}
	readMute, err := l.call().Operations().ByCommsOperationId(deref(muted.GetId())).Get(h.ctx, nil)
	if err != nil {
		t.Fatalf("get mute operation: %v", describe(err))
	}
	if _, ok := readMute.(models.MuteParticipantOperationable); !ok {
		t.Errorf("got mute operation: the SDK made it %T, want a muteParticipantOperation", readMute)
	}
	checkOperation(t, "got mute operation", readMute, "#microsoft.graph.muteParticipantOperation", models.COMPLETED_OPERATIONSTATUS, "mute-alice", 200)

	// The bot mutes itself, then unmutes itself.
	rosters = l.rosterCount()
	selfMute := communications.NewCallsItemMutePostRequestBody()
	selfMute.SetClientContext(ptr("mute-me"))
	mutedSelf, err := l.call().Mute().Post(h.ctx, selfMute, nil)
	if err != nil {
		t.Fatalf("mute: %v", describe(err))
	}
	checkDeclaredDeep(t, "self-mute response", mutedSelf)
	checkOperation(t, "self-mute response", mutedSelf, "#microsoft.graph.muteParticipantOperation", models.COMPLETED_OPERATIONSTATUS, "mute-me", 200)
	botMuted := l.nextRoster(t, rosters, "the roster with the bot muted")
	if delta {
		checkRoster(t, "delta with the bot muted", botMuted, l, []string{l.app}, nil, []string{l.app})
	} else {
		checkRoster(t, "roster with the bot muted", botMuted, l, []string{alice.id, bob.id, carol.id, l.app}, nil, []string{alice.id, l.app})
	}

	rosters = l.rosterCount()
	selfUnmute := communications.NewCallsItemUnmutePostRequestBody()
	selfUnmute.SetClientContext(ptr("unmute-me"))
	unmuted, err := l.call().Unmute().Post(h.ctx, selfUnmute, nil)
	if err != nil {
		t.Fatalf("unmute: %v", describe(err))
	}
	checkDeclaredDeep(t, "unmute response", unmuted)
	checkOperation(t, "unmute response", unmuted, "#microsoft.graph.unmuteParticipantOperation", models.COMPLETED_OPERATIONSTATUS, "unmute-me", 200)
	readUnmute, err := l.call().Operations().ByCommsOperationId(deref(unmuted.GetId())).Get(h.ctx, nil)
	if err != nil {
		t.Fatalf("get unmute operation: %v", describe(err))
	}
	if _, ok := readUnmute.(models.UnmuteParticipantOperationable); !ok {
		t.Errorf("got unmute operation: the SDK made it %T, want an unmuteParticipantOperation", readUnmute)
	}
	checkOperation(t, "got unmute operation", readUnmute, "#microsoft.graph.unmuteParticipantOperation", models.COMPLETED_OPERATIONSTATUS, "unmute-me", 200)
	botUnmuted := l.nextRoster(t, rosters, "the roster with the bot unmuted")
	if delta {
		checkRoster(t, "delta with the bot unmuted", botUnmuted, l, []string{l.app}, nil, nil)
	} else {
		checkRoster(t, "roster with the bot unmuted", botUnmuted, l, []string{alice.id, bob.id, carol.id, l.app}, nil, []string{alice.id})
	}

	// Remove Bob: 204, and the roster goes on without him (delta: he is
	// marked removed).
	rosters = l.rosterCount()
	if err := l.call().Participants().ByParticipantId(bobID).Delete(h.ctx, nil); err != nil {
		t.Fatalf("remove Bob: %v", describe(err))
	}
	withoutBob := l.nextRoster(t, rosters, "the roster without Bob")
	if delta {
		checkRoster(t, "delta with Bob removed", withoutBob, l, nil, []string{bob.id}, nil)
	} else {
		checkRoster(t, "roster without Bob", withoutBob, l, []string{alice.id, carol.id, l.app}, nil, []string{alice.id})
	}
	_, err = l.call().Participants().ByParticipantId(bobID).Get(h.ctx, nil)
	checkODataError(t, "get removed participant", err, http.StatusNotFound, "itemNotFound")
	err = l.call().Participants().ByParticipantId(bobID).Delete(h.ctx, nil)
	checkODataError(t, "remove removed participant", err, http.StatusNotFound, "itemNotFound")

	// The call itself went on through all of it; now the bot hangs up.
	c, err := l.call().Get(h.ctx, nil)
	if err != nil {
		t.Fatalf("get call: %v", describe(err))
	}
	checkState(t, "call in the meeting", c, models.ESTABLISHED_CALLSTATE)
	checkJoinedCall(t, "call in the meeting", c, l, m, byOrganizer)
	if err := l.call().Delete(h.ctx, nil); err != nil {
		t.Fatalf("hang up: %v", describe(err))
	}
	h.bot.WaitAcked(t, wait, l.resource(), 4)
	checkNotifications(t, h.bot.Bodies(), l.id, []wantNotification{
		{models.UPDATED_CHANGETYPE, models.ESTABLISHING_CALLSTATE},
		{models.UPDATED_CHANGETYPE, models.ESTABLISHED_CALLSTATE},
		{models.UPDATED_CHANGETYPE, models.TERMINATING_CALLSTATE},
		{models.DELETED_CHANGETYPE, models.TERMINATED_CALLSTATE},
	})
	checkBodies(t, "bot", h.bot.Bodies())
}

// TestJoinByMeetingIDAndTokenThroughSDK: two applications' bots join one
// meeting the two other ways (join meeting id and passcode; token), the
// second with delta rosters. When the first hangs up, only its leg ends:
// the second gets a delta with the first marked removed, and its call and
// the meeting go on.
func TestJoinByMeetingIDAndTokenThroughSDK(t *testing.T) {
	ha := setup(t)
	m := createMeeting(t, ha, "Stand-up", alice)
	a := join(t, ha, m, byJoinMeetingID, false)
	hb := ha.otherApp(t, "bot B")
	b := join(t, hb, m, byToken, true)

	checkRoster(t, "A's first roster", a.nextRoster(t, 0, "A's first roster"), a, []string{alice.id, a.app}, nil, nil)
	checkRoster(t, "A's roster once B joined", a.nextRoster(t, 1, "A's roster with B"), a, []string{alice.id, a.app, b.app}, nil, nil)
	checkRoster(t, "B's first roster", b.nextRoster(t, 0, "B's first roster"), b, []string{alice.id, a.app, b.app}, nil, nil)

	// A leaves.
	if err := a.call().Delete(ha.ctx, nil); err != nil {
		t.Fatalf("A hangs up: %v", describe(err))
	}
	ha.bot.WaitAcked(t, wait, a.resource(), 4)
	checkNotifications(t, ha.bot.Bodies(), a.id, []wantNotification{
		{models.UPDATED_CHANGETYPE, models.ESTABLISHING_CALLSTATE},
		{models.UPDATED_CHANGETYPE, models.ESTABLISHED_CALLSTATE},
		{models.UPDATED_CHANGETYPE, models.TERMINATING_CALLSTATE},
		{models.DELETED_CHANGETYPE, models.TERMINATED_CALLSTATE},
	})
	checkRoster(t, "B's delta once A left", b.nextRoster(t, 1, "B's delta with A removed"), b, nil, []string{a.app}, nil)

	// B is still in the meeting, established, with Alice.
	c, err := b.call().Get(hb.ctx, nil)
	if err != nil {
		t.Fatalf("B's call after A left: %v", describe(err))
	}
	checkState(t, "B's call after A left", c, models.ESTABLISHED_CALLSTATE)
	checkJoinedCall(t, "B's call after A left", c, b, m, byToken)
	listed, err := b.call().Participants().Get(hb.ctx, nil)
	if err != nil {
		t.Fatalf("B lists participants: %v", describe(err))
	}
	checkRoster(t, "B's participants after A left", listed.GetValue(), b, []string{alice.id, b.app}, nil, nil)
	_, err = a.call().Get(ha.ctx, nil)
	checkODataError(t, "A's call after it left", err, http.StatusNotFound, "8522")
	checkNotifications(t, hb.bot.Bodies(), b.id, []wantNotification{
		{models.UPDATED_CHANGETYPE, models.ESTABLISHING_CALLSTATE},
		{models.UPDATED_CHANGETYPE, models.ESTABLISHED_CALLSTATE},
	})
	var meeting admin.GroupView
	if r := simulate(t, ha, http.MethodGet, "/meetings/"+m.ID, nil); r.Status != http.StatusOK {
		t.Fatalf("get meeting: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &meeting)
	}
	if meeting.Ended || len(meeting.Participants) != 2 {
		t.Errorf("meeting after A left: ended %v, %d participants, want Alice and B", meeting.Ended, len(meeting.Participants))
	}
	checkBodies(t, "bot A", ha.bot.Bodies())
	checkBodies(t, "bot B", hb.bot.Bodies())
}

// TestGroupRoutesOnPeerToPeerCall: the group-call routes refuse a
// peer-to-peer call with a typed 400.
func TestGroupRoutesOnPeerToPeerCall(t *testing.T) {
	h := setup(t)
	created, err := h.client.Communications().Calls().Post(h.ctx, newPeerToPeerCall(h.bot.URL), nil)
	if err != nil {
		t.Fatalf("create call: %v", describe(err))
	}
	call := h.client.Communications().Calls().ByCallId(deref(created.GetId()))
	_, err = call.Participants().Get(h.ctx, nil)
	checkODataError(t, "list participants of a peer-to-peer call", err, http.StatusBadRequest, "BadRequest")
	_, err = call.Mute().Post(h.ctx, communications.NewCallsItemMutePostRequestBody(), nil)
	checkODataError(t, "mute a peer-to-peer call", err, http.StatusBadRequest, "BadRequest")
}

// The simulator: meetings and the people in them. It is callplane's admin
// API, not Graph, so plain HTTP with the admin credential.

// person is a simulated human.
type person struct{ id, name string }

var (
	alice = person{"alice", "Alice"}
	bob   = person{"bob", "Bob"}
	carol = person{"carol", "Carol"}
)

func simulate(t *testing.T, h *harness, method, path string, body any) testenv.Response {
	t.Helper()
	return h.env.Do(t, method, "/callplane"+path, h.env.Server.Directory().AdminSecret(), body)
}

// createMeeting creates a meeting with people in it and returns it with
// its join information.
func createMeeting(t *testing.T, h *harness, subject string, people ...person) admin.GroupView {
	t.Helper()
	var participants []any
	for _, p := range people {
		participants = append(participants, map[string]any{"user": map[string]any{"id": p.id, "displayName": p.name}})
	}
	r := simulate(t, h, http.MethodPost, "/meetings", map[string]any{"subject": subject, "participants": participants})
	if r.Status != http.StatusCreated {
		t.Fatalf("create meeting: %d %s", r.Status, r.Body)
	}
	var m admin.GroupView
	r.JSON(t, &m)
	j := m.JoinInfo
	if m.ID == "" || m.CallChainID == "" || j == nil || j.ChatInfo == nil || j.ChatInfo.ThreadID == "" ||
		j.OrganizerMeetingInfo == nil || j.OrganizerMeetingInfo.Organizer == nil || j.OrganizerMeetingInfo.Organizer.User == nil ||
		j.JoinMeetingIDMeetingInfo == nil || j.JoinMeetingIDMeetingInfo.JoinMeetingID == "" || j.TokenMeetingInfo == nil || j.TokenMeetingInfo.Token == "" {
		t.Fatalf("meeting without its join information: %s", r.Body)
	}
	return m
}

// joinHow is how a bot names the meeting it joins: Graph's three meetingInfo
// types.
type joinHow int

const (
	byOrganizer     joinHow = iota // chatInfo and organizerMeetingInfo
	byJoinMeetingID                // joinMeetingIdMeetingInfo
	byToken                        // tokenMeetingInfo
)

// joinRequest is a create-call body that joins the meeting, built with the
// SDK's models as a bot builds it from the meeting's coordinates.
func joinRequest(callbackURI string, m admin.GroupView, how joinHow, delta bool) models.Callable {
	c := models.NewCall()
	c.SetCallbackUri(ptr(callbackURI))
	c.SetRequestedModalities([]models.Modality{models.AUDIO_MODALITY})
	c.SetMediaConfig(models.NewServiceHostedMediaConfig())
	j := m.JoinInfo
	switch how {
	case byOrganizer:
		chat := models.NewChatInfo()
		chat.SetThreadId(ptr(j.ChatInfo.ThreadID))
		chat.SetMessageId(ptr(j.ChatInfo.MessageID))
		c.SetChatInfo(chat)
		o := j.OrganizerMeetingInfo.Organizer.User
		user := models.NewCommunicationsUserIdentity()
		user.SetId(ptr(o.ID))
		user.SetDisplayName(ptr(o.DisplayName))
		user.SetTenantId(ptr(o.TenantID))
		organizer := models.NewIdentitySet()
		organizer.SetUser(user)
		info := models.NewOrganizerMeetingInfo()
		info.SetOrganizer(organizer)
		c.SetMeetingInfo(info)
	case byJoinMeetingID:
		info := models.NewJoinMeetingIdMeetingInfo()
		info.SetJoinMeetingId(ptr(j.JoinMeetingIDMeetingInfo.JoinMeetingID))
		info.SetPasscode(j.JoinMeetingIDMeetingInfo.Passcode)
		c.SetMeetingInfo(info)
	case byToken:
		info := models.NewTokenMeetingInfo()
		info.SetToken(ptr(j.TokenMeetingInfo.Token))
		c.SetMeetingInfo(info)
	}
	if delta {
		options := models.NewOutgoingCallOptions()
		options.SetIsDeltaRosterEnabled(ptr(true))
		c.SetCallOptions(options)
	}
	return c
}

// leg is one bot's call in a meeting.
type leg struct {
	h     *harness
	app   string // the bot's application (client) id
	id    string
	me    string // the call's myParticipantId
	delta bool
}

func (l *leg) resource() string { return "/communications/calls/" + l.id }
func (l *leg) roster() string   { return l.resource() + "/participants" }

func (l *leg) call() *communications.CallsCallItemRequestBuilder {
	return l.h.client.Communications().Calls().ByCallId(l.id)
}

// otherApp registers another application and returns a harness for its
// bot on the same callplane: its own callback endpoint, and a client with
// a token obtained through azidentity.
func (h *harness) otherApp(t *testing.T, name string) *harness {
	t.Helper()
	app, secret, err := h.env.Server.Directory().AddApplication(auth.AppSettings{DisplayName: name})
	if err != nil {
		t.Fatal(err)
	}
	client, err := NewCallplaneClient(h.env.URL+"/v1.0", azidentityTokenFor(t, h.ctx, h.env, app.ClientID, secret.Value))
	if err != nil {
		t.Fatalf("NewCallplaneClient: %v", err)
	}
	return &harness{env: h.env, bot: testbot.Start(t), client: client, ctx: h.ctx, app: app.ClientID}
}

// appID is the harness's application.
func (h *harness) appID() string {
	if h.app != "" {
		return h.app
	}
	return h.env.Server.Directory().DefaultApplication().ClientID
}

// join has the harness's bot join the meeting through the SDK, checks the
// created call, and waits until the bot was told it is established.
func join(t *testing.T, h *harness, m admin.GroupView, how joinHow, delta bool) *leg {
	t.Helper()
	created, err := h.client.Communications().Calls().Post(h.ctx, joinRequest(h.bot.URL, m, how, delta), nil)
	if err != nil {
		t.Fatalf("join the meeting (%s): %v", how, describe(err))
	}
	l := &leg{h: h, app: h.appID(), id: deref(created.GetId()), me: deref(created.GetMyParticipantId()), delta: delta}
	what := "joined call (" + how.String() + ")"
	checkState(t, what, created, models.ESTABLISHING_CALLSTATE)
	checkJoinedCall(t, what, created, l, m, how)
	notes := h.bot.WaitAcked(t, wait, l.resource(), 2)
	if notes[1].State != "established" {
		t.Fatalf("%s: second notification %q, want established:\n%s", what, notes[1].State, testbot.Describe(notes))
	}
	return l
}

func (j joinHow) String() string {
	return [...]string{"organizer", "joinMeetingId", "token"}[j]
}

// checkJoinedCall checks what the API says of a meeting leg: the meeting
// it joined, typed by the SDK's discriminators, and the bot as its source.
func checkJoinedCall(t *testing.T, what string, c models.Callable, l *leg, m admin.GroupView, how joinHow) {
	t.Helper()
	checkDeclaredDeep(t, what, c)
	if l.id == "" || deref(c.GetId()) != l.id || deref(c.GetMyParticipantId()) == "" {
		t.Fatalf("%s: id %q (leg %q), myParticipantId %q", what, deref(c.GetId()), l.id, deref(c.GetMyParticipantId()))
	}
	if got := deref(c.GetCallChainId()); got != m.CallChainID {
		t.Errorf("%s: callChainId %q, the meeting's is %q", what, got, m.CallChainID)
	}
	if got := deref(c.GetCallbackUri()); got != l.h.bot.URL {
		t.Errorf("%s: callbackUri %q, want %q", what, got, l.h.bot.URL)
	}
	if got := deref(c.GetTenantId()); got != l.h.env.Server.Directory().TenantID() {
		t.Errorf("%s: tenantId %q", what, got)
	}
	if d := c.GetDirection(); d == nil || *d != models.OUTGOING_CALLDIRECTION {
		t.Errorf("%s: direction %v, want outgoing", what, d)
	}
	if _, ok := c.GetMediaConfig().(models.ServiceHostedMediaConfigable); !ok {
		t.Errorf("%s: mediaConfig is %T, want a serviceHostedMediaConfig", what, c.GetMediaConfig())
	}
	if s := c.GetSource(); s == nil || s.GetIdentity() == nil || s.GetIdentity().GetApplication() == nil ||
		deref(s.GetIdentity().GetApplication().GetId()) != l.app || deref(s.GetParticipantId()) != deref(c.GetMyParticipantId()) {
		t.Errorf("%s: source is not the application %s with participant id %s", what, l.app, deref(c.GetMyParticipantId()))
	}
	j := m.JoinInfo
	switch how {
	case byOrganizer:
		chat := c.GetChatInfo()
		if chat == nil || deref(chat.GetThreadId()) != j.ChatInfo.ThreadID || deref(chat.GetMessageId()) != j.ChatInfo.MessageID {
			t.Errorf("%s: chatInfo %v, want thread %s message %s", what, chat, j.ChatInfo.ThreadID, j.ChatInfo.MessageID)
		}
		info, ok := c.GetMeetingInfo().(models.OrganizerMeetingInfoable)
		if !ok {
			t.Fatalf("%s: meetingInfo is %T, want an organizerMeetingInfo", what, c.GetMeetingInfo())
		}
		var user models.Identityable
		if info.GetOrganizer() != nil {
			user = info.GetOrganizer().GetUser()
		}
		cu, ok := user.(models.CommunicationsUserIdentityable)
		o := j.OrganizerMeetingInfo.Organizer.User
		if !ok || deref(cu.GetId()) != o.ID || deref(cu.GetTenantId()) != o.TenantID {
			t.Errorf("%s: organizer %T %v, want communicationsUserIdentity %s of tenant %s", what, user, user, o.ID, o.TenantID)
		}
	case byJoinMeetingID:
		info, ok := c.GetMeetingInfo().(models.JoinMeetingIdMeetingInfoable)
		if !ok {
			t.Fatalf("%s: meetingInfo is %T, want a joinMeetingIdMeetingInfo", what, c.GetMeetingInfo())
		}
		if deref(info.GetJoinMeetingId()) != j.JoinMeetingIDMeetingInfo.JoinMeetingID || deref(info.GetPasscode()) != deref(j.JoinMeetingIDMeetingInfo.Passcode) {
			t.Errorf("%s: joinMeetingId %q passcode %q, want %q %q", what, deref(info.GetJoinMeetingId()), deref(info.GetPasscode()),
				j.JoinMeetingIDMeetingInfo.JoinMeetingID, deref(j.JoinMeetingIDMeetingInfo.Passcode))
		}
	case byToken:
		info, ok := c.GetMeetingInfo().(models.TokenMeetingInfoable)
		if !ok {
			t.Fatalf("%s: meetingInfo is %T, want a tokenMeetingInfo", what, c.GetMeetingInfo())
		}
		if deref(info.GetToken()) != j.TokenMeetingInfo.Token {
			t.Errorf("%s: token %q, want %q", what, deref(info.GetToken()), j.TokenMeetingInfo.Token)
		}
	}
	options := c.GetCallOptions()
	if l.delta {
		o, ok := options.(models.OutgoingCallOptionsable)
		if !ok || !deref(o.GetIsDeltaRosterEnabled()) {
			t.Errorf("%s: callOptions %T, want outgoingCallOptions with isDeltaRosterEnabled", what, options)
		}
	} else if options != nil && deref(options.GetIsDeltaRosterEnabled()) {
		t.Errorf("%s: isDeltaRosterEnabled, not asked for", what)
	}
}

// Rosters.

// rosterCount is how many roster notifications the leg's bot acknowledged.
func (l *leg) rosterCount() int { return len(testbot.Acked(l.h.bot.All(), l.roster())) }

// nextRoster waits for the leg's roster notification number i (from 0) and
// reads it with the SDK.
func (l *leg) nextRoster(t *testing.T, i int, what string) []models.Participantable {
	t.Helper()
	rs := l.h.bot.WaitAcked(t, wait, l.roster(), i+1)
	n := rs[i]
	if n.ChangeType != "updated" {
		t.Errorf("%s: changeType %q, want updated", what, n.ChangeType)
	}
	return rosterOf(t, what, n)
}

// rosterOf reads a roster notification's resourceData, an array, with the
// SDK: each element through the entity discriminator, which must make it a
// participant.
func rosterOf(t *testing.T, what string, n testbot.Notification) []models.Participantable {
	t.Helper()
	var raw []any
	if err := json.Unmarshal(n.Data, &raw); err != nil {
		t.Fatalf("%s: resourceData is not an array: %v\n%s", what, err, n.Data)
	}
	node, err := jsonserialization.NewJsonParseNode(n.Data)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	items, err := node.GetCollectionOfObjectValues(models.CreateEntityFromDiscriminatorValue)
	if err != nil {
		t.Fatalf("%s: the SDK cannot read the roster: %v\n%s", what, err, n.Data)
	}
	if len(items) != len(raw) {
		t.Fatalf("%s: the SDK read %d of %d participants\n%s", what, len(items), len(raw), n.Data)
	}
	out := make([]models.Participantable, 0, len(items))
	for i, item := range items {
		p, ok := item.(models.Participantable)
		if !ok {
			t.Fatalf("%s: element %d is %T to the SDK, want a participant\n%s", what, i, item, n.Data)
		}
		out = append(out, p)
	}
	return out
}

// checkRoster checks a roster: exactly present and removed (by user or
// application id), exactly muted muted, each participant well-formed, and
// the bot's own entry its call's participant id.
func checkRoster(t *testing.T, what string, ps []models.Participantable, l *leg, present, removed, muted []string) {
	t.Helper()
	var gotPresent, gotRemoved, gotMuted []string
	for _, p := range ps {
		who := whoIs(p)
		gone := p.GetRemovedState() != nil
		checkParticipant(t, what+" "+who, p, gone)
		if gone {
			gotRemoved = append(gotRemoved, who)
		} else {
			gotPresent = append(gotPresent, who)
		}
		if deref(p.GetIsMuted()) {
			gotMuted = append(gotMuted, who)
		}
	}
	for _, c := range []struct {
		name      string
		got, want []string
	}{{"present", gotPresent, present}, {"removed", gotRemoved, removed}, {"muted", gotMuted, muted}} {
		sort.Strings(c.got)
		want := slices.Clone(c.want)
		sort.Strings(want)
		if !slices.Equal(c.got, want) {
			t.Errorf("%s: %s %v, want %v", what, c.name, c.got, want)
		}
	}
	if me := byWho(ps)[l.app]; me != nil && deref(me.GetId()) != l.me {
		t.Errorf("%s: the bot is participant %q, its call's myParticipantId is %q", what, deref(me.GetId()), l.me)
	}
}

// checkParticipant checks one participant as the SDK read it.
func checkParticipant(t *testing.T, what string, p models.Participantable, removed bool) {
	t.Helper()
	checkDeclaredDeep(t, what, p)
	id := deref(p.GetId())
	if id == "" || deref(p.GetOdataType()) != "#microsoft.graph.participant" {
		t.Errorf("%s: id %q, @odata.type %q", what, id, deref(p.GetOdataType()))
	}
	info := p.GetInfo()
	if info == nil || info.GetIdentity() == nil || whoIs(p) == "" {
		t.Fatalf("%s: no info.identity", what)
	}
	if got := deref(info.GetParticipantId()); got != id {
		t.Errorf("%s: info.participantId %q, id %q", what, got, id)
	}
	if p.GetIsMuted() == nil || p.GetIsInLobby() == nil || deref(p.GetIsInLobby()) {
		t.Errorf("%s: isMuted %v, isInLobby %v; want both set, not in the lobby", what, p.GetIsMuted(), p.GetIsInLobby())
	}
	if deref(p.GetRosterSequenceNumber()) <= 0 {
		t.Errorf("%s: rosterSequenceNumber %v", what, p.GetRosterSequenceNumber())
	}
	streams := p.GetMediaStreams()
	if len(streams) != 1 {
		t.Fatalf("%s: %d media streams, want main audio", what, len(streams))
	}
	s := streams[0]
	if mt, d := s.GetMediaType(), s.GetDirection(); mt == nil || *mt != models.AUDIO_MODALITY || d == nil || *d != models.SENDRECEIVE_MEDIADIRECTION {
		t.Errorf("%s: media stream %v %v, want audio sendReceive", what, mt, d)
	}
	if deref(s.GetServerMuted()) != deref(p.GetIsMuted()) {
		t.Errorf("%s: serverMuted %v, isMuted %v", what, deref(s.GetServerMuted()), deref(p.GetIsMuted()))
	}
	rs := p.GetRemovedState()
	switch {
	case removed && (rs == nil || deref(rs.GetReason()) == ""):
		t.Errorf("%s: removed without removedState.reason", what)
	case !removed && rs != nil:
		t.Errorf("%s: removedState %q on a participant still present", what, deref(rs.GetReason()))
	}
}

// checkPerson checks that a participant is the simulated person.
func checkPerson(t *testing.T, what string, p models.Participantable, want person) {
	t.Helper()
	if p == nil {
		t.Errorf("%s: %s is missing", what, want.name)
		return
	}
	u := p.GetInfo().GetIdentity().GetUser()
	if u == nil || deref(u.GetId()) != want.id || deref(u.GetDisplayName()) != want.name {
		t.Errorf("%s: identity.user %v, want %s %q", what, u, want.id, want.name)
	}
}

// whoIs names a participant by its identity: its user's, application's or
// phone's id.
func whoIs(p models.Participantable) string {
	if p.GetInfo() == nil {
		return ""
	}
	return identityID(p.GetInfo().GetIdentity())
}

func identityID(set models.IdentitySetable) string {
	switch {
	case set == nil:
		return ""
	case set.GetUser() != nil:
		return deref(set.GetUser().GetId())
	case set.GetApplication() != nil:
		return deref(set.GetApplication().GetId())
	}
	if c, ok := set.(models.CommunicationsIdentitySetable); ok && c.GetPhone() != nil {
		return deref(c.GetPhone().GetId())
	}
	return ""
}

// participantOf returns the participant who is who, failing the test if
// there is none.
func participantOf(t *testing.T, what string, ps []models.Participantable, who string) models.Participantable {
	t.Helper()
	p := byWho(ps)[who]
	if p == nil {
		t.Fatalf("%s: no participant %s", what, who)
	}
	return p
}

func byWho(ps []models.Participantable) map[string]models.Participantable {
	out := map[string]models.Participantable{}
	for _, p := range ps {
		out[whoIs(p)] = p
	}
	return out
}

// invitationOf is an invitation of a simulated person, built with the SDK's
// models.
func invitationOf(p person) models.InvitationParticipantInfoable {
	user := models.NewIdentity()
	user.SetId(ptr(p.id))
	user.SetDisplayName(ptr(p.name))
	set := models.NewIdentitySet()
	set.SetUser(user)
	info := models.NewInvitationParticipantInfo()
	info.SetIdentity(set)
	return info
}

// Operations.

// operationOf reads an operation notification's resourceData with the SDK's
// entity discriminator, which must make it an operation.
func operationOf(t *testing.T, n testbot.Notification) models.CommsOperationable {
	t.Helper()
	node, err := jsonserialization.NewJsonParseNode(n.Data)
	if err != nil {
		t.Fatal(err)
	}
	v, err := node.GetObjectValue(models.CreateEntityFromDiscriminatorValue)
	if err != nil {
		t.Fatalf("operation %s: the SDK cannot read it: %v\n%s", n.ResourceURL, err, n.Data)
	}
	op, ok := v.(models.CommsOperationable)
	if !ok {
		t.Fatalf("operation %s: %T to the SDK, want an operation\n%s", n.ResourceURL, v, n.Data)
	}
	return op
}

// checkOperation checks an operation as the SDK read it: its type, status,
// client context and (resultCode not 0) result.
func checkOperation(t *testing.T, what string, op models.CommsOperationable, odataType string, status models.OperationStatus, clientContext string, resultCode int32) {
	t.Helper()
	if deref(op.GetId()) == "" || deref(op.GetOdataType()) != odataType {
		t.Errorf("%s: id %q, @odata.type %q, want %s", what, deref(op.GetId()), deref(op.GetOdataType()), odataType)
	}
	if got := op.GetStatus(); got == nil {
		t.Errorf("%s: the SDK read no status, want %s (the SDK's OperationStatus parses only %q, %q, %q, %q, case-sensitively)",
			what, status, "NotStarted", "Running", "Completed", "Failed")
	} else if *got != status {
		t.Errorf("%s: status %s, want %s", what, got, status)
	}
	if got := deref(op.GetClientContext()); got != clientContext {
		t.Errorf("%s: clientContext %q, want %q", what, got, clientContext)
	}
	if resultCode != 0 {
		if ri := op.GetResultInfo(); ri == nil || deref(ri.GetCode()) != resultCode {
			t.Errorf("%s: resultInfo %s, want code %d", what, resultString(ri), resultCode)
		}
	}
}

// responseHeaders asks the SDK to hand over a response's headers.
func responseHeaders() *nethttplibrary.HeadersInspectionOptions {
	o := nethttplibrary.NewHeadersInspectionOptions()
	o.InspectResponseHeaders = true
	return o
}

func checkLocation(t *testing.T, what string, headers *nethttplibrary.HeadersInspectionOptions, path string) {
	t.Helper()
	loc := headers.GetResponseHeaders().Get("Location")
	if len(loc) != 1 || !strings.HasSuffix(loc[0], "/v1.0"+path) {
		t.Errorf("%s: Location %q, want the operation %s", what, loc, path)
	}
}

// Reading everything.

// checkBodies reads every notification body a bot received with the SDK:
// the envelope, then each resource with the model its URL and @odata.type
// call for (a call, a collection of participants, an operation), and checks
// that the SDK read all of it.
func checkBodies(t *testing.T, what string, bodies [][]byte) {
	t.Helper()
	for i, body := range bodies {
		root, err := jsonserialization.NewJsonParseNode(body)
		if err != nil {
			t.Fatalf("%s body %d: %v\n%s", what, i, err, body)
		}
		v, err := root.GetObjectValue(createCommsNotifications)
		if err != nil {
			t.Fatalf("%s body %d: %v\n%s", what, i, err, body)
		}
		env := v.(*commsNotifications)
		checkDeclared(t, what+" notification body", env)
		var raw struct {
			Value []struct {
				ResourceData any `json:"resourceData"`
			} `json:"value"`
		}
		if err := json.Unmarshal(body, &raw); err != nil || len(raw.Value) != len(env.value) {
			t.Fatalf("%s body %d: %v\n%s", what, i, err, body)
		}
		for j, n := range env.value {
			url := deref(n.resourceURL)
			where := fmt.Sprintf("%s body %d (%s %s)", what, i, n.changeType, url)
			checkDeclared(t, where, n)
			if n.resourceData == nil {
				t.Errorf("%s: no resourceData", where)
				continue
			}
			data := raw.Value[j].ResourceData
			switch {
			case strings.HasSuffix(url, "/participants"), strings.HasSuffix(url, "/contentsharingsessions"):
				items, err := n.resourceData.GetCollectionOfObjectValues(models.CreateEntityFromDiscriminatorValue)
				elems, _ := data.([]any)
				if err != nil || len(items) != len(elems) {
					t.Errorf("%s: the SDK read %d of %d entities: %v", where, len(items), len(elems), err)
					continue
				}
				for k, item := range items {
					_, participant := item.(models.Participantable)
					_, session := item.(models.ContentSharingSessionable)
					if strings.HasSuffix(url, "/participants") && !participant || strings.HasSuffix(url, "/contentsharingsessions") && !session {
						t.Errorf("%s: element %d is %T to the SDK", where, k, item)
					}
					checkRead(t, fmt.Sprintf("%s[%d]", where, k), elems[k], item)
				}
			case strings.Contains(url, "/operations/"):
				op, err := n.resourceData.GetObjectValue(models.CreateEntityFromDiscriminatorValue)
				if _, ok := op.(models.CommsOperationable); err != nil || !ok {
					t.Errorf("%s: %T to the SDK (%v), want an operation", where, op, err)
					continue
				}
				checkRead(t, where, data, op)
			default:
				c, err := n.resourceCall()
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				checkRead(t, where, data, c)
			}
		}
	}
}

// checkDeclaredDeep is checkDeclared for a model and every model in it.
func checkDeclaredDeep(t *testing.T, what string, v any) {
	t.Helper()
	checkDeclared(t, what, v)
	b, ok := v.(store.BackedModel)
	if !ok || isNil(v) {
		return
	}
	for key, value := range b.GetBackingStore().Enumerate() {
		if key == "additionalData" || isNil(value) {
			continue
		}
		if rv := reflect.ValueOf(value); rv.Kind() == reflect.Slice {
			for i := range rv.Len() {
				checkDeclaredDeep(t, fmt.Sprintf("%s.%s[%d]", what, key, i), rv.Index(i).Interface())
			}
			continue
		}
		checkDeclaredDeep(t, what+"."+key, value)
	}
}

// checkRead checks that the SDK's model v read all of raw, the JSON it was
// parsed from: every property is one the model declares (checkDeclared, at
// every level), and none was lost on the way. A value the SDK cannot read,
// such as an enum member it does not know, leaves its property unset without
// an error: that is what this catches.
func checkRead(t *testing.T, what string, raw any, v any) {
	t.Helper()
	checkDeclared(t, what, v)
	obj, ok := raw.(map[string]any)
	b, backed := v.(store.BackedModel)
	if !ok || !backed || isNil(v) {
		return
	}
	values := b.GetBackingStore().Enumerate()
	var extra map[string]any
	if holder, ok := v.(interface{ GetAdditionalData() map[string]any }); ok {
		extra = holder.GetAdditionalData()
	}
	for key, rv := range obj {
		if strings.HasPrefix(key, "@") || rv == nil {
			continue
		}
		if _, ok := extra[key]; ok {
			continue // checkDeclared reported it
		}
		mv, found := values[key]
		if !found || isNil(mv) {
			data, _ := json.Marshal(rv)
			t.Errorf("%s: the SDK's %T dropped %q: it cannot read %s", what, v, key, data)
			continue
		}
		switch rv := rv.(type) {
		case map[string]any:
			checkRead(t, what+"."+key, rv, mv)
		case []any:
			s := reflect.ValueOf(mv)
			if s.Kind() != reflect.Slice || s.Len() != len(rv) {
				data, _ := json.Marshal(rv)
				t.Errorf("%s: the SDK's %T read %q as %v, from %s", what, v, key, mv, data)
				continue
			}
			for i := range rv {
				checkRead(t, fmt.Sprintf("%s.%s[%d]", what, key, i), rv[i], s.Index(i).Interface())
			}
		}
	}
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
		return rv.IsNil()
	}
	return false
}
