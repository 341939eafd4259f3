// Package callplanetest runs callplane inside a Go test: a Microsoft Graph
// calls API on a free loopback port, with its own tenant, application and
// simulated world, gone when the test ends. A calling bot under test points
// its Graph base URL at GraphURL, uses Token (or the client credentials at
// TokenEndpoint), and the test plays the other side of its calls through the
// simulator: people who call the bot, press keys, speak and hang up;
// meetings; faults. Timeline shows what the bot did.
//
//	cp := callplanetest.Start(t, callplanetest.CallingWebhook(bot.URL+"/api/calling"))
//	callID := cp.CallBot(t, "user:alice:Alice")
//	cp.WaitFor(t, callID, func(c callplanetest.Call) bool { return c.State == "established" })
//	cp.PressTones(t, callID, "1")
//
// Tests in other languages run `callplane serve --ephemeral --listen
// 127.0.0.1:0 --ready-file FILE` and use the admin API instead.
package callplanetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/server"
)

// Call is the simulator's view of a call with a simulated person at the
// other end (admin API: GET /callplane/calls/{id}).
type Call = admin.CallView

// TimelineEntry is one thing that happened on a call: a request of the
// bot's, a notification it was sent (and how it acknowledged it), or what
// the person did.
type TimelineEntry = admin.TimelineEntry

// Meeting is a simulated meeting and how a bot joins it.
type Meeting = admin.GroupView

// Person is how a simulated person answers and what they do on a call.
type Person struct {
	ID, Name string
	// Answer is auto (the default), busy, decline or noAnswer.
	Answer      string
	AnswerDelay time.Duration
	Script      []Step
}

// Step is one step of a person's script: on an event of their call
// (answered, promptFinished, recordingStarted, toneSubscribed), after a
// delay, one action: Press keys, Speak for a while, or HangUp.
type Step struct {
	On     string
	After  time.Duration
	Press  string
	Speak  time.Duration
	HangUp bool
}

// Server is a callplane running in the test's process.
type Server struct {
	// GraphURL is the Graph base URL: http://127.0.0.1:PORT/v1.0.
	GraphURL string
	// BaseURL is the server's root, where /callplane/ and the identity
	// endpoints are.
	BaseURL string
	// The dev application's tenant and credentials, and where to trade
	// them for a token.
	TenantID, ClientID, ClientSecret, TokenEndpoint string

	srv    *server.Server
	client *http.Client
	secret string
}

// Option changes how the server starts.
type Option func(*server.Config)

// CallingWebhook sets the dev application's calling webhook: where calls
// to the bot are announced.
func CallingWebhook(url string) Option { return func(c *server.Config) { c.CallingWebhook = url } }

// AnswerDelay sets how long a simulated person takes to answer (default
// 100 ms here, to keep tests quick).
func AnswerDelay(d time.Duration) Option { return func(c *server.Config) { c.Timing.AnswerDelay = d } }

// PromptDuration plays every prompt for d instead of fetching it: for bots
// whose prompts live where the test cannot reach.
func PromptDuration(d time.Duration) Option {
	return func(c *server.Config) { c.PromptFetch, c.PromptDuration = false, d }
}

// Start runs callplane for the test; it stops when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatalf("callplanetest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("callplanetest: stop: %v", err)
		}
	})
	return s
}

// New runs callplane until Close, for code that is not a test (examples,
// TestMain).
func New(opts ...Option) (*Server, error) {
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.Ephemeral = true
	cfg.Timing.AnswerDelay = 100 * time.Millisecond
	cfg.Delivery.MinBackoff = 10 * time.Millisecond
	cfg.Delivery.MaxBackoff = time.Second
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.Start(cfg)
	if err != nil {
		return nil, err
	}
	r := srv.Ready()
	return &Server{
		GraphURL: r.GraphURL, BaseURL: r.BaseURL, TenantID: r.TenantID, ClientID: r.ClientID,
		ClientSecret: r.ClientSecret, TokenEndpoint: r.TokenEndpoint,
		srv: srv, client: &http.Client{Timeout: 30 * time.Second}, secret: r.AdminSecret,
	}, nil
}

