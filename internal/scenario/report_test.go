package scenario

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/admin"
)

// sampleReport is a run of two calls: one the bot answered in time and
// then hung up on instead of transferring, one that never reached it.
func sampleReport() Report {
	s := &Scenario{
		Name: "IVR routes a caller to sales",
		File: "ivr.scenario.yaml",
		Calls: []Call{
			{Name: "first", From: "user:alice", To: "app", Line: 10},
			{Name: "second", From: "phone:+14255550100", To: "app", Line: 12},
		},
		Expect: []Expectation{
			{Kind: Answers, Within: 2 * time.Second, Line: 15},
			{Kind: Transfers, To: "+14255550199", Call: "first", Line: 16},
		},
	}
	v, tl := botHungUp()
	refused := admin.TimelineEntry{At: t0.Add(time.Second), Kind: admin.EntryNotification, MessageID: "m9", ChangeType: "created",
		ResourceURL: "/communications/calls/call-2", Delivery: "failed", Attempts: 3, LastError: "connection refused"}
	return Evaluate(s, Observation{Started: t0, Ended: at(12.5), Calls: []ObservedCall{
		{Name: "first", ID: callID, View: v, Timeline: tl},
		{Name: "second", ID: "call-2", View: view("terminated", "unanswered"), Timeline: []admin.TimelineEntry{refused}},
	}})
}

func TestWriteText(t *testing.T) {
	var b strings.Builder
	if err := sampleReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `IVR routes a caller to sales (ivr.scenario.yaml): FAILED, 1 passed, 2 failed, in 12.50s

call first (user:alice → app, id 3f2a9c1e-0000-4000-8000-000000000001) at 15:04:05.000
PASS answers within 2s — answered after 0.12s
FAIL transfers to +14255550199 — the bot never transferred; it hung up at +7.21s (DELETE answered 204)

call second (phone:+14255550100 → app, id call-2) at 15:04:06.000
FAIL answers within 2s — the call never reached the bot: its created /communications/calls/… notification failed after 3 attempts: connection refused (message m9)
`
	if b.String() != want {
		t.Errorf("WriteText:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWriteTextPassedAndNeverPlaced(t *testing.T) {
	v, tl := botHungUp()
	s := &Scenario{Name: "hang-up", Meetings: []Meeting{{Name: "standup", Subject: "Stand-up", InviteBot: true}},
		Calls: []Call{{Name: "c", From: "user:a", To: "app:x"}}, Expect: []Expectation{{Kind: HangsUp, Call: "standup"}}}
	rep := Evaluate(s, Observation{Started: t0, Ended: at(8), Calls: []ObservedCall{{Name: "standup", ID: callID, View: v, Timeline: tl}}})
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	// Call c has no expectation about it, so no section.
	want := `hang-up: PASSED, 1 passed, 0 failed, in 8.00s

meeting standup (Stand-up, id 3f2a9c1e-0000-4000-8000-000000000001) at 15:04:05.000
PASS hangs up — hung up at +7.21s (DELETE answered 204)
`
	if b.String() != want {
		t.Errorf("WriteText:\n%s\nwant:\n%s", b.String(), want)
	}
	if got := (CallSummary{Kind: "call", Name: "c", Parties: "user:a → app"}).String(); got != "call c (user:a → app, never placed)" {
		t.Errorf("summary of a call never placed = %q", got)
	}
}

func TestWriteJUnit(t *testing.T) {
	var b strings.Builder
	if err := sampleReport().WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" failures="2" time="12.500">
  <testsuite name="IVR routes a caller to sales" tests="3" failures="2" time="12.500" timestamp="2026-03-14T15:04:05" file="ivr.scenario.yaml">
    <testcase classname="IVR routes a caller to sales" name="first: answers within 2s" time="7.210"></testcase>
    <testcase classname="IVR routes a caller to sales" name="first: transfers to +14255550199" time="7.210">
      <failure message="the bot never transferred; it hung up at +7.21s (DELETE answered 204)"><![CDATA[call first (user:alice → app, id 3f2a9c1e-0000-4000-8000-000000000001) at 15:04:05.000
ivr.scenario.yaml:16: transfers to +14255550199 — the bot never transferred; it hung up at +7.21s (DELETE answered 204)
]]></failure>
    </testcase>
    <testcase classname="IVR routes a caller to sales" name="second: answers within 2s" time="0.000">
      <failure message="the call never reached the bot: its created /communications/calls/… notification failed after 3 attempts: connection refused (message m9)"><![CDATA[call second (phone:+14255550100 → app, id call-2) at 15:04:06.000
ivr.scenario.yaml:15: answers within 2s — the call never reached the bot: its created /communications/calls/… notification failed after 3 attempts: connection refused (message m9)
]]></failure>
    </testcase>
  </testsuite>
</testsuites>
`
	if b.String() != want {
		t.Errorf("WriteJUnit:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestWriteJUnitReadsBack checks that what WriteJUnit writes is XML that
// encoding/xml reads back, as a CI system would, with the counts right,
// even with characters XML must escape.
func TestWriteJUnitReadsBack(t *testing.T) {
	rep := sampleReport()
	rep.Scenario = `<"quoted" & ]]> odd>`
	rep.Results[1].Detail = "a ]]> b < c & d"
	var b strings.Builder
	if err := rep.WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				Classname string `xml:"classname,attr"`
				Name      string `xml:"name,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatalf("the JUnit XML does not read back: %v\n%s", err, b.String())
	}
	if doc.Tests != 3 || doc.Failures != 2 || len(doc.Suites) != 1 {
		t.Fatalf("testsuites: %d tests, %d failures, %d suites", doc.Tests, doc.Failures, len(doc.Suites))
	}
	suite := doc.Suites[0]
	failures := 0
	for _, c := range suite.Cases {
		if c.Classname != rep.Scenario {
			t.Errorf("classname = %q, want %q", c.Classname, rep.Scenario)
		}
		if c.Failure != nil {
			failures++
		}
	}
	if suite.Name != rep.Scenario || suite.Tests != len(suite.Cases) || len(suite.Cases) != 3 || suite.Failures != failures || failures != 2 {
		t.Errorf("suite %q: tests=%d failures=%d, read %d cases, %d failed", suite.Name, suite.Tests, suite.Failures, len(suite.Cases), failures)
	}
	f := suite.Cases[1].Failure
	if f.Message != "a ]]> b < c & d" || !strings.Contains(f.Text, "ivr.scenario.yaml:16: transfers to +14255550199 — a ]]> b < c & d\n") {
		t.Errorf("failure read back as %q, %q", f.Message, f.Text)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrors(t *testing.T) {
	rep := sampleReport()
	if err := rep.WriteText(failingWriter{}); err == nil {
		t.Error("WriteText to a failing writer succeeded")
	}
	if err := rep.WriteJUnit(failingWriter{}); err == nil {
		t.Error("WriteJUnit to a failing writer succeeded")
	}
}
