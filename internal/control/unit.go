package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/metrics"
	"github.com/callplane/callplane/internal/store"
)

// unit is one command's unit of work: the calls and groups it read, what it
// changed, and the notifications the changes produce. It is saved in one
// transaction or not at all; when another command saved the same call or
// group first, the whole command runs again on fresh reads.
type unit struct {
	s   *Service
	ctx context.Context
	now time.Time

	calls  map[string]*call.Call
	groups map[string]*call.Group
	dirty  map[any]bool
	ch     store.Changes
	// finished are the operations the unit's changes end, counted once
	// they are saved.
	finished []*call.Operation
}

// do runs fn as a unit of work and saves what it changed.
func (s *Service) do(ctx context.Context, fn func(u *unit) error) error {
	s.exclusive.RLock()
	defer s.exclusive.RUnlock()
	s.running.Add(1)
	defer s.running.Add(-1)
	for attempt := 0; ; attempt++ {
		u := &unit{
			s:      s,
			ctx:    ctx,
			now:    s.now(),
			calls:  map[string]*call.Call{},
			groups: map[string]*call.Group{},
			dirty:  map[any]bool{},
		}
		if err := fn(u); err != nil {
			return err
		}
		if u.ch.Empty() {
			return nil
		}
		err := s.commit(ctx, &u.ch)
		if errors.Is(err, store.ErrConflict) && attempt < maxConflictRetries {
			continue
		}
		if err == nil {
			for _, op := range u.finished {
				s.cfg.Metrics.OperationFinished(string(op.Type), string(op.Status))
			}
		}
		return err
	}
}

// maxConflictRetries bounds the re-runs when concurrent commands race on the
// same call or group. Each re-run means another command won, so the bound is
// never reached in practice; it only keeps a bug from becoming a livelock.
const maxConflictRetries = 1000

// commit saves the changes through the committer and waits for the outcome.
func (s *Service) commit(ctx context.Context, ch *store.Changes) error {
	done := make(chan error, 1)
	select {
	case s.commits <- pendingCommit{ch: ch, done: done}:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return ErrClosed
	}
	return <-done // the committer answers every unit it took
}

// ErrClosed is a command that came after the service was closed.
var ErrClosed = errors.New("control: service closed")

type pendingCommit struct {
	ch   *store.Changes
	done chan error
}

// maxBatch bounds how many units one store commit saves.
const maxBatch = 256

// linger is how long the committer waits for more units when other
// commands are running: a store commit costs about the same for one unit as
// for a dozen, so under load a short wait buys throughput, and when nothing
// else runs it does not wait at all.
const linger = 300 * time.Microsecond

// commitLoop is the committer: it saves units in batches (whatever queued
// up while the previous batch was being written), so that under load one
// store commit serves many commands; then, in commit order, it hands each
// saved unit's notifications to delivery and re-arms its calls' timers.
// One goroutine doing both keeps delivery receiving notifications in the
// order of their sequence numbers: one call's notifications never overtake
// each other.
func (s *Service) commitLoop() {
	defer close(s.stopped)
	batch := make([]pendingCommit, 0, maxBatch)
	changes := make([]*store.Changes, 0, maxBatch)
	timer := time.NewTimer(linger)
	timer.Stop()
	for {
		var p pendingCommit
		select {
		case p = <-s.commits:
		case <-s.stop:
			return
		}
		batch = append(batch[:0], p)
		lingering := false
	gather:
		for len(batch) < maxBatch {
			select {
			case p := <-s.commits:
				batch = append(batch, p)
				continue
			default:
			}
			// Nothing queued. Wait a little only if commands still running
			// will commit soon.
			if lingering || int(s.running.Load()) <= len(batch) {
				break
			}
			lingering = true
			timer.Reset(linger)
			select {
			case p := <-s.commits:
				timer.Stop()
				batch = append(batch, p)
			case <-timer.C:
				break gather
			}
		}
		changes = changes[:0]
		for _, p := range batch {
			changes = append(changes, p.ch)
		}
		began := time.Now()
		errs := s.store.SaveBatch(context.Background(), changes)
		s.cfg.Metrics.Commit(len(changes), time.Since(began))
		for i, p := range batch {
			if errs[i] == nil {
				s.handOn(p.ch)
			}
			p.done <- errs[i]
		}
	}
}

// handOn gives a saved unit's notifications to delivery and its calls'
// deadlines to the timers, except those of calls another node owns (which
// the store handed to it).
func (s *Service) handOn(ch *store.Changes) {
	s.cfg.Metrics.Notifications(metrics.Created, len(ch.Notifications))
	ns := ch.Notifications
	if len(ch.Elsewhere) > 0 {
		ns = slices.DeleteFunc(slices.Clone(ns), func(n store.Notification) bool { return ch.Elsewhere[n.CallID] })
	}
	if len(ns) > 0 {
		s.notifier.Enqueue(ns...)
	}
	for _, c := range ch.Calls {
		if !ch.Elsewhere[c.ID] {
			s.timers.schedule(c.ID, c.NextDeadline(), c.Version)
		}
	}
}

