// Package storetest is the conformance suite every store.Store passes. An
// implementation's own test calls Run with a constructor for fresh, empty
// stores.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/ids"
	"github.com/callplane/callplane/internal/store"
)

// Run runs the suite. open returns a new, empty store; the suite closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"GetUnknown", testGetUnknown},
		{"UpdateBumpsVersion", testUpdateBumpsVersion},
		{"UpdateConflict", testUpdateConflict},
		{"ConcurrentUpdatesOneWins", testConcurrentUpdatesOneWins},
		{"NotificationsOrderedAndPending", testNotificationsOrderedAndPending},
		{"ConflictSavesNoNotification", testConflictSavesNoNotification},
		{"RecordDeliveries", testRecordDeliveries},
		{"NotificationFilters", testNotificationFilters},
		{"Deadlines", testDeadlines},
		{"Purge", testPurge},
		{"GroupsAndMeetings", testGroupsAndMeetings},
		{"SaveIsAtomic", testSaveIsAtomic},
		{"PurgeEndedGroups", testPurgeEndedGroups},
		{"BatchConflictsAlone", testBatchConflictsAlone},
		{"LiveCallsByOwner", testLiveCallsByOwner},
		{"LiveCounts", testLiveCounts},
		{"People", testPeople},
		{"SpeechGoesWithItsCall", testSpeechGoesWithItsCall},
		{"SpeechConflictSavesNone", testSpeechConflictSavesNone},
		{"Reset", testReset},
		{"RequestsGoWithTheirCall", testRequestsGoWithTheirCall},
		{"DeliveryDuration", testDeliveryDuration},
		{"BatchCreateExistingAlone", testBatchCreateExistingAlone},
		{"ListCalls", testListCalls},
		{"ListGroups", testListGroups},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

var (
	owner  = call.Owner{TenantID: "tenant-1", AppID: "app-1"}
	timing = call.Timing{AnswerDelay: time.Second, KeepAliveTimeout: time.Hour}
)

func newCall(t *testing.T, now time.Time) (*call.Call, []call.Event) {
	t.Helper()
	c, ev, err := call.Place(call.Request{
		Owner:       owner,
		CallbackURI: "https://bot.example/callback",
		Targets:     []call.Participant{{Identity: call.Identity{Kind: call.User, ID: "user-1", DisplayName: "User One"}}},
		Modalities:  []call.Modality{call.Audio},
		Media:       call.Media{Hosting: call.ServiceHosted},
	}, now, timing)
	if err != nil {
		t.Fatal(err)
	}
	return c, ev
}

func outbox(c *call.Call, payloads ...string) []store.Notification {
	var out []store.Notification
	for _, p := range payloads {
		out = append(out, store.NewNotification(c, []byte(p), time.Now()))
	}
	return out
}

func testCreateAndGet(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	c, _ := newCall(t, now)
	if err := save(ctx, s, c, nil); err != nil {
		t.Fatal(err)
	}
	if c.Version != 1 {
		t.Fatalf("version after create = %d, want 1", c.Version)
	}
	got, err := s.GetCall(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID || got.Owner != c.Owner || got.State != call.Establishing || got.Version != 1 {
		t.Fatalf("got %+v", got)
	}
	if got.ChainID != c.ChainID || got.MyParticipantID != c.MyParticipantID || got.CallbackURI != c.CallbackURI {
		t.Fatalf("ids not kept: got %+v", got)
	}
	if len(got.Targets) != 1 || got.Targets[0].Identity != c.Targets[0].Identity {
		t.Fatalf("targets = %+v, want %+v", got.Targets, c.Targets)
	}
	if !got.AnswerAt.Equal(c.AnswerAt) || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("times not kept: answer %v vs %v", got.AnswerAt, c.AnswerAt)
	}
	dup := *c
	dup.Version = 0
	if err := save(ctx, s, &dup, nil); err == nil {
		t.Fatal("creating the same id twice succeeded")
	}
}

