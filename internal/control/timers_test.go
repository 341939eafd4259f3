package control

import (
	"testing"
	"time"
)

// TestSetNoLaterKeepsASoonerDeadline: a deadline read from a call nothing
// saved never replaces a sooner one that a saved change set meanwhile (an
// invitation's answer, lost behind the keep-alive deadline, left the
// invitation running for ever).
func TestSetNoLaterKeepsASoonerDeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tm := newTimers()
	tm.set("call", t0.Add(time.Second)) // the invitation, saved
	tm.setNoLater("call", t0.Add(time.Hour))
	tm.setNoLater("call", time.Time{})
	if ids, _ := tm.due(t0.Add(time.Second)); len(ids) != 1 {
		t.Fatalf("the sooner deadline was replaced: due %v", ids)
	}
	// With nothing scheduled, or something later, it schedules.
	tm.setNoLater("call", t0.Add(time.Hour))
	tm.setNoLater("other", t0.Add(2*time.Hour))
	tm.setNoLater("other", t0.Add(time.Minute))
	if ids, next := tm.due(t0.Add(time.Minute)); len(ids) != 1 || ids[0] != "other" || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("due %v, next %v", ids, next)
	}
}

// TestScheduleKeepsTheLatestVersion: a call's deadline saved by another
// node may arrive after a later version's, saved here: the later one
// stands, whichever is sooner.
func TestScheduleKeepsTheLatestVersion(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tm := newTimers()
	tm.schedule("call", t0.Add(time.Hour), 3)
	tm.schedule("call", t0.Add(time.Second), 2) // stale: ignored
	if ids, next := tm.due(t0.Add(time.Minute)); len(ids) != 0 || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("a stale deadline replaced the latest: due %v, next %v", ids, next)
	}
	tm.schedule("call", t0.Add(time.Minute), 4)
	tm.setNoLater("call", t0.Add(2*time.Minute)) // keeps version 4 and the sooner time
	tm.schedule("call", t0.Add(time.Second), 3)
	if ids, _ := tm.due(t0.Add(time.Minute)); len(ids) != 1 {
		t.Fatalf("the latest version's deadline did not fire: due %v", ids)
	}
	// Cancelled by the latest version: nothing left.
	tm.schedule("other", t0.Add(time.Second), 1)
	tm.schedule("other", time.Time{}, 2)
	if ids, next := tm.due(t0.Add(time.Hour)); len(ids) != 0 || !next.IsZero() {
		t.Fatalf("due %v, next %v after a cancel", ids, next)
	}
}
