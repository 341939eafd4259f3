package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const ivrYAML = `name: IVR routes a caller to sales
description: the caller presses 1
timeout: 45s
bot:
  application: 0f1e2d3c
  webhook: http://127.0.0.1:9100/api/calling
people:
  - id: alice
    name: Alice
    answer: auto
    delay: 1s
    script:
      - on: promptFinished
        after: 500ms
        press: 1
      - {on: answered, speak: 2s}
      - on: toneSubscribed
        hangup: true
  - id: "+14255550100"
    answer: busy
faults:
  - kind: graph
    method: POST
    path: /communications/calls
    status: 429
    retryAfter: 1
    times: 2
meetings:
  - name: standup
    subject: Stand-up
    people: [alice, "+14255550100"]
    inviteBot: true
    at: 2s
  - name: quiet
calls:
  - name: first
    from: user:alice
    at: 1s
    hangupAfter: 20s
  - from: phone:+14255550100
    to: app:other-app
expect:
  - answers: {within: 2s}
  - playsPrompt: {atLeast: 2}
  - subscribesToTone: {beforeKeys: true}
  - transfers: {to: +14255550199}
    call: first
  - records: {download: true}
  - hangsUp: {}
  - keepsAlive:
  - acknowledges: {within: 1s}
  - rejects: {reason: busy}
    call: call 2
  - redirects: {}
    call: standup
`

// ivrJSON is ivrYAML's scenario written as JSON, tab-indented as editors
// write it.
const ivrJSON = `{
	"name": "IVR routes a caller to sales",
	"description": "the caller presses 1",
	"timeout": "45s",
	"bot": {"application": "0f1e2d3c", "webhook": "http://127.0.0.1:9100/api/calling"},
	"people": [
		{"id": "alice", "name": "Alice", "answer": "auto", "delay": "1s", "script": [
			{"on": "promptFinished", "after": "500ms", "press": "1"},
			{"on": "answered", "speak": "2s"},
			{"on": "toneSubscribed", "hangup": true}
		]},
		{"id": "+14255550100", "answer": "busy"}
	],
	"faults": [{"kind": "graph", "method": "POST", "path": "/communications/calls", "status": 429, "retryAfter": 1, "times": 2}],
	"meetings": [
		{"name": "standup", "subject": "Stand-up", "people": ["alice", "+14255550100"], "inviteBot": true, "at": "2s"},
		{"name": "quiet"}
	],
	"calls": [
		{"name": "first", "from": "user:alice", "at": "1s", "hangupAfter": "20s"},
		{"from": "phone:+14255550100", "to": "app:other-app"}
	],
	"expect": [
		{"answers": {"within": "2s"}},
		{"playsPrompt": {"atLeast": 2}},
		{"subscribesToTone": {"beforeKeys": true}},
		{"transfers": {"to": "+14255550199"}, "call": "first"},
		{"records": {"download": true}},
		{"hangsUp": {}},
		{"keepsAlive": null},
		{"acknowledges": {"within": "1s"}},
		{"rejects": {"reason": "busy"}, "call": "call 2"},
		{"redirects": {}, "call": "standup"}
	]
}
`

