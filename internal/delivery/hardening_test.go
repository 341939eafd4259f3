package delivery_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/delivery"
	"github.com/callplane/callplane/internal/store"
	"github.com/callplane/callplane/internal/testbot"
)

// hungPort accepts connections, reads what they send, and never answers:
// a bot that hangs. It returns its callback URL.
func hungPort(t *testing.T) (url string, requests *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	requests = new(atomic.Int64)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				r := bufio.NewReader(c)
				for {
					if _, err := http.ReadRequest(r); err != nil {
						return
					}
					requests.Add(1)
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/api/calls", requests
}

// TestHungCallbackPortsDoNotStarveAHealthyBot: 33 callback ports that hang
// with 16 requests each hold more than every fresh delivery slot (512 =
// 32 x 16, the defaults); a healthy bot of the same application must still
// get its first notification at once, within the bound: SlowAfter (250 ms),
// when the hung attempts give their fresh slots back, plus scheduling.
func TestHungCallbackPortsDoNotStarveAHealthyBot(t *testing.T) {
	cfg := delivery.DefaultConfig // the concurrency that was starved, as shipped
	h := start(t, cfg)
	const hungPorts = 33
	var hung []*atomic.Int64
	for range hungPorts {
		url, requests := hungPort(t)
		hung = append(hung, requests)
		for range cfg.PerHostConcurrency {
			h.save(t, url, 2) // one call each: a stream per call, 16 in flight per port
		}
	}
	// Let the hung ports take every slot they can before the healthy bot
	// needs one.
	deadline := time.Now().Add(wait)
	for total := int64(0); total < int64(cfg.MaxConcurrency); {
		if time.Now().After(deadline) {
			t.Fatalf("the hung ports received only %d requests", total)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, under a deadline
		total = 0
		for _, r := range hung {
			total += r.Load()
		}
	}
	healthy := testbot.Start(t)
	began := time.Now()
	h.save(t, healthy.URL, 1)
	got := healthy.Wait(t, wait, "the healthy bot's notification", func(all []testbot.Notification) bool { return acked(all) == 1 })
	took := got[0].At.Sub(began)
	t.Logf("healthy bot's first notification after %v, with %d hung ports holding requests", took, hungPorts)
	const bound = time.Second // SlowAfter (250 ms) and a margin for a loaded CI machine
	if took > bound {
		t.Fatalf("the healthy bot waited %v for its first notification, more than %v", took, bound)
	}
}

// TestRedirectsToOtherSchemesFailAtOnce: under the default policy, a 302 to
// a URL no callback may have (another scheme, user info, a bad port) fails
// the notification on its first attempt instead of being retried until the
// deadline.
func TestRedirectsToOtherSchemesFailAtOnce(t *testing.T) {
	h := start(t, testConfig())
	for _, location := range []string{
		"file:///etc/passwd",
		"gopher://127.0.0.1:70/1",
		"http://user:secret@127.0.0.1:9/x",
		"http://127.0.0.1:99999/x",
	} {
		t.Run(location, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", location)
				w.WriteHeader(http.StatusFound)
			}))
			t.Cleanup(srv.Close)
			sent := h.save(t, srv.URL+"/api/calls", 1)
			n := waitStatus(t, h, sent[0].Seq, store.Failed)
			if n.Attempts != 1 || !strings.Contains(n.LastError, "redirect refused") {
				t.Fatalf("attempts %d, last error %q", n.Attempts, n.LastError)
			}
		})
	}
}

// TestCallbackResponseBounded: a bot answering with megabytes of headers
// fails the attempt instead of being buffered.
func TestCallbackResponseBounded(t *testing.T) {
	cfg := testConfig()
	cfg.RetryDeadline = 100 * time.Millisecond
	h := start(t, cfg)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 100 {
			w.Header().Set(fmt.Sprintf("X-Padding-%d", i), strings.Repeat("x", 10<<10))
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	sent := h.save(t, srv.URL+"/api/calls", 1)
	n := waitStatus(t, h, sent[0].Seq, store.Failed)
	if !strings.Contains(n.LastError, "header") {
		t.Fatalf("last error %q, want the header limit", n.LastError)
	}
}

// deadPort is a callback URL where nothing listens.
func deadPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/api/calls"
}

