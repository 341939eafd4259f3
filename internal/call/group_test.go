package call

import (
	"errors"
	"testing"
	"time"
)

func person(id string) Member { return Member{Identity: Identity{Kind: User, ID: id}} }

func TestMeetingJoinInformation(t *testing.T) {
	g := NewMeeting("tenant", "sync", Identity{ID: "org", DisplayName: "Olga"}, t0)
	m := g.Meeting
	if m.ThreadID == "" || m.MessageID != "0" || len(m.JoinMeetingID) != 10 || m.Passcode == "" || m.Token == "" {
		t.Fatalf("join information: %+v", m)
	}
	if m.Organizer.Kind != User || m.Organizer.TenantID != "tenant" {
		t.Fatalf("organizer: %+v", m.Organizer)
	}
	if other := NewMeeting("tenant", "", Identity{}, t0); other.Meeting.ThreadID == m.ThreadID || other.ChainID == g.ChainID {
		t.Fatal("two meetings share a thread or chain id")
	}
}

func TestRosterChanges(t *testing.T) {
	g := NewMeeting("t", "", Identity{}, t0)
	change, err := g.Join(person("alice"), person("bob"), Member{ParticipantID: "p-bot", Identity: Identity{Kind: Application, ID: "app"}, LegID: "leg-1"})
	if err != nil {
		t.Fatal(err)
	}
	if change.Seq != 1 || len(change.Updated) != 3 || g.Humans() != 2 || len(g.Legs()) != 1 {
		t.Fatalf("after join: change %+v, %d humans, %d legs", change, g.Humans(), len(g.Legs()))
	}
	bob := change.Updated[1]
	if bob.ParticipantID == "" || bob.Seq != 1 {
		t.Fatalf("bob: %+v", bob)
	}
	if m, ok := g.LegMember("leg-1"); !ok || m.ParticipantID != "p-bot" {
		t.Fatalf("leg member: %+v %v", m, ok)
	}

	change, err = g.SetMuted(bob.ParticipantID, true)
	if err != nil || change.Seq != 2 || len(change.Updated) != 1 || !change.Updated[0].Muted {
		t.Fatalf("mute: %+v %v", change, err)
	}
	if again, _ := g.SetMuted(bob.ParticipantID, true); !again.Empty() || g.RosterSeq != 2 {
		t.Fatalf("muting a muted participant changed the roster: %+v", again)
	}
	if _, err := g.SetMuted("nobody", true); !errors.Is(err, ErrNoSuchMember) {
		t.Fatalf("mute nobody: %v", err)
	}

	change, err = g.Leave(bob.ParticipantID, t0)
	if err != nil || change.Seq != 3 || len(change.Removed) != 1 || change.Removed[0].Seq != 3 {
		t.Fatalf("leave: %+v %v", change, err)
	}
	if _, ok := g.Member(bob.ParticipantID); ok {
		t.Fatal("bob is still in the roster")
	}
	if _, err := g.Leave(bob.ParticipantID, t0); !errors.Is(err, ErrNoSuchMember) {
		t.Fatalf("leaving twice: %v", err)
	}

	legs := g.End(t0.Add(time.Minute))
	if len(legs) != 1 || legs[0].LegID != "leg-1" || len(g.Members) != 0 || !g.Ended {
		t.Fatalf("end: legs %+v, members %+v, ended %v", legs, g.Members, g.Ended)
	}
	if _, err := g.Join(person("carol")); !errors.Is(err, ErrGroupEnded) {
		t.Fatalf("join after the end: %v", err)
	}
}

func TestAdHocGroupEndsWhenEmpty(t *testing.T) {
	g := NewAdHoc("t", t0)
	change, _ := g.Join(person("alice"))
	g.Leave(change.Updated[0].ParticipantID, t0)
	if !g.Ended {
		t.Fatal("an empty ad-hoc group call goes on")
	}
	m := NewMeeting("t", "", Identity{}, t0)
	change, _ = m.Join(person("alice"))
	m.Leave(change.Updated[0].ParticipantID, t0)
	if m.Ended {
		t.Fatal("an empty meeting ended: it can still be joined")
	}
}