func testGetUnknown(t *testing.T, s store.Store) {
	if _, err := s.GetCall(context.Background(), ids.New()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func testUpdateBumpsVersion(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	c, _ := newCall(t, now)
	must(t, save(ctx, s, c, nil))
	c.Advance(now.Add(2*time.Second), timing)
	must(t, save(ctx, s, c, nil))
	if c.Version != 2 {
		t.Fatalf("version = %d, want 2", c.Version)
	}
	got, err := s.GetCall(ctx, c.ID)
	must(t, err)
	if got.State != call.Established || got.Version != 2 {
		t.Fatalf("stored state %s version %d, want established 2", got.State, got.Version)
	}
}

func testUpdateConflict(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, _ := newCall(t, time.Now())
	must(t, save(ctx, s, c, nil))
	stale := *c
	must(t, save(ctx, s, c, nil))
	if err := save(ctx, s, &stale, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: err = %v, want ErrConflict", err)
	}
	if stale.Version != 1 {
		t.Fatalf("failed update changed the caller's version to %d", stale.Version)
	}
}

func testConcurrentUpdatesOneWins(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, _ := newCall(t, time.Now())
	must(t, save(ctx, s, c, nil))
	const n = 20
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		wins      int
		conflicts int
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := *c
			err := save(ctx, s, &mine, outbox(&mine, "x"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrConflict):
				conflicts++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != n-1 {
		t.Fatalf("wins=%d conflicts=%d, want 1 and %d", wins, conflicts, n-1)
	}
	pending, err := s.Pending(ctx)
	must(t, err)
	if len(pending) != 1 {
		t.Fatalf("%d notifications saved, want only the winner's 1", len(pending))
	}
}

func testNotificationsOrderedAndPending(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, _ := newCall(t, time.Now())
	first := outbox(c, "a", "b")
	must(t, save(ctx, s, c, first))
	second := outbox(c, "c")
	must(t, save(ctx, s, c, second))
	if !(first[0].Seq < first[1].Seq && first[1].Seq < second[0].Seq) {
		t.Fatalf("seqs not increasing: %d %d %d", first[0].Seq, first[1].Seq, second[0].Seq)
	}
	pending, err := s.Pending(ctx)
	must(t, err)
	var got string
	for _, n := range pending {
		got += string(n.Payload)
		if n.Status != store.Pending || n.CallID != c.ID || n.Owner != c.Owner || n.ChainID != c.ChainID ||
			n.CallbackURI != c.CallbackURI || n.MessageID == "" || n.CreatedAt.IsZero() {
			t.Fatalf("notification not kept: %+v", n)
		}
	}
	if got != "abc" {
		t.Fatalf("pending payloads in order = %q, want abc", got)
	}
}

func testConflictSavesNoNotification(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, _ := newCall(t, time.Now())
	must(t, save(ctx, s, c, nil))
	stale := *c
	must(t, save(ctx, s, c, nil))
	if err := save(ctx, s, &stale, outbox(&stale, "lost")); !errors.Is(err, store.ErrConflict) {
		t.Fatal(err)
	}
	pending, err := s.Pending(ctx)
	must(t, err)
	if len(pending) != 0 {
		t.Fatalf("a refused update saved %d notifications", len(pending))
	}
}

func testRecordDeliveries(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, _ := newCall(t, time.Now())
	out := outbox(c, "a", "b", "c")
	must(t, save(ctx, s, c, out))
	at := time.Now().UTC().Truncate(time.Millisecond)
	must(t, s.RecordDeliveries(ctx, []store.DeliveryUpdate{
		{Seq: out[0].Seq, Delivery: store.Delivery{Status: store.Delivered, Attempts: 1, LastStatusCode: 202, LastAttemptAt: at}},
		{Seq: out[1].Seq, Delivery: store.Delivery{Status: store.Pending, Attempts: 2, LastStatusCode: 500,
			LastError: "HTTP 500", LastAttemptAt: at, NextAttemptAt: at.Add(time.Second)}},
		{Seq: out[2].Seq, Delivery: store.Delivery{Status: store.Failed, Attempts: 9, LastError: "connection refused", LastAttemptAt: at}},
	}))
	pending, err := s.Pending(ctx)
	must(t, err)
	if len(pending) != 1 || pending[0].Seq != out[1].Seq {
		t.Fatalf("pending = %+v, want only seq %d", pending, out[1].Seq)
	}
	p := pending[0]
	if p.Attempts != 2 || p.LastStatusCode != 500 || p.LastError != "HTTP 500" ||
		!p.LastAttemptAt.Equal(at) || !p.NextAttemptAt.Equal(at.Add(time.Second)) {
		t.Fatalf("delivery state not kept: %+v", p.Delivery)
	}
	failed, err := s.Notifications(ctx, store.Filter{Status: store.Failed})
	must(t, err)
	if len(failed) != 1 || failed[0].Seq != out[2].Seq || failed[0].LastError != "connection refused" {
		t.Fatalf("failed = %+v", failed)
	}
}

func testNotificationFilters(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, _ := newCall(t, time.Now())
	b, _ := newCall(t, time.Now())
	b.CallbackURI = "https://other.example/cb"
	must(t, save(ctx, s, a, outbox(a, "a1", "a2")))
	must(t, save(ctx, s, b, outbox(b, "b1")))
	byCall, err := s.Notifications(ctx, store.Filter{CallID: a.ID})
	must(t, err)
	if len(byCall) != 2 || string(byCall[0].Payload) != "a2" {
		t.Fatalf("by call: %d results, first %q; want 2, newest first", len(byCall), byCall[0].Payload)
	}
	byURI, err := s.Notifications(ctx, store.Filter{CallbackURI: b.CallbackURI})
	must(t, err)
	if len(byURI) != 1 || byURI[0].CallID != b.ID {
		t.Fatalf("by callback: %+v", byURI)
	}
	limited, err := s.Notifications(ctx, store.Filter{Limit: 2})
	must(t, err)
	if len(limited) != 2 {
		t.Fatalf("limit 2 gave %d", len(limited))
	}
	// Pages: the next page starts below the last seq of this one.
	next, err := s.Notifications(ctx, store.Filter{Limit: 2, Before: limited[1].Seq})
	must(t, err)
	if len(next) != 1 || next[0].Seq >= limited[1].Seq || string(next[0].Payload) != "a1" {
		t.Fatalf("second page: %+v", next)
	}
}

func testLiveCallsByOwner(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	a, _ := newCall(t, now)
	b, _ := newCall(t, now)
	other, _ := newCall(t, now)
	other.Owner.AppID = "app-2"
	for _, c := range []*call.Call{a, b, other} {
		must(t, save(ctx, s, c, nil))
	}
	_, err := b.HangUp(now, call.EndedByApplication, timing)
	must(t, err)
	b.Advance(now, timing)
	must(t, save(ctx, s, b, nil))
	live, err := s.LiveCalls(ctx, owner)
	must(t, err)
	if len(live) != 1 || live[0] != a.ID {
		t.Fatalf("live calls of %v = %v, want only %s (one ended, one another app's)", owner, live, a.ID)
	}
	none, err := s.LiveCalls(ctx, call.Owner{TenantID: "tenant-1", AppID: "nobody"})
	must(t, err)
	if len(none) != 0 {
		t.Fatalf("live calls of an app without calls: %v", none)
	}
}

func testLiveCounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	var calls []*call.Call
	for range 4 {
		c, _ := newCall(t, now)
		must(t, save(ctx, s, c, nil))
		calls = append(calls, c)
	}
	// One answered, one ended; another tenant's counts too.
	calls[3].Owner.TenantID = "tenant-2"
	must(t, save(ctx, s, calls[3], nil))
	calls[0].Advance(now.Add(2*time.Second), timing) // answered after the answer delay
	must(t, save(ctx, s, calls[0], nil))
	_, err := calls[1].HangUp(now, call.EndedByApplication, timing)
	must(t, err)
	calls[1].Advance(now, timing)
	must(t, save(ctx, s, calls[1], nil))
	counts, err := s.LiveCounts(ctx)
	must(t, err)
	got := map[string]int{}
	for _, c := range counts {
		got[string(c.State)+"/"+string(c.Kind)] += c.Calls
	}
	if calls[0].State != call.Established {
		t.Fatalf("the answered call is %s", calls[0].State)
	}
	want := map[string]int{"established/" + string(call.PeerToPeer): 1, "establishing/" + string(call.PeerToPeer): 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("live counts %v, want %v", got, want)
	}
}

func testDeadlines(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	c, _ := newCall(t, now)
	must(t, save(ctx, s, c, nil))
	ended, _ := newCall(t, now)
	_, err := ended.HangUp(now, call.EndedByApplication, timing)
	must(t, err)
	ended.Advance(now, timing)
	must(t, save(ctx, s, ended, nil))
	ds, err := s.Deadlines(ctx)
	must(t, err)
	if len(ds) != 1 || ds[0].CallID != c.ID || !ds[0].At.Equal(c.NextDeadline()) {
		t.Fatalf("deadlines = %+v, want only %s at %v", ds, c.ID, c.NextDeadline())
	}
}

func testPurge(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	live, _ := newCall(t, now)
	liveOut := outbox(live, "pending")
	must(t, save(ctx, s, live, liveOut))
	old, _ := newCall(t, now)
	_, err := old.HangUp(now, call.EndedByApplication, timing)
	must(t, err)
	old.Advance(now, timing)
	oldOut := outbox(old, "done")
	must(t, save(ctx, s, old, oldOut))
	must(t, s.RecordDeliveries(ctx, []store.DeliveryUpdate{{Seq: oldOut[0].Seq, Delivery: store.Delivery{Status: store.Delivered, Attempts: 1}}}))

	calls, notes, err := s.Purge(ctx, now.Add(time.Hour))
	must(t, err)
	if calls != 1 || notes != 1 {
		t.Fatalf("purged %d calls, %d notifications; want 1 and 1", calls, notes)
	}
	if _, err := s.GetCall(ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ended call still there: %v", err)
	}
	if _, err := s.GetCall(ctx, live.ID); err != nil {
		t.Fatalf("live call purged: %v", err)
	}
	pending, err := s.Pending(ctx)
	must(t, err)
	if len(pending) != 1 {
		t.Fatalf("pending notification purged")
	}
}

func testGroupsAndMeetings(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	m := call.NewMeeting(owner.TenantID, "stand-up", call.Identity{ID: "organizer-1", DisplayName: "Ann"}, now)
	_, err := m.Join(call.Member{Identity: call.Identity{Kind: call.User, ID: "u1"}})
	must(t, err)
	adhoc := call.NewAdHoc(owner.TenantID, now)
	must(t, store.Save(ctx, s, &store.Changes{Groups: []*call.Group{m, adhoc}}))
	if m.Version != 1 || adhoc.Version != 1 {
		t.Fatalf("versions after create: %d %d", m.Version, adhoc.Version)
	}
	got, err := s.GetGroup(ctx, m.ID)
	must(t, err)
	if got.Meeting == nil || *got.Meeting != *m.Meeting || len(got.Members) != 1 || got.ChainID != m.ChainID || got.Version != 1 {
		t.Fatalf("meeting not kept: %+v", got)
	}
	for name, key := range map[string]call.MeetingKey{
		"thread":          {ThreadID: m.Meeting.ThreadID},
		"join meeting id": {JoinMeetingID: m.Meeting.JoinMeetingID},
		"token":           {Token: m.Meeting.Token},
	} {
		found, err := s.FindMeeting(ctx, owner.TenantID, key)
		if err != nil || found.ID != m.ID {
			t.Fatalf("find by %s: %v %v", name, found, err)
		}
		if _, err := s.FindMeeting(ctx, "other-tenant", key); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("find by %s in another tenant: %v", name, err)
		}
	}
	if _, err := s.FindMeeting(ctx, owner.TenantID, call.MeetingKey{ThreadID: "19:nope@thread.v2"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown thread: %v", err)
	}
	if _, err := s.GetGroup(ctx, ids.New()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown group: %v", err)
	}
	stale := *got
	_, err = got.SetMuted(got.Members[0].ParticipantID, true)
	must(t, err)
	must(t, store.Save(ctx, s, &store.Changes{Groups: []*call.Group{got}}))
	if err := store.Save(ctx, s, &store.Changes{Groups: []*call.Group{&stale}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale group save: %v", err)
	}
}

// testSaveIsAtomic: when one thing in a save is stale, nothing is saved:
// not the other changes, not the notifications.
func testSaveIsAtomic(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	c, _ := newCall(t, now)
	g := call.NewAdHoc(owner.TenantID, now)
	must(t, store.Save(ctx, s, &store.Changes{Calls: []*call.Call{c}, Groups: []*call.Group{g}}))
	stale := *g
	must(t, store.Save(ctx, s, &store.Changes{Groups: []*call.Group{g}}))

	c.Advance(now.Add(2*time.Second), timing)
	err := store.Save(ctx, s, &store.Changes{Calls: []*call.Call{c}, Groups: []*call.Group{&stale}, Notifications: outbox(c, "x")})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if c.Version != 1 {
		t.Fatalf("a failed save moved the call's version to %d", c.Version)
	}
	got, err := s.GetCall(ctx, c.ID)
	must(t, err)
	if got.State != call.Establishing || got.Version != 1 {
		t.Fatalf("the call was saved: %s v%d", got.State, got.Version)
	}
	pending, err := s.Pending(ctx)
	must(t, err)
	if len(pending) != 0 {
		t.Fatalf("%d notifications saved by a failed save", len(pending))
	}
}

func testPurgeEndedGroups(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	ended := call.NewAdHoc(owner.TenantID, now)
	ended.End(now)
	live := call.NewMeeting(owner.TenantID, "", call.Identity{}, now)
	must(t, store.Save(ctx, s, &store.Changes{Groups: []*call.Group{ended, live}}))
	_, _, err := s.Purge(ctx, now.Add(time.Hour))
	must(t, err)
	if _, err := s.GetGroup(ctx, ended.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ended group not purged: %v", err)
	}
	if _, err := s.GetGroup(ctx, live.ID); err != nil {
		t.Fatalf("live meeting purged: %v", err)
	}
}

// testBatchConflictsAlone: in a batch, a Changes that conflicts is refused
// alone; the ones before and after it are saved, their notifications in
// batch order.
func testBatchConflictsAlone(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	a, _ := newCall(t, now)
	b, _ := newCall(t, now)
	c, _ := newCall(t, now)
	must(t, store.Save(ctx, s, &store.Changes{Calls: []*call.Call{a, b, c}}))
	staleB := *b
	must(t, save(ctx, s, b, nil))

	batch := []*store.Changes{
		{Calls: []*call.Call{a}, Notifications: outbox(a, "a")},
		{Calls: []*call.Call{&staleB}, Notifications: outbox(&staleB, "b")},
		{Calls: []*call.Call{c}, Notifications: outbox(c, "c")},
	}
	errs := s.SaveBatch(ctx, batch)
	if len(errs) != 3 || errs[0] != nil || !errors.Is(errs[1], store.ErrConflict) || errs[2] != nil {
		t.Fatalf("errors %v, want nil, ErrConflict, nil", errs)
	}
	if a.Version != 2 || staleB.Version != 1 || c.Version != 2 {
		t.Fatalf("versions %d %d %d, want 2 1 2", a.Version, staleB.Version, c.Version)
	}
	if !(batch[0].Notifications[0].Seq < batch[2].Notifications[0].Seq) {
		t.Fatal("seqs not in batch order")
	}
	if got := strings.Join(pendingPayloads(t, s), ""); got != "ac" {
		t.Fatalf("saved notifications %q, want ac", got)
	}
}

// testBatchCreateExistingAlone: in a batch, a Changes that creates a call
// that exists is refused alone, as a stale one is.
func testBatchCreateExistingAlone(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	a, _ := newCall(t, now)
	b, _ := newCall(t, now)
	c, _ := newCall(t, now)
	must(t, store.Save(ctx, s, &store.Changes{Calls: []*call.Call{a, b, c}}))
	dup := *b
	dup.Version = 0
	batch := []*store.Changes{
		{Calls: []*call.Call{a}, Notifications: outbox(a, "a")},
		{Calls: []*call.Call{&dup}, Notifications: outbox(&dup, "b")},
		{Calls: []*call.Call{c}, Notifications: outbox(c, "c")},
	}
	errs := s.SaveBatch(ctx, batch)
	if len(errs) != 3 || errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("errors %v, want nil, an error, nil", errs)
	}
	if a.Version != 2 || dup.Version != 0 || c.Version != 2 {
		t.Fatalf("versions %d %d %d, want 2 0 2", a.Version, dup.Version, c.Version)
	}
	if got, err := s.GetCall(ctx, b.ID); err != nil || got.Version != 1 {
		t.Fatalf("the existing call: %+v, %v; want it at version 1", got, err)
	}
	if got := strings.Join(pendingPayloads(t, s), ""); got != "ac" {
		t.Fatalf("saved notifications %q, want ac", got)
	}
}

// testListCalls: a tenant's calls newest first (ties by id), ended ones
// included, filtered by application and state, a page at a time by cursor;
// and, with ChangedWithin, those saved lately, the most recent first.
func testListCalls(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := time.Now().Add(-time.Minute)
	var calls []*call.Call // newest first, as listed
	for i := range 5 {
		c, _ := newCall(t, base.Add(-time.Duration(i)*time.Second))
		calls = append(calls, c)
	}
	// Two created at the same instant: the higher id comes first.
	calls[3].CreatedAt = calls[2].CreatedAt
	if calls[3].ID > calls[2].ID {
		calls[2], calls[3] = calls[3], calls[2]
	}
	calls[4].Owner.AppID = "app-2"
	for _, c := range calls {
		must(t, save(ctx, s, c, nil))
	}
	other, _ := newCall(t, base.Add(time.Second))
	other.Owner.TenantID = "tenant-2"
	must(t, save(ctx, s, other, nil))
	// One ended: still listed.
	_, err := calls[1].HangUp(base, call.EndedByApplication, timing)
	must(t, err)
	calls[1].Advance(base, timing)
	must(t, save(ctx, s, calls[1], nil))

	ids := func(cs []*call.Call) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	list := func(f store.CallFilter) []*call.Call {
		t.Helper()
		got, err := s.ListCalls(ctx, f)
		must(t, err)
		return got
	}
	all := list(store.CallFilter{TenantID: owner.TenantID})
	if fmt.Sprint(ids(all)) != fmt.Sprint(ids(calls)) {
		t.Fatalf("listed %v, want newest first %v", ids(all), ids(calls))
	}
	if all[1].State != call.Terminated || all[1].Version != 2 || all[0].Version != 1 || !all[0].CreatedAt.Equal(calls[0].CreatedAt) {
		t.Fatalf("listed calls: %s v%d, v%d, created %v", all[1].State, all[1].Version, all[0].Version, all[0].CreatedAt)
	}
	if got := list(store.CallFilter{TenantID: owner.TenantID, AppID: "app-2"}); fmt.Sprint(ids(got)) != fmt.Sprint([]string{calls[4].ID}) {
		t.Fatalf("app-2's calls: %v", ids(got))
	}
	if got := list(store.CallFilter{TenantID: owner.TenantID, State: call.Terminated}); fmt.Sprint(ids(got)) != fmt.Sprint([]string{calls[1].ID}) {
		t.Fatalf("terminated calls: %v", ids(got))
	}
	if got := list(store.CallFilter{}); len(got) != 6 || got[0].ID != other.ID {
		t.Fatalf("every tenant's calls: %v", ids(got))
	}
	// Pages of two, each after the last call of the one before.
	var paged []*call.Call
	f := store.CallFilter{TenantID: owner.TenantID, Limit: 2}
	for range 10 {
		page := list(f)
		paged = append(paged, page...)
		if len(page) < f.Limit {
			break
		}
		f.Before = store.CursorOf(page[len(page)-1])
	}
	if fmt.Sprint(ids(paged)) != fmt.Sprint(ids(calls)) {
		t.Fatalf("paged %v, want %v", ids(paged), ids(calls))
	}

	// Saved lately: every call, the last saved first; then, a while
	// later, only the one saved since.
	changed := list(store.CallFilter{TenantID: owner.TenantID, ChangedWithin: time.Hour})
	if len(changed) != 5 || changed[0].ID != calls[1].ID {
		t.Fatalf("changed within the hour: %v, want 5 with %s first", ids(changed), calls[1].ID)
	}
	awaitAged(t, func() int { return len(list(store.CallFilter{TenantID: owner.TenantID, ChangedWithin: recentWindow})) })
	calls[0].Advance(base.Add(2*time.Second), timing)
	must(t, save(ctx, s, calls[0], nil))
	changed = list(store.CallFilter{TenantID: owner.TenantID, ChangedWithin: recentWindow})
	if fmt.Sprint(ids(changed)) != fmt.Sprint([]string{calls[0].ID}) || changed[0].Version != 2 {
		t.Fatalf("changed in the last %v: %v, want only %s", recentWindow, ids(changed), calls[0].ID)
	}
	if got := list(store.CallFilter{TenantID: owner.TenantID, ChangedWithin: time.Hour, Limit: 2}); len(got) != 2 || got[0].ID != calls[0].ID || got[1].ID != calls[1].ID {
		t.Fatalf("the two saved last: %v", ids(got))
	}
}

// recentWindow is the ChangedWithin of the listings of what changed
// lately: wide enough that a save is listed by it however slow a busy
// machine is between the save and the listing.
const recentWindow = 1500 * time.Millisecond

// awaitAged waits, by the store's clock, until no saves are within
// recentWindow: until the listing of what changed lately (counted by
// recent) is empty.
func awaitAged(t *testing.T, recent func() int) {
	t.Helper()
	deadline := time.Now().Add(10 * recentWindow)
	for recent() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("saves still listed as recent %v after the deadline", 10*recentWindow)
		}
		time.Sleep(50 * time.Millisecond) // polling the store's clock: it has no event to wait on
	}
}

