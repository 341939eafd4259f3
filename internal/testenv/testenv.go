// Package testenv runs a real callplane server for tests, on a loopback
// port with its own data directory, and gives tests a small client for it.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/server"
)

// Env is a running server.
type Env struct {
	Server  *server.Server
	Config  server.Config
	URL     string
	DataDir string
	// Token is an application token of the default application.
	Token  string
	Client *http.Client
}

// Config returns the configuration tests start from: loopback, a fresh data
// directory, a quick simulated callee and fast retries.
func Config(t testing.TB) server.Config {
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Timing.AnswerDelay = 20 * time.Millisecond
	cfg.Delivery.MinBackoff = 10 * time.Millisecond
	cfg.Delivery.MaxBackoff = 200 * time.Millisecond
	cfg.Delivery.RetryDeadline = time.Minute
	if testing.Verbose() {
		cfg.Logger = slogToTest(t)
	}
	return cfg
}

// Start starts a server with the test configuration, changed by each edit.
// It is shut down when the test ends.
func Start(t testing.TB, edits ...func(*server.Config)) *Env {
	t.Helper()
	cfg := Config(t)
	for _, e := range edits {
		e(&cfg)
	}
	return StartWith(t, cfg)
}

// StartWith starts a server with exactly cfg.
func StartWith(t testing.TB, cfg server.Config) *Env {
	t.Helper()
	srv, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("start callplane: %v", err)
	}
	e := &Env{Server: srv, Config: cfg, URL: srv.ListenURL(), DataDir: cfg.DataDir, Client: &http.Client{Timeout: 30 * time.Second}}
	t.Cleanup(func() { e.stop(t) })
	token, _, err := srv.Tokens().AppToken(srv.Directory().DefaultApplication())
	if err != nil {
		t.Fatal(err)
	}
	e.Token = token
	return e
}

func (e *Env) stop(t testing.TB) {
	if e.Server == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Server.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	e.Server = nil
}

// Restart stops the server and starts it again on the same address and data
// directory: what survives is what was persisted.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	e.RestartOn(t, strings.TrimPrefix(e.URL, "http://"))
}

// RestartOn stops the server and starts it again on the data directory,
// listening on addr ("127.0.0.1:0" for another free port), as CI restarts
// callplane between jobs.
func (e *Env) RestartOn(t testing.TB, addr string) {
	t.Helper()
	e.stop(t)
	cfg := e.Config
	cfg.Listen = addr
	srv, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("restart callplane: %v", err)
	}
	e.Server, e.Config, e.URL = srv, cfg, srv.ListenURL()
}

// Response is what the server answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it cannot.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Do sends a request with the bearer token (none if empty) and a JSON body
// (none if nil; a []byte is sent as is).
func (e *Env) Do(t testing.TB, method, path, token string, body any) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// CallRequest is a peer-to-peer call to a simulated user, reporting to
// callbackURI.
func CallRequest(callbackURI string) map[string]any {
	return map[string]any{
		"@odata.type":         "#microsoft.graph.call",
		"callbackUri":         callbackURI,
		"targets":             []any{map[string]any{"@odata.type": "#microsoft.graph.invitationParticipantInfo", "identity": map[string]any{"@odata.type": "#microsoft.graph.identitySet", "user": map[string]any{"@odata.type": "#microsoft.graph.identity", "id": "8d1e2f3a-0000-4000-8000-000000000001", "displayName": "Alex Wilber"}}}},
		"requestedModalities": []string{"audio"},
		"mediaConfig":         map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
	}
}

// PlaceCall creates a call to a simulated user with the default token and
// returns it, failing the test unless the answer is 201.
func (e *Env) PlaceCall(t testing.TB, callbackURI string) graph.Call {
	t.Helper()
	resp := e.Do(t, http.MethodPost, "/v1.0/communications/calls", e.Token, CallRequest(callbackURI))
	if resp.Status != http.StatusCreated {
		t.Fatalf("create call: %d %s", resp.Status, resp.Body)
	}
	var c graph.Call
	resp.JSON(t, &c)
	return c
}

// CallPath is the API path of a call.
func CallPath(id string) string { return "/v1.0/communications/calls/" + id }

// slogToTest logs to the test's output, shown with -v or on failure.
func slogToTest(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
