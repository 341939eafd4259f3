package call

import (
	"fmt"
	"time"

	"github.com/callplane/callplane/internal/ids"
)

// Incoming calls: a simulated party calls an application, which answers,
// rejects or redirects the call while it rings, and may transfer it once
// established.

// IncomingContext is what Graph's incomingContext says about how a call
// reached the application.
type IncomingContext struct {
	SourceParticipantID   string    `json:",omitzero"`
	ObservedParticipantID string    `json:",omitzero"`
	OnBehalfOf            *Identity `json:",omitzero"`
	Transferor            *Identity `json:",omitzero"`
}

// IncomingRequest is a call arriving for an application.
type IncomingRequest struct {
	// Owner is the application called, in its tenant.
	Owner Owner
	// CallbackURI is where its notifications go until an answer, reject or
	// redirect names another: the application's calling webhook.
	CallbackURI string
	// Caller is the party calling, and how it behaves.
	Caller Participant
	// Target is the application as it was called: its application or
	// application-instance identity.
	Target     Participant
	Modalities []Modality
	// Join, with GroupID, makes the call an invitation to a group call:
	// answering it joins the application's leg to the group.
	Join    *JoinInfo
	GroupID string
	ChainID string
	Context *IncomingContext
	// Script is what the caller does as the call goes on.
	Script []ScriptStep
}

// Receive returns a new incoming call, ringing the application until the
// answer window closes, with the created notification that announces it.
func Receive(req IncomingRequest, now time.Time, t Timing) (*Call, []Event, error) {
	if err := CheckCallbackURL("callingWebhook", req.CallbackURI); err != nil {
		return nil, nil, err
	}
	if err := checkLimits(append(req.Caller.limits("source"), req.Target.limits("target")...)...); err != nil {
		return nil, nil, err
	}
	c := &Call{
		ID:              ids.New(),
		Owner:           req.Owner,
		CallbackURI:     req.CallbackURI,
		ChainID:         req.ChainID,
		MyParticipantID: ids.New(),
		ScenarioID:      ids.New(),
		Direction:       Inbound,
		Kind:            PeerToPeer,
		State:           Incoming,
		Source:          req.Caller,
		Targets:         []Participant{req.Target},
		Modalities:      req.Modalities,
		Join:            req.Join,
		GroupID:         req.GroupID,
		Context:         req.Context,
		CreatedAt:       now,
		AnswerBy:        now.Add(t.IncomingTimeout),
		Remote:          &Remote{Outcome: Ringing, Script: req.Script},
	}
	if c.ChainID == "" {
		c.ChainID = ids.New()
	}
	if c.Source.ParticipantID == "" {
		c.Source.ParticipantID = ids.New()
	}
	c.Targets[0].ParticipantID = c.MyParticipantID
	if req.Join != nil {
		c.Kind = MeetingLeg
		c.Remote = nil // a meeting invites, nobody waits on the line
	}
	if len(c.Modalities) == 0 {
		c.Modalities = []Modality{Audio}
	}
	return c, []Event{{Change: Created, State: Incoming, Shape: FullCall}}, nil
}

// AnswerRequest is how the application answers.
type AnswerRequest struct {
	// CallbackURI, when set, is where the call's notifications go from
	// now on.
	CallbackURI string
	Media       Media
	// Modalities are the accepted ones.
	Modalities []Modality
	Options    Options
}

// Answer accepts an incoming call: it is establishing, then established
// (at once: the caller is already on the line).
func (c *Call) Answer(now time.Time, req AnswerRequest, t Timing) ([]Event, error) {
	if c.State != Incoming {
		return nil, c.notIncoming()
	}
	if req.CallbackURI != "" {
		if err := CheckCallbackURL("callbackUri", req.CallbackURI); err != nil {
			return nil, err
		}
		c.CallbackURI = req.CallbackURI
	}
	if req.Media.Hosting == "" {
		return nil, invalid("mediaConfig is required to answer: a serviceHostedMediaConfig or an appHostedMediaConfig")
	}
	if err := checkLimits(limited{"mediaConfig.blob", req.Media.Blob, MaxMediaBlob}); err != nil {
		return nil, err
	}
	for _, m := range req.Modalities {
		if !m.Valid() {
			return nil, invalid("acceptedModalities: unknown modality %q", string(m))
		}
	}
	c.Media = req.Media
	if len(req.Modalities) > 0 {
		c.Modalities = req.Modalities
	}
	c.Options = req.Options
	c.State = Establishing
	c.AnswerBy = time.Time{}
	c.AnswerAt = now
	if t.KeepAliveTimeout > 0 {
		c.KeepAliveDeadline = now.Add(t.KeepAliveTimeout)
	}
	c.setOutcome(Answered, "", nil)
	return append([]Event{{Change: Updated, State: Establishing}}, c.scriptEvent(now, OnAnswered)...), nil
}

