// Package delivery POSTs saved notifications to bots' callback URIs.
//
// Its guarantees: one call's notifications are delivered strictly in order,
// the next only after the previous was acknowledged with a 2xx or given up on;
// failures are retried with exponential backoff and jitter until a deadline;
// and a slow or dead bot only holds up its own calls. Notifications come from
// the store's outbox (at start, everything still pending) and from the
// control layer right after it saved them, so delivery never works from
// anything that is not already durable.
//
// Fairness between callback hosts (host and port): each has at most
// PerHostConcurrency attempts in flight, and an attempt starts only in one
// of MaxConcurrency fresh slots. An attempt still running after SlowAfter
// gives its fresh slot back and goes on in one of MaxSlow slow slots, or,
// if none is free, is cut short and retried later. So a fresh slot is never
// held longer than SlowAfter, and however many hosts hang, a healthy bot's
// notification starts within about SlowAfter; hung hosts share a bounded
// pool of their own. A host that has failed every attempt for RetryDeadline
// is dead: its notifications get one attempt each instead of retries, and
// it may hold at most MaxBacklog undelivered ones; each notification given
// up on is recorded as failed, with the reason.
package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callplane/callplane/internal/fault"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/metrics"
	"github.com/callplane/callplane/internal/store"
)

// Store is the part of the store delivery needs.
type Store interface {
	Pending(ctx context.Context) ([]store.Notification, error)
	RecordDeliveries(ctx context.Context, updates []store.DeliveryUpdate) error
}

// TokenSource signs the bearer token put on each callback.
type TokenSource interface {
	Token(appID, tenantID string) (string, error)
}

// Config bounds delivery's concurrency, timeouts and retries.
type Config struct {
	// Metrics, when set, counts what happens to notifications.
	Metrics *metrics.Metrics
	// PerHostConcurrency caps requests in flight to one callback host, so a
	// host that hangs holds at most this many of the global slots.
	PerHostConcurrency int
	// MaxConcurrency caps requests in flight overall.
	MaxConcurrency int
	// ConnectTimeout bounds establishing a connection to a bot.
	ConnectTimeout time.Duration
	// ResponseTimeout bounds waiting for a bot's response once the request
	// was sent.
	ResponseTimeout time.Duration
	// RetryDeadline is how long a notification is retried, from its first
	// attempt, before it is marked failed and the call's next one goes.
	RetryDeadline time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts, which
	// doubles from MinBackoff with full jitter.
	MinBackoff, MaxBackoff time.Duration
	// SlowAfter is when an attempt in flight is slow: it moves from the
	// fresh slots to the slow ones.
	SlowAfter time.Duration
	// MaxSlow caps slow attempts in flight.
	MaxSlow int
	// MaxBacklog caps the undelivered notifications of one callback host;
	// past it, new ones are failed at once, with the reason.
	MaxBacklog int
	// MaxRedirects caps how many 302s one attempt follows.
	MaxRedirects int
	// Policy limits where notifications may go, redirects included.
	Policy Policy
	// Faults, when set, may delay, duplicate, reorder or drop
	// notifications, as tests ask.
	Faults *fault.Set
}

// DefaultConfig suits a developer's machine.
var DefaultConfig = Config{
	PerHostConcurrency: 16,
	MaxConcurrency:     512,
	ConnectTimeout:     5 * time.Second,
	ResponseTimeout:    15 * time.Second,
	RetryDeadline:      10 * time.Minute,
	MinBackoff:         100 * time.Millisecond,
	MaxBackoff:         30 * time.Second,
	SlowAfter:          250 * time.Millisecond,
	MaxSlow:            512,
	MaxBacklog:         10000,
	MaxRedirects:       5,
}

// Bounds on what a bot's answer may cost: its headers are refused past
// maxResponseHeader, and at most drainLimit of its body is read (the
// connection is dropped rather than read further).
const (
	maxResponseHeader = 16 << 10
	drainLimit        = 4 << 10
)

// The headers of the real service's callbacks. The chain and message id
// headers are spelled as the real service spells them, which is not Go's
// canonical form; HTTP header names are case-insensitive either way.
const (
	headerChainID    = "X-Microsoft-Skype-Chain-ID"
	headerMessageID  = "X-Microsoft-Skype-Message-ID"
	headerScenarioID = "Scenario-Id"
)

