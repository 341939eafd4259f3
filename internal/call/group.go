package call

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/ids"
)

// Group is a group call: a meeting, or an ad-hoc group call a bot placed to
// several people. It exists apart from the call resources of the
// applications in it (each application has its own call: its leg), and it
// holds the roster: every participant, human or application.
type Group struct {
	ID       string `json:",omitzero"`
	TenantID string `json:",omitzero"`
	// ChainID is shared by every leg of the group call.
	ChainID string `json:",omitzero"`
	// Meeting is set for a meeting, nil for an ad-hoc group call.
	Meeting *Meeting `json:",omitzero"`
	Members []Member `json:",omitzero"`
	// Content is the presentation under way: a person sharing their
	// screen.
	Content *ContentSession `json:",omitzero"`
	// RosterSeq numbers the roster's changes; each member carries the number
	// of the change that last touched it.
	RosterSeq int64 `json:",omitzero"`
	// Ended is set once the group call is over for good: the simulator ended
	// the meeting, or an ad-hoc group call lost its last participant.
	Ended     bool      `json:",omitzero"`
	EndedAt   time.Time `json:",omitzero"`
	CreatedAt time.Time `json:",omitzero"`
	Version   int64     `json:"-"` // kept by stores beside the encoded group
}

// Meeting is a simulated online meeting: how bots find and join it.
type Meeting struct {
	Subject   string   `json:",omitzero"`
	ThreadID  string   `json:",omitzero"`
	MessageID string   `json:",omitzero"`
	Organizer Identity `json:",omitzero"`
	// JoinMeetingID and Passcode join it by meeting id.
	JoinMeetingID string `json:",omitzero"`
	Passcode      string `json:",omitzero"`
	// Token joins it by token.
	Token string `json:",omitzero"`
}

// Member is one participant of a group call.
type Member struct {
	ParticipantID string   `json:",omitzero"`
	Identity      Identity `json:",omitzero"`
	// LegID is the call resource of an application in the group; empty for
	// a simulated human and for a large gallery view.
	LegID string `json:",omitzero"`
	Muted bool   `json:",omitzero"`
	// Sharing says the member shares its screen (an application through
	// changeScreenSharingRole, a person through the simulator): its
	// roster entry carries a screen-sharing video stream it sends.
	Sharing bool `json:",omitzero"`
	// Recording is what the member's application says of its recording
	// (recording, notRecording, failed); OnHold says hold music plays to
	// the member.
	Recording string `json:",omitzero"`
	OnHold    bool   `json:",omitzero"`
	// GalleryOf is set on the participant that is a leg's large gallery
	// view (addLargeGalleryView): the leg's call id.
	GalleryOf string `json:",omitzero"`
	// Seq is the roster change that last touched the member.
	Seq int64 `json:",omitzero"`
}

// Human reports whether the member is a simulated person rather than an
// application's leg or a large gallery view.
func (m Member) Human() bool { return m.LegID == "" && m.GalleryOf == "" }

// RosterChange is one change to a roster: who joined or changed, who left.
type RosterChange struct {
	Seq     int64
	Updated []Member
	Removed []Member
	// Joined are the participants this change brought in.
	Joined []string
	// Content is what the change did to the group call's content sharing,
	// if anything.
	Content *ContentChange
}

// HasJoined reports whether the participant joined with this change.
func (c RosterChange) HasJoined(participantID string) bool {
	return slices.Contains(c.Joined, participantID)
}

// Empty reports whether the change changed nothing.
func (c RosterChange) Empty() bool { return len(c.Updated) == 0 && len(c.Removed) == 0 }

// Errors of group operations.
var (
	ErrGroupEnded      = errors.New("the group call has ended")
	ErrNoSuchMember    = errors.New("no such participant")
	ErrNotGroupCall    = errors.New("this operation is only supported for group calls")
	ErrTooManyInvitees = errors.New("at most 5 participants can be invited at once")
	ErrGroupFull       = fmt.Errorf("the group call is full: it has %d participants, the most a Teams meeting admits", MaxGroupSize)
)

// MaxGroupSize bounds a group call's roster: Teams admits 1,000
// interactive participants to a meeting.
const MaxGroupSize = 1000

// MaxFullRoster is the largest roster sent whole in a notification. The
// real service is reported to send at most 100 participants in a roster
// notification; above that callplane sends every leg only what changed, as
// to legs that asked for delta rosters, and the whole roster stays
// available with GET …/participants.
const MaxFullRoster = 100

