// Package timeline records the requests bots make about their calls, for
// each call's timeline (GET /callplane/calls/{id}/timeline) and the
// scenarios that judge bots by it. Recording is off the request's path: a
// request hands its entry over and a single writer saves them in batches.
package timeline

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/callplane/callplane/internal/store"
)

// Store is the part of the store the recorder writes to.
type Store interface {
	RecordRequests(ctx context.Context, rs []store.Request) error
}

// queueSize bounds the entries waiting to be saved; past it, entries are
// dropped (and counted) rather than slowing the requests down.
const queueSize = 8192

// maxBatch bounds one write.
const maxBatch = 512

// Recorder saves requests in batches.
type Recorder struct {
	store Store
	log   *slog.Logger
	queue chan item
	// generation moves on with each Forget: entries of an earlier one are
	// not saved.
	generation atomic.Int64
	dropped    atomic.Int64
	done       chan struct{}
}

// item is an entry to save, or (flushed set) a request to report once
// everything before it is saved.
type item struct {
	request    store.Request
	generation int64
	flushed    chan struct{}
}

// New returns a recorder; Run runs it.
func New(st Store, log *slog.Logger) *Recorder {
	return &Recorder{store: st, log: log, queue: make(chan item, queueSize), done: make(chan struct{})}
}

// Record hands a request over to be saved; it never blocks.
func (r *Recorder) Record(req store.Request) {
	select {
	case r.queue <- item{request: req, generation: r.generation.Load()}:
	default:
		if r.dropped.Add(1) == 1 {
			r.log.Warn("timeline: requests recorded faster than they can be saved; dropping some")
		}
	}
}

// Flush returns once every request recorded before it is saved, or ctx is
// done.
func (r *Recorder) Flush(ctx context.Context) error {
	flushed := make(chan struct{})
	select {
	case r.queue <- item{flushed: flushed}:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return nil
	}
	select {
	case <-flushed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return nil
	}
}

// Forget drops what was recorded and not yet saved, for a reset: it
// returns once nothing recorded before it can still be saved.
func (r *Recorder) Forget(ctx context.Context) error {
	r.generation.Add(1)
	return r.Flush(ctx)
}

// Wait returns once Run has returned, everything recorded saved.
func (r *Recorder) Wait() { <-r.done }

// Run saves recorded requests until ctx is done, then saves what is left.
func (r *Recorder) Run(ctx context.Context) {
	defer close(r.done)
	batch := make([]store.Request, 0, maxBatch)
	var waiting []chan struct{}
	for {
		var first item
		select {
		case first = <-r.queue:
		case <-ctx.Done():
			r.drain(batch)
			return
		}
		batch, waiting = r.add(batch[:0], waiting[:0], first)
	gather:
		for len(batch) < maxBatch {
			select {
			case it := <-r.queue:
				batch, waiting = r.add(batch, waiting, it)
			default:
				break gather
			}
		}
		r.save(batch)
		for _, w := range waiting {
			close(w)
		}
	}
}

func (r *Recorder) add(batch []store.Request, waiting []chan struct{}, it item) ([]store.Request, []chan struct{}) {
	switch {
	case it.flushed != nil:
		waiting = append(waiting, it.flushed)
	case it.generation == r.generation.Load():
		batch = append(batch, it.request)
	}
	return batch, waiting
}

// drain saves what is queued when the recorder stops.
func (r *Recorder) drain(batch []store.Request) {
	batch = batch[:0]
	for {
		select {
		case it := <-r.queue:
			if it.flushed != nil {
				close(it.flushed)
			} else if it.generation == r.generation.Load() {
				batch = append(batch, it.request)
			}
		default:
			r.save(batch)
			return
		}
	}
}

func (r *Recorder) save(batch []store.Request) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.store.RecordRequests(ctx, batch); err != nil {
		r.log.Error("timeline: saving requests", "n", len(batch), "err", err)
	}
}
