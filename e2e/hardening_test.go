package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/store"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// logRecorder keeps what the server logs, for tests that check a line.
type logRecorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logRecorder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestSlowClientsCutOff: 1,000 connections from one client that send their
// headers and never the body they announce are cut off after the read
// timeout; over the per-client limit they are closed as they come. Other
// clients on loopback meanwhile get /healthz, a token and a DELETE answered
// as usual.
func TestSlowClientsCutOff(t *testing.T) {
	const readTimeout = 2 * time.Second
	logs := &logRecorder{}
	env := testenv.Start(t, func(c *server.Config) {
		c.ReadTimeout = readTimeout
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	bot := testbot.Start(t)
	victim := env.PlaceCall(t, bot.URL)
	addr := strings.TrimPrefix(env.URL, "http://")
	tenant := env.Server.Directory().TenantID()

	// The attacker is 127.0.0.2; everyone else is 127.0.0.1.
	dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	var attack []net.Conn
	t.Cleanup(func() {
		for _, c := range attack {
			c.Close()
		}
	})
	began := time.Now()
	for i := range 1000 {
		c, err := dialer.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("attacker connection %d: %v", i, err)
		}
		path := "/" + tenant + "/oauth2/v2.0/token"
		if i%2 == 0 {
			path = "/v1.0/communications/calls"
		}
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n", path, addr)
		attack = append(attack, c)
	}
	t.Logf("1000 attacking connections open after %v", time.Since(began))

	// Meanwhile, a bot on another address is served as usual.
	for _, probe := range []struct {
		name string
		do   func() int
	}{
		{"GET /healthz", func() int { return env.Do(t, http.MethodGet, "/healthz", "", nil).Status }},
		{"token", func() int {
			s, _ := secretToken(t, env, env.Server.Directory().DefaultApplication().ClientID, env.Server.Directory().DefaultApplication().Secret)
			return s
		}},
		{"DELETE", func() int { return env.Do(t, http.MethodDelete, testenv.CallPath(victim.ID), env.Token, nil).Status }},
	} {
		start := time.Now()
		status := probe.do()
		took := time.Since(start)
		t.Logf("%s during the attack: %d in %v", probe.name, status, took)
		if status >= 300 || took > readTimeout/2 {
			t.Errorf("%s during the attack: %d after %v; it must not wait for the attacker", probe.name, status, took)
		}
	}

	// Every attacking connection is closed by the server: at once over the
	// limit, after the read timeout within it.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []string
	for i, c := range attack {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(readTimeout + 5*time.Second))
			_, err := io.Copy(io.Discard, c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				mu.Lock()
				open = append(open, fmt.Sprint(i))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(open) > 0 {
		t.Fatalf("%d attacking connections still open %v after the read timeout (e.g. #%s)", len(open), readTimeout+5*time.Second, open[0])
	}
	if !strings.Contains(logs.String(), "level=INFO") || !strings.Contains(logs.String(), "connections refused") {
		t.Fatalf("refused connections were not logged at info:\n%.2000s", logs.String())
	}
}

// TestCallLimitThrottles: with --max-calls-per-app, a call over the limit
// is answered as Graph throttles: 429, Retry-After, TooManyRequests.
func TestCallLimitThrottles(t *testing.T) {
	env := testenv.Start(t, func(c *server.Config) { c.MaxCallsPerApp = 2 })
	bot := testbot.Start(t)
	first := env.PlaceCall(t, bot.URL)
	env.PlaceCall(t, bot.URL)
	r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, testenv.CallRequest(bot.URL))
	checkGraphError(t, r, http.StatusTooManyRequests, "TooManyRequests")
	if r.Header.Get("Retry-After") != "5" {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	env.Do(t, http.MethodDelete, testenv.CallPath(first.ID), env.Token, nil)
	env.PlaceCall(t, bot.URL) // a place freed
}

// TestOversizedFieldsRefused: strings a bot sends are stored with its call,
// so each has a limit; one over it is refused with 400 and nothing is kept.
func TestOversizedFieldsRefused(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	big := strings.Repeat("x", 900<<10)
	for name, edit := range map[string]func(m map[string]any){
		"900 KB subject": func(m map[string]any) { m["subject"] = big },
		"long display name": func(m map[string]any) {
			m["targets"].([]any)[0].(map[string]any)["identity"].(map[string]any)["user"].(map[string]any)["displayName"] = strings.Repeat("n", 257)
		},
		"long callback URI":   func(m map[string]any) { m["callbackUri"] = bot.URL + "?" + strings.Repeat("q", 2048) },
		"repeated modality":   func(m map[string]any) { m["requestedModalities"] = []string{"audio", "audio"} },
		"callback port 0":     func(m map[string]any) { m["callbackUri"] = "http://127.0.0.1:0/cb" },
		"callback port 70000": func(m map[string]any) { m["callbackUri"] = "http://127.0.0.1:70000/cb" },
	} {
		t.Run(name, func(t *testing.T) {
			m := testenv.CallRequest(bot.URL)
			edit(m)
			checkGraphError(t, env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, m), http.StatusBadRequest, "BadRequest")
		})
	}
	if ns, _ := env.Server.Notifications(context.Background(), store.Filter{Limit: 100}); len(ns) != 0 {
		t.Fatalf("refused calls left %d notifications", len(ns))
	}
	m := createMeeting(t, env, "alice")
	leg := join(t, env, env.Token, m, "organizer", false)
	leg.waitEstablished(t, m)
	r := env.Do(t, http.MethodPost, testenv.CallPath(leg.call.ID)+"/mute", env.Token, map[string]any{"clientContext": strings.Repeat("c", 257)})
	checkGraphError(t, r, http.StatusBadRequest, "BadRequest")
	if r := sim(t, env, http.MethodPost, "/meetings/"+m.ID+"/participants", map[string]any{"user": map[string]any{"id": "p", "displayName": strings.Repeat("n", 300)}}); r.Status != http.StatusBadRequest {
		t.Fatalf("simulated person with a long name: %d %s", r.Status, r.Body)
	}
}

// TestConfigurationRefused: every flag is checked at start; a bad value is
// refused with a message naming the flag and what it accepts, instead of a
// panic or a server that never delivers.
func TestConfigurationRefused(t *testing.T) {
	for _, tc := range []struct {
		flag, value, says string
	}{
		{"--delivery-max-backoff", "0", "positive"},
		{"--delivery-max", "-1", "from 1"},
		{"--retention", "5ns", "at least 1s"},
		{"--delivery-per-host", "0", "from 1"},
		{"--delivery-min-backoff", "0", "positive"},
		{"--delivery-deadline", "-1s", "positive"},
		{"--delivery-connect-timeout", "0", "positive"},
		{"--delivery-response-timeout", "0", "positive"},
		{"--delivery-slow-after", "0", "positive"},
		{"--delivery-max-slow", "0", "from 1"},
		{"--delivery-backlog", "0", "from 1"},
		{"--answer-delay", "-1s", "negative"},
		{"--teardown-delay", "-1s", "negative"},
		{"--keepalive-timeout", "-1s", "negative"},
		{"--read-timeout", "0", "positive"},
		{"--max-conns-per-client", "0", "from 1"},
		{"--max-calls-per-app", "-1", "from 0"},
		{"--public-url", "ftp://x", "http or https"},
		{"--public-url", "https://h/prefix", "without a path"},
		{"--listen", "nonsense", "host:port"},
		{"--log-level", "loud", "log-level"},
	} {
		t.Run(tc.flag+"="+tc.value, func(t *testing.T) {
			cmd := exec.Command(callplaneBinary, "serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", tc.flag, tc.value)
			cmd.Env = cleanEnv()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			done := make(chan error, 1)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 1 && exit.ExitCode() != 2 {
					t.Fatalf("exit: %v\n%s", err, out.String())
				}
			case <-ctx.Done():
				cmd.Process.Kill()
				t.Fatalf("callplane started with %s %s:\n%s", tc.flag, tc.value, out.String())
			}
			msg := out.String()
			if !strings.Contains(msg, tc.flag) || !strings.Contains(msg, tc.says) || strings.Contains(msg, "panic") {
				t.Fatalf("message %q should name %s and say %q", msg, tc.flag, tc.says)
			}
		})
	}
}

