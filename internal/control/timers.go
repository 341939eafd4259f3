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
	id  string
	at  time.Time
	pos int
}

func newTimers() *timers {
	return &timers{index: make(map[string]*deadlineItem), wake: make(chan struct{}, 1)}
}

// set schedules id at at, replacing its previous deadline; a zero at cancels.
func (t *timers) set(id string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.setLocked(id, at)
}

func (t *timers) setLocked(id string, at time.Time) {
	item, ok := t.index[id]
	switch {
	case at.IsZero() && ok:
		heap.Remove(&t.heap, item.pos)
		delete(t.index, id)
		return
	case at.IsZero():
		return
	case ok:
		item.at = at
		heap.Fix(&t.heap, item.pos)
	default:
		item = &deadlineItem{id: id, at: at}
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
	if item, ok := t.index[id]; at.IsZero() || ok && !item.at.After(at) {
		return
	}
	t.setLocked(id, at)
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
