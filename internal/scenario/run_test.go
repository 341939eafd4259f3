package scenario

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/graph"
)

// fakeSim is a Simulator that records what it is asked. A call it places
// ends the first time it is looked at, unless its caller stays up: then it
// lives until hung up.
type fakeSim struct {
	mu sync.Mutex
	// ops are the requests, in order: "reset", "webhook APP URL", ...
	ops []op
	// stayUp are the callers (user or phone ids) whose calls live on.
	stayUp map[string]bool
	// fail makes a request fail: by its name ("place"), or the whole
	// of it ("place bob").
	fail  map[string]error
	calls map[string]*admin.CallView
	// timelines are what Timeline answers; a call without one has rung
	// the bot and been answered.
	timelines map[string][]admin.TimelineEntry
	// requests are what PlaceCall and CreateMeeting were given.
	placed   []admin.CallRequest
	meetings []admin.MeetingRequest
	// onPlace, when set, hears of each call placed.
	onPlace chan string
}

// op is a request the fake got, and when.
type op struct {
	what string
	at   time.Time
}

func newFakeSim() *fakeSim {
	return &fakeSim{stayUp: map[string]bool{}, fail: map[string]error{}, calls: map[string]*admin.CallView{}, timelines: map[string][]admin.TimelineEntry{}}
}

func (f *fakeSim) record(format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	f.ops = append(f.ops, op{what: what, at: time.Now()})
	if err, ok := f.fail[what]; ok {
		return err
	}
	return f.fail[strings.Fields(what)[0]]
}

// names are the ops, without their times.
func (f *fakeSim) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, o := range f.ops {
		out = append(out, o.what)
	}
	return out
}

// when is when the first op starting with prefix happened.
func (f *fakeSim) when(t *testing.T, prefix string) time.Time {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range f.ops {
		if strings.HasPrefix(o.what, prefix) {
			return o.at
		}
	}
	t.Fatalf("no %q among the requests", prefix)
	return time.Time{}
}

func (f *fakeSim) Reset(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.record("reset")
}

func (f *fakeSim) SetWebhook(_ context.Context, appID, webhook string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.record("webhook %q %s", appID, webhook)
}

func (f *fakeSim) SetPerson(_ context.Context, id string, p admin.PersonRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.record("person %s %+v", id, p)
}

func (f *fakeSim) AddFault(_ context.Context, rule map[string]any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.record("fault %v", rule)
}

func (f *fakeSim) newCall(caller string) admin.CallView {
	id := fmt.Sprintf("call-%d", len(f.calls)+1)
	v := &admin.CallView{ID: id, State: "incoming", Outcome: "ringing", CreatedAt: time.Now()}
	if f.stayUp[caller] {
		// Calls that stay up get answered.
		v.State, v.Outcome = "established", "answered"
	}
	f.calls[id] = v
	return *v
}

func (f *fakeSim) PlaceCall(_ context.Context, req admin.CallRequest) (admin.CallView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	caller := identityID(&req.From)
	if err := f.record("place %s", caller); err != nil {
		return admin.CallView{}, err
	}
	f.placed = append(f.placed, req)
	v := f.newCall(caller)
	if f.onPlace != nil {
		f.onPlace <- v.ID
	}
	return v, nil
}

func (f *fakeSim) CreateMeeting(_ context.Context, req admin.MeetingRequest) (admin.GroupView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("meeting %s", req.Subject); err != nil {
		return admin.GroupView{}, err
	}
	f.meetings = append(f.meetings, req)
	return admin.GroupView{ID: fmt.Sprintf("meeting-%d", len(f.meetings)), Kind: "meeting", Subject: req.Subject}, nil
}

func (f *fakeSim) InviteApplication(_ context.Context, meetingID, appID string) (admin.CallView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("invite %s %q", meetingID, appID); err != nil {
		return admin.CallView{}, err
	}
	return f.newCall(meetingID), nil
}

func (f *fakeSim) HangUp(_ context.Context, callID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("hangup %s", callID); err != nil {
		return err
	}
	v := f.calls[callID]
	v.State, v.Outcome = "terminated", "callerHungUp"
	return nil
}

func (f *fakeSim) Call(_ context.Context, callID string) (admin.CallView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["call"]; err != nil {
		return admin.CallView{}, err
	}
	v, ok := f.calls[callID]
	if !ok {
		return admin.CallView{}, fmt.Errorf("no call %s", callID)
	}
	if v.State == "incoming" {
		// The bot answered and hung up, between two looks.
		v.State, v.Outcome = "terminated", "botHungUp"
	}
	return *v, nil
}

