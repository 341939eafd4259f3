package call

import (
	"errors"
	"testing"
)

func TestContentSharing(t *testing.T) {
	g := NewMeeting("t", "", Identity{}, t0)
	joined, err := g.Join(person("alice"), person("bob"), Member{ParticipantID: "p-bot", Identity: Identity{Kind: Application, ID: "app"}, LegID: "leg-1"})
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := joined.Updated[0].ParticipantID, joined.Updated[1].ParticipantID
	if s := g.ContentSessions(); len(s) != 0 {
		t.Fatalf("sessions before anyone shares: %+v", s)
	}

	started, err := g.StartSharing(alice, t0)
	if err != nil || started.Content == nil || started.Content.Change != Created || started.Content.Session.Presenter != alice {
		t.Fatalf("alice shares: %+v %v", started, err)
	}
	if len(started.Updated) != 1 || !started.Updated[0].Sharing {
		t.Fatalf("alice's roster entry: %+v", started.Updated)
	}
	session := started.Content.Session
	if got, err := FindContentSession(g.ContentSessions(), session.ID); err != nil || got != session {
		t.Fatalf("get session: %+v %v", got, err)
	}
	if again, err := g.StartSharing(alice, t0); err != nil || !again.Empty() || again.Content == nil || again.Content.Change != Updated || again.Content.Session != session {
		t.Fatalf("alice shares something else: %+v %v, want her session updated, the roster as it was", again, err)
	}

	taken, err := g.StartSharing(bob, t0)
	if err != nil || taken.Content == nil || taken.Content.Change != Updated || taken.Content.Session.ID != session.ID || taken.Content.Session.Presenter != bob {
		t.Fatalf("bob takes over: %+v %v", taken, err)
	}
	if len(taken.Updated) != 2 || taken.Updated[0].Sharing || !taken.Updated[1].Sharing || taken.Seq != g.RosterSeq {
		t.Fatalf("takeover's roster change: %+v", taken)
	}
	if _, err := g.StopSharing(alice); !errors.Is(err, ErrNotSharing) {
		t.Fatalf("alice stops what bob presents: %v", err)
	}
	if _, err := g.StartSharing("p-bot", t0); err == nil {
		t.Fatal("an application shared through the simulator")
	}
	if _, err := g.StartSharing("nobody", t0); !errors.Is(err, ErrNoSuchMember) {
		t.Fatalf("nobody shares: %v", err)
	}

	stopped, err := g.StopSharing(bob)
	if err != nil || stopped.Content == nil || stopped.Content.Change != Deleted || stopped.Content.Session.ID != session.ID || stopped.Updated[0].Sharing {
		t.Fatalf("bob stops: %+v %v", stopped, err)
	}
	if _, err := FindContentSession(g.ContentSessions(), session.ID); !errors.Is(err, ErrNoSuchContentSession) {
		t.Fatalf("the ended session is still there: %v", err)
	}

	// A presenter who leaves ends the presentation with their leaving.
	restarted, _ := g.StartSharing(alice, t0)
	left, err := g.Leave(alice, t0)
	if err != nil || left.Content == nil || left.Content.Change != Deleted || left.Content.Session.ID != restarted.Content.Session.ID || g.Content != nil {
		t.Fatalf("alice leaves while presenting: %+v %v", left, err)
	}
	if left, _ := g.Leave(bob, t0); left.Content != nil {
		t.Fatalf("a listener's leaving ended a presentation: %+v", left.Content)
	}
}

func TestContentSharingEndsWithTheGroupCall(t *testing.T) {
	g := NewMeeting("t", "", Identity{}, t0)
	joined, _ := g.Join(person("alice"))
	if _, err := g.StartSharing(joined.Updated[0].ParticipantID, t0); err != nil {
		t.Fatal(err)
	}
	clone := g.Clone()
	g.End(t0)
	if g.Content != nil || len(g.ContentSessions()) != 0 {
		t.Fatalf("the session outlived its meeting: %+v", g.Content)
	}
	if clone.Content == nil {
		t.Fatal("Clone shares the session with the original")
	}
	if _, err := g.StartSharing(joined.Updated[0].ParticipantID, t0); !errors.Is(err, ErrGroupEnded) {
		t.Fatalf("sharing in an ended meeting: %v", err)
	}
}

func TestContentSharingInAPeerToPeerCall(t *testing.T) {
	c := &Call{State: Established, Direction: Inbound, Source: Participant{ParticipantID: "p-alice", Identity: Identity{Kind: User, ID: "alice"}}, Remote: &Remote{}}
	if s := c.ContentSessions(); len(s) != 0 {
		t.Fatalf("sessions before alice shares: %+v", s)
	}
	if _, err := c.StopSharing(t0); !errors.Is(err, ErrNotSharing) {
		t.Fatalf("stop before sharing: %v", err)
	}
	started, err := c.StartSharing(t0)
	if err != nil || started.Change != Created || started.Session.Presenter != "p-alice" {
		t.Fatalf("alice shares: %+v %v", started, err)
	}
	changed, err := c.StartSharing(t0)
	if err != nil || changed.Change != Updated || changed.Session != started.Session {
		t.Fatalf("alice shares another window: %+v %v", changed, err)
	}
	if got := c.ContentSessions(); len(got) != 1 || got[0] != started.Session {
		t.Fatalf("sessions: %+v", got)
	}
	stopped, err := c.StopSharing(t0)
	if err != nil || stopped.Change != Deleted || stopped.Session.ID != started.Session.ID || len(c.ContentSessions()) != 0 {
		t.Fatalf("alice stops: %+v %v", stopped, err)
	}
	for name, other := range map[string]*Call{
		"a meeting leg":  {State: Established},
		"a ringing call": {State: Incoming, Remote: &Remote{}},
	} {
		if _, err := other.StartSharing(t0); err == nil {
			t.Errorf("%s: a person presented", name)
		}
	}
}

func TestPresentationEndsWithTheCall(t *testing.T) {
	c := &Call{State: Established, Direction: Inbound, Source: Participant{Identity: Identity{Kind: User, ID: "alice"}}, Remote: &Remote{}}
	if _, err := c.StartSharing(t0); err != nil {
		t.Fatal(err)
	}
	c.end(t0, nil)
	if c.Remote.Content != nil || len(c.ContentSessions()) != 0 {
		t.Fatalf("the presentation outlived the call: %+v", c.Remote.Content)
	}
	if got := c.RemoteActions; len(got) != 1 || got[0].Did != Shared {
		t.Fatalf("the person's actions: %+v", got)
	}
}
