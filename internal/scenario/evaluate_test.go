package scenario

import (
	"net/http"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/graph"
)

// t0 is when synthetic calls start; callID is their id.
var t0 = time.Date(2026, 3, 14, 15, 4, 5, 0, time.UTC)

const callID = "3f2a9c1e-0000-4000-8000-000000000001"

func at(seconds float64) time.Time { return t0.Add(time.Duration(seconds * float64(time.Second))) }

func request(s float64, action string, status int) admin.TimelineEntry {
	method, path := http.MethodPost, "/communications/calls/"+callID+"/"+action
	switch action {
	case "delete":
		method, path = http.MethodDelete, "/communications/calls/"+callID
	case "downloadRecording":
		method, path = http.MethodGet, "/media/recordings/r1/content"
	}
	return admin.TimelineEntry{At: at(s), Kind: admin.EntryRequest, Method: method, Path: path, Action: action, Status: status}
}

// notification is one delivered and acknowledged with 200 after ackMs.
func notification(s float64, change, resource, message string, ackMs float64) admin.TimelineEntry {
	acked := at(s + ackMs/1000)
	return admin.TimelineEntry{At: at(s), Kind: admin.EntryNotification, MessageID: message, ChangeType: change,
		ResourceURL: resource, Delivery: "delivered", Attempts: 1, AckStatus: 200, AckedAt: &acked, AckMs: ackMs}
}

// created is the notification that rings the bot, at +0.
var created = notification(0, "created", "/communications/calls/"+callID, "m0", 10)

func pressed(s float64, keys string) admin.TimelineEntry {
	return admin.TimelineEntry{At: at(s), Kind: admin.EntryPerson, Did: "pressed", Keys: keys}
}

func hungUp(s float64) admin.TimelineEntry {
	return admin.TimelineEntry{At: at(s), Kind: admin.EntryPerson, Did: "hungUp"}
}

func endedAt(s float64) *time.Time { t := at(s); return &t }

// view is the simulator's view of a call.
func view(state, outcome string) admin.CallView {
	return admin.CallView{ID: callID, State: state, Outcome: outcome, CreatedAt: t0}
}

// botHungUp is a call the bot answered, then hung up at +7.21s.
func botHungUp() (admin.CallView, []admin.TimelineEntry) {
	v := view("terminated", "botHungUp")
	v.EndedAt = endedAt(7.21)
	return v, []admin.TimelineEntry{created, request(0.12, "answer", 202), request(7.21, "delete", 204)}
}

// oneCall is a scenario of one call, named first, with one expectation.
func oneCall(e Expectation) *Scenario {
	return &Scenario{Name: "s", File: "s.scenario.yaml", Calls: []Call{{Name: "first", From: "user:alice", To: "app", Line: 3}}, Expect: []Expectation{e}}
}