// Close stops the server and removes its data.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// Token is a Graph access token of the dev application, valid for an
// hour: what a bot would get from TokenEndpoint.
func (s *Server) Token() (string, error) {
	token, _, err := s.srv.Tokens().AppToken(s.srv.Directory().DefaultApplication())
	return token, err
}

// do calls the admin API; a status other than 2xx is an error naming it.
func (s *Server) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.BaseURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.secret)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// must fails the test with err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("callplanetest: %v", err)
	}
}

// CallBot has a person call the bot (the dev application): from is
// user:ID[:NAME] or phone:+E164. It returns the call's id, the one the bot
// sees.
func (s *Server) CallBot(t testing.TB, from string) string {
	t.Helper()
	id, err := s.PlaceCall(from, "app")
	must(t, err)
	return id
}

// PlaceCall has a person call someone: to is app, app:CLIENT_ID or
// phone:+E164 (an application instance's number).
func (s *Server) PlaceCall(from, to string) (string, error) {
	caller, err := identitySet(from)
	if err != nil {
		return "", err
	}
	callee := map[string]any{"application": map[string]any{}}
	switch {
	case strings.HasPrefix(to, "app:"):
		callee = map[string]any{"application": map[string]any{"id": strings.TrimPrefix(to, "app:")}}
	case strings.HasPrefix(to, "phone:"):
		callee = map[string]any{"phone": map[string]any{"id": strings.TrimPrefix(to, "phone:")}}
	case to != "app":
		return "", fmt.Errorf("to %q: want app, app:CLIENT_ID or phone:+E164", to)
	}
	var c Call
	err = s.do(http.MethodPost, "/callplane/calls", map[string]any{"from": caller, "to": callee}, &c)
	return c.ID, err
}

func identitySet(who string) (map[string]any, error) {
	kind, rest, _ := strings.Cut(who, ":")
	id, name, _ := strings.Cut(rest, ":")
	switch {
	case kind == "user" && id != "":
		return map[string]any{"user": map[string]any{"id": id, "displayName": name}}, nil
	case kind == "phone" && strings.HasPrefix(id, "+"):
		return map[string]any{"phone": map[string]any{"id": id}}, nil
	}
	return nil, fmt.Errorf("%q: want user:ID[:NAME] or phone:+E164", who)
}

// Call returns the simulator's view of a call.
func (s *Server) Call(t testing.TB, callID string) Call {
	t.Helper()
	c, err := s.CallView(callID)
	must(t, err)
	return c
}

// CallView is Call, for code without a testing.TB.
func (s *Server) CallView(callID string) (Call, error) {
	var c Call
	err := s.do(http.MethodGet, "/callplane/calls/"+url.PathEscape(callID), nil, &c)
	return c, err
}

// WaitFor waits, up to 10 s, until the call satisfies cond, and returns
// it.
func (s *Server) WaitFor(t testing.TB, callID string, cond func(Call) bool) Call {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := s.Call(t, callID)
		if cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("callplanetest: waited 10s on call %s; it is %s (%s)", callID, c.State, c.Outcome)
		}
		time.Sleep(20 * time.Millisecond) // polling, under the deadline
	}
}

// PressTones has the person on the call press keys (0-9 * # A-D).
func (s *Server) PressTones(t testing.TB, callID, keys string) {
	t.Helper()
	must(t, s.do(http.MethodPost, "/callplane/calls/"+url.PathEscape(callID)+"/tones", map[string]any{"tones": keys}, nil))
}

// Speak has the person on the call speak for d.
func (s *Server) Speak(t testing.TB, callID string, d time.Duration) {
	t.Helper()
	must(t, s.do(http.MethodPost, "/callplane/calls/"+url.PathEscape(callID)+"/speech", map[string]any{"seconds": d.Seconds()}, nil))
}