func (f *fakeSim) Timeline(_ context.Context, callID string) (admin.Timeline, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["timeline"]; err != nil {
		return admin.Timeline{}, err
	}
	tl, ok := f.timelines[callID]
	if !ok {
		created := f.calls[callID].CreatedAt
		tl = []admin.TimelineEntry{
			{At: created, Kind: admin.EntryNotification, ChangeType: "created", Delivery: "delivered", AckStatus: 200, MessageID: "m0"},
			{At: created.Add(50 * time.Millisecond), Kind: admin.EntryRequest, Action: "answer", Status: 202},
		}
	}
	return admin.Timeline{CallID: callID, Value: tl}, nil
}

// quick are run options for tests: a fast poll.
func quick() RunOptions { return RunOptions{Poll: 5 * time.Millisecond} }

// runCtx bounds a test's run, so that one that never ends fails instead
// of hanging.
func runCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRunAppliesTheWorldThenPlacesCallsInTime(t *testing.T) {
	s, err := Parse("order.scenario.yaml", []byte(`name: order
timeout: 5s
bot: {webhook: "http://127.0.0.1:9100/api/calling"}
people:
  - {id: alice, name: Alice, answer: busy, delay: 1s, script: [{on: answered, after: 500ms, press: "12"}, {on: promptFinished, speak: 2s}]}
  - {id: "+14255550100"}
faults:
  - {kind: graph, status: 429}
calls:
  - {name: late, from: "user:bob", at: 60ms, hangupAfter: 40ms}
  - {name: early, from: "user:alice"}
  - {name: phoned, from: "phone:+14255550100", to: "phone:+14255550123", at: 10ms}
meetings:
  - {name: standup, people: [alice, "+14255550100", carol], inviteBot: true}
expect:
  - answers: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	sim := newFakeSim()
	sim.stayUp["bob"] = true
	var log strings.Builder
	opts := quick()
	opts.Log = &log
	rep, err := Run(runCtx(t), s, sim, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []string{
		"reset",
		`webhook "" http://127.0.0.1:9100/api/calling`,
		"person alice {DisplayName:Alice Answer:busy AnswerDelay:1s Script:[{On:answered After:500ms Press:12 Speak: Hangup:false} {On:promptFinished After: Press: Speak:2s Hangup:false}]}",
		"person +14255550100 {DisplayName: Answer:auto AnswerDelay: Script:[]}",
		"fault map[kind:graph status:429]",
		"meeting standup",
		`invite meeting-1 ""`,
		"place alice",
		"place +14255550100",
		"place bob",
		"hangup call-4",
	}
	if got := sim.names(); !slices.Equal(got, want) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Each call at its time, counted from the first, due at 0; the
	// hang-up at hangupAfter from its call.
	start := sim.when(t, "place alice")
	if d := sim.when(t, "place +1425").Sub(start); d < 10*time.Millisecond {
		t.Errorf("call phoned placed %v after the start, want 10ms at least", d)
	}
	if d := sim.when(t, "place bob").Sub(start); d < 60*time.Millisecond {
		t.Errorf("call late placed %v after the start, want 60ms at least", d)
	}
	if d := sim.when(t, "hangup").Sub(sim.when(t, "place bob")); d < 40*time.Millisecond {
		t.Errorf("call late hung up %v after it was placed, want 40ms at least", d)
	}

	// Who called whom, as Graph identity sets.
	wantPlaced := []admin.CallRequest{
		{From: graph.IdentitySet{User: &graph.Identity{ID: "alice", DisplayName: "Alice"}}, To: graph.IdentitySet{Application: &graph.Identity{}}, RequestedModalities: []string{"audio"}},
		{From: graph.IdentitySet{Phone: &graph.Identity{ID: "+14255550100"}}, To: graph.IdentitySet{Phone: &graph.Identity{ID: "+14255550123"}}, RequestedModalities: []string{"audio"}},
		{From: graph.IdentitySet{User: &graph.Identity{ID: "bob"}}, To: graph.IdentitySet{Application: &graph.Identity{}}, RequestedModalities: []string{"audio"}},
	}
	for i, req := range sim.placed {
		if fmt.Sprint(identitySets(req.From, req.To)) != fmt.Sprint(identitySets(wantPlaced[i].From, wantPlaced[i].To)) || !slices.Equal(req.RequestedModalities, wantPlaced[i].RequestedModalities) {
			t.Errorf("call %d placed with %s, want %s", i, identitySets(req.From, req.To), identitySets(wantPlaced[i].From, wantPlaced[i].To))
		}
	}
	m := sim.meetings[0]
	if m.Subject != "standup" || fmt.Sprint(identitySets(m.Participants...)) != "[user alice Alice phone +14255550100  user carol ]" {
		t.Errorf("meeting created with %q %s", m.Subject, identitySets(m.Participants...))
	}

	// The report has every call, its id and its result.
	if len(rep.Results) != 4 || len(rep.Calls) != 4 {
		t.Fatalf("report: %+v", rep)
	}
	ids := map[string]string{}
	for _, c := range rep.Calls {
		ids[c.Name] = c.ID
	}
	if ids["early"] != "call-2" || ids["phoned"] != "call-3" || ids["late"] != "call-4" || ids["standup"] != "call-1" {
		t.Errorf("call ids = %v", ids)
	}
	if !rep.Passed() {
		t.Errorf("report failed: %+v", rep.Results)
	}
	for _, line := range []string{"reset callplane\n", "calling webhook of the dev application: http://127.0.0.1:9100/api/calling\n", "call late (user:bob → app) placed: id call-4\n", "call late: the caller hung up (hangupAfter 40ms)\n", "every call has ended\n"} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("log has no %q:\n%s", line, log.String())
		}
	}
}

