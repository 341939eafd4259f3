package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPanicsContained: a panic in any handler is answered with a JSON 500
// and logged at error with its stack; the server goes on.
func TestPanicsContained(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	h := containPanics(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			var m map[string]int
			m["x"]++ // a nil map: a bug, not a deliberate panic
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || body.Error.Code != "generalException" {
		t.Fatalf("%d %+v", resp.StatusCode, body)
	}
	if out := logs.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "panic serving request") || !strings.Contains(out, "goroutine") {
		t.Fatalf("log: %s", out)
	}
	if resp, err := http.Get(srv.URL + "/fine"); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("after the panic: %v %v", resp, err)
	}
}

// TestValidateNamesTheFlag: a configuration error says which flag and what
// it accepts; the defaults are valid.
func TestValidateNamesTheFlag(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cfg := Defaults()
	cfg.Delivery.MaxBackoff = 0
	cfg.Retention = 5
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "--delivery-max-backoff 0s") || !strings.Contains(err.Error(), "--retention 5ns") {
		t.Fatalf("err = %v", err)
	}
}
