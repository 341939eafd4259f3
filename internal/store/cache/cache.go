// Package cache keeps the live calls and groups of a store in memory, in
// front of it: a command reads the call it changes from memory instead of
// the database, which spares a query and a decoding on every request.
//
// It is for a single callplane over its own database. Where several
// processes share a database (PostgreSQL, later), another process's writes
// would not be seen, and the cache must not be used.
package cache

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/store"
)

// Store is a store.Store that serves live calls and groups from memory.
//
// Calls are kept encoded: a byte slice is one object the garbage collector
// never looks inside, where a decoded call is dozens of pointers it would
// trace on every cycle. With many live calls that tracing is what made
// requests slower as calls accumulated.
type Store struct {
	store.Store
	mu     sync.RWMutex
	calls  map[string]cachedCall
	groups map[string]*call.Group
}

type cachedCall struct {
	version int64
	data    []byte
}

var _ store.Store = (*Store)(nil)

// New caches in front of next.
func New(next store.Store) *Store {
	return &Store{Store: next, calls: make(map[string]cachedCall), groups: make(map[string]*call.Group)}
}

// GetCall returns a copy of the call, from memory if it is there.
func (s *Store) GetCall(ctx context.Context, id string) (*call.Call, error) {
	s.mu.RLock()
	cached, ok := s.calls[id]
	s.mu.RUnlock()
	if ok {
		var c call.Call
		if err := json.Unmarshal(cached.data, &c); err == nil {
			c.Version = cached.version
			return &c, nil
		}
	}
	c, err := s.Store.GetCall(ctx, id)
	if err != nil {
		return nil, err
	}
	s.keepCall(c, nil)
	return c, nil
}

// GetGroup returns a copy of the group call, from memory if it is there.
func (s *Store) GetGroup(ctx context.Context, id string) (*call.Group, error) {
	s.mu.RLock()
	g, ok := s.groups[id]
	s.mu.RUnlock()
	if ok {
		return g.Clone(), nil
	}
	g, err := s.Store.GetGroup(ctx, id)
	if err != nil {
		return nil, err
	}
	s.keepGroup(g.Clone())
	return g, nil
}

// keepCall caches a live call, unless a newer version is cached already:
// a read that raced with a save must not put an old version back. data is
// the call's encoding if the caller has it (what the engine just saved).
func (s *Store) keepCall(c *call.Call, data []byte) {
	if c.State != call.Terminated && data == nil {
		var err error
		if data, err = json.Marshal(c); err != nil {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.calls[c.ID]; ok && cur.version >= c.Version {
		return
	}
	if c.State == call.Terminated {
		delete(s.calls, c.ID) // ended calls are rarely read again
		return
	}
	s.calls[c.ID] = cachedCall{version: c.Version, data: data}
}

func (s *Store) keepGroup(g *call.Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.groups[g.ID]; ok && cur.Version >= g.Version {
		return
	}
	if g.Ended {
		delete(s.groups, g.ID)
		return
	}
	s.groups[g.ID] = g
}

// SaveBatch saves through the store and caches what it saved. A Changes
// that conflicted drops its calls and groups from the cache, so the retry
// reads them from the database.
func (s *Store) SaveBatch(ctx context.Context, batch []*store.Changes) []error {
	errs := s.Store.SaveBatch(ctx, batch)
	for i, ch := range batch {
		switch {
		case errs[i] == nil:
			enc := ch.Encoding()
			for j, c := range ch.Calls {
				var data []byte
				if enc != nil && len(enc.Calls) == len(ch.Calls) {
					data = enc.Calls[j] // the engine's encoding: not encoded again
				}
				s.keepCall(c, data)
			}
			for _, g := range ch.Groups {
				s.keepGroup(g.Clone())
			}
		case errors.Is(errs[i], store.ErrConflict):
			s.forget(ch)
		}
	}
	return errs
}

// Reset empties the cache with the store: no command runs meanwhile
// (control.Service.Exclusive).
func (s *Store) Reset(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
	clear(s.groups)
	return s.Store.Reset(ctx)
}

func (s *Store) forget(ch *store.Changes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range ch.Calls {
		delete(s.calls, c.ID)
	}
	for _, g := range ch.Groups {
		delete(s.groups, g.ID)
	}
}
