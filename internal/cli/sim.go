package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/graph"
)

// simCommands are the simulator's subcommands, noun then verb, so that the
// simulator can grow (incoming calls, key presses, faults) without crowding.
var simCommands = []struct {
	noun, verb, args, summary string
	run                       func(args []string, opts simOptions) (method, path string, body any, err error)
}{
	{"meeting", "create", "", "create a meeting; prints its join information (chatInfo, meetingInfo, join meeting id, passcode, token)", simCreateMeeting},
	{"meeting", "show", "MEETING", "show a meeting or group call and its roster", fixedPath[simOptions](http.MethodGet, "/callplane/meetings/%s")},
	{"meeting", "end", "MEETING", "end a meeting or group call: every bot's leg terminates", fixedPath[simOptions](http.MethodDelete, "/callplane/meetings/%s")},
	{"person", "add", "MEETING", "bring a simulated person into a meeting or group call", simAddPerson},
	{"person", "remove", "MEETING PARTICIPANT", "take a participant out (a bot's leg ends: removed by another participant)", fixedPath[simOptions](http.MethodDelete, "/callplane/meetings/%s/participants/%s")},
	{"person", "mute", "MEETING PARTICIPANT", "server-mute a participant", fixedPath[simOptions](http.MethodPost, "/callplane/meetings/%s/participants/%s/mute")},
	{"person", "unmute", "MEETING PARTICIPANT", "unmute a participant", fixedPath[simOptions](http.MethodPost, "/callplane/meetings/%s/participants/%s/unmute")},
	{"person", "share", "MEETING PARTICIPANT", "a person presents their screen (a content sharing session starts, or is taken over)", fixedPath[simOptions](http.MethodPost, "/callplane/meetings/%s/participants/%s/share")},
	{"person", "unshare", "MEETING PARTICIPANT", "a person stops presenting (the content sharing session ends)", fixedPath[simOptions](http.MethodPost, "/callplane/meetings/%s/participants/%s/unshare")},
	{"call", "place", "", "a person calls a bot: --from user:ID[:NAME] or phone:+E164, --to app[:CLIENT_ID] or phone:+E164; prints the call id", simPlaceCall},
	{"call", "show", "CALL", "show the simulator's side of a call: the remote party, the state, the outcome, and its timeline", fixedPath[simOptions](http.MethodGet, "/callplane/calls/%s")},
	{"call", "timeline", "CALL", "print a call's timeline: the bot's requests, the notifications and their acknowledgements, the person's actions", fixedPath[simOptions](http.MethodGet, "/callplane/calls/%s/timeline")},
	{"call", "hangup", "CALL", "the remote party hangs up", fixedPath[simOptions](http.MethodPost, "/callplane/calls/%s/hangup")},
	{"call", "share", "CALL", "the remote party presents their screen to the bot (a content sharing session starts, or changes)", fixedPath[simOptions](http.MethodPost, "/callplane/calls/%s/share")},
	{"call", "unshare", "CALL", "the remote party stops presenting (the content sharing session ends)", fixedPath[simOptions](http.MethodPost, "/callplane/calls/%s/unshare")},
	{"call", "tones", "CALL KEYS", "the remote party presses keys (0-9 * # A-D): the bot hears them once it subscribed to tones", simTones},
	{"call", "speak", "CALL DURATION|FILE.wav", "the remote party speaks for DURATION (2s), or speaks the WAV file: a recording that listens captures it", simSpeak},
	{"call", "drop", "CALL", "the service ends the call on its own: --code and --subcode pick the resultInfo (default 410/301005, media connectivity failure)", simDrop},
	{"fault", "add", "RULE", `add a fault rule, flat JSON (or @FILE): {"kind": "graph", "path": "/communications/calls", "status": 429, "retryAfter": 1, "times": 2}`, simAddFault},
	{"fault", "list", "", "list the fault rules in force, with how often each matched", fixedPath[simOptions](http.MethodGet, "/callplane/faults")},
	{"fault", "remove", "ID", "remove a fault rule", fixedPath[simOptions](http.MethodDelete, "/callplane/faults/%s")},
	{"fault", "clear", "", "remove every fault rule", fixedPath[simOptions](http.MethodDelete, "/callplane/faults")},
	{"people", "set", "ID", "set how a person (user id or +E164) answers: --answer auto|busy|decline|noAnswer, --delay 1.5s, --name, and what they do on their calls: --script JSON|@FILE", simSetPerson},
	{"people", "list", "", "list the people set so far", fixedPath[simOptions](http.MethodGet, "/callplane/people")},
	{"people", "remove", "ID", "forget a person: calls to them are answered after --answer-delay again", fixedPath[simOptions](http.MethodDelete, "/callplane/people/%s")},
}