// RejectReason is why an application refuses an incoming call; Graph's
// rejectReason values.
type RejectReason string

const (
	RejectNone      RejectReason = "none"
	RejectBusy      RejectReason = "busy"
	RejectForbidden RejectReason = "forbidden"
)

// Reject refuses an incoming call: it is gone at once, announced with a
// bare deleted notification, as Graph announces it. callbackURI, when set,
// is where that notification goes.
func (c *Call) Reject(now time.Time, reason RejectReason, callbackURI string) ([]Event, error) {
	if c.State != Incoming {
		return nil, c.notIncoming()
	}
	if err := c.redirectNotifications(callbackURI); err != nil {
		return nil, err
	}
	c.end(now, nil)
	c.setOutcome(Rejected, string(reason), nil)
	return []Event{{Change: Deleted, State: Terminated, Shape: Bare}}, nil
}

// MaxRedirectTargets bounds a simultaneous ring, as Graph documents.
const MaxRedirectTargets = 25

// Redirect forwards an incoming call to other parties: for the
// application, the call is over at once (deleted, with the whole call);
// who takes it is the simulated world's business.
func (c *Call) Redirect(now time.Time, targets []Participant, timeout time.Duration, callbackURI string) ([]Event, error) {
	if c.State != Incoming {
		return nil, c.notIncoming()
	}
	switch {
	case len(targets) == 0:
		return nil, invalid("targets is required: the parties to redirect the call to")
	case len(targets) > MaxRedirectTargets:
		return nil, invalid("a call can be redirected to at most %d targets, not %d", MaxRedirectTargets, len(targets))
	case timeout != 0 && (timeout < 15*time.Second || timeout > 90*time.Second):
		return nil, invalid("timeout must be from 15 to 90 seconds")
	}
	for i, p := range targets {
		if err := p.Check(fmt.Sprintf("targets[%d]", i)); err != nil {
			return nil, err
		}
		if p.Identity.ID == "" {
			return nil, invalid("targets[%d] names no identity", i)
		}
	}
	if err := c.redirectNotifications(callbackURI); err != nil {
		return nil, err
	}
	c.end(now, nil)
	c.setOutcome(Redirected, "", nil) // the target that takes it is set later
	return []Event{{Change: Deleted, State: Terminated, Shape: FullCall}}, nil
}

// RingUntil stops an incoming call ringing at at, ending it then with
// result unless it was answered: a redirect target that loses the race.
func (c *Call) RingUntil(at time.Time, result Result) {
	if c.State == Incoming && (c.AnswerBy.IsZero() || at.Before(c.AnswerBy)) {
		c.AnswerBy, c.RingEnds = at, &result
	}
}

// RedirectTakenBy records who took a redirected call.
func (c *Call) RedirectTakenBy(target Identity) {
	if c.Remote != nil && c.Remote.Outcome == Redirected {
		c.Remote.Target = &target
	}
}

// RemoteHangUp ends the call from the remote side: the caller gives up on
// a ringing call, or the remote party hangs up an established one.
func (c *Call) RemoteHangUp(now time.Time, t Timing) ([]Event, error) {
	if !c.State.Live() {
		return nil, ErrNotFound
	}
	c.remoteDid(RemoteAction{At: now, Did: HungUp})
	reason := OtherPartyEndedP2P
	if c.Remote != nil && c.RemoteIdentity().Kind == Phone {
		reason = PSTNUserEnded
	}
	outcome := CallerHungUp
	if c.Direction == Outgoing {
		outcome = CalleeHungUp
	}
	if c.State == Incoming {
		c.end(now, &OtherPartyEnded)
		c.setOutcome(outcome, "", nil)
		return []Event{{Change: Deleted, State: Terminated, Result: c.Result}}, nil
	}
	c.setOutcome(outcome, "", nil)
	ev, err := c.HangUp(now, reason, t)
	return append(ev, c.Advance(now, t)...), err
}

// remoteHangUp is RemoteHangUp from within Advance, which goes on to the
// teardown itself.
func (c *Call) remoteHangUp(now time.Time, t Timing) ([]Event, error) {
	if c.State == Incoming || !c.State.Live() {
		return c.RemoteHangUp(now, t)
	}
	c.remoteDid(RemoteAction{At: now, Did: HungUp})
	reason := OtherPartyEndedP2P
	if c.RemoteIdentity().Kind == Phone {
		reason = PSTNUserEnded
	}
	outcome := CallerHungUp
	if c.Direction == Outgoing {
		outcome = CalleeHungUp
	}
	c.setOutcome(outcome, "", nil)
	return c.HangUp(now, reason, t)
}