func TestEvaluateExpectations(t *testing.T) {
	hungV, hungTL := botHungUp()
	established := view("established", "answered")
	transferred := view("terminated", "transferred")
	transferred.Target = &graph.IdentitySet{Phone: &graph.Identity{ID: "+14255550199"}}
	toBob := view("terminated", "transferred")
	toBob.Target = &graph.IdentitySet{User: &graph.Identity{ID: "bob"}}
	callerHungUp := view("terminated", "callerHungUp")
	callerHungUp.EndedAt = endedAt(20)
	rejectedBusy := view("terminated", "rejected")
	rejectedBusy.Reason = "busy"
	redirected := view("terminated", "redirected")
	redirected.Target = &graph.IdentitySet{User: &graph.Identity{ID: "carol"}}
	unanswered := view("terminated", "unanswered")
	unanswered.EndedAt = endedAt(30)

	// nine notifications, two of them acknowledged late.
	var nine []admin.TimelineEntry
	nine = append(nine, created, request(0.1, "answer", 202))
	for i, ms := range []float64{20, 1820, 30, 40, 1300, 50, 60, 70} {
		nine = append(nine, notification(float64(i+1), "updated", "/communications/calls/"+callID+"/operations/op"+string(rune('1'+i)), "m"+string(rune('1'+i)), ms))
	}
	failed := nine[len(nine)-1]
	failed.Delivery, failed.AckStatus, failed.AckedAt, failed.AckMs, failed.Attempts, failed.LastError = "failed", 0, nil, 0, 3, "connection refused"
	dropped := notification(9, "updated", "/communications/calls/"+callID, "m9", 0)
	dropped.Delivery, dropped.AckStatus = "dropped", 0

	for _, tc := range []struct {
		name     string
		e        Expectation
		view     admin.CallView
		timeline []admin.TimelineEntry
		passed   bool
		detail   string
	}{
		{"answers", Expectation{Kind: Answers, Within: 2 * time.Second}, established,
			[]admin.TimelineEntry{created, request(0.12, "answer", 202)}, true, "answered after 0.12s"},
		{"answers late", Expectation{Kind: Answers, Within: 2 * time.Second}, established,
			[]admin.TimelineEntry{created, request(3.4, "answer", 202)}, false, "answered after 3.40s (limit 2s)"},
		{"answers unbounded", Expectation{Kind: Answers}, established,
			[]admin.TimelineEntry{created, request(3.4, "answer", 202)}, true, "answered after 3.40s"},
		{"answers but rejected", Expectation{Kind: Answers}, rejectedBusy,
			[]admin.TimelineEntry{created, request(0.3, "reject", 202)}, false, "the bot never answered; it rejected the call at +0.30s (reason busy)"},
		{"answers refused", Expectation{Kind: Answers}, callerHungUp,
			[]admin.TimelineEntry{created, request(0.5, "answer", 400), hungUp(20)}, false,
			"the bot never answered (answer at +0.50s was answered 400); the caller hung up at +20.00s"},
		{"answers unanswered", Expectation{Kind: Answers}, unanswered,
			[]admin.TimelineEntry{created, request(1, "answer", 400), request(2, "answer", 403)}, false,
			"the bot never answered (2 answer requests were refused, the last at +2.00s with 403); the call went unanswered and ended at +30.00s"},

		{"playsPrompt", Expectation{Kind: PlaysPrompt, AtLeast: 1}, established,
			[]admin.TimelineEntry{created, request(0.1, "answer", 202), request(0.52, "playPrompt", 202)}, true, "played a prompt at +0.52s"},
		{"playsPrompt several", Expectation{Kind: PlaysPrompt, AtLeast: 2}, established,
			[]admin.TimelineEntry{created, request(0.1, "answer", 202), request(1, "playPrompt", 202), request(4, "playPrompt", 200)}, true, "played 2 prompts, the first at +1.00s"},
		{"playsPrompt none", Expectation{Kind: PlaysPrompt, AtLeast: 1}, hungV, hungTL, false,
			"no playPrompt request; it hung up at +7.21s (DELETE answered 204)"},
		{"playsPrompt too few", Expectation{Kind: PlaysPrompt, AtLeast: 2}, hungV,
			append(hungTL[:2:2], request(1, "playPrompt", 202), request(2, "playPrompt", 400), hungTL[2]), false,
			"played 1 of the 2 prompts wanted (playPrompt at +2.00s was answered 400); it hung up at +7.21s (DELETE answered 204)"},
		{"playsPrompt all refused", Expectation{Kind: PlaysPrompt, AtLeast: 1}, established,
			[]admin.TimelineEntry{created, request(0.1, "answer", 202), request(1, "playPrompt", 400)}, false,
			"no prompt played (playPrompt at +1.00s was answered 400); it answered at +0.10s and the call was still up at the end (+30.00s)"},

		{"subscribesToTone", Expectation{Kind: SubscribesToTone}, established,
			[]admin.TimelineEntry{created, request(1, "subscribeToTone", 200)}, true, "subscribed at +1.00s"},
		{"subscribesToTone before keys", Expectation{Kind: SubscribesToTone, BeforeKeys: true}, established,
			[]admin.TimelineEntry{created, request(1, "subscribeToTone", 200), pressed(3.02, "2")}, true,
			`subscribed at +1.00s, before the caller pressed "2" at +3.02s`},
		{"subscribesToTone no keys", Expectation{Kind: SubscribesToTone, BeforeKeys: true}, established,
			[]admin.TimelineEntry{created, request(1, "subscribeToTone", 200)}, true, "subscribed at +1.00s; the caller pressed no keys"},
		{"subscribesToTone after keys", Expectation{Kind: SubscribesToTone, BeforeKeys: true}, established,
			[]admin.TimelineEntry{created, pressed(3.02, "2"), request(3.1, "subscribeToTone", 200), pressed(4, "3")}, false,
			`subscribeToTone at +3.10s came after the caller pressed "2" at +3.02s`},
		{"subscribesToTone never", Expectation{Kind: SubscribesToTone}, hungV, hungTL, false,
			"no subscribeToTone request; it hung up at +7.21s (DELETE answered 204)"},
		{"subscribesToTone refused", Expectation{Kind: SubscribesToTone}, hungV, append(hungTL[:2:2], request(1, "subscribeToTone", 400), hungTL[2]), false,
			"never subscribed to tones (subscribeToTone at +1.00s was answered 400); it hung up at +7.21s (DELETE answered 204)"},

		{"transfers", Expectation{Kind: Transfers, To: "+14255550199"}, transferred,
			[]admin.TimelineEntry{created, request(0.1, "answer", 202), request(5, "transfer", 202)}, true, "transferred at +5.00s to +14255550199"},
		{"transfers anywhere", Expectation{Kind: Transfers}, toBob,
			[]admin.TimelineEntry{created, request(0.1, "answer", 202), request(5, "transfer", 202)}, true, "transferred at +5.00s to bob"},
		{"transfers never", Expectation{Kind: Transfers, To: "+14255550199"}, hungV, hungTL, false,
			"the bot never transferred; it hung up at +7.21s (DELETE answered 204)"},
		{"transfers elsewhere", Expectation{Kind: Transfers, To: "+14255550199"}, toBob,
			[]admin.TimelineEntry{created, request(0.1, "answer", 202), request(5, "transfer", 202)}, false, "transferred at +5.00s to bob, not +14255550199"},
		{"transfers no target", Expectation{Kind: Transfers, To: "+14255550199"}, established,
			[]admin.TimelineEntry{created, request(0.1, "answer", 202), request(5, "transfer", 202)}, false,
			"transferred at +5.00s (transfer answered 202), but the simulator saw no transfer target"},

		{"records", Expectation{Kind: Records}, established,
			[]admin.TimelineEntry{created, request(4, "recordResponse", 200)}, true, "recorded (recordResponse 200 at +4.00s)"},
		{"records and downloads", Expectation{Kind: Records, Download: true}, established,
			[]admin.TimelineEntry{created, request(4, "recordResponse", 200), request(9.1, "downloadRecording", 200)}, true,
			"recorded (recordResponse 200 at +4.00s) and downloaded the recording at +9.10s"},
		{"records never downloaded", Expectation{Kind: Records, Download: true}, established,
			[]admin.TimelineEntry{created, request(4, "recordResponse", 200)}, false, "recorded (recordResponse 200 at +4.00s) but never downloaded the recording"},
		{"records download refused", Expectation{Kind: Records, Download: true}, established,
			[]admin.TimelineEntry{created, request(4, "recordResponse", 200), request(9, "downloadRecording", 404)}, false,
			"recorded (recordResponse 200 at +4.00s) but its download at +9.00s was answered 404"},
		{"records nothing", Expectation{Kind: Records}, hungV, hungTL, false, "no recordResponse request; it hung up at +7.21s (DELETE answered 204)"},
		{"records refused", Expectation{Kind: Records}, hungV, append(hungTL[:2:2], request(4, "recordResponse", 403), hungTL[2]), false,
			"never recorded (recordResponse at +4.00s was answered 403); it hung up at +7.21s (DELETE answered 204)"},

		{"hangsUp", Expectation{Kind: HangsUp}, hungV, hungTL, true, "hung up at +7.21s (DELETE answered 204)"},
		{"hangsUp never", Expectation{Kind: HangsUp}, callerHungUp,
			[]admin.TimelineEntry{created, request(0.1, "answer", 202), hungUp(20)}, false, "the bot never hung up; the caller hung up at +20.00s"},
		{"hangsUp still up", Expectation{Kind: HangsUp}, established,
			[]admin.TimelineEntry{created, request(0.1, "answer", 202), request(3, "delete", 500)}, false,
			"the bot never hung up (delete at +3.00s was answered 500); it answered at +0.10s and the call was still up at the end (+30.00s)"},

		{"keepsAlive established", Expectation{Kind: KeepsAlive}, established,
			[]admin.TimelineEntry{created, request(0.1, "answer", 202)}, true, "still established at the end (+30.00s)"},
		{"keepsAlive by requests", Expectation{Kind: KeepsAlive}, hungV,
			append(hungTL[:2:2], request(3, "keepAlive", 200), request(6, "keepAlive", 200), hungTL[2]), true,
			"2 keepAlive requests, all answered 2xx; it hung up at +7.21s (DELETE answered 204)"},
		{"keepsAlive never", Expectation{Kind: KeepsAlive}, hungV, hungTL, false,
			"it hung up at +7.21s (DELETE answered 204), and the bot sent no keepAlive"},
		{"keepsAlive refused", Expectation{Kind: KeepsAlive}, hungV,
			append(hungTL[:2:2], request(3, "keepAlive", 200), request(6, "keepAlive", 404), hungTL[2]), false,
			"it hung up at +7.21s (DELETE answered 204); keepAlive was refused (keepAlive at +6.00s was answered 404)"},

		{"acknowledges", Expectation{Kind: Acknowledges, Within: 2 * time.Second}, established,
			append(nine[:4:4], dropped), true,
			"3 notifications, all acknowledged (1 dropped by a fault rule, not counted); the slowest took 1.82s (updated /communications/calls/…/operations/op2)"},
		{"acknowledges late", Expectation{Kind: Acknowledges, Within: time.Second}, established, nine[:9], false,
			"2 of 8 notifications were not acknowledged in time: updated /communications/calls/…/operations/op2 took 1.82s (message m2)"},
		{"acknowledges failed", Expectation{Kind: Acknowledges, Within: time.Second}, established,
			append(nine[:9:9], failed), false,
			"3 of 9 notifications were not acknowledged in time: updated /communications/calls/…/operations/op8 notification failed after 3 attempts: connection refused (message m8)"},
		{"acknowledges refused", Expectation{Kind: Acknowledges}, established,
			[]admin.TimelineEntry{created, {At: at(1), Kind: admin.EntryNotification, MessageID: "m1", ChangeType: "updated", ResourceURL: "/communications/calls/" + callID, Delivery: "failed", Attempts: 1, AckStatus: 500}}, false,
			"1 of 2 notifications was not acknowledged: updated /communications/calls/… notification was answered 500 (message m1)"},

		{"rejects", Expectation{Kind: Rejects, Reason: "busy"}, rejectedBusy,
			[]admin.TimelineEntry{created, request(0.2, "reject", 202)}, true, "rejected at +0.20s (reason busy)"},
		{"rejects any reason", Expectation{Kind: Rejects}, view("terminated", "rejected"),
			[]admin.TimelineEntry{created, request(0.2, "reject", 202)}, true, "rejected at +0.20s (reason none)"},
		{"rejects other reason", Expectation{Kind: Rejects, Reason: "forbidden"}, rejectedBusy,
			[]admin.TimelineEntry{created, request(0.2, "reject", 202)}, false, "rejected at +0.20s with reason busy, not forbidden"},
		{"rejects never", Expectation{Kind: Rejects}, established,
			[]admin.TimelineEntry{created, request(0.1, "answer", 202)}, false, "the bot never rejected; it answered at +0.10s and the call was still up at the end (+30.00s)"},

		{"redirects", Expectation{Kind: Redirects}, redirected,
			[]admin.TimelineEntry{created, request(0.4, "redirect", 202)}, true, "redirected at +0.40s to carol"},
		{"redirects never", Expectation{Kind: Redirects}, hungV, append(hungTL[:2:2], request(1, "redirect", 400), hungTL[2]), false,
			"the bot never redirected (redirect at +1.00s was answered 400); it hung up at +7.21s (DELETE answered 204)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := oneCall(tc.e)
			rep := Evaluate(s, Observation{Started: t0, Ended: at(30), Calls: []ObservedCall{{Name: "first", ID: callID, View: tc.view, Timeline: tc.timeline}}})
			if len(rep.Results) != 1 {
				t.Fatalf("results = %+v, want one", rep.Results)
			}
			r := rep.Results[0]
			if r.Passed != tc.passed || r.Detail != tc.detail {
				t.Errorf("%s: passed %v, %q\nwant passed %v, %q", r.Expectation, r.Passed, r.Detail, tc.passed, tc.detail)
			}
			if r.Call != "first" || r.Expectation != tc.e.String() || r.Line != tc.e.Line {
				t.Errorf("result = %+v", r)
			}
			if rep.Passed() != tc.passed {
				t.Errorf("Passed() = %v, want %v", rep.Passed(), tc.passed)
			}
		})
	}
}

