package call

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

var (
	t0     = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	owner  = Owner{TenantID: "t", AppID: "a"}
	timing = Timing{AnswerDelay: time.Second, KeepAliveTimeout: 45 * time.Minute}
)

func request() Request {
	return Request{
		Owner:       owner,
		CallbackURI: "https://bot.example/api/calls",
		Targets:     []Participant{{Identity: Identity{Kind: User, ID: "u1"}}},
		Modalities:  []Modality{Audio},
		Media:       Media{Hosting: ServiceHosted},
	}
}

func place(t testing.TB) *Call {
	t.Helper()
	c, _, err := Place(request(), t0, timing)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func states(events []Event) []State {
	var s []State
	for _, e := range events {
		s = append(s, e.State)
	}
	return s
}

func TestPlaceStartsEstablishing(t *testing.T) {
	c, events, err := Place(request(), t0, timing)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != Establishing || c.Direction != Outgoing {
		t.Fatalf("state %s direction %s", c.State, c.Direction)
	}
	if c.ID == "" || c.ChainID == "" || c.MyParticipantID == "" || c.ID == c.ChainID {
		t.Fatalf("ids not set: %+v", c)
	}
	if want := []Event{{Change: Updated, State: Establishing}}; !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %+v, want %+v", events, want)
	}
	if c.Source.Identity != (Identity{Kind: Application, ID: owner.AppID}) {
		t.Fatalf("source defaults to the application, got %+v", c.Source.Identity)
	}
	if !c.NextDeadline().Equal(t0.Add(timing.AnswerDelay)) {
		t.Fatalf("next deadline %v, want the answer at %v", c.NextDeadline(), t0.Add(timing.AnswerDelay))
	}
}

func TestPlaceRejects(t *testing.T) {
	cases := map[string]func(*Request){
		"no callback":           func(r *Request) { r.CallbackURI = "" },
		"relative callback":     func(r *Request) { r.CallbackURI = "/api/calls" },
		"ftp callback":          func(r *Request) { r.CallbackURI = "ftp://bot.example/x" },
		"user info in callback": func(r *Request) { r.CallbackURI = "https://u:p@bot.example/x" },
		"no media config":       func(r *Request) { r.Media = Media{} },
		"no targets":            func(r *Request) { r.Targets = nil },
		"six targets": func(r *Request) {
			for range 5 {
				r.Targets = append(r.Targets, r.Targets[0])
			}
		},
		"group with a phone": func(r *Request) {
			r.Targets = append(r.Targets, Participant{Identity: Identity{Kind: Phone, ID: "+15550100"}})
		},
		"join with targets":   func(r *Request) { r.Join = &JoinInfo{Kind: ByToken, Token: "t"} },
		"join without thread": func(r *Request) { r.Targets, r.Join = nil, &JoinInfo{Kind: ByOrganizer, Organizer: Identity{ID: "o"}} },
		"join without organizer": func(r *Request) {
			r.Targets, r.Join = nil, &JoinInfo{Kind: ByOrganizer, Chat: ChatInfo{ThreadID: "19:x"}}
		},
		"join without meeting id": func(r *Request) { r.Targets, r.Join = nil, &JoinInfo{Kind: ByJoinMeetingID} },
		"join without meeting":    func(r *Request) { r.Targets, r.Join = nil, &JoinInfo{} },
		"target without id":       func(r *Request) { r.Targets[0].Identity.ID = "" },
		"application target":      func(r *Request) { r.Targets[0].Identity.Kind = Application },
		"phone without instance":  func(r *Request) { r.Targets[0].Identity = Identity{Kind: Phone, ID: "+15550100"} },
		"unknown modality":        func(r *Request) { r.Modalities = []Modality{"smell"} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			req := request()
			req.Targets = append([]Participant(nil), req.Targets...)
			mutate(&req)
			_, _, err := Place(req, t0, timing)
			var invalid *InvalidError
			if !errors.As(err, &invalid) {
				t.Fatalf("err = %v, want an InvalidError", err)
			}
		})
	}
}

func TestPlacePhoneFromApplicationInstance(t *testing.T) {
	req := request()
	req.Targets = []Participant{{Identity: Identity{Kind: Phone, ID: "+15550100"}}}
	req.Source = Participant{Identity: Identity{Kind: ApplicationInstance, ID: "instance-1"}}
	c, _, err := Place(req, t0, timing)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source.Identity.Kind != ApplicationInstance {
		t.Fatalf("source = %+v", c.Source)
	}
}

