package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/console"
	"github.com/callplane/callplane/internal/store"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// browser is an HTTP client with a cookie jar that does not follow
// redirects, as the tests look at them.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, method, u string, body string, header map[string]string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(data)}
}

var form = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

func signIn(t *testing.T, env *testenv.Env, c *http.Client) *http.Cookie {
	t.Helper()
	a := do(t, c, http.MethodPost, env.URL+"/console/signin", url.Values{"secret": {env.Server.Directory().AdminSecret()}}.Encode(), form)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/console" {
		t.Fatalf("sign in: %d %s %s", a.status, a.header, a.body)
	}
	var session *http.Cookie
	for _, ck := range (&http.Response{Header: a.header}).Cookies() {
		if ck.Name == "callplane_console" {
			session = ck
		}
	}
	if session == nil {
		t.Fatalf("no session cookie: %v", a.header)
	}
	return session
}

// TestSignIn: the sign-in page without a session, refusals of a wrong
// secret and of a secret in the URL, the cookie's attributes, the console
// with the session, and signing out.
func TestSignIn(t *testing.T) {
	env := testenv.Start(t)
	c := browser(t)
	page := do(t, c, http.MethodGet, env.URL+"/console", "", nil)
	if page.status != http.StatusOK || !strings.Contains(page.body, `name="secret"`) || !strings.Contains(page.body, `method="post"`) ||
		!strings.Contains(page.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("sign-in page: %d %v %s", page.status, page.header, page.body)
	}
	if a := do(t, c, http.MethodPost, env.URL+"/console/signin", "secret=wrong", form); a.status != http.StatusUnauthorized || !strings.Contains(a.body, "not the admin secret") {
		t.Fatalf("wrong secret: %d %s", a.status, a.body)
	}
	if a := do(t, c, http.MethodPost, env.URL+"/console/signin?secret=x", "", form); a.status != http.StatusBadRequest {
		t.Fatalf("secret in the URL: %d %s", a.status, a.body)
	}
	if a := do(t, c, http.MethodPost, env.URL+"/console/signin", "secret=x", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"}); a.status != http.StatusForbidden {
		t.Fatalf("sign-in from another origin: %d %s", a.status, a.body)
	}
	if a := do(t, c, http.MethodPost, env.URL+"/console/signin", strings.Repeat("x", 8<<10), form); a.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("huge form: %d %s", a.status, a.body)
	}
	session := signIn(t, env, c)
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/console" || session.Secure || session.MaxAge != 12*3600 {
		t.Fatalf("session cookie: %+v", session)
	}
	if strings.Contains(session.Value, env.Server.Directory().AdminSecret()) {
		t.Fatal("the cookie holds the secret")
	}
	page = do(t, c, http.MethodGet, env.URL+"/console", "", nil)
	if page.status != http.StatusOK || !strings.Contains(page.body, "/console/assets/js/app.js") {
		t.Fatalf("console: %d %s", page.status, page.body)
	}
	for _, asset := range []string{"js/app.js", "js/calls.js", "console.css"} {
		if a := do(t, c, http.MethodGet, env.URL+"/console/assets/"+asset, "", nil); a.status != http.StatusOK {
			t.Fatalf("%s: %d", asset, a.status)
		}
	}
	if a := do(t, c, http.MethodGet, env.URL+"/console/assets/../../callplane/faults", "", nil); a.status == http.StatusOK {
		t.Fatalf("escaping the assets: %d %s", a.status, a.body)
	}
	if a := do(t, c, http.MethodPost, env.URL+"/console/signout", "", nil); a.status != http.StatusForbidden {
		t.Fatalf("sign-out without the console's header: %d", a.status)
	}
	if a := do(t, c, http.MethodPost, env.URL+"/console/signout", "", map[string]string{"X-Callplane-Console": "1"}); a.status != http.StatusNoContent {
		t.Fatalf("sign out: %d %s", a.status, a.body)
	}
	if a := do(t, c, http.MethodGet, env.URL+"/console/api/faults", "", nil); a.status != http.StatusUnauthorized {
		t.Fatalf("after signing out: %d %s", a.status, a.body)
	}
}