// identitySets writes identity sets as "kind id name", to compare them.
func identitySets(sets ...graph.IdentitySet) []string {
	var out []string
	for _, s := range sets {
		for kind, id := range map[string]*graph.Identity{"user": s.User, "phone": s.Phone, "application": s.Application} {
			if id != nil {
				out = append(out, kind+" "+id.ID+" "+id.DisplayName)
			}
		}
	}
	return out
}

func TestRunTimeout(t *testing.T) {
	s := &Scenario{
		Name:    "timeout",
		Timeout: 80 * time.Millisecond,
		Calls: []Call{
			{Name: "held", From: "user:alice", To: "app"},
			{Name: "too late", From: "user:bob", To: "app", At: time.Hour},
		},
		Expect: []Expectation{{Kind: KeepsAlive}},
	}
	sim := newFakeSim()
	sim.stayUp["alice"] = true
	begun := time.Now()
	rep, err := Run(runCtx(t), s, sim, quick())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(begun); took < 80*time.Millisecond {
		t.Errorf("Run returned after %v, before the timeout", took)
	}
	if got := sim.names(); !slices.Equal(got, []string{"reset", "place alice"}) {
		t.Errorf("requests = %q: the run must neither place a call due after the timeout nor hang up at the end", got)
	}
	want := []Result{
		{Call: "held", Expectation: "keeps the call alive", Passed: true},
		{Call: "too late", Expectation: "keeps the call alive", Detail: "the call was never placed: the run ended first"},
	}
	if len(rep.Results) != 2 || !rep.Results[0].Passed || !strings.HasPrefix(rep.Results[0].Detail, "still established at the end") ||
		rep.Results[1] != want[1] {
		t.Errorf("results = %+v", rep.Results)
	}
}

// TestRunHangupOfAnEndedCall checks that a call that ended before its
// hangupAfter is not hung up, and that the run does not wait for it.
func TestRunHangupOfAnEndedCall(t *testing.T) {
	s := &Scenario{Name: "s", Timeout: time.Minute, Calls: []Call{{Name: "c", From: "user:a", To: "app", HangupAfter: 30 * time.Second}}, Expect: []Expectation{{Kind: HangsUp}}}
	sim := newFakeSim()
	if _, err := Run(runCtx(t), s, sim, quick()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := sim.names(); !slices.Equal(got, []string{"reset", "place a"}) {
		t.Errorf("requests = %q", got)
	}
}

func TestRunOverridesAndReset(t *testing.T) {
	file := Bot{Application: "file-app", Webhook: "http://file/api"}
	for _, tc := range []struct {
		name string
		bot  Bot
		opts RunOptions
		want []string
	}{
		{"file", file, RunOptions{},
			[]string{"reset", `webhook "file-app" http://file/api`, "meeting m", `invite meeting-1 "file-app"`, "place a"}},
		{"options", file, RunOptions{AppID: "opt-app", Webhook: "http://opt/api"},
			[]string{"reset", `webhook "opt-app" http://opt/api`, "meeting m", `invite meeting-1 "opt-app"`, "place a"}},
		{"app option only", file, RunOptions{AppID: "opt-app"},
			[]string{"reset", `webhook "opt-app" http://file/api`, "meeting m", `invite meeting-1 "opt-app"`, "place a"}},
		{"no webhook, no reset", Bot{}, RunOptions{NoReset: true},
			[]string{"meeting m", `invite meeting-1 ""`, "place a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Scenario{Name: "s", Timeout: time.Minute, Bot: tc.bot,
				Meetings: []Meeting{{Name: "m", InviteBot: true}},
				Calls:    []Call{{Name: "c", From: "user:a", To: "app"}},
				Expect:   []Expectation{{Kind: Answers}}}
			sim := newFakeSim()
			opts := tc.opts
			opts.Poll = time.Millisecond
			if _, err := Run(runCtx(t), s, sim, opts); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := sim.names(); !slices.Equal(got, tc.want) {
				t.Errorf("requests = %q, want %q", got, tc.want)
			}
			wantApp := cmp.Or(tc.opts.AppID, tc.bot.Application)
			if to := sim.placed[0].To.Application; to == nil || to.ID != wantApp {
				t.Errorf("call placed to %+v, want application %q", sim.placed[0].To, wantApp)
			}
		})
	}
}