func TestJoinAdmits(t *testing.T) {
	m := NewMeeting("t", "", Identity{ID: "org"}, t0).Meeting
	cases := map[string]struct {
		join JoinInfo
		ok   bool
	}{
		"organizer":       {JoinInfo{Kind: ByOrganizer, Chat: ChatInfo{ThreadID: m.ThreadID}, Organizer: Identity{ID: "org"}}, true},
		"wrong organizer": {JoinInfo{Kind: ByOrganizer, Chat: ChatInfo{ThreadID: m.ThreadID}, Organizer: Identity{ID: "x"}}, false},
		"passcode":        {JoinInfo{Kind: ByJoinMeetingID, JoinMeetingID: m.JoinMeetingID, Passcode: m.Passcode}, true},
		"wrong passcode":  {JoinInfo{Kind: ByJoinMeetingID, JoinMeetingID: m.JoinMeetingID, Passcode: "x"}, false},
		"token":           {JoinInfo{Kind: ByToken, Token: m.Token}, true},
	}
	for name, tc := range cases {
		if r := tc.join.Admits(m); (r == nil) != tc.ok {
			t.Errorf("%s: admits = %v, want ok %v", name, r, tc.ok)
		} else if r != nil && (r.Code != 480 || r.Subcode != 10134) {
			t.Errorf("%s: result %+v", name, r)
		}
	}
}

func TestJoinFailsWhenAnswered(t *testing.T) {
	req := request()
	req.Targets = nil
	req.Join = &JoinInfo{Kind: ByToken, Token: "nope"}
	c, _, err := Place(req, t0, timing)
	if err != nil || c.Kind != MeetingLeg {
		t.Fatalf("place: %v %v", c, err)
	}
	c.FailJoin(MeetingNotFound("no meeting has the join token given"))
	ev := c.Advance(t0.Add(timing.AnswerDelay), timing)
	if len(ev) != 2 || ev[1].State != Terminated || ev[1].Result.Code != 480 {
		t.Fatalf("events %+v", ev)
	}
}

func TestInvitationRunsUntilAnswered(t *testing.T) {
	c := place(t)
	c.Advance(t0.Add(time.Second), timing)
	op, err := NewOperation(InviteParticipants, "ctx", t0.Add(2*time.Second))
	if err != nil || op.Status != Running {
		t.Fatalf("invite: %+v %v", op, err)
	}
	op.Invitees = []Participant{{Identity: Identity{Kind: User, ID: "carol"}, ParticipantID: "p-carol"}}
	c.AddOperation(op)
	if !c.NextDeadline().Equal(op.DueAt) {
		t.Fatalf("next deadline %v, want the invitation's %v", c.NextDeadline(), op.DueAt)
	}
	ev := c.Advance(op.DueAt, timing)
	if len(ev) != 1 || ev[0].Operation == nil || ev[0].Operation.Status != Completed || ev[0].Change != Deleted {
		t.Fatalf("completion events %+v", ev)
	}
	if done, _ := c.Operation(op.ID); done.Status != Completed || done.Result == nil || done.Result.Code != 200 {
		t.Fatalf("stored operation %+v", done)
	}
}

func TestCancelLastInviteeFailsInvitation(t *testing.T) {
	c := place(t)
	op, _ := NewOperation(InviteParticipants, "", t0.Add(time.Hour))
	op.Invitees = []Participant{{ParticipantID: "a"}, {ParticipantID: "b"}}
	c.AddOperation(op)
	if cancelled, failed := c.CancelInvitee("a"); !cancelled || failed != nil {
		t.Fatalf("first cancel: %v %v", cancelled, failed)
	}
	cancelled, failed := c.CancelInvitee("b")
	if !cancelled || failed == nil || failed.Status != Failed || failed.Result.Subcode != 8508 {
		t.Fatalf("last cancel: %v %+v", cancelled, failed)
	}
	if cancelled, _ := c.CancelInvitee("nobody"); cancelled {
		t.Fatal("cancelled an invitee nobody invited")
	}
}

func TestOperationLimits(t *testing.T) {
	long := make([]byte, 257)
	for i := range long {
		long[i] = 'x'
	}
	var invalid *InvalidError
	if _, err := NewOperation(MuteParticipant, string(long), time.Time{}); !errors.As(err, &invalid) {
		t.Fatalf("257-character clientContext: %v", err)
	}
	c := place(t)
	for range 50 {
		op, _ := NewOperation(MuteParticipant, "", time.Time{})
		c.AddOperation(op)
	}
	if len(c.Operations) != keptOperations {
		t.Fatalf("%d operations kept, want %d", len(c.Operations), keptOperations)
	}
}
