package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/callplane/callplane/internal/call"
)

// Parties finds whom an identity reaches when a call rings it: an
// application, or a simulated person and how they answer. The simulated
// world implements it.
type Parties interface {
	Party(ctx context.Context, tenantID string, id call.Identity) (call.Party, error)
	// OwnsInstance reports whether an application instance is the owner's.
	OwnsInstance(ctx context.Context, owner call.Owner, instanceID string) bool
}

// ErrNoWebhook is a call to an application that has no calling webhook:
// there is nowhere to announce it.
var ErrNoWebhook = errors.New("the application has no calling webhook: set one (callingWebhook) to receive calls")

// party resolves an identity, as a person who picks up when nobody
// configured the world.
func (s *Service) party(ctx context.Context, tenantID string, id call.Identity) (call.Party, error) {
	if s.cfg.Parties == nil {
		return call.Party{Identity: id}, nil
	}
	return s.cfg.Parties.Party(ctx, tenantID, id)
}

// Receive makes an incoming call for the application the request names: a
// simulated party calls it. The application's webhook gets the created
// notification.
func (s *Service) Receive(ctx context.Context, req call.IncomingRequest) (*call.Call, error) {
	if req.CallbackURI == "" {
		return nil, ErrNoWebhook
	}
	var received *call.Call
	err := s.do(ctx, func(u *unit) error {
		c, events, err := call.Receive(req, u.now, s.cfg.Timing)
		if err != nil {
			return err
		}
		received = c
		return u.announce(c, events)
	})
	return received, err
}

// Answer accepts the owner's incoming call. An invitation's leg joins its
// group call once established; a redirect's target that answers takes the
// call from the other targets.
func (s *Service) Answer(ctx context.Context, owner call.Owner, id string, req call.AnswerRequest) error {
	s.prefetchFor(req.Media)
	return s.do(ctx, func(u *unit) error {
		c, err := u.ownCall(owner, id)
		if err != nil {
			return err
		}
		events, err := c.Answer(u.now, req, s.cfg.Timing)
		if err != nil {
			return err
		}
		if c.RedirectedFrom != "" {
			if err := u.redirectTaken(c); err != nil {
				return err
			}
		}
		return u.announce(c, append(events, c.Advance(u.now, s.cfg.Timing)...))
	})
}

// redirectTaken records that c, a redirect's target, took the call: the
// redirected call says who took it, and its other targets stop ringing.
func (u *unit) redirectTaken(c *call.Call) error {
	orig, err := u.call(c.RedirectedFrom)
	if err != nil {
		return err
	}
	orig.RedirectTakenBy(c.Targets[0].Identity)
	u.touchCall(orig)
	for _, id := range orig.Redirects {
		if id == c.ID {
			continue
		}
		other, err := u.call(id)
		if err != nil || other.State != call.Incoming {
			continue
		}
		events, err := other.RemoteHangUp(u.now, u.s.cfg.Timing)
		if err != nil {
			return err
		}
		if err := u.announce(other, events); err != nil {
			return err
		}
	}
	return nil
}

// Reject refuses the owner's incoming call.
func (s *Service) Reject(ctx context.Context, owner call.Owner, id string, reason call.RejectReason, callbackURI string) error {
	return s.do(ctx, func(u *unit) error {
		c, err := u.ownCall(owner, id)
		if err != nil {
			return err
		}
		events, err := c.Reject(u.now, reason, callbackURI)
		if err != nil {
			return err
		}
		return u.announce(c, events)
	})
}

// Redirect forwards the owner's incoming call to targets, ringing them at
// once (a simultaneous ring: the first to answer takes it). An
// application among them gets an incoming call of its own; a person
// answers as they do, the earliest who picks up within the timeout taking
// the call from the applications still ringing.
func (s *Service) Redirect(ctx context.Context, owner call.Owner, id string, targets []call.Participant, timeout time.Duration, callbackURI string) error {
	parties := make([]call.Party, len(targets))
	for i, t := range targets {
		p, err := s.party(ctx, owner.TenantID, t.Identity)
		if err != nil {
			return err
		}
		parties[i] = p
	}
	if timeout == 0 {
		timeout = 55 * time.Second // Graph's default for one target
		if len(targets) > 1 {
			timeout = 60 * time.Second
		}
	}
	return s.do(ctx, func(u *unit) error {
		c, err := u.ownCall(owner, id)
		if err != nil {
			return err
		}
		for i, t := range targets {
			if t.Identity.Kind == call.Phone && !c.ViaApplicationInstance() {
				return &call.InvalidError{Msg: fmt.Sprintf("targets[%d]: redirecting to a phone number needs a call that reached the application through an application instance (its phone number)", i)}
			}
		}
		events, err := c.Redirect(u.now, targets, timeout, callbackURI)
		if err != nil {
			return err
		}
		if err := u.announce(c, events); err != nil {
			return err
		}
		// The person who picks up first, within the timeout, takes it.
		var first *call.Party
		var firstAt time.Time
		for i := range parties {
			p := &parties[i]
			if p.App != nil {
				continue
			}
			if at, answers := p.Answering.Ring(u.now, s.cfg.Timing); answers && at.Before(u.now.Add(timeout)) && (first == nil || at.Before(firstAt)) {
				first, firstAt = p, at
			}
		}
		if first != nil {
			c.RedirectTakenBy(first.Identity)
		}
		for _, p := range parties {
			if p.App == nil || p.Webhook == "" {
				continue // an application without a webhook cannot be rung
			}
			target, events, err := call.Receive(call.IncomingRequest{
				Owner:       *p.App,
				CallbackURI: p.Webhook,
				Caller:      call.Participant{Identity: c.Source.Identity},
				Target:      call.Participant{Identity: p.Identity},
				Modalities:  c.Modalities,
				ChainID:     c.ChainID,
			}, u.now, s.cfg.Timing)
			if err != nil {
				return err
			}
			target.RedirectedFrom = c.ID
			end := u.now.Add(timeout)
			if first != nil {
				end = firstAt
			}
			target.RingUntil(end, call.OtherPartyEnded)
			c.Redirects = append(c.Redirects, target.ID)
			if err := u.announce(target, events); err != nil {
				return err
			}
		}
		u.touchCall(c)
		return nil
	})
}