// TestAPIGuards: the API forwards to the admin API with a session only,
// and a change only with the console's header, from the same origin.
func TestAPIGuards(t *testing.T) {
	env := testenv.Start(t)
	c := browser(t)
	if a := do(t, c, http.MethodGet, env.URL+"/console/api/calls", "", nil); a.status != http.StatusUnauthorized {
		t.Fatalf("no session: %d %s", a.status, a.body)
	}
	if a := do(t, c, http.MethodGet, env.URL+"/console/api/calls", "", map[string]string{"Authorization": "Bearer " + env.Server.Directory().AdminSecret()}); a.status != http.StatusUnauthorized {
		t.Fatalf("the admin secret is not a session: %d %s", a.status, a.body)
	}
	signIn(t, env, c)
	if a := do(t, c, http.MethodGet, env.URL+"/console/api/calls", "", nil); a.status != http.StatusOK || !strings.Contains(a.body, `"value":[]`) {
		t.Fatalf("list calls: %d %s", a.status, a.body)
	}
	rule := `{"kind": "token", "status": 503, "times": 1}`
	js := map[string]string{"Content-Type": "application/json", "X-Callplane-Console": "1"}
	for name, h := range map[string]map[string]string{
		"no console header": {"Content-Type": "application/json"},
		"another origin":    {"Content-Type": "application/json", "X-Callplane-Console": "1", "Origin": "http://evil.example"},
		"a cross-site page": {"Content-Type": "application/json", "X-Callplane-Console": "1", "Sec-Fetch-Site": "cross-site"},
		"a same-site page":  {"Content-Type": "application/json", "X-Callplane-Console": "1", "Sec-Fetch-Site": "same-site"},
	} {
		if a := do(t, c, http.MethodPost, env.URL+"/console/api/faults", rule, h); a.status != http.StatusForbidden || !strings.Contains(a.body, "crossSiteRequest") {
			t.Fatalf("%s: %d %s", name, a.status, a.body)
		}
	}
	u, _ := url.Parse(env.URL)
	if a := do(t, c, http.MethodPost, env.URL+"/console/api/faults", rule, map[string]string{"Content-Type": "application/json", "X-Callplane-Console": "1",
		"Origin": env.URL, "Sec-Fetch-Site": "same-origin", "Host": u.Host}); a.status != http.StatusCreated {
		t.Fatalf("add a fault rule: %d %s", a.status, a.body)
	}
	if a := do(t, c, http.MethodDelete, env.URL+"/console/api/faults", "", js); a.status != http.StatusNoContent {
		t.Fatalf("clear the rules: %d %s", a.status, a.body)
	}
	if a := do(t, c, http.MethodPost, env.URL+"/console/api/faults", "{", js); a.status != http.StatusBadRequest || !strings.Contains(a.body, `"error"`) {
		t.Fatalf("bad rule: %d %s", a.status, a.body)
	}
	if a := do(t, c, http.MethodGet, env.URL+"/console/api/nothing", "", nil); a.status != http.StatusNotFound || !strings.Contains(a.body, `"error"`) {
		t.Fatalf("unknown: %d %s", a.status, a.body)
	}
	if a := do(t, c, http.MethodGet, env.URL+"/console/nothing", "", nil); a.status != http.StatusNotFound || !strings.Contains(a.body, `"error"`) {
		t.Fatalf("unknown console path: %d %s", a.status, a.body)
	}
	if a := do(t, c, http.MethodGet, env.URL+"/console/api/calls/nope/callback-token", "", nil); a.status != http.StatusNotFound {
		t.Fatalf("token of no call: %d %s", a.status, a.body)
	}
	if a := do(t, c, http.MethodGet, env.URL+"/console/recordings/nope/nope", "", nil); a.status != http.StatusNotFound {
		t.Fatalf("recording of no call: %d %s", a.status, a.body)
	}
}

// TestSessionOnEveryNode: a session signed by one node is good on another
// with the same secret, and on none with another; expired or tampered
// sessions are refused.
func TestSessionOnEveryNode(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("Cookie") != "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	})
	a := console.New(console.Deps{Secret: "s3cret", Admin: admin, Now: clock})
	b := console.New(console.Deps{Secret: "s3cret", Admin: admin, Now: clock})
	other := console.New(console.Deps{Secret: "another", Admin: admin, Now: clock})
	signin, _ := http.NewRequest(http.MethodPost, "http://node-a/console/signin", strings.NewReader("secret=s3cret"))
	signin.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := newRecorder()
	a.ServeHTTP(rec, signin)
	cookies := (&http.Response{Header: rec.Header()}).Cookies()
	if rec.status != http.StatusSeeOther || len(cookies) != 1 {
		t.Fatalf("sign in on a: %d %v", rec.status, rec.Header())
	}
	get := func(c *console.Console, cookie *http.Cookie) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://node/console/api/calls", nil)
		req.AddCookie(cookie)
		rec := newRecorder()
		c.ServeHTTP(rec, req)
		return rec.status, rec.body.String()
	}
	if status, body := get(b, cookies[0]); status != http.StatusOK || body != `{"path":"/callplane/calls"}` {
		t.Fatalf("a's session on b: %d %s", status, body)
	}
	if status, _ := get(other, cookies[0]); status != http.StatusUnauthorized {
		t.Fatalf("a's session where the secret differs: %d", status)
	}
	tampered := *cookies[0]
	tampered.Value = strings.Replace(tampered.Value, "v1.", "v1.9", 1)
	if status, _ := get(b, &tampered); status != http.StatusUnauthorized {
		t.Fatalf("a tampered session: %d", status)
	}
	now = now.Add(12*time.Hour + time.Second)
	if status, _ := get(b, cookies[0]); status != http.StatusUnauthorized {
		t.Fatalf("a session 12 h later: %d", status)
	}
}

