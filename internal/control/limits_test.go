package control

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/store/sqlite"
)

// newService is a service over a fresh SQLite store, handing its
// notifications to n; both close when the test ends.
func newService(t *testing.T, n Notifier, cfg Config) *Service {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "callplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if cfg.Timing == (call.Timing{}) {
		cfg.Timing = call.Timing{AnswerDelay: time.Hour, KeepAliveTimeout: time.Hour}
	}
	s := New(st, n, cfg, slog.New(slog.DiscardHandler))
	t.Cleanup(s.Close)
	return s
}

func p2p(owner call.Owner) call.Request {
	return call.Request{
		Owner:       owner,
		CallbackURI: "http://127.0.0.1:1/cb",
		Targets:     []call.Participant{{Identity: call.Identity{Kind: call.User, ID: "u"}}},
		Media:       call.Media{Hosting: call.ServiceHosted},
	}
}

var initiate = []string{"Calls.Initiate.All"}

// TestCallLimitPerApplication: with MaxCallsPerApp, an application's calls
// over the limit are throttled, even when placed all at once; other
// applications are not affected; a call that ends frees its place.
func TestCallLimitPerApplication(t *testing.T) {
	const limit = 5
	s := newService(t, &recorder{}, Config{MaxCallsPerApp: limit})
	ctx := context.Background()
	owner := call.Owner{TenantID: "t", AppID: "a"}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		placed    []string
		throttled int
	)
	for range 3 * limit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.Place(ctx, p2p(owner), initiate)
			mu.Lock()
			defer mu.Unlock()
			var te *ThrottledError
			switch {
			case errors.As(err, &te):
				throttled++
				if te.RetryAfter <= 0 {
					t.Errorf("throttled without a Retry-After: %+v", te)
				}
			case err != nil:
				t.Error(err)
			default:
				placed = append(placed, c.ID)
			}
		}()
	}
	wg.Wait()
	if len(placed) != limit || throttled != 2*limit {
		t.Fatalf("placed %d, throttled %d; want %d and %d", len(placed), throttled, limit, 2*limit)
	}
	if _, err := s.Place(ctx, p2p(call.Owner{TenantID: "t", AppID: "b"}), initiate); err != nil {
		t.Fatalf("another application is throttled too: %v", err)
	}
	if err := s.HangUp(ctx, owner, placed[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Place(ctx, p2p(owner), initiate); err != nil {
		t.Fatalf("a call after one ended: %v", err)
	}
}

// TestEndCalls ends every live call of one application, and only those.
func TestEndCalls(t *testing.T) {
	s := newService(t, &recorder{}, Config{})
	ctx := context.Background()
	gone, kept := call.Owner{TenantID: "t", AppID: "gone"}, call.Owner{TenantID: "t", AppID: "kept"}
	var goneIDs []string
	for range 3 {
		c, err := s.Place(ctx, p2p(gone), initiate)
		if err != nil {
			t.Fatal(err)
		}
		goneIDs = append(goneIDs, c.ID)
	}
	other, err := s.Place(ctx, p2p(kept), initiate)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.HangUp(ctx, gone, goneIDs[0]); err != nil {
		t.Fatal(err)
	}
	n, err := s.EndCalls(ctx, gone, call.ApplicationRemoved)
	if err != nil || n != 2 {
		t.Fatalf("ended %d, %v; want 2 (one was over already)", n, err)
	}
	for _, id := range goneIDs[1:] {
		c, err := s.store.GetCall(ctx, id)
		if err != nil || c.State != call.Terminated || c.Result == nil || *c.Result != call.ApplicationRemoved {
			t.Fatalf("call %s: %+v, %v", id, c, err)
		}
	}
	if c, _ := s.store.GetCall(ctx, other.ID); c.State != call.Establishing {
		t.Fatalf("another application's call: %s", c.State)
	}
}
