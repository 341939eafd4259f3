package call

import (
	"errors"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/ids"
)

// ContentSession is a content sharing session: a person presenting their
// screen, in a group call or to a bot in a peer-to-peer call. Teams shows
// one presentation at a time, so a call has at most one session; a second
// presenter takes it over, and a presenter who shares again (another
// window) changes it.
type ContentSession struct {
	ID string `json:",omitzero"`
	// Presenter is the participant sharing their screen.
	Presenter string    `json:",omitzero"`
	StartedAt time.Time `json:",omitzero"`
}

// ContentChange is what happened to a call's content sharing: a session
// started (Created), changed presenter or content (Updated) or ended
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

// FindContentSession returns the session with the id.
func FindContentSession(sessions []ContentSession, id string) (ContentSession, error) {
	for _, s := range sessions {
		if strings.EqualFold(s.ID, id) {
			return s, nil
		}
	}
	return ContentSession{}, ErrNoSuchContentSession
}

// present starts a presentation by presenter, or changes the one under
// way: taken over by another presenter, or the same presenter sharing
// something else.
func present(current *ContentSession, presenter string, now time.Time) ContentChange {
	if current == nil {
		return ContentChange{Change: Created, Session: ContentSession{ID: ids.New(), Presenter: presenter, StartedAt: now}}
	}
	return ContentChange{Change: Updated, Session: ContentSession{ID: current.ID, Presenter: presenter, StartedAt: current.StartedAt}}
}

// StartSharing has a person present their screen: a new session, or the
// one under way taken over or changed. Their roster entry shows the
// screen-sharing stream they send, and a presenter taken over stops
// sending it. Applications share through changeScreenSharingRole instead.
func (g *Group) StartSharing(participantID string, now time.Time) (RosterChange, error) {
	m, err := g.presenter(participantID)
	if err != nil {
		return RosterChange{}, err
	}
	content := present(g.Content, m.ParticipantID, now)
	var change RosterChange
	if previous := g.Content; previous != nil && previous.Presenter != m.ParticipantID {
		if change, err = g.change(previous.Presenter, func(m *Member) bool { m.Sharing = false; return true }); err != nil {
			return RosterChange{}, err
		}
	}
	shared, err := g.change(m.ParticipantID, func(m *Member) bool {
		changed := !m.Sharing
		m.Sharing = true
		return changed
	})
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
	case m.GalleryOf != "":
		return Member{}, invalid("the large gallery view does not present")
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

// StartSharing has the remote person of a peer-to-peer call present their
// screen to the bot: a new session, or the one under way changed.
func (c *Call) StartSharing(now time.Time) (ContentChange, error) {
	if err := c.remotePresenter(); err != nil {
		return ContentChange{}, err
	}
	change := present(c.Remote.Content, c.remoteParticipantID(), now)
	session := change.Session
	c.Remote.Content = &session
	c.remoteDid(RemoteAction{At: now, Did: Shared})
	return change, nil
}

// StopSharing ends the remote person's presentation.
func (c *Call) StopSharing(now time.Time) (ContentChange, error) {
	if err := c.remotePresenter(); err != nil {
		return ContentChange{}, err
	}
	if c.Remote.Content == nil {
		return ContentChange{}, ErrNotSharing
	}
	change := ContentChange{Change: Deleted, Session: *c.Remote.Content}
	c.Remote.Content = nil
	c.remoteDid(RemoteAction{At: now, Did: StoppedSharing})
	return change, nil
}

// ContentSessions lists the presentation the remote person gives, if any.
func (c *Call) ContentSessions() []ContentSession {
	if c.Remote == nil || c.Remote.Content == nil {
		return []ContentSession{}
	}
	return []ContentSession{*c.Remote.Content}
}

// endPresentation ends the remote person's presentation with the call.
func (c *Call) endPresentation() {
	if c.Remote != nil {
		c.Remote.Content = nil
	}
}

// remoteParticipantID is the remote party's participant id in the call,
// or, where the call gave it none, their identity's id.
func (c *Call) remoteParticipantID() string {
	p := c.Source
	if c.Direction != Inbound && len(c.Targets) > 0 {
		p = c.Targets[0]
	}
	if p.ParticipantID != "" {
		return p.ParticipantID
	}
	return c.RemoteIdentity().ID
}

func (c *Call) remotePresenter() error {
	switch {
	case c.Remote == nil:
		return invalid("the call has no simulated remote party: people present in its meeting")
	case c.State != Established:
		return invalid("a person presents on an established call")
	}
	return nil
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
