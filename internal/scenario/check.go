package scenario

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/callplane/callplane/internal/auth"
)

// Problem is one thing wrong with a scenario file, and where.
type Problem struct {
	File         string
	Line, Column int
	// Path is where in the scenario: "people[0].answer".
	Path, Message string
}

// String is "file:line: path: message".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// CheckError is every problem of a scenario file.
type CheckError struct {
	Problems []Problem
}

// Error lists the problems, one a line.
func (e *CheckError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Parse reads a scenario file (YAML, or JSON) and checks it. On failure
// the error is a *CheckError with every problem found, in file order.
func Parse(file string, data []byte) (*Scenario, error) {
	r := &reader{file: file}
	root, ok := r.document(data)
	if !ok {
		return nil, &CheckError{Problems: r.problems}
	}
	s := r.scenario(root)
	if len(r.problems) > 0 {
		slices.SortStableFunc(r.problems, func(a, b Problem) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		return nil, &CheckError{Problems: r.problems}
	}
	s.File = file
	return s, nil
}

// syntaxLine finds the line in the YAML library's syntax errors, which
// carry it only in their text: "yaml: line 3: did not find expected key".
var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document reads the file's one YAML document.
func (r *reader) document(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			r.problem(nil, "", "the file is empty: a scenario needs at least a name and expect")
			return nil, false
		}
		p := Problem{File: r.file, Message: strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := syntaxLine.FindStringSubmatch(err.Error()); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Message = m[2]
		}
		r.problems = append(r.problems, p)
		return nil, false
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		r.problem(&next, "", "a scenario file holds one YAML document; this is a second")
	}
	if len(doc.Content) == 0 {
		r.problem(nil, "", "the file is empty: a scenario needs at least a name and expect")
		return nil, false
	}
	return doc.Content[0], true
}

// reader turns a scenario's YAML nodes into a Scenario, collecting every
// problem instead of stopping at the first, each at its node's line. The
// YAML library parses; reader knows which keys exist and what their values
// may be.
type reader struct {
	file     string
	problems []Problem
	// targets are the names of the calls and meetings read so far, for
	// duplicates and expect's call.
	targets map[string]target
}

// target is a call or meeting expectations may be about.
type target struct {
	line int
	// invites says the bot has a call there: a call always, a meeting
	// when it invites the bot.
	invites bool
}

func (r *reader) problem(n *yaml.Node, path, format string, args ...any) {
	p := Problem{File: r.file, Path: path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	r.problems = append(r.problems, p)
}

// mapping reads a mapping node, reporting keys not in known, keys given
// twice and a node that is no mapping (then ok is false). An empty value
// ("bot:") is an empty mapping.
func (r *reader) mapping(n *yaml.Node, path string, known ...string) (f fields, ok bool) {
	n = resolve(n)
	f = fields{r: r, node: n, path: path, values: map[string]*yaml.Node{}}
	if isNull(n) {
		return f, true
	}
	if n.Kind != yaml.MappingNode {
		r.problem(n, path, "want a mapping (key: value), not %s", describe(n))
		return f, false
	}
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		at := join(path, k.Value)
		switch first, twice := keys[k.Value]; {
		case !slices.Contains(known, k.Value) && len(known) == 0:
			r.problem(k, at, "unknown key: %s takes none", path[strings.LastIndex(path, ".")+1:])
		case !slices.Contains(known, k.Value):
			r.problem(k, at, "unknown key (want %s)", orList(known))
		case twice:
			r.problem(k, at, "given twice (first on line %d)", first.Line)
		default:
			keys[k.Value], f.values[k.Value] = k, v
		}
	}
	return f, true
}

// list reads a sequence node; an empty value is an empty list.
func (r *reader) list(n *yaml.Node, path string) []*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.problem(n, path, "want a list, not %s", describe(n))
		return nil
	}
	return n.Content
}

