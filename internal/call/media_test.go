package call

import (
	"reflect"
	"strconv"
	"testing"
	"time"
)

// answeredCall is an established incoming call with a simulated caller.
func answeredCall(t *testing.T, script ...ScriptStep) *Call {
	t.Helper()
	c, _, err := Receive(IncomingRequest{
		Owner: owner, CallbackURI: "https://bot.example/api/calling",
		Caller: Participant{Identity: Identity{Kind: User, ID: "alice"}},
		Target: Participant{Identity: Identity{Kind: Application, ID: owner.AppID}},
		Script: script,
	}, t0, inTiming)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Answer(t0, AnswerRequest{Media: Media{Hosting: ServiceHosted}}, inTiming); err != nil {
		t.Fatal(err)
	}
	c.Advance(t0, inTiming)
	return c
}

// finished lists the operations an event list finishes: type/status/subcode.
func finished(events []Event) []string {
	var out []string
	for _, e := range events {
		if op := e.Operation; op != nil {
			s := string(op.Type) + "/" + string(op.Status)
			if op.Result != nil {
				s += "/" + strconv.Itoa(op.Result.Subcode)
			}
			out = append(out, s)
		}
	}
	return out
}

func prompt(uri string, d time.Duration) Prompt { return Prompt{URI: uri, Length: d} }

func TestPromptPlaysForItsLength(t *testing.T) {
	c := answeredCall(t)
	op, ev, err := c.PlayPrompts(t0, []Prompt{prompt("menu.wav", 2*time.Second)}, "ctx", inTiming)
	if err != nil || op.Status != Running || len(ev) != 0 {
		t.Fatalf("play: %+v %v %v", op, ev, err)
	}
	if !c.NextDeadline().Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("next deadline %v", c.NextDeadline().Sub(t0))
	}
	if ev := c.Advance(t0.Add(1999*time.Millisecond), inTiming); len(ev) != 0 {
		t.Fatalf("finished early: %v", finished(ev))
	}
	ev = c.Advance(t0.Add(2*time.Second), inTiming)
	if got := finished(ev); !reflect.DeepEqual(got, []string{"playPrompt/completed/0"}) {
		t.Fatalf("at 2 s: %v", got)
	}
	if len(c.Remote.Heard) != 1 || c.Remote.Heard[0].Outcome != "played" {
		t.Fatalf("heard %+v", c.Remote.Heard)
	}
	if _, _, err := c.PlayPrompts(t0, make([]Prompt, 21), "", inTiming); err == nil {
		t.Fatal("21 prompts accepted")
	}
}