// MaxGroupTargets is how many people an ad-hoc group call or an invitation
// may name at once, as Graph documents.
const MaxGroupTargets = 5

// NewMeeting returns a meeting of the tenant with fresh join information:
// a Teams-shaped thread id, a ten-digit join meeting id, a passcode and a
// join token.
func NewMeeting(tenantID, subject string, organizer Identity, now time.Time) *Group {
	if organizer.ID == "" {
		organizer = Identity{Kind: User, ID: ids.New(), DisplayName: "Meeting Organizer"}
	}
	organizer.Kind = User
	organizer.TenantID = tenantID
	return &Group{
		ID:       ids.New(),
		TenantID: tenantID,
		ChainID:  ids.New(),
		Meeting: &Meeting{
			Subject:       subject,
			ThreadID:      "19:meeting_" + strings.ReplaceAll(ids.New(), "-", "") + "@thread.v2",
			MessageID:     "0",
			Organizer:     organizer,
			JoinMeetingID: fmt.Sprintf("%d%09d", 1+rand.IntN(9), rand.IntN(1_000_000_000)),
			Passcode:      ids.Secret(3),
			Token:         ids.Secret(24),
		},
		CreatedAt: now,
	}
}

// NewAdHoc returns an ad-hoc group call of the tenant, with nobody in it yet.
func NewAdHoc(tenantID string, now time.Time) *Group {
	return &Group{ID: ids.New(), TenantID: tenantID, ChainID: ids.New(), CreatedAt: now}
}

// Member returns the participant with the id.
func (g *Group) Member(participantID string) (Member, bool) {
	i := slices.IndexFunc(g.Members, func(m Member) bool { return strings.EqualFold(m.ParticipantID, participantID) })
	if i < 0 {
		return Member{}, false
	}
	return g.Members[i], true
}

// LegMember returns the participant that is the leg with the call id.
func (g *Group) LegMember(legID string) (Member, bool) {
	i := slices.IndexFunc(g.Members, func(m Member) bool { return m.LegID == legID })
	if i < 0 {
		return Member{}, false
	}
	return g.Members[i], true
}

// Legs lists the members that are applications' legs.
func (g *Group) Legs() []Member {
	var out []Member
	for _, m := range g.Members {
		if m.LegID != "" {
			out = append(out, m)
		}
	}
	return out
}

// Humans counts the simulated people in the group call.
func (g *Group) Humans() int {
	n := 0
	for _, m := range g.Members {
		if m.Human() {
			n++
		}
	}
	return n
}

// Join adds members to the roster.
func (g *Group) Join(members ...Member) (RosterChange, error) {
	if g.Ended {
		return RosterChange{}, ErrGroupEnded
	}
	fresh := 0
	for _, m := range members {
		if _, ok := g.Member(m.ParticipantID); m.ParticipantID == "" || !ok {
			fresh++
		}
	}
	if len(g.Members)+fresh > MaxGroupSize {
		return RosterChange{}, ErrGroupFull
	}
	g.RosterSeq++
	change := RosterChange{Seq: g.RosterSeq}
	for _, m := range members {
		if m.ParticipantID == "" {
			m.ParticipantID = ids.New()
		}
		if _, ok := g.Member(m.ParticipantID); ok {
			continue
		}
		m.Seq = g.RosterSeq
		g.Members = append(g.Members, m)
		change.Updated = append(change.Updated, m)
		change.Joined = append(change.Joined, m.ParticipantID)
	}
	return change, nil
}

// Leave removes a participant from the roster, and a leg's large gallery
// view with the leg. An ad-hoc group call that loses its last participant
// ends.
func (g *Group) Leave(participantID string, now time.Time) (RosterChange, error) {
	m, ok := g.Member(participantID)
	if !ok {
		return RosterChange{}, ErrNoSuchMember
	}
	g.RosterSeq++
	change := RosterChange{Seq: g.RosterSeq}
	g.Members = slices.DeleteFunc(g.Members, func(x Member) bool {
		gone := x.ParticipantID == m.ParticipantID || m.LegID != "" && x.GalleryOf == m.LegID
		if gone {
			x.Seq = g.RosterSeq
			change.Removed = append(change.Removed, x)
		}
		return gone
	})
	if len(g.Members) == 0 && g.Meeting == nil {
		g.Ended, g.EndedAt = true, now
	}
	g.endPresentationOf(m.ParticipantID, &change)
	return change, nil
}