var (
	jsonContent    = []string{"application/json"}
	userAgentValue = []string{"Microsoft-Skype/3.0,(Calling/1.0)"}
)

// Dispatcher delivers notifications.
type Dispatcher struct {
	cfg    Config
	store  Store
	tokens TokenSource
	client *http.Client
	log    *slog.Logger
	// fresh and slow are semaphores: an attempt starts in a fresh slot and
	// moves to a slow one after SlowAfter.
	fresh, slow chan struct{}

	// ctx ends taking new work; abort ends attempts in flight.
	ctx      context.Context
	abortCtx context.Context
	abort    context.CancelFunc
	updates  chan store.DeliveryUpdate
	// reported counts the updates handed to the flusher; saved, under
	// savedMu, those it saved, and savedMore is closed when it saves more.
	reported  atomic.Int64
	savedMu   sync.Mutex
	saved     int64
	savedMore chan struct{}
	wg        sync.WaitGroup // workers and timers
	flushed   chan struct{}

	mu      sync.Mutex
	stopped bool // set by Wait: no worker or retry starts after it
	streams map[string]*stream
	hosts   map[string]*host
	// loaded is the highest seq read from the store at start; anything
	// enqueued at or below it is already queued.
	loaded int64
}

// stream is one call's queue: its notifications go one at a time, in order.
type stream struct {
	callID string
	host   *host
	queue  []store.Notification
	state  streamState
	// headSince is when the head notification was first attempted by this
	// process: its retry deadline counts from there.
	headSince time.Time
	// forgotten says Forget dropped the stream: an attempt in flight
	// finishes, and nothing follows it.
	forgotten bool
	// faulted holds the seqs of queued notifications that fault rules were
	// asked about, so that each is asked once; duplicate is the head's
	// second sending, when a rule asked for one.
	faulted   map[int64]bool
	duplicate bool
}

type streamState int

const (
	idle    streamState = iota // nothing queued
	ready                      // waiting for a worker of its host
	busy                       // its head is being delivered
	parked                     // waiting to retry its head, or delayed by a fault
	holding                    // its head waits for the next notification to overtake it (a reorder fault)
)

// reorderWait bounds how long a reordered notification waits for the one
// that is to overtake it; then it goes anyway.
const reorderWait = 30 * time.Second

// host is a callback host's share of delivery: streams ready to send to it,
// how many workers are sending to it now, and how it has been answering.
type host struct {
	key    string
	ready  []*stream
	active int
	// queued counts its undelivered notifications, across its streams.
	queued int
	// failingSince is when its current run of failed attempts began; zero
	// after a success.
	failingSince time.Time
}

// New returns a dispatcher; Start starts it.
func New(st Store, tokens TokenSource, cfg Config, log *slog.Logger) *Dispatcher {
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		DialContext:            cfg.Policy.DialContext(dialer.DialContext),
		ResponseHeaderTimeout:  cfg.ResponseTimeout,
		MaxResponseHeaderBytes: maxResponseHeader,
		TLSHandshakeTimeout:    cfg.ConnectTimeout,
		MaxIdleConns:           cfg.MaxConcurrency,
		MaxIdleConnsPerHost:    cfg.PerHostConcurrency,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &Dispatcher{
		cfg:    cfg,
		store:  st,
		tokens: tokens,
		client: &http.Client{
			Transport: transport,
			// Redirects are followed by hand: Go's client would turn the POST
			// into a GET.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log:       log,
		fresh:     make(chan struct{}, cfg.MaxConcurrency),
		slow:      make(chan struct{}, cfg.MaxSlow),
		updates:   make(chan store.DeliveryUpdate, 1024),
		savedMore: make(chan struct{}),
		flushed:   make(chan struct{}),
		streams:   make(map[string]*stream),
		hosts:     make(map[string]*host),
	}
}

// Start queues every notification still pending in the store and starts
// delivering. Call it before anything can Enqueue. Delivery stops taking new
// work when ctx is done; Wait lets the attempts in flight finish.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.ctx = ctx
	d.abortCtx, d.abort = context.WithCancel(context.Background())
	pending, err := d.store.Pending(ctx)
	if err != nil {
		return fmt.Errorf("delivery: load pending: %w", err)
	}
	go d.flushLoop()
	d.mu.Lock()
	for _, n := range pending {
		d.enqueueLocked(n)
		d.loaded = max(d.loaded, n.Seq)
	}
	d.mu.Unlock()
	if len(pending) > 0 {
		d.log.Info("resuming delivery", "pending", len(pending))
	}
	return nil
}