// testListGroups: a tenant's meetings and group calls newest first (ties
// by id), ended ones included, filtered by whether they ended, a page at a
// time by cursor; and, with ChangedWithin, those saved lately, the most
// recent first.
func testListGroups(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := time.Now().Add(-time.Minute)
	var groups []*call.Group // newest first, as listed
	for i := range 5 {
		at := base.Add(-time.Duration(i) * time.Second)
		if i%2 == 0 {
			groups = append(groups, call.NewMeeting(owner.TenantID, fmt.Sprintf("meeting %d", i), call.Identity{ID: "organizer-1"}, at))
		} else {
			groups = append(groups, call.NewAdHoc(owner.TenantID, at))
		}
	}
	// Two created at the same instant: the higher id comes first.
	groups[3].CreatedAt = groups[2].CreatedAt
	if groups[3].ID > groups[2].ID {
		groups[2], groups[3] = groups[3], groups[2]
	}
	for _, g := range groups {
		must(t, store.Save(ctx, s, &store.Changes{Groups: []*call.Group{g}}))
	}
	other := call.NewMeeting("tenant-2", "elsewhere", call.Identity{ID: "organizer-2"}, base.Add(time.Second))
	must(t, store.Save(ctx, s, &store.Changes{Groups: []*call.Group{other}}))
	// One ended: still listed.
	groups[1].End(base)
	must(t, store.Save(ctx, s, &store.Changes{Groups: []*call.Group{groups[1]}}))

	ids := func(gs []*call.Group) []string {
		out := []string{}
		for _, g := range gs {
			out = append(out, g.ID)
		}
		return out
	}
	list := func(f store.GroupFilter) []*call.Group {
		t.Helper()
		got, err := s.ListGroups(ctx, f)
		must(t, err)
		return got
	}
	all := list(store.GroupFilter{TenantID: owner.TenantID})
	if fmt.Sprint(ids(all)) != fmt.Sprint(ids(groups)) {
		t.Fatalf("listed %v, want newest first %v", ids(all), ids(groups))
	}
	if !all[1].Ended || all[1].Version != 2 || all[0].Version != 1 || !all[0].CreatedAt.Equal(groups[0].CreatedAt) ||
		all[0].Meeting == nil || all[0].Meeting.Subject != "meeting 0" {
		t.Fatalf("listed groups: ended %v v%d, v%d, created %v, meeting %+v", all[1].Ended, all[1].Version, all[0].Version, all[0].CreatedAt, all[0].Meeting)
	}
	ended, live := true, false
	if got := list(store.GroupFilter{TenantID: owner.TenantID, Ended: &ended}); fmt.Sprint(ids(got)) != fmt.Sprint([]string{groups[1].ID}) {
		t.Fatalf("ended groups: %v", ids(got))
	}
	want := append([]*call.Group{groups[0]}, groups[2:]...)
	if got := list(store.GroupFilter{TenantID: owner.TenantID, Ended: &live}); fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) {
		t.Fatalf("live groups: %v, want %v", ids(got), ids(want))
	}
	if got := list(store.GroupFilter{}); len(got) != 6 || got[0].ID != other.ID {
		t.Fatalf("every tenant's groups: %v", ids(got))
	}
	// Pages of two, each after the last group of the one before.
	var paged []*call.Group
	f := store.GroupFilter{TenantID: owner.TenantID, Limit: 2}
	for range 10 {
		page := list(f)
		paged = append(paged, page...)
		if len(page) < f.Limit {
			break
		}
		last := page[len(page)-1]
		f.Before = store.CallCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	if fmt.Sprint(ids(paged)) != fmt.Sprint(ids(groups)) {
		t.Fatalf("paged %v, want %v", ids(paged), ids(groups))
	}

	// Saved lately: every group, the last saved first; then, a while
	// later, only the one saved since.
	changed := list(store.GroupFilter{TenantID: owner.TenantID, ChangedWithin: time.Hour})
	if len(changed) != 5 || changed[0].ID != groups[1].ID {
		t.Fatalf("changed within the hour: %v, want 5 with %s first", ids(changed), groups[1].ID)
	}
	awaitAged(t, func() int { return len(list(store.GroupFilter{TenantID: owner.TenantID, ChangedWithin: recentWindow})) })
	_, err := groups[0].Join(call.Member{Identity: call.Identity{Kind: call.User, ID: "u1"}})
	must(t, err)
	must(t, store.Save(ctx, s, &store.Changes{Groups: []*call.Group{groups[0]}}))
	changed = list(store.GroupFilter{TenantID: owner.TenantID, ChangedWithin: recentWindow})
	if fmt.Sprint(ids(changed)) != fmt.Sprint([]string{groups[0].ID}) || changed[0].Version != 2 || len(changed[0].Members) != 1 {
		t.Fatalf("changed in the last %v: %v, want only %s", recentWindow, ids(changed), groups[0].ID)
	}
	if got := list(store.GroupFilter{TenantID: owner.TenantID, ChangedWithin: time.Hour, Limit: 2}); len(got) != 2 || got[0].ID != groups[0].ID || got[1].ID != groups[1].ID {
		t.Fatalf("the two saved last: %v", ids(got))
	}
}