// call returns the call with the id, read once per unit.
func (u *unit) call(id string) (*call.Call, error) {
	if c, ok := u.calls[id]; ok {
		return c, nil
	}
	c, err := u.s.store.GetCall(u.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, call.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	u.calls[id] = c
	return c, nil
}

// ownCall returns the owner's call; any other is not found.
func (u *unit) ownCall(owner call.Owner, id string) (*call.Call, error) {
	c, err := u.call(id)
	if err != nil {
		return nil, err
	}
	if !c.VisibleTo(owner) {
		return nil, call.ErrNotFound
	}
	return c, nil
}

// group returns the group call with the id, read once per unit.
func (u *unit) group(id string) (*call.Group, error) {
	if g, ok := u.groups[id]; ok {
		return g, nil
	}
	g, err := u.s.store.GetGroup(u.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSuchGroup
	}
	if err != nil {
		return nil, err
	}
	u.groups[id] = g
	return g, nil
}

// ErrNoSuchGroup is a group call or meeting that does not exist.
var ErrNoSuchGroup = errors.New("no such group call or meeting")

// touchCall marks a call changed (or new).
func (u *unit) touchCall(c *call.Call) {
	u.calls[c.ID] = c
	if !u.dirty[c] {
		u.dirty[c] = true
		u.ch.Calls = append(u.ch.Calls, c)
	}
}

// touchGroup marks a group changed (or new).
func (u *unit) touchGroup(g *call.Group) {
	u.groups[g.ID] = g
	if !u.dirty[g] {
		u.dirty[g] = true
		u.ch.Groups = append(u.ch.Groups, g)
	}
}

// notify queues a notification body for the call's callback URI.
func (u *unit) notify(c *call.Call, body any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	u.ch.Notifications = append(u.ch.Notifications, store.NewNotification(c, payload, u.now))
	return nil
}

// announce records that the call changed with events: it notifies the
// call's bot of each, then keeps the group call in step (the leg joins the
// roster once established and leaves it once it ends; a finished invitation
// brings its invitees in).
func (u *unit) announce(c *call.Call, events []call.Event) error {
	u.touchCall(c)
	for _, ev := range events {
		if op := ev.Operation; op != nil && op.Recording != nil && op.Recording.Location == "" && u.s.cfg.RecordingURL != nil {
			op.Recording.Location = u.s.cfg.RecordingURL(c.ID, op.ID)
			c.LocateRecording(op.ID, op.Recording.Location)
		}
	}
	for _, ev := range events {
		if err := u.notify(c, graph.Notification(c, ev)); err != nil {
			return err
		}
		if op := ev.Operation; op != nil && ev.Change == call.Deleted && (op.Status == call.Completed || op.Status == call.Failed) {
			u.finished = append(u.finished, op)
		}
	}
	for _, ev := range events {
		if ev.Transferred != nil {
			if err := u.transferred(c, ev.Transferred); err != nil {
				return err
			}
		}
	}
	if c.GroupID == "" {
		return nil
	}
	for _, ev := range events {
		op := ev.Operation
		if op == nil || op.Status != call.Completed {
			continue
		}
		switch op.Type {
		case call.InviteParticipants:
			if err := u.admit(c.GroupID, op.Invitees); err != nil {
				return err
			}
		case call.AddLargeGalleryView:
			if err := u.addLargeGallery(c); err != nil {
				return err
			}
		}
	}
	return u.syncMembership(c)
}

// syncMembership puts an established leg on its group's roster, and takes an
// ending one off it.
func (u *unit) syncMembership(c *call.Call) error {
	g, err := u.group(c.GroupID)
	if err != nil {
		return err
	}
	member, in := g.LegMember(c.ID)
	switch {
	case c.State == call.Established && !in && g.Ended:
		// The group call ended while this leg was being set up.
		events, err := c.HangUp(u.now, call.ConversationEnded, u.s.cfg.Timing)
		if err != nil {
			return err
		}
		return u.announce(c, append(events, c.Advance(u.now, u.s.cfg.Timing)...))
	case c.State == call.Established && !in:
		joining := []call.Member{{ParticipantID: c.MyParticipantID, Identity: c.Self().Identity, LegID: c.ID}}
		if c.Kind == call.AdHocGroup && len(g.Members) == 0 {
			// The people an ad-hoc group call was placed to answer with it.
			for _, t := range c.Targets {
				joining = append(joining, call.Member{ParticipantID: t.ParticipantID, Identity: t.Identity})
			}
		}
		change, err := g.Join(joining...)
		if errors.Is(err, call.ErrGroupFull) {
			// Like a join the meeting refuses: the leg ends.
			events, err := c.HangUp(u.now, call.MeetingNotFound("the meeting is full"), u.s.cfg.Timing)
			if err != nil {
				return err
			}
			return u.announce(c, append(events, c.Advance(u.now, u.s.cfg.Timing)...))
		}
		if err != nil {
			return err
		}
		return u.rosterChanged(g, change)
	case !c.State.Live() && in:
		change, err := g.Leave(member.ParticipantID, u.now)
		if err != nil {
			return err
		}
		return u.rosterChanged(g, change)
	}
	return nil
}

// admit brings invited people into the group call; the peer-to-peer calls
// their invitations replace end.
func (u *unit) admit(groupID string, invitees []call.Participant) error {
	for _, p := range invitees {
		if p.ReplacesCallID == "" {
			continue
		}
		if replaced, err := u.call(p.ReplacesCallID); err == nil && replaced.State.Live() {
			if err := u.hangUp(replaced, call.MovedToGroupCall); err != nil {
				return err
			}
		}
	}
	g, err := u.group(groupID)
	if err != nil {
		return err
	}
	var joining []call.Member
	for _, p := range invitees {
		joining = append(joining, call.Member{ParticipantID: p.ParticipantID, Identity: p.Identity})
	}
	change, err := g.Join(joining...)
	if errors.Is(err, call.ErrGroupEnded) || errors.Is(err, call.ErrGroupFull) {
		return nil // ended, or filled up since the invitation: nobody more joins
	}
	if err != nil {
		return err
	}
	return u.rosterChanged(g, change)
}

// addLargeGallery brings the leg's large gallery view into its group call,
// once addLargeGalleryView completed.
func (u *unit) addLargeGallery(c *call.Call) error {
	g, err := u.group(c.GroupID)
	if err != nil {
		return err
	}
	change, err := g.AddLargeGallery(c.ID)
	if errors.Is(err, call.ErrGroupEnded) || errors.Is(err, call.ErrNoSuchMember) || errors.Is(err, call.ErrGroupFull) {
		return nil // the call ended, or the meeting filled up, meanwhile
	}
	if err != nil {
		return err
	}
	return u.rosterChanged(g, change)
}

// rosterChanged saves the group and tells every leg still in it: the whole
// roster, or only the change for legs that asked for delta rosters (a leg
// that just joined gets the whole roster either way). A roster larger than
// call.MaxFullRoster is never sent whole: every leg gets the change. Legs
// that asked for content sharing notifications hear what the change did to
// the presentation under way.
func (u *unit) rosterChanged(g *call.Group, change call.RosterChange) error {
	u.touchGroup(g)
	if change.Empty() && change.Content == nil {
		return nil
	}
	for _, m := range g.Legs() {
		leg, err := u.call(m.LegID)
		if err != nil {
			return fmt.Errorf("leg %s of group %s: %w", m.LegID, g.ID, err)
		}
		if !change.Empty() {
			body := graph.RosterNotification(leg.ID, g.Members, nil)
			if len(g.Members) > call.MaxFullRoster || (leg.Options.DeltaRoster && !change.HasJoined(m.ParticipantID)) {
				body = graph.RosterNotification(leg.ID, change.Updated, change.Removed)
			}
			if err := u.notify(leg, body); err != nil {
				return err
			}
		}
		if content := contentNews(g, change, m.ParticipantID); content != nil && leg.Options.ContentSharingNotifications {
			if err := u.notify(leg, graph.ContentSharingNotification(leg.ID, *content)); err != nil {
				return err
			}
		}
	}
	return nil
}

// contentNews is what a leg hears of content sharing with a roster change:
// what the change did to it, or, for a leg that just joined, the
// presentation already under way.
func contentNews(g *call.Group, change call.RosterChange, participantID string) *call.ContentChange {
	if change.Content != nil {
		return change.Content
	}
	if g.Content != nil && change.HasJoined(participantID) {
		return &call.ContentChange{Change: call.Created, Session: *g.Content}
	}
	return nil
}

// leave takes a participant off a group call for a reason: a person simply
// leaves; an application's leg ends with the reason. When the last person
// leaves, the group call is over for the legs still in it.
func (u *unit) leave(g *call.Group, participantID string, reason call.Result) error {
	m, ok := g.Member(participantID)
	if !ok {
		return call.ErrNoSuchMember
	}
	if m.LegID != "" {
		leg, err := u.call(m.LegID)
		if err != nil {
			return err
		}
		return u.hangUp(leg, reason)
	}
	change, err := g.Leave(participantID, u.now)
	if err != nil {
		return err
	}
	if err := u.rosterChanged(g, change); err != nil {
		return err
	}
	if m.Human() && g.Humans() == 0 && len(g.Legs()) > 0 {
		// The last person left (a large gallery view leaving is not that).
		return u.end(g, call.AllOthersLeft)
	}
	return nil
}

// end ends a group call: every leg still in it terminates with the reason,
// once, and no roster follows.
func (u *unit) end(g *call.Group, reason call.Result) error {
	legs := g.End(u.now)
	u.touchGroup(g)
	for _, m := range legs {
		leg, err := u.call(m.LegID)
		if err != nil {
			return err
		}
		if err := u.hangUp(leg, reason); err != nil {
			return err
		}
	}
	return nil
}

// hangUp ends a call for a reason, terminating it at once when there is no
// teardown delay.
func (u *unit) hangUp(c *call.Call, reason call.Result) error {
	events, err := c.HangUp(u.now, reason, u.s.cfg.Timing)
	if err != nil || len(events) == 0 {
		return err
	}
	return u.announce(c, append(events, c.Advance(u.now, u.s.cfg.Timing)...))
}
