package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/ids"
	"github.com/callplane/callplane/internal/store"
)

// groupLeg returns the owner's call and its group call, refusing calls that
// are not group calls.
func (u *unit) groupLeg(owner call.Owner, callID string) (*call.Call, *call.Group, error) {
	c, err := u.ownCall(owner, callID)
	if err != nil {
		return nil, nil, err
	}
	if !c.IsGroup() {
		return nil, nil, call.ErrNotGroupCall
	}
	if c.GroupID == "" {
		// A meeting leg whose meeting was never found: it has no roster.
		return c, &call.Group{}, nil
	}
	g, err := u.group(c.GroupID)
	if err != nil {
		return nil, nil, err
	}
	return c, g, nil
}

// Participants returns the roster of the owner's group call.
func (s *Service) Participants(ctx context.Context, owner call.Owner, callID string) ([]call.Member, error) {
	var members []call.Member
	err := s.do(ctx, func(u *unit) error {
		_, g, err := u.groupLeg(owner, callID)
		if err != nil {
			return err
		}
		members = g.Members
		return nil
	})
	return members, err
}

// Participant returns one participant of the owner's group call.
func (s *Service) Participant(ctx context.Context, owner call.Owner, callID, participantID string) (call.Member, error) {
	var member call.Member
	err := s.do(ctx, func(u *unit) error {
		_, g, err := u.groupLeg(owner, callID)
		if err != nil {
			return err
		}
		m, ok := g.Member(participantID)
		if !ok {
			return call.ErrNoSuchMember
		}
		member = m
		return nil
	})
	return member, err
}

// Invite asks people into the owner's group call. The invitation runs until
// they answer (after the simulated answer delay); then it completes with a
// notification and they join the roster.
func (s *Service) Invite(ctx context.Context, owner call.Owner, callID string, invitees []call.Participant, clientContext string) (call.Operation, error) {
	answers := make([]call.Answering, len(invitees))
	for i, p := range invitees {
		party, err := s.party(ctx, owner.TenantID, p.Identity)
		if err != nil {
			return call.Operation{}, err
		}
		answers[i] = party.Answering
	}
	var op call.Operation
	err := s.do(ctx, func(u *unit) error {
		c, g, err := u.groupLeg(owner, callID)
		if err != nil {
			return err
		}
		if c.State != call.Established {
			return &call.InvalidError{Msg: "participants can be invited once the call is established"}
		}
		if len(invitees) > call.MaxGroupTargets {
			return call.ErrTooManyInvitees
		}
		if len(g.Members)+len(invitees) > call.MaxGroupSize {
			return call.ErrGroupFull
		}
		invited := slices.Clone(invitees)
		for i, p := range invited {
			if err := p.Check(fmt.Sprintf("participants[%d]", i)); err != nil {
				return err
			}
			if slices.ContainsFunc(g.Members, func(m call.Member) bool { return m.Identity.Kind == p.Identity.Kind && m.Identity.ID == p.Identity.ID }) {
				return &call.InvalidError{Msg: fmt.Sprintf("participants[%d] is in the call already", i)}
			}
			if id := p.ReplacesCallID; id != "" {
				replaced, err := u.ownCall(owner, id)
				if err != nil || replaced.IsGroup() || !replaced.State.Live() {
					return &call.InvalidError{Msg: fmt.Sprintf("participants[%d].replacesCallId names no live peer-to-peer call of the application", i)}
				}
			}
			invited[i].ParticipantID = ids.New()
		}
		op, err = call.NewOperation(call.InviteParticipants, clientContext, call.InvitationDue(answers, u.now, s.cfg.Timing))
		if err != nil {
			return err
		}
		op.Invitees, op.Answers = invited, answers
		c.AddOperation(op)
		u.touchCall(c)
		return nil
	})
	return op, err
}

// MuteParticipant server-mutes a participant of the owner's group call. It
// completes at once; every leg gets a roster update.
func (s *Service) MuteParticipant(ctx context.Context, owner call.Owner, callID, participantID, clientContext string) (call.Operation, error) {
	return s.setMuted(ctx, owner, callID, participantID, true, call.MuteParticipant, clientContext)
}

// MuteSelf mutes or unmutes the owner's own leg of a group call.
func (s *Service) MuteSelf(ctx context.Context, owner call.Owner, callID string, muted bool, clientContext string) (call.Operation, error) {
	t := call.MuteParticipant
	if !muted {
		t = call.UnmuteParticipant
	}
	return s.setMuted(ctx, owner, callID, "", muted, t, clientContext)
}

