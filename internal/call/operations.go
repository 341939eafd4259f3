package call

import (
	"slices"
	"time"
	"unicode/utf8"

	"github.com/callplane/callplane/internal/ids"
)

// OperationType names a commsOperation subtype.
type OperationType string

const (
	MuteParticipant    OperationType = "muteParticipant"
	UnmuteParticipant  OperationType = "unmuteParticipant"
	InviteParticipants OperationType = "inviteParticipants"
	// AddLargeGalleryView adds the large gallery view to a group call: it
	// runs, then completes by notification.
	AddLargeGalleryView OperationType = "addLargeGalleryView"
)

// OperationStatus is where an operation is; the values are Graph's.
type OperationStatus string

const (
	Running   OperationStatus = "running"
	Completed OperationStatus = "completed"
	Failed    OperationStatus = "failed"
)

// Operation is an action a bot asked of its call. One that completes at
// once is answered completed and announces nothing more; a running one
// completes later with a notification.
type Operation struct {
	ID            string          `json:",omitzero"`
	Type          OperationType   `json:",omitzero"`
	Status        OperationStatus `json:",omitzero"`
	ClientContext string          `json:",omitzero"`
	Result        *Result         `json:",omitzero"`
	// Invitees are the people an invitation asked for, with the participant
	// ids they get; Answers says how each answers (in the same order).
	Invitees []Participant `json:",omitzero"`
	Answers  []Answering   `json:",omitzero"`
	// DueAt is when a running operation completes (media jobs instead
	// run through the call's media queue).
	DueAt time.Time `json:",omitzero"`
	// Media is a queued prompt or recording.
	Media *MediaJob `json:",omitzero"`
	// CompletionReason says how a recording or DTMF sending ended.
	CompletionReason string `json:",omitzero"`
	// Recording is what a completed recordResponse captured;
	// RecordingCleared says it captured nothing (Graph then sends empty
	// recordingLocation and recordingAccessToken).
	Recording        *Recording `json:",omitzero"`
	RecordingCleared bool       `json:",omitzero"`
	// DTMF is the keys a sendDtmfTones sends.
	DTMF string `json:",omitzero"`
}

// Operation results.
var (
	OperationSucceeded = Result{Code: 200, Subcode: 0, Message: "Action completed successfully."}
	InviteCancelled    = Result{Code: 400, Subcode: 8508, Message: "Action failed, the operation was cancelled."}
)

// keptOperations bounds the finished operations a call remembers.
const keptOperations = 20

// NewOperation returns an operation of the type; it is completed unless
// dueAt is set, when it runs until then.
func NewOperation(t OperationType, clientContext string, dueAt time.Time) (Operation, error) {
	if utf8.RuneCountInString(clientContext) > MaxClientContext {
		return Operation{}, invalid("clientContext is limited to %d characters", MaxClientContext)
	}
	op := Operation{ID: ids.New(), Type: t, Status: Completed, ClientContext: clientContext, DueAt: dueAt}
	if dueAt.IsZero() {
		r := OperationSucceeded
		op.Result = &r
	} else {
		op.Status = Running
	}
	return op, nil
}

// AddOperation records an operation of the call, forgetting the oldest
// finished ones beyond a few.
func (c *Call) AddOperation(op Operation) {
	c.Operations = append(c.Operations, op)
	finished := 0
	for i := len(c.Operations) - 1; i >= 0; i-- {
		if c.Operations[i].Status == Running {
			continue
		}
		finished++
		if finished > keptOperations {
			c.Operations = slices.Delete(c.Operations, i, i+1)
		}
	}
}

// Operation returns the call's operation with the id.
func (c *Call) Operation(id string) (Operation, bool) {
	i := slices.IndexFunc(c.Operations, func(op Operation) bool { return op.ID == id })
	if i < 0 {
		return Operation{}, false
	}
	return c.Operations[i], true
}

// operationDue is the index of the first running operation due at now, or -1.
func (c *Call) operationDue(now time.Time) int {
	return slices.IndexFunc(c.Operations, func(op Operation) bool { return op.Status == Running && due(op.DueAt, now) })
}

// completeOperation finishes operation i and returns it: completed, or,
// for an invitation nobody accepted, failed with the first refusal. An
// invitation keeps only the invitees who picked up.
func (c *Call) completeOperation(i int) Operation {
	op := &c.Operations[i]
	r := OperationSucceeded
	op.Status, op.Result, op.DueAt = Completed, &r, time.Time{}
	if op.Type == StartHoldMusic || op.Type == StopHoldMusic {
		op.Result = nil // Graph's hold music completes without a resultInfo
	}
	if op.Type == SendDtmfTones {
		// sendDtmfToneOperation completes with a completionReason, no
		// resultInfo; the person has heard the tones.
		op.Result, op.CompletionReason = nil, "completedSuccessfully"
		if c.Remote != nil {
			heard := c.Remote.TonesReceived + op.DTMF
			c.Remote.TonesReceived = heard[max(0, len(heard)-MaxTonesHeard):]
		}
	}
	if len(op.Answers) == len(op.Invitees) && len(op.Answers) > 0 {
		var accepted []Participant
		var refusal *Result
		for j, a := range op.Answers {
			if a.answers() {
				accepted = append(accepted, op.Invitees[j])
			} else if refusal == nil {
				why := a.refusal()
				refusal = &why
			}
		}
		op.Invitees, op.Answers = accepted, nil
		if len(accepted) == 0 {
			op.Status, op.Result = Failed, refusal
		}
	}
	return *op
}

// InvitationDue is when an invitation to people who answer so is decided:
// when the last of them picks up or refuses.
func InvitationDue(answers []Answering, now time.Time, t Timing) time.Time {
	due := now
	for _, a := range answers {
		if at, _ := a.Ring(now, t); at.After(due) {
			due = at
		}
	}
	return due
}

// CancelInvitee withdraws a pending invitation of the participant. An
// invitation left with nobody to invite fails, and is returned so it can
// be announced.
func (c *Call) CancelInvitee(participantID string) (cancelled bool, failed *Operation) {
	for i := range c.Operations {
		op := &c.Operations[i]
		if op.Status != Running || op.Type != InviteParticipants {
			continue
		}
		j := slices.IndexFunc(op.Invitees, func(p Participant) bool { return p.ParticipantID == participantID })
		if j < 0 {
			continue
		}
		op.Invitees = slices.Delete(op.Invitees, j, j+1)
		if len(op.Invitees) == 0 {
			r := InviteCancelled
			op.Status, op.Result, op.DueAt = Failed, &r, time.Time{}
			done := *op
			return true, &done
		}
		return true, nil
	}
	return false, nil
}
