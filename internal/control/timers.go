package control

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// timers holds at most one deadline per call and fires each when it is due.
// Keeping one entry per call (moved, not duplicated, when a deadline changes)
// bounds the queue by the number of live calls however often they change.
type timers struct {
	mu    sync.Mutex
	heap  deadlineHeap
	index map[string]*deadlineItem
	wake  chan struct{}
}

type deadlineItem struct {
	id string
	at time.Time
	// version is that of the call the deadline was read from (zero:
	// unknown): a deadline of an older version never replaces it.
	version int64
	pos     int
}

func newTimers() *timers {
	return &timers{index: make(map[string]*deadlineItem), wake: make(chan struct{}, 1)}
}

// set schedules id at at, replacing its previous deadline; a zero at cancels.
func (t *timers) set(id string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.setLocked(id, at, 0)
}

// schedule is set for the deadline of a call's version: it does nothing if
// the deadline held is of a later version. Deadlines saved by other nodes
// arrive on their own path, and may come after a later one saved here.
func (t *timers) schedule(id string, at time.Time, version int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if item, ok := t.index[id]; ok && item.version > version {
		return
	}
	t.setLocked(id, at, version)
}

func (t *timers) setLocked(id string, at time.Time, version int64) {
	item, ok := t.index[id]
	switch {
	case at.IsZero() && ok:
		heap.Remove(&t.heap, item.pos)
		delete(t.index, id)
		return
	case at.IsZero():
		return
	case ok:
		item.at, item.version = at, max(item.version, version)
		heap.Fix(&t.heap, item.pos)
	default:
		item = &deadlineItem{id: id, at: at, version: version}
		heap.Push(&t.heap, item)
		t.index[id] = item
	}
	if t.heap[0] == item {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// setNoLater schedules id at at unless it is due sooner. It is for a
// deadline read from a call that nothing saved: a unit that saved the call
// since may have set a sooner deadline, which must stand. A deadline that
// is too soon only wakes the call to find nothing due.
func (t *timers) setNoLater(id string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	item, ok := t.index[id]
	if at.IsZero() || ok && !item.at.After(at) {
		return
	}
	var version int64
	if ok {
		version = item.version
	}
	t.setLocked(id, at, version)
}

// clear cancels every deadline.
func (t *timers) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.heap = t.heap[:0]
	clear(t.index)
}

// due removes and returns every id whose deadline is not after now, and the
// next deadline after them (zero if none).
func (t *timers) due(now time.Time) (ids []string, next time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.heap) > 0 && !t.heap[0].at.After(now) {
		item := heap.Pop(&t.heap).(*deadlineItem)
		delete(t.index, item.id)
		ids = append(ids, item.id)
	}
	if len(t.heap) > 0 {
		next = t.heap[0].at
	}
	return ids, next
}

// run calls fire with each due id until ctx is done.
func (t *timers) run(ctx context.Context, now func() time.Time, fire func([]string)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		ids, next := t.due(now())
		if len(ids) > 0 {
			fire(ids)
			continue
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = time.Until(next)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		case <-timer.C:
		}
	}
}

type deadlineHeap []*deadlineItem

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos = i
	h[j].pos = j
}
func (h *deadlineHeap) Push(x any) {
	item := x.(*deadlineItem)
	item.pos = len(*h)
	*h = append(*h, item)
}
func (h *deadlineHeap) Pop() any {
	old := *h
	n := len(old)
	item := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return item
}
