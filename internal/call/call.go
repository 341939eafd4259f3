// Package call is the call domain: what a call is, which states it moves
// through and what each move announces. It knows nothing of HTTP or SQL:
// callers hand it the time and persist what it returns, so every rule here can
// be tested with plain values.
//
// Stores keep these types as JSON; every field is tagged omitzero so that
// the many zero fields of a typical call (no group, no result yet, no
// operations) are not written, which halves a stored call.
package call

import (
	"errors"
	"fmt"
	"time"

	"github.com/callplane/callplane/internal/ids"
)

// State is a call's lifecycle state. The values are the members of Graph's
// callState enumeration, so they go on the wire unchanged.
type State string

const (
	Incoming         State = "incoming"
	Establishing     State = "establishing"
	Established      State = "established"
	Hold             State = "hold"
	Transferring     State = "transferring"
	TransferAccepted State = "transferAccepted"
	Redirecting      State = "redirecting"
	Terminating      State = "terminating"
	Terminated       State = "terminated"
)

// Live reports whether a call in state s can still be hung up: every state
// before terminating.
func (s State) Live() bool { return s != Terminating && s != Terminated }

// Direction says who placed the call, as Graph's callDirection.
type Direction string

const (
	Outgoing Direction = "outgoing"
	Inbound  Direction = "incoming"
)

// ChangeType is what a notification says happened to a resource; the values
// are Graph's changeType members.
type ChangeType string

const (
	Created ChangeType = "created"
	Updated ChangeType = "updated"
	Deleted ChangeType = "deleted"
)

// Event is one transition a bot must hear about: the call's state right after
// it, and the result when the call has ended; or, when Operation is set, an
// operation of the call that finished.
type Event struct {
	Change    ChangeType
	State     State
	Result    *Result
	Operation *Operation
	// Shape says how much of the call the notification carries.
	Shape Shape
	// TerminationReason ends a consultative transfer (Graph sends it
	// instead of a resultInfo).
	TerminationReason string
	// ReplacesContext marks a failed consultative transfer.
	ReplacesContext bool
	// Tone is a key the remote person pressed.
	Tone *ToneEvent
	// Transferred is set on the end of a call that was transferred: what
	// else the transfer settles.
	Transferred *Transfer
}

// Shape is how much of the call a notification carries, as Graph shapes
// each kind.
type Shape int

const (
	// StateOnly: the call's id, state and, once it ended, its result.
	StateOnly Shape = iota
	// FullCall: the whole call (an incoming call, a redirected one).
	FullCall
	// Bare: only the call's type and @odata.id (a rejected call).
	Bare
)

// Kind is what sort of call a call resource is.
type Kind string

const (
	PeerToPeer Kind = "peerToPeer"
	// AdHocGroup is a bot's leg of a group call it placed to several people.
	AdHocGroup Kind = "adHocGroup"
	// MeetingLeg is a bot's leg of a meeting it joined.
	MeetingLeg Kind = "meeting"
)

// Owner is the application, in its tenant, that a call belongs to. A call is
// invisible to every other owner.
type Owner struct {
	TenantID string `json:",omitzero"`
	AppID    string `json:",omitzero"`
}

// ErrNotFound means the call does not exist for the asking owner: never
// created, owned by someone else, or already terminated.
var ErrNotFound = errors.New("call not found")

// InvalidError is a request the domain refuses on its merits (a bad target, a
// missing callback URI); it maps to a 400 at the edge.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// Timing holds the simulated network's delays and the service's timeouts.
type Timing struct {
	// AnswerDelay is how long a simulated callee takes to pick up.
	AnswerDelay time.Duration
	// TeardownDelay is how long a call stays terminating before it is
	// terminated. Zero ends it in the same step as the hang-up.
	TeardownDelay time.Duration
	// KeepAliveTimeout ends a call that has not been kept alive for this long
	// (Graph: 45 minutes). Zero disables it.
	KeepAliveTimeout time.Duration
	// IncomingTimeout is how long an incoming call rings the application
	// before it is ended unanswered (Graph: 15 seconds).
	IncomingTimeout time.Duration
	// RingTimeout is how long a call rings a simulated person who does not
	// answer.
	RingTimeout time.Duration
}

// DefaultTiming is what a user of the real service would see, shortened where
// waiting would only slow a bot's tests down.
var DefaultTiming = Timing{
	AnswerDelay:      500 * time.Millisecond,
	TeardownDelay:    0,
	KeepAliveTimeout: 45 * time.Minute,
	IncomingTimeout:  15 * time.Second,
	RingTimeout:      60 * time.Second,
}