// Wait blocks until delivery has stopped after its context ended and every
// outcome has been saved. Attempts in flight may finish until ctx is done;
// then they are cut short, and their notifications are sent again after the
// next start.
func (d *Dispatcher) Wait(ctx context.Context) {
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
	idle := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(idle)
	}()
	select {
	case <-idle:
	case <-ctx.Done():
		d.abort()
		<-idle
	}
	d.abort()
	close(d.updates)
	<-d.flushed
}

// Forget drops every notification queued or waiting for a retry, as when
// the world is reset: none of them is sent. Attempts in flight finish, and
// their outcomes are recorded (of notifications no longer stored).
func (d *Dispatcher) Forget() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.streams {
		s.forgotten = true
		s.state = idle // a parked stream's retry timer finds it idle
		s.queue = nil
	}
	for _, h := range d.hosts {
		h.ready = nil // its workers finish their attempt and stop
		h.queued = 0
	}
	clear(d.streams)
}

// Enqueue takes notifications that were just saved.
func (d *Dispatcher) Enqueue(ns ...store.Notification) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range ns {
		if n.Seq > d.loaded {
			d.enqueueLocked(n)
		}
	}
}

// Backlog counts the notifications this node has yet to deliver: queued,
// in flight, or waiting for a retry.
func (d *Dispatcher) Backlog() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, h := range d.hosts {
		n += h.queued
	}
	return n
}

// Take queues notifications of calls this node has just been made
// responsible for: handed over by the node that saved them, or taken over
// from a node that died. Unlike Enqueue it takes notifications older than
// the ones loaded at start, and skips any it has queued already.
func (d *Dispatcher) Take(ns ...store.Notification) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range ns {
		if s, ok := d.streams[n.CallID]; ok && slices.ContainsFunc(s.queue, func(q store.Notification) bool { return q.Seq == n.Seq }) {
			continue
		}
		d.enqueueLocked(n)
	}
}

func (d *Dispatcher) enqueueLocked(n store.Notification) {
	s, ok := d.streams[n.CallID]
	if !ok {
		s = &stream{callID: n.CallID, host: d.hostFor(n.CallbackURI)}
	}
	if s.host.queued >= d.cfg.MaxBacklog {
		// Refused, not dropped: recorded as failed, with the reason.
		d.report(store.DeliveryUpdate{Seq: n.Seq, Delivery: store.Delivery{
			Status:        store.Failed,
			Attempts:      n.Attempts,
			LastError:     fmt.Sprintf("not sent: %s already has %d undelivered notifications (--delivery-backlog)", s.host.key, s.host.queued),
			LastAttemptAt: n.LastAttemptAt,
		}})
		d.log.Warn("notification refused: callback backlog full", "call", n.CallID, "chain", n.ChainID, "message", n.MessageID, "host", s.host.key, "backlog", s.host.queued)
		d.cfg.Metrics.Notifications(metrics.Failed, 1)
		return
	}
	d.streams[n.CallID] = s
	s.host.queued++
	// In Seq order: notifications saved by other nodes arrive on their own
	// path and may come in after a later one saved here. The head stays
	// where it is: it may be on its way already.
	at := len(s.queue)
	for at > 1 && s.queue[at-1].Seq > n.Seq {
		at--
	}
	s.queue = slices.Insert(s.queue, at, n)
	switch s.state {
	case idle:
		d.readyLocked(s)
	case holding:
		// The notification the head was held for overtakes it.
		s.queue[0], s.queue[1] = s.queue[1], s.queue[0]
		d.readyLocked(s)
	}
}

func (d *Dispatcher) hostFor(callbackURI string) *host {
	key := callbackURI
	if u, err := url.Parse(callbackURI); err == nil {
		key = strings.ToLower(u.Host)
	}
	h, ok := d.hosts[key]
	if !ok {
		h = &host{key: key}
		d.hosts[key] = h
	}
	return h
}

