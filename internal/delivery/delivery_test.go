package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/delivery"
	"github.com/callplane/callplane/internal/store"
	"github.com/callplane/callplane/internal/store/sqlite"
	"github.com/callplane/callplane/internal/testbot"
)

const wait = 10 * time.Second

type fixedToken struct{}

func (fixedToken) Token(appID, tenantID string) (string, error) { return "token-for-" + appID, nil }

// harness is a dispatcher over a real store.
type harness struct {
	store *sqlite.Store
	d     *delivery.Dispatcher
}

func testConfig() delivery.Config {
	cfg := delivery.DefaultConfig
	cfg.MinBackoff = 5 * time.Millisecond
	cfg.MaxBackoff = 50 * time.Millisecond
	cfg.RetryDeadline = time.Minute
	cfg.ResponseTimeout = 5 * time.Second
	return cfg
}

func start(t testing.TB, cfg delivery.Config) *harness {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "callplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	d := delivery.New(st, fixedToken{}, cfg, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		stop, done := context.WithTimeout(context.Background(), time.Second)
		defer done()
		d.Wait(stop)
		st.Close()
	})
	return &harness{store: st, d: d}
}

// save stores n notifications for a new call on callbackURI, as the control
// layer does, hands them to the dispatcher, and returns them.
func (h *harness) save(t *testing.T, callbackURI string, n int) []store.Notification {
	t.Helper()
	c, _, err := call.Place(call.Request{
		Owner:       call.Owner{TenantID: "t", AppID: "a"},
		CallbackURI: callbackURI,
		Targets:     []call.Participant{{Identity: call.Identity{Kind: call.User, ID: "u"}}},
		Media:       call.Media{Hosting: call.ServiceHosted},
	}, time.Now(), call.DefaultTiming)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Notification
	for i := range n {
		payload := fmt.Sprintf(`{"value":[{"changeType":"updated","resourceUrl":"/communications/calls/%s","resourceData":{"state":"s%d"}}]}`, c.ID, i)
		out = append(out, store.NewNotification(c, []byte(payload), time.Now()))
	}
	if err := store.Save(context.Background(), h.store, &store.Changes{Calls: []*call.Call{c}, Notifications: out}); err != nil {
		t.Fatal(err)
	}
	h.d.Enqueue(out...)
	return out
}

// TestOneCallInOrderDespiteFailures: a notification that fails is retried
// until acknowledged, and the call's next one is not sent before that.
func TestOneCallInOrderDespiteFailures(t *testing.T) {
	h := start(t, testConfig())
	bot := testbot.Start(t)
	var mu sync.Mutex
	failures := map[string]int{}
	bot.Respond(func(r *http.Request, body []byte) int {
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get("X-Microsoft-Skype-Message-ID")
		if failures[id] < 2 { // every notification fails twice first
			failures[id]++
			return http.StatusInternalServerError
		}
		return http.StatusAccepted
	})
	sent := h.save(t, bot.URL, 5)

	got := bot.Wait(t, wait, "5 acknowledged", func(all []testbot.Notification) bool {
		n := 0
		for _, x := range all {
			if x.Acked() {
				n++
			}
		}
		return n == 5
	})
	// Every attempt of notification i comes before any attempt of i+1.
	next := 0
	for _, x := range got {
		for x.MessageID != sent[next].MessageID {
			next++
			if next == len(sent) {
				t.Fatalf("out of order:\n%s", testbot.Describe(got))
			}
		}
	}
	if len(got) != 15 {
		t.Fatalf("%d attempts, want 15 (3 per notification):\n%s", len(got), testbot.Describe(got))
	}
	for _, x := range got {
		if x.Header.Get("Authorization") != "Bearer token-for-a" {
			t.Fatalf("Authorization %q", x.Header.Get("Authorization"))
		}
	}
}

func acked(all []testbot.Notification) int {
	n := 0
	for _, x := range all {
		if x.Acked() {
			n++
		}
	}
	return n
}

// TestRedirect: a bot that answers 302 with a Location has the notification
// delivered there, with the same message id, and it counts as delivered.
func TestRedirect(t *testing.T) {
	h := start(t, testConfig())
	target := testbot.Start(t)
	redirecting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", target.URL+"/moved")
		w.WriteHeader(http.StatusFound)
	})
	srv := httptest.NewServer(redirecting)
	t.Cleanup(srv.Close)

	sent := h.save(t, srv.URL+"/api/calls", 2)
	got := target.Wait(t, wait, "2 redirected notifications", func(all []testbot.Notification) bool { return acked(all) == 2 })
	for i, n := range got {
		if n.MessageID != sent[i].MessageID {
			t.Fatalf("notification %d: message id %s, want %s", i, n.MessageID, sent[i].MessageID)
		}
	}
	waitStatus(t, h, sent[1].Seq, store.Delivered)
}