// Call is one application's call resource: a peer-to-peer call, or the
// application's own leg of a group call.
type Call struct {
	ID              string    `json:",omitzero"`
	Owner           Owner     `json:",omitzero"`
	CallbackURI     string    `json:",omitzero"`
	ChainID         string    `json:",omitzero"`
	MyParticipantID string    `json:",omitzero"`
	ScenarioID      string    `json:",omitzero"`
	Direction       Direction `json:",omitzero"`
	Kind            Kind      `json:",omitzero"`
	State           State     `json:",omitzero"`
	// Result is set once the call has terminated: why it ended.
	Result *Result `json:",omitzero"`
	// GroupID is the group call a group leg belongs to.
	GroupID string `json:",omitzero"`
	// Join is how a meeting leg asked to join.
	Join *JoinInfo `json:",omitzero"`
	// JoinError, when set, is why joining will fail when the join is
	// answered: the meeting does not exist, say.
	JoinError *Result `json:",omitzero"`
	// Operations are the call's running operations and its latest finished
	// ones, oldest first.
	Operations []Operation `json:",omitzero"`
	// AudioRoutingGroups route the audio of a group call's participants,
	// for a bot that hosts its own media.
	AudioRoutingGroups []AudioRoutingGroup `json:",omitzero"`
	// Remote is the simulated party at the other end of a peer-to-peer
	// call, and how the call turned out for it.
	Remote *Remote `json:",omitzero"`
	// Context is how an incoming call reached the application.
	Context *IncomingContext `json:",omitzero"`
	// PendingTransfer is the transfer under way, if any.
	PendingTransfer *Transfer `json:",omitzero"`
	// MediaQueue is the prompts and recordings to play, by operation id,
	// the one playing first.
	MediaQueue []string `json:",omitzero"`
	// ToneSubscribed says key presses are announced; ToneSeq numbers them.
	ToneSubscribed bool `json:",omitzero"`
	ToneSeq        int  `json:",omitzero"`
	// VoicedRecordings counts the recordings that captured uploaded audio.
	VoicedRecordings int `json:",omitzero"`
	// RemoteActions is what the people at the other end did, the last
	// MaxRemoteActions of it: for the call's timeline.
	RemoteActions []RemoteAction `json:",omitzero"`
	// RecordingStatus is what the application last said of its recording.
	RecordingStatus string `json:",omitzero"`

	Source     Participant   `json:",omitzero"`
	Targets    []Participant `json:",omitzero"`
	Modalities []Modality    `json:",omitzero"`
	Media      Media         `json:",omitzero"`
	Subject    string        `json:",omitzero"`
	Options    Options       `json:",omitzero"`

	CreatedAt time.Time `json:",omitzero"`
	// AnswerBy is when an incoming call stops ringing the application.
	AnswerBy time.Time `json:",omitzero"`
	// AnswerAt is when the simulated callee answers (or refuses) an
	// establishing call.
	AnswerAt time.Time `json:",omitzero"`
	// TeardownAt is when a terminating call becomes terminated.
	TeardownAt time.Time `json:",omitzero"`
	// EndResult is the reason recorded at hang-up, published on termination.
	EndResult *Result `json:",omitzero"`
	// RingEnds, when set, is the result an incoming call ends with when
	// AnswerBy passes (by default the answer window's AnswerTimedOut): a
	// redirect's target that another target beat to it.
	RingEnds *Result `json:",omitzero"`
	// RedirectedFrom is the call whose redirect made this incoming call;
	// Redirects are the calls a redirect of this one made.
	RedirectedFrom string   `json:",omitzero"`
	Redirects      []string `json:",omitzero"`
	// KeepAliveDeadline is when an idle call is ended by the service.
	KeepAliveDeadline time.Time `json:",omitzero"`
	EndedAt           time.Time `json:",omitzero"`

	// Version counts the call's saved changes, for optimistic concurrency:
	// a store refuses to save over a version it no longer holds. Stores keep
	// it beside the encoded call, not in it.
	Version int64 `json:"-"`
}

// Request is what an application asks for when it places a call.
type Request struct {
	Owner       Owner
	CallbackURI string
	// Source is the caller as the application describes itself; empty means
	// the application's own identity.
	Source     Participant
	Targets    []Participant
	Modalities []Modality
	Media      Media
	Subject    string
	Options    Options
	ScenarioID string
	// Join, when set, joins an existing meeting instead of calling targets.
	Join *JoinInfo
	// Callee is how the party a peer-to-peer call rings answers; zero is
	// picking up after the answer delay. CalleeScript is what they do once
	// they answered.
	Callee       Answering
	CalleeScript []ScriptStep
}

