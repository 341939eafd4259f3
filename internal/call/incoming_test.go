package call

import (
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"
)

var inTiming = Timing{AnswerDelay: time.Second, KeepAliveTimeout: 45 * time.Minute, IncomingTimeout: 15 * time.Second, RingTimeout: 60 * time.Second}

func incoming(t *testing.T, caller IdentityKind) *Call {
	t.Helper()
	c, events, err := Receive(IncomingRequest{
		Owner:       owner,
		CallbackURI: "https://bot.example/api/calling",
		Caller:      Participant{Identity: Identity{Kind: caller, ID: "alice", DisplayName: "Alice"}},
		Target:      Participant{Identity: Identity{Kind: Application, ID: owner.AppID}},
	}, t0, inTiming)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != Incoming || c.Direction != Inbound || len(events) != 1 || events[0].Change != Created || events[0].Shape != FullCall {
		t.Fatalf("received %+v with %+v", c, events)
	}
	if c.Targets[0].ParticipantID != c.MyParticipantID || c.Remote.Outcome != Ringing || !c.NextDeadline().Equal(t0.Add(15*time.Second)) {
		t.Fatalf("incoming call %+v", c)
	}
	return c
}

func shapes(events []Event) []string {
	var out []string
	for _, e := range events {
		s := string(e.Change) + "/" + string(e.State)
		if e.Result != nil {
			s += "/" + strconv.Itoa(e.Result.Code) + "." + strconv.Itoa(e.Result.Subcode)
		}
		out = append(out, s)
	}
	return out
}

func TestAnswerIncomingCall(t *testing.T) {
	c := incoming(t, User)
	ev, err := c.Answer(t0.Add(time.Second), AnswerRequest{CallbackURI: "https://bot.example/cb/1", Media: Media{Hosting: ServiceHosted}, Modalities: []Modality{Audio}}, inTiming)
	if err != nil {
		t.Fatal(err)
	}
	ev = append(ev, c.Advance(t0.Add(time.Second), inTiming)...)
	if !reflect.DeepEqual(states(ev), []State{Establishing, Established}) || c.CallbackURI != "https://bot.example/cb/1" || c.Remote.Outcome != Answered {
		t.Fatalf("answer: %v, %+v", states(ev), c)
	}
	if _, err := c.Answer(t0.Add(2*time.Second), AnswerRequest{Media: Media{Hosting: ServiceHosted}}, inTiming); !errors.Is(err, ErrNotIncoming) {
		t.Fatalf("answering twice: %v", err)
	}
	ev, _ = c.RemoteHangUp(t0.Add(time.Minute), inTiming)
	if got := shapes(ev); !reflect.DeepEqual(got, []string{"updated/terminating", "deleted/terminated/200.4521"}) || c.Remote.Outcome != CallerHungUp {
		t.Fatalf("caller hangs up: %v, outcome %s", got, c.Remote.Outcome)
	}
}

func TestIncomingCallUnanswered(t *testing.T) {
	c := incoming(t, User)
	if ev := c.Advance(t0.Add(14*time.Second), inTiming); len(ev) != 0 {
		t.Fatalf("before the window closes: %v", ev)
	}
	ev := c.Advance(t0.Add(15*time.Second), inTiming)
	if got := shapes(ev); !reflect.DeepEqual(got, []string{"deleted/terminated/408.1106"}) || c.Remote.Outcome != Unanswered {
		t.Fatalf("unanswered: %v, %s", got, c.Remote.Outcome)
	}
	if _, err := c.Answer(t0.Add(16*time.Second), AnswerRequest{Media: Media{Hosting: ServiceHosted}}, inTiming); !errors.Is(err, ErrNotFound) {
		t.Fatalf("answering after the window: %v", err)
	}
}

func TestRejectAndRedirect(t *testing.T) {
	c := incoming(t, User)
	ev, err := c.Reject(t0, RejectBusy, "https://bot.example/rejected")
	if err != nil || len(ev) != 1 || ev[0].Shape != Bare || ev[0].Change != Deleted || c.State != Terminated || c.Result != nil {
		t.Fatalf("reject: %+v %v, call %+v", ev, err, c)
	}
	if c.Remote.Outcome != Rejected || c.Remote.Reason != "busy" || c.CallbackURI != "https://bot.example/rejected" {
		t.Fatalf("rejected call: %+v", c.Remote)
	}

	r := incoming(t, Phone)
	targets := []Participant{{Identity: Identity{Kind: User, ID: "bob"}}}
	if _, err := r.Redirect(t0, nil, 0, ""); err == nil {
		t.Fatal("redirect without targets accepted")
	}
	if _, err := r.Redirect(t0, targets, 5*time.Second, ""); err == nil {
		t.Fatal("a 5 s timeout accepted (Graph: 15 to 90)")
	}
	if _, err := r.Redirect(t0, make([]Participant, 26), 0, ""); err == nil {
		t.Fatal("26 targets accepted")
	}
	ev, err = r.Redirect(t0, targets, 20*time.Second, "")
	if err != nil || len(ev) != 1 || ev[0].Shape != FullCall || r.State != Terminated || r.Remote.Outcome != Redirected {
		t.Fatalf("redirect: %+v %v", ev, err)
	}
	r.RedirectTakenBy(targets[0].Identity)
	if r.Remote.Target == nil || r.Remote.Target.ID != "bob" {
		t.Fatalf("taken by %+v", r.Remote.Target)
	}
	if _, err := r.Reject(t0, RejectNone, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reject after redirect: %v", err)
	}
}