// TestEvaluateNarrowing checks that an expectation with call is about that
// call alone, that others are about every call and every meeting that
// invites the bot, and that results come in file order.
func TestEvaluateNarrowing(t *testing.T) {
	s := &Scenario{
		Name:     "s",
		Meetings: []Meeting{{Name: "standup", InviteBot: true, Line: 4}, {Name: "quiet", Line: 6}},
		Calls:    []Call{{Name: "second", From: "user:b", To: "app", Line: 9}, {Name: "first", From: "user:a", To: "app", Line: 8}},
		Expect:   []Expectation{{Kind: Answers, Line: 11}, {Kind: HangsUp, Call: "second", Line: 12}},
	}
	hungV, hungTL := botHungUp()
	var calls []ObservedCall
	for _, name := range []string{"first", "second", "standup"} {
		calls = append(calls, ObservedCall{Name: name, ID: callID, View: hungV, Timeline: hungTL})
	}
	rep := Evaluate(s, Observation{Started: t0, Ended: at(10), Calls: calls})
	var got []string
	for _, r := range rep.Results {
		got = append(got, r.Call+": "+r.Expectation)
	}
	want := []string{"standup: answers", "first: answers", "second: answers", "second: hangs up"}
	if len(got) != len(want) {
		t.Fatalf("results = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("results = %q, want %q", got, want)
			break
		}
	}
	if len(rep.Calls) != 3 || rep.Calls[0].Kind != "meeting" || rep.Calls[1].Name != "first" {
		t.Errorf("calls = %+v", rep.Calls)
	}
	if !rep.Passed() || rep.Duration != 10*time.Second {
		t.Errorf("Passed() = %v, Duration %v", rep.Passed(), rep.Duration)
	}
}