// save saves one call and its notifications.
func save(ctx context.Context, s store.Store, c *call.Call, out []store.Notification) error {
	return store.Save(ctx, s, &store.Changes{Calls: []*call.Call{c}, Notifications: out})
}

// pendingPayloads lists the payloads of the store's pending
// notifications, in Seq order.
func pendingPayloads(t *testing.T, s store.Store) []string {
	t.Helper()
	pending, err := s.Pending(context.Background())
	must(t, err)
	var out []string
	for _, n := range pending {
		out = append(out, string(n.Payload))
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("unexpected: %w", err))
	}
}

func testPeople(t *testing.T, s store.Store) {
	ctx := context.Background()
	alice := call.Person{TenantID: "tenant-1", ID: "alice", DisplayName: "Alice", Answering: call.Answering{Mode: call.Busy}}
	phone := call.Person{TenantID: "tenant-1", ID: "+15550100", Answering: call.Answering{Mode: call.AutoAnswer, Delay: 1500 * time.Millisecond}}
	other := call.Person{TenantID: "tenant-2", ID: "alice"}
	for _, p := range []call.Person{alice, phone, other} {
		must(t, s.SavePerson(ctx, p))
	}
	got, err := s.GetPerson(ctx, "tenant-1", "alice")
	must(t, err)
	if got.DisplayName != "Alice" || got.Answering.Mode != call.Busy {
		t.Fatalf("got %+v", got)
	}
	alice.Answering = call.Answering{Mode: call.Decline}
	must(t, s.SavePerson(ctx, alice)) // replaces
	if got, _ := s.GetPerson(ctx, "tenant-1", "alice"); got.Answering.Mode != call.Decline {
		t.Fatalf("after replacing: %+v", got)
	}
	people, err := s.People(ctx, "tenant-1")
	must(t, err)
	if len(people) != 2 || people[0].ID != "+15550100" || people[0].Answering.Delay != 1500*time.Millisecond {
		t.Fatalf("people of tenant-1: %+v", people)
	}
	must(t, s.DeletePerson(ctx, "tenant-1", "alice"))
	if _, err := s.GetPerson(ctx, "tenant-1", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted person: %v", err)
	}
	if err := s.DeletePerson(ctx, "tenant-1", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := s.GetPerson(ctx, "tenant-2", "alice"); err != nil {
		t.Fatalf("another tenant's alice: %v", err)
	}
}

// testSpeechGoesWithItsCall: speech is saved with its call's change, read
// back byte for byte, and purged with the call (not before).
func testSpeechGoesWithItsCall(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	live, _ := newCall(t, now)
	ended, _ := newCall(t, now)
	must(t, store.Save(ctx, s, &store.Changes{Calls: []*call.Call{live, ended}}))
	audio := []byte("RIFF\x00\x01\x02 not really a WAV, but bytes")
	must(t, store.Save(ctx, s, &store.Changes{Calls: []*call.Call{live, ended}, Speech: []store.Speech{
		{CallID: live.ID, OperationID: "op-1", Audio: audio},
		{CallID: ended.ID, OperationID: "op-1", Audio: audio},
	}}))
	got, err := s.GetSpeech(ctx, live.ID, "op-1")
	if err != nil || !bytes.Equal(got, audio) {
		t.Fatalf("GetSpeech: %q, %v", got, err)
	}
	if _, err := s.GetSpeech(ctx, live.ID, "op-2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("speech of another operation: %v, want ErrNotFound", err)
	}
	_, err = ended.HangUp(now, call.EndedByApplication, timing)
	must(t, err)
	ended.Advance(now, timing)
	must(t, save(ctx, s, ended, nil))
	_, _, err = s.Purge(ctx, now.Add(time.Hour))
	must(t, err)
	if _, err := s.GetSpeech(ctx, ended.ID, "op-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("speech of a purged call: %v, want ErrNotFound", err)
	}
	if _, err := s.GetSpeech(ctx, live.ID, "op-1"); err != nil {
		t.Fatalf("speech of a live call purged: %v", err)
	}
}

// testSpeechConflictSavesNone: speech saved with a change that conflicts
// is not saved.
func testSpeechConflictSavesNone(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, _ := newCall(t, time.Now())
	must(t, save(ctx, s, c, nil))
	stale := *c
	must(t, save(ctx, s, c, nil))
	err := store.Save(ctx, s, &store.Changes{Calls: []*call.Call{&stale}, Speech: []store.Speech{{CallID: c.ID, OperationID: "op-1", Audio: []byte("x")}}})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("save: %v, want ErrConflict", err)
	}
	if _, err := s.GetSpeech(ctx, c.ID, "op-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("speech of a refused change: %v, want ErrNotFound", err)
	}
}