// cleanEnv is the environment without CALLPLANE_ variables, which would
// configure the server under test.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CALLPLANE_") {
			out = append(out, kv)
		}
	}
	return out
}

// TestLooseModeRefusesBrowsers: in loose mode a web page the developer has
// open must not create calls: a cross-origin POST, even a "simple" one that
// needs no preflight, and a request under a rebound name are refused.
func TestLooseModeRefusesBrowsers(t *testing.T) {
	env := testenv.Start(t, func(c *server.Config) { c.Loose = true })
	bot := testbot.Start(t)
	body := []byte(`{"callbackUri":"` + bot.URL + `","targets":[{"identity":{"user":{"id":"u"}}}],"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"}}`)
	create := func(header map[string]string) testenv.Response {
		return request(t, env, http.MethodPost, "/v1.0/communications/calls", body, header)
	}
	checkGraphError(t, create(map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"}), http.StatusForbidden, "accessDenied")
	checkGraphError(t, create(map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}), http.StatusForbidden, "accessDenied")
	checkGraphError(t, create(map[string]string{"Content-Type": "application/json", "Host": "rebound.evil.example"}), http.StatusForbidden, "accessDenied")
	checkGraphError(t, create(map[string]string{"Content-Type": "text/plain"}), http.StatusUnsupportedMediaType, "BadRequest")
	port := env.URL[strings.LastIndex(env.URL, ":"):]
	for _, ok := range []map[string]string{
		{"Content-Type": "application/json"},
		{"Content-Type": "application/json", "Origin": env.URL},
		{"Content-Type": "application/json", "Host": "localhost" + port},
	} {
		if r := create(ok); r.Status != http.StatusCreated {
			t.Errorf("%v: %d %s", ok, r.Status, r.Body)
		}
	}
}

// TestNonJSONBodiesRefused: in every mode a body that is not declared JSON
// gets 415; requests without a body need no content type.
func TestNonJSONBodiesRefused(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	c := env.PlaceCall(t, bot.URL)
	auth := "Bearer " + env.Token
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		r := request(t, env, http.MethodPost, "/v1.0/communications/calls", []byte(`{"callbackUri":"`+bot.URL+`"}`), map[string]string{"Authorization": auth, "Content-Type": ct})
		checkGraphError(t, r, http.StatusUnsupportedMediaType, "BadRequest")
	}
	if r := request(t, env, http.MethodPost, testenv.CallPath(c.ID)+"/keepAlive", nil, map[string]string{"Authorization": auth}); r.Status != http.StatusOK {
		t.Fatalf("keepAlive without a body or content type: %d %s", r.Status, r.Body)
	}
	if r := request(t, env, http.MethodPost, "/callplane/meetings", []byte(`{}`), map[string]string{"Authorization": "Bearer " + env.Server.Directory().AdminSecret(), "Content-Type": "text/plain"}); r.Status != http.StatusUnsupportedMediaType {
		t.Fatalf("admin API with a text/plain body: %d %s", r.Status, r.Body)
	}
}