func TestEvaluateCallThatNeverReachedTheBot(t *testing.T) {
	refused := admin.TimelineEntry{At: t0, Kind: admin.EntryNotification, MessageID: "m1", ChangeType: "created",
		ResourceURL: "/communications/calls/" + callID, Delivery: "failed", Attempts: 3, LastError: "dial tcp 127.0.0.1:9100: connection refused"}
	unreached := view("terminated", "unanswered")
	for _, tc := range []struct {
		name   string
		calls  []ObservedCall
		detail string
	}{
		{"delivery failed", []ObservedCall{{Name: "first", ID: callID, View: unreached, Timeline: []admin.TimelineEntry{refused}}},
			"the call never reached the bot: its created /communications/calls/… notification failed after 3 attempts: dial tcp 127.0.0.1:9100: connection refused (message m1)"},
		{"no notification", []ObservedCall{{Name: "first", ID: callID, View: unreached}},
			"the call never reached the bot: callplane sent it no notification of the call"},
		{"never placed", nil, "the call was never placed: the run ended first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := oneCall(Expectation{Kind: Answers})
			s.Expect = append(s.Expect, Expectation{Kind: Acknowledges}, Expectation{Kind: KeepsAlive})
			rep := Evaluate(s, Observation{Started: t0, Ended: at(30), Calls: tc.calls})
			if len(rep.Results) != 3 {
				t.Fatalf("results = %+v, want 3", rep.Results)
			}
			for _, r := range rep.Results {
				if r.Passed || r.Detail != tc.detail {
					t.Errorf("%s: passed %v, %q; want failed, %q", r.Expectation, r.Passed, r.Detail, tc.detail)
				}
			}
		})
	}
}