// testReset: a reset forgets calls, groups, notifications, people and
// speech; the store goes on working.
func testReset(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	c, _ := newCall(t, now)
	must(t, save(ctx, s, c, outbox(c, "pending")))
	must(t, store.Save(ctx, s, &store.Changes{Calls: []*call.Call{c}, Groups: []*call.Group{call.NewAdHoc(owner.TenantID, now)},
		Speech: []store.Speech{{CallID: c.ID, OperationID: "op", Audio: []byte("x")}}}))
	must(t, s.SavePerson(ctx, call.Person{TenantID: owner.TenantID, ID: "alice"}))
	must(t, s.Reset(ctx))
	if _, err := s.GetCall(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("call after reset: %v", err)
	}
	if pending, _ := s.Pending(ctx); len(pending) != 0 {
		t.Fatalf("pending after reset: %d", len(pending))
	}
	if people, _ := s.People(ctx, owner.TenantID); len(people) != 0 {
		t.Fatalf("people after reset: %v", people)
	}
	if _, err := s.GetSpeech(ctx, c.ID, "op"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("speech after reset: %v", err)
	}
	if live, _ := s.LiveCalls(ctx, owner); len(live) != 0 {
		t.Fatalf("live calls after reset: %v", live)
	}
	again, _ := newCall(t, now)
	must(t, save(ctx, s, again, outbox(again, "after")))
	if pending, _ := s.Pending(ctx); len(pending) != 1 {
		t.Fatalf("pending after reset and a new call: %d", len(pending))
	}
}

