// Package store defines what callplane persists and the one interface every
// storage engine implements: calls, and the outbox of notifications their
// changes produced. A change to a call and the notifications it causes are
// saved in one transaction, so a crash can lose neither without the other.
//
// Implementations live in subpackages (sqlite); storetest is the conformance
// suite each of them passes.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/ids"
)

var (
	// ErrNotFound means no call has the id.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means the call changed since it was read: its version is no
	// longer the one the caller holds. Read it again and retry.
	ErrConflict = errors.New("store: version conflict")
)

// Store persists calls, group calls and their notifications, and the
// simulated people calls ring.
type Store interface {
	// SaveBatch saves each Changes of the batch atomically and on its own:
	// new and changed calls and groups with the notifications their changes
	// produced. A call or group with Version 0 is new; any other is saved
	// only if the stored version is still its Version. If one of them is
	// not, that Changes is refused with ErrConflict and nothing of it is
	// saved; the others are unaffected. A saved Changes has every version
	// incremented and each notification's Seq assigned, in batch order.
	// Engines commit a batch together where they can: that is what makes
	// batching worth it. The result holds one error per Changes.
	SaveBatch(ctx context.Context, batch []*Changes) []error
	// GetCall returns the call with the id, in any state, or ErrNotFound.
	GetCall(ctx context.Context, id string) (*call.Call, error)
	// GetGroup returns the group call with the id, or ErrNotFound.
	GetGroup(ctx context.Context, id string) (*call.Group, error)
	// FindMeeting returns the tenant's meeting the key names, or ErrNotFound.
	FindMeeting(ctx context.Context, tenantID string, key call.MeetingKey) (*call.Group, error)
	// LiveCalls returns the ids of the owner's calls that have not
	// terminated, oldest first.
	LiveCalls(ctx context.Context, owner call.Owner) ([]string, error)
	// ListCalls lists calls in any state, ended ones included (until they
	// are purged), matching the filter: newest first (by CreatedAt, then
	// id, descending), or, with ChangedWithin, the most recently saved
	// first.
	ListCalls(ctx context.Context, f CallFilter) ([]*call.Call, error)
	// ListGroups lists meetings and ad-hoc group calls, ended ones
	// included (until they are purged), matching the filter: newest first
	// (by CreatedAt, then id, descending), or, with ChangedWithin, the most
	// recently saved first.
	ListGroups(ctx context.Context, f GroupFilter) ([]*call.Group, error)
	// LiveCounts counts every tenant's calls that have not terminated, by
	// state and kind: for metrics.
	LiveCounts(ctx context.Context) ([]LiveCount, error)
	// Deadlines lists every call that has a pending deadline
	// (call.NextDeadline), so timers can be rebuilt after a restart.
	Deadlines(ctx context.Context) ([]Deadline, error)
	// Purge deletes calls that ended before the cutoff, and notifications
	// created before it that are no longer pending.
	Purge(ctx context.Context, cutoff time.Time) (calls, notifications int64, err error)

	// SavePerson creates or replaces a simulated person.
	SavePerson(ctx context.Context, p call.Person) error
	// GetPerson returns the tenant's person with the id, or ErrNotFound.
	GetPerson(ctx context.Context, tenantID, id string) (call.Person, error)
	// People lists the tenant's people, by id.
	People(ctx context.Context, tenantID string) ([]call.Person, error)
	// DeletePerson removes a person, or says ErrNotFound.
	DeletePerson(ctx context.Context, tenantID, id string) error

	// GetSpeech returns the audio a simulated person spoke into a call's
	// recording (Changes.Speech), or ErrNotFound. It goes with its call
	// when the call is purged.
	GetSpeech(ctx context.Context, callID, operationID string) ([]byte, error)

	// Pending returns every notification not yet delivered or given up on,
	// in Seq order.
	Pending(ctx context.Context) ([]Notification, error)
	// RecordDeliveries saves the outcome of delivery attempts.
	RecordDeliveries(ctx context.Context, updates []DeliveryUpdate) error
	// Notifications lists notifications matching the filter, newest first.
	Notifications(ctx context.Context, f Filter) ([]Notification, error)

	// RecordRequests saves requests of the bots' for their calls'
	// timelines; Requests lists a call's, oldest first. They go with their
	// call when it is purged.
	RecordRequests(ctx context.Context, rs []Request) error
	Requests(ctx context.Context, callID string) ([]Request, error)

	// Reset deletes every call, group, notification, person, recording's
	// speech and timeline entry: the world starts over. Identity lives
	// elsewhere and is kept.
	Reset(ctx context.Context) error

	Close() error
}

