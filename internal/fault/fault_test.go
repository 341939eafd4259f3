package fault

import (
	"strings"
	"testing"
	"time"
)

func mustAdd(t *testing.T, s *Set, js string) Rule {
	t.Helper()
	r, err := Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	added, err := s.Add(r)
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return added
}

func TestRulesAreChecked(t *testing.T) {
	s := New()
	for js, says := range map[string]string{
		`{"kind": "graph"}`:                                       "answers a status",
		`{"kind": "graph", "status": 418}`:                        "status 418",
		`{"kind": "graph", "status": 429, "action": "drop"}`:      "for notification rules",
		`{"kind": "notification", "action": "explode"}`:           `action "explode"`,
		`{"kind": "notification", "action": "delay"}`:             "needs a delay",
		`{"kind": "notification", "action": "drop", "status": 5}`: "for graph and token rules",
		`{"kind": "token", "status": 503, "path": "/x"}`:          "by appId only",
		`{"kind": "meteor"}`:                                      `kind "meteor"`,
		`{"kind": "graph", "status": 429, "path": "calls"}`:       "must start with /",
		`{"kind": "graph", "status": 429, "times": -1}`:           "times",
		`{"kind": "graph", "latency": "1h"}`:                      "latency must be",
	} {
		r, err := Parse([]byte(js))
		if err == nil {
			_, err = s.Add(r)
		}
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %v, want an error saying %q", js, err, says)
		}
	}
	if _, err := Parse([]byte(`{"kind": "graph", "status": 429, "colour": "red"}`)); err == nil {
		t.Error("an unknown field was accepted")
	}
	if _, err := Parse([]byte(`{"kind": "graph", "latency": "soon"}`)); err == nil || !strings.Contains(err.Error(), "not a duration") {
		t.Errorf("a bad duration: %v", err)
	}
}

func TestGraphRulesMatchAndRunOut(t *testing.T) {
	s := New()
	if s.Active(Graph) {
		t.Fatal("active with no rules")
	}
	r := mustAdd(t, s, `{"kind": "graph", "method": "post", "path": "/communications/calls/*/answer", "status": 429, "retryAfter": 2, "times": 2}`)
	if r.ID == "" || r.Method != "POST" {
		t.Fatalf("added %+v", r)
	}
	answer := Request{Method: "POST", Path: "/communications/calls/C1/answer", AppID: "a1", CallID: "C1"}
	if _, ok := s.GraphRequest(Request{Method: "POST", Path: "/communications/calls"}); ok {
		t.Fatal("matched another path")
	}
	if _, ok := s.GraphRequest(Request{Method: "GET", Path: answer.Path}); ok {
		t.Fatal("matched another method")
	}
	for i := range 2 {
		e, ok := s.GraphRequest(answer)
		if !ok || e.Status != 429 || e.RetryAfter != 2 || e.RuleID != r.ID {
			t.Fatalf("match %d: %+v %v", i+1, e, ok)
		}
	}
	if _, ok := s.GraphRequest(answer); ok || s.Active(Graph) || len(s.List()) != 0 {
		t.Fatal("the rule outlived its times")
	}
	// Narrowed to an application and a call.
	mustAdd(t, s, `{"kind": "graph", "appId": "A1", "callId": "c2", "status": 503}`)
	if _, ok := s.GraphRequest(answer); ok {
		t.Fatal("matched another call")
	}
	if _, ok := s.GraphRequest(Request{Method: "DELETE", Path: "/communications/calls/c2", AppID: "a1", CallID: "C2"}); !ok {
		t.Fatal("did not match its call")
	}
}

func TestRulesExpire(t *testing.T) {
	s := New()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	r := mustAdd(t, s, `{"kind": "token", "status": 503, "for": "10s"}`)
	if r.ExpiresAt == nil || !r.ExpiresAt.Equal(now.Add(10*time.Second)) {
		t.Fatalf("expires %v", r.ExpiresAt)
	}
	if _, ok := s.TokenRequest("any"); !ok {
		t.Fatal("no match before it expired")
	}
	now = now.Add(10 * time.Second)
	if _, ok := s.TokenRequest("any"); ok || len(s.List()) != 0 {
		t.Fatal("matched after it expired")
	}
}

func TestNotificationRules(t *testing.T) {
	s := New()
	mustAdd(t, s, `{"kind": "notification", "changeType": "updated", "state": "established", "action": "duplicate", "times": 1}`)
	d := mustAdd(t, s, `{"kind": "notification", "resourceUrl": "/communications/calls/*/operations/*", "action": "delay", "delay": "2s"}`)
	if _, ok := s.Notification(NotificationInfo{ChangeType: "updated", State: "establishing"}); ok {
		t.Fatal("matched another state")
	}
	if e, ok := s.Notification(NotificationInfo{ChangeType: "Updated", State: "established"}); !ok || e.Action != Duplicate {
		t.Fatalf("duplicate: %+v %v", e, ok)
	}
	e, ok := s.Notification(NotificationInfo{ResourceURL: "/communications/calls/c/operations/o"})
	if !ok || e.Action != Delay || e.Delay != 2*time.Second || e.RuleID != d.ID {
		t.Fatalf("delay: %+v %v", e, ok)
	}
	removed := func(id string) bool {
		ok, err := s.Remove(id)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !removed(d.ID) || removed(d.ID) || s.Active(Notification) {
		t.Fatal("remove")
	}
	mustAdd(t, s, `{"kind": "notification", "action": "drop"}`)
	s.Clear()
	if s.Active(Notification) || len(s.List()) != 0 {
		t.Fatal("clear")
	}
}