// readyLocked puts s in line at its host and starts a worker for the host if
// it has room for one.
func (d *Dispatcher) readyLocked(s *stream) {
	if d.stopped || d.ctx.Err() != nil {
		return
	}
	s.state = ready
	h := s.host
	h.ready = append(h.ready, s)
	if h.active < d.cfg.PerHostConcurrency {
		h.active++
		d.wg.Add(1)
		go d.work(h)
	}
}

// work delivers the head notification of the host's ready streams, one
// after another, until none is ready. Taking one notification per turn and
// putting the stream back in line keeps a call with a long backlog from
// starving the host's other calls.
func (d *Dispatcher) work(h *host) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		if len(h.ready) == 0 || d.ctx.Err() != nil {
			h.active--
			d.mu.Unlock()
			return
		}
		s := h.ready[0]
		h.ready[0] = nil
		h.ready = h.ready[1:]
		if d.faultLocked(s) {
			d.mu.Unlock()
			continue
		}
		s.state = busy
		n := s.queue[0]
		if s.headSince.IsZero() {
			s.headSince = time.Now()
		}
		d.mu.Unlock()

		select {
		case d.fresh <- struct{}{}:
		case <-d.ctx.Done():
			continue
		}
		started := time.Now()
		status, err := d.attempt(n)
		if d.abortCtx.Err() != nil {
			continue // cut short by shutdown: the outcome is not the bot's
		}
		if d.sendTwice(s) && err == nil && status/100 == 2 {
			// A duplicate: the same notification, message id and all,
			// again once the bot took it (the real service's retries do
			// this after a lost acknowledgement).
			select {
			case d.fresh <- struct{}{}:
			case <-d.ctx.Done():
				continue
			}
			d.mu.Lock()
			s.queue[0].Attempts++
			d.mu.Unlock()
			status, err = d.attempt(n)
		}
		d.report(d.settle(s, n, status, err, time.Since(started)))
	}
}

// faultLocked asks the fault rules, once per notification, what to do with
// the stream's head before its first attempt, and does it: true when the
// stream is not to be sent now (delayed, held for a reorder, dropped).
func (d *Dispatcher) faultLocked(s *stream) bool {
	if !d.cfg.Faults.Active(fault.Notification) || len(s.queue) == 0 {
		return false
	}
	n := s.queue[0]
	if s.faulted[n.Seq] {
		return false
	}
	if s.faulted == nil {
		s.faulted = make(map[int64]bool)
	}
	s.faulted[n.Seq] = true
	e, ok := d.cfg.Faults.Notification(notificationInfo(n))
	if !ok {
		return false
	}
	d.log.Info("fault rule applied to a notification", "rule", e.RuleID, "action", e.Action, "call", n.CallID, "chain", n.ChainID, "message", n.MessageID)
	switch e.Action {
	case fault.Drop:
		d.report(store.DeliveryUpdate{Seq: n.Seq, Delivery: store.Delivery{
			Status: store.Dropped, Attempts: n.Attempts, LastError: "dropped by fault rule " + e.RuleID, LastAttemptAt: time.Now(),
		}})
		d.cfg.Metrics.Notifications(metrics.Dropped, 1)
		delete(s.faulted, n.Seq)
		d.popLocked(s)
		return true
	case fault.Delay:
		d.parkLocked(s, e.Delay)
		return true
	case fault.Reorder:
		if len(s.queue) > 1 {
			s.queue[0], s.queue[1] = s.queue[1], s.queue[0]
			d.readyLocked(s)
			return true
		}
		s.state = holding
		time.AfterFunc(reorderWait, func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			if s.state == holding && len(s.queue) > 0 && s.queue[0].Seq == n.Seq {
				d.readyLocked(s) // nothing came to overtake it
			}
		})
		return true
	case fault.Duplicate:
		s.duplicate = true
	}
	return false
}

// sendTwice reports, and clears, a duplicate fault on the stream's head.
func (d *Dispatcher) sendTwice(s *stream) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	twice := s.duplicate
	s.duplicate = false
	return twice
}

// parkLocked holds the stream for wait, then puts it back in line.
func (d *Dispatcher) parkLocked(s *stream, wait time.Duration) {
	s.state = parked
	time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if s.state == parked {
			d.readyLocked(s)
		}
	})
}