// TransferRequest is a transfer of an established call: blind to a
// target, or consultative when the target replaces another call of the
// application; Transferee names the participant to move out of a group
// call.
type TransferRequest struct {
	Target     Participant
	Transferee *Participant
	// ReplacesCallID is the application's call with the target, for a
	// consultative transfer: it ends when the transfer completes.
	ReplacesCallID string
}

// Transfer is a transfer under way.
type Transfer struct {
	Target         Participant  `json:",omitzero"`
	Transferee     *Participant `json:",omitzero"`
	ReplacesCallID string       `json:",omitzero"`
	// DecidedAt is when the target accepts or refuses it.
	DecidedAt time.Time `json:",omitzero"`
	// Refusal is set when the target will not take the call.
	Refusal *Result `json:",omitzero"`
}

// Consultative reports whether the transfer replaces another call.
func (tr *Transfer) Consultative() bool { return tr.ReplacesCallID != "" }

// Transfer starts moving an established call to a target, who answers as
// target says: the call is transferring until the target decides.
func (c *Call) Transfer(now time.Time, req TransferRequest, target Answering, t Timing) ([]Event, error) {
	if c.State != Established {
		return nil, ErrNotEstablished
	}
	if req.Target.Identity.ID == "" {
		return nil, invalid("transferTarget.identity names no identity")
	}
	if err := req.Target.Check("transferTarget"); err != nil {
		return nil, err
	}
	if c.IsGroup() && req.Transferee == nil {
		return nil, invalid("transferee is required to transfer out of a group call")
	}
	at, answered := target.Ring(now, t)
	tr := &Transfer{Target: req.Target, Transferee: req.Transferee, ReplacesCallID: req.ReplacesCallID, DecidedAt: at}
	if !answered {
		r := TransferFailed
		if tr.Consultative() {
			r = ConsultativeTransferFailed
		}
		r.Message = "The transfer target did not accept the call: " + lowerFirst(target.refusal().Message)
		tr.Refusal = &r
	}
	c.PendingTransfer = tr
	c.State = Transferring
	return []Event{{Change: Updated, State: Transferring}}, nil
}

// advanceTransfer settles a transfer whose target has decided.
func (c *Call) advanceTransfer(now time.Time, t Timing) []Event {
	tr := c.PendingTransfer
	c.PendingTransfer = nil
	if tr.Refusal != nil {
		c.State = Established
		return []Event{{Change: Updated, State: Established, Result: tr.Refusal, ReplacesContext: tr.Consultative()}}
	}
	target := tr.Target.Identity
	c.setOutcome(Transferred, "", &target)
	c.State = TransferAccepted
	events := []Event{{Change: Updated, State: TransferAccepted}}
	reason := TransferCompleted
	c.end(now, &reason)
	ev := Event{Change: Deleted, State: Terminated, Result: c.Result, Transferred: tr}
	if tr.Consultative() {
		// Graph ends a consultative transfer with a termination reason
		// instead of a resultInfo.
		ev.Result, ev.TerminationReason = nil, "AppTransferred"
	}
	return append(events, ev)
}

// Self is the application's own party in the call: the source of a call
// it placed, the target of one it received.
func (c *Call) Self() Participant {
	if c.Direction == Inbound && len(c.Targets) > 0 {
		return c.Targets[0]
	}
	return c.Source
}

// ViaApplicationInstance reports whether the call reached the application
// through one of its application instances (its phone number), or was
// placed from one: what calls to phone numbers need.
func (c *Call) ViaApplicationInstance() bool {
	if c.Direction == Inbound {
		return len(c.Targets) > 0 && c.Targets[0].Identity.Kind == ApplicationInstance
	}
	return c.Source.Identity.Kind == ApplicationInstance
}

// notIncoming is the error for an inbound action on a call past ringing.
func (c *Call) notIncoming() error {
	if c.State == Terminated {
		return ErrNotFound
	}
	return ErrNotIncoming
}

// redirectNotifications points the call's notifications at uri, if set.
func (c *Call) redirectNotifications(uri string) error {
	if uri == "" {
		return nil
	}
	if err := CheckCallbackURL("callbackUri", uri); err != nil {
		return err
	}
	c.CallbackURI = uri
	return nil
}

// end terminates the call at once, with the result (none for a rejected
// or redirected call, which Graph announces without one).
func (c *Call) end(now time.Time, result *Result) {
	c.State = Terminated
	c.AnswerBy, c.AnswerAt, c.TeardownAt, c.KeepAliveDeadline = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	c.EndedAt = now
	c.Result = result
	c.endPresentation()
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]|0x20) + s[1:]
}