// simOptions are the flags simulator commands share.
type simOptions struct {
	subject, id, name   *string
	from, to            *string
	answer, answerDelay *string
	script              *string
	code, subcode       *int
	people              *stringList
	phone               *bool
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func simUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: callplane sim <noun> <verb> [args] [flags]\n\nThe simulator plays the world around a bot: the people who call it and whom it calls, meetings, and faults.\n\n")
	for _, c := range simCommands {
		fmt.Fprintf(w, "  %-8s %-7s %-20s %s\n", c.noun, c.verb, c.args, c.summary)
	}
	fmt.Fprintf(w, "\nFlags: --data DIR, --ready-file FILE, or --url URL with --admin-secret (which callplane); meeting create: --subject, --person ID[:NAME] (repeatable);\nperson add: --id, --name, --phone.\n")
}

func runSim(args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		simUsage(stderr)
		return errUsage
	}
	for _, c := range simCommands {
		if c.noun != args[0] || c.verb != args[1] {
			continue
		}
		fs := newFlagSet("sim "+c.noun+" "+c.verb, c.summary, stderr)
		connect := adminFlags(fs)
		opts := simOptions{
			subject:     fs.String("subject", "", "meeting create: the meeting's subject"),
			id:          fs.String("id", "", "person add: the person's user id (or phone number with --phone)"),
			name:        fs.String("name", "", "person add: the person's display name"),
			phone:       fs.Bool("phone", false, "person add: the person calls in from a phone number"),
			from:        fs.String("from", "", "call place: the caller, user:ID[:NAME] or phone:+E164"),
			to:          fs.String("to", "app", "call place: the bot called, app (the dev application), app:CLIENT_ID or phone:+E164"),
			answer:      fs.String("answer", "auto", "people set: auto, busy, decline or noAnswer"),
			answerDelay: fs.String("delay", "", "people set: how long they take to answer (default: --answer-delay)"),
			script:      fs.String("script", "", `people set: their script, a JSON list of steps such as [{"on": "promptFinished", "press": "1"}], or @FILE holding it`),
			code:        fs.Int("code", 0, "call drop: the resultInfo code"),
			subcode:     fs.Int("subcode", 0, "call drop: the resultInfo subcode"),
			people:      &stringList{},
		}
		fs.Var(opts.people, "person", "meeting create: a person in the meeting from the start, ID or ID:NAME (repeatable)")
		var client *adminClient
		connectOnce := func() (*adminClient, error) {
			var err error
			client, err = connect()
			return client, err
		}
		out, err := callAdmin(fs, connectOnce, args[2:], "sim "+c.noun+" "+c.verb, c.args, func(p []string) (string, string, any, error) { return c.run(p, opts) })
		if err != nil {
			return err
		}
		switch {
		case c.noun == "call" && c.verb == "show":
			if out, err = withTimeline(client, out); err != nil {
				return err
			}
		case c.noun == "call" && c.verb == "timeline":
			return printTimeline(stdout, out)
		}
		if c.noun == "call" && c.verb == "place" {
			var v admin.CallView
			if err := json.Unmarshal(out, &v); err != nil {
				return err
			}
			out = []byte(v.ID) // one line, for CALL=$(callplane sim call place …)
		}
		if len(out) > 0 {
			_, err = fmt.Fprintf(stdout, "%s\n", strings.TrimSpace(string(out)))
		}
		return err
	}
	simUsage(stderr)
	return errUsage
}

// boolFlags are the flags of sim and app that take no value.
var boolFlags = map[string]bool{"phone": true, "json": true}

// splitArgs separates positional arguments from flags, so that both orders
// work: "sim person add MEETING --id u1" and "sim person add --id u1 MEETING".
func splitArgs(args []string) (positional, flags []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case !strings.HasPrefix(a, "-"):
			positional = append(positional, a)
		case strings.Contains(a, "=") || boolFlags[strings.TrimLeft(a, "-")]:
			flags = append(flags, a)
		default:
			flags = append(flags, a)
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return positional, flags
}

func simCreateMeeting(_ []string, o simOptions) (string, string, any, error) {
	req := admin.MeetingRequest{Subject: *o.subject}
	for _, p := range *o.people {
		id, name, _ := strings.Cut(p, ":")
		req.Participants = append(req.Participants, graph.IdentitySet{User: &graph.Identity{ID: id, DisplayName: name}})
	}
	return http.MethodPost, "/callplane/meetings", req, nil
}