// SpeakAudio has the person on the call speak a WAV file (16-bit mono PCM
// at 8 or 16 kHz): a recording that hears it holds it.
func (s *Server) SpeakAudio(t testing.TB, callID string, wav []byte) {
	t.Helper()
	must(t, s.do(http.MethodPost, "/callplane/calls/"+url.PathEscape(callID)+"/speech", map[string]any{"audio": wav}, nil))
}

// HangUp has the person on the call hang up.
func (s *Server) HangUp(t testing.TB, callID string) {
	t.Helper()
	must(t, s.do(http.MethodPost, "/callplane/calls/"+url.PathEscape(callID)+"/hangup", nil, nil))
}

// Drop has the service end the call on its own with the resultInfo code
// and subcode (0, 0: a media connectivity failure, 410/301005).
func (s *Server) Drop(t testing.TB, callID string, code, subcode int) {
	t.Helper()
	must(t, s.do(http.MethodPost, "/callplane/calls/"+url.PathEscape(callID)+"/drop", map[string]any{"code": code, "subcode": subcode}, nil))
}

// SetPerson sets how a person answers and what they do on their calls.
func (s *Server) SetPerson(t testing.TB, p Person) {
	t.Helper()
	req := admin.PersonRequest{DisplayName: p.Name, Answer: p.Answer}
	if p.AnswerDelay > 0 {
		req.AnswerDelay = p.AnswerDelay.String()
	}
	for _, st := range p.Script {
		v := admin.ScriptStepView{On: st.On, Press: st.Press, Hangup: st.HangUp}
		if st.After > 0 {
			v.After = st.After.String()
		}
		if st.Speak > 0 {
			v.Speak = st.Speak.String()
		}
		req.Script = append(req.Script, v)
	}
	must(t, s.do(http.MethodPut, "/callplane/people/"+url.PathEscape(p.ID), req, nil))
}

// CreateMeeting creates a meeting with people (user ids) in it; its
// JoinInfo is what a bot joins it with.
func (s *Server) CreateMeeting(t testing.TB, subject string, people ...string) Meeting {
	t.Helper()
	req := map[string]any{"subject": subject}
	var participants []any
	for _, p := range people {
		participants = append(participants, map[string]any{"user": map[string]any{"id": p}})
	}
	req["participants"] = participants
	var m Meeting
	must(t, s.do(http.MethodPost, "/callplane/meetings", req, &m))
	return m
}

// InviteBot has a meeting invite the dev application: its calling webhook
// gets an incoming call, whose id this returns.
func (s *Server) InviteBot(t testing.TB, meetingID string) string {
	t.Helper()
	var invited admin.ParticipantView
	must(t, s.do(http.MethodPost, "/callplane/meetings/"+url.PathEscape(meetingID)+"/participants",
		map[string]any{"application": map[string]any{"id": s.ClientID}}, &invited))
	return invited.CallID
}

// AddFault adds a fault rule, flat as the admin API takes it (for example
// {"kind": "graph", "status": 429, "retryAfter": 1, "times": 2}), and
// returns its id.
func (s *Server) AddFault(t testing.TB, rule map[string]any) string {
	t.Helper()
	var added struct {
		ID string `json:"id"`
	}
	must(t, s.do(http.MethodPost, "/callplane/faults", rule, &added))
	return added.ID
}

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults(t testing.TB) {
	t.Helper()
	must(t, s.do(http.MethodDelete, "/callplane/faults", nil, nil))
}

// Reset ends and forgets every call, meeting, person and fault, without a
// notification; the tenant, application and tokens stay valid.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	must(t, s.do(http.MethodPost, "/callplane/reset", nil, nil))
}

// Timeline is everything callplane saw of the call, oldest first.
func (s *Server) Timeline(t testing.TB, callID string) []TimelineEntry {
	t.Helper()
	entries, err := s.CallTimeline(callID)
	must(t, err)
	return entries
}

// CallTimeline is Timeline, for code without a testing.TB.
func (s *Server) CallTimeline(callID string) ([]TimelineEntry, error) {
	var tl admin.Timeline
	err := s.do(http.MethodGet, "/callplane/calls/"+url.PathEscape(callID)+"/timeline", nil, &tl)
	return tl.Value, err
}