// testRequestsGoWithTheirCall: a call's requests come back in the order
// recorded, and are purged with it.
func testRequestsGoWithTheirCall(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	live, _ := newCall(t, now)
	ended, _ := newCall(t, now)
	must(t, store.Save(ctx, s, &store.Changes{Calls: []*call.Call{live, ended}}))
	var rs []store.Request
	for i, action := range []string{"create", "answer", "playPrompt"} {
		for _, c := range []*call.Call{live, ended} {
			rs = append(rs, store.Request{CallID: c.ID, At: now.Add(time.Duration(i) * time.Millisecond), Method: "POST",
				Path: "/communications/calls/" + c.ID + "/" + action, Action: action, Status: 200, OperationID: "op-" + action, Duration: time.Duration(i+1) * time.Microsecond})
		}
	}
	must(t, s.RecordRequests(ctx, rs))
	got, err := s.Requests(ctx, live.ID)
	// One more, after the purge's cutoff: requests go by age too (a live
	// call's older than the retention), so only this one will stay.
	defer func() {
		if got, _ := s.Requests(ctx, live.ID); len(got) != 1 || got[0].Action != "keepAlive" {
			t.Errorf("requests of a live call after the purge: %+v", got)
		}
	}()
	must(t, err)
	if len(got) != 3 || got[0].Action != "create" || got[2].Action != "playPrompt" || !got[1].At.Equal(rs[2].At) || got[2].Duration != 3*time.Microsecond || got[1].OperationID != "op-answer" || got[0].Status != 200 || got[0].Method != "POST" {
		t.Fatalf("requests: %+v", got)
	}
	must(t, s.RecordRequests(ctx, []store.Request{{CallID: live.ID, At: now.Add(2 * time.Hour), Method: "POST", Path: "/keepAlive", Action: "keepAlive", Status: 200}}))
	_, err = ended.HangUp(now, call.EndedByApplication, timing)
	must(t, err)
	ended.Advance(now, timing)
	must(t, save(ctx, s, ended, nil))
	_, _, err = s.Purge(ctx, now.Add(time.Hour))
	must(t, err)
	if got, _ := s.Requests(ctx, ended.ID); len(got) != 0 {
		t.Fatalf("requests of a purged call: %+v", got)
	}
}

