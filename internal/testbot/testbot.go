// Package testbot is a calling bot's notification endpoint for tests: a real
// HTTP server on loopback that records every notification POSTed to it and
// lets a test wait, with a deadline, for what it expects.
package testbot

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/graph"
)

// Notification is one change a bot was told about: one element of a
// commsNotifications body.
type Notification struct {
	At          time.Time
	Header      http.Header
	MessageID   string
	ChainID     string
	ChangeType  string
	ResourceURL string
	// State and ResultInfo come from resourceData when it is a call.
	State      string
	ResultInfo *ResultInfo
	Data       json.RawMessage
	// Status is what the bot answered; only 2xx counts as received by the
	// service.
	Status int
}

// ResultInfo is resourceData.resultInfo, with numbers kept as numbers: a
// string there fails to decode, as it should.
type ResultInfo struct {
	Code    int    `json:"code"`
	Subcode int    `json:"subcode"`
	Message string `json:"message"`
}

// Acked reports whether the bot acknowledged the notification.
func (n Notification) Acked() bool { return n.Status >= 200 && n.Status < 300 }

// Bot records notifications.
type Bot struct {
	URL    string
	server *httptest.Server

	mu      sync.Mutex
	got     []Notification
	bodies  [][]byte
	changed chan struct{}
	respond func(r *http.Request, body []byte) int
}

// Start starts a bot on loopback; it stops when the test ends. Its URL is a
// callback URI.
func Start(t testing.TB) *Bot {
	return StartOn(t, "127.0.0.1:0")
}

// StartOn starts a bot listening on addr: a bot that comes back on the
// address where it was down.
func StartOn(t testing.TB, addr string) *Bot {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("bot listen %s: %v", addr, err)
	}
	b := &Bot{changed: make(chan struct{})}
	b.server = httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	b.server.Listener = ln
	b.server.Start()
	b.URL = b.server.URL + "/api/calls"
	t.Cleanup(b.server.Close)
	return b
}

// Addr is the bot's listen address.
func (b *Bot) Addr() string { return b.server.Listener.Addr().String() }

// Stop takes the bot down: connections to it are refused from now on.
func (b *Bot) Stop() {
	b.server.CloseClientConnections()
	b.server.Close()
}

// Respond sets how the bot answers: f returns the status code. The default
// answers 202 Accepted, as the real SDK does.
func (b *Bot) Respond(f func(r *http.Request, body []byte) int) {
	b.mu.Lock()
	b.respond = f
	b.mu.Unlock()
}

func (b *Bot) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	respond := b.respond
	b.mu.Unlock()
	status := http.StatusAccepted
	if respond != nil {
		status = respond(r, body)
	}
	var env graph.Received
	_ = json.Unmarshal(body, &env)
	now := time.Now()
	b.mu.Lock()
	b.bodies = append(b.bodies, body)
	for _, v := range env.Value {
		n := Notification{
			At:          now,
			Header:      r.Header.Clone(),
			MessageID:   r.Header.Get("X-Microsoft-Skype-Message-ID"),
			ChainID:     r.Header.Get("X-Microsoft-Skype-Chain-ID"),
			ChangeType:  v.ChangeType,
			ResourceURL: v.ResourceURL,
			Data:        v.ResourceData,
			Status:      status,
		}
		var data struct {
			State      string      `json:"state"`
			ResultInfo *ResultInfo `json:"resultInfo"`
		}
		if strings.HasPrefix(strings.TrimSpace(string(v.ResourceData)), "{") {
			if err := json.Unmarshal(v.ResourceData, &data); err == nil {
				n.State, n.ResultInfo = data.State, data.ResultInfo
			}
		}
		b.got = append(b.got, n)
	}
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
	w.WriteHeader(status)
}

// All returns every notification received so far, acknowledged or not.
func (b *Bot) All() []Notification {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Notification(nil), b.got...)
}

// Bodies returns every request body received so far, as sent.
func (b *Bot) Bodies() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.bodies...)
}

// Wait returns the notifications as soon as cond holds for them, and fails
// the test if it does not hold within timeout.
func (b *Bot) Wait(t testing.TB, timeout time.Duration, what string, cond func([]Notification) bool) []Notification {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		got := append([]Notification(nil), b.got...)
		changed := b.changed
		b.mu.Unlock()
		if cond(got) {
			return got
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("waited %v for %s; got %d notifications:\n%s", timeout, what, len(got), Describe(got))
			return nil
		}
	}
}

// Acked returns the acknowledged notifications on a resource URL, in the
// order they arrived.
func Acked(all []Notification, resourceURL string) []Notification {
	var out []Notification
	for _, n := range all {
		if n.Acked() && strings.EqualFold(n.ResourceURL, resourceURL) {
			out = append(out, n)
		}
	}
	return out
}

// WaitAcked waits until at least n notifications on the resource were
// acknowledged, and returns them.
func (b *Bot) WaitAcked(t testing.TB, timeout time.Duration, resourceURL string, n int) []Notification {
	t.Helper()
	got := b.Wait(t, timeout, "notifications on "+resourceURL, func(all []Notification) bool {
		return len(Acked(all, resourceURL)) >= n
	})
	return Acked(got, resourceURL)
}

// Describe lists notifications one per line, for failure messages.
func Describe(ns []Notification) string {
	var b strings.Builder
	for _, n := range ns {
		b.WriteString("  " + n.At.Format("15:04:05.000") + " " + n.ChangeType + " " + n.ResourceURL + " state=" + n.State +
			" status=" + http.StatusText(n.Status) + " message=" + n.MessageID + "\n")
	}
	return b.String()
}
