package postgres

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/pgtest"
	"github.com/callplane/callplane/internal/store"
)

// wait bounds what a test waits for a node to hear something.
const wait = 10 * time.Second

// member is a node of a test cluster with what it was told.
type member struct {
	*Store
	node   *Node
	taken  chan taken
	lost   chan struct{}
	events chan string
}

type taken struct {
	ns []store.Notification
	ds []store.Deadline
}

func join(t *testing.T, url, id string, ttl time.Duration) *member {
	t.Helper()
	m := &member{Store: open(t, url, id), taken: make(chan taken, 100), lost: make(chan struct{}, 10), events: make(chan string, 100)}
	node, err := m.Join(context.Background(), NodeOptions{
		Address:  "http://" + id + ".test",
		LeaseTTL: ttl,
		Handlers: Handlers{
			Take:     func(ns []store.Notification, ds []store.Deadline) { m.taken <- taken{ns, ds} },
			Lost:     func() { m.lost <- struct{}{} },
			Document: func(name string) { m.events <- "document " + name },
			Faults:   func() { m.events <- "faults" },
			Reset:    func() { m.events <- "reset" },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.node = node
	t.Cleanup(func() { m.halt() })
	return m
}

// halt stops the node as SIGKILL would: its lease is left to run out.
func (m *member) halt() {
	m.node.cancel()
	<-m.node.done
}

func (m *member) nextTaken(t *testing.T) taken {
	t.Helper()
	select {
	case got := <-m.taken:
		return got
	case <-time.After(wait):
		t.Fatalf("%s was handed nothing in %v", m.node.ID(), wait)
		return taken{}
	}
}

func (m *member) nextEvent(t *testing.T) string {
	t.Helper()
	select {
	case e := <-m.events:
		return e
	case <-time.After(wait):
		t.Fatalf("%s heard nothing in %v", m.node.ID(), wait)
		return ""
	}
}

func notificationsOf(c *call.Call, n int) []store.Notification {
	var out []store.Notification
	for i := range n {
		out = append(out, store.NewNotification(c, fmt.Appendf(nil, `{"n":%d}`, i), time.Now()))
	}
	return out
}

func seqs(ns []store.Notification) []int64 {
	var out []int64
	for _, n := range ns {
		out = append(out, n.Seq)
	}
	return out
}

// TestHandover: a node that saves a call hands its owner (itself, or
// another node) the notifications and the call's deadline, and its
// committer leaves them alone; a call it only notifies (a roster update to
// another leg) goes the same way.
func TestHandover(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a, b := join(t, url, "node-a", time.Minute), join(t, url, "node-b", time.Minute)
	c := newCall(t, time.Now())
	created := &store.Changes{Calls: []*call.Call{c}, Notifications: notificationsOf(c, 1)}
	if err := store.Save(ctx, a, created); err != nil {
		t.Fatal(err)
	}
	// Its own call reaches a through its listener too, in commit order
	// with what other nodes save.
	if !created.Elsewhere[c.ID] {
		t.Fatalf("the creator's committer would deliver its call itself: elsewhere %v", created.Elsewhere)
	}
	if got := a.nextTaken(t); len(got.ns) != 1 || got.ns[0].Seq != created.Notifications[0].Seq || len(got.ds) != 1 {
		t.Fatalf("a was handed %+v for its own new call", got)
	}

	changed := &store.Changes{Calls: []*call.Call{c}, Notifications: notificationsOf(c, 2)}
	if err := store.Save(ctx, b, changed); err != nil {
		t.Fatal(err)
	}
	if !changed.Elsewhere[c.ID] {
		t.Fatalf("b saved a's call and did not leave it to a: elsewhere %v", changed.Elsewhere)
	}
	got := a.nextTaken(t)
	if !slices.Equal(seqs(got.ns), seqs(changed.Notifications)) || string(got.ns[1].Payload) != `{"n":1}` {
		t.Fatalf("a was handed %v, want %v", seqs(got.ns), seqs(changed.Notifications))
	}
	if len(got.ds) != 1 || got.ds[0].CallID != c.ID || got.ds[0].Version != c.Version || !got.ds[0].At.Equal(c.NextDeadline()) {
		t.Fatalf("a was handed deadlines %+v, want %s at %v version %d", got.ds, c.ID, c.NextDeadline(), c.Version)
	}

	// Notified, not saved: the owner is looked up.
	roster := &store.Changes{Notifications: notificationsOf(c, 1)}
	if err := store.Save(ctx, b, roster); err != nil {
		t.Fatal(err)
	}
	if got := a.nextTaken(t); len(got.ns) != 1 || got.ns[0].Seq != roster.Notifications[0].Seq || len(got.ds) != 0 {
		t.Fatalf("a was handed %+v for a notification alone", got)
	}
	if !roster.Elsewhere[c.ID] {
		t.Fatal("a notification of a's call saved by b is not left to a")
	}
	select {
	case got := <-b.taken:
		t.Fatalf("b was handed its own save: %+v", got)
	default:
	}
}

// TestTakeOverADeadNode: the calls of a node whose lease ran out go to
// another node with their pending notifications (in Seq order) and
// deadlines; the notifications it delivered stay delivered.
func TestTakeOverADeadNode(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a := join(t, url, "node-a", time.Second)
	var pending []store.Notification
	for range 3 {
		c := newCall(t, time.Now())
		ch := &store.Changes{Calls: []*call.Call{c}, Notifications: notificationsOf(c, 2)}
		if err := store.Save(ctx, a, ch); err != nil {
			t.Fatal(err)
		}
		pending = append(pending, ch.Notifications...)
	}
	delivered := pending[0]
	if err := a.RecordDeliveries(ctx, []store.DeliveryUpdate{{Seq: delivered.Seq, Delivery: store.Delivery{Status: store.Delivered, Attempts: 1}}}); err != nil {
		t.Fatal(err)
	}
	a.halt()
	killed := time.Now()

	b := join(t, url, "node-b", time.Minute)
	got := b.nextTaken(t)
	t.Logf("node-b took over %d calls %v after node-a stopped renewing its lease of 1s", len(got.ds), time.Since(killed).Round(time.Millisecond))
	if want := seqs(pending[1:]); !slices.Equal(seqs(got.ns), want) {
		t.Fatalf("b took notifications %v, want the pending %v in order", seqs(got.ns), want)
	}
	if len(got.ds) != 3 {
		t.Fatalf("b took %d deadlines, want 3", len(got.ds))
	}
	var owned int
	if err := b.Pool().QueryRow(ctx, `SELECT count(*) FROM calls WHERE owner_node = 'node-b'`).Scan(&owned); err != nil || owned != 3 {
		t.Fatalf("node-b owns %d calls (%v), want 3", owned, err)
	}
	// A node that starts later finds no dead node left to take.
	c := join(t, url, "node-c", time.Second)
	select {
	case got := <-c.taken:
		t.Fatalf("node-c took %+v, already node-b's", got)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestLeaveHandsOverAtOnce: a node that stops gracefully gives its calls
// up, and the others take them without waiting for its lease.
func TestLeaveHandsOverAtOnce(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a, b := join(t, url, "node-a", time.Hour), join(t, url, "node-b", time.Hour)
	c := newCall(t, time.Now())
	if err := store.Save(ctx, a, &store.Changes{Calls: []*call.Call{c}, Notifications: notificationsOf(c, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := a.node.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.nextTaken(t); len(got.ds) != 1 || got.ds[0].CallID != c.ID || len(got.ns) != 1 {
		t.Fatalf("b took %+v, want a's call and its notification", got)
	}
}

// TestLostLease: a node whose membership was taken while it was alive (a
// pause longer than its lease) forgets its calls, joins again, and resumes
// those still its own.
func TestLostLease(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	// Leases long enough that a busy machine never lets them run out by
	// itself: the test takes a's membership away on purpose.
	a, b := join(t, url, "node-a", 4*time.Second), join(t, url, "node-b", 4*time.Second)
	mine := newCall(t, time.Now())
	if err := store.Save(ctx, a, &store.Changes{Calls: []*call.Call{mine}, Notifications: notificationsOf(mine, 1)}); err != nil {
		t.Fatal(err)
	}
	a.nextTaken(t) // its own save, handed to itself
	// What b does when it takes a dead node over (a renews too often to
	// be caught by b's own claim here).
	if _, err := a.Pool().Exec(ctx, `DELETE FROM nodes WHERE id = 'node-a'`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.lost:
	case <-time.After(wait):
		t.Fatal("node-a was never told it lost its lease")
	}
	// The calls still a's are handed back to it.
	if got := a.nextTaken(t); len(got.ds) != 1 || got.ds[0].CallID != mine.ID || len(got.ns) != 1 {
		t.Fatalf("node-a resumed %+v, want its call and its notification", got)
	}
	nodes, err := b.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 {
		t.Fatalf("members after node-a joined again: %+v", nodes)
	}
}

// TestEvents: what one node changes, the others hear of; a node does not
// hear its own reset.
func TestEvents(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a, b := join(t, url, "node-a", time.Minute), join(t, url, "node-b", time.Minute)
	if err := a.Documents().SaveDocument(ctx, "directory", []byte(`{}`), 0); err != nil {
		t.Fatal(err)
	}
	if e := b.nextEvent(t); e != "document directory" {
		t.Fatalf("b heard %q", e)
	}
	if err := a.node.AnnounceReset(ctx); err != nil {
		t.Fatal(err)
	}
	if e := b.nextEvent(t); e != "reset" {
		t.Fatalf("b heard %q", e)
	}
	for _, m := range []*member{a} {
		if e := m.nextEvent(t); e != "document directory" {
			t.Fatalf("a heard %q", e)
		}
		select {
		case e := <-m.events:
			t.Fatalf("a heard %q: its own reset", e)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestHandoverToATakenNode: a handover addressed to a node whose calls were
// taken over (its saver read the owner just before the takeover) reaches
// the node that took them, and so does one to a node that node had taken
// over before.
func TestHandoverToATakenNode(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	d := join(t, url, "node-d", time.Second)
	d.halt()
	e := join(t, url, "node-e", time.Second) // takes d over
	e.halt()
	c := join(t, url, "node-c", time.Minute) // takes e over, and what e had inherited
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("waited %v for %s", wait, what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("node-c to take node-e's calls", func() bool { return c.node.mine("node-e") && c.node.mine("node-d") })

	made := newCall(t, time.Now())
	ch := &store.Changes{Calls: []*call.Call{made}, Notifications: notificationsOf(made, 1)}
	if err := store.Save(ctx, c, ch); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"node-d", "node-e"} {
		if _, err := c.Pool().Exec(ctx, `SELECT pg_notify($1, $2)`, handoverChannel, fmt.Sprintf(`%s {"n":[%d]}`, to, ch.Notifications[0].Seq)); err != nil {
			t.Fatal(err)
		}
		if got := c.nextTaken(t); len(got.ns) != 1 || got.ns[0].Seq != ch.Notifications[0].Seq {
			t.Fatalf("a handover to %s reached node-c as %+v", to, got)
		}
	}
}

// TestSurvivorsShareTheDead: two nodes that find two dead nodes at once
// each take one (SKIP LOCKED: neither waits for the other), and every call
// is taken exactly once.
func TestSurvivorsShareTheDead(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	var calls []string
	for _, id := range []string{"node-d1", "node-d2"} {
		d := join(t, url, id, time.Second)
		for range 5 {
			c := newCall(t, time.Now())
			if err := store.Save(ctx, d, &store.Changes{Calls: []*call.Call{c}, Notifications: notificationsOf(c, 1)}); err != nil {
				t.Fatal(err)
			}
			calls = append(calls, c.ID)
		}
		d.halt()
	}
	// The survivors' leases are long: one must not die of a busy machine
	// and be taken over by the other.
	s1, s2 := join(t, url, "node-s1", time.Minute), join(t, url, "node-s2", time.Minute)
	took := map[string]string{}
	for len(took) < len(calls) {
		var (
			got taken
			by  string
		)
		select {
		case got = <-s1.taken:
			by = "node-s1"
		case got = <-s2.taken:
			by = "node-s2"
		case <-time.After(wait):
			t.Fatalf("after %v, %d of %d calls taken over: %v", wait, len(took), len(calls), took)
		}
		for _, d := range got.ds {
			if prev, ok := took[d.CallID]; ok {
				t.Fatalf("call %s taken by %s and %s", d.CallID, prev, by)
			}
			took[d.CallID] = by
		}
	}
	for _, id := range calls {
		var owner string
		if err := s1.Pool().QueryRow(ctx, `SELECT owner_node FROM calls WHERE id = $1`, id).Scan(&owner); err != nil || owner != took[id] {
			t.Fatalf("call %s is %s's (%v), taken by %s", id, owner, err, took[id])
		}
	}
}