func TestRunClock(t *testing.T) {
	s := &Scenario{Name: "s", Timeout: time.Minute, Calls: []Call{{Name: "c", From: "user:a", To: "app"}}, Expect: []Expectation{{Kind: Answers}}}
	ticks := []time.Time{t0, t0.Add(3 * time.Second)}
	opts := quick()
	opts.Now = func() time.Time {
		now := ticks[0]
		ticks = ticks[1:]
		return now
	}
	rep, err := Run(runCtx(t), s, newFakeSim(), opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !rep.Started.Equal(t0) || rep.Duration != 3*time.Second {
		t.Errorf("report started %v, lasted %v; want %v, 3s", rep.Started, rep.Duration, t0)
	}
}

func TestRunErrors(t *testing.T) {
	refused := errors.New("409 noCallingWebhook")
	for _, tc := range []struct {
		fail string
		want string
		// ops are the requests made, ending with the failed one and
		// the hang-up of a call left up.
		ops []string
	}{
		{"reset", "reset callplane: 409 noCallingWebhook", []string{"reset"}},
		{"webhook", `set the calling webhook of the dev application: 409 noCallingWebhook`, []string{"reset", `webhook "" http://bot/api`}},
		{"person", "set person alice: 409 noCallingWebhook", []string{"reset", `webhook "" http://bot/api`, "person alice {DisplayName: Answer:auto AnswerDelay: Script:[]}"}},
		{"fault", "add fault rule 1 (token): 409 noCallingWebhook", []string{"reset", `webhook "" http://bot/api`, "person alice {DisplayName: Answer:auto AnswerDelay: Script:[]}", "fault map[kind:token]"}},
		{"meeting", "create meeting m: 409 noCallingWebhook", nil},
		{"invite", "invite the dev application to meeting m: 409 noCallingWebhook", nil},
		{"timeline", "read the timeline of call up: 409 noCallingWebhook", nil},
	} {
		t.Run(tc.fail, func(t *testing.T) {
			s := &Scenario{Name: "s", Timeout: 50 * time.Millisecond, Bot: Bot{Webhook: "http://bot/api"},
				People:   []Person{{ID: "alice"}},
				Faults:   []map[string]any{{"kind": "token"}},
				Meetings: []Meeting{{Name: "m", InviteBot: true, At: 10 * time.Millisecond}},
				Calls:    []Call{{Name: "up", From: "user:alice", To: "app"}},
				Expect:   []Expectation{{Kind: Answers}}}
			sim := newFakeSim()
			sim.stayUp["alice"] = true
			sim.fail[tc.fail] = refused
			_, err := Run(runCtx(t), s, sim, quick())
			if !errors.Is(err, refused) || err.Error() != tc.want {
				t.Fatalf("Run error = %v, want %q", err, tc.want)
			}
			got := sim.names()
			if tc.ops != nil && !slices.Equal(got, tc.ops) {
				t.Errorf("requests = %q, want %q", got, tc.ops)
			}
			if tc.ops == nil && got[len(got)-1] != "hangup call-1" {
				t.Errorf("requests = %q: the call left up must be hung up", got)
			}
		})
	}
}

func TestRunPlaceRefused(t *testing.T) {
	s := &Scenario{Name: "s", Timeout: time.Minute, Calls: []Call{{Name: "first", From: "user:a", To: "app"}, {Name: "second", From: "user:b", To: "app:other"}}, Expect: []Expectation{{Kind: Answers}}}
	sim := newFakeSim()
	sim.stayUp["a"] = true
	refused := errors.New("404 no such application")
	sim.fail["place b"] = refused
	_, err := Run(runCtx(t), s, sim, quick())
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), "place call second (user:b → app:other)") {
		t.Fatalf("Run error = %v", err)
	}
	if got := sim.names(); !slices.Equal(got, []string{"reset", "place a", "place b", "hangup call-1"}) {
		t.Errorf("requests = %q", got)
	}
}

