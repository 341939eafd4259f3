// Package loadtest drives a running callplane the way many bots would, on
// loopback, with real callback receivers, and measures it against a no-op
// HTTP server driven the same way in the same run: the cost of loopback HTTP
// on this machine, the practical ceiling.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Target is a server under load: one process, or the nodes of a cluster,
// which requests are spread over in turn, as a load balancer does.
type Target struct {
	Name     string
	BaseURLs []string
	Token    string
	PIDs     []int
	// StoreCPU, when set, reads the CPU time of the database server the
	// target keeps its state in, counted with the target's own.
	StoreCPU func() float64
	client   *http.Client
	calls    *tracks
	bots     []*Receiver
	next     atomic.Int64
	spread   atomic.Int64
}

func newTarget(name string, baseURLs []string, token string, pids []int, concurrency, receivers int) (*Target, error) {
	t := &Target{
		Name:     name,
		BaseURLs: baseURLs,
		Token:    token,
		PIDs:     pids,
		client: &http.Client{
			Timeout: time.Minute,
			Transport: &http.Transport{
				MaxIdleConns:        4 * concurrency,
				MaxIdleConnsPerHost: 4 * concurrency,
				IdleConnTimeout:     time.Minute,
			},
		},
		calls: &tracks{},
	}
	for range receivers {
		r, err := startReceiver(t.calls)
		if err != nil {
			t.Close()
			return nil, err
		}
		t.bots = append(t.bots, r)
	}
	return t, nil
}

// Close stops the target's receivers.
func (t *Target) Close() {
	for _, r := range t.bots {
		r.Close()
	}
}

// base is the node the next request goes to.
func (t *Target) base() string {
	return t.BaseURLs[int(t.spread.Add(1))%len(t.BaseURLs)]
}

// callBody is a peer-to-peer call to a simulated user, reporting to one of
// the target's bots in turn.
func (t *Target) callBody() []byte {
	bot := t.bots[int(t.next.Add(1))%len(t.bots)]
	return []byte(`{"callbackUri":"` + bot.URL + `","targets":[{"identity":{"user":{"id":"8d1e2f3a-0000-4000-8000-000000000001"}}}],` +
		`"requestedModalities":["audio"],"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"}}`)
}

// create places a call and returns its id.
func (t *Target) create(ctx context.Context) (string, error) { return t.createAt(ctx, t.base()) }

// createAt places a call through the node at base.
func (t *Target) createAt(ctx context.Context, base string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1.0/communications/calls", bytes.NewReader(t.callBody()))
	req.Header.Set("Authorization", "Bearer "+t.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create: %s %s", resp.Status, body)
	}
	var c struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &c); err != nil || c.ID == "" {
		return "", fmt.Errorf("create: no id in %s", body)
	}
	return c.ID, nil
}

// hangUp deletes a call.
func (t *Target) hangUp(ctx context.Context, id string) error { return t.hangUpAt(ctx, t.base(), id) }

// hangUpAt deletes a call through the node at base.
func (t *Target) hangUpAt(ctx context.Context, base, id string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, base+"/v1.0/communications/calls/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+t.Token)
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("delete: %s", resp.Status)
	}
	return nil
}

// Latencies are samples of one measure.
type Latencies []time.Duration

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of the samples.
func (l Latencies) Quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(q * float64(len(s)-1))
	return s[i]
}

// closedLoop runs op n times from concurrency workers, each starting the
// next as soon as its last finished, and returns the elapsed time and each
// op's latency.
func closedLoop(n, concurrency int, op func(i int) error) (time.Duration, Latencies, error) {
	lat := make(Latencies, n)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		firstErr atomic.Pointer[error]
	)
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || firstErr.Load() != nil {
					return
				}
				t0 := time.Now()
				if err := op(i); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return 0, nil, *p
	}
	return time.Since(start), lat, nil
}

// openLoop starts op n times at a fixed rate, whether or not earlier ones
// finished, and measures each from when it was due to start, so a stall
// shows in the latencies instead of lowering the load.
func openLoop(n int, rate float64, op func(i int) error) (time.Duration, Latencies, error) {
	lat := make(Latencies, n)
	interval := time.Duration(float64(time.Second) / rate)
	var (
		wg       sync.WaitGroup
		firstErr atomic.Pointer[error]
	)
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d) // pacing the load: the schedule, not a synchronisation
		}
		if firstErr.Load() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := op(i); err != nil {
				firstErr.CompareAndSwap(nil, &err)
				return
			}
			lat[i] = time.Since(due)
		}()
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return 0, nil, *p
	}
	return time.Since(start), lat, nil
}

