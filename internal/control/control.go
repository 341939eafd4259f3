// Package control is callplane's application layer: it carries out what the
// API and the simulator ask of calls and group calls. Each command is a unit
// of work: it reads calls and groups, applies domain transitions, renders the
// notifications they produce, and saves all of it in one store transaction,
// starting over on fresh reads when another command got there first; only
// after the commit are the notifications handed to delivery. It also runs the
// timers that move calls along on their own (the callee answering, teardown,
// keep-alive expiry, invitations being answered) and purges old calls.
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/metrics"
	"github.com/callplane/callplane/internal/store"
)

// Notifier takes notifications that were just saved and delivers them.
type Notifier interface {
	Enqueue(ns ...store.Notification)
}

// Config tunes the service.
type Config struct {
	Timing call.Timing
	// Metrics, when set, counts commits, the notifications they save and
	// the operations that finish.
	Metrics *metrics.Metrics
	// Retention is how long terminated calls and finished notifications are
	// kept for inspection before they are purged.
	Retention time.Duration
	// CheckCallback, if set, vets a new call's callback URI against the
	// deployment's policy (where notifications may be sent).
	CheckCallback func(uri string) error
	// Media, when set, probes the prompts calls play; without it every
	// prompt plays for a second.
	Media MediaEngine
	// RecordingURL is where a recording downloads from.
	RecordingURL func(callID, opID string) string
	// Parties, when set, says whom an identity reaches: how a simulated
	// person answers, which application an identity is. Without it every
	// callee picks up after the answer delay.
	Parties Parties
	// MaxCallsPerApp, when positive, bounds each application's live calls:
	// Graph's concurrency limit. A call over it is refused with a
	// ThrottledError.
	MaxCallsPerApp int
}