func TestPromptsAndRecordingQueueInOrder(t *testing.T) {
	c := answeredCall(t)
	a, _, _ := c.PlayPrompts(t0, []Prompt{prompt("a.wav", time.Second)}, "a", inTiming)
	b, _, _ := c.PlayPrompts(t0, []Prompt{prompt("b.wav", time.Second)}, "b", inTiming)
	r, _, err := c.Record(t0, RecordRequest{Spec: RecordSpec{InitialSilence: time.Second, Beep: true}}, inTiming)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, at := range []time.Duration{time.Second, 2 * time.Second, 2500 * time.Millisecond, 3500 * time.Millisecond} {
		got = append(got, finished(c.Advance(t0.Add(at), inTiming))...)
	}
	want := []string{"playPrompt/completed/0", "playPrompt/completed/0", "record/failed/8510"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	ops := map[string]Operation{}
	for _, op := range c.Operations {
		ops[op.ID] = op
	}
	if ops[a.ID].Status != Completed || ops[b.ID].Status != Completed || ops[r.ID].CompletionReason != "initialSilenceTimeout" || ops[r.ID].Recording != nil {
		t.Fatalf("operations: %+v", c.Operations)
	}
}

func TestRecordingEnds(t *testing.T) {
	start := func(t *testing.T, spec RecordSpec) *Call {
		c := answeredCall(t)
		if _, _, err := c.Record(t0, RecordRequest{Spec: spec}, inTiming); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// A stop tone, after speech.
	c := start(t, RecordSpec{StopTones: []string{"#"}})
	c.Speak(t0.Add(time.Second), Speech{Length: 10 * time.Second}, inTiming)
	ev, _ := c.PressTones(t0.Add(3*time.Second), "#", inTiming)
	op := ev[0].Operation
	if op == nil || op.Result.Subcode != 8514 || op.CompletionReason != "stopToneDetected" || op.Recording == nil || op.Recording.Length != 3*time.Second {
		t.Fatalf("stop tone: %+v", ev)
	}
	// The maximum duration, mid-speech.
	c = start(t, RecordSpec{MaxDuration: 3 * time.Second})
	c.Speak(t0.Add(time.Second), Speech{Length: 10 * time.Second}, inTiming)
	ev = c.Advance(t0.Add(3*time.Second), inTiming)
	if op := ev[0].Operation; op.Result.Code != 200 || op.Result.Subcode != 8515 || op.Recording.Length != 3*time.Second {
		t.Fatalf("max duration: %+v", op)
	}
	// Silence after speech.
	c = start(t, RecordSpec{MaxSilence: 2 * time.Second, MaxDuration: 60 * time.Second})
	c.Speak(t0.Add(time.Second), Speech{Length: time.Second}, inTiming)
	if !c.NextDeadline().Equal(t0.Add(4 * time.Second)) {
		t.Fatalf("ends at %v", c.NextDeadline().Sub(t0))
	}
	ev = c.Advance(t0.Add(4*time.Second), inTiming)
	if op := ev[0].Operation; op.Result.Subcode != 8509 || op.Recording.Length != 4*time.Second || op.Recording.Speech[0] != (Span{time.Second, 2 * time.Second}) {
		t.Fatalf("max silence: %+v", op)
	}
	if _, _, err := answeredCall(t).Record(t0, RecordRequest{Spec: RecordSpec{MaxDuration: 121 * time.Second}}, inTiming); err == nil {
		t.Fatal("a 121 s recording accepted")
	}
}

func TestTonesAfterSubscribing(t *testing.T) {
	c := answeredCall(t)
	if ev, _ := c.PressTones(t0, "9", inTiming); len(ev) != 0 {
		t.Fatalf("a tone before subscribing: %+v", ev)
	}
	c.SubscribeTones(t0, "")
	ev, err := c.PressTones(t0, "12#", inTiming)
	if err != nil || len(ev) != 3 || *ev[0].Tone != (ToneEvent{"tone1", 1}) || *ev[2].Tone != (ToneEvent{"pound", 3}) {
		t.Fatalf("tones: %+v %v", ev, err)
	}
	if _, err := c.PressTones(t0, "x", inTiming); err == nil {
		t.Fatal("x pressed")
	}
}

func TestCancelMedia(t *testing.T) {
	c := answeredCall(t)
	c.PlayPrompts(t0, []Prompt{prompt("a.wav", 5*time.Second)}, "", inTiming)
	c.Record(t0, RecordRequest{}, inTiming)
	op, ev, err := c.CancelMedia(t0.Add(time.Second), "", inTiming)
	if err != nil || op.Status != Completed {
		t.Fatal(op, err)
	}
	if got := finished(ev); !reflect.DeepEqual(got, []string{"playPrompt/failed/8508", "record/failed/8508"}) || ev[1].Operation.CompletionReason != "operationCanceled" {
		t.Fatalf("cancelled: %v", got)
	}
	if !c.NextDeadline().Equal(c.KeepAliveDeadline) {
		t.Fatal("something is still queued")
	}
}

func TestBargeIn(t *testing.T) {
	c := answeredCall(t)
	c.PlayPrompts(t0, []Prompt{prompt("long.wav", time.Minute)}, "", inTiming)
	_, ev, _ := c.Record(t0.Add(time.Second), RecordRequest{Spec: RecordSpec{BargeIn: true}}, inTiming)
	if got := finished(ev); !reflect.DeepEqual(got, []string{"playPrompt/failed/8508"}) {
		t.Fatalf("barge-in: %v", got)
	}
}

func TestSendTones(t *testing.T) {
	c := answeredCall(t)
	op, err := c.SendTones(t0, []string{"tone1", "pound"}, 50*time.Millisecond, "")
	if err != nil || op.Status != Running {
		t.Fatal(op, err)
	}
	ev := c.Advance(t0.Add(250*time.Millisecond), inTiming)
	if len(ev) != 1 || ev[0].Operation.CompletionReason != "completedSuccessfully" || ev[0].Operation.Result != nil || c.Remote.TonesReceived != "1#" {
		t.Fatalf("sent: %+v, heard %q", ev, c.Remote.TonesReceived)
	}
	if _, err := c.SendTones(t0, []string{"tone10"}, 0, ""); err == nil {
		t.Fatal("tone10 accepted")
	}
}

// TestScript: a person who presses 2 when the menu ends, speaks when the
// recording starts, and hangs up when the goodbye ends.
func TestScript(t *testing.T) {
	c := answeredCall(t,
		ScriptStep{On: OnPromptFinished, Press: "2"},
		ScriptStep{On: OnRecordingStarted, After: 100 * time.Millisecond, Speak: 2 * time.Second},
		ScriptStep{On: OnPromptFinished, Hangup: true},
	)
	c.SubscribeTones(t0, "")
	c.PlayPrompts(t0, []Prompt{prompt("menu.wav", time.Second)}, "", inTiming)
	var tones []string
	var ops []string
	now := t0
	for i := 0; i < 50 && c.State != Terminated; i++ {
		next := c.NextDeadline()
		if next.IsZero() || next.After(t0.Add(time.Minute)) {
			break
		}
		now = next
		for _, ev := range c.Advance(now, inTiming) {
			if ev.Tone != nil {
				tones = append(tones, ev.Tone.Tone)
				// The bot hears 2 and records a message.
				c.Record(now, RecordRequest{Spec: RecordSpec{MaxSilence: time.Second}}, inTiming)
			}
			if ev.Operation != nil && ev.Operation.Type == RecordResponse {
				ops = append(ops, string(ev.Operation.Status))
				c.PlayPrompts(now, []Prompt{prompt("bye.wav", time.Second)}, "", inTiming)
			}
		}
	}
	if !reflect.DeepEqual(tones, []string{"tone2"}) || !reflect.DeepEqual(ops, []string{"completed"}) || c.State != Terminated || c.Remote.Outcome != CallerHungUp {
		t.Fatalf("tones %v, recordings %v, state %s, outcome %s, script at %d", tones, ops, c.State, c.Remote.Outcome, c.Remote.ScriptPos)
	}
	if err := CheckScript([]ScriptStep{{On: "whenever", Hangup: true}}); err == nil {
		t.Fatal("an unknown trigger accepted")
	}
	if err := CheckScript([]ScriptStep{{On: OnAnswered, Press: "1", Hangup: true}}); err == nil {
		t.Fatal("a step with two actions accepted")
	}
}

// TestVoicedSpeech: the recording that hears uploaded audio says so, and
// a call keeps at most MaxVoicedRecordings of them.
func TestVoicedSpeech(t *testing.T) {
	c := answeredCall(t)
	heardBy, _, err := c.Speak(t0, Speech{Length: time.Second, Voiced: true}, inTiming)
	if err != nil || heardBy != "" || c.VoicedRecordings != 0 {
		t.Fatalf("nobody listening: heard by %q, %v, %d kept", heardBy, err, c.VoicedRecordings)
	}
	now := t0
	for i := range MaxVoicedRecordings + 1 {
		op, _, err := c.Record(now, RecordRequest{Spec: RecordSpec{MaxDuration: 5 * time.Second, MaxSilence: time.Second, InitialSilence: 5 * time.Second}}, inTiming)
		if err != nil {
			t.Fatal(err)
		}
		heardBy, _, err := c.Speak(now, Speech{Length: time.Second, Voiced: true}, inTiming)
		if i == MaxVoicedRecordings {
			if err == nil {
				t.Fatalf("recording %d kept uploaded audio", i+1)
			}
			break
		}
		if err != nil || heardBy != op.ID {
			t.Fatalf("recording %d: heard by %q, %v; want %s", i+1, heardBy, err, op.ID)
		}
		now = now.Add(2 * time.Second)
		ev := c.Advance(now, inTiming)
		if len(ev) != 1 || ev[0].Operation.Recording == nil || !ev[0].Operation.Recording.Voiced {
			t.Fatalf("recording %d: %+v", i+1, ev)
		}
	}
	// Speech of the simulator's own still records.
	if heardBy, _, err := c.Speak(now, Speech{Length: time.Second}, inTiming); err != nil || heardBy == "" {
		t.Fatalf("unvoiced speech after the limit: %q, %v", heardBy, err)
	}
}

// TestMediaQueueIsBounded: a call holds at most MaxQueuedMedia waiting
// jobs; cancelling makes room again.
func TestMediaQueueIsBounded(t *testing.T) {
	c := answeredCall(t)
	for i := range MaxQueuedMedia {
		if _, _, err := c.PlayPrompts(t0, []Prompt{prompt("https://p/"+strconv.Itoa(i), time.Minute)}, "", inTiming); err != nil {
			t.Fatalf("prompt %d: %v", i+1, err)
		}
	}
	if _, _, err := c.PlayPrompts(t0, []Prompt{prompt("https://p/more", time.Minute)}, "", inTiming); err == nil {
		t.Fatalf("prompt %d queued", MaxQueuedMedia+1)
	}
	c.CancelMedia(t0, "", inTiming)
	if _, _, err := c.PlayPrompts(t0, []Prompt{prompt("https://p/again", time.Minute)}, "", inTiming); err != nil {
		t.Fatalf("after cancelling: %v", err)
	}
}

// TestWhatThePersonHeardIsBounded: a long call keeps the last prompts and
// keys the person heard, not all of them.
func TestWhatThePersonHeardIsBounded(t *testing.T) {
	c := answeredCall(t)
	now := t0
	for i := range MaxHeard + 5 {
		if _, _, err := c.PlayPrompts(now, []Prompt{prompt("https://p/"+strconv.Itoa(i), time.Second)}, "", inTiming); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
		c.Advance(now, inTiming)
	}
	if n := len(c.Remote.Heard); n != MaxHeard || c.Remote.Heard[n-1].URI != "https://p/"+strconv.Itoa(MaxHeard+4) {
		t.Fatalf("heard %d prompts, the last %+v", n, c.Remote.Heard[n-1])
	}
	tones := make([]string, MaxTonesSent)
	for i := range tones {
		tones[i] = "tone1"
	}
	for range MaxTonesHeard/MaxTonesSent + 1 {
		if _, err := c.SendTones(now, tones, 0, ""); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
		c.Advance(now, inTiming)
	}
	if n := len(c.Remote.TonesReceived); n != MaxTonesHeard {
		t.Fatalf("kept %d keys heard", n)
	}
	if _, err := c.SendTones(now, append(tones, "tone2"), 0, ""); err == nil {
		t.Fatalf("%d tones sent at once", MaxTonesSent+1)
	}
}