func TestRunCancelled(t *testing.T) {
	s := &Scenario{Name: "s", Timeout: time.Minute, Calls: []Call{{Name: "c", From: "user:a", To: "app"}}, Expect: []Expectation{{Kind: Answers}}}
	sim := newFakeSim()
	sim.stayUp["a"] = true
	sim.onPlace = make(chan string, 1)
	ctx, cancel := context.WithCancel(runCtx(t))
	done := make(chan error)
	go func() {
		_, err := Run(ctx, s, sim, quick())
		done <- err
	}()
	<-sim.onPlace
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error = %v, want context.Canceled", err)
	}
	if got := sim.names(); !slices.Equal(got, []string{"reset", "place a", "hangup call-1"}) {
		t.Errorf("requests = %q: a cancelled run hangs up its calls", got)
	}
}

// endingSim is a fakeSim on which a hang-up fails because the call ended
// just before it.
type endingSim struct{ *fakeSim }

func (s endingSim) HangUp(_ context.Context, callID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.calls[callID]
	v.State, v.Outcome = "terminated", "botHungUp"
	return errors.New("404 no such call")
}

func TestRunHangupFailures(t *testing.T) {
	s := &Scenario{Name: "s", Timeout: time.Minute, Calls: []Call{{Name: "c", From: "user:a", To: "app", HangupAfter: 10 * time.Millisecond}}, Expect: []Expectation{{Kind: HangsUp}}}

	// The call ended meanwhile: nothing to hang up, and no error.
	sim := newFakeSim()
	sim.stayUp["a"] = true
	rep, err := Run(runCtx(t), s, endingSim{sim}, quick())
	if err != nil {
		t.Fatalf("Run, the call having ended before its hang-up: %v", err)
	}
	if len(rep.Results) != 1 {
		t.Errorf("results = %+v", rep.Results)
	}

	// The call lives on: the run could not do what the file says.
	sim = newFakeSim()
	sim.stayUp["a"] = true
	refused := errors.New("500 generalException")
	sim.fail["hangup"] = refused
	if _, err := Run(runCtx(t), s, sim, quick()); !errors.Is(err, refused) || !strings.HasPrefix(err.Error(), "hang up call c: ") {
		t.Fatalf("Run error = %v, want the hang-up's", err)
	}
}

func TestRunPollFailure(t *testing.T) {
	s := &Scenario{Name: "s", Timeout: time.Minute, Calls: []Call{{Name: "c", From: "user:a", To: "app"}}, Expect: []Expectation{{Kind: HangsUp}}}
	sim := newFakeSim()
	unreachable := errors.New("connection refused")
	sim.fail["call"] = unreachable
	if _, err := Run(runCtx(t), s, sim, quick()); !errors.Is(err, unreachable) || err.Error() != "look at call c: connection refused" {
		t.Fatalf("Run error = %v", err)
	}
}

// settlingSim is a fakeSim whose calls' last notification is still being
// delivered the first looks times the timeline is read.
type settlingSim struct {
	*fakeSim
	looks int
}

func (s *settlingSim) Timeline(ctx context.Context, callID string) (admin.Timeline, error) {
	tl, err := s.fakeSim.Timeline(ctx, callID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.looks > 0 {
		s.looks--
		tl.Value = append(tl.Value, admin.TimelineEntry{Kind: admin.EntryNotification, ChangeType: "deleted", Delivery: "pending", MessageID: "m1"})
	} else {
		tl.Value = append(tl.Value, admin.TimelineEntry{Kind: admin.EntryNotification, ChangeType: "deleted", Delivery: "delivered", AckStatus: 202, MessageID: "m1"})
	}
	return tl, err
}

// TestRunWaitsForLastDeliveries checks that a call's expectations are
// judged on its deliveries once they settled, not while one is on its way.
func TestRunWaitsForLastDeliveries(t *testing.T) {
	s := &Scenario{Name: "s", Timeout: time.Minute, Calls: []Call{{Name: "c", From: "user:a", To: "app"}}, Expect: []Expectation{{Kind: Acknowledges, Within: time.Second}}}
	sim := &settlingSim{fakeSim: newFakeSim(), looks: 3}
	rep, err := Run(runCtx(t), s, sim, quick())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rep.Results) != 1 || !rep.Results[0].Passed {
		t.Errorf("results = %+v, want acknowledges passed once the pending delivery was acknowledged", rep.Results)
	}
	if sim.looks != 0 {
		t.Errorf("the run judged the call with %d looks left, while a delivery was pending", sim.looks)
	}
}