// notificationInfo is what fault rules match a notification by.
func notificationInfo(n store.Notification) fault.NotificationInfo {
	info := fault.NotificationInfo{CallID: n.CallID, AppID: n.Owner.AppID}
	if sum, ok := graph.SummarizeNotification(n.Payload); ok {
		info.ChangeType, info.ResourceURL, info.State = sum.ChangeType, sum.ResourceURL, sum.State
	}
	return info
}

// settle decides what the stream does after an attempt, and returns the
// outcome to record.
func (d *Dispatcher) settle(s *stream, n store.Notification, status int, err error, took time.Duration) store.DeliveryUpdate {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if s.forgotten {
		return store.DeliveryUpdate{Seq: n.Seq, Delivery: store.Delivery{Status: store.Failed, Attempts: n.Attempts + 1,
			LastStatusCode: status, LastError: "forgotten: the world was reset", LastAttemptAt: now}}
	}
	s.queue[0].Attempts++
	u := store.DeliveryUpdate{Seq: n.Seq, Delivery: store.Delivery{
		Attempts:       s.queue[0].Attempts,
		LastStatusCode: status,
		LastAttemptAt:  now,
		LastDuration:   took,
	}}
	if err != nil {
		u.LastError = err.Error()
	}
	h := s.host
	delivered := err == nil && status >= 200 && status < 300
	if delivered {
		h.failingSince = time.Time{}
	} else if h.failingSince.IsZero() {
		h.failingSince = now
	}
	dead := !delivered && now.Sub(h.failingSince) >= d.cfg.RetryDeadline
	switch {
	case delivered:
		u.Status = store.Delivered
		d.cfg.Metrics.Notifications(metrics.Delivered, 1)
		d.cfg.Metrics.DeliveredAfter(now.Sub(n.CreatedAt))
		d.popLocked(s)
	case errors.As(err, new(permanent)) || now.Sub(s.headSince) >= d.cfg.RetryDeadline || dead:
		u.Status = store.Failed
		if dead && now.Sub(s.headSince) < d.cfg.RetryDeadline {
			u.LastError += fmt.Sprintf(" (given up: every attempt to %s has failed since %s)", h.key, h.failingSince.Format(time.RFC3339))
		}
		d.log.Warn("notification failed", "call", n.CallID, "chain", n.ChainID, "message", n.MessageID,
			"attempts", u.Attempts, "status", status, "err", u.LastError)
		d.cfg.Metrics.Notifications(metrics.Failed, 1)
		d.popLocked(s)
	default:
		u.Status = store.Pending
		d.cfg.Metrics.Notifications(metrics.Retried, 1)
		wait := d.backoff(u.Attempts)
		u.NextAttemptAt = now.Add(wait)
		d.parkLocked(s, wait)
	}
	return u
}

// popLocked drops the stream's head and lines up the next one.
func (d *Dispatcher) popLocked(s *stream) {
	delete(s.faulted, s.queue[0].Seq)
	s.host.queued--
	s.queue[0] = store.Notification{}
	s.queue = s.queue[1:]
	s.headSince = time.Time{}
	if len(s.queue) > 0 {
		d.readyLocked(s)
		return
	}
	s.state = idle
	delete(d.streams, s.callID)
}

// backoff is the wait before attempt n+1: exponential with full jitter.
// The configuration guarantees positive bounds; the max keeps a zero from
// reaching rand.N all the same.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	ceiling := d.cfg.MinBackoff << min(attempts-1, 30)
	if ceiling <= 0 || ceiling > d.cfg.MaxBackoff {
		ceiling = d.cfg.MaxBackoff
	}
	return d.cfg.MinBackoff/2 + rand.N(max(ceiling, 1))
}

// errTooManySlow cuts short a slow attempt when every slow slot is taken.
var errTooManySlow = errors.New("cut short: slow to answer while every slow delivery slot (--delivery-max-slow) was taken")

// attempt makes one delivery attempt in the fresh slot the worker holds,
// moving it to a slow slot if it outlasts SlowAfter.
func (d *Dispatcher) attempt(n store.Notification) (int, error) {
	ctx, cancel := context.WithCancelCause(d.abortCtx)
	defer cancel(nil)
	slot := &slot{held: d.fresh}
	demote := time.AfterFunc(d.cfg.SlowAfter, func() { d.demote(slot, cancel) })
	status, err := d.post(ctx, n)
	demote.Stop()
	slot.release()
	if cause := context.Cause(ctx); errors.Is(cause, errTooManySlow) {
		return status, cause
	}
	return status, err
}