type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}

// countingSource counts the store queries the console makes.
type countingSource struct{ queries atomic.Int64 }

func (s *countingSource) ListCalls(ctx context.Context, f store.CallFilter) ([]*call.Call, error) {
	s.queries.Add(1)
	return nil, nil
}
func (s *countingSource) Notifications(ctx context.Context, f store.Filter) ([]store.Notification, error) {
	s.queries.Add(1)
	return nil, nil
}
func (s *countingSource) People(ctx context.Context, tenantID string) ([]call.Person, error) {
	s.queries.Add(1)
	return nil, nil
}
func (s *countingSource) ListGroups(ctx context.Context, f store.GroupFilter) ([]*call.Group, error) {
	s.queries.Add(1)
	return nil, nil
}
func (s *countingSource) GetCall(ctx context.Context, id string) (*call.Call, error) {
	return nil, store.ErrNotFound
}

// TestPollingOnlyWhileOpen: no console, no query; a stream makes the
// store be polled, and closing it stops that.
func TestPollingOnlyWhileOpen(t *testing.T) {
	src := &countingSource{}
	c := console.New(console.Deps{Secret: "s3cret", Admin: http.NotFoundHandler(), Store: src, PollEvery: 20 * time.Millisecond})
	srv := newServer(t, c)
	time.Sleep(100 * time.Millisecond)
	if n := src.queries.Load(); n != 0 {
		t.Fatalf("%d queries with no console open", n)
	}
	cl := browser(t)
	session := consoleSession(t, srv.URL, cl)
	ctx, cancel := context.WithCancel(context.Background())
	events := openEvents(t, ctx, cl, srv.URL, session)
	if ev := events.next(t); ev.name != "hello" {
		t.Fatalf("first event: %+v", ev)
	}
	deadline := time.Now().Add(5 * time.Second)
	for src.queries.Load() < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := src.queries.Load(); n < 10 {
		t.Fatalf("%d queries in a while with a console open", n)
	}
	cancel()
	events.close()
	time.Sleep(200 * time.Millisecond) // the poll under way, if any, ends
	before := src.queries.Load()
	time.Sleep(200 * time.Millisecond)
	if after := src.queries.Load(); after != before {
		t.Fatalf("still polling after the console closed: %d, then %d queries", before, after)
	}
}

// TestEventsFollowTheStore: a call placed through Graph reaches an open
// stream as its row, and its notifications as a deliveries event.
func TestEventsFollowTheStore(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	cl := browser(t)
	session := signIn(t, env, cl)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := openEvents(t, ctx, cl, env.URL, session)
	defer events.close()
	if ev := events.next(t); ev.name != "hello" {
		t.Fatalf("first event: %+v", ev)
	}
	c := env.PlaceCall(t, bot.URL)
	sawCall, sawDelivery := false, false
	for !sawCall || !sawDelivery {
		ev := events.next(t)
		switch ev.name {
		case "calls":
			var data console.CallsEvent
			if err := json.Unmarshal([]byte(ev.data), &data); err != nil {
				t.Fatal(err)
			}
			for _, row := range data.Calls {
				if row.ID == c.ID && row.Kind == "peerToPeer" && row.Direction == "outgoing" {
					sawCall = true
				}
			}
		case "deliveries":
			var data console.DeliveriesEvent
			if err := json.Unmarshal([]byte(ev.data), &data); err != nil {
				t.Fatal(err)
			}
			for _, id := range data.Calls {
				sawDelivery = sawDelivery || id == c.ID
			}
		}
	}
}

