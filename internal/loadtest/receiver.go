package loadtest

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Receiver is a bot's callback endpoint for load runs: it answers every
// notification 202 at once and records when each call was established and
// terminated.
type Receiver struct {
	URL    string
	server *http.Server
	calls  *tracks
}

// tracks follows every call a run placed, across its receivers.
type tracks struct{ m sync.Map }

// track is what happened to one call, as its bot saw it.
type track struct {
	established  chan struct{}
	terminated   chan struct{}
	estOnce      sync.Once
	termOnce     sync.Once
	terminatedAt atomic.Int64 // Unix nanoseconds
}

func (t *tracks) get(id string) *track {
	if v, ok := t.m.Load(id); ok {
		return v.(*track)
	}
	v, _ := t.m.LoadOrStore(id, &track{established: make(chan struct{}), terminated: make(chan struct{})})
	return v.(*track)
}

func (t *tracks) forget(id string) { t.m.Delete(id) }

// startReceiver listens on loopback and records into calls.
func startReceiver(calls *tracks) (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{URL: "http://" + ln.Addr().String() + "/api/calls", calls: calls}
	r.server = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go r.server.Serve(ln)
	return r, nil
}

func (r *Receiver) Close() error { return r.server.Close() }

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(req.Body)
	w.WriteHeader(http.StatusAccepted)
	// A cheap scan rather than a JSON decoder: the receiver shares the
	// machine with callplane, and the less it takes, the more callplane
	// gets. callplane writes one change per body, resourceUrl before state.
	id, state := scan(body)
	if id == "" {
		return
	}
	t := r.calls.get(id)
	switch state {
	case "established":
		t.estOnce.Do(func() { close(t.established) })
	case "terminated":
		t.termOnce.Do(func() {
			t.terminatedAt.Store(now.UnixNano())
			close(t.terminated)
		})
	}
}

// scan finds a call notification's call id and state; rosters and
// operations (longer resource URLs) give no id.
func scan(body []byte) (id, state string) {
	const urlKey, stateKey = `"resourceUrl":"/communications/calls/`, `"state":"`
	i := bytes.Index(body, []byte(urlKey))
	if i < 0 {
		return "", ""
	}
	rest := body[i+len(urlKey):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '/') >= 0 {
		return "", ""
	}
	id = string(rest[:end])
	if j := bytes.Index(rest, []byte(stateKey)); j >= 0 {
		v := rest[j+len(stateKey):]
		if k := bytes.IndexByte(v, '"'); k >= 0 {
			state = string(v[:k])
		}
	}
	return id, state
}
