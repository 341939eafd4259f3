package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/call"

	"github.com/callplane/callplane/internal/store"
	"github.com/callplane/callplane/internal/store/sqlite"
	"github.com/callplane/callplane/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "callplane.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestSharedConformance: two stores on one database file, as two
// processes would have.
func TestSharedConformance(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (a, b store.Store) {
		path := filepath.Join(t.TempDir(), "callplane.db")
		a, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		b, err = sqlite.Open(path)
		if err != nil {
			a.Close()
			t.Fatal(err)
		}
		return a, b
	})
}

func TestReopenKeepsSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callplane.db")
	for i := 0; i < 2; i++ {
		s, err := sqlite.Open(path)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		s.Close()
	}
}

// TestPurgeInChunks: a purge larger than one chunk deletes everything it
// should, in several short transactions, and keeps what it should.
func TestPurgeInChunks(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "callplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour)
	const n = 2500
	var batch []*store.Changes
	for range n {
		c, _, err := call.Place(call.Request{
			Owner:       call.Owner{TenantID: "t", AppID: "a"},
			CallbackURI: "http://127.0.0.1:1/cb",
			Targets:     []call.Participant{{Identity: call.Identity{Kind: call.User, ID: "u"}}},
			Media:       call.Media{Hosting: call.ServiceHosted},
		}, old, call.DefaultTiming)
		if err != nil {
			t.Fatal(err)
		}
		c.HangUp(old, call.EndedByApplication, call.DefaultTiming)
		c.Advance(old, call.DefaultTiming)
		n := store.NewNotification(c, []byte("x"), old)
		n.Status = store.Delivered
		batch = append(batch, &store.Changes{Calls: []*call.Call{c}, Notifications: []store.Notification{n}})
	}
	for _, err := range st.SaveBatch(ctx, batch) {
		if err != nil {
			t.Fatal(err)
		}
	}
	keep := store.NewNotification(batch[0].Calls[0], []byte("recent"), time.Now())
	keep.CallID = "another"
	if err := store.Save(ctx, st, &store.Changes{Notifications: []store.Notification{keep}}); err != nil {
		t.Fatal(err)
	}
	calls, notes, err := st.Purge(ctx, time.Now().Add(-24*time.Hour))
	if err != nil || calls != n || notes != n {
		t.Fatalf("purged %d calls, %d notifications (%v); want %d each", calls, notes, err, n)
	}
	left, err := st.Notifications(ctx, store.Filter{})
	if err != nil || len(left) != 1 || string(left[0].Payload) != "recent" {
		t.Fatalf("left %+v, %v", left, err)
	}
}
