// Package cli is callplane's command line: serve, token, listen, deliveries,
// sim, app. Each flag
// can also be set by an environment variable, CALLPLANE_ and the flag's name
// in capitals with dashes as underscores (--answer-delay: CALLPLANE_ANSWER_DELAY);
// a flag on the command line wins.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run callplane: the Graph calls API, its identity endpoints and notification delivery", runServe},
		{"token", "print an access token for the data directory's default application", runToken},
		{"listen", "receive notifications like a bot would, and print them", runListen},
		{"deliveries", "list recent notification deliveries of a running callplane", runDeliveries},
		{"sim", "drive the simulator: meetings and the people in them (callplane sim for its commands)", runSim},
		{"app", "manage app registrations: add, list, show, set, remove, secret, certificate", runApp},
		{"reset", "end and forget every call, meeting, person and fault of a running callplane: start clean", runReset},
		{"scenario", "run a scenario file against a bot and report what it did (run FILE), or check files (check FILE...)", runScenario},
	}
}

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			default:
				fmt.Fprintf(stderr, "callplane %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "callplane: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "callplane: a self-hosted Microsoft Graph calls API for developing and testing calling bots\n\nUsage: callplane <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'callplane <command> --help' for a command's flags. Every flag can also be set\nthrough the environment: --data is CALLPLANE_DATA, --answer-delay is CALLPLANE_ANSWER_DELAY.\n")
}

// errUsage reports a command line the flag set already complained about.
var errUsage = errors.New("usage")

// parse parses args into fs, then fills every flag not given on the command
// line from its environment variable.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, e)
			}
		}
	})
	return err
}

func envName(flagName string) string {
	return "CALLPLANE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: callplane %s [flags]\n\n%s\n\nFlags (each also CALLPLANE_<NAME>):\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}
