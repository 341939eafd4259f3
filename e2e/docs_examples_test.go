package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// The v1.0 reference pages' examples, where callplane's answers differed.

// TestJoinByMeetingIDAnswersWithChatInfo: application-post-calls examples 7
// and 8: joining by meeting id, with and without a passcode, answers with
// the meeting's chatInfo; a meeting may be created without a passcode.
func TestJoinByMeetingIDAnswersWithChatInfo(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	withPasscode := createMeeting(t, env, "alice")
	r := sim(t, env, http.MethodPost, "/meetings", map[string]any{"subject": "open", "joinMeetingIdSettings": map[string]any{"isPasscodeRequired": false}})
	var open admin.GroupView
	r.JSON(t, &open)
	if open.JoinInfo.JoinMeetingIDMeetingInfo.Passcode != nil {
		t.Fatalf("a meeting without a passcode has one: %s", r.Body)
	}
	for name, m := range map[string]admin.GroupView{"with passcode": withPasscode, "without": open} {
		r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, joinBody(bot.URL, m, "joinMeetingId", false))
		if r.Status != http.StatusCreated {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
		var c graph.Call
		r.JSON(t, &c)
		if c.ChatInfo == nil || c.ChatInfo.ThreadID != m.JoinInfo.ChatInfo.ThreadID || c.ChatInfo.MessageID != "0" {
			t.Errorf("%s: chatInfo %+v, want the meeting's thread", name, c.ChatInfo)
		}
		checkSchema(t, "microsoft.graph.call", r.Body)
	}
}

// TestMeetingLegNotificationsAndGet: application-post-calls example 5 and
// call-get: a meeting leg's establishing and established carry chatInfo and
// meetingInfo; its GET shows transcription inactive.
func TestMeetingLegNotificationsAndGet(t *testing.T) {
	env := testenv.Start(t)
	m := createMeeting(t, env, "alice")
	l := join(t, env, env.Token, m, "organizer", false)
	for _, n := range l.bot.WaitAcked(t, wait, l.resource(), 2) {
		var c graph.Call
		json.Unmarshal(n.Data, &c)
		if c.ChatInfo == nil || c.ChatInfo.ThreadID != m.JoinInfo.ChatInfo.ThreadID || c.MeetingInfo == nil || c.MeetingInfo.ODataType != graph.TypeOrganizerMeetingInfo {
			t.Errorf("%s/%s: %s", n.ChangeType, n.State, n.Data)
		}
	}
	r := env.Do(t, http.MethodGet, testenv.CallPath(l.call.ID), env.Token, nil)
	var c struct {
		Transcription *graph.TranscriptionInfo `json:"transcription"`
	}
	r.JSON(t, &c)
	if c.Transcription == nil || c.Transcription.State != "inactive" || c.Transcription.LastModifiedDateTime == "" {
		t.Fatalf("meeting leg GET: %s", r.Body)
	}
	checkSchema(t, "microsoft.graph.call", r.Body)
}

// TestInviteReplacingAPeerToPeerCall: participant-invite example 3: the
// invitation echoes replacesCallId, and once the invitee joins, the
// peer-to-peer call it replaces is terminated and deleted.
func TestInviteReplacingAPeerToPeerCall(t *testing.T) {
	env, _, l := groupHarness(t, false)
	p2pBot := testbot.Start(t)
	p2p := env.PlaceCall(t, p2pBot.URL)
	p2pBot.WaitAcked(t, wait, "/communications/calls/"+p2p.ID, 2)
	r := env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/participants/invite", l.token, map[string]any{
		"participants": []any{
			map[string]any{"replacesCallId": p2p.ID, "identity": map[string]any{"user": map[string]any{"id": "8d1e2f3a-0000-4000-8000-000000000001", "displayName": "Alex Wilber"}}},
			map[string]any{"identity": map[string]any{"user": map[string]any{"id": "ignored"}}},
		},
	})
	if r.Status != http.StatusOK {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	var op graph.Operation
	r.JSON(t, &op)
	if len(op.Participants) != 1 || op.Participants[0].ReplacesCallID != p2p.ID {
		t.Fatalf("the operation's participants: %s", r.Body)
	}
	got := p2pBot.WaitAcked(t, wait, "/communications/calls/"+p2p.ID, 4)
	if !equal(states(got[2:]), []string{"updated/terminating", "deleted/terminated"}) {
		t.Fatalf("the replaced call: %v", states(got))
	}
	l.waitRoster(t, "the invitee in the roster", func(p, _ []string) bool {
		return strings.Contains(strings.Join(p, ","), "8d1e2f3a-0000-4000-8000-000000000001")
	})
}