// ThrottledError is a command refused because the application is over a
// limit; it may try again after RetryAfter.
type ThrottledError struct {
	Msg        string
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string { return e.Msg }

// throttledRetryAfter is what a refused call is told to wait: live calls
// end on the bot's schedule, not the service's, so any figure is a guess;
// short enough for the SDKs' retry middleware (three tries) to be useful.
const throttledRetryAfter = 5 * time.Second

// Service executes call commands.
type Service struct {
	store    store.Store
	notifier Notifier
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	timers   *timers
	commits  chan pendingCommit
	stop     chan struct{}
	stopped  chan struct{}
	// running counts commands under way: the committer waits for more units
	// only while some are.
	running atomic.Int64
	// placing serialises an owner's new calls while MaxCallsPerApp is set,
	// so that counting its live calls and placing one are one step.
	placingMu sync.Mutex
	placing   map[call.Owner]*sync.Mutex
	// prefetching bounds the prompt fetches in the background.
	prefetching chan struct{}
	// exclusive is held shared by every unit of work, and alone by
	// Exclusive: a reset sees no command half done.
	exclusive sync.RWMutex
}

// New returns a service over st that hands saved notifications to n. Its
// committer runs until Close.
func New(st store.Store, n Notifier, cfg Config, log *slog.Logger) *Service {
	s := &Service{
		store:       st,
		notifier:    n,
		cfg:         cfg,
		log:         log,
		now:         time.Now,
		timers:      newTimers(),
		placing:     make(map[call.Owner]*sync.Mutex),
		prefetching: make(chan struct{}, 8),
		// Unbuffered: a unit is handed over only when the committer takes
		// it, so every unit handed over is answered.
		commits: make(chan pendingCommit),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go s.commitLoop()
	return s
}

// Exclusive runs fn while no command runs, with every timer cancelled: for
// a reset of the world, which fn does to the store and whatever else
// remembers calls. A command under way finishes first (its notifications
// handed to delivery); commands that come meanwhile wait, then find the
// world fn left.
func (s *Service) Exclusive(fn func() error) error {
	s.exclusive.Lock()
	defer s.exclusive.Unlock()
	s.timers.clear()
	return fn()
}

// Schedule takes the deadlines of calls this node has been made
// responsible for: saved by another node, or taken over from a node that
// died. A deadline of an older version than the one held is ignored.
func (s *Service) Schedule(ds ...store.Deadline) {
	for _, d := range ds {
		s.timers.schedule(d.CallID, d.At, d.Version)
	}
}

// Close stops the committer. Commands after it fail with ErrClosed.
func (s *Service) Close() {
	close(s.stop)
	<-s.stopped
}

// PermissionError is a command the application lacks the permission for.
type PermissionError struct{ Msg string }

func (e *PermissionError) Error() string { return e.Msg }

// requiredRoles returns the application permissions a new call needs: any
// one of the first list, and every one of the second.
func requiredRoles(req call.Request) (anyOf, allOf []string) {
	switch {
	case req.Join != nil:
		anyOf = []string{"Calls.JoinGroupCall.All", "Calls.JoinGroupCallAsGuest.All"}
	case len(req.Targets) > 1:
		anyOf = []string{"Calls.InitiateGroupCall.All"}
	default:
		anyOf = []string{"Calls.Initiate.All"}
	}
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

// Place creates a call for req.Owner, which holds roles: a peer-to-peer
// call, an ad-hoc group call, or a leg that joins a meeting.
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
	if limit := s.cfg.MaxCallsPerApp; limit > 0 {
		unlock := s.lockPlacing(req.Owner)
		defer unlock()
		live, err := s.store.LiveCalls(ctx, req.Owner)
		if err != nil {
			return nil, err
		}
		if len(live) >= limit {
			return nil, &ThrottledError{
				Msg:        fmt.Sprintf("Too many calls: the application has %d live calls, its limit (--max-calls-per-app). Please retry again later.", len(live)),
				RetryAfter: throttledRetryAfter,
			}
		}
	}
	if src := req.Source.Identity; src.Kind == call.ApplicationInstance && s.cfg.Parties != nil && !s.cfg.Parties.OwnsInstance(ctx, req.Owner, src.ID) {
		return nil, &call.InvalidError{Msg: fmt.Sprintf("source.identity.applicationInstance.id %s is not an application instance of the calling application", src.ID)}
	}
	if req.Join == nil && len(req.Targets) == 1 {
		callee, err := s.party(ctx, req.Owner.TenantID, req.Targets[0].Identity)
		if err != nil {
			return nil, err
		}
		req.Callee, req.CalleeScript = callee.Answering, callee.Script
	}
	s.prefetchFor(req.Media)
	var placed *call.Call
	err := s.do(ctx, func(u *unit) error {
		c, events, err := call.Place(req, u.now, s.cfg.Timing)
		if err != nil {
			return err
		}
		switch c.Kind {
		case call.MeetingLeg:
			if err := s.findMeeting(u, c); err != nil {
				return err
			}
		case call.AdHocGroup:
			g := call.NewAdHoc(c.Owner.TenantID, u.now)
			c.GroupID, c.ChainID = g.ID, g.ChainID
			u.touchGroup(g)
		}
		placed = c
		return u.announce(c, events)
	})
	return placed, err
}

// prefetchFor fetches a call's mediaConfig.preFetchMedia, so that its
// prompts are known by the time they are played.
func (s *Service) prefetchFor(m call.Media) {
	if s.cfg.Media != nil && len(m.PreFetch) <= call.MaxPrompts {
		s.prefetch(m.PreFetch)
	}
}

// prefetch fetches prompts in the background, a few at a time: the engine
// keeps what it found, so they play at once when the bot asks. Past the
// bound, they are fetched when played instead.
func (s *Service) prefetch(uris []string) {
	for _, uri := range uris {
		select {
		case s.prefetching <- struct{}{}:
			go func() {
				defer func() { <-s.prefetching }()
				s.cfg.Media.Probe(context.Background(), uri)
			}()
		default:
			return
		}
	}
}

// lockPlacing takes the owner's placing lock and returns its release.
func (s *Service) lockPlacing(o call.Owner) (unlock func()) {
	s.placingMu.Lock()
	mu, ok := s.placing[o]
	if !ok {
		mu = new(sync.Mutex)
		s.placing[o] = mu
	}
	s.placingMu.Unlock()
	mu.Lock()
	return mu.Unlock
}

// EndCalls ends every live call of the owner with the reason (for group
// calls, the owner's legs): what happens to a removed application's calls.
// Their notifications are delivered as any others. It returns how many
// calls it ended.
func (s *Service) EndCalls(ctx context.Context, owner call.Owner, reason call.Result) (int, error) {
	ids, err := s.store.LiveCalls(ctx, owner)
	if err != nil {
		return 0, err
	}
	ended := 0
	for _, id := range ids {
		hungUp := false
		err := s.do(ctx, func(u *unit) error {
			c, err := u.ownCall(owner, id)
			if err != nil {
				return err
			}
			hungUp = c.State.Live()
			return u.hangUp(c, reason)
		})
		switch {
		case err == nil && hungUp:
			ended++
		case err != nil && !errors.Is(err, call.ErrNotFound):
			return ended, err
		}
	}
	return ended, nil
}

// findMeeting attaches a meeting leg to the meeting it names. A leg whose
// meeting does not exist, has ended or does not admit it fails when its
// join is answered, as the real service fails such joins.
func (s *Service) findMeeting(u *unit, c *call.Call) error {
	g, err := s.store.FindMeeting(u.ctx, c.Owner.TenantID, c.Join.Key())
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.FailJoin(call.MeetingNotFound("no meeting has " + c.Join.Describe()))
		return nil
	case err != nil:
		return err
	case g.Ended:
		c.FailJoin(call.MeetingNotFound("the meeting has ended"))
		return nil
	}
	if reason := c.Join.Admits(g.Meeting); reason != nil {
		c.FailJoin(*reason)
		return nil
	}
	c.GroupID, c.ChainID = g.ID, g.ChainID
	// A join by meeting id or token learns the meeting's chat thread, as
	// the service answers it.
	if c.Join.Chat == (call.ChatInfo{}) {
		c.Join.Chat = call.ChatInfo{ThreadID: g.Meeting.ThreadID, MessageID: g.Meeting.MessageID}
	}
	return nil
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
	return s.do(ctx, func(u *unit) error {
		c, err := u.ownCall(owner, id)
		if err != nil {
			return err
		}
		return u.hangUp(c, call.EndedByApplication)
	})
}

// KeepAlive pushes back the owner's call's inactivity deadline.
func (s *Service) KeepAlive(ctx context.Context, owner call.Owner, id string) error {
	return s.do(ctx, func(u *unit) error {
		c, err := u.ownCall(owner, id)
		if err != nil {
			return err
		}
		before := c.KeepAliveDeadline
		if err := c.KeepAlive(u.now, s.cfg.Timing); err != nil {
			return err
		}
		if !c.KeepAliveDeadline.Equal(before) {
			u.touchCall(c)
		}
		return nil
	})
}

// Run drives calls forward on their own until ctx is done: it rebuilds the
// timers from the store, fires them as they come due, and purges calls that
// ended longer ago than the retention period.
func (s *Service) Run(ctx context.Context) error {
	deadlines, err := s.store.Deadlines(ctx)
	if err != nil {
		return fmt.Errorf("control: load deadlines: %w", err)
	}
	s.Schedule(deadlines...)
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
	var next time.Time
	err := s.do(ctx, func(u *unit) error {
		c, err := u.call(id)
		if err != nil {
			return err
		}
		events, changed := c.AdvanceChanged(u.now, s.cfg.Timing)
		next = c.NextDeadline()
		if !changed {
			return nil
		}
		return u.announce(c, events)
	})
	switch {
	case errors.Is(err, call.ErrNotFound), errors.Is(err, ErrClosed), ctx.Err() != nil:
	case err != nil:
		s.log.Error("advance call", "call", id, "err", err)
		// Try again shortly rather than leave the call stuck.
		s.timers.setNoLater(id, s.now().Add(time.Second))
	default:
		// When nothing was due (the deadline moved), nothing was saved and
		// the call still needs a timer for its deadline; but a command may
		// have saved the call since it was read here, and set a sooner one.
		s.timers.setNoLater(id, next)
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