// Save saves one Changes.
func Save(ctx context.Context, s Store, ch *Changes) error {
	return s.SaveBatch(ctx, []*Changes{ch})[0]
}

// Changes are what one command changed: saved together or not at all.
type Changes struct {
	Calls         []*call.Call
	Groups        []*call.Group
	Notifications []Notification
	// Speech is audio that simulated people spoke into recordings of the
	// calls saved: it is kept apart from the calls, which are rewritten on
	// every change.
	Speech []Speech
	// Elsewhere is set by an engine that several nodes share, on saving:
	// the calls of the Changes (saved, or notified) that another node owns.
	// The engine has handed their notifications and deadlines to that
	// node, which alone delivers and times them; the saver leaves them be.
	Elsewhere map[string]bool
	// encoded is what the engine last encoded of these Changes (Encode),
	// for a cache in front of it to keep without encoding the calls again.
	encoded *Encoded
}

// Encoding returns the documents the engine encoded the last time it saved
// the Changes, or nil if it encoded none.
func (ch *Changes) Encoding() *Encoded { return ch.encoded }

// Empty reports whether there is nothing to save.
func (ch *Changes) Empty() bool {
	return len(ch.Calls) == 0 && len(ch.Groups) == 0 && len(ch.Notifications) == 0 && len(ch.Speech) == 0
}

// Encoded are the JSON documents of a Changes' calls and groups, in their
// order: an engine encodes them once, outside its transaction, however
// often it tries the batch.
type Encoded struct{ Calls, Groups [][]byte }

// Encode encodes the Changes' calls and groups, for an engine's SaveBatch,
// and keeps the result on the Changes (Encoding).
func Encode(ch *Changes) (*Encoded, error) {
	calls, err := marshalAll(ch.Calls)
	if err != nil {
		return nil, err
	}
	groups, err := marshalAll(ch.Groups)
	if err != nil {
		return nil, err
	}
	ch.encoded = &Encoded{Calls: calls, Groups: groups}
	return ch.encoded, nil
}