// testDeliveryDuration: how long an attempt took is kept with its outcome.
func testDeliveryDuration(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, _ := newCall(t, time.Now())
	out := outbox(c, "n")
	must(t, save(ctx, s, c, out))
	must(t, s.RecordDeliveries(ctx, []store.DeliveryUpdate{{Seq: out[0].Seq, Delivery: store.Delivery{Status: store.Delivered, Attempts: 1, LastStatusCode: 202, LastDuration: 1500 * time.Microsecond, LastAttemptAt: time.Now()}}}))
	ns, err := s.Notifications(ctx, store.Filter{CallID: c.ID})
	must(t, err)
	if len(ns) != 1 || ns[0].LastDuration != 1500*time.Microsecond {
		t.Fatalf("notifications: %+v", ns)
	}
}

// RunShared runs the cases of stores that share a database, as the nodes of
// a cluster do: open returns two stores (two connections, or pools) on the
// same new, empty database; the suite closes them.
func RunShared(t *testing.T, open func(t *testing.T) (a, b store.Store)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b store.Store)
	}{
		{"ConcurrentSaversOneWinsEachRound", testSharedConcurrentSavers},
		{"ChangesSeenAtOnce", testSharedChangesSeenAtOnce},
		{"SameCallCreatedOnce", testSharedSameCallCreatedOnce},
		{"SeqsAcrossStores", testSharedSeqs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := open(t)
			t.Cleanup(func() {
				a.Close()
				b.Close()
			})
			tc.fn(t, a, b)
		})
	}
}

// testSharedConcurrentSavers: savers on both stores that read the same
// version of a call all save it at once: one wins each round, the others
// conflict, and only the winners' notifications are kept.
func testSharedConcurrentSavers(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	c, _ := newCall(t, time.Now())
	must(t, save(ctx, a, c, nil))
	const rounds, perStore = 5, 6
	var winners []string
	for round := range rounds {
		var (
			read, done sync.WaitGroup
			start      = make(chan struct{})
			mu         sync.Mutex
			won        []string
			conflicts  int
		)
		for i := range 2 * perStore {
			s := []store.Store{a, b}[i%2]
			read.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				mine, err := s.GetCall(ctx, c.ID)
				read.Done()
				if err != nil {
					t.Error(err)
					return
				}
				if mine.Version != int64(round+1) {
					t.Errorf("round %d: read version %d, want %d", round, mine.Version, round+1)
				}
				payload := fmt.Sprintf("round %d saver %d", round, i)
				<-start
				err = save(ctx, s, mine, outbox(mine, payload))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won = append(won, payload)
				case errors.Is(err, store.ErrConflict):
					conflicts++
				default:
					t.Errorf("saver %d: %v", i, err)
				}
			}()
		}
		read.Wait() // every saver holds the same version before any saves
		close(start)
		done.Wait()
		if len(won) != 1 || conflicts != 2*perStore-1 {
			t.Fatalf("round %d: %d won, %d conflicted; want 1 and %d", round, len(won), conflicts, 2*perStore-1)
		}
		winners = append(winners, won[0])
	}
	for _, s := range []store.Store{a, b} {
		got, err := s.GetCall(ctx, c.ID)
		must(t, err)
		if got.Version != 1+rounds {
			t.Fatalf("version %d after %d won rounds, want %d", got.Version, rounds, 1+rounds)
		}
		if payloads := pendingPayloads(t, s); fmt.Sprint(payloads) != fmt.Sprint(winners) {
			t.Fatalf("pending %q, want only the winners' %q", payloads, winners)
		}
	}
}

