// Package sim is the simulated world around the bots: the people calls ring
// and how they answer, the calls those people place to bots and hang up,
// and the meetings they are in. It decides who a party is (a person, an
// application, an application's phone number) and drives the control
// layer's commands; the call domain keeps the rules.
package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/control"
	"github.com/callplane/callplane/internal/media"
	"github.com/callplane/callplane/internal/store"
)

// World is the simulated world of one tenant.
type World struct {
	tenantID string
	apps     auth.Registry
	store    store.Store
	calls    *control.Service
	now      func() time.Time

	// people caches the tenant's people, read in full on first use: every
	// call a bot places looks its callee up. The world is their only
	// writer, so the cache stays current (one process over its store);
	// over a store shared with other nodes, shared is set and every
	// lookup reads the store.
	mu     sync.RWMutex
	people map[string]call.Person
	shared bool

	// quality are the device quality reports bots logged.
	qualityMu sync.Mutex
	quality   []DeviceQuality
}

// SharedStore says that other nodes write to the world's store too: people
// are read from it on every lookup instead of from a cache.
func (w *World) SharedStore() { w.shared = true }

// New returns the world of the registry's tenant. Attach it to the control
// service (control.Config.Parties) before commands run.
func New(apps auth.Registry, st store.Store) *World {
	return &World{tenantID: apps.TenantID(), apps: apps, store: st, now: time.Now}
}

// Forget drops what the world remembers of its people, after the store
// was reset.
func (w *World) Forget() {
	w.mu.Lock()
	w.people = nil
	w.mu.Unlock()
	w.qualityMu.Lock()
	w.quality = nil
	w.qualityMu.Unlock()
}

// Drive gives the world the control service whose commands it issues.
func (w *World) Drive(calls *control.Service) { w.calls = calls }

// Errors of the simulated world, for its API to answer.
var (
	ErrNoSuchPerson = errors.New("no such person")
	// ErrNotAnApplication is a call placed to someone who is not a bot.
	ErrNotAnApplication = errors.New("the call must go to an application: app, an application instance or its phone number")
)

// Party says whom an identity of the tenant reaches: an application (by
// its client id, an instance id, or an instance's phone number), or a
// person, answering as they were set to (or picking up after the answer
// delay).
func (w *World) Party(ctx context.Context, tenantID string, id call.Identity) (call.Party, error) {
	switch id.Kind {
	case call.Application:
		app, ok := w.apps.Application(id.ID)
		if !ok {
			return call.Party{}, &call.InvalidError{Msg: fmt.Sprintf("no application %s in the tenant", id.ID)}
		}
		return appParty(tenantID, app, call.Identity{Kind: call.Application, ID: app.ClientID, DisplayName: app.DisplayName}), nil
	case call.ApplicationInstance, call.Phone:
		if app, in, ok := w.apps.Instance(id.ID); ok {
			return appParty(tenantID, app, call.Identity{Kind: call.ApplicationInstance, ID: in.ID, DisplayName: in.DisplayName, TenantID: tenantID}), nil
		}
		if id.Kind == call.ApplicationInstance {
			return call.Party{}, &call.InvalidError{Msg: fmt.Sprintf("no application instance %s in the tenant", id.ID)}
		}
	}
	p, err := w.person(ctx, id.ID)
	if err != nil {
		return call.Party{}, err
	}
	return call.Party{Identity: id, Answering: p.Answering, Script: p.Script}, nil
}

// person is the tenant's person with the id; one never set answers as
// people do by default.
func (w *World) person(ctx context.Context, id string) (call.Person, error) {
	if w.shared {
		p, err := w.store.GetPerson(ctx, w.tenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			return call.Person{}, nil
		}
		return p, err
	}
	people, err := w.cachedPeople(ctx)
	if err != nil {
		return call.Person{}, err
	}
	return people[id], nil
}

