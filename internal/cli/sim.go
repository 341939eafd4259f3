package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

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
}

// simOptions are the flags simulator commands share.
type simOptions struct {
	subject, id, name *string
	people            *stringList
	phone             *bool
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func simUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: callplane sim <noun> <verb> [args] [flags]\n\nThe simulator plays the world around a bot: meetings and the people in them.\n\n")
	for _, c := range simCommands {
		fmt.Fprintf(w, "  %-8s %-7s %-20s %s\n", c.noun, c.verb, c.args, c.summary)
	}
	fmt.Fprintf(w, "\nFlags: --data DIR, --url URL (which callplane); meeting create: --subject, --person ID[:NAME] (repeatable);\nperson add: --id, --name, --phone.\n")
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
			subject: fs.String("subject", "", "meeting create: the meeting's subject"),
			id:      fs.String("id", "", "person add: the person's user id (or phone number with --phone)"),
			name:    fs.String("name", "", "person add: the person's display name"),
			phone:   fs.Bool("phone", false, "person add: the person calls in from a phone number"),
			people:  &stringList{},
		}
		fs.Var(opts.people, "person", "meeting create: a person in the meeting from the start, ID or ID:NAME (repeatable)")
		out, err := callAdmin(fs, connect, args[2:], "sim "+c.noun+" "+c.verb, c.args, func(p []string) (string, string, any, error) { return c.run(p, opts) })
		if err != nil {
			return err
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