func TestCallerGivesUp(t *testing.T) {
	c := incoming(t, Phone)
	ev, _ := c.RemoteHangUp(t0, inTiming)
	if got := shapes(ev); !reflect.DeepEqual(got, []string{"deleted/terminated/200.4097"}) || c.Remote.Outcome != CallerHungUp {
		t.Fatalf("caller gives up while ringing: %v", got)
	}
	p := incoming(t, Phone)
	p.Answer(t0, AnswerRequest{Media: Media{Hosting: ServiceHosted}}, inTiming)
	p.Advance(t0, inTiming)
	ev, _ = p.RemoteHangUp(t0.Add(time.Second), inTiming)
	if got := shapes(ev); got[len(got)-1] != "deleted/terminated/200.540000" {
		t.Fatalf("a phone caller hangs up: %v", got)
	}
}

// TestOutgoingCallToPeopleWhoDoNotAnswer: busy, declining and silent
// callees end the bot's call with 486, 603 and 408/10057.
func TestOutgoingCallToPeopleWhoDoNotAnswer(t *testing.T) {
	for mode, want := range map[AnswerMode]struct {
		after  time.Duration
		result Result
	}{
		Busy:     {0, CalleeBusy},
		Decline:  {2 * time.Second, CalleeDeclined},
		NoAnswer: {inTiming.RingTimeout, CalleeNoAnswer},
	} {
		req := request()
		req.Callee = Answering{Mode: mode, Delay: 2 * time.Second}
		c, _, err := Place(req, t0, inTiming)
		if err != nil {
			t.Fatal(err)
		}
		if !c.NextDeadline().Equal(t0.Add(want.after)) {
			t.Errorf("%s: decided at %v, want after %v", mode, c.NextDeadline().Sub(t0), want.after)
		}
		ev := c.Advance(t0.Add(want.after), inTiming)
		if last := ev[len(ev)-1]; last.State != Terminated || *last.Result != want.result || c.Remote.Outcome != CalleeRefused || c.Remote.Reason != string(mode) {
			t.Errorf("%s: %v, remote %+v", mode, shapes(ev), c.Remote)
		}
	}
	req := request()
	c, _, _ := Place(req, t0, inTiming)
	c.Advance(t0.Add(inTiming.AnswerDelay), inTiming)
	if c.State != Established || c.Remote.Outcome != Answered {
		t.Fatalf("a person who answers: %s %+v", c.State, c.Remote)
	}
}

func established(t *testing.T) *Call {
	t.Helper()
	c := incoming(t, User)
	c.Answer(t0, AnswerRequest{Media: Media{Hosting: ServiceHosted}}, inTiming)
	c.Advance(t0, inTiming)
	return c
}

func TestTransfer(t *testing.T) {
	target := TransferRequest{Target: Participant{Identity: Identity{Kind: User, ID: "carol"}}}
	c := incoming(t, User)
	if _, err := c.Transfer(t0, target, Answering{}, inTiming); !errors.Is(err, ErrNotEstablished) {
		t.Fatalf("transfer of a ringing call: %v", err)
	}

	c = established(t)
	ev, err := c.Transfer(t0, target, Answering{}, inTiming)
	if err != nil || !reflect.DeepEqual(states(ev), []State{Transferring}) {
		t.Fatalf("transfer: %v %v", ev, err)
	}
	ev = c.Advance(t0.Add(inTiming.AnswerDelay), inTiming)
	if got := shapes(ev); !reflect.DeepEqual(got, []string{"updated/transferAccepted", "deleted/terminated/0.7015"}) ||
		c.Remote.Outcome != Transferred || c.Remote.Target.ID != "carol" {
		t.Fatalf("blind transfer: %v, remote %+v", got, c.Remote)
	}

	c = established(t)
	consult := target
	consult.ReplacesCallID = "call-with-carol"
	c.Transfer(t0, consult, Answering{}, inTiming)
	ev = c.Advance(t0.Add(inTiming.AnswerDelay), inTiming)
	if last := ev[len(ev)-1]; last.TerminationReason != "AppTransferred" || last.Result != nil {
		t.Fatalf("consultative transfer ends with %+v", last)
	}

	c = established(t)
	c.Transfer(t0, consult, Answering{Mode: Busy}, inTiming)
	ev = c.Advance(t0, inTiming)
	if got := shapes(ev); !reflect.DeepEqual(got, []string{"updated/established/500.7700"}) || !ev[0].ReplacesContext || c.State != Established || c.Remote.Outcome != Answered {
		t.Fatalf("consultative transfer to a busy person: %v %+v", got, ev)
	}
	c.Transfer(t0, target, Answering{Mode: Decline, Delay: time.Second}, inTiming)
	if got := shapes(c.Advance(t0.Add(time.Second), inTiming)); !reflect.DeepEqual(got, []string{"updated/established/500.7000"}) {
		t.Fatalf("blind transfer declined: %v", got)
	}
}
