package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/pgtest"
	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// chromiumPath is the browser the console's tests drive: Debian's chromium
// package. Without it they skip, unless CALLPLANE_REQUIRE_BROWSER=1 (CI),
// when they fail. Nothing is ever downloaded.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CALLPLANE_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium is not installed: apt-get install chromium (CALLPLANE_REQUIRE_BROWSER=1 needs it)")
	}
	t.Skip("chromium is not installed: apt-get install chromium")
	return ""
}

// startBrowser starts a headless chromium that reaches loopback only, and
// returns its tab; it is closed when the test ends.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.WindowSize(1440, 960),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("lang", "en-US"),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	// The page's errors go into the test's log, until it ends.
	var (
		mu    sync.Mutex
		ended bool
	)
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			t.Logf(format, args...)
		}
	}
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	consoleCalls := chromedp.Events(ctx, runtime.ConsoleAPICalled)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			logf("page exception: %s %s", ev.ExceptionDetails.Text, describeException(ev.ExceptionDetails))
		}
	}()
	go func() {
		for ev, err := range consoleCalls {
			if err != nil {
				return
			}
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				logf("page console.%s: %s", ev.Type, strings.Join(parts, " "))
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		ended = true
		mu.Unlock()
		cancel()
		cancelAlloc()
	})
	// The first run starts the browser, on the tab's own context: a
	// deadline of its own would end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func describeException(d *runtime.ExceptionDetails) string {
	if d == nil {
		return ""
	}
	out := fmt.Sprintf("at %s:%d:%d", d.URL, d.LineNumber, d.ColumnNumber)
	if d.Exception != nil {
		out += " " + d.Exception.Description
	}
	return out
}

// within runs browser actions under a deadline.
func within(t *testing.T, ctx context.Context, d time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// evaluate runs JavaScript in the page and returns its result.
func evaluate[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// evaluateAwait runs JavaScript that gives a promise, and returns what it
// resolves to.
func evaluateAwait[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until a JavaScript condition holds in the page.
func waitFor(t *testing.T, ctx context.Context, d time.Duration, what, cond string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		t.Fatalf("waited %v for %s (%s): %v", d, what, cond, err)
	}
}

// show moves the page to a view, without a reload.
func show(t *testing.T, ctx context.Context, hash string) {
	t.Helper()
	evaluate[chromedp.Void](t, ctx, fmt.Sprintf(`location.hash = %q`, hash))
}

// screenshot saves the page as docs/console/NAME when
// CALLPLANE_SCREENSHOTS=1, so that ordinary runs leave the committed
// images alone.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("CALLPLANE_SCREENSHOTS") != "1" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved docs/console/%s", name)
}

// signInConsole signs the browser in with the admin secret, through the
// form.
func signInConsole(t *testing.T, ctx context.Context, env *testenv.Env) {
	t.Helper()
	within(t, ctx, 20*time.Second, "sign in",
		chromedp.Navigate(env.URL+"/console"),
		chromedp.WaitVisible(chromedp.ID("secret")),
		chromedp.SendKeys(chromedp.ID("secret"), env.Server.Directory().AdminSecret()),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.ID("calls-table")),
	)
	if loc := evaluate[string](t, ctx, `location.href`); strings.Contains(loc, env.Server.Directory().AdminSecret()) || !strings.HasPrefix(loc, env.URL+"/console") {
		t.Fatalf("after signing in the page is %s", loc)
	}
	if cookies := evaluate[string](t, ctx, `document.cookie`); cookies != "" {
		t.Fatalf("the page's scripts see cookies: %q (the session must be HttpOnly)", cookies)
	}
	waitFor(t, ctx, 10*time.Second, "the live stream", `document.querySelector('#live').classList.contains('on')`)
}

func rowSelector(callID string) string {
	return fmt.Sprintf(`#calls-table tr[data-call-id=%q]`, callID)
}

