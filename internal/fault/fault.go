// Package fault makes callplane misbehave the way the real service does, on
// purpose: rules that fail or slow Graph requests and token requests, and
// that delay, duplicate, reorder or drop notifications. Tests add rules
// through the admin API; the HTTP surfaces and delivery ask the Set what to
// do with each request or notification. With no rule of a kind, asking
// costs an atomic load.
package fault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kinds of rules.
const (
	Graph        = "graph"
	Notification = "notification"
	Token        = "token"
)

// Notification actions.
const (
	Delay     = "delay"
	Duplicate = "duplicate"
	Reorder   = "reorder"
	Drop      = "drop"
)

// Rule is one fault, as the admin API takes and shows it: flat JSON. Every
// match field is optional; a rule without one matches every request or
// notification of its kind. Times and For bound it (neither: for ever).
type Rule struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`

	// What it matches. Path is a Graph path after the version
	// (/communications/calls/*/answer), where * matches one segment;
	// ResourceURL is a notification's, the same way.
	Method      string `json:"method,omitempty"`
	Path        string `json:"path,omitempty"`
	AppID       string `json:"appId,omitempty"`
	CallID      string `json:"callId,omitempty"`
	ChangeType  string `json:"changeType,omitempty"`
	State       string `json:"state,omitempty"`
	ResourceURL string `json:"resourceUrl,omitempty"`

	// What it does: answer Status (with Retry-After seconds), or answer
	// after Latency; for notifications, Action (with Delay for delay).
	Status     int      `json:"status,omitempty"`
	RetryAfter int      `json:"retryAfter,omitempty"`
	Latency    Duration `json:"latency,omitzero"`
	Action     string   `json:"action,omitempty"`
	Delay      Duration `json:"delay,omitzero"`

	// How long it lasts: Times matches, or For from its creation.
	Times int      `json:"times,omitempty"`
	For   Duration `json:"for,omitzero"`

	// What it has done so far.
	Matched   int        `json:"matched"`
	CreatedAt time.Time  `json:"createdDateTime"`
	ExpiresAt *time.Time `json:"expiresDateTime,omitempty"`
}

// Duration is a time.Duration written as Go writes one ("300ms").
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 300ms or 2s", b)
	}
	*d = Duration(v)
	return nil
}

// Statuses a Graph rule may answer, with the error code Graph sends for
// each.
var graphCodes = map[int]string{
	http.StatusTooManyRequests:     "TooManyRequests",
	http.StatusInternalServerError: "InternalServerError",
	http.StatusBadGateway:          "BadGateway",
	http.StatusServiceUnavailable:  "ServiceUnavailable",
	http.StatusGatewayTimeout:      "GatewayTimeout",
}

// GraphCode is the Graph error code for a status a rule answers.
func GraphCode(status int) string { return graphCodes[status] }

// maxLatency bounds how long a rule may hold a request or a notification.
const maxLatency = 5 * time.Minute

// check validates a rule and normalises its fields.
func (r *Rule) check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	r.Method = strings.ToUpper(r.Method)
	for _, f := range []struct {
		name string
		d    Duration
	}{{"latency", r.Latency}, {"delay", r.Delay}, {"for", r.For}} {
		if f.d < 0 || (f.name != "for" && time.Duration(f.d) > maxLatency) {
			bad("%s must be from 0 to %v", f.name, maxLatency)
		}
	}
	if r.Times < 0 {
		bad("times must not be negative")
	}
	if r.RetryAfter < 0 || r.RetryAfter > 3600 {
		bad("retryAfter must be from 0 to 3600 seconds")
	}
	for _, p := range []struct{ name, value string }{{"path", r.Path}, {"resourceUrl", r.ResourceURL}} {
		if p.value != "" && !strings.HasPrefix(p.value, "/") {
			bad("%s must start with /, as /communications/calls/*", p.name)
		}
	}
	switch r.Kind {
	case Graph, Token:
		if r.Status == 0 && r.Latency == 0 {
			bad("a %s rule answers a status (status) or slows requests down (latency)", r.Kind)
		}
		if _, ok := graphCodes[r.Status]; r.Status != 0 && !ok {
			bad("status %d: a rule answers 429, 500, 502, 503 or 504", r.Status)
		}
		if r.Action != "" || r.Delay != 0 || r.ChangeType != "" || r.State != "" || r.ResourceURL != "" {
			bad("action, delay, changeType, state and resourceUrl are for notification rules")
		}
		if r.Kind == Token && (r.Path != "" || r.Method != "" || r.CallID != "") {
			bad("a token rule matches token requests by appId only")
		}
	case Notification:
		switch r.Action {
		case Delay:
			if r.Delay <= 0 {
				bad(`action "delay" needs a delay, such as "2s"`)
			}
		case Duplicate, Reorder, Drop:
		default:
			bad("action %q: a notification rule does delay, duplicate, reorder or drop", r.Action)
		}
		if r.Status != 0 || r.RetryAfter != 0 || r.Latency != 0 || r.Method != "" || r.Path != "" {
			bad("status, retryAfter, latency, method and path are for graph and token rules")
		}
	default:
		bad("kind %q: a rule is of kind graph, notification or token", r.Kind)
	}
	return errors.Join(errs...)
}

// Request is what a Graph or token rule is matched against.
type Request struct {
	Method, Path, AppID, CallID string
}

// NotificationInfo is what a notification rule is matched against.
type NotificationInfo struct {
	CallID, AppID, ChangeType, State, ResourceURL string
}

// Effect is what a matching rule does.
type Effect struct {
	RuleID     string
	Status     int
	RetryAfter int
	Latency    time.Duration
	Action     string
	Delay      time.Duration
}

// Set holds the rules.
type Set struct {
	now   func() time.Time
	mu    sync.Mutex
	rules []*Rule
	next  int
	// counts holds the number of rules of each kind: a kind without any
	// is answered without the lock.
	counts map[string]*atomic.Int64
	// shared, when set, keeps the rules for every node of a cluster: the
	// set is its copy, and each match is counted there.
	shared Shared
}

// Shared keeps the rules of sets on several nodes, so that a rule added
// through one node acts on all, and its times are counted across them.
type Shared interface {
	// LoadRules returns the rules in force, oldest first.
	LoadRules(ctx context.Context) ([]Rule, error)
	// AddRule stores a checked rule, giving it its id.
	AddRule(ctx context.Context, r Rule) (Rule, error)
	RemoveRule(ctx context.Context, id string) (bool, error)
	ClearRules(ctx context.Context) error
	// UseRule counts a match of the rule; false if it no longer applies
	// (removed, or its times used up on other nodes).
	UseRule(ctx context.Context, id string) (bool, error)
}

// New returns an empty set.
func New() *Set {
	return &Set{now: time.Now, counts: map[string]*atomic.Int64{Graph: {}, Notification: {}, Token: {}}}
}

// NewShared returns the set of the rules kept in shared, as loaded now;
// Reload reads them again when another node changed them.
func NewShared(ctx context.Context, shared Shared) (*Set, error) {
	s := New()
	s.shared = shared
	return s, s.Reload(ctx)
}

// sharedTimeout bounds a trip to the shared rules.
const sharedTimeout = 5 * time.Second

// Reload replaces a shared set's copy with the rules in force.
func (s *Set) Reload(ctx context.Context) error {
	if s.shared == nil {
		return nil
	}
	rules, err := s.shared.LoadRules(ctx)
	if err != nil {
		return fmt.Errorf("fault: load the shared rules: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replaceLocked(rules)
	return nil
}

func (s *Set) replaceLocked(rules []Rule) {
	for len(s.rules) > 0 {
		s.removeLocked(len(s.rules) - 1)
	}
	for _, r := range rules {
		rule := r
		s.rules = append(s.rules, &rule)
		s.counts[r.Kind].Add(1)
	}
}

// MaxRules bounds the rules a set holds.
const MaxRules = 1000

// Parse reads a rule as the admin API takes it: unknown fields are errors.
func Parse(data []byte) (Rule, error) {
	var r Rule
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Rule{}, fmt.Errorf("not a fault rule: %v", err)
	}
	return r, nil
}

var (
	// ErrTooMany refuses a rule past MaxRules.
	ErrTooMany = fmt.Errorf("a callplane holds at most %d fault rules", MaxRules)
	// ErrShared wraps a failure of the shared rules' storage.
	ErrShared = errors.New("fault: the shared rules could not be reached")
)

// Add checks a rule and adds it, with an id.
func (s *Set) Add(r Rule) (Rule, error) {
	if err := r.check(); err != nil {
		return Rule{}, err
	}
	if s.shared != nil {
		return s.addShared(r)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	if len(s.rules) >= MaxRules {
		return Rule{}, ErrTooMany
	}
	s.stamp(&r)
	s.next++
	r.ID = "fault-" + strconv.Itoa(s.next)
	s.addLocked(r)
	return r, nil
}

// stamp gives a new rule its creation time and expiry.
func (s *Set) stamp(r *Rule) {
	r.Matched, r.CreatedAt, r.ExpiresAt = 0, s.now().UTC(), nil
	if r.For > 0 {
		at := r.CreatedAt.Add(time.Duration(r.For))
		r.ExpiresAt = &at
	}
}

func (s *Set) addLocked(r Rule) {
	if slices.ContainsFunc(s.rules, func(x *Rule) bool { return x.ID == r.ID }) {
		return // loaded already, from another node's news of it
	}
	rule := r
	s.rules = append(s.rules, &rule)
	s.counts[r.Kind].Add(1)
}

// addShared stores the rule in the shared rules first, without holding the
// set's lock: the other nodes may take a moment to load it, and this
// node's own reload must not wait for the lock meanwhile.
func (s *Set) addShared(r Rule) (Rule, error) {
	s.mu.Lock()
	s.expireLocked()
	full := len(s.rules) >= MaxRules
	s.mu.Unlock()
	if full {
		return Rule{}, ErrTooMany
	}
	s.stamp(&r)
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	stored, err := s.shared.AddRule(ctx, r)
	if err != nil {
		return Rule{}, fmt.Errorf("%w: %v", ErrShared, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addLocked(stored)
	return stored, nil
}

// List returns the rules in force, oldest first; for a shared set, as the
// nodes have used them (or, if the shared rules cannot be reached, as this
// node's copy has).
func (s *Set) List() []Rule {
	if s.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		s.Reload(ctx)
		cancel()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	out := make([]Rule, len(s.rules))
	for i, r := range s.rules {
		out[i] = *r
	}
	return out
}

// Remove removes a rule; false if there is none with the id.
func (s *Set) Remove(id string) (bool, error) {
	if s.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		ok, err := s.shared.RemoveRule(ctx, id)
		if err != nil {
			return false, fmt.Errorf("%w: %v", ErrShared, err)
		}
		if !ok {
			return false, nil
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.rules, func(r *Rule) bool { return r.ID == id })
	if i < 0 {
		return s.shared != nil, nil // removed from the shared rules, not loaded here (or reloaded already)
	}
	s.removeLocked(i)
	return true, nil
}

// Clear removes every rule.
func (s *Set) Clear() error {
	if s.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		if err := s.shared.ClearRules(ctx); err != nil {
			return fmt.Errorf("%w: %v", ErrShared, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replaceLocked(nil)
	return nil
}

// Forget drops the rules of this node's copy only: what a reset made on
// another node does here (the shared rules were cleared there).
func (s *Set) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replaceLocked(nil)
}

func (s *Set) removeLocked(i int) {
	s.counts[s.rules[i].Kind].Add(-1)
	s.rules = slices.Delete(s.rules, i, i+1)
}

// expireLocked drops rules whose time is up.
func (s *Set) expireLocked() {
	now := s.now()
	for i := len(s.rules) - 1; i >= 0; i-- {
		if at := s.rules[i].ExpiresAt; at != nil && !now.Before(*at) {
			s.removeLocked(i)
		}
	}
}

// GraphRequest returns what to do with a Graph request, if a rule matches.
func (s *Set) GraphRequest(req Request) (Effect, bool) {
	return s.match(Graph, func(r *Rule) bool {
		return (r.Method == "" || r.Method == req.Method) && pathMatches(r.Path, req.Path) &&
			(r.AppID == "" || strings.EqualFold(r.AppID, req.AppID)) && (r.CallID == "" || strings.EqualFold(r.CallID, req.CallID))
	})
}

// TokenRequest returns what to do with a token request of the application.
func (s *Set) TokenRequest(appID string) (Effect, bool) {
	return s.match(Token, func(r *Rule) bool { return r.AppID == "" || strings.EqualFold(r.AppID, appID) })
}

// Notification returns what to do with a notification, if a rule matches.
func (s *Set) Notification(n NotificationInfo) (Effect, bool) {
	return s.match(Notification, func(r *Rule) bool {
		return (r.CallID == "" || strings.EqualFold(r.CallID, n.CallID)) && (r.AppID == "" || strings.EqualFold(r.AppID, n.AppID)) &&
			(r.ChangeType == "" || strings.EqualFold(r.ChangeType, n.ChangeType)) && (r.State == "" || strings.EqualFold(r.State, n.State)) &&
			pathMatches(r.ResourceURL, n.ResourceURL)
	})
}

// Active reports whether any rule of the kind is in force: callers that
// must do work to describe what they match ask first.
func (s *Set) Active(kind string) bool { return s != nil && s.counts[kind].Load() > 0 }

// match applies the oldest matching rule of the kind, counting the match
// and retiring the rule once its times are used up.
func (s *Set) match(kind string, matches func(*Rule) bool) (Effect, bool) {
	if !s.Active(kind) {
		return Effect{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	for i := 0; i < len(s.rules); i++ {
		r := s.rules[i]
		if r.Kind != kind || !matches(r) {
			continue
		}
		if s.shared != nil && !s.useShared(r) {
			// Used up or removed through another node.
			s.removeLocked(i)
			i--
			continue
		}
		r.Matched++
		e := Effect{RuleID: r.ID, Status: r.Status, RetryAfter: r.RetryAfter, Latency: time.Duration(r.Latency), Action: r.Action, Delay: time.Duration(r.Delay)}
		if r.Times > 0 && r.Matched >= r.Times {
			s.removeLocked(i)
		}
		return e, true
	}
	return Effect{}, false
}

// useShared counts a match of a shared rule across the nodes; a rule the
// shared rules cannot be asked about does not apply.
func (s *Set) useShared(r *Rule) bool {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	ok, err := s.shared.UseRule(ctx, r.ID)
	return err == nil && ok
}

// pathMatches matches a path against a pattern whose * segments match any
// one segment; an empty pattern matches everything.
func pathMatches(pattern, path string) bool {
	if pattern == "" {
		return true
	}
	want := strings.Split(strings.Trim(pattern, "/"), "/")
	got := strings.Split(strings.Trim(path, "/"), "/")
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if want[i] != "*" && !strings.EqualFold(want[i], got[i]) {
			return false
		}
	}
	return true
}
