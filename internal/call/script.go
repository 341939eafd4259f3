package call

import (
	"strings"
	"time"

	"github.com/callplane/callplane/internal/ids"
)

// ScriptTrigger is an event of a call that a simulated person's script
// step waits for.
type ScriptTrigger string

const (
	OnAnswered         ScriptTrigger = "answered"
	OnPromptFinished   ScriptTrigger = "promptFinished"
	OnRecordingStarted ScriptTrigger = "recordingStarted"
	OnToneSubscribed   ScriptTrigger = "toneSubscribed"
)

// ScriptStep waits for an event, then after a delay does one thing: press
// keys, speak for a while, or hang up.
type ScriptStep struct {
	On     ScriptTrigger `json:",omitzero"`
	After  time.Duration `json:",omitzero"`
	Press  string        `json:",omitzero"`
	Speak  time.Duration `json:",omitzero"`
	Hangup bool          `json:",omitzero"`
}

// MaxScriptSteps bounds a person's script.
const MaxScriptSteps = 50

// CheckScript validates a script.
func CheckScript(steps []ScriptStep) error {
	if len(steps) > MaxScriptSteps {
		return invalid("a script has at most %d steps", MaxScriptSteps)
	}
	for i, s := range steps {
		switch s.On {
		case OnAnswered, OnPromptFinished, OnRecordingStarted, OnToneSubscribed:
		default:
			return invalid("script[%d].on must be answered, promptFinished, recordingStarted or toneSubscribed, not %q", i, string(s.On))
		}
		actions := 0
		if s.Press != "" {
			actions++
			for _, r := range s.Press {
				if _, ok := Tones[strings.ToUpper(string(r))]; !ok {
					return invalid("script[%d].press: %q is not a key", i, string(r))
				}
			}
		}
		if s.Speak != 0 {
			actions++
			if s.Speak < 0 || s.Speak > MaxRecordSeconds*time.Second {
				return invalid("script[%d].speak lasts from 0 to %d seconds", i, MaxRecordSeconds)
			}
		}
		if s.Hangup {
			actions++
		}
		if actions != 1 {
			return invalid("script[%d] does one thing: press, speak or hangup", i)
		}
		if s.After < 0 || s.After > 10*time.Minute {
			return invalid("script[%d].after must be from 0 to 10 minutes", i)
		}
	}
	return nil
}

// scriptEvent lets the person's script react to an event of the call: if
// the step waiting is for this event, its action is due after its delay.
func (c *Call) scriptEvent(now time.Time, trigger ScriptTrigger) []Event {
	r := c.Remote
	if r == nil || r.ScriptPos >= len(r.Script) || !r.ScriptDueAt.IsZero() || r.Script[r.ScriptPos].On != trigger {
		return nil
	}
	r.ScriptDueAt = now.Add(r.Script[r.ScriptPos].After)
	return nil
}

// runScript does the script step that is due, at the time it was due (a
// timer fires a little late; the person does not).
func (c *Call) runScript(_ time.Time, t Timing) []Event {
	r := c.Remote
	step := r.Script[r.ScriptPos]
	now := r.ScriptDueAt
	r.ScriptPos++
	r.ScriptDueAt = time.Time{}
	switch {
	case step.Press != "":
		ev, _ := c.PressTones(now, step.Press, t)
		return ev
	case step.Speak != 0:
		_, ev, _ := c.Speak(now, Speech{Length: step.Speak}, t)
		return ev
	default:
		ev, _ := c.remoteHangUp(now, t)
		return ev
	}
}

// Recording is what a recordResponse captured: its length, when the person
// spoke in it, and the token that downloads it.
type Recording struct {
	Length time.Duration `json:",omitzero"`
	Speech []Span        `json:",omitzero"`
	// Voiced says the speech is audio the person uploaded, which the store
	// keeps under the call and this operation; otherwise it renders as a
	// tone.
	Voiced bool   `json:",omitzero"`
	Token  string `json:",omitzero"`
	// Location is where it is downloaded (set by whoever serves it).
	Location string `json:",omitzero"`
}

// Span is a stretch of a recording, from its start.
type Span struct {
	From time.Duration `json:",omitzero"`
	To   time.Duration `json:",omitzero"`
}

func newToken() string { return ids.Secret(24) }
