package gosdk

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/microsoft/kiota-abstractions-go/authentication"
	khttp "github.com/microsoft/kiota-http-go"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// attempt is one request as it left the SDK's middleware.
type attempt struct {
	at     time.Time
	status int
}

// attemptLog is the innermost transport: it sees every attempt the SDK's
// retry handler makes.
type attemptLog struct {
	next     http.RoundTripper
	mu       sync.Mutex
	attempts []attempt
}

func (l *attemptLog) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err == nil {
		l.mu.Lock()
		l.attempts = append(l.attempts, attempt{time.Now(), resp.StatusCode})
		l.mu.Unlock()
	}
	return resp, err
}

// throttledClient is an SDK client with the SDK's default middleware
// (compression on or off), over a transport that logs every attempt.
func throttledClient(t *testing.T, h *harness, compression bool) (*msgraph.GraphServiceClient, *attemptLog) {
	t.Helper()
	log := &attemptLog{next: http.DefaultTransport}
	middleware := msgraphgocore.GetDefaultMiddlewaresWithOptions(&msgraphgocore.GraphClientOptions{GraphServiceVersion: "v1.0"})
	for i, m := range middleware {
		if _, ok := m.(*khttp.CompressionHandler); ok && !compression {
			middleware[i] = khttp.NewCompressionHandlerWithOptions(khttp.NewCompressionOptions(false))
		}
	}
	httpClient := &http.Client{Transport: khttp.NewCustomTransportWithParentTransport(log, middleware...)}
	auth := authentication.NewBaseBearerTokenAuthenticationProvider(fixedToken{h.env.Token, "127.0.0.1"})
	adapter, err := msgraph.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	adapter.SetBaseUrl(h.env.URL + "/v1.0")
	return msgraph.NewGraphServiceClient(adapter), log
}

// throttle has callplane answer the next three matching requests 429 with
// Retry-After: 1.
func throttle(t *testing.T, h *harness, method, path string) {
	t.Helper()
	r := h.env.Do(t, http.MethodPost, "/callplane/faults", h.env.Server.Directory().AdminSecret(), map[string]any{
		"kind": "graph", "method": method, "path": path, "status": 429, "retryAfter": 1, "times": 3,
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("fault: %d %s", r.Status, r.Body)
	}
}

// checkRetries checks the attempts: three throttled, spaced as Retry-After
// said, then the one that got through with final.
func checkRetries(t *testing.T, log *attemptLog, final int) {
	t.Helper()
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.attempts) != 4 {
		t.Fatalf("%d attempts, want three throttled and one more: %+v", len(log.attempts), log.attempts)
	}
	for i, a := range log.attempts {
		want := http.StatusTooManyRequests
		if i == 3 {
			want = final
		}
		if a.status != want {
			t.Errorf("attempt %d: %d, want %d", i+1, a.status, want)
		}
		if i > 0 {
			gap := a.at.Sub(log.attempts[i-1].at)
			t.Logf("attempt %d: %d, %v after the one before", i+1, a.status, gap.Round(time.Millisecond))
			if gap < 900*time.Millisecond {
				t.Errorf("attempt %d came %v after the one before; Retry-After said 1 s", i+1, gap)
			}
		}
	}
	log.attempts = nil
}

// TestRetriesThroughThrottling: three 429s with Retry-After 1 from a fault
// rule, and the SDK's own retry handler gets through, waiting as told
// between attempts (a POST with the SDK's request compression off; see
// below).
func TestRetriesThroughThrottling(t *testing.T) {
	h := setup(t)
	calls := h.client.Communications().Calls()
	c, err := calls.Post(h.ctx, newPeerToPeerCall(h.bot.URL), nil)
	if err != nil {
		t.Fatalf("Post: %s", describe(err))
	}

	client, log := throttledClient(t, h, true)
	throttle(t, h, "GET", "/communications/calls/*")
	got, err := client.Communications().Calls().ByCallId(*c.GetId()).Get(h.ctx, nil)
	if err != nil {
		t.Fatalf("Get through three 429s: %s", describe(err))
	}
	checkDeclared(t, "the call after the retries", got)
	checkRetries(t, log, http.StatusOK)

	// A POST is retried with request compression off: the SDK retries a
	// compressed body empty, or uncompressed but labelled gzip
	// (microsoft/kiota-http-go#183), and fails on its side or is refused
	// as the service refuses it.
	plain, log := throttledClient(t, h, false)
	throttle(t, h, "POST", "/communications/calls")
	placed, err := plain.Communications().Calls().Post(h.ctx, newPeerToPeerCall(h.bot.URL), nil)
	if err != nil {
		t.Fatalf("Post through three 429s without compression: %s", describe(err))
	}
	checkCall(t, "placed after the retries", placed, h.bot.URL, h.env.Server.Directory().TenantID(), h.env.Server.Directory().DefaultApplication().ClientID)
	checkRetries(t, log, http.StatusCreated)
}