// Place validates a request to call a peer and returns the new call in state
// establishing, with the notification that announces it.
func Place(req Request, now time.Time, t Timing) (*Call, []Event, error) {
	if err := CheckCallbackURL("callbackUri", req.CallbackURI); err != nil {
		return nil, nil, err
	}
	if err := req.checkSizes(); err != nil {
		return nil, nil, err
	}
	if req.Media.Hosting == "" {
		return nil, nil, invalid("mediaConfig is required: a serviceHostedMediaConfig or an appHostedMediaConfig")
	}
	kind, err := req.kind()
	if err != nil {
		return nil, nil, err
	}
	for _, m := range req.Modalities {
		if !m.Valid() {
			return nil, nil, invalid("requestedModalities: unknown modality %q", string(m))
		}
	}
	source := req.Source
	if source.Identity.Kind == "" {
		source.Identity = Identity{Kind: Application, ID: req.Owner.AppID}
	}
	c := &Call{
		ID:              ids.New(),
		Owner:           req.Owner,
		CallbackURI:     req.CallbackURI,
		ChainID:         ids.New(),
		MyParticipantID: ids.New(),
		ScenarioID:      req.ScenarioID,
		Direction:       Outgoing,
		Kind:            kind,
		State:           Establishing,
		Join:            req.Join,
		Source:          source,
		Targets:         req.Targets,
		Modalities:      req.Modalities,
		Media:           req.Media,
		Subject:         req.Subject,
		Options:         req.Options,
		CreatedAt:       now,
		AnswerAt:        now.Add(t.AnswerDelay),
	}
	if kind == PeerToPeer {
		c.AnswerAt, _ = req.Callee.Ring(now, t)
		c.Remote = &Remote{Answering: req.Callee, Outcome: Ringing, Script: req.CalleeScript}
	}
	c.Source.ParticipantID = c.MyParticipantID
	if t.KeepAliveTimeout > 0 {
		c.KeepAliveDeadline = now.Add(t.KeepAliveTimeout)
	}
	if c.ScenarioID == "" {
		c.ScenarioID = ids.New()
	}
	return c, []Event{{Change: Updated, State: Establishing}}, nil
}

// kind says what sort of call the request places, and checks its targets or
// its join information: one target for a peer-to-peer call, several (users
// only, at most five) for an ad-hoc group call, none to join a meeting.
func (req Request) kind() (Kind, error) {
	if req.Join != nil {
		if len(req.Targets) > 0 {
			return "", invalid("a call that joins a meeting has no targets: the meeting is named by chatInfo and meetingInfo")
		}
		return MeetingLeg, req.Join.validate()
	}
	switch n := len(req.Targets); {
	case n == 0:
		return "", invalid("targets is required to place a call (or chatInfo and meetingInfo to join a meeting)")
	case n > MaxGroupTargets:
		return "", invalid("a group call can be placed to at most %d participants, not %d", MaxGroupTargets, n)
	}
	for i, t := range req.Targets {
		if t.Identity.ID == "" {
			return "", invalid("targets[%d].identity.%s.id is required", i, t.Identity.Kind)
		}
	}
	if len(req.Targets) > 1 {
		for i, t := range req.Targets {
			if t.Identity.Kind != User {
				return "", invalid("targets[%d]: an ad-hoc group call is placed to users (identity.user)", i)
			}
		}
		return AdHocGroup, nil
	}
	switch req.Targets[0].Identity.Kind {
	case User:
	case Phone:
		if req.Source.Identity.Kind != ApplicationInstance {
			return "", invalid("a call to a phone number needs source.identity.applicationInstance: the application instance that owns the calling number")
		}
	default:
		return "", invalid("unsupported target: a peer-to-peer call targets identity.user or identity.phone")
	}
	return PeerToPeer, nil
}

// VisibleTo reports whether owner may see the call through the API: its own,
// and not yet terminated.
func (c *Call) VisibleTo(o Owner) bool {
	return c.Owner == o && c.State != Terminated
}

// HangUp starts ending the call with the given reason. Hanging up a call that
// is already terminating changes nothing and announces nothing: the first
// hang-up wins. A terminated call cannot be hung up.
func (c *Call) HangUp(now time.Time, reason Result, t Timing) ([]Event, error) {
	switch c.State {
	case Terminated:
		return nil, ErrNotFound
	case Terminating:
		return nil, nil
	}
	if reason == EndedByApplication {
		c.setOutcome(BotHungUp, "", nil)
	}
	c.State = Terminating
	c.AnswerAt, c.AnswerBy = time.Time{}, time.Time{}
	c.KeepAliveDeadline = time.Time{}
	c.PendingTransfer = nil
	c.dropMedia()
	if c.Remote != nil {
		c.Remote.ScriptDueAt = time.Time{}
	}
	c.TeardownAt = now.Add(t.TeardownDelay)
	r := reason
	c.EndResult = &r
	return []Event{{Change: Updated, State: Terminating}}, nil
}

