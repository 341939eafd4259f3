package call

import (
	"errors"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/ids"
)

// ContentSession is a content sharing session of a group call: a person
// presenting their screen. Teams shows one presentation at a time, so a
// group call has at most one session; a second presenter takes it over.
type ContentSession struct {
	ID string `json:",omitzero"`
	// Presenter is the participant sharing their screen.
	Presenter string    `json:",omitzero"`
	StartedAt time.Time `json:",omitzero"`
}

// ContentChange is what happened to a group call's content sharing: a
// session started (Created), changed presenter (Updated) or ended
// (Deleted). Bots whose calls asked for content sharing notifications
// hear of each.
type ContentChange struct {
	Change  ChangeType
	Session ContentSession
}

// ErrNotSharing is stopping a presentation that the participant is not
// giving.
var ErrNotSharing = errors.New("the participant is not sharing their screen")

// ErrNoSuchContentSession is a content sharing session the call does not
// have.
var ErrNoSuchContentSession = errors.New("no such content sharing session")

// ContentSessions lists the group call's content sharing sessions: the
// presentation under way, if any.
func (g *Group) ContentSessions() []ContentSession {
	if g.Content == nil {
		return []ContentSession{}
	}
	return []ContentSession{*g.Content}
}

// ContentSession returns the session with the id.
func (g *Group) ContentSession(id string) (ContentSession, error) {
	if g.Content == nil || !strings.EqualFold(g.Content.ID, id) {
		return ContentSession{}, ErrNoSuchContentSession
	}
	return *g.Content, nil
}

// StartSharing has a person present their screen: a new session, or the
// one under way taken over. Their roster entry shows the screen-sharing
// stream they send, and a presenter taken over stops sending it. Sharing
// again changes nothing. Applications share through
// changeScreenSharingRole instead.
func (g *Group) StartSharing(participantID string, now time.Time) (RosterChange, error) {
	m, err := g.presenter(participantID)
	if err != nil {
		return RosterChange{}, err
	}
	if g.Content != nil && g.Content.Presenter == m.ParticipantID {
		return RosterChange{}, nil
	}
	content := ContentChange{Change: Created, Session: ContentSession{ID: ids.New(), Presenter: m.ParticipantID, StartedAt: now}}
	var change RosterChange
	if previous := g.Content; previous != nil {
		content = ContentChange{Change: Updated, Session: ContentSession{ID: previous.ID, Presenter: m.ParticipantID, StartedAt: previous.StartedAt}}
		if change, err = g.change(previous.Presenter, func(m *Member) bool { m.Sharing = false; return true }); err != nil {
			return RosterChange{}, err
		}
	}
	shared, err := g.change(m.ParticipantID, func(m *Member) bool { m.Sharing = true; return true })
	if err != nil {
		return RosterChange{}, err
	}
	change = change.merge(shared)
	session := content.Session
	g.Content, change.Content = &session, &content
	return change, nil
}

// StopSharing ends the presentation the person is giving.
func (g *Group) StopSharing(participantID string) (RosterChange, error) {
	m, err := g.presenter(participantID)
	if err != nil {
		return RosterChange{}, err
	}
	if g.Content == nil || g.Content.Presenter != m.ParticipantID {
		return RosterChange{}, ErrNotSharing
	}
	change, err := g.change(m.ParticipantID, func(m *Member) bool { m.Sharing = false; return true })
	if err != nil {
		return RosterChange{}, err
	}
	change.Content = &ContentChange{Change: Deleted, Session: *g.Content}
	g.Content = nil
	return change, nil
}

// presenter returns the person who would share: a member of a group call
// under way, and not an application.
func (g *Group) presenter(participantID string) (Member, error) {
	if g.Ended {
		return Member{}, ErrGroupEnded
	}
	m, ok := g.Member(participantID)
	switch {
	case !ok:
		return Member{}, ErrNoSuchMember
	case !m.Human():
		return Member{}, invalid("an application shares its screen through changeScreenSharingRole")
	}
	return m, nil
}

// endPresentationOf ends the session the leaving participant presents, if
// any, as part of the roster change their leaving is.
func (g *Group) endPresentationOf(participantID string, change *RosterChange) {
	if g.Content != nil && g.Content.Presenter == participantID {
		change.Content = &ContentChange{Change: Deleted, Session: *g.Content}
		g.Content = nil
	}
}

// merge folds a later change into this one: one roster notification for
// both.
func (c RosterChange) merge(later RosterChange) RosterChange {
	if c.Empty() {
		return later
	}
	c.Seq = later.Seq
	c.Updated = append(c.Updated, later.Updated...)
	c.Removed = append(c.Removed, later.Removed...)
	c.Joined = append(c.Joined, later.Joined...)
	return c
}