// cachedPeople returns the people by id, reading them on first use.
func (w *World) cachedPeople(ctx context.Context) (map[string]call.Person, error) {
	w.mu.RLock()
	people := w.people
	w.mu.RUnlock()
	if people != nil {
		return people, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.people == nil {
		list, err := w.store.People(ctx, w.tenantID)
		if err != nil {
			return nil, err
		}
		w.people = make(map[string]call.Person, len(list))
		for _, p := range list {
			w.people[p.ID] = p
		}
	}
	return w.people, nil
}

// remember updates the cache after a change was saved: a copy, so that
// readers holding the old map are not disturbed.
func (w *World) remember(id string, p *call.Person) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.people == nil {
		return // not read yet: the next read sees the store
	}
	next := make(map[string]call.Person, len(w.people)+1)
	for k, v := range w.people {
		next[k] = v
	}
	if p == nil {
		delete(next, id)
	} else {
		next[id] = *p
	}
	w.people = next
}

func appParty(tenantID string, app auth.Application, id call.Identity) call.Party {
	return call.Party{App: &call.Owner{TenantID: tenantID, AppID: app.ClientID}, Webhook: app.CallingWebhook, Identity: id}
}

// OwnsInstance reports whether the application instance belongs to the
// owner: the source a call to a phone must have.
func (w *World) OwnsInstance(ctx context.Context, owner call.Owner, instanceID string) bool {
	app, _, ok := w.apps.Instance(instanceID)
	return ok && app.ClientID == owner.AppID
}

// SetPerson creates or replaces a person.
func (w *World) SetPerson(ctx context.Context, p call.Person) (call.Person, error) {
	p.TenantID, p.UpdatedAt = w.tenantID, w.now().UTC()
	if p.Answering.Mode == "" {
		p.Answering.Mode = call.AutoAnswer
	}
	if err := p.Check(); err != nil {
		return call.Person{}, err
	}
	if err := w.store.SavePerson(ctx, p); err != nil {
		return call.Person{}, err
	}
	w.remember(p.ID, &p)
	return p, nil
}

// Person returns a person.
func (w *World) Person(ctx context.Context, id string) (call.Person, error) {
	p, err := w.store.GetPerson(ctx, w.tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return p, ErrNoSuchPerson
	}
	return p, err
}

// People lists the tenant's people.
func (w *World) People(ctx context.Context) ([]call.Person, error) {
	return w.store.People(ctx, w.tenantID)
}

// RemovePerson forgets a person: calls to them are answered by default
// again.
func (w *World) RemovePerson(ctx context.Context, id string) error {
	err := w.store.DeletePerson(ctx, w.tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoSuchPerson
	}
	if err == nil {
		w.remember(id, nil)
	}
	return err
}

// Call is a call a simulated party places to a bot.
type Call struct {
	From       call.Identity
	To         call.Identity
	Modalities []call.Modality
}

// PlaceCall has a person (a user or a phone) call an application: by its
// client id, an instance, or an instance's phone number. The application's
// calling webhook is told of the incoming call.
func (w *World) PlaceCall(ctx context.Context, c Call) (*call.Call, error) {
	if c.From.Kind != call.User && c.From.Kind != call.Phone {
		return nil, &call.InvalidError{Msg: "from must be a user or a phone number"}
	}
	if c.From.ID == "" {
		return nil, &call.InvalidError{Msg: "from names no id"}
	}
	if c.From.Kind == call.User {
		c.From.TenantID = w.tenantID
	}
	if c.To.Kind == call.Application && c.To.ID == "" {
		c.To.ID = w.apps.Applications()[0].ClientID // {"application": {}}: the dev application
	}
	party, err := w.Party(ctx, w.tenantID, c.To)
	if err != nil {
		return nil, err
	}
	if party.App == nil {
		return nil, ErrNotAnApplication
	}
	if c.To.Kind == call.Phone && party.Identity.Kind != call.ApplicationInstance {
		return nil, ErrNotAnApplication
	}
	caller, err := w.Party(ctx, w.tenantID, c.From) // a person, with their script
	if err != nil {
		return nil, err
	}
	return w.calls.Receive(ctx, call.IncomingRequest{
		Owner:       *party.App,
		CallbackURI: party.Webhook,
		Caller:      call.Participant{Identity: c.From},
		Target:      call.Participant{Identity: party.Identity},
		Modalities:  c.Modalities,
		Script:      caller.Script,
	})
}