// testSharedChangesSeenAtOnce: what one store saves the other reads at
// once, with its version, and a change through one makes the version that
// the other's caller holds stale.
func testSharedChangesSeenAtOnce(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	now := time.Now()
	c, _ := newCall(t, now)
	must(t, save(ctx, a, c, nil))
	got, err := b.GetCall(ctx, c.ID)
	must(t, err)
	if got.ID != c.ID || got.Version != 1 || got.State != call.Establishing {
		t.Fatalf("read through the other store: %+v", got)
	}
	got.Advance(now.Add(2*time.Second), timing)
	must(t, save(ctx, b, got, nil))
	if err := save(ctx, a, c, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("saving the version the other store replaced: %v, want ErrConflict", err)
	}
	if again, err := a.GetCall(ctx, c.ID); err != nil || again.Version != 2 || again.State != call.Established {
		t.Fatalf("read back through the first store: %+v, %v; want established at version 2", again, err)
	}
	if live, err := b.LiveCalls(ctx, owner); err != nil || len(live) != 1 || live[0] != c.ID {
		t.Fatalf("live calls through the other store: %v, %v", live, err)
	}

	m := call.NewMeeting(owner.TenantID, "sync", call.Identity{ID: "organizer-1"}, now)
	must(t, store.Save(ctx, a, &store.Changes{Groups: []*call.Group{m}}))
	found, err := b.FindMeeting(ctx, owner.TenantID, call.MeetingKey{ThreadID: m.Meeting.ThreadID})
	if err != nil || found.ID != m.ID || found.Version != 1 {
		t.Fatalf("meeting through the other store: %+v, %v", found, err)
	}
	must(t, store.Save(ctx, b, &store.Changes{Groups: []*call.Group{found}}))
	if err := store.Save(ctx, a, &store.Changes{Groups: []*call.Group{m}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("saving a group the other store replaced: %v, want ErrConflict", err)
	}

	must(t, a.SavePerson(ctx, call.Person{TenantID: owner.TenantID, ID: "alice", DisplayName: "Alice"}))
	if p, err := b.GetPerson(ctx, owner.TenantID, "alice"); err != nil || p.DisplayName != "Alice" {
		t.Fatalf("person through the other store: %+v, %v", p, err)
	}
}

// testSharedSameCallCreatedOnce: two stores creating a call of the same id
// at once: one succeeds, and the call stored is its own; the other's
// notifications are not kept.
func testSharedSameCallCreatedOnce(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	const rounds = 5
	var wantPending []string
	for round := range rounds {
		mine, _ := newCall(t, time.Now())
		theirs := *mine
		mine.CallbackURI = "https://a.example/callback"
		theirs.CallbackURI = "https://b.example/callback"
		calls := []*call.Call{mine, &theirs}
		var (
			ready, done sync.WaitGroup
			start       = make(chan struct{})
			errs        [2]error
		)
		for i, s := range []store.Store{a, b} {
			ready.Add(1)
			done.Add(1)
			out := outbox(calls[i], fmt.Sprintf("round %d store %d", round, i))
			go func() {
				defer done.Done()
				ready.Done()
				<-start
				errs[i] = save(ctx, s, calls[i], out)
			}()
		}
		ready.Wait()
		close(start)
		done.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: errors %v; want exactly one to succeed", round, errs)
		}
		winner := 0
		if errs[1] == nil {
			winner = 1
		}
		wantPending = append(wantPending, fmt.Sprintf("round %d store %d", round, winner))
		for _, s := range []store.Store{a, b} {
			got, err := s.GetCall(ctx, mine.ID)
			if err != nil || got.Version != 1 || got.CallbackURI != calls[winner].CallbackURI {
				t.Fatalf("round %d: stored %+v, %v; want the winner's (callback %s) at version 1", round, got, err, calls[winner].CallbackURI)
			}
		}
	}
	if got := pendingPayloads(t, b); fmt.Sprint(got) != fmt.Sprint(wantPending) {
		t.Fatalf("pending %q, want only the winners' %q", got, wantPending)
	}
}

// testSharedSeqs: notifications saved at once through both stores are all
// pending through either, once each, in Seq order, with the Seqs their
// savers were given; each call's in the order they were saved.
func testSharedSeqs(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	const calls, saves = 6, 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		seqOf = map[string]int64{} // by message id
	)
	for i := range calls {
		c, _ := newCall(t, time.Now())
		must(t, save(ctx, []store.Store{a, b}[i%2], c, nil))
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each save of the call goes through the other store than
			// the one before.
			for k := range saves {
				s := []store.Store{a, b}[(i+k)%2]
				out := outbox(c, fmt.Sprintf("%s %d a", c.ID, k), fmt.Sprintf("%s %d b", c.ID, k))
				if err := save(ctx, s, c, out); err != nil {
					t.Errorf("call %d save %d: %v", i, k, err)
					return
				}
				mu.Lock()
				for _, n := range out {
					seqOf[n.MessageID] = n.Seq
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for name, s := range map[string]store.Store{"a": a, "b": b} {
		pending, err := s.Pending(ctx)
		must(t, err)
		if len(pending) != calls*saves*2 {
			t.Fatalf("%s: %d pending, want %d", name, len(pending), calls*saves*2)
		}
		seen := map[string]bool{}
		last := map[string]string{} // each call's last payload
		for i, n := range pending {
			if i > 0 && n.Seq <= pending[i-1].Seq {
				t.Fatalf("%s: pending not in Seq order: %d after %d", name, n.Seq, pending[i-1].Seq)
			}
			if seen[n.MessageID] {
				t.Fatalf("%s: notification %s pending twice", name, n.MessageID)
			}
			seen[n.MessageID] = true
			if want, ok := seqOf[n.MessageID]; !ok || want != n.Seq {
				t.Fatalf("%s: notification %s has seq %d, its saver was given %d (known: %v)", name, n.MessageID, n.Seq, want, ok)
			}
			if prev, ok := last[n.CallID]; ok && !payloadAfter(string(n.Payload), prev) {
				t.Fatalf("%s: call %s's %q delivered after %q", name, n.CallID, n.Payload, prev)
			}
			last[n.CallID] = string(n.Payload)
		}
	}
}

// payloadAfter reports whether testSharedSeqs saved payload p after q:
// both are "CALLID SAVE PART".
func payloadAfter(p, q string) bool {
	var (
		pID, qID, pPart, qPart string
		pSave, qSave           int
	)
	fmt.Sscanf(p, "%s %d %s", &pID, &pSave, &pPart)
	fmt.Sscanf(q, "%s %d %s", &qID, &qSave, &qPart)
	return pSave > qSave || pSave == qSave && pPart > qPart
}