// KeepAlive records that the application still wants the call, pushing back
// the deadline after which the service would end it.
func (c *Call) KeepAlive(now time.Time, t Timing) error {
	if c.State == Terminated {
		return ErrNotFound
	}
	if c.State.Live() && t.KeepAliveTimeout > 0 {
		c.KeepAliveDeadline = now.Add(t.KeepAliveTimeout)
	}
	return nil
}

// Advance applies every transition that is due at now: the callee answering,
// the keep-alive deadline passing, teardown completing. It returns the events
// in the order they happened; none if nothing was due.
func (c *Call) Advance(now time.Time, t Timing) []Event {
	events, _ := c.AdvanceChanged(now, t)
	return events
}

// AdvanceChanged is Advance, also reporting whether anything changed: some
// transitions change the call without announcing anything (a recording
// hears speech, a script step is taken), and must be saved all the same.
func (c *Call) AdvanceChanged(now time.Time, t Timing) (events []Event, changed bool) {
	for steps := 0; ; steps++ {
		changed = steps > 0
		switch {
		case c.State == Incoming && due(c.AnswerBy, now) && c.RingEnds != nil:
			c.end(now, c.RingEnds)
			c.setOutcome(CallerHungUp, "", nil)
			events = append(events, Event{Change: Deleted, State: Terminated, Result: c.Result})
		case c.State == Incoming && due(c.AnswerBy, now):
			c.end(now, &AnswerTimedOut)
			c.setOutcome(Unanswered, "", nil)
			events = append(events, Event{Change: Deleted, State: Terminated, Result: c.Result})
		case c.State == Establishing && due(c.AnswerAt, now) && c.JoinError != nil:
			ev, _ := c.HangUp(now, *c.JoinError, t)
			events = append(events, ev...)
		case c.State == Establishing && due(c.AnswerAt, now) && c.Direction == Outgoing && c.Remote != nil && !c.Remote.Answering.answers():
			refusal := c.Remote.Answering.refusal()
			c.setOutcome(CalleeRefused, string(c.Remote.Answering.Mode), nil)
			ev, _ := c.HangUp(now, refusal, t)
			events = append(events, ev...)
		case c.State == Establishing && due(c.AnswerAt, now):
			c.State = Established
			c.AnswerAt = time.Time{}
			if c.Direction == Outgoing {
				c.setOutcome(Answered, "", nil)
				events = append(events, c.scriptEvent(now, OnAnswered)...)
			}
			events = append(events, Event{Change: Updated, State: Established})
		case c.State == Established && due(c.mediaDeadline(), now):
			events = append(events, c.advanceMedia(now, t)...)
		case c.State == Established && c.Remote != nil && due(c.Remote.ScriptDueAt, now):
			events = append(events, c.runScript(now, t)...)
		case c.State == Transferring && due(c.PendingTransfer.DecidedAt, now):
			events = append(events, c.advanceTransfer(now, t)...)
		case c.State == Established && c.operationDue(now) >= 0:
			op := c.completeOperation(c.operationDue(now))
			events = append(events, Event{Change: Deleted, State: c.State, Operation: &op})
		case c.State.Live() && due(c.KeepAliveDeadline, now):
			ev, _ := c.HangUp(now, KeepAliveExpired, t)
			events = append(events, ev...)
		case c.State == Terminating && due(c.TeardownAt, now):
			c.State = Terminated
			c.TeardownAt = time.Time{}
			c.EndedAt = now
			c.Result = c.EndResult
			c.endPresentation()
			events = append(events, Event{Change: Deleted, State: Terminated, Result: c.Result})
		default:
			return events, changed
		}
	}
}

func due(at, now time.Time) bool { return !at.IsZero() && !now.Before(at) }

// NextDeadline is the earliest time Advance has something to do; zero when
// nothing is pending.
func (c *Call) NextDeadline() time.Time {
	var next time.Time
	consider := func(at time.Time) {
		if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	switch {
	case c.State == Terminating:
		consider(c.TeardownAt)
	case c.State.Live():
		switch c.State {
		case Establishing:
			consider(c.AnswerAt)
		case Incoming:
			consider(c.AnswerBy)
		case Transferring:
			consider(c.PendingTransfer.DecidedAt)
		case Established:
			consider(c.mediaDeadline())
			if c.Remote != nil {
				consider(c.Remote.ScriptDueAt)
			}
		}
		consider(c.KeepAliveDeadline)
		if c.State == Established {
			for _, op := range c.Operations {
				if op.Status == Running {
					consider(op.DueAt)
				}
			}
		}
	}
	return next
}

// IsGroup reports whether the call is a leg of a group call.
func (c *Call) IsGroup() bool { return c.Kind == AdHocGroup || c.Kind == MeetingLeg }

// FailJoin makes the join fail with reason when it would be answered: what
// a bot sees when it joins a meeting that does not exist.
func (c *Call) FailJoin(reason Result) { c.JoinError = &reason }