// PressTones has the remote party of a call press keys.
func (w *World) PressTones(ctx context.Context, callID, keys string) error {
	return w.calls.PressTones(ctx, callID, keys)
}

// Share has the remote person of a call present their screen to the bot
// (sharing true) or stop.
func (w *World) Share(ctx context.Context, callID string, sharing bool) (call.ContentSession, error) {
	return w.calls.ShareInCall(ctx, callID, sharing)
}

// Speech is what a person says: for Length, or their own audio (a WAV
// file in a format the service plays), which recordings keep.
type Speech struct {
	Length time.Duration
	Audio  []byte
}

// speech checks what a person is to say.
func (s Speech) speech() (control.Speech, error) {
	if s.Audio == nil {
		return control.Speech{Length: s.Length}, nil
	}
	if s.Length != 0 {
		return control.Speech{}, &call.InvalidError{Msg: "Give seconds or audio, not both: audio lasts as long as it lasts."}
	}
	d, err := media.ReadSpeech(s.Audio)
	if err != nil {
		return control.Speech{}, &call.InvalidError{Msg: "audio: " + err.Error()}
	}
	return control.Speech{Length: d, Audio: s.Audio}, nil
}

// Speak has the remote party of a call speak.
func (w *World) Speak(ctx context.Context, callID string, s Speech) error {
	sp, err := s.speech()
	if err != nil {
		return err
	}
	return w.calls.Speak(ctx, callID, sp)
}

// GroupTones has a person in a meeting press keys; every bot's leg hears.
func (w *World) GroupTones(ctx context.Context, groupID, participantID, keys string) error {
	return w.calls.GroupTones(ctx, groupID, participantID, keys)
}

// GroupSpeech has a person in a meeting speak.
func (w *World) GroupSpeech(ctx context.Context, groupID, participantID string, s Speech) error {
	sp, err := s.speech()
	if err != nil {
		return err
	}
	return w.calls.GroupSpeech(ctx, groupID, participantID, sp)
}

// HangUp has the remote party of a call hang up.
func (w *World) HangUp(ctx context.Context, callID string) error {
	return w.calls.RemoteHangUp(ctx, callID)
}

// CallView returns a call with a simulated remote party, whatever its
// state.
// Drop has the service end a call on its own.
func (w *World) Drop(ctx context.Context, callID string, reason call.Result) error {
	return w.calls.DropCall(ctx, callID, reason)
}

// Call returns any call by id: with a simulated remote party or a group
// call's leg.
func (w *World) Call(ctx context.Context, callID string) (*call.Call, error) {
	return w.calls.SimulatedCall(ctx, callID)
}

func (w *World) CallView(ctx context.Context, callID string) (*call.Call, error) {
	c, err := w.calls.SimulatedCall(ctx, callID)
	if err != nil {
		return nil, err
	}
	if c.Remote == nil {
		return nil, control.ErrNoRemote
	}
	return c, nil
}

// InviteApplication has a meeting invite a bot: the application's webhook
// gets an incoming call carrying the meeting's chatInfo and meetingInfo,
// from the organizer; answering it joins the bot's leg to the meeting.
func (w *World) InviteApplication(ctx context.Context, groupID string, app call.Identity) (*call.Call, error) {
	g, err := w.calls.Group(ctx, groupID)
	if err != nil {
		return nil, err
	}
	if g.Meeting == nil {
		return nil, &call.InvalidError{Msg: "only a meeting invites bots: an ad-hoc group call has no chatInfo to join by"}
	}
	if g.Ended {
		return nil, call.ErrGroupEnded
	}
	party, err := w.Party(ctx, w.tenantID, app)
	if err != nil {
		return nil, err
	}
	m := g.Meeting
	return w.calls.Receive(ctx, call.IncomingRequest{
		Owner:       *party.App,
		CallbackURI: party.Webhook,
		Caller:      call.Participant{Identity: m.Organizer},
		Target:      call.Participant{Identity: party.Identity},
		Join: &call.JoinInfo{
			Chat:      call.ChatInfo{ThreadID: m.ThreadID, MessageID: m.MessageID},
			Kind:      call.ByOrganizer,
			Organizer: m.Organizer,
		},
		GroupID: g.ID,
		ChainID: g.ChainID,
	})
}