// TestEventsForMeetings: an open stream hears of a meeting made after it
// opened, with no bot in it, as its row, and of its roster's changes.
func TestEventsForMeetings(t *testing.T) {
	env := testenv.Start(t)
	secret := env.Server.Directory().AdminSecret()
	cl := browser(t)
	session := signIn(t, env, cl)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := openEvents(t, ctx, cl, env.URL, session)
	defer events.close()
	if ev := events.next(t); ev.name != "hello" {
		t.Fatalf("first event: %+v", ev)
	}
	r := env.Do(t, http.MethodPost, "/callplane/meetings", secret, map[string]any{"subject": "Sync"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create meeting: %d %s", r.Status, r.Body)
	}
	var m admin.GroupView
	r.JSON(t, &m)
	// row waits for the meeting's row with n participants.
	row := func(n int) admin.MeetingSummary {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case ev, ok := <-events.events:
				if !ok {
					t.Fatal("the event stream ended")
				}
				if ev.name != "meetings" {
					continue
				}
				var data console.MeetingsEvent
				if err := json.Unmarshal([]byte(ev.data), &data); err != nil {
					t.Fatal(err)
				}
				for _, g := range data.Meetings {
					if g.ID == m.ID && g.ParticipantsCount == n {
						return g
					}
				}
			case <-deadline:
				t.Fatalf("no meetings event with meeting %s and %d participants", m.ID, n)
			}
		}
	}
	if g := row(0); g.Kind != "meeting" || g.Subject != "Sync" || g.Ended || g.Version != 1 {
		t.Fatalf("the new meeting's row: %+v", g)
	}
	if r := env.Do(t, http.MethodPost, "/callplane/meetings/"+m.ID+"/participants", secret, map[string]any{"user": map[string]any{"id": "bob"}}); r.Status != http.StatusCreated {
		t.Fatalf("add a person: %d %s", r.Status, r.Body)
	}
	if g := row(1); g.Version != 2 {
		t.Fatalf("the meeting's row after bob joined: %+v", g)
	}
}