// TestConsoleInTheBrowser drives the console in chromium: sign in; a call
// placed through Graph appears live; the console rings the bot, which
// answers through Graph and subscribes to tones; a key pressed in the
// console reaches the bot and shows in the call's timeline; the console
// hangs up; a delivery that fails shows with its error; a meeting and a
// person set through the admin API show in the simulator's lists, live, and
// the page sets how the person answers; a meeting and a fault rule made in
// the console show too.
func TestConsoleInTheBrowser(t *testing.T) {
	ctx := startBrowser(t)
	webhook := testbot.Start(t)
	bot := testbot.Start(t)
	failing := testbot.Start(t)
	failing.Respond(func(*http.Request, []byte) int { return http.StatusInternalServerError })
	env := testenv.Start(t, func(c *server.Config) {
		c.CallingWebhook = webhook.URL
		c.Delivery.RetryDeadline = 2 * time.Second // failing deliveries fail soon
	})
	signInConsole(t, ctx, env)
	evaluate[chromedp.Void](t, ctx, `window.__noReload = true`)

	// A call placed through Graph appears without a reload.
	placed := env.PlaceCall(t, bot.URL)
	within(t, ctx, 10*time.Second, "the placed call's row", chromedp.WaitVisible(chromedp.CSS(rowSelector(placed.ID))))
	waitFor(t, ctx, 10*time.Second, "the placed call established",
		fmt.Sprintf(`document.querySelector('%s [data-state]')?.dataset.state === 'established'`, rowSelector(placed.ID)))
	if !evaluate[bool](t, ctx, `window.__noReload === true`) {
		t.Fatal("the page reloaded")
	}

	// The console rings the bot: created reaches its webhook.
	show(t, ctx, "#/simulator")
	within(t, ctx, 10*time.Second, "the simulator", chromedp.WaitVisible(chromedp.ID("ring-submit")))
	waitFor(t, ctx, 10*time.Second, "the bots to call", `document.querySelector('#ring-to').options.length > 0`)
	within(t, ctx, 5*time.Second, "ring", chromedp.Click(chromedp.ID("ring-submit")))
	waitFor(t, ctx, 10*time.Second, "the call the console placed", `!!document.querySelector('#ring-result').dataset.callId`)
	ringing := evaluate[string](t, ctx, `document.querySelector('#ring-result').dataset.callId`)
	n := webhook.WaitAcked(t, wait, "/communications/calls/"+ringing, 1)[0]
	if n.ChangeType != "created" || n.State != "incoming" || !strings.Contains(string(n.Data), `"alice"`) {
		t.Fatalf("the webhook got %s/%s %s", n.ChangeType, n.State, n.Data)
	}

	// The bot answers and subscribes to tones, through Graph.
	if r := env.Do(t, http.MethodPost, testenv.CallPath(ringing)+"/answer", env.Token, map[string]any{
		"callbackUri": bot.URL, "acceptedModalities": []string{"audio"},
		"mediaConfig": map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
	}); r.Status != http.StatusAccepted {
		t.Fatalf("answer: %d %s", r.Status, r.Body)
	}
	bot.WaitAcked(t, wait, "/communications/calls/"+ringing, 2)
	if r := env.Do(t, http.MethodPost, testenv.CallPath(ringing)+"/subscribeToTone", env.Token, map[string]any{}); r.Status != http.StatusOK {
		t.Fatalf("subscribeToTone: %d %s", r.Status, r.Body)
	}

	// Its page: press 5; the tone reaches the bot and the timeline.
	show(t, ctx, "#/calls/"+ringing)
	within(t, ctx, 10*time.Second, "the call's controls",
		chromedp.WaitVisible(chromedp.ID("press-keys")),
		chromedp.SendKeys(chromedp.ID("keys"), "5"),
		chromedp.Click(chromedp.ID("press-keys")))
	bot.Wait(t, wait, "the tone", func(all []testbot.Notification) bool {
		for _, n := range all {
			if strings.Contains(string(n.Data), `"tone":"tone5"`) {
				return true
			}
		}
		return false
	})
	within(t, ctx, 10*time.Second, "the tone in the timeline",
		chromedp.WaitVisible(chromedp.CSS(`#timeline li[data-entry-kind="notification"][data-tone="tone5"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#timeline li[data-entry-kind="request"][data-status="202"]`)), // the answer
		chromedp.WaitVisible(chromedp.CSS(`#timeline li[data-entry-kind="person"]`)))
	waitFor(t, ctx, 10*time.Second, "the callback token's claims",
		fmt.Sprintf(`(document.querySelector('#token-claims')?.textContent || '').includes(%q)`, env.Server.Directory().DefaultApplication().ClientID))
	// The bot records; the caller speaks from the console; the recording
	// plays in the page, through the session (an <audio> element sends no
	// bearer token), and that playback is no request of the bot's.
	if r := env.Do(t, http.MethodPost, testenv.CallPath(ringing)+"/recordResponse", env.Token, map[string]any{
		"playBeep": false, "maxSilenceTimeoutInSeconds": 1, "maxRecordDurationInSeconds": 30,
	}); r.Status != http.StatusOK {
		t.Fatalf("recordResponse: %d %s", r.Status, r.Body)
	}
	within(t, ctx, 10*time.Second, "speak", chromedp.Click(chromedp.ID("speak")))
	within(t, ctx, 20*time.Second, "the recording's player", chromedp.WaitVisible(chromedp.CSS(`#view tr[data-type="record"] audio`)))
	audio := evaluateAwait[string](t, ctx, `fetch(document.querySelector('#view tr[data-type="record"] audio').src).then(async r => r.status + ' ' + r.headers.get('content-type') + ' ' + (await r.arrayBuffer()).byteLength)`)
	if !strings.HasPrefix(audio, "200 audio/wav ") {
		t.Fatalf("the recording in the page: %s", audio)
	}
	seconds := evaluateAwait[float64](t, ctx, `new Promise((done) => {
		const a = document.querySelector('#view tr[data-type="record"] audio');
		a.addEventListener('loadedmetadata', () => done(a.duration), {once: true});
		a.addEventListener('error', () => done(-1), {once: true});
		a.preload = 'metadata';
		a.load();
	})`)
	if seconds < 2.5 || seconds > 3.5 { // 2 s of speech, then 1 s of silence
		t.Fatalf("the recording plays for %v s, want 3", seconds)
	}
	if tl := sim(t, env, http.MethodGet, "/calls/"+ringing+"/timeline", nil); strings.Contains(string(tl.Body), "downloadRecording") {
		t.Fatalf("the console's playback is in the bot's timeline: %s", tl.Body)
	}
	// An entry's JSON opens.
	evaluate[chromedp.Void](t, ctx, `document.querySelector('#timeline li[data-tone="tone5"] details').open = true`)
	screenshot(t, ctx, "call.png")

	// Hang up as the caller: the call ends, on the page too.
	within(t, ctx, 5*time.Second, "hang up", chromedp.Click(chromedp.ID("hangup")))
	got := bot.Wait(t, wait, "terminated", func(all []testbot.Notification) bool {
		for _, n := range testbot.Acked(all, "/communications/calls/"+ringing) {
			if n.State == "terminated" {
				return true
			}
		}
		return false
	})
	_ = got
	within(t, ctx, 10*time.Second, "the call ended on its page", chromedp.WaitVisible(chromedp.CSS(`#call-state[data-state="terminated"]`)))

	// A bot that answers 500: its delivery fails, with why.
	broken := env.PlaceCall(t, failing.URL)
	show(t, ctx, "#/deliveries")
	within(t, ctx, 20*time.Second, "the failed delivery",
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#failed-deliveries tr[data-call-id=%q][data-status="failed"]`, broken.ID))))
	reason := evaluate[string](t, ctx, fmt.Sprintf(`document.querySelector('#failed-deliveries tr[data-call-id=%q] td.reason').textContent`, broken.ID))
	if !strings.Contains(reason, "HTTP 500") {
		t.Fatalf("the failed delivery's reason: %q", reason)
	}
	screenshot(t, ctx, "deliveries.png")

	// The calls, with the failure marked on its call.
	show(t, ctx, "#/calls")
	within(t, ctx, 10*time.Second, "the calls",
		chromedp.WaitVisible(chromedp.CSS(rowSelector(ringing)+`[data-state="terminated"]`)),
		chromedp.WaitVisible(chromedp.CSS(rowSelector(broken.ID))))
	waitFor(t, ctx, 10*time.Second, "the failed delivery on its call's row",
		fmt.Sprintf(`(document.querySelector('%s')?.textContent || '').includes('delivery failed')`, rowSelector(broken.ID)))
	screenshot(t, ctx, "calls.png")

	// A meeting made through the admin API, not the page, shows in the
	// meetings listed, and follows its changes live: a person joins, it
	// opens, it ends.
	show(t, ctx, "#/simulator")
	within(t, ctx, 10*time.Second, "the simulator's lists",
		chromedp.WaitVisible(chromedp.ID("meetings-table")),
		chromedp.WaitVisible(chromedp.ID("people-table")))
	waitFor(t, ctx, 10*time.Second, "the meetings listed", `document.querySelector('#meetings-count').textContent !== ''`)
	planning := createMeeting(t, env, "carol")
	planningRow := fmt.Sprintf(`#meetings-table tr[data-meeting-id=%q]`, planning.ID)
	within(t, ctx, 10*time.Second, "the meeting made through the admin API, listed",
		chromedp.WaitVisible(chromedp.CSS(planningRow+`[data-ended="false"][data-participants="1"]`)))
	if r := sim(t, env, http.MethodPost, "/meetings/"+planning.ID+"/participants", map[string]any{"user": map[string]any{"id": "erin"}}); r.Status != http.StatusCreated {
		t.Fatalf("add a person: %d %s", r.Status, r.Body)
	}
	within(t, ctx, 10*time.Second, "the person who joined, counted",
		chromedp.WaitVisible(chromedp.CSS(planningRow+`[data-participants="2"]`)),
		chromedp.Click(chromedp.CSS(planningRow+` button.open-meeting`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`.meeting[data-meeting-id=%q] tr[data-participant-id]`, planning.ID))))
	if r := sim(t, env, http.MethodDelete, "/meetings/"+planning.ID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("end the meeting: %d %s", r.Status, r.Body)
	}
	within(t, ctx, 10*time.Second, "the meeting ended, listed and open",
		chromedp.WaitVisible(chromedp.CSS(planningRow+`[data-ended="true"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`.meeting.ended[data-meeting-id=%q]`, planning.ID))),
		chromedp.Click(chromedp.CSS(planningRow+` button.open-meeting`)))
	waitFor(t, ctx, 10*time.Second, "the ended meeting hidden", fmt.Sprintf(`!document.querySelector('.meeting[data-meeting-id=%q]')`, planning.ID))

	// A person set through the admin API shows in the people listed, with
	// how they answer and their script; the page sets how they answer.
	if r := sim(t, env, http.MethodPut, "/people/dave", map[string]any{
		"displayName": "Dave", "answer": "busy", "script": []any{map[string]any{"on": "answered", "after": "1s", "press": "1#"}},
	}); r.Status != http.StatusOK {
		t.Fatalf("set a person: %d %s", r.Status, r.Body)
	}
	daveRow := `#people-table tr[data-person-id="dave"]`
	within(t, ctx, 10*time.Second, "the person set through the admin API, listed",
		chromedp.WaitVisible(chromedp.CSS(daveRow+`[data-answer="busy"]`)))
	if script := evaluate[string](t, ctx, `document.querySelector('`+daveRow+` td.script').textContent`); script != "on answered after 1s: press 1#" {
		t.Fatalf("dave's script as listed: %q", script)
	}
	evaluate[chromedp.Void](t, ctx, `document.querySelector('`+daveRow+` select.answer').value = 'decline'`)
	within(t, ctx, 10*time.Second, "set how dave answers",
		chromedp.Click(chromedp.CSS(daveRow+` button.set-person`)),
		chromedp.WaitVisible(chromedp.CSS(daveRow+`[data-answer="decline"]`)))
	var dave admin.PersonView
	sim(t, env, http.MethodGet, "/people/dave", nil).JSON(t, &dave)
	if dave.Answer != "decline" || dave.DisplayName != "Dave" || len(dave.Script) != 1 || dave.Script[0].Press != "1#" {
		t.Fatalf("dave after the page set him: %+v", dave)
	}

	// A meeting made in the console, a person muted there, a fault rule.
	within(t, ctx, 10*time.Second, "create a meeting",
		chromedp.WaitVisible(chromedp.ID("meeting-create")),
		chromedp.Click(chromedp.ID("meeting-create")),
		chromedp.WaitVisible(chromedp.CSS(`.meeting[data-meeting-id] tr[data-participant-id]`)))
	within(t, ctx, 10*time.Second, "mute a person",
		chromedp.Click(chromedp.CSS(`.meeting[data-meeting-id] tr[data-participant-id] td.acts button`)))
	waitFor(t, ctx, 10*time.Second, "the person muted", `[...document.querySelectorAll('.meeting .badge')].some(b => b.textContent === 'muted')`)
	within(t, ctx, 10*time.Second, "add a fault rule",
		chromedp.Click(chromedp.ID("fault-add")),
		chromedp.WaitVisible(chromedp.CSS(`#faults li[data-rule-id]`)))
	screenshot(t, ctx, "simulator.png")
	within(t, ctx, 10*time.Second, "clear the fault rules",
		chromedp.Click(chromedp.ID("fault-clear")),
		chromedp.WaitVisible(chromedp.ID("no-faults")))
	var rules struct{ Value []json.RawMessage }
	sim(t, env, http.MethodGet, "/faults", nil).JSON(t, &rules)
	if len(rules.Value) != 0 {
		t.Fatalf("fault rules left: %s", rules.Value)
	}

	// Signing out ends the session.
	within(t, ctx, 10*time.Second, "sign out",
		chromedp.Click(chromedp.ID("signout")),
		chromedp.WaitVisible(chromedp.ID("secret")))
}

// TestConsoleThousandCalls measures the calls view of a tenant with 1,000
// calls: how long it takes to show them all, and how soon a new call's row
// appears.
func TestConsoleThousandCalls(t *testing.T) {
	ctx := startBrowser(t)
	bot := testbot.Start(t)
	env := testenv.Start(t)
	placeCalls(t, env, bot.URL, 1000)

	signInConsole(t, ctx, env)
	waitFor(t, ctx, 30*time.Second, "1,000 rows", `document.querySelectorAll('#calls-table tbody tr').length >= 1000`)
	// Load the console afresh: from the navigation to 1,000 rows.
	began := time.Now()
	within(t, ctx, 30*time.Second, "open the console", chromedp.Navigate(env.URL+"/console#/calls"))
	waitFor(t, ctx, 30*time.Second, "1,000 rows", `document.querySelectorAll('#calls-table tbody tr').length >= 1000`)
	render := time.Since(began)
	t.Logf("the calls view showed 1,000 calls %v after the console was opened", render.Round(time.Millisecond))

	// Count the table's DOM updates from here on.
	evaluate[chromedp.Void](t, ctx, `window.__updates = 0; new MutationObserver((ms) => { window.__updates += ms.length; }).observe(document.querySelector('#calls-table tbody'), {childList: true})`)
	created := time.Now()
	c := env.PlaceCall(t, bot.URL)
	waitFor(t, ctx, 30*time.Second, "the new call's row", fmt.Sprintf(`!!document.querySelector('%s')`, rowSelector(c.ID)))
	update := time.Since(created)
	updates := evaluate[int](t, ctx, `window.__updates`)
	t.Logf("a new call's row appeared %v after its creation (%d updates of the table body)", update.Round(time.Millisecond), updates)
	if render > 5*time.Second {
		t.Errorf("showing 1,000 calls took %v, want under 5 s", render)
	}
	if update > 5*time.Second {
		t.Errorf("a new call took %v to appear, want under 5 s", update)
	}
	if rows := evaluate[int](t, ctx, `document.querySelectorAll('#calls-table tbody tr').length`); rows != 1000 {
		t.Errorf("%d rows shown, want the newest 1,000", rows)
	}
}

// TestConsoleAcrossTheCluster: a console session made on one node of a
// cluster is good on another, and the other's event stream shows a call
// placed through the first: changes come from the store, not from the node.
func TestConsoleAcrossTheCluster(t *testing.T) {
	storeURL := pgtest.URL(t)
	a := startNode(t, storeURL, "127.0.0.1:0", t.TempDir())
	b := startNode(t, storeURL, "127.0.0.1:0", t.TempDir())
	bot := testbot.Start(t)
	noRedirects := &http.Client{Timeout: wait, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirects.PostForm(a.ready.BaseURL+"/console/signin", url.Values{"secret": {a.ready.AdminSecret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "callplane_console" {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("sign in on node a: %d %v", resp.StatusCode, resp.Header)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.ready.BaseURL+"/console/events", nil)
	req.AddCookie(session)
	stream, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("node b's event stream with node a's session: %d", stream.StatusCode)
	}
	events := make(chan [2]string, 100)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(stream.Body)
		sc.Buffer(make([]byte, 1<<20), 8<<20)
		var name string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				name = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				events <- [2]string{name, v}
			}
		}
	}()
	if ev := <-events; ev[0] != "hello" {
		t.Fatalf("first event: %v", ev)
	}
	id := placeOn(t, a, clusterToken(t, storeURL), bot.URL)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("node b's event stream ended")
			}
			if ev[0] == "calls" && strings.Contains(ev[1], `"id":"`+id+`"`) {
				return
			}
		case <-ctx.Done():
			t.Fatalf("node b's console never heard of call %s, placed through node a", id)
		}
	}
}

// placeCalls places n calls through Graph, a few at a time.
func placeCalls(t *testing.T, env *testenv.Env, callbackURI string, n int) {
	t.Helper()
	body, err := json.Marshal(testenv.CallRequest(callbackURI))
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []string
		jobs  = make(chan struct{})
		start = time.Now()
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				req, _ := http.NewRequest(http.MethodPost, env.URL+"/v1.0/communications/calls", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+env.Token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := env.Client.Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("placing %d calls: %d failed, first: %s", n, len(errs), errs[0])
	}
	t.Logf("placed %d calls in %v", n, time.Since(start).Round(time.Millisecond))
}
