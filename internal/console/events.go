package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/store"
)

// Live updates.
//
// The console learns what changed from the store, not from the process it
// runs in: on a cluster, calls change on every node, and the console on any
// of them must show them all. While at least one console is connected to a
// node, that node's hub polls the store every PollEvery (500 ms) with
// cheap, indexed queries:
//
//   - calls: ListCalls with ChangedWithin (the calls saved in the last
//     changeWindow, the most recent first, through the calls_changed index),
//     compared by id and version with what the previous poll saw. Each
//     changed call goes to the consoles as its row (admin.CallSummary), so
//     the page updates it without asking; a window fuller than the query's
//     limit tells the pages to re-fetch instead. The window is wider than
//     the poll so that a save committed a little after the time it was
//     stamped with is still seen.
//   - deliveries: the newest notifications and the pending ones (the outbox's
//     primary key and pending index), compared by seq, status and attempts:
//     a new notification, an attempt that failed, a retry, one delivered or
//     given up on.
//   - meetings: ListGroups with ChangedWithin (the meetings and group calls
//     saved in the last changeWindow, through the groups_changed index),
//     compared by id and version as calls are, and sent as their rows
//     (admin.MeetingSummary): the pages list every meeting and update the
//     rows, and the meetings they show open, without a query of the whole
//     listing each.
//   - people: the tenant's simulated people (People, by the people table's
//     primary key; people are set by hand, so they are few), compared by a
//     hash of their ids and when each was last set; the pages list them
//     again when it changes.
//
// With no console connected nothing polls: the poller starts with the first
// stream and stops with the last.
const (
	defaultPollEvery = 500 * time.Millisecond
	changeWindow     = 10 * time.Second
	// changedLimit bounds the calls one poll reads.
	changedLimit = 500
	// recentNotifications and pendingNotifications bound what one poll
	// reads of the outbox.
	recentNotifications  = 50
	pendingNotifications = 100
	// maxStreams bounds the event streams one node serves at once.
	maxStreams = 64
	// pingEvery keeps idle streams (and proxies in front of them) alive.
	pingEvery = 15 * time.Second
)

// hub fans what the poller sees out to the connected streams.
type hub struct {
	src    Source
	tenant string
	every  time.Duration
	log    *slog.Logger

	mu      sync.Mutex
	subs    map[*stream]struct{}
	stop    context.CancelFunc // set while the poller runs
	stopped chan struct{}      // closed when that poller has returned
	closing chan struct{}      // closed by close: streams end
}

// stream is one connected console and what it has yet to be sent.
type stream struct {
	wake chan struct{}

	mu           sync.Mutex
	calls        map[string]admin.CallSummary
	resync       bool
	deliveries   map[string]bool // calls whose deliveries changed
	anyCall      bool            // deliveries changed, of calls not named
	groups       map[string]admin.MeetingSummary
	groupsResync bool
	people       bool
}

func newHub(src Source, tenant string, every time.Duration, log *slog.Logger) *hub {
	return &hub{src: src, tenant: tenant, every: every, log: log, subs: make(map[*stream]struct{}), closing: make(chan struct{})}
}

var errTooManyStreams = errors.New("console: too many event streams")

// subscribe adds a stream, starting the poller if it is the first.
func (h *hub) subscribe() (*stream, error) {
	s := &stream{wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= maxStreams {
		return nil, errTooManyStreams
	}
	h.subs[s] = struct{}{}
	if h.stop == nil && h.src != nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		h.stop, h.stopped = cancel, done
		go func() {
			defer close(done)
			h.run(ctx)
		}()
	}
	return s, nil
}

// unsubscribe removes a stream, stopping the poller after the last.
func (h *hub) unsubscribe(s *stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
	if len(h.subs) == 0 && h.stop != nil {
		h.stop()
		h.stop = nil
	}
}

// polling reports whether the poller runs (for tests).
func (h *hub) polling() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stop != nil
}

// close ends every stream, for good.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.closing:
	default:
		close(h.closing)
	}
}

// pollState is what the previous poll saw.
type pollState struct {
	calls      map[string]int64  // call id: version, of the calls in the window
	outbox     map[int64]outSeen // seq: delivery, of the notifications read
	outboxHash uint64
	groups     map[string]int64 // group id: version, of the groups in the window
	people     uint64           // hash of the people's ids and times set
	peopleRead bool
}

type outSeen struct {
	callID   string
	status   store.Status
	attempts int
}

