package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/scenario"
)

func runScenario(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "run" && args[0] != "check") {
		fmt.Fprintf(stderr, "Usage: callplane scenario run FILE [flags]    play a scenario against a running callplane and its bot; report, exit 1 if it fails\n"+
			"       callplane scenario check FILE...       validate scenario files, every error with its line\n")
		return errUsage
	}
	if args[0] == "check" {
		return checkScenarios(args[1:], stdout)
	}
	fs := newFlagSet("scenario run", "Play a scenario against a running callplane and the bot under test, and report whether the bot did what the scenario expects.", stderr)
	connect := adminFlags(fs)
	app := fs.String("app", "", "the bot's application (client id), overriding the file's bot.application (default: the dev application)")
	webhook := fs.String("webhook", "", "the bot's calling webhook, overriding the file's bot.webhook")
	junit := fs.String("junit", "", "also write the report as JUnit XML to this file")
	noReset := fs.Bool("no-reset", false, "keep what callplane holds (calls, people, faults) instead of resetting it first")
	quiet := fs.Bool("quiet", false, "print only the report, not each step of the run")
	positional, flags := splitArgs(args[1:])
	if err := parse(fs, flags); err != nil {
		return err
	}
	if len(positional) != 1 {
		fmt.Fprintln(stderr, "callplane scenario run needs one FILE")
		return errUsage
	}
	s, err := scenario.Load(positional[0])
	if err != nil {
		return err
	}
	client, err := connect()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := scenario.RunOptions{AppID: *app, Webhook: *webhook, NoReset: *noReset}
	if !*quiet {
		opts.Log = stderr
	}
	report, err := scenario.Run(ctx, s, simulatorClient{client}, opts)
	if err != nil {
		return err
	}
	if err := report.WriteText(stdout); err != nil {
		return err
	}
	if *junit != "" {
		var b bytes.Buffer
		if err := report.WriteJUnit(&b); err != nil {
			return err
		}
		if err := os.WriteFile(*junit, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if !report.Passed() {
		return errScenarioFailed
	}
	return nil
}

// errScenarioFailed is a scenario whose expectations were not all met: the
// report said which.
var errScenarioFailed = errors.New("the scenario failed")

func checkScenarios(files []string, stdout io.Writer) error {
	if len(files) == 0 {
		return fmt.Errorf("name the scenario files to check")
	}
	failed := 0
	for _, f := range files {
		if _, err := scenario.Load(f); err != nil {
			failed++
			fmt.Fprintln(stdout, err)
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", f)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files have errors", failed, len(files))
	}
	return nil
}

// simulatorClient is scenario.Simulator over the admin API.
type simulatorClient struct{ c *adminClient }

var _ scenario.Simulator = simulatorClient{}

func (s simulatorClient) call(method, path string, body, out any) error {
	data, err := s.c.do(method, path, body)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(data, out)
}

func (s simulatorClient) Reset(context.Context) error {
	return s.call(http.MethodPost, "/callplane/reset", nil, nil)
}

func (s simulatorClient) SetWebhook(ctx context.Context, appID, webhook string) error {
	appID, err := s.application(appID)
	if err != nil {
		return err
	}
	return s.call(http.MethodPatch, "/callplane/applications/"+url.PathEscape(appID), admin.ApplicationRequest{CallingWebhook: &webhook}, nil)
}

// application is appID, or the dev application's client id for "", as
// Simulator's methods take it.
func (s simulatorClient) application(appID string) (string, error) {
	if appID != "" {
		return appID, nil
	}
	var list admin.ApplicationList
	if err := s.call(http.MethodGet, "/callplane/applications", nil, &list); err != nil {
		return "", err
	}
	for _, a := range list.Value {
		if a.DevApplication {
			return a.ID, nil
		}
	}
	return "", errors.New("callplane has no dev application")
}

func (s simulatorClient) SetPerson(ctx context.Context, id string, p admin.PersonRequest) error {
	return s.call(http.MethodPut, "/callplane/people/"+url.PathEscape(id), p, nil)
}

func (s simulatorClient) AddFault(ctx context.Context, rule map[string]any) error {
	return s.call(http.MethodPost, "/callplane/faults", rule, nil)
}

func (s simulatorClient) PlaceCall(ctx context.Context, req admin.CallRequest) (admin.CallView, error) {
	var v admin.CallView
	err := s.call(http.MethodPost, "/callplane/calls", req, &v)
	return v, err
}

func (s simulatorClient) CreateMeeting(ctx context.Context, req admin.MeetingRequest) (admin.GroupView, error) {
	var g admin.GroupView
	err := s.call(http.MethodPost, "/callplane/meetings", req, &g)
	return g, err
}

func (s simulatorClient) InviteApplication(ctx context.Context, meetingID, appID string) (admin.CallView, error) {
	appID, err := s.application(appID)
	if err != nil {
		return admin.CallView{}, err
	}
	var invited admin.ParticipantView
	if err := s.call(http.MethodPost, "/callplane/meetings/"+url.PathEscape(meetingID)+"/participants",
		map[string]any{"application": map[string]any{"id": appID}}, &invited); err != nil {
		return admin.CallView{}, err
	}
	return admin.CallView{ID: invited.CallID, ApplicationID: appID, Direction: "incoming", State: "incoming"}, nil
}

func (s simulatorClient) HangUp(ctx context.Context, callID string) error {
	return s.call(http.MethodPost, "/callplane/calls/"+url.PathEscape(callID)+"/hangup", nil, nil)
}

func (s simulatorClient) Call(ctx context.Context, callID string) (admin.CallView, error) {
	var v admin.CallView
	err := s.call(http.MethodGet, "/callplane/calls/"+url.PathEscape(callID), nil, &v)
	return v, err
}

func (s simulatorClient) Timeline(ctx context.Context, callID string) (admin.Timeline, error) {
	var tl admin.Timeline
	err := s.call(http.MethodGet, "/callplane/calls/"+url.PathEscape(callID)+"/timeline", nil, &tl)
	return tl, err
}