func simAddPerson(args []string, o simOptions) (string, string, any, error) {
	if *o.id == "" {
		return "", "", nil, fmt.Errorf("person add needs --id")
	}
	person := &graph.Identity{ID: *o.id, DisplayName: *o.name}
	set := graph.IdentitySet{User: person}
	if *o.phone {
		set = graph.IdentitySet{Phone: person}
	}
	return http.MethodPost, "/callplane/meetings/" + url.PathEscape(args[0]) + "/participants", set, nil
}

// party reads a --from or --to value, kind:ID[:NAME], as an identity set.
// A bare "app" is the dev application.
func party(flag, v string) (graph.IdentitySet, error) {
	kind, rest, _ := strings.Cut(v, ":")
	id, name, _ := strings.Cut(rest, ":")
	who := &graph.Identity{ID: id, DisplayName: name}
	switch {
	case kind == "user" && id != "":
		return graph.IdentitySet{User: who}, nil
	case kind == "phone" && id != "":
		return graph.IdentitySet{Phone: &graph.Identity{ID: rest}}, nil
	case kind == "app":
		return graph.IdentitySet{Application: who}, nil // no id: the dev application
	}
	return graph.IdentitySet{}, fmt.Errorf("--%s %q: want user:ID[:NAME], phone:+E164 or app[:CLIENT_ID]", flag, v)
}

func simPlaceCall(_ []string, o simOptions) (string, string, any, error) {
	if *o.from == "" {
		return "", "", nil, fmt.Errorf("call place needs --from user:ID[:NAME] or phone:+E164")
	}
	from, err := party("from", *o.from)
	if err != nil {
		return "", "", nil, err
	}
	if from.Application != nil {
		return "", "", nil, fmt.Errorf("--from: a person calls, user:ID or phone:+E164")
	}
	to, err := party("to", *o.to)
	if err != nil {
		return "", "", nil, err
	}
	return http.MethodPost, "/callplane/calls", admin.CallRequest{From: from, To: to, RequestedModalities: []string{"audio"}}, nil
}

func simDrop(args []string, o simOptions) (string, string, any, error) {
	return http.MethodPost, "/callplane/calls/" + url.PathEscape(args[0]) + "/drop", admin.DropRequest{Code: *o.code, Subcode: *o.subcode}, nil
}

func simAddFault(args []string, _ simOptions) (string, string, any, error) {
	data, err := jsonArgument("fault add", args[0])
	if err != nil {
		return "", "", nil, err
	}
	return http.MethodPost, "/callplane/faults", json.RawMessage(data), nil
}

// jsonArgument is an argument holding JSON, or @FILE naming a file that
// holds it.
func jsonArgument(what, arg string) ([]byte, error) {
	data := []byte(arg)
	if file, ok := strings.CutPrefix(arg, "@"); ok {
		var err error
		if data, err = os.ReadFile(file); err != nil {
			return nil, fmt.Errorf("%s: %v", what, err)
		}
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("%s: not JSON: %s", what, data)
	}
	return data, nil
}

func simSetPerson(args []string, o simOptions) (string, string, any, error) {
	req := admin.PersonRequest{DisplayName: *o.name, Answer: *o.answer, AnswerDelay: *o.answerDelay}
	if script := *o.script; script != "" {
		data, err := jsonArgument("--script", script)
		if err != nil {
			return "", "", nil, err
		}
		if err := json.Unmarshal(data, &req.Script); err != nil {
			return "", "", nil, fmt.Errorf("--script: not a JSON list of steps: %v", err)
		}
	}
	return http.MethodPut, "/callplane/people/" + url.PathEscape(args[0]), req, nil
}

func simTones(args []string, _ simOptions) (string, string, any, error) {
	return http.MethodPost, "/callplane/calls/" + url.PathEscape(args[0]) + "/tones", admin.TonesRequest{Tones: args[1]}, nil
}

func simSpeak(args []string, _ simOptions) (string, string, any, error) {
	req := admin.SpeechRequest{}
	if d, err := time.ParseDuration(args[1]); err == nil {
		req.Seconds = d.Seconds()
	} else if req.Audio, err = os.ReadFile(args[1]); err != nil {
		return "", "", nil, fmt.Errorf("speak: %q is neither a duration such as 2s nor a WAV file: %v", args[1], err)
	}
	return http.MethodPost, "/callplane/calls/" + url.PathEscape(args[0]) + "/speech", req, nil
}