func (h *hub) run(ctx context.Context) {
	st := pollState{}
	tick := time.NewTicker(h.every)
	defer tick.Stop()
	for {
		h.poll(ctx, &st)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// poll asks the store what changed since the previous poll and tells the
// streams. The first poll of a poller tells them about everything in the
// window: a page that loaded just before the poller started still hears of
// changes made meanwhile.
func (h *hub) poll(ctx context.Context, st *pollState) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h.pollCalls(ctx, st)
	h.pollOutbox(ctx, st)
	h.pollGroups(ctx, st)
	h.pollPeople(ctx, st)
}

func (h *hub) pollCalls(ctx context.Context, st *pollState) {
	calls, err := h.src.ListCalls(ctx, store.CallFilter{TenantID: h.tenant, ChangedWithin: changeWindow, Limit: changedLimit})
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("console: poll calls", "err", err)
		}
		return
	}
	var changed []admin.CallSummary
	st.calls, changed = changes(calls, st.calls, func(c *call.Call) (string, int64) { return c.ID, c.Version }, admin.SummaryOf)
	if len(changed) == 0 {
		return
	}
	full := len(calls) == changedLimit
	h.each(func(s *stream) {
		s.calls = merge(s.calls, changed, func(c admin.CallSummary) string { return c.ID })
		s.resync = s.resync || full
	})
}

// changes compares the versions of what a poll read with the previous
// poll's: it returns the new versions, and the rows of what is new or
// changed.
func changes[T, R any](read []*T, previous map[string]int64, key func(*T) (string, int64), row func(*T) R) (map[string]int64, []R) {
	seen := make(map[string]int64, len(read))
	var changed []R
	for _, x := range read {
		id, version := key(x)
		seen[id] = version
		if v, ok := previous[id]; !ok || v != version {
			changed = append(changed, row(x))
		}
	}
	return seen, changed
}

// merge adds rows to what a stream has yet to send, by id.
func merge[R any](pending map[string]R, rows []R, id func(R) string) map[string]R {
	if pending == nil {
		pending = make(map[string]R, len(rows))
	}
	for _, r := range rows {
		pending[id(r)] = r
	}
	return pending
}

func (h *hub) pollOutbox(ctx context.Context, st *pollState) {
	recent, err := h.src.Notifications(ctx, store.Filter{Limit: recentNotifications})
	if err == nil {
		var pending []store.Notification
		pending, err = h.src.Notifications(ctx, store.Filter{Status: store.Pending, Limit: pendingNotifications})
		recent = append(recent, pending...)
	}
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("console: poll deliveries", "err", err)
		}
		return
	}
	now := make(map[int64]outSeen, len(recent))
	hash := fnv.New64a()
	for _, n := range recent {
		now[n.Seq] = outSeen{callID: n.CallID, status: n.Status, attempts: n.Attempts}
	}
	seqs := make([]int64, 0, len(now))
	for seq := range now {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		o := now[seq]
		fmt.Fprintf(hash, "%d:%s:%d;", seq, o.status, o.attempts)
	}
	sum := hash.Sum64()
	first := st.outbox == nil
	if !first && sum == st.outboxHash {
		return
	}
	calls := map[string]bool{}
	for seq, o := range now {
		if was, ok := st.outbox[seq]; !ok || was != o {
			calls[o.callID] = true
		}
	}
	for seq, was := range st.outbox {
		if _, ok := now[seq]; !ok && was.status == store.Pending {
			calls[was.callID] = true // no longer pending: delivered or given up on
		}
	}
	st.outbox, st.outboxHash = now, sum
	h.each(func(s *stream) {
		if s.deliveries == nil {
			s.deliveries = make(map[string]bool)
		}
		for id := range calls {
			s.deliveries[id] = true
		}
		s.anyCall = s.anyCall || first || len(calls) == 0
	})
}

func (h *hub) pollGroups(ctx context.Context, st *pollState) {
	groups, err := h.src.ListGroups(ctx, store.GroupFilter{TenantID: h.tenant, ChangedWithin: changeWindow, Limit: changedLimit})
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("console: poll meetings", "err", err)
		}
		return
	}
	var changed []admin.MeetingSummary
	st.groups, changed = changes(groups, st.groups, func(g *call.Group) (string, int64) { return g.ID, g.Version }, admin.MeetingSummaryOf)
	if len(changed) == 0 {
		return
	}
	full := len(groups) == changedLimit
	h.each(func(s *stream) {
		s.groups = merge(s.groups, changed, func(g admin.MeetingSummary) string { return g.ID })
		s.groupsResync = s.groupsResync || full
	})
}