func TestParseGoodFile(t *testing.T) {
	want := &Scenario{
		Name:        "IVR routes a caller to sales",
		Description: "the caller presses 1",
		Timeout:     45 * time.Second,
		Bot:         Bot{Application: "0f1e2d3c", Webhook: "http://127.0.0.1:9100/api/calling"},
		People: []Person{
			{ID: "alice", Name: "Alice", Answer: "auto", Delay: time.Second, Script: []Step{
				{On: "promptFinished", After: 500 * time.Millisecond, Press: "1"},
				{On: "answered", Speak: 2 * time.Second},
				{On: "toneSubscribed", Hangup: true},
			}},
			{ID: "+14255550100", Answer: "busy"},
		},
		Faults: []map[string]any{{"kind": "graph", "method": "POST", "path": "/communications/calls", "status": 429, "retryAfter": 1, "times": 2}},
		Meetings: []Meeting{
			{Name: "standup", Subject: "Stand-up", People: []string{"alice", "+14255550100"}, InviteBot: true, At: 2 * time.Second},
			{Name: "quiet"},
		},
		Calls: []Call{
			{Name: "first", From: "user:alice", To: "app", At: time.Second, HangupAfter: 20 * time.Second},
			{Name: "call 2", From: "phone:+14255550100", To: "app:other-app"},
		},
		Expect: []Expectation{
			{Kind: Answers, Within: 2 * time.Second},
			{Kind: PlaysPrompt, AtLeast: 2},
			{Kind: SubscribesToTone, BeforeKeys: true},
			{Kind: Transfers, To: "+14255550199", Call: "first"},
			{Kind: Records, Download: true},
			{Kind: HangsUp},
			{Kind: KeepsAlive},
			{Kind: Acknowledges, Within: time.Second},
			{Kind: Rejects, Reason: "busy", Call: "call 2"},
			{Kind: Redirects, Call: "standup"},
		},
	}
	for _, tc := range []struct {
		file, data string
		// lines of the meetings, calls and expectations, which differ
		// between the two forms.
		meetingLines, callLines, expectLines []int
	}{
		{"ivr.scenario.yaml", ivrYAML, []int{29, 34}, []int{36, 40}, []int{43, 44, 45, 46, 48, 49, 50, 51, 52, 54}},
		{"ivr.scenario.json", ivrJSON, []int{16, 17}, []int{20, 21}, []int{24, 25, 26, 27, 28, 29, 30, 31, 32, 33}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := Parse(tc.file, []byte(tc.data))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := *want
			want.File = tc.file
			want.Meetings = withLines(want.Meetings, tc.meetingLines, func(m *Meeting, l int) { m.Line = l })
			want.Calls = withLines(want.Calls, tc.callLines, func(c *Call, l int) { c.Line = l })
			want.Expect = withLines(want.Expect, tc.expectLines, func(e *Expectation, l int) { e.Line = l })
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, &want)
			}
		})
	}
}

func withLines[T any](items []T, lines []int, set func(*T, int)) []T {
	out := append([]T(nil), items...)
	for i := range out {
		set(&out[i], lines[i])
	}
	return out
}