func TestEvaluateMeetingNeverInvited(t *testing.T) {
	s := &Scenario{Name: "s", Meetings: []Meeting{{Name: "standup", InviteBot: true}}, Expect: []Expectation{{Kind: Answers}}}
	rep := Evaluate(s, Observation{Started: t0, Ended: at(1)})
	if len(rep.Results) != 1 || rep.Results[0].Passed || rep.Results[0].Detail != "the bot was never invited: the run ended first" {
		t.Errorf("results = %+v", rep.Results)
	}
	if rep.Passed() {
		t.Error("Passed() = true")
	}
}

func TestReportPassedNeedsAResult(t *testing.T) {
	if (Report{}).Passed() {
		t.Error("a report of no results passed")
	}
}

// TestFate checks what a failed expectation says happened instead, for
// each way a call can turn out.
func TestFate(t *testing.T) {
	withTarget := func(v admin.CallView, id string) admin.CallView {
		v.Target = &graph.IdentitySet{User: &graph.Identity{ID: id}}
		return v
	}
	ended := view("terminated", "calleeRefused")
	ended.EndedAt = endedAt(4)
	for _, tc := range []struct {
		view     admin.CallView
		timeline []admin.TimelineEntry
		want     string
	}{
		{view("terminated", "botHungUp"), nil, "it hung up"},
		{view("terminated", "rejected"), []admin.TimelineEntry{request(0.2, "reject", 202)}, "it rejected the call at +0.20s"},
		{withTarget(view("terminated", "redirected"), "carol"), []admin.TimelineEntry{request(0.4, "redirect", 202)}, "it redirected the call at +0.40s to carol"},
		{withTarget(view("terminated", "transferred"), "bob"), []admin.TimelineEntry{request(5, "transfer", 202)}, "it transferred the call at +5.00s to bob"},
		{view("terminated", "transferred"), nil, "it transferred the call"},
		{view("terminated", "callerHungUp"), []admin.TimelineEntry{hungUp(9)}, "the caller hung up at +9.00s"},
		{view("terminated", "callerHungUp"), []admin.TimelineEntry{request(1, "answer", 202), request(3, "playPrompt", 202)}, "the caller hung up at +3.00s"},
		{view("established", "callerHungUp"), nil, "the caller hung up"},
		{view("terminated", "unanswered"), nil, "the call went unanswered"},
		{view("established", "answered"), nil, "the call was still up at the end (+30.00s)"},
		{ended, nil, "the call ended at +4.00s (calleeRefused)"},
		{view("terminated", ""), nil, "the call ended (terminated)"},
		{view("incoming", "ringing"), nil, "the call was still incoming at the end (+30.00s)"},
	} {
		c := newCallFacts(botCall{kind: "call", name: "c"}, Observation{Ended: at(30), Calls: []ObservedCall{{Name: "c", ID: callID, View: tc.view, Timeline: tc.timeline}}})
		c.start = t0
		if got := c.fate(); got != tc.want {
			t.Errorf("%s/%s: fate = %q, want %q", tc.view.State, tc.view.Outcome, got, tc.want)
		}
	}
}