func (h *hub) pollPeople(ctx context.Context, st *pollState) {
	people, err := h.src.People(ctx, h.tenant)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("console: poll people", "err", err)
		}
		return
	}
	hash := fnv.New64a()
	for _, p := range people {
		fmt.Fprintf(hash, "%s:%d;", p.ID, p.UpdatedAt.UnixNano())
	}
	sum := hash.Sum64()
	if st.peopleRead && sum == st.people {
		return
	}
	// The first read is announced too, as the outbox's is.
	st.people, st.peopleRead = sum, true
	h.each(func(s *stream) { s.people = true })
}

// each updates every stream's pending events with fn and wakes it.
func (h *hub) each(fn func(*stream)) {
	h.mu.Lock()
	subs := make([]*stream, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		s.mu.Lock()
		fn(s)
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// CallsEvent is the data of a "calls" event: the rows of the calls that
// changed, or, with Resync, word that more changed than fit and the page
// should list the calls again.
type CallsEvent struct {
	Calls  []admin.CallSummary `json:"calls"`
	Resync bool                `json:"resync,omitempty"`
}

// DeliveriesEvent is the data of a "deliveries" event: the calls whose
// notifications or their deliveries changed; All when that may be any.
type DeliveriesEvent struct {
	Calls []string `json:"calls"`
	All   bool     `json:"all,omitempty"`
}

// MeetingsEvent is the data of a "meetings" event: the rows of the
// meetings and group calls that changed, or, with Resync, word that more
// changed than fit and the page should list them again.
type MeetingsEvent struct {
	Meetings []admin.MeetingSummary `json:"meetings"`
	Resync   bool                   `json:"resync,omitempty"`
}

// take returns the stream's pending events as SSE event names and data,
// and forgets them.
func (s *stream) take() [][2]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][2]string
	add := func(name string, v any) {
		data, err := json.Marshal(v)
		if err == nil {
			out = append(out, [2]string{name, string(data)})
		}
	}
	if len(s.calls) > 0 || s.resync {
		ev := CallsEvent{Calls: make([]admin.CallSummary, 0, len(s.calls)), Resync: s.resync}
		for _, c := range s.calls {
			ev.Calls = append(ev.Calls, c)
		}
		slices.SortFunc(ev.Calls, func(a, b admin.CallSummary) int { return strings.Compare(a.ID, b.ID) })
		add("calls", ev)
		s.calls, s.resync = nil, false
	}
	if len(s.deliveries) > 0 || s.anyCall {
		ev := DeliveriesEvent{Calls: make([]string, 0, len(s.deliveries)), All: s.anyCall}
		for id := range s.deliveries {
			ev.Calls = append(ev.Calls, id)
		}
		slices.Sort(ev.Calls)
		add("deliveries", ev)
		s.deliveries, s.anyCall = nil, false
	}
	if len(s.groups) > 0 || s.groupsResync {
		ev := MeetingsEvent{Meetings: make([]admin.MeetingSummary, 0, len(s.groups)), Resync: s.groupsResync}
		for _, g := range s.groups {
			ev.Meetings = append(ev.Meetings, g)
		}
		slices.SortFunc(ev.Meetings, func(a, b admin.MeetingSummary) int { return strings.Compare(a.ID, b.ID) })
		add("meetings", ev)
		s.groups, s.groupsResync = nil, false
	}
	if s.people {
		add("people", struct{}{})
		s.people = false
	}
	return out
}

// events streams server-sent events: "hello" once connected (the page
// then loads what it shows), then "calls", "deliveries", "meetings" and
// "people" as the store changes.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// The server's read timeout would end the stream: lift it, as every
	// long-lived response must.
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		writeError(w, http.StatusInternalServerError, "generalException", "The event stream cannot be kept open.")
		return
	}
	rc.SetWriteDeadline(time.Time{})
	s, err := c.hub.subscribe()
	if err != nil {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "tooManyStreams", "Too many consoles are open on this node.")
		return
	}
	defer c.hub.unsubscribe(s)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\nevent: hello\ndata: {}\n\n"); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.hub.closing:
			return
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
		case <-s.wake:
			for _, ev := range s.take() {
				if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev[0], ev[1]); err != nil {
					return
				}
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}