func TestCalleeAnswersAfterDelay(t *testing.T) {
	c := place(t)
	if ev := c.Advance(t0.Add(timing.AnswerDelay-time.Nanosecond), timing); len(ev) != 0 {
		t.Fatalf("answered early: %+v", ev)
	}
	ev := c.Advance(t0.Add(timing.AnswerDelay), timing)
	if !reflect.DeepEqual(states(ev), []State{Established}) || c.State != Established {
		t.Fatalf("events %+v, state %s", ev, c.State)
	}
	if ev := c.Advance(t0.Add(time.Hour/2), timing); len(ev) != 0 {
		t.Fatalf("answered twice: %+v", ev)
	}
	if !c.NextDeadline().Equal(c.KeepAliveDeadline) {
		t.Fatalf("an established call waits for its keep-alive deadline, got %v", c.NextDeadline())
	}
}

func TestHangUpThenTeardown(t *testing.T) {
	c := place(t)
	c.Advance(t0.Add(time.Second), timing)
	slow := timing
	slow.TeardownDelay = 200 * time.Millisecond
	now := t0.Add(2 * time.Second)
	ev, err := c.HangUp(now, EndedByApplication, slow)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Event{{Change: Updated, State: Terminating}}; !reflect.DeepEqual(ev, want) {
		t.Fatalf("hang-up events %+v, want %+v", ev, want)
	}
	if c.Result != nil {
		t.Fatal("result published before termination")
	}
	// Hanging up again while terminating changes nothing.
	if ev, err := c.HangUp(now, KeepAliveExpired, slow); err != nil || ev != nil {
		t.Fatalf("second hang-up: %+v, %v", ev, err)
	}
	if !c.NextDeadline().Equal(now.Add(slow.TeardownDelay)) {
		t.Fatalf("next deadline %v", c.NextDeadline())
	}
	ev = c.Advance(now.Add(slow.TeardownDelay), slow)
	want := []Event{{Change: Deleted, State: Terminated, Result: &EndedByApplication}}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("teardown events %+v, want %+v", ev, want)
	}
	if c.Result == nil || c.Result.Code != 0 || !c.EndedAt.Equal(now.Add(slow.TeardownDelay)) {
		t.Fatalf("result %+v ended %v", c.Result, c.EndedAt)
	}
	if _, err := c.HangUp(now, EndedByApplication, slow); !errors.Is(err, ErrNotFound) {
		t.Fatalf("hang-up of a terminated call: %v", err)
	}
	if !c.NextDeadline().IsZero() {
		t.Fatal("a terminated call has no deadline")
	}
	if c.VisibleTo(owner) {
		t.Fatal("a terminated call is visible")
	}
}

func TestHangUpWhileEstablishingCancelsAnswer(t *testing.T) {
	c := place(t)
	ev, _ := c.HangUp(t0, EndedByApplication, timing)
	ev = append(ev, c.Advance(t0.Add(time.Hour), timing)...)
	if !reflect.DeepEqual(states(ev), []State{Terminating, Terminated}) {
		t.Fatalf("states %v", states(ev))
	}
}

func TestKeepAliveTimeoutEndsCall(t *testing.T) {
	c := place(t)
	c.Advance(t0.Add(time.Second), timing)
	if err := c.KeepAlive(t0.Add(30*time.Minute), timing); err != nil {
		t.Fatal(err)
	}
	if ev := c.Advance(t0.Add(45*time.Minute), timing); len(ev) != 0 {
		t.Fatalf("ended despite the keep-alive: %+v", ev)
	}
	ev := c.Advance(t0.Add(75*time.Minute), timing)
	if !reflect.DeepEqual(states(ev), []State{Terminating, Terminated}) {
		t.Fatalf("states %v", states(ev))
	}
	if r := ev[1].Result; r == nil || r.Code != 408 || r.Subcode != 8537 {
		t.Fatalf("result %+v, want 408/8537", r)
	}
}

func TestVisibility(t *testing.T) {
	c := place(t)
	if !c.VisibleTo(owner) {
		t.Fatal("owner cannot see its call")
	}
	for _, o := range []Owner{{TenantID: "t", AppID: "other"}, {TenantID: "other", AppID: "a"}} {
		if c.VisibleTo(o) {
			t.Fatalf("%+v sees another owner's call", o)
		}
	}
}