// setMuted mutes a participant (the leg itself when participantID is empty)
// and records the operation, completed, on the leg.
func (s *Service) setMuted(ctx context.Context, owner call.Owner, callID, participantID string, muted bool, t call.OperationType, clientContext string) (call.Operation, error) {
	var op call.Operation
	err := s.do(ctx, func(u *unit) error {
		c, g, err := u.groupLeg(owner, callID)
		if err != nil {
			return err
		}
		if participantID == "" {
			participantID = c.MyParticipantID
		}
		op, err = call.NewOperation(t, clientContext, time.Time{})
		if err != nil {
			return err
		}
		change, err := g.SetMuted(participantID, muted)
		if err != nil {
			return err
		}
		c.AddOperation(op)
		u.touchCall(c)
		return u.rosterChanged(g, change)
	})
	return op, err
}

// RemoveParticipant drops a participant from the owner's group call: a
// person leaves the roster; another application's leg ends with "removed by
// another participant"; a pending invitee's invitation is withdrawn.
func (s *Service) RemoveParticipant(ctx context.Context, owner call.Owner, callID, participantID string) error {
	return s.do(ctx, func(u *unit) error {
		c, g, err := u.groupLeg(owner, callID)
		if err != nil {
			return err
		}
		if _, ok := g.Member(participantID); ok {
			return u.leave(g, participantID, call.RemovedByParticipant)
		}
		cancelled, failed := c.CancelInvitee(participantID)
		if !cancelled {
			return call.ErrNoSuchMember
		}
		var events []call.Event
		if failed != nil {
			events = append(events, call.Event{Change: call.Deleted, State: c.State, Operation: failed})
		}
		return u.announce(c, events)
	})
}

// Operation returns an operation of the owner's call.
func (s *Service) Operation(ctx context.Context, owner call.Owner, callID, opID string) (call.Operation, error) {
	c, err := s.Get(ctx, owner, callID)
	if err != nil {
		return call.Operation{}, err
	}
	op, ok := c.Operation(opID)
	if !ok {
		return call.Operation{}, ErrNoSuchOperation
	}
	return op, nil
}

// Operations lists the owner's call's operations, oldest first: those
// running and those the call keeps after they finished.
func (s *Service) Operations(ctx context.Context, owner call.Owner, callID string) ([]call.Operation, error) {
	c, err := s.Get(ctx, owner, callID)
	if err != nil {
		return nil, err
	}
	return slices.Clone(c.Operations), nil
}

// ErrNoSuchOperation is an operation the call does not have.
var ErrNoSuchOperation = errors.New("no such operation")

// The simulator's commands: what the people and meetings around a bot do.

// CreateMeeting creates a meeting of the tenant, with people already in it;
// without a passcode unless passcodeRequired.
func (s *Service) CreateMeeting(ctx context.Context, tenantID, subject string, organizer call.Identity, people []call.Identity, passcodeRequired bool) (*call.Group, error) {
	if err := call.CheckMeeting(subject, organizer, people); err != nil {
		return nil, err
	}
	var g *call.Group
	err := s.do(ctx, func(u *unit) error {
		g = call.NewMeeting(tenantID, subject, organizer, u.now)
		if !passcodeRequired {
			g.Meeting.Passcode = ""
		}
		var joining []call.Member
		for _, p := range people {
			joining = append(joining, call.Member{Identity: p})
		}
		if len(joining) > 0 {
			if _, err := g.Join(joining...); err != nil {
				return err
			}
		}
		u.touchGroup(g)
		return nil
	})
	return g, err
}

// Group returns a group call or meeting.
func (s *Service) Group(ctx context.Context, id string) (*call.Group, error) {
	g, err := s.store.GetGroup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSuchGroup
	}
	return g, err
}

// AddPerson brings a simulated person into a group call.
func (s *Service) AddPerson(ctx context.Context, groupID string, person call.Identity) (call.Member, error) {
	if err := person.Check("person"); err != nil {
		return call.Member{}, err
	}
	var joined call.Member
	err := s.do(ctx, func(u *unit) error {
		g, err := u.group(groupID)
		if err != nil {
			return err
		}
		change, err := g.Join(call.Member{Identity: person})
		if err != nil {
			return err
		}
		joined = change.Updated[0]
		return u.rosterChanged(g, change)
	})
	return joined, err
}