// scalar returns a scalar node, reporting any other; nil is absent.
func (r *reader) scalar(n *yaml.Node, path, want string) *yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		r.problem(n, path, "want %s, not %s", want, describe(n))
		return nil
	}
	return n
}

// str reads a string. A number is its text, so that press: 1 and
// to: +14255550199 mean what they say.
func (r *reader) str(n *yaml.Node, path string) string {
	if n = r.scalar(n, path, "a string"); n == nil {
		return ""
	}
	return n.Value
}

// fields is a mapping's values by key, read with its reader's checks.
type fields struct {
	r      *reader
	node   *yaml.Node
	path   string
	values map[string]*yaml.Node
}

// at is the path of one of the mapping's keys.
func (f fields) at(key string) string { return join(f.path, key) }

// given says the key has a value, not an empty one.
func (f fields) given(key string) bool { return !isNull(resolve(f.values[key])) }

func (f fields) str(key string) string { return f.r.str(f.values[key], f.at(key)) }

// required reads a string that must be there and not be empty.
func (f fields) required(key string) string {
	v := f.str(key)
	switch n := resolve(f.values[key]); {
	case !f.given(key):
		// At the empty value ("name:") if there is one.
		f.r.problem(cmp.Or(f.values[key], f.node), f.at(key), "required")
	case v == "" && n.Kind == yaml.ScalarNode:
		f.r.problem(n, f.at(key), "must not be empty")
	}
	return v
}

// oneOf reads a string that must be one of values; "" when absent.
func (f fields) oneOf(key string, values ...string) string {
	v := f.str(key)
	if n := resolve(f.values[key]); f.given(key) && n.Kind == yaml.ScalarNode && !slices.Contains(values, v) {
		f.r.problem(n, f.at(key), "%q is not %s", v, orList(values))
	}
	return v
}

func (f fields) boolean(key string) bool {
	var b bool
	if n := f.r.scalar(f.values[key], f.at(key), "true or false"); n != nil && n.Decode(&b) != nil {
		f.r.problem(n, f.at(key), "want true or false, not %q", n.Value)
	}
	return b
}

// integer reads a whole number of at least min; def when absent.
func (f fields) integer(key string, min, def int) int {
	n := f.r.scalar(f.values[key], f.at(key), "a whole number")
	if n == nil {
		return def
	}
	var i int
	switch {
	case n.Decode(&i) != nil:
		f.r.problem(n, f.at(key), "want a whole number, not %q", n.Value)
	case i < min:
		f.r.problem(n, f.at(key), "%d is less than %d", i, min)
	}
	return i
}

// duration reads a Go duration ("500ms", "2s"), refusing negative ones,
// and zero too when positive.
func (f fields) duration(key string, positive bool) time.Duration {
	n := f.r.scalar(f.values[key], f.at(key), "a duration")
	if n == nil {
		return 0
	}
	d, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		f.r.problem(n, f.at(key), "%q is not a duration such as 500ms, 2s or 1m30s", n.Value)
	case d < 0:
		f.r.problem(n, f.at(key), "%q is negative", n.Value)
	case d == 0 && positive:
		f.r.problem(n, f.at(key), "must be more than 0")
	}
	return d
}

// phone checks a value that is a phone number when it starts with +.
func (r *reader) phone(n *yaml.Node, path, v string) {
	if strings.HasPrefix(v, "+") && !auth.ValidPhoneNumber(v) {
		r.problem(n, path, "%q is not an E.164 number (+ and 8 to 15 digits)", v)
	}
}

// name records the name of a call or meeting, reporting one taken.
func (r *reader) name(n *yaml.Node, path, name string, invites bool) {
	if prev, taken := r.targets[name]; taken {
		r.problem(n, path, "%q is already the name of the call or meeting on line %d", name, prev.line)
		return
	}
	r.targets[name] = target{line: n.Line, invites: invites}
}