// SetMuted server-mutes or unmutes a participant. Muting a muted participant
// changes nothing; a large gallery view sends no audio to mute.
func (g *Group) SetMuted(participantID string, muted bool) (RosterChange, error) {
	i := slices.IndexFunc(g.Members, func(m Member) bool { return strings.EqualFold(m.ParticipantID, participantID) })
	if i < 0 {
		return RosterChange{}, ErrNoSuchMember
	}
	if g.Members[i].GalleryOf != "" {
		return RosterChange{}, invalid("the large gallery view sends no audio to mute")
	}
	if g.Members[i].Muted == muted {
		return RosterChange{}, nil
	}
	g.RosterSeq++
	g.Members[i].Muted = muted
	g.Members[i].Seq = g.RosterSeq
	return RosterChange{Seq: g.RosterSeq, Updated: []Member{g.Members[i]}}, nil
}

// SetRecording records a member's recording status; every leg hears of it
// as a roster change.
func (g *Group) SetRecording(participantID, status string) (RosterChange, error) {
	return g.change(participantID, func(m *Member) bool {
		if m.Recording == status {
			return false
		}
		m.Recording = status
		return true
	})
}

// ErrAnotherOnHold is hold music for a second participant: Graph places
// one participant on hold at a time.
var ErrAnotherOnHold = errors.New("only one participant can be placed on hold at a time")

// ErrNotOnHold is stopping hold music for someone not on hold.
var ErrNotOnHold = errors.New("the participant is not on hold")

// SetOnHold puts a person on hold (hold music) or takes them off it.
func (g *Group) SetOnHold(participantID string, on bool) (RosterChange, error) {
	m, ok := g.Member(participantID)
	switch {
	case !ok:
		return RosterChange{}, ErrNoSuchMember
	case !m.Human():
		return RosterChange{}, invalid("hold music is for people in the call, not for applications")
	case on && m.OnHold:
		return RosterChange{}, nil
	case !on && !m.OnHold:
		return RosterChange{}, ErrNotOnHold
	}
	if on {
		for _, other := range g.Members {
			if other.OnHold {
				return RosterChange{}, ErrAnotherOnHold
			}
		}
	}
	return g.change(participantID, func(m *Member) bool { m.OnHold = on; return true })
}

// SetScreenSharing makes an application's leg a sharer of its screen, or
// a viewer again.
func (g *Group) SetScreenSharing(participantID string, sharer bool) (RosterChange, error) {
	m, ok := g.Member(participantID)
	switch {
	case !ok:
		return RosterChange{}, ErrNoSuchMember
	case m.Human():
		return RosterChange{}, invalid("the screen-sharing role is an application's, not a person's")
	}
	return g.change(participantID, func(m *Member) bool {
		if m.Sharing == sharer {
			return false
		}
		m.Sharing = sharer
		return true
	})
}

// change applies fn to a member; a change it reports is a roster change.
func (g *Group) change(participantID string, fn func(*Member) bool) (RosterChange, error) {
	i := slices.IndexFunc(g.Members, func(m Member) bool { return strings.EqualFold(m.ParticipantID, participantID) })
	if i < 0 {
		return RosterChange{}, ErrNoSuchMember
	}
	if !fn(&g.Members[i]) {
		return RosterChange{}, nil
	}
	g.RosterSeq++
	g.Members[i].Seq = g.RosterSeq
	return RosterChange{Seq: g.RosterSeq, Updated: []Member{g.Members[i]}}, nil
}

// End ends the group call for good and empties the roster. It returns the
// members that were applications' legs: their calls end too.
func (g *Group) End(now time.Time) []Member {
	legs := g.Legs()
	g.Members, g.Content = nil, nil
	g.RosterSeq++
	g.Ended, g.EndedAt = true, now
	return legs
}

// MeetingKey finds a meeting: by its chat thread, its join meeting id, or
// its join token. Exactly one is set.
type MeetingKey struct {
	ThreadID      string
	JoinMeetingID string
	Token         string
}

// Clone returns a deep copy of the group call.
func (g *Group) Clone() *Group {
	d := *g
	d.Meeting = clonePtr(g.Meeting)
	d.Content = clonePtr(g.Content)
	d.Members = slices.Clone(g.Members)
	return &d
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
