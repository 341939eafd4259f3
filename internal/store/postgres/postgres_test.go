package postgres

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/pgtest"
	"github.com/callplane/callplane/internal/store"
	"github.com/callplane/callplane/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func open(t *testing.T, url, node string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, Options{NodeID: node})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), pgtest.URL(t), Options{NodeID: "node-1"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestSharedConformance: two stores on one database. (They have no node
// ids: what belongs to which node is cluster_test.go's.)
func TestSharedConformance(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (a, b store.Store) {
		url := pgtest.URL(t)
		a, err := Open(context.Background(), url, Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, err = Open(context.Background(), url, Options{})
		if err != nil {
			a.Close()
			t.Fatal(err)
		}
		return a, b
	})
}

// TestMigrationsConcurrent: nodes starting at the same moment on a new
// database all succeed, and each step is applied once.
func TestMigrationsConcurrent(t *testing.T) {
	url := pgtest.URL(t)
	const nodes = 3
	var (
		ready, done sync.WaitGroup
		start       = make(chan struct{})
		stores      [nodes]*Store
		errs        [nodes]error
	)
	for i := range nodes {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			stores[i], errs[i] = Open(context.Background(), url, Options{})
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	steps, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := stores[0].Pool().Query(context.Background(), `SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var i int
	for ; rows.Next(); i++ {
		var version, count int
		if err := rows.Scan(&version, &count); err != nil {
			t.Fatal(err)
		}
		if i >= len(steps) || version != steps[i].version || count != 1 {
			t.Fatalf("schema_migrations has version %d %d times; want each of %d steps once", version, count, len(steps))
		}
	}
	if rows.Err() != nil || i != len(steps) {
		t.Fatalf("%d versions applied (%v), want %d", i, rows.Err(), len(steps))
	}
}

func TestMigrationFiles(t *testing.T) {
	steps, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) == 0 || steps[0].version != 1 || steps[0].name != "0001_calls.sql" {
		t.Fatalf("steps %+v, want 0001_calls.sql first", steps)
	}
}

func newCall(t *testing.T, now time.Time) *call.Call {
	t.Helper()
	c, _, err := call.Place(call.Request{
		Owner:       call.Owner{TenantID: "t", AppID: "a"},
		CallbackURI: "https://bot.example/callback",
		Targets:     []call.Participant{{Identity: call.Identity{Kind: call.User, ID: "u"}}},
		Media:       call.Media{Hosting: call.ServiceHosted},
	}, now, call.DefaultTiming)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOwnerNode: a call is its creator's; saving it through another node
// does not change that.
func TestOwnerNode(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a, b := open(t, url, "node-a"), open(t, url, "node-b")
	c := newCall(t, time.Now())
	if err := store.Save(ctx, a, &store.Changes{Calls: []*call.Call{c}}); err != nil {
		t.Fatal(err)
	}
	if err := store.Save(ctx, b, &store.Changes{Calls: []*call.Call{c}}); err != nil {
		t.Fatal(err)
	}
	var owner string
	if err := b.Pool().QueryRow(ctx, `SELECT owner_node FROM calls WHERE id = $1`, c.ID).Scan(&owner); err != nil || owner != "node-a" {
		t.Fatalf("owner_node %q (%v), want node-a", owner, err)
	}
}

// TestCreateExistingConflicts: creating a call or group that exists is a
// conflict, alone or in a batch.
func TestCreateExistingConflicts(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.URL(t), "")
	c := newCall(t, time.Now())
	g := call.NewAdHoc("t", time.Now())
	if err := store.Save(ctx, s, &store.Changes{Calls: []*call.Call{c}, Groups: []*call.Group{g}}); err != nil {
		t.Fatal(err)
	}
	dupCall, dupGroup := *c, *g
	dupCall.Version, dupGroup.Version = 0, 0
	if err := store.Save(ctx, s, &store.Changes{Calls: []*call.Call{&dupCall}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("creating an existing call: %v, want ErrConflict", err)
	}
	other := newCall(t, time.Now())
	errs := s.SaveBatch(ctx, []*store.Changes{
		{Groups: []*call.Group{&dupGroup}},
		{Calls: []*call.Call{other}},
	})
	if !errors.Is(errs[0], store.ErrConflict) || errs[1] != nil {
		t.Fatalf("batch errors %v, want ErrConflict and nil", errs)
	}
	if dupGroup.Version != 0 || other.Version != 1 {
		t.Fatalf("versions %d %d, want 0 1", dupGroup.Version, other.Version)
	}
}

// TestOppositeOrderBatches: two nodes saving the same calls in opposite
// orders may deadlock; PostgreSQL then aborts one, which is tried again.
// Either way every Changes is saved or conflicts, nothing else.
func TestOppositeOrderBatches(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a, b := open(t, url, "node-a"), open(t, url, "node-b")
	x, y := newCall(t, time.Now()), newCall(t, time.Now())
	if err := store.Save(ctx, a, &store.Changes{Calls: []*call.Call{x, y}}); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		xa, ya := *x, *y
		xb, yb := *x, *y
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  [2][]error
		)
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			errs[0] = a.SaveBatch(ctx, []*store.Changes{{Calls: []*call.Call{&xa}}, {Calls: []*call.Call{&ya}}})
		}()
		go func() {
			defer wg.Done()
			<-start
			errs[1] = b.SaveBatch(ctx, []*store.Changes{{Calls: []*call.Call{&yb}}, {Calls: []*call.Call{&xb}}})
		}()
		close(start)
		wg.Wait()
		saved := map[string]int{}
		for i, batch := range [2][]*call.Call{{&xa, &ya}, {&yb, &xb}} {
			for j, err := range errs[i] {
				switch {
				case err == nil:
					saved[batch[j].ID]++
				case !errors.Is(err, store.ErrConflict):
					t.Fatalf("round %d, batch %d, changes %d: %v", round, i, j, err)
				}
			}
		}
		for _, c := range []*call.Call{x, y} {
			got, err := a.GetCall(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if saved[c.ID] != 1 || got.Version != c.Version+1 {
				t.Fatalf("round %d: call saved %d times, version %d → %d; want once", round, saved[c.ID], c.Version, got.Version)
			}
			*c = *got
		}
	}
}

// TestPurgeInChunks: a purge larger than one chunk deletes everything it
// should, and keeps what it should.
func TestPurgeInChunks(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.URL(t), "")
	old := time.Now().Add(-48 * time.Hour)
	const n = purgeChunk + 200
	var batch []*store.Changes
	for range n {
		c := newCall(t, old)
		c.HangUp(old, call.EndedByApplication, call.DefaultTiming)
		c.Advance(old, call.DefaultTiming)
		note := store.NewNotification(c, []byte("x"), old)
		note.Status = store.Delivered
		batch = append(batch, &store.Changes{Calls: []*call.Call{c}, Notifications: []store.Notification{note},
			Speech: []store.Speech{{CallID: c.ID, OperationID: "op", Audio: []byte("a")}}})
	}
	for _, err := range s.SaveBatch(ctx, batch) {
		if err != nil {
			t.Fatal(err)
		}
	}
	keep := store.NewNotification(batch[0].Calls[0], []byte("recent"), time.Now())
	keep.CallID = "another"
	if err := store.Save(ctx, s, &store.Changes{Notifications: []store.Notification{keep}}); err != nil {
		t.Fatal(err)
	}
	calls, notes, err := s.Purge(ctx, time.Now().Add(-24*time.Hour))
	if err != nil || calls != n || notes != n {
		t.Fatalf("purged %d calls, %d notifications (%v); want %d each", calls, notes, err, n)
	}
	left, err := s.Notifications(ctx, store.Filter{})
	if err != nil || len(left) != 1 || string(left[0].Payload) != "recent" {
		t.Fatalf("left %+v, %v", left, err)
	}
	var speech int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM speech`).Scan(&speech); err != nil || speech != 0 {
		t.Fatalf("%d speech rows left (%v), want none", speech, err)
	}
}

// TestResetKeepsOtherTables: a reset empties the store's tables only, and
// the migrations stay applied.
func TestResetKeepsOtherTables(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s := open(t, url, "")
	pool := s.Pool()
	if _, err := pool.Exec(ctx, `CREATE TABLE cluster_nodes (id text PRIMARY KEY); INSERT INTO cluster_nodes VALUES ('n1')`); err != nil {
		t.Fatal(err)
	}
	c := newCall(t, time.Now())
	if err := store.Save(ctx, s, &store.Changes{Calls: []*call.Call{c}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCall(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("call after reset: %v", err)
	}
	var nodes, versions int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM cluster_nodes), (SELECT count(*) FROM schema_migrations)`).Scan(&nodes, &versions); err != nil {
		t.Fatal(err)
	}
	if nodes != 1 || versions == 0 {
		t.Fatalf("after reset: %d rows in another table, %d migrations; want 1 and all", nodes, versions)
	}
	// Reopening applies nothing again.
	open(t, url, "")
}

// TestContextCancelled: a cancelled context fails a save, and saves nothing.
func TestContextCancelled(t *testing.T) {
	s := open(t, pgtest.URL(t), "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := newCall(t, time.Now())
	if err := store.Save(ctx, s, &store.Changes{Calls: []*call.Call{c}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("save: %v, want context.Canceled", err)
	}
	if c.Version != 0 {
		t.Fatalf("version %d after a failed save", c.Version)
	}
	if _, err := s.GetCall(context.Background(), c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("call after a cancelled save: %v", err)
	}
}