// RemoveFromGroup takes a participant out of a group call, as another
// participant would: a person leaves; an application's leg ends with
// "removed by another participant".
func (s *Service) RemoveFromGroup(ctx context.Context, groupID, participantID string) error {
	return s.do(ctx, func(u *unit) error {
		g, err := u.group(groupID)
		if err != nil {
			return err
		}
		return u.leave(g, participantID, call.RemovedByParticipant)
	})
}

// MuteInGroup mutes or unmutes a participant of a group call.
func (s *Service) MuteInGroup(ctx context.Context, groupID, participantID string, muted bool) error {
	return s.do(ctx, func(u *unit) error {
		g, err := u.group(groupID)
		if err != nil {
			return err
		}
		change, err := g.SetMuted(participantID, muted)
		if err != nil {
			return err
		}
		return u.rosterChanged(g, change)
	})
}

// EndGroup ends a meeting or group call for everyone: each leg still in it
// terminates with "the conversation has ended".
func (s *Service) EndGroup(ctx context.Context, groupID string) error {
	return s.do(ctx, func(u *unit) error {
		g, err := u.group(groupID)
		if err != nil {
			return err
		}
		if g.Ended {
			return call.ErrGroupEnded
		}
		return u.end(g, call.ConversationEnded)
	})
}

// ShareInGroup has a person in a group call start presenting their screen
// (sharing true) or stop; it returns the session started, changed or
// ended.
func (s *Service) ShareInGroup(ctx context.Context, groupID, participantID string, sharing bool) (call.ContentSession, error) {
	var session call.ContentSession
	err := s.do(ctx, func(u *unit) error {
		g, err := u.group(groupID)
		if err != nil {
			return err
		}
		var change call.RosterChange
		if sharing {
			change, err = g.StartSharing(participantID, u.now)
		} else {
			change, err = g.StopSharing(participantID)
		}
		if err != nil {
			return err
		}
		session = change.Content.Session
		return u.rosterChanged(g, change)
	})
	return session, err
}

// ContentSharingSessions lists the content sharing sessions of the owner's
// call: the presentation under way in its group call, or the one its
// remote person gives.
func (s *Service) ContentSharingSessions(ctx context.Context, owner call.Owner, callID string) ([]call.ContentSession, error) {
	var sessions []call.ContentSession
	err := s.do(ctx, func(u *unit) error {
		var err error
		sessions, err = u.contentSessions(owner, callID)
		return err
	})
	return sessions, err
}

// ContentSharingSession returns one content sharing session of the owner's
// call.
func (s *Service) ContentSharingSession(ctx context.Context, owner call.Owner, callID, sessionID string) (call.ContentSession, error) {
	sessions, err := s.ContentSharingSessions(ctx, owner, callID)
	if err != nil {
		return call.ContentSession{}, err
	}
	return call.FindContentSession(sessions, sessionID)
}

// contentSessions are the presentations the owner's call sees: its group
// call's, or its remote person's.
func (u *unit) contentSessions(owner call.Owner, callID string) ([]call.ContentSession, error) {
	c, err := u.ownCall(owner, callID)
	if err != nil {
		return nil, err
	}
	if !c.IsGroup() {
		return c.ContentSessions(), nil
	}
	_, g, err := u.groupLeg(owner, callID)
	if err != nil {
		return nil, err
	}
	return g.ContentSessions(), nil
}

// ShareInCall has the remote person of a peer-to-peer call start
// presenting their screen to the bot (sharing true) or stop; the bot hears
// of it if its call asked to. It returns the session started, changed or
// ended.
func (s *Service) ShareInCall(ctx context.Context, callID string, sharing bool) (call.ContentSession, error) {
	var session call.ContentSession
	err := s.do(ctx, func(u *unit) error {
		c, err := u.call(callID)
		if err != nil {
			return err
		}
		if c.Remote == nil {
			return ErrNoRemote
		}
		var change call.ContentChange
		if sharing {
			change, err = c.StartSharing(u.now)
		} else {
			change, err = c.StopSharing(u.now)
		}
		if err != nil {
			return err
		}
		session = change.Session
		u.touchCall(c)
		if !c.Options.ContentSharingNotifications {
			return nil
		}
		return u.notify(c, graph.ContentSharingNotification(c.ID, change))
	})
	return session, err
}
