// Package control is callplane's application layer: it carries out what the
// API asks of calls. Each command loads a call, applies a domain transition,
// and saves the new state together with the notifications the transition
// produced, in one store transaction; only then are the notifications handed
// to delivery. It also runs the timers that move calls along on their own
// (the callee answering, teardown, keep-alive expiry) and purges old calls.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/store"
)

// Notifier takes notifications that were just saved and delivers them.
type Notifier interface {
	Enqueue(ns ...store.Notification)
}

// Config tunes the service.
type Config struct {
	Timing call.Timing
	// Retention is how long terminated calls and finished notifications are
	// kept for inspection before they are purged.
	Retention time.Duration
	// CheckCallback, if set, vets a new call's callback URI against the
	// deployment's policy (where notifications may be sent).
	CheckCallback func(uri string) error
}

// Service executes call commands.
type Service struct {
	store    store.Store
	notifier Notifier
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	timers   *timers
}

// New returns a service over st that hands saved notifications to n.
func New(st store.Store, n Notifier, cfg Config, log *slog.Logger) *Service {
	return &Service{store: st, notifier: n, cfg: cfg, log: log, now: time.Now, timers: newTimers()}
}

// PermissionError is a command the application lacks the permission for.
type PermissionError struct{ Msg string }

func (e *PermissionError) Error() string { return e.Msg }

// requiredRoles returns the application permissions a new call needs: any
// one of the first list, and every one of the second.
func requiredRoles(req call.Request) (anyOf, allOf []string) {
	anyOf = []string{"Calls.Initiate.All"}
	if req.Media.Hosting == call.AppHosted {
		allOf = []string{"Calls.AccessMedia.All"}
	}
	return anyOf, allOf
}

func hasRole(roles []string, want string) bool {
	for _, r := range roles {
		if r == want {
			return true
		}
	}
	return false
}

// Place creates a call for req.Owner, which holds roles.
func (s *Service) Place(ctx context.Context, req call.Request, roles []string) (*call.Call, error) {
	anyOf, allOf := requiredRoles(req)
	ok := false
	for _, r := range anyOf {
		ok = ok || hasRole(roles, r)
	}
	for _, r := range allOf {
		ok = ok && hasRole(roles, r)
	}
	if !ok {
		return nil, &PermissionError{Msg: fmt.Sprintf(
			"Insufficient permissions: this call needs the application permission %v (one of) and %v (all of).", anyOf, allOf)}
	}
	if s.cfg.CheckCallback != nil {
		if err := s.cfg.CheckCallback(req.CallbackURI); err != nil {
			return nil, &call.InvalidError{Msg: err.Error()}
		}
	}
	now := s.now()
	c, events, err := call.Place(req, now, s.cfg.Timing)
	if err != nil {
		return nil, err
	}
	out, err := s.outbox(c, events, now)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateCall(ctx, c, out); err != nil {
		return nil, err
	}
	s.committed(c, out)
	return c, nil
}

// Get returns the owner's call.
func (s *Service) Get(ctx context.Context, owner call.Owner, id string) (*call.Call, error) {
	c, err := s.store.GetCall(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !c.VisibleTo(owner)) {
		return nil, call.ErrNotFound
	}
	return c, err
}

// HangUp ends the owner's call (for a group call, only the owner's leg).
// Hanging up a call that is already terminating succeeds and changes nothing.
func (s *Service) HangUp(ctx context.Context, owner call.Owner, id string) error {
	_, err := s.change(ctx, owner, id, func(c *call.Call, now time.Time) ([]call.Event, bool, error) {
		events, err := c.HangUp(now, call.EndedByApplication, s.cfg.Timing)
		if err != nil || len(events) == 0 {
			return nil, false, err
		}
		// With no teardown delay the call terminates in the same step.
		return append(events, c.Advance(now, s.cfg.Timing)...), true, nil
	})
	return err
}

// KeepAlive pushes back the owner's call's inactivity deadline.
func (s *Service) KeepAlive(ctx context.Context, owner call.Owner, id string) error {
	_, err := s.change(ctx, owner, id, func(c *call.Call, now time.Time) ([]call.Event, bool, error) {
		before := c.KeepAliveDeadline
		if err := c.KeepAlive(now, s.cfg.Timing); err != nil {
			return nil, false, err
		}
		return nil, !c.KeepAliveDeadline.Equal(before), nil
	})
	return err
}