func TestParseDefaults(t *testing.T) {
	s, err := Parse("min.scenario.yaml", []byte("name: minimal\ncalls:\n  - from: user:bob\nexpect:\n  - answers: {}\n  - playsPrompt: {}\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if s.Timeout != DefaultTimeout {
		t.Errorf("Timeout = %v, want %v", s.Timeout, DefaultTimeout)
	}
	if c := s.Calls[0]; c.Name != "call 1" || c.To != "app" || c.At != 0 || c.HangupAfter != 0 {
		t.Errorf("call = %+v, want call 1 to app at 0", c)
	}
	if s.Expect[0].Within != 0 || s.Expect[1].AtLeast != 1 {
		t.Errorf("expectations = %+v, want no answer bound and at least 1 prompt", s.Expect)
	}
	if s.Bot != (Bot{}) {
		t.Errorf("Bot = %+v, want the dev application", s.Bot)
	}
}

// problems parses a file that must fail and returns its problems, as
// Problem.String writes them.
func problems(t *testing.T, data string) []string {
	t.Helper()
	s, err := Parse("t.scenario.yaml", []byte(data))
	var check *CheckError
	if !errors.As(err, &check) {
		t.Fatalf("Parse = %+v, %v; want a *CheckError", s, err)
	}
	if s != nil {
		t.Errorf("Parse returned a scenario with its error: %+v", s)
	}
	var out []string
	for _, p := range check.Problems {
		if p.File != "t.scenario.yaml" {
			t.Errorf("problem %q names file %q", p, p.File)
		}
		out = append(out, p.String())
	}
	return out
}

// head is a valid start that error cases add to.
const head = "name: n\ncalls:\n  - {name: c, from: user:a}\n"

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []string
	}{
		{"empty file", "", []string{"t.scenario.yaml: the file is empty: a scenario needs at least a name and expect"}},
		{"syntax", "name: a\nexpect: [\n", []string{"t.scenario.yaml:2: did not find expected node content"}},
		{"not a mapping", "- a\n- b\n", []string{"t.scenario.yaml:1: want a mapping (key: value), not a list"}},
		{"two documents", head + "expect: [hangsUp: {}]\n---\nname: b\n", []string{"t.scenario.yaml:5: a scenario file holds one YAML document; this is a second"}},
		{"missing name and expect", "description: d\ncalls: [{from: user:a}]\n", []string{
			"t.scenario.yaml:1: name: required",
			"t.scenario.yaml:1: expect: required: at least one expectation, such as - answers: {within: 2s}",
		}},
		{"empty name", "name: ''\n" + head[8:] + "expect: [hangsUp: {}]\n", []string{"t.scenario.yaml:1: name: must not be empty"}},
		{"empty expect", head + "expect: []\n", []string{"t.scenario.yaml:4: expect: required: at least one expectation, such as - answers: {within: 2s}"}},
		{"unknown keys", head + "expect: [hangsUp: {}]\ntimout: 3s\nbot: {app: x}\n", []string{
			"t.scenario.yaml:5: timout: unknown key (want name, description, timeout, bot, people, faults, meetings, calls or expect)",
			"t.scenario.yaml:6: bot.app: unknown key (want application or webhook)",
		}},
		{"duplicate key", head + "expect: [hangsUp: {}]\nname: m\n", []string{"t.scenario.yaml:5: name: given twice (first on line 1)"}},
		{"wrong shapes", head + "expect: [hangsUp: {}]\npeople: alice\nbot: [x]\ndescription: {a: 1}\n", []string{
			"t.scenario.yaml:5: people: want a list, not \"alice\"",
			"t.scenario.yaml:6: bot: want a mapping (key: value), not a list",
			"t.scenario.yaml:7: description: want a string, not a mapping",
		}},
		{"bad durations", "name: n\ntimeout: 30\ncalls:\n  - {from: user:a, at: -1s, hangupAfter: 0s}\nexpect: [answers: {within: soon}]\n", []string{
			`t.scenario.yaml:2: timeout: "30" is not a duration such as 500ms, 2s or 1m30s`,
			`t.scenario.yaml:4: calls[0].at: "-1s" is negative`,
			"t.scenario.yaml:4: calls[0].hangupAfter: must be more than 0",
			`t.scenario.yaml:5: expect[0].answers.within: "soon" is not a duration such as 500ms, 2s or 1m30s`,
		}},
		{"at after the timeout", "name: n\ntimeout: 10s\ncalls:\n  - from: user:a\n    at: 10s\nexpect: [hangsUp: {}]\n", []string{
			"t.scenario.yaml:5: calls[0].at: 10s is not before the scenario's timeout (10s): it would never happen",
		}},
		{"people", head + "expect: [hangsUp: {}]\npeople:\n  - name: no id\n  - id: bob\n    answer: sometimes\n    delay: -2s\n  - id: bob\n  - id: '+1425'\n  - {id: carol, nmae: Carol}\n", []string{
			"t.scenario.yaml:6: people[0].id: required",
			`t.scenario.yaml:8: people[1].answer: "sometimes" is not auto, busy, decline or noAnswer`,
			`t.scenario.yaml:9: people[1].delay: "-2s" is negative`,
			`t.scenario.yaml:10: people[2].id: "bob" is already people[1]`,
			`t.scenario.yaml:11: people[3].id: "+1425" is not an E.164 number (+ and 8 to 15 digits)`,
			"t.scenario.yaml:12: people[4].nmae: unknown key (want id, name, answer, delay or script)",
		}},
		{"script", head + "expect: [hangsUp: {}]\npeople:\n  - id: a\n    script:\n      - on: answered\n      - {on: answered, press: '1', hangup: true}\n      - {on: ringing, press: 1x}\n      - {press: '#'}\n      - {on: answered, speak: 0s}\n      - {on: answered, hangup: false}\n", []string{
			"t.scenario.yaml:8: people[0].script[0]: a step does one thing, press, speak or hangup: true; this one does nothing",
			"t.scenario.yaml:9: people[0].script[1]: a step does one thing, press, speak or hangup: true; this one does press and hangup",
			`t.scenario.yaml:10: people[0].script[2].on: "ringing" is not answered, promptFinished, recordingStarted or toneSubscribed`,
			`t.scenario.yaml:10: people[0].script[2].press: "x" is not a key (0-9, *, #, A-D)`,
			"t.scenario.yaml:11: people[0].script[3].on: required",
			"t.scenario.yaml:12: people[0].script[4].speak: must be more than 0",
			"t.scenario.yaml:13: people[0].script[5]: a step does one thing, press, speak or hangup: true; this one does nothing",
		}},
		{"calls", "name: n\ncalls:\n  - from: alice\n  - {from: 'user:', to: bot}\n  - {from: phone:555, to: phone:+1}\n  - {from: user:a, name: ''}\n  - to: app\nexpect: [hangsUp: {}]\n", []string{
			`t.scenario.yaml:3: calls[0].from: "alice" is not user:ID[:NAME] or phone:+E164`,
			`t.scenario.yaml:4: calls[1].from: "user:" names no user: want user:ID or user:ID:NAME`,
			`t.scenario.yaml:4: calls[1].to: "bot" is not app, app:CLIENT_ID or phone:+E164`,
			`t.scenario.yaml:5: calls[2].from: "phone:555": "555" is not an E.164 number (+ and 8 to 15 digits)`,
			`t.scenario.yaml:5: calls[2].to: "phone:+1": "+1" is not an E.164 number (+ and 8 to 15 digits)`,
			"t.scenario.yaml:6: calls[3].name: must not be empty",
			"t.scenario.yaml:7: calls[4].from: required",
		}},
		{"duplicate names", "name: n\nmeetings:\n  - {name: m, inviteBot: true}\ncalls:\n  - {name: m, from: user:a}\n  - {name: call 3, from: user:a}\n  - from: user:b\nexpect: [hangsUp: {}]\n", []string{
			`t.scenario.yaml:5: calls[0].name: "m" is already the name of the call or meeting on line 3`,
			`t.scenario.yaml:7: calls[2]: "call 3" is already the name of the call or meeting on line 6`,
		}},
		{"meetings", "name: n\nmeetings:\n  - {subject: s, people: alice}\n  - {name: m, people: ['', '+12'], inviteBot: maybe, at: 1}\nexpect: [hangsUp: {}]\n", []string{
			"t.scenario.yaml:3: meetings[0].name: required",
			`t.scenario.yaml:3: meetings[0].people: want a list, not "alice"`,
			"t.scenario.yaml:4: meetings[1].people[0]: must not be empty",
			`t.scenario.yaml:4: meetings[1].people[1]: "+12" is not an E.164 number (+ and 8 to 15 digits)`,
			`t.scenario.yaml:4: meetings[1].inviteBot: want true or false, not "maybe"`,
			`t.scenario.yaml:4: meetings[1].at: "1" is not a duration such as 500ms, 2s or 1m30s`,
			"t.scenario.yaml:5: expect: there are no calls, nor meetings that invite the bot, for the expectations to be about",
		}},
		{"faults", head + "expect: [hangsUp: {}]\nfaults:\n  - {method: POST}\n  - {kind: media}\n  - graph\n", []string{
			"t.scenario.yaml:6: faults[0].kind: required: graph, notification or token",
			`t.scenario.yaml:7: faults[1].kind: "media" is not graph, notification or token`,
			`t.scenario.yaml:8: faults[2]: want a mapping (key: value), not "graph"`,
		}},
		{"one problem a value", "calls: [{from: user:a}]\nexpect: [hangsUp: {}]\nname:\npeople:\n  - id: a\n    answer: [auto]\n    script: [{on: answered, press: [1]}]\nfaults:\n  - ~\n  - {kind: [graph]}\n", []string{
			"t.scenario.yaml:3: name: required",
			"t.scenario.yaml:6: people[0].answer: want a string, not a list",
			"t.scenario.yaml:7: people[0].script[0].press: want a string, not a list",
			"t.scenario.yaml:9: faults[0]: want a mapping (key: value), not an empty value",
			"t.scenario.yaml:10: faults[1].kind: want a string, not a list",
		}},
		{"webhook", head + "expect: [hangsUp: {}]\nbot: {webhook: '127.0.0.1:9100/api'}\n", []string{
			`t.scenario.yaml:5: bot.webhook: "127.0.0.1:9100/api" is not an http or https URL`,
		}},
		{"expectations", "name: n\nmeetings: [{name: quiet}]\ncalls: [{name: c, from: user:a}]\nexpect:\n" +
			"  - {}\n" +
			"  - {answers: {}, hangsUp: {}}\n" +
			"  - answers: {within: 0s, limit: 2s}\n" +
			"  - playsPrompt: {atLeast: 0}\n" +
			"  - playsPrompt: {atLeast: many}\n" +
			"  - rejects: {reason: rude}\n" +
			"  - hangsUp: {now: true}\n" +
			"  - keepsAlive: yes\n" +
			"  - {records: {}, call: nobody}\n" +
			"  - {redirects: {}, call: quiet}\n" +
			"  - transfer: {}\n", []string{
			"t.scenario.yaml:5: expect[0]: an expectation needs one of answers, playsPrompt, subscribesToTone, transfers, records, hangsUp, keepsAlive, acknowledges, rejects or redirects",
			"t.scenario.yaml:6: expect[1]: one expectation an item, not answers and hangsUp: give each its own - item",
			"t.scenario.yaml:7: expect[2].answers.within: must be more than 0",
			"t.scenario.yaml:7: expect[2].answers.limit: unknown key (want within)",
			"t.scenario.yaml:8: expect[3].playsPrompt.atLeast: 0 is less than 1",
			`t.scenario.yaml:9: expect[4].playsPrompt.atLeast: want a whole number, not "many"`,
			`t.scenario.yaml:10: expect[5].rejects.reason: "rude" is not none, busy or forbidden`,
			"t.scenario.yaml:11: expect[6].hangsUp.now: unknown key: hangsUp takes none",
			`t.scenario.yaml:12: expect[7].keepsAlive: want a mapping (key: value), not "yes"`,
			`t.scenario.yaml:13: expect[8].call: "nobody" names no call or meeting`,
			`t.scenario.yaml:14: expect[9].call: meeting "quiet" does not invite the bot (inviteBot: true), so the bot has no call there to judge`,
			"t.scenario.yaml:15: expect[10].transfer: unknown key (want call, answers, playsPrompt, subscribesToTone, transfers, records, hangsUp, keepsAlive, acknowledges, rejects or redirects)",
			"t.scenario.yaml:15: expect[10]: an expectation needs one of answers, playsPrompt, subscribesToTone, transfers, records, hangsUp, keepsAlive, acknowledges, rejects or redirects",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, tc.data)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestParseReportsEveryError checks that one file with many mistakes gets
// them all, in line order, with columns, and that the error lists them
// one a line.
func TestParseReportsEveryError(t *testing.T) {
	data := `name: many mistakes
timeout: forever
people:
  - id: alice
    answer: sometimes
calls:
  - from: alice
    colour: red
expect:
  - answers: {within: -1s}
  - rejects: {}
    call: nobody
`
	_, err := Parse("ivr.scenario.yaml", []byte(data))
	var check *CheckError
	if !errors.As(err, &check) {
		t.Fatalf("Parse error = %v, want a *CheckError", err)
	}
	want := []Problem{
		{Line: 2, Column: 10, Path: "timeout"},
		{Line: 5, Column: 13, Path: "people[0].answer"},
		{Line: 7, Column: 11, Path: "calls[0].from"},
		{Line: 8, Column: 5, Path: "calls[0].colour"},
		{Line: 10, Column: 23, Path: "expect[0].answers.within"},
		{Line: 12, Column: 11, Path: "expect[1].call"},
	}
	if len(check.Problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(check.Problems), len(want), err)
	}
	for i, p := range check.Problems {
		if p.Line != want[i].Line || p.Column != want[i].Column || p.Path != want[i].Path || p.File != "ivr.scenario.yaml" {
			t.Errorf("problem %d = %+v, want line %d column %d path %s", i, p, want[i].Line, want[i].Column, want[i].Path)
		}
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) || lines[1] != `ivr.scenario.yaml:5: people[0].answer: "sometimes" is not auto, busy, decline or noAnswer` {
		t.Errorf("Error() =\n%s", err)
	}
}

// TestParseAliases checks that YAML anchors and aliases work as the YAML
// library resolves them.
func TestParseAliases(t *testing.T) {
	data := "name: n\ncalls: [{from: user:alice}]\nexpect:\n  - answers: &fast {within: 1s}\n  - acknowledges: *fast\n"
	s, err := Parse("a.scenario.yaml", []byte(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if s.Expect[0].Within != time.Second || s.Expect[1].Within != time.Second {
		t.Errorf("expectations = %+v, want both within 1s", s.Expect)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ivr.scenario.json")
	if err := os.WriteFile(path, []byte(ivrJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.File != path || s.Name != "IVR routes a caller to sales" {
		t.Errorf("Load = file %q name %q", s.File, s.Name)
	}
	if _, err := Load(filepath.Join(dir, "missing.scenario.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.scenario.yaml")
	if err := os.WriteFile(bad, []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var check *CheckError
	if _, err := Load(bad); !errors.As(err, &check) || check.Problems[0].File != bad {
		t.Errorf("Load of a bad file = %v, want a *CheckError naming it", err)
	}
}

func TestProblemString(t *testing.T) {
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{Problem{File: "f.yaml", Line: 3, Column: 4, Path: "a.b", Message: "bad"}, "f.yaml:3: a.b: bad"},
		{Problem{File: "f.yaml", Line: 3, Message: "bad"}, "f.yaml:3: bad"},
		{Problem{File: "f.yaml", Message: "empty"}, "f.yaml: empty"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestExpectationString(t *testing.T) {
	for _, tc := range []struct {
		e    Expectation
		want string
	}{
		{Expectation{Kind: Answers}, "answers"},
		{Expectation{Kind: Answers, Within: 2 * time.Second}, "answers within 2s"},
		{Expectation{Kind: PlaysPrompt, AtLeast: 1}, "plays a prompt"},
		{Expectation{Kind: PlaysPrompt, AtLeast: 3}, "plays at least 3 prompts"},
		{Expectation{Kind: SubscribesToTone}, "subscribes to tones"},
		{Expectation{Kind: SubscribesToTone, BeforeKeys: true}, "subscribes to tones before the first key press"},
		{Expectation{Kind: Transfers}, "transfers"},
		{Expectation{Kind: Transfers, To: "+14255550199"}, "transfers to +14255550199"},
		{Expectation{Kind: Records}, "records"},
		{Expectation{Kind: Records, Download: true}, "records and downloads the recording"},
		{Expectation{Kind: HangsUp}, "hangs up"},
		{Expectation{Kind: KeepsAlive}, "keeps the call alive"},
		{Expectation{Kind: Acknowledges}, "acknowledges every notification"},
		{Expectation{Kind: Acknowledges, Within: 500 * time.Millisecond}, "acknowledges every notification within 500ms"},
		{Expectation{Kind: Rejects}, "rejects"},
		{Expectation{Kind: Rejects, Reason: "busy"}, "rejects with reason busy"},
		{Expectation{Kind: Redirects}, "redirects"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("%+v: String() = %q, want %q", tc.e, got, tc.want)
		}
	}
}

// FuzzParse checks that Parse never panics, and that it either returns a
// scenario or a CheckError with a problem at least.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{ivrYAML, ivrJSON, head + "expect: [hangsUp: {}]\n", "- a\n", "x: &a [*a]\n", "expect: [{answers: {within: 1s}, call: c}]\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		var check *CheckError
		switch {
		case err == nil && s == nil:
			t.Fatal("no scenario and no error")
		case err != nil && (!errors.As(err, &check) || len(check.Problems) == 0):
			t.Fatalf("error %v is not a CheckError with problems", err)
		}
	})
}
