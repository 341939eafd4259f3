package scenario

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/graph"
)

// DefaultTimeout bounds a run whose file gives no timeout.
const DefaultTimeout = 30 * time.Second

// Scenario is a parsed, checked scenario file.
type Scenario struct {
	Name, Description string
	// Timeout bounds the run, from its start.
	Timeout time.Duration
	Bot     Bot
	People  []Person
	// Faults are fault rules, as the admin API takes them.
	Faults   []map[string]any
	Meetings []Meeting
	Calls    []Call
	Expect   []Expectation
	// File is the name the scenario was parsed under.
	File string
}

// Bot is the application under test.
type Bot struct {
	// Application is its client id; "" is the dev application.
	Application string
	// Webhook, when set, becomes the application's calling webhook.
	Webhook string
}

// Person is a simulated person: how they answer and what they do on calls.
type Person struct {
	// ID is a user id or a +E164 phone number.
	ID, Name string
	// Answer is auto, busy, decline or noAnswer.
	Answer string
	Delay  time.Duration
	Script []Step
}

// Step is one step of a person's script: on an event of the call, after a
// delay, one action.
type Step struct {
	// On is answered, promptFinished, recordingStarted or toneSubscribed.
	On    string
	After time.Duration
	// Exactly one of Press (keys), Speak (for how long) and Hangup.
	Press  string
	Speak  time.Duration
	Hangup bool
}

// Meeting is a meeting created during the run.
type Meeting struct {
	Name, Subject string
	// People are the user ids (or +E164 numbers) in it from the start.
	People []string
	// InviteBot has the bot's application invited: it gets an incoming
	// call with the meeting, which the expectations are about.
	InviteBot bool
	// At is when, from the start of the run.
	At   time.Duration
	Line int
}

// Call is an incoming call to the bot.
type Call struct {
	Name string
	// From is user:ID[:NAME] or phone:+E164; To is app, app:CLIENT_ID or
	// phone:+E164, where app is the bot's application.
	From, To string
	// At is when it is placed, from the start of the run.
	At time.Duration
	// HangupAfter, when set, has the person hang up that long after
	// placing the call, if it still lives.
	HangupAfter time.Duration
	Line        int
}

// Kind is a kind of expectation, as the file names it.
type Kind string

// The kinds of expectation.
const (
	Answers          Kind = "answers"
	PlaysPrompt      Kind = "playsPrompt"
	SubscribesToTone Kind = "subscribesToTone"
	Transfers        Kind = "transfers"
	Records          Kind = "records"
	HangsUp          Kind = "hangsUp"
	KeepsAlive       Kind = "keepsAlive"
	Acknowledges     Kind = "acknowledges"
	Rejects          Kind = "rejects"
	Redirects        Kind = "redirects"
)

// Kinds are every kind of expectation, in the order the docs list them.
var Kinds = []Kind{Answers, PlaysPrompt, SubscribesToTone, Transfers, Records, HangsUp, KeepsAlive, Acknowledges, Rejects, Redirects}

// Expectation is something the bot must do. Which parameters apply
// depends on Kind; the others are zero.
type Expectation struct {
	Kind Kind
	// Call narrows it to the call or meeting of that name; "" is every
	// call and every meeting that invites the bot.
	Call string
	// Within bounds answers (from the ringing) and acknowledges (each
	// notification's acknowledgement); 0 is no bound.
	Within time.Duration
	// AtLeast is how many prompts playsPrompt wants.
	AtLeast int
	// BeforeKeys has subscribesToTone come before the first key pressed.
	BeforeKeys bool
	// To is whom transfers wants the call transferred to: a user id or
	// phone number; "" is anyone.
	To string
	// Download has records want the recording downloaded too.
	Download bool
	// Reason is the reject reason rejects wants (none, busy, forbidden);
	// "" is any.
	Reason string
	Line   int
}

// String says the expectation in words: "answers within 2s".
func (e Expectation) String() string {
	switch e.Kind {
	case Answers:
		if e.Within > 0 {
			return "answers within " + e.Within.String()
		}
		return "answers"
	case PlaysPrompt:
		if e.AtLeast > 1 {
			return fmt.Sprintf("plays at least %d prompts", e.AtLeast)
		}
		return "plays a prompt"
	case SubscribesToTone:
		if e.BeforeKeys {
			return "subscribes to tones before the first key press"
		}
		return "subscribes to tones"
	case Transfers:
		if e.To != "" {
			return "transfers to " + e.To
		}
		return "transfers"
	case Records:
		if e.Download {
			return "records and downloads the recording"
		}
		return "records"
	case HangsUp:
		return "hangs up"
	case KeepsAlive:
		return "keeps the call alive"
	case Acknowledges:
		if e.Within > 0 {
			return "acknowledges every notification within " + e.Within.String()
		}
		return "acknowledges every notification"
	case Rejects:
		if e.Reason != "" {
			return "rejects with reason " + e.Reason
		}
		return "rejects"
	case Redirects:
		return "redirects"
	}
	return string(e.Kind)
}

// Load reads and parses a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// party reads a call's from or to: user:ID[:NAME], phone:+E164, and for
// the callee app[:CLIENT_ID], where a bare app is bot (the bot's
// application, "" for the dev application). It cuts at the first colons,
// as callplane sim call place does.
func party(v string, callee bool, bot string) (graph.IdentitySet, error) {
	kind, rest, _ := strings.Cut(v, ":")
	switch {
	case kind == "user" && !callee:
		id, name, _ := strings.Cut(rest, ":")
		if id == "" {
			return graph.IdentitySet{}, fmt.Errorf("%q names no user: want user:ID or user:ID:NAME", v)
		}
		return graph.IdentitySet{User: &graph.Identity{ID: id, DisplayName: name}}, nil
	case kind == "phone":
		if !auth.ValidPhoneNumber(rest) {
			return graph.IdentitySet{}, fmt.Errorf("%q: %q is not an E.164 number (+ and 8 to 15 digits)", v, rest)
		}
		return graph.IdentitySet{Phone: &graph.Identity{ID: rest}}, nil
	case v == "app" && callee:
		return graph.IdentitySet{Application: &graph.Identity{ID: bot}}, nil
	case kind == "app" && callee && rest != "":
		return graph.IdentitySet{Application: &graph.Identity{ID: rest}}, nil
	}
	if callee {
		return graph.IdentitySet{}, fmt.Errorf("%q is not app, app:CLIENT_ID or phone:+E164", v)
	}
	return graph.IdentitySet{}, fmt.Errorf("%q is not user:ID[:NAME] or phone:+E164", v)
}

// person is the identity set of a meeting's participant: a phone number
// or a user, named as the scenario's people name them.
func person(id string, people []Person) graph.IdentitySet {
	who := &graph.Identity{ID: id}
	for _, p := range people {
		if p.ID == id {
			who.DisplayName = p.Name
		}
	}
	if strings.HasPrefix(id, "+") {
		return graph.IdentitySet{Phone: who}
	}
	return graph.IdentitySet{User: who}
}