func marshalAll[T any](xs []T) ([][]byte, error) {
	out := make([][]byte, len(xs))
	for i, x := range xs {
		data, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

// Settle completes a batch an engine saved, as SaveBatch promises: the
// transaction's error (if any) is every Changes' error, and each saved
// Changes moves its versions on. errs holds each Changes' own error.
func Settle(batch []*Changes, errs []error, txErr error) []error {
	for i, ch := range batch {
		switch {
		case txErr != nil && (errs[i] == nil || len(batch) == 1):
			errs[i] = txErr
		case errs[i] == nil:
			for _, c := range ch.Calls {
				c.Version++
			}
			for _, g := range ch.Groups {
				g.Version++
			}
		}
	}
	return errs
}

// Speech is the audio (a WAV file) a simulated person spoke into the
// recording that a call's operation made (call.Recording.Voiced).
type Speech struct {
	CallID      string
	OperationID string
	Audio       []byte
}

// Request is one request a bot made about a call, for its timeline.
type Request struct {
	CallID string
	At     time.Time
	Method string
	// Path is the path after the Graph version, or a recording's path.
	Path string
	// Action names the request: create, get, delete, an action's name...
	Action      string
	Status      int
	OperationID string
	Duration    time.Duration
}

// LiveCount is how many live calls are in a state, of a kind.
type LiveCount struct {
	State call.State
	Kind  call.Kind
	Calls int
}

// Deadline is when a call next has something to do.
type Deadline struct {
	CallID string
	At     time.Time
	// Version is the call's version that has this deadline; zero when
	// unknown.
	Version int64
}

// Notification is one outbox entry: a commsNotifications body for a call's
// callback URI, and how its delivery went.
type Notification struct {
	// Seq orders every notification the store ever saved; one call's
	// notifications are delivered in Seq order.
	Seq int64
	// MessageID identifies the notification to the bot, the same on every
	// attempt, so the bot can discard duplicates.
	MessageID   string
	CallID      string
	Owner       call.Owner
	ChainID     string
	ScenarioID  string
	CallbackURI string
	Payload     []byte
	CreatedAt   time.Time
	Delivery
}

// NewNotification is a pending notification of the call's, to its
// callback URI, with a fresh message id.
func NewNotification(c *call.Call, payload []byte, now time.Time) Notification {
	return Notification{
		MessageID:   ids.New(),
		CallID:      c.ID,
		Owner:       c.Owner,
		ChainID:     c.ChainID,
		ScenarioID:  c.ScenarioID,
		CallbackURI: c.CallbackURI,
		Payload:     payload,
		CreatedAt:   now,
		Delivery:    Delivery{Status: Pending},
	}
}

// Status is where a notification is in its delivery.
type Status string

const (
	Pending   Status = "pending"
	Delivered Status = "delivered"
	// Failed means delivery was given up on; the call's later notifications
	// go on without it.
	Failed Status = "failed"
	// Dropped means a fault rule dropped it: never sent, on purpose.
	Dropped Status = "dropped"
)

// Delivery is how a notification's delivery has gone so far.
type Delivery struct {
	Status         Status
	Attempts       int
	LastStatusCode int
	LastError      string
	LastAttemptAt  time.Time
	NextAttemptAt  time.Time
	// LastDuration is how long the last attempt took: how soon the bot
	// answered.
	LastDuration time.Duration
}

// DeliveryUpdate is the new delivery state of one notification.
type DeliveryUpdate struct {
	Seq int64
	Delivery
}

// Filter selects notifications for inspection. Empty fields match anything.
type Filter struct {
	CallID      string
	CallbackURI string
	Status      Status
	// Before, when set, selects only notifications with a lower Seq: the
	// next page of a listing, newest first.
	Before int64
	// Limit caps the result; zero means a default of 100.
	Limit int
}

// CallFilter selects calls for a listing. Empty fields match anything.
type CallFilter struct {
	TenantID string
	AppID    string
	State    call.State
	// Before, when set, selects only the calls that come after it in the
	// newest-first order: created before it, or at the same instant with a
	// lower id. It is the cursor of a listing's next page.
	Before CallCursor
	// ChangedWithin, when set, selects only the calls saved (created or
	// changed) within that long before now, by the store's clock (the
	// database's, for an engine that nodes share, so the nodes' clocks do
	// not matter), and lists them the most recently saved first: a cheap
	// query for what changed lately.
	ChangedWithin time.Duration
	// Limit caps the result; zero means a default of 100.
	Limit int
}

// CallCursor is a position in the newest-first listing of calls: the call
// at it and those before it are left out.
type CallCursor struct {
	CreatedAt time.Time
	ID        string
}

// IsZero reports whether the cursor is unset.
func (c CallCursor) IsZero() bool { return c.CreatedAt.IsZero() && c.ID == "" }

// CursorOf is the cursor just after c in the newest-first listing.
func CursorOf(c *call.Call) CallCursor { return CallCursor{CreatedAt: c.CreatedAt, ID: c.ID} }

// GroupFilter selects meetings and ad-hoc group calls for a listing. Empty
// fields match anything.
type GroupFilter struct {
	TenantID string
	// Ended, when set, selects only the groups that have ended (true) or
	// only those that have not (false).
	Ended *bool
	// Before, when set, selects only the groups that come after it in the
	// newest-first order (a group's CreatedAt and ID): the cursor of a
	// listing's next page.
	Before CallCursor
	// ChangedWithin, when set, selects only the groups saved within that
	// long before now, by the store's clock, the most recently saved
	// first, as CallFilter's does.
	ChangedWithin time.Duration
	// Limit caps the result; zero means a default of 100.
	Limit int
}