// TestDeadBotBacklogAccountedFor: a dead bot's undelivered notifications
// are bounded by --delivery-backlog, and every notification its calls
// produced is in the deliveries listing, followed page by page: the ones
// past the backlog failed at once with the reason, the others failed after
// the retry deadline. None is missing.
func TestDeadBotBacklogAccountedFor(t *testing.T) {
	env := testenv.Start(t, func(c *server.Config) {
		c.Delivery.MaxBacklog = 4
		c.Delivery.RetryDeadline = 300 * time.Millisecond
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/api/calls"
	ln.Close()
	const calls = 5
	for range calls {
		c := env.PlaceCall(t, dead)
		env.Do(t, http.MethodDelete, testenv.CallPath(c.ID), env.Token, nil)
	}
	const produced = calls * 3 // establishing, terminating, terminated
	var all []admin.Delivery
	eventually(t, "every notification settled", func() bool {
		all = all[:0]
		for next := "?limit=4&callback=" + url.QueryEscape(dead); next != ""; {
			r := env.Do(t, http.MethodGet, "/callplane/deliveries"+next, env.Server.Directory().AdminSecret(), nil)
			var page admin.DeliveryList
			r.JSON(t, &page)
			if len(page.Value) > 4 {
				t.Fatalf("a page of %d, over its limit of 4", len(page.Value))
			}
			all = append(all, page.Value...)
			next = strings.TrimPrefix(page.NextLink, "/callplane/deliveries")
		}
		for _, d := range all {
			if d.Status == "pending" {
				return false
			}
		}
		return len(all) == produced
	})
	refused := 0
	seen := map[string]bool{}
	for _, d := range all {
		if seen[d.MessageID] {
			t.Fatalf("message %s listed twice", d.MessageID)
		}
		seen[d.MessageID] = true
		if d.Status != "failed" || d.LastError == "" {
			t.Fatalf("a notification to a dead bot: %+v", d)
		}
		if strings.Contains(d.LastError, "--delivery-backlog") {
			refused++
		}
	}
	if refused < produced-4 {
		t.Fatalf("%d of %d refused for the backlog; at most 4 may wait", refused, produced)
	}
}