// TestRedirectOutsidePolicy: a redirect to a destination the policy refuses
// fails the notification at once instead of retrying it.
func TestRedirectOutsidePolicy(t *testing.T) {
	cfg := testConfig()
	cfg.Policy = delivery.Policy{Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	h := start(t, cfg)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://10.255.255.1/elsewhere")
		w.WriteHeader(http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	sent := h.save(t, srv.URL+"/api/calls", 1)
	n := waitStatus(t, h, sent[0].Seq, store.Failed)
	if n.Attempts != 1 || !strings.Contains(n.LastError, "redirect refused") {
		t.Fatalf("attempts %d, last error %q", n.Attempts, n.LastError)
	}
}

// TestGiveUpAfterDeadline: a notification the bot keeps refusing is marked
// failed once its retry deadline passed, with its last error, and the call's
// next notification is delivered.
func TestGiveUpAfterDeadline(t *testing.T) {
	cfg := testConfig()
	cfg.RetryDeadline = 150 * time.Millisecond
	h := start(t, cfg)
	bot := testbot.Start(t)
	bot.Respond(func(r *http.Request, body []byte) int {
		if strings.Contains(string(body), `"state":"s0"`) {
			return http.StatusServiceUnavailable
		}
		return http.StatusAccepted
	})
	sent := h.save(t, bot.URL, 2)
	bot.Wait(t, wait, "the second notification", func(all []testbot.Notification) bool { return acked(all) == 1 })
	failed := waitStatus(t, h, sent[0].Seq, store.Failed)
	if failed.Attempts < 2 || failed.LastStatusCode != http.StatusServiceUnavailable || failed.LastError == "" {
		t.Fatalf("failed notification: %+v", failed.Delivery)
	}
	if got := bot.All(); got[len(got)-1].MessageID != sent[1].MessageID {
		t.Fatalf("last delivered %s, want the second notification %s", got[len(got)-1].MessageID, sent[1].MessageID)
	}
}

// waitStatus waits until the notification's recorded status is want.
func waitStatus(t *testing.T, h *harness, seq int64, want store.Status) store.Notification {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ns, err := h.store.Notifications(context.Background(), store.Filter{Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.Seq == seq && n.Status == want {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("notification %d never became %s", seq, want)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, under a deadline
	}
}

// TestHungBotDelaysOnlyItself: while one bot holds every request it gets,
// another bot's notifications arrive at once, not after the first one's
// timeouts.
func TestHungBotDelaysOnlyItself(t *testing.T) {
	cfg := testConfig()
	cfg.ResponseTimeout = time.Minute
	cfg.PerHostConcurrency = 4
	h := start(t, cfg)
	release := make(chan struct{})
	var received, answered atomic.Int64
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		<-release
		answered.Add(1)
	}))
	t.Cleanup(func() { close(release); hung.Close() })
	healthy := testbot.Start(t)

	for range 50 {
		h.save(t, hung.URL+"/api/calls", 2)
	}
	began := time.Now()
	for range 20 {
		h.save(t, healthy.URL, 3)
	}
	healthy.Wait(t, wait, "the healthy bot's 60 notifications", func(all []testbot.Notification) bool { return acked(all) == 60 })
	t.Logf("healthy bot got 60 notifications in %v while the hung bot held %d requests", time.Since(began), received.Load())
	if received.Load() == 0 || answered.Load() != 0 {
		t.Fatalf("hung bot: %d requests received, %d answered; want some received and none answered", received.Load(), answered.Load())
	}
	if received.Load() > int64(cfg.PerHostConcurrency) {
		t.Fatalf("hung bot holds %d requests, more than the per-host limit %d", received.Load(), cfg.PerHostConcurrency)
	}
}

// TestTakeKeepsSeqOrder: notifications another node saved, handed over
// after a later one was queued here, are delivered in Seq order, each once,
// however many times they are handed over.
func TestTakeKeepsSeqOrder(t *testing.T) {
	h := start(t, testConfig())
	bot := testbot.Start(t)
	inFlight, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	bot.Respond(func(*http.Request, []byte) int {
		first.Do(func() { close(inFlight); <-release }) // the head stays in flight meanwhile
		return http.StatusAccepted
	})
	c, _, err := call.Place(call.Request{
		Owner:       call.Owner{TenantID: "t", AppID: "a"},
		CallbackURI: bot.URL,
		Targets:     []call.Participant{{Identity: call.Identity{Kind: call.User, ID: "u"}}},
		Media:       call.Media{Hosting: call.ServiceHosted},
	}, time.Now(), call.DefaultTiming)
	if err != nil {
		t.Fatal(err)
	}
	var ns []store.Notification
	for i := range 4 {
		ns = append(ns, store.NewNotification(c, fmt.Appendf(nil, `{"value":[{"resourceData":{"n":%d}}]}`, i), time.Now()))
	}
	if err := store.Save(context.Background(), h.store, &store.Changes{Calls: []*call.Call{c}, Notifications: ns}); err != nil {
		t.Fatal(err)
	}
	h.d.Enqueue(ns[0])
	select {
	case <-inFlight:
	case <-time.After(wait):
		t.Fatal("the first notification was never sent")
	}
	h.d.Enqueue(ns[3])
	h.d.Take(ns[1], ns[2], ns[3])
	h.d.Take(ns[0], ns[2])
	close(release)
	got := bot.Wait(t, wait, "4 acknowledged", func(all []testbot.Notification) bool { return acked(all) == 4 })
	for i, x := range got {
		if x.MessageID != ns[i].MessageID {
			t.Fatalf("delivery %d is %s, want %s:\n%s", i, x.MessageID, ns[i].MessageID, testbot.Describe(got))
		}
	}
	for _, n := range ns {
		waitStatus(t, h, n.Seq, store.Delivered)
	}
	if all := bot.All(); len(all) != 4 {
		t.Fatalf("%d deliveries, want 4:\n%s", len(all), testbot.Describe(all))
	}
}