// Transfer moves the owner's established call to a target, who answers as
// they do; a consultative transfer ends the call it replaces too, and a
// transfer out of a group call takes the transferee out of it.
func (s *Service) Transfer(ctx context.Context, owner call.Owner, id string, req call.TransferRequest) error {
	target, err := s.party(ctx, owner.TenantID, req.Target.Identity)
	if err != nil {
		return err
	}
	if target.App != nil {
		return &call.InvalidError{Msg: "transferTarget: callplane transfers to people (identity.user or identity.phone), not to applications"}
	}
	return s.do(ctx, func(u *unit) error {
		c, err := u.ownCall(owner, id)
		if err != nil {
			return err
		}
		if req.Target.Identity.Kind == call.Phone && !c.ViaApplicationInstance() {
			return &call.InvalidError{Msg: "transferTarget: transferring to a phone number needs a call that reached, or was placed from, an application instance"}
		}
		if req.ReplacesCallID != "" {
			replaced, err := u.ownCall(owner, req.ReplacesCallID)
			if err != nil || !replaced.State.Live() || replaced.ID == c.ID {
				return &call.InvalidError{Msg: "transferTarget.replacesCallId names no other live call of the application"}
			}
		}
		if req.Transferee != nil && c.GroupID != "" {
			g, err := u.group(c.GroupID)
			if err != nil {
				return err
			}
			if _, ok := g.Member(req.Transferee.ParticipantID); !ok {
				return &call.InvalidError{Msg: "transferee is not a participant of the group call"}
			}
		}
		events, err := c.Transfer(u.now, req, target.Answering, s.cfg.Timing)
		if err != nil {
			return err
		}
		return u.announce(c, events)
	})
}

// transferred settles what a completed transfer leaves: the call a
// consultative transfer replaced ends; a transferee leaves the group call.
func (u *unit) transferred(c *call.Call, tr *call.Transfer) error {
	if tr.ReplacesCallID != "" {
		replaced, err := u.call(tr.ReplacesCallID)
		if err == nil && replaced.State.Live() {
			if err := u.hangUp(replaced, call.TransferCompleted); err != nil {
				return err
			}
		}
	}
	if tr.Transferee != nil && c.GroupID != "" {
		g, err := u.group(c.GroupID)
		if err != nil {
			return err
		}
		if _, ok := g.Member(tr.Transferee.ParticipantID); ok {
			change, err := g.Leave(tr.Transferee.ParticipantID, u.now)
			if err != nil {
				return err
			}
			return u.rosterChanged(g, change)
		}
	}
	return nil
}

// RemoteHangUp ends a call from its simulated remote side: the caller of
// an incoming call, or the person a bot's call reached.
func (s *Service) RemoteHangUp(ctx context.Context, id string) error {
	return s.byRemoteParty(ctx, id, func(u *unit, c *call.Call) ([]call.Event, error) {
		return c.RemoteHangUp(u.now, s.cfg.Timing)
	})
}

// DropCall has the service end any live call on its own, with reason:
// the application hears terminating and terminated, as when the real
// service loses a call.
func (s *Service) DropCall(ctx context.Context, id string, reason call.Result) error {
	return s.do(ctx, func(u *unit) error {
		c, err := u.call(id)
		if err != nil {
			return err
		}
		events, err := c.DropByService(u.now, reason, s.cfg.Timing)
		if err != nil {
			return err
		}
		return u.announce(c, events)
	})
}

// byRemoteParty runs what the simulated remote party of a call does, and
// announces it.
func (s *Service) byRemoteParty(ctx context.Context, id string, fn func(u *unit, c *call.Call) ([]call.Event, error)) error {
	return s.do(ctx, func(u *unit) error {
		c, err := u.call(id)
		if err != nil {
			return err
		}
		if c.Remote == nil {
			return ErrNoRemote
		}
		events, err := fn(u, c)
		if err != nil {
			return err
		}
		u.touchCall(c)
		return u.announce(c, events)
	})
}

// ErrNoRemote is a simulator command on a call without a simulated remote
// party (a meeting leg).
var ErrNoRemote = errors.New("the call has no simulated remote party: it is a group call's leg")

// SimulatedCall returns any call by id, in any state, for the simulator's
// view of it.
func (s *Service) SimulatedCall(ctx context.Context, id string) (*call.Call, error) {
	c, err := s.store.GetCall(ctx, id)
	if err != nil {
		return nil, call.ErrNotFound
	}
	return c, nil
}