// TestDeadBotBacklogBounded: a callback host holds at most MaxBacklog
// undelivered notifications; the ones past it are failed at once, with
// the reason, so every notification is accounted for.
func TestDeadBotBacklogBounded(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBacklog = 5
	h := start(t, cfg)
	dead := deadPort(t)
	var sent []store.Notification
	for range 4 {
		sent = append(sent, h.save(t, dead, 3)...)
	}
	refused := 0
	for _, n := range sent[cfg.MaxBacklog:] {
		got := waitStatus(t, h, n.Seq, store.Failed)
		if got.Attempts != 0 || !strings.Contains(got.LastError, "--delivery-backlog") {
			t.Fatalf("refused notification: %+v", got.Delivery)
		}
		refused++
	}
	all, err := h.store.Notifications(context.Background(), store.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	pending := 0
	for _, n := range all {
		if n.Status == store.Pending {
			pending++
		}
	}
	if pending != cfg.MaxBacklog || refused != len(sent)-cfg.MaxBacklog || len(all) != len(sent) {
		t.Fatalf("%d notifications: %d pending, %d refused; want %d pending", len(all), pending, refused, cfg.MaxBacklog)
	}
}

// TestDeadBotFailsFast: once a host has failed every attempt for the retry
// deadline, its queued notifications get one attempt each, not a deadline
// each.
func TestDeadBotFailsFast(t *testing.T) {
	cfg := testConfig()
	cfg.RetryDeadline = 200 * time.Millisecond
	h := start(t, cfg)
	sent := h.save(t, deadPort(t), 6)
	began := time.Now()
	for _, n := range sent {
		waitStatus(t, h, n.Seq, store.Failed)
	}
	took := time.Since(began)
	all, _ := h.store.Notifications(context.Background(), store.Filter{CallID: sent[0].CallID})
	for _, n := range all[:len(all)-1] { // newest first: all but the oldest
		if n.Attempts != 1 || !strings.Contains(n.LastError, "given up") {
			t.Fatalf("a later notification of the dead bot: %+v", n.Delivery)
		}
	}
	if took > 3*cfg.RetryDeadline+time.Second {
		t.Fatalf("6 notifications to a dead bot took %v to fail; one deadline is %v", took, cfg.RetryDeadline)
	}
}

// rebinding resolves a name to one address the first time and another
// after: DNS rebinding.
type rebinding struct {
	mu      sync.Mutex
	answers []netip.Addr
}

func (r *rebinding) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.answers[0]
	if len(r.answers) > 1 {
		r.answers = r.answers[1:]
	}
	return []netip.Addr{a}, nil
}

// TestRebindingRefusedAtDial: a name that resolved into the allowed
// networks when its URL was checked, and resolves elsewhere when callplane
// connects, is refused at dial time: the notification fails at once and
// nothing reaches the address it rebound to.
func TestRebindingRefusedAtDial(t *testing.T) {
	victim := testbot.Start(t) // on 127.0.0.1, which the policy does not allow
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(victim.URL, "/api/calls"), "http://"))
	resolver := &rebinding{answers: []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")}}
	cfg := testConfig()
	cfg.Policy = delivery.Policy{Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}, Resolver: resolver}
	h := start(t, cfg)
	callback := "http://rebind.test:" + port + "/api/calls"
	if err := cfg.Policy.Check(callback); err != nil {
		t.Fatalf("at creation the name resolves into the allowed network: %v", err)
	}
	sent := h.save(t, callback, 1)
	n := waitStatus(t, h, sent[0].Seq, store.Failed)
	if n.Attempts != 1 || !strings.Contains(n.LastError, "127.0.0.1") || !strings.Contains(n.LastError, "allow list") {
		t.Fatalf("attempts %d, last error %q", n.Attempts, n.LastError)
	}
	if got := victim.All(); len(got) != 0 {
		t.Fatalf("the rebound address received %d notifications", len(got))
	}
}