// slot is the semaphore slot an attempt holds: fresh, then maybe slow.
type slot struct {
	mu       sync.Mutex
	held     chan struct{}
	released bool
}

func (s *slot) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.released {
		<-s.held
		s.released = true
	}
}

// demote moves a slow attempt from its fresh slot to a slow one, or cuts
// it short when there is none.
func (d *Dispatcher) demote(s *slot, cancel context.CancelCauseFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return
	}
	select {
	case d.slow <- struct{}{}:
		<-d.fresh
		s.held = d.slow
	default:
		cancel(errTooManySlow)
	}
}

// post makes one delivery attempt, following redirects: a bot may answer 302
// with a Location to have the notification delivered there.
func (d *Dispatcher) post(parent context.Context, n store.Notification) (int, error) {
	token, err := d.tokens.Token(n.Owner.AppID, n.Owner.TenantID)
	if err != nil {
		return 0, fmt.Errorf("sign callback token: %w", err)
	}
	ctx, cancel := context.WithTimeout(parent, d.cfg.ConnectTimeout+d.cfg.ResponseTimeout)
	defer cancel()
	target := n.CallbackURI
	for hop := 0; ; hop++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(n.Payload))
		if err != nil {
			return 0, err
		}
		// Keys already in canonical form: no canonicalising per request.
		req.Header = http.Header{
			"Authorization":  {"Bearer " + token},
			"Content-Type":   jsonContent,
			"Accept":         jsonContent,
			"User-Agent":     userAgentValue,
			headerChainID:    {n.ChainID},
			headerMessageID:  {n.MessageID},
			headerScenarioID: {n.ScenarioID},
		}
		resp, err := d.client.Do(req)
		if err != nil {
			err = errors.Unwrap(err) // the url.Error's cause; the URL is known
			if errors.As(err, new(*PolicyError)) {
				return 0, permanent{err}
			}
			return 0, err
		}
		drain(resp)
		if resp.StatusCode == http.StatusFound && hop < d.cfg.MaxRedirects {
			loc, err := resp.Location()
			if err == nil {
				if err := d.cfg.Policy.Check(loc.String()); err != nil {
					return resp.StatusCode, permanent{fmt.Errorf("redirect refused: %w", err)}
				}
				target = loc.String()
				continue
			}
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return resp.StatusCode, fmt.Errorf("HTTP %d from %s", resp.StatusCode, target)
		}
		return resp.StatusCode, nil
	}
}

// permanent is a failure that retrying cannot mend.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// drain reads a little of the body so the connection can be reused; a
// longer body is not read, and its connection is closed instead.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	resp.Body.Close()
}

// flushLoop saves delivery outcomes in batches: one transaction for many
// outcomes. An outcome lost to a crash only means the notification is sent
// again, with the same message id.
func (d *Dispatcher) flushLoop() {
	defer close(d.flushed)
	const maxBatch = 64
	batch := make([]store.DeliveryUpdate, 0, maxBatch)
	for u := range d.updates {
		batch = append(batch[:0], u)
	collect:
		for len(batch) < maxBatch {
			select {
			case u, ok := <-d.updates:
				if !ok {
					break collect
				}
				batch = append(batch, u)
			default:
				break collect
			}
		}
		if err := d.store.RecordDeliveries(context.Background(), batch); err != nil {
			d.log.Error("record deliveries", "count", len(batch), "err", err)
		}
		d.savedMu.Lock()
		d.saved += int64(len(batch))
		close(d.savedMore)
		d.savedMore = make(chan struct{})
		d.savedMu.Unlock()
	}
}

// report hands an outcome to the flusher.
func (d *Dispatcher) report(u store.DeliveryUpdate) {
	d.reported.Add(1)
	d.updates <- u
}

// Flush returns once every delivery outcome reported so far is saved (so
// that a call's timeline read next shows it), or ctx is done.
func (d *Dispatcher) Flush(ctx context.Context) error {
	target := d.reported.Load()
	for {
		d.savedMu.Lock()
		saved, more := d.saved, d.savedMore
		d.savedMu.Unlock()
		if saved >= target {
			return nil
		}
		select {
		case <-more:
		case <-d.flushed:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
