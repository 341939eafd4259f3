package call

import (
	"errors"
	"time"
)

// The remote party of a peer-to-peer call, as the simulated world plays
// it: how a callee answers (or does not), and how each call with a
// simulated party turned out.

// AnswerMode is how a simulated person answers a call that rings them.
type AnswerMode string

const (
	// AutoAnswer picks up after the answer delay.
	AutoAnswer AnswerMode = "auto"
	// Busy refuses at once: already on a call.
	Busy AnswerMode = "busy"
	// Decline refuses after the answer delay.
	Decline AnswerMode = "decline"
	// NoAnswer lets it ring until the ring timeout.
	NoAnswer AnswerMode = "noAnswer"
)

// Valid reports whether m is an answer mode.
func (m AnswerMode) Valid() bool {
	switch m {
	case AutoAnswer, Busy, Decline, NoAnswer:
		return true
	}
	return false
}

// Answering is how the party a call rings will answer: the mode, and after
// how long (zero means the configured answer delay).
type Answering struct {
	Mode  AnswerMode    `json:",omitzero"`
	Delay time.Duration `json:",omitzero"`
}

// Ring returns when a call ringing a party that answers so is decided,
// and whether it is picked up then.
func (a Answering) Ring(now time.Time, t Timing) (at time.Time, answered bool) {
	delay := a.Delay
	if delay == 0 {
		delay = t.AnswerDelay
	}
	switch a.Mode {
	case Busy:
		return now, false
	case Decline:
		return now.Add(delay), false
	case NoAnswer:
		return now.Add(t.RingTimeout), false
	}
	return now.Add(delay), true
}

// answers reports whether the party picks up.
func (a Answering) answers() bool { return a.Mode == "" || a.Mode == AutoAnswer }

// refusal is why a ringing party did not pick up.
func (a Answering) refusal() Result {
	switch a.Mode {
	case Busy:
		return CalleeBusy
	case Decline:
		return CalleeDeclined
	}
	return CalleeNoAnswer
}

// Results of calls to and from simulated parties. Graph documents neither
// busy nor declined: the codes are SIP's (486, 603), the subcodes 0.
var (
	CalleeBusy     = Result{Code: 486, Subcode: 0, Message: "The callee is busy."}
	CalleeDeclined = Result{Code: 603, Subcode: 0, Message: "The callee declined the call."}
	// CalleeNoAnswer is Graph's "no signalling from callee endpoints".
	CalleeNoAnswer = Result{Code: 408, Subcode: 10057, Message: "The callee did not answer."}
	// OtherPartyEndedP2P ends a peer-to-peer call the remote user hung up.
	OtherPartyEndedP2P = Result{Code: 200, Subcode: 4521, Message: "The call was ended by the other participant in the peer-to-peer call."}
	// OtherPartyEnded ends a call that was not answered yet when its caller
	// gave up.
	OtherPartyEnded = Result{Code: 200, Subcode: 4097, Message: "The call was ended by the other participant."}
	// PSTNUserEnded ends a call the remote phone hung up.
	PSTNUserEnded = Result{Code: 200, Subcode: 540000, Message: "The call was ended by the PSTN user."}
	// AnswerTimedOut ends an incoming call the application did not answer
	// in time.
	AnswerTimedOut = Result{Code: 408, Subcode: 1106, Message: "The call was not answered in the allotted time."}
	// TransferCompleted ends a call that was transferred.
	TransferCompleted = Result{Code: 0, Subcode: 7015, Message: "GracefulTransferCompleted"}
	// TransferFailed and ConsultativeTransferFailed come back with a call
	// whose transfer did not go through.
	TransferFailed             = Result{Code: 500, Subcode: 7000, Message: "The transfer target did not accept the call."}
	ConsultativeTransferFailed = Result{Code: 500, Subcode: 7700, Message: "The transfer target did not accept the call."}
)

// Outcome is how a call with a simulated remote party turned out, as the
// simulator shows it.
type Outcome string

const (
	Ringing      Outcome = "ringing"
	Answered     Outcome = "answered"
	Rejected     Outcome = "rejected"
	Redirected   Outcome = "redirected"
	Transferred  Outcome = "transferred"
	Unanswered   Outcome = "unanswered"
	CallerHungUp Outcome = "callerHungUp"
	CalleeHungUp Outcome = "calleeHungUp"
	BotHungUp    Outcome = "botHungUp"
	// DroppedByService is a call the service ended on its own (a test's
	// drop).
	DroppedByService Outcome = "droppedByService"
	// CalleeRefused: the person the bot called was busy, declined or did
	// not answer (Reason says which).
	CalleeRefused Outcome = "calleeRefused"
)

// Remote is the simulated party at the other end of a peer-to-peer call:
// the caller of an incoming call or the person an outgoing call rings.
type Remote struct {
	// Answering is how the callee of an outgoing call answers. Who the
	// remote party is the call says already (RemoteIdentity).
	Answering Answering `json:",omitzero"`
	Outcome   Outcome   `json:",omitzero"`
	// Reason details the outcome: the reject reason, the refusal.
	Reason string `json:",omitzero"`
	// Target is who took the call over: the redirect or transfer target.
	Target *Identity `json:",omitzero"`
	// Heard is the application's prompts as the person heard them;
	// TonesReceived the DTMF keys the application sent.
	Heard         []Heard `json:",omitzero"`
	TonesReceived string  `json:",omitzero"`
	// Script is what the person does, step by step, as the call goes on:
	// ScriptPos is the step waiting, ScriptDueAt when its action is due.
	Script      []ScriptStep `json:",omitzero"`
	ScriptPos   int          `json:",omitzero"`
	ScriptDueAt time.Time    `json:",omitzero"`
	// Content is the presentation the person gives the bot, if any.
	Content *ContentSession `json:",omitzero"`
}

// RemoteIdentity is who the remote party of a peer-to-peer call is: the
// caller of an incoming call, the callee of an outgoing one.
func (c *Call) RemoteIdentity() Identity {
	if c.Direction == Inbound {
		return c.Source.Identity
	}
	if len(c.Targets) > 0 {
		return c.Targets[0].Identity
	}
	return Identity{}
}

// errors of the inbound transitions.
var (
	// ErrNotIncoming is an answer, reject or redirect of a call that is no
	// longer (or never was) waiting to be answered.
	ErrNotIncoming = errors.New("the call is not incoming: answer, reject and redirect apply to a call that is ringing the application")
	// ErrNotEstablished is a transfer of a call that is not established.
	ErrNotEstablished = errors.New("the call is not established: only an established call can be transferred")
)

// setOutcome records how the remote side turned out, once: later changes
// (a hang-up after a transfer, say) do not overwrite it.
func (c *Call) setOutcome(o Outcome, reason string, target *Identity) {
	if c.Remote == nil {
		return
	}
	switch c.Remote.Outcome {
	case "", Ringing, Answered:
		c.Remote.Outcome, c.Remote.Reason, c.Remote.Target = o, reason, target
	}
}