// maxConflictRetries bounds the re-reads when concurrent commands race on one
// call. Each retry means another command won, so the bound is never reached
// in practice; it only keeps a bug from becoming a livelock.
const maxConflictRetries = 100

// change applies fn to the owner's call and saves the result with the
// notifications fn's events produce, re-reading and retrying when another
// command saved the call first. fn reports whether it changed the call.
// A zero owner means the service itself, which sees every call.
func (s *Service) change(ctx context.Context, owner call.Owner, id string,
	fn func(*call.Call, time.Time) ([]call.Event, bool, error)) (*call.Call, error) {
	for attempt := 0; ; attempt++ {
		c, err := s.store.GetCall(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, call.ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		if owner != (call.Owner{}) && !c.VisibleTo(owner) {
			return nil, call.ErrNotFound
		}
		now := s.now()
		events, dirty, err := fn(c, now)
		if err != nil || !dirty {
			return c, err
		}
		out, err := s.outbox(c, events, now)
		if err != nil {
			return nil, err
		}
		err = s.store.UpdateCall(ctx, c, out)
		if errors.Is(err, store.ErrConflict) && attempt < maxConflictRetries {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.committed(c, out)
		return c, nil
	}
}

// committed runs after a call's change is durable: its notifications go to
// delivery and its next deadline to the timers.
func (s *Service) committed(c *call.Call, out []store.Notification) {
	if len(out) > 0 {
		s.notifier.Enqueue(out...)
	}
	s.timers.set(c.ID, c.NextDeadline())
}

// outbox renders events as notifications to the call's callback URI, one
// POST each, in order.
func (s *Service) outbox(c *call.Call, events []call.Event, now time.Time) ([]store.Notification, error) {
	out := make([]store.Notification, 0, len(events))
	for _, ev := range events {
		payload, err := json.Marshal(graph.CallNotification(c, ev))
		if err != nil {
			return nil, err
		}
		out = append(out, store.NewNotification(c, payload, now))
	}
	return out, nil
}

// Run drives calls forward on their own until ctx is done: it rebuilds the
// timers from the store, fires them as they come due, and purges calls that
// ended longer ago than the retention period.
func (s *Service) Run(ctx context.Context) error {
	deadlines, err := s.store.Deadlines(ctx)
	if err != nil {
		return fmt.Errorf("control: load deadlines: %w", err)
	}
	for _, d := range deadlines {
		s.timers.set(d.CallID, d.At)
	}
	s.log.Info("timers restored", "calls", len(deadlines))
	go s.purgeLoop(ctx)
	s.timers.run(ctx, s.now, func(due []string) {
		for _, id := range due {
			s.advance(ctx, id)
		}
	})
	return nil
}

// advance applies whatever is due for the call now.
func (s *Service) advance(ctx context.Context, id string) {
	c, err := s.change(ctx, call.Owner{}, id, func(c *call.Call, now time.Time) ([]call.Event, bool, error) {
		events := c.Advance(now, s.cfg.Timing)
		return events, len(events) > 0, nil
	})
	switch {
	case errors.Is(err, call.ErrNotFound), ctx.Err() != nil:
	case err != nil:
		s.log.Error("advance call", "call", id, "err", err)
		// Try again shortly rather than leave the call stuck.
		s.timers.set(id, s.now().Add(time.Second))
	default:
		// When nothing was due (the deadline moved), change saved nothing and
		// the new deadline still needs a timer.
		s.timers.set(id, c.NextDeadline())
	}
}

func (s *Service) purgeLoop(ctx context.Context) {
	if s.cfg.Retention <= 0 {
		return
	}
	tick := time.NewTicker(min(s.cfg.Retention/10, time.Minute))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			calls, notes, err := s.store.Purge(ctx, s.now().Add(-s.cfg.Retention))
			if err != nil && ctx.Err() == nil {
				s.log.Error("purge", "err", err)
			} else if calls+notes > 0 {
				s.log.Debug("purged", "calls", calls, "notifications", notes)
			}
		}
	}
}