// waitAll waits until every call's channel chosen by which is closed.
func (t *Target) waitAll(ids []string, which func(*track) <-chan struct{}, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for i, id := range ids {
		select {
		case <-which(t.calls.get(id)):
		case <-deadline.C:
			return fmt.Errorf("%s: %d of %d calls did not get there within %v", t.Name, len(ids)-i, len(ids), timeout)
		}
	}
	return nil
}

func established(tr *track) <-chan struct{} { return tr.established }
func terminated(tr *track) <-chan struct{}  { return tr.terminated }

// precreate places n calls and, unless the target sends no notifications,
// waits until all are established.
func (t *Target) precreate(n, concurrency int, notifies bool) ([]string, error) {
	ids := make([]string, n)
	_, _, err := closedLoop(n, concurrency, func(i int) error {
		id, err := t.create(context.Background())
		ids[i] = id
		return err
	})
	if err != nil {
		return nil, err
	}
	if notifies {
		if err := t.waitAll(ids, established, 5*time.Minute); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// deleteRun hangs up the calls, closed-loop (rate 0) or open-loop at rate,
// and returns the request latencies and, when the target notifies, the time
// from each DELETE being sent to its terminated notification arriving.
func (t *Target) deleteRun(ids []string, concurrency int, rate float64, notifies bool) (Run, error) {
	sent := make([]int64, len(ids))
	op := func(i int) error {
		sent[i] = time.Now().UnixNano()
		return t.hangUp(context.Background(), ids[i])
	}
	var (
		elapsed time.Duration
		lat     Latencies
		err     error
	)
	if rate > 0 {
		elapsed, lat, err = openLoop(len(ids), rate, op)
	} else {
		elapsed, lat, err = closedLoop(len(ids), concurrency, op)
	}
	if err != nil {
		return Run{}, err
	}
	run := Run{N: len(ids), Elapsed: elapsed, Request: lat}
	if notifies {
		if err := t.waitAll(ids, terminated, 5*time.Minute); err != nil {
			return Run{}, err
		}
		run.Notified = make(Latencies, len(ids))
		for i, id := range ids {
			run.Notified[i] = time.Duration(t.calls.get(id).terminatedAt.Load() - sent[i])
			t.calls.forget(id)
		}
	}
	return run, nil
}

// cycleRun runs full call cycles: create, wait for established, DELETE,
// wait for terminated.
func (t *Target) cycleRun(n, concurrency int) (Run, error) {
	deletes := make(Latencies, n)
	notified := make(Latencies, n)
	elapsed, _, err := closedLoop(n, concurrency, func(i int) error {
		id, err := t.create(context.Background())
		if err != nil {
			return err
		}
		tr := t.calls.get(id)
		select {
		case <-tr.established:
		case <-time.After(time.Minute):
			return errors.New("no established notification within a minute")
		}
		sent := time.Now()
		if err := t.hangUp(context.Background(), id); err != nil {
			return err
		}
		deletes[i] = time.Since(sent)
		select {
		case <-tr.terminated:
		case <-time.After(time.Minute):
			return errors.New("no terminated notification within a minute")
		}
		notified[i] = time.Duration(tr.terminatedAt.Load() - sent.UnixNano())
		t.calls.forget(id)
		return nil
	})
	return Run{N: n, Elapsed: elapsed, Request: deletes, Notified: notified}, err
}

// Run is the outcome of one measured run.
type Run struct {
	N        int
	Elapsed  time.Duration
	Request  Latencies
	Notified Latencies
	// Proc is the server's resource use during the run; StoreCPU the part
	// of CPU its database server used.
	CPU      float64
	StoreCPU float64
	PeakRSS  int64
}

// Rate is operations per second.
func (r Run) Rate() float64 { return float64(r.N) / r.Elapsed.Seconds() }

// measure runs f and adds the server's CPU seconds (its nodes' and its
// database server's) and peak RSS (its nodes', summed) to its run.
func (t *Target) measure(f func() (Run, error)) (Run, error) {
	before := t.usage()
	run, err := f()
	after := t.usage()
	run.CPU = after.CPU - before.CPU
	run.PeakRSS = after.PeakRSS
	run.StoreCPU = after.storeCPU - before.storeCPU
	return run, err
}

type usage struct {
	ProcStats
	storeCPU float64
}

func (t *Target) usage() usage {
	var u usage
	for _, pid := range t.PIDs {
		s, _ := ReadProc(pid)
		u.CPU += s.CPU
		u.PeakRSS += s.PeakRSS
	}
	if t.StoreCPU != nil {
		u.storeCPU = t.StoreCPU()
		u.CPU += u.storeCPU
	}
	return u
}