// botCalled says a call or meeting has the bot called.
func (r *reader) botCalled() bool {
	for _, t := range r.targets {
		if t.invites {
			return true
		}
	}
	return false
}

// The values some keys take.
var (
	answerModes   = []string{"auto", "busy", "decline", "noAnswer"}
	scriptEvents  = []string{"answered", "promptFinished", "recordingStarted", "toneSubscribed"}
	faultKinds    = []string{"graph", "notification", "token"}
	rejectReasons = []string{"none", "busy", "forbidden"}
)

func (r *reader) scenario(root *yaml.Node) *Scenario {
	f, ok := r.mapping(root, "", "name", "description", "timeout", "bot", "people", "faults", "meetings", "calls", "expect")
	if !ok {
		return nil
	}
	s := &Scenario{Name: f.required("name"), Description: f.str("description"), Timeout: DefaultTimeout}
	if f.given("timeout") {
		s.Timeout = f.duration("timeout", true)
	}
	s.Bot = r.bot(f)
	s.People = r.people(f.values["people"], "people")
	s.Faults = r.faults(f.values["faults"], "faults")
	r.targets = map[string]target{}
	s.Meetings = r.meetings(f.values["meetings"], "meetings", s.Timeout)
	s.Calls = r.calls(f.values["calls"], "calls", s.Timeout)
	s.Expect = r.expectations(f)
	return s
}

func (r *reader) bot(root fields) Bot {
	f, _ := r.mapping(root.values["bot"], "bot", "application", "webhook")
	b := Bot{Application: f.str("application"), Webhook: f.str("webhook")}
	if b.Webhook != "" {
		if u, err := url.Parse(b.Webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.problem(f.values["webhook"], f.at("webhook"), "%q is not an http or https URL", b.Webhook)
		}
	}
	return b
}

func (r *reader) people(n *yaml.Node, path string) []Person {
	var people []Person
	seen := map[string]int{}
	for i, item := range r.list(n, path) {
		f, ok := r.mapping(item, fmt.Sprintf("%s[%d]", path, i), "id", "name", "answer", "delay", "script")
		if !ok {
			continue
		}
		p := Person{ID: f.required("id"), Name: f.str("name"), Answer: f.oneOf("answer", answerModes...), Delay: f.duration("delay", false)}
		if p.ID != "" {
			r.phone(f.values["id"], f.at("id"), p.ID)
			if prev, dup := seen[p.ID]; dup {
				r.problem(f.values["id"], f.at("id"), "%q is already %s[%d]", p.ID, path, prev)
			}
			seen[p.ID] = i
		}
		if p.Answer == "" {
			p.Answer = "auto"
		}
		p.Script = r.script(f.values["script"], f.at("script"))
		people = append(people, p)
	}
	return people
}

func (r *reader) script(n *yaml.Node, path string) []Step {
	var steps []Step
	for i, item := range r.list(n, path) {
		f, ok := r.mapping(item, fmt.Sprintf("%s[%d]", path, i), "on", "after", "press", "speak", "hangup")
		if !ok {
			continue
		}
		s := Step{On: f.required("on"), After: f.duration("after", false), Speak: f.duration("speak", true), Hangup: f.boolean("hangup")}
		if s.On != "" && !slices.Contains(scriptEvents, s.On) {
			r.problem(f.values["on"], f.at("on"), "%q is not %s", s.On, orList(scriptEvents))
		}
		var actions []string
		if f.given("press") {
			actions = append(actions, "press")
			s.Press = f.str("press")
			r.keys(f.values["press"], f.at("press"), s.Press)
		}
		if f.given("speak") {
			actions = append(actions, "speak")
		}
		if s.Hangup {
			actions = append(actions, "hangup")
		}
		switch len(actions) {
		case 0:
			r.problem(f.node, f.path, "a step does one thing, press, speak or hangup: true; this one does nothing")
		case 1:
		default:
			r.problem(f.node, f.path, "a step does one thing, press, speak or hangup: true; this one does %s", andList(actions))
		}
		steps = append(steps, s)
	}
	return steps
}