// TestListMeetings: the admin API's listing of meetings, a page at a time,
// filtered by whether they ended, and its refusals.
func TestListMeetings(t *testing.T) {
	env := testenv.Start(t)
	secret := env.Server.Directory().AdminSecret()
	var made []string // newest first
	for i := range 3 {
		r := env.Do(t, http.MethodPost, "/callplane/meetings", secret, map[string]any{
			"subject": fmt.Sprintf("Meeting %d", i), "participants": []any{map[string]any{"user": map[string]any{"id": "alice"}}},
		})
		if r.Status != http.StatusCreated {
			t.Fatalf("create meeting: %d %s", r.Status, r.Body)
		}
		var m admin.GroupView
		r.JSON(t, &m)
		made = append([]string{m.ID}, made...)
	}
	if r := env.Do(t, http.MethodDelete, "/callplane/meetings/"+made[1], secret, nil); r.Status != http.StatusNoContent {
		t.Fatalf("end a meeting: %d %s", r.Status, r.Body)
	}
	list := func(path string) admin.MeetingList {
		t.Helper()
		r := env.Do(t, http.MethodGet, path, secret, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		var page admin.MeetingList
		r.JSON(t, &page)
		return page
	}
	var got []string
	for next := "/callplane/meetings?limit=2"; next != ""; {
		page := list(next)
		for _, g := range page.Value {
			got = append(got, g.ID)
			if g.Kind != "meeting" || g.Subject == "" || g.CreatedAt.IsZero() || g.Version < 1 {
				t.Fatalf("row: %+v", g)
			}
			if want := g.ID != made[1]; (g.ParticipantsCount == 1) != want || g.Ended == want || (g.EndedAt == nil) != want {
				t.Fatalf("row: %+v", g)
			}
		}
		next = page.NextLink
	}
	if fmt.Sprint(got) != fmt.Sprint(made) {
		t.Fatalf("listed %v, want newest first %v", got, made)
	}
	if live := list("/callplane/meetings?ended=false"); len(live.Value) != 2 || live.Value[0].ID != made[0] || live.Value[1].ID != made[2] || live.NextLink != "" {
		t.Fatalf("live meetings: %+v", live)
	}
	if ended := list("/callplane/meetings?ended=true"); len(ended.Value) != 1 || ended.Value[0].ID != made[1] {
		t.Fatalf("ended meetings: %+v", ended)
	}
	for _, bad := range []string{"limit=0", "limit=501", "limit=x", "ended=maybe", "before=nope", "before=12_", "before=-5_abc"} {
		if r := env.Do(t, http.MethodGet, "/callplane/meetings?"+bad, secret, nil); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"badRequest"`) {
			t.Fatalf("%s: %d %s", bad, r.Status, r.Body)
		}
	}
	if r := env.Do(t, http.MethodGet, "/callplane/meetings", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("without the secret: %d", r.Status)
	}
}

// TestListCalls: the admin API's listing, a page at a time, filtered, and
// its refusals.
func TestListCalls(t *testing.T) {
	env := testenv.Start(t)
	bot := testbot.Start(t)
	secret := env.Server.Directory().AdminSecret()
	var placed []string
	for range 5 {
		placed = append([]string{env.PlaceCall(t, bot.URL).ID}, placed...)
	}
	if r := env.Do(t, http.MethodDelete, testenv.CallPath(placed[1]), env.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("hang up: %d", r.Status)
	}
	var got []string
	next := "/callplane/calls?limit=2"
	for next != "" {
		r := env.Do(t, http.MethodGet, next, secret, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", next, r.Status, r.Body)
		}
		var page admin.CallList
		r.JSON(t, &page)
		for _, c := range page.Value {
			got = append(got, c.ID)
			if c.Kind != "peerToPeer" || c.ApplicationID != env.Server.Directory().DefaultApplication().ClientID || c.Remote == nil || c.Version < 1 {
				t.Fatalf("row: %+v", c)
			}
		}
		next = page.NextLink
	}
	if fmt.Sprint(got) != fmt.Sprint(placed) {
		t.Fatalf("listed %v, want newest first %v", got, placed)
	}
	var ended admin.CallList
	env.Do(t, http.MethodGet, "/callplane/calls?state=terminated", secret, nil).JSON(t, &ended)
	if len(ended.Value) != 1 || ended.Value[0].ID != placed[1] || ended.Value[0].ResultInfo == nil {
		t.Fatalf("terminated: %+v", ended.Value)
	}
	var none admin.CallList
	env.Do(t, http.MethodGet, "/callplane/calls?app=someone-else", secret, nil).JSON(t, &none)
	if len(none.Value) != 0 {
		t.Fatalf("another app's: %+v", none.Value)
	}
	for _, bad := range []string{"limit=0", "limit=1001", "limit=x", "state=ringing", "before=nope", "before=12_", "before=-5_abc"} {
		if r := env.Do(t, http.MethodGet, "/callplane/calls?"+bad, secret, nil); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"badRequest"`) {
			t.Fatalf("%s: %d %s", bad, r.Status, r.Body)
		}
	}
	if r := env.Do(t, http.MethodGet, "/callplane/calls", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("without the secret: %d", r.Status)
	}
	var detail admin.CallDetail
	env.Do(t, http.MethodGet, "/callplane/calls/"+placed[0]+"/summary", secret, nil).JSON(t, &detail)
	if detail.ID != placed[0] || detail.Operations == nil {
		t.Fatalf("summary: %+v", detail)
	}
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// consoleSession signs in with the secret "s3cret".
func consoleSession(t *testing.T, base string, c *http.Client) *http.Cookie {
	t.Helper()
	a := do(t, c, http.MethodPost, base+"/console/signin", "secret=s3cret", form)
	for _, ck := range (&http.Response{Header: a.header}).Cookies() {
		if ck.Name == "callplane_console" {
			return ck
		}
	}
	t.Fatalf("sign in: %d %s", a.status, a.body)
	return nil
}

type sseEvent struct{ name, data string }

type eventStream struct {
	events chan sseEvent
	body   io.Closer
}

func (e *eventStream) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-e.events:
		if !ok {
			t.Fatal("the event stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event in 10 s")
	}
	return sseEvent{}
}

func (e *eventStream) close() { e.body.Close() }

func openEvents(t *testing.T, ctx context.Context, c *http.Client, base string, session *http.Cookie) *eventStream {
	t.Helper()
	return openEventsAt(t, ctx, c, base+"/console/events", session)
}

func openEventsAt(t *testing.T, ctx context.Context, c *http.Client, u string, session *http.Cookie) *eventStream {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.AddCookie(session)
	streaming := *c
	streaming.Timeout = 0
	resp, err := streaming.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %v", resp.StatusCode, resp.Header)
	}
	es := &eventStream{events: make(chan sseEvent, 100), body: resp.Body}
	go func() {
		defer close(es.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 8<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			case line == "" && ev.name != "":
				es.events <- ev
				ev = sseEvent{}
			}
		}
	}()
	return es
}
