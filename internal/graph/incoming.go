package graph

import (
	"fmt"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/call"
)

// Type names of the inbound side.
const (
	TypeIncomingContext     = typePrefix + "incomingContext"
	TypeIncomingCallOptions = typePrefix + "incomingCallOptions"
)

// IncomingContext is Graph's incomingContext: how a call reached the
// application.
type IncomingContext struct {
	ODataType             string       `json:"@odata.type,omitempty"`
	SourceParticipantID   string       `json:"sourceParticipantId,omitempty"`
	ObservedParticipantID string       `json:"observedParticipantId,omitempty"`
	OnBehalfOf            *IdentitySet `json:"onBehalfOf,omitempty"`
	Transferor            *IdentitySet `json:"transferor,omitempty"`
}

func incomingContext(ctx *call.IncomingContext) *IncomingContext {
	if ctx == nil {
		return nil
	}
	out := &IncomingContext{ODataType: TypeIncomingContext, SourceParticipantID: ctx.SourceParticipantID, ObservedParticipantID: ctx.ObservedParticipantID}
	if ctx.OnBehalfOf != nil {
		out.OnBehalfOf = identitySet(*ctx.OnBehalfOf)
	}
	if ctx.Transferor != nil {
		out.Transferor = identitySet(*ctx.Transferor)
	}
	return out
}

// AnswerBody is the body of POST …/calls/{id}/answer.
type AnswerBody struct {
	CallbackURI         string       `json:"callbackUri"`
	AcceptedModalities  []string     `json:"acceptedModalities"`
	MediaConfig         *MediaConfig `json:"mediaConfig"`
	CallOptions         *CallOptions `json:"callOptions"`
	ParticipantCapacity *int         `json:"participantCapacity"`
}

// AnswerRequest reads an answer into the domain's request.
func (b *AnswerBody) AnswerRequest() (call.AnswerRequest, error) {
	req := call.AnswerRequest{CallbackURI: b.CallbackURI}
	media, err := mediaOf(b.MediaConfig)
	if err != nil {
		return req, err
	}
	if media.Hosting == "" {
		return req, badRequest("mediaConfig is required to answer: a serviceHostedMediaConfig or an appHostedMediaConfig")
	}
	req.Media = media
	if len(b.AcceptedModalities) > 4 {
		return req, badRequest("acceptedModalities names more modalities than there are")
	}
	for _, m := range b.AcceptedModalities {
		req.Modalities = append(req.Modalities, call.Modality(m))
	}
	if o := b.CallOptions; o != nil {
		if o.ODataType != "" && o.ODataType != TypeIncomingCallOptions {
			return req, badRequest("callOptions: an answer takes %s, not %q", TypeIncomingCallOptions, o.ODataType)
		}
		req.Options = optionsOf(o)
	}
	return req, nil
}

// RejectBody is the body of POST …/calls/{id}/reject.
type RejectBody struct {
	Reason      string `json:"reason"`
	CallbackURI string `json:"callbackUri"`
}

// RejectReason reads the reason, in Graph's lowercase or in the
// capitalised form its reference table shows; none when left out.
func (b *RejectBody) RejectReason() (call.RejectReason, error) {
	switch r := call.RejectReason(strings.ToLower(b.Reason)); r {
	case "":
		return call.RejectNone, nil
	case call.RejectNone, call.RejectBusy, call.RejectForbidden:
		return r, nil
	}
	return "", badRequest("reason must be none, busy or forbidden, not %q", b.Reason)
}

// RedirectBody is the body of POST …/calls/{id}/redirect.
type RedirectBody struct {
	Targets         []InvitationParticipantInfo `json:"targets"`
	Timeout         *int                        `json:"timeout"`
	CallbackURI     string                      `json:"callbackUri"`
	RoutingPolicies []string                    `json:"routingPolicies"`
}

// RedirectTargets reads the targets and the timeout (zero: Graph's
// default).
func (b *RedirectBody) RedirectTargets() ([]call.Participant, time.Duration, error) {
	if len(b.Targets) > call.MaxRedirectTargets {
		return nil, 0, badRequest("a call can be redirected to at most %d targets, not %d", call.MaxRedirectTargets, len(b.Targets))
	}
	var out []call.Participant
	for i, t := range b.Targets {
		id, err := t.Identity.identity(fmt.Sprintf("targets[%d].identity", i))
		if err != nil {
			return nil, 0, err
		}
		out = append(out, call.Participant{Identity: id})
	}
	var timeout time.Duration
	if b.Timeout != nil {
		timeout = time.Duration(*b.Timeout) * time.Second
		if timeout == 0 {
			return nil, 0, badRequest("timeout must be from 15 to 90 seconds")
		}
	}
	return out, timeout, nil
}

// TransferBody is the body of POST …/calls/{id}/transfer.
type TransferBody struct {
	TransferTarget *InvitationParticipantInfo `json:"transferTarget"`
	Transferee     *ParticipantInfo           `json:"transferee"`
	ClientContext  string                     `json:"clientContext"`
}

// TransferRequest reads a transfer into the domain's request.
func (b *TransferBody) TransferRequest() (call.TransferRequest, error) {
	if b.TransferTarget == nil {
		return call.TransferRequest{}, badRequest("transferTarget is required")
	}
	id, err := b.TransferTarget.Identity.identity("transferTarget.identity")
	if err != nil {
		return call.TransferRequest{}, err
	}
	req := call.TransferRequest{Target: call.Participant{Identity: id}, ReplacesCallID: NormalizeID(b.TransferTarget.ReplacesCallID)}
	if t := b.Transferee; t != nil {
		// A transferee is named by its participant id, its identity, or both.
		p := call.Participant{ParticipantID: t.ParticipantID}
		if t.Identity != nil {
			if p.Identity, err = t.Identity.identity("transferee.identity"); err != nil {
				return req, err
			}
		} else if t.ParticipantID == "" {
			return req, badRequest("transferee needs a participantId or an identity")
		}
		req.Transferee = &p
	}
	return req, nil
}