// keys checks DTMF keys: 0-9, *, #, A-D. A value that is no string has
// been reported already.
func (r *reader) keys(n *yaml.Node, path, keys string) {
	if n = resolve(n); n.Kind != yaml.ScalarNode {
		return
	}
	if keys == "" {
		r.problem(n, path, "must not be empty")
	}
	for _, k := range keys {
		if !strings.ContainsRune("0123456789*#ABCD", k) {
			r.problem(n, path, "%q is not a key (0-9, *, #, A-D)", string(k))
			return
		}
	}
}

// faults reads fault rules. Their keys are the admin API's to check; only
// kind, which says what a rule is about, is checked here.
func (r *reader) faults(n *yaml.Node, path string) []map[string]any {
	var rules []map[string]any
	for i, item := range r.list(n, path) {
		at := fmt.Sprintf("%s[%d]", path, i)
		rule := map[string]any{}
		if item = resolve(item); item.Kind != yaml.MappingNode {
			r.problem(item, at, "want a mapping (key: value), not %s", describe(item))
			continue
		}
		if err := item.Decode(&rule); err != nil {
			r.problem(item, at, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
			continue
		}
		var kind *yaml.Node
		for j := 0; j+1 < len(item.Content); j += 2 {
			if item.Content[j].Value == "kind" {
				kind = item.Content[j+1]
			}
		}
		switch v := r.str(kind, at+".kind"); {
		case isNull(resolve(kind)):
			r.problem(cmp.Or(kind, item), at+".kind", "required: %s", orList(faultKinds))
		case resolve(kind).Kind == yaml.ScalarNode && !slices.Contains(faultKinds, v):
			r.problem(kind, at+".kind", "%q is not %s", v, orList(faultKinds))
		}
		rules = append(rules, rule)
	}
	return rules
}

func (r *reader) meetings(n *yaml.Node, path string, timeout time.Duration) []Meeting {
	var meetings []Meeting
	for i, item := range r.list(n, path) {
		f, ok := r.mapping(item, fmt.Sprintf("%s[%d]", path, i), "name", "subject", "people", "inviteBot", "at")
		if !ok {
			continue
		}
		m := Meeting{Name: f.required("name"), Subject: f.str("subject"), InviteBot: f.boolean("inviteBot"), At: r.when(f, timeout), Line: f.node.Line}
		if m.Name != "" {
			r.name(f.values["name"], f.at("name"), m.Name, m.InviteBot)
		}
		for j, p := range r.list(f.values["people"], f.at("people")) {
			at := fmt.Sprintf("%s[%d]", f.at("people"), j)
			id := r.str(p, at)
			if id == "" && resolve(p).Kind == yaml.ScalarNode {
				r.problem(p, at, "must not be empty")
			}
			r.phone(p, at, id)
			m.People = append(m.People, id)
		}
		meetings = append(meetings, m)
	}
	return meetings
}

func (r *reader) calls(n *yaml.Node, path string, timeout time.Duration) []Call {
	var calls []Call
	for i, item := range r.list(n, path) {
		f, ok := r.mapping(item, fmt.Sprintf("%s[%d]", path, i), "name", "from", "to", "at", "hangupAfter")
		if !ok {
			continue
		}
		c := Call{From: f.required("from"), To: f.str("to"), At: r.when(f, timeout), HangupAfter: f.duration("hangupAfter", true), Line: f.node.Line}
		switch {
		case !f.given("name"):
			// Calls are named by position unless named: "call 2".
			c.Name = fmt.Sprintf("call %d", i+1)
			r.name(f.node, f.path, c.Name, true)
		default:
			if c.Name = f.required("name"); c.Name != "" {
				r.name(f.values["name"], f.at("name"), c.Name, true)
			}
		}
		if c.From != "" {
			if _, err := party(c.From, false, ""); err != nil {
				r.problem(f.values["from"], f.at("from"), "%v", err)
			}
		}
		if c.To == "" {
			c.To = "app"
		} else if _, err := party(c.To, true, ""); err != nil {
			r.problem(f.values["to"], f.at("to"), "%v", err)
		}
		calls = append(calls, c)
	}
	return calls
}

// when reads a call's or meeting's at, which must fall within the run.
func (r *reader) when(f fields, timeout time.Duration) time.Duration {
	d := f.duration("at", false)
	if d > 0 && timeout > 0 && d >= timeout {
		r.problem(f.values["at"], f.at("at"), "%s is not before the scenario's timeout (%s): it would never happen", d, timeout)
	}
	return d
}

// params are the keys each kind of expectation takes.
var params = map[Kind][]string{
	Answers:          {"within"},
	PlaysPrompt:      {"atLeast"},
	SubscribesToTone: {"beforeKeys"},
	Transfers:        {"to"},
	Records:          {"download"},
	Acknowledges:     {"within"},
	Rejects:          {"reason"},
}

func (r *reader) expectations(root fields) []Expectation {
	n := root.values["expect"]
	items := r.list(n, "expect")
	if len(items) == 0 {
		if isNull(resolve(n)) || resolve(n).Kind == yaml.SequenceNode {
			r.problem(cmp.Or(n, root.node), "expect", "required: at least one expectation, such as - answers: {within: 2s}")
		}
		return nil
	}
	if !r.botCalled() {
		r.problem(n, "expect", "there are no calls, nor meetings that invite the bot, for the expectations to be about")
	}
	known := []string{"call"}
	for _, k := range Kinds {
		known = append(known, string(k))
	}
	var out []Expectation
	for i, item := range items {
		f, ok := r.mapping(item, fmt.Sprintf("expect[%d]", i), known...)
		if !ok {
			continue
		}
		e := Expectation{Call: f.str("call"), Line: f.node.Line}
		if t, exists := r.targets[e.Call]; e.Call != "" && !exists {
			r.problem(f.values["call"], f.at("call"), "%q names no call or meeting", e.Call)
		} else if e.Call != "" && !t.invites {
			r.problem(f.values["call"], f.at("call"), "meeting %q does not invite the bot (inviteBot: true), so the bot has no call there to judge", e.Call)
		}
		var kinds []string
		for _, k := range Kinds {
			if _, ok := f.values[string(k)]; ok {
				kinds = append(kinds, string(k))
			}
		}
		switch len(kinds) {
		case 0:
			r.problem(f.node, f.path, "an expectation needs one of %s", orList(known[1:]))
			continue
		case 1:
		default:
			r.problem(f.node, f.path, "one expectation an item, not %s: give each its own - item", andList(kinds))
			continue
		}
		e.Kind = Kind(kinds[0])
		r.params(&e, f)
		out = append(out, e)
	}
	return out
}

// params reads an expectation's parameters.
func (r *reader) params(e *Expectation, item fields) {
	p, ok := r.mapping(item.values[string(e.Kind)], item.at(string(e.Kind)), params[e.Kind]...)
	if !ok {
		return
	}
	switch e.Kind {
	case Answers, Acknowledges:
		e.Within = p.duration("within", true)
	case PlaysPrompt:
		e.AtLeast = p.integer("atLeast", 1, 1)
	case SubscribesToTone:
		e.BeforeKeys = p.boolean("beforeKeys")
	case Transfers:
		e.To = p.str("to")
	case Records:
		e.Download = p.boolean("download")
	case Rejects:
		e.Reason = p.oneOf("reason", rejectReasons...)
	}
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names what a node is, for "want a list, not ...".
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "an empty value"
	}
	return strconv.Quote(n.Value)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orList(words []string) string  { return wordList(words, "or") }
func andList(words []string) string { return wordList(words, "and") }

// wordList is "a, b or c".
func wordList(words []string, conj string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}
