package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
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

func start(t *testing.T, cfg delivery.Config) *harness {
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
	if err := h.store.CreateCall(context.Background(), c, out); err != nil {
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
