package scenario

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/graph"
)

// Observation is what callplane recorded of a run.
type Observation struct {
	Started, Ended time.Time
	// Calls are the bot's calls, named as the scenario names their call or
	// meeting; one the run never placed is missing.
	Calls []ObservedCall
}

// ObservedCall is one of the bot's calls as callplane saw it.
type ObservedCall struct {
	Name, ID string
	View     admin.CallView
	Timeline []admin.TimelineEntry
}

// Report is how a run went: each expectation about each call.
type Report struct {
	Scenario, File string
	Started        time.Time
	Duration       time.Duration
	// Calls are the calls and meetings the expectations are about, in
	// file order; Results refer to them by name.
	Calls   []CallSummary
	Results []Result
}

// CallSummary says which call a report's results are about.
type CallSummary struct {
	// Kind is call or meeting.
	Kind, Name string
	// Parties is who called whom ("user:alice → app"), or the meeting's
	// subject.
	Parties string
	// ID is the bot's call id, "" when the call was never placed.
	ID string
	// Started is the call's first moment in its timeline, which details
	// count from ("+0.12s"); Duration runs from then to its end, or to
	// the end of the run.
	Started  time.Time
	Duration time.Duration
}

// String is "call first (user:alice → app, id ...)".
func (c CallSummary) String() string {
	where := "never placed"
	if c.ID != "" {
		where = "id " + c.ID
	}
	s := fmt.Sprintf("%s %s (%s, %s)", c.Kind, c.Name, c.Parties, where)
	if !c.Started.IsZero() {
		// Details count from here; the clock time ties them to the bot's
		// own logs.
		s += " at " + c.Started.Format("15:04:05.000")
	}
	return s
}

// Result is one expectation about one call.
type Result struct {
	Call, Expectation string
	Passed            bool
	// Detail says what happened: why it passed, or what happened instead.
	Detail string
	// Line is the expectation's line in the scenario file.
	Line int
}

// Passed says every expectation was met, and there was one at least.
func (r Report) Passed() bool { return len(r.Results) > 0 && r.Failures() == 0 }

// Failures counts the expectations not met.
func (r Report) Failures() int {
	n := 0
	for _, res := range r.Results {
		if !res.Passed {
			n++
		}
	}
	return n
}

// Evaluate judges each expectation of the scenario against what was
// observed, for each call and meeting it is about.
func Evaluate(s *Scenario, o Observation) Report {
	rep := Report{Scenario: s.Name, File: s.File, Started: o.Started, Duration: o.Ended.Sub(o.Started)}
	for _, t := range botCalls(s) {
		c := newCallFacts(t, o)
		rep.Calls = append(rep.Calls, c.summary())
		for _, e := range s.Expect {
			if e.Call != "" && e.Call != t.name {
				continue
			}
			passed, detail := c.judge(e)
			rep.Results = append(rep.Results, Result{Call: t.name, Expectation: e.String(), Passed: passed, Detail: detail, Line: e.Line})
		}
	}
	return rep
}

// botCall is a call or meeting of a scenario that calls the bot.
type botCall struct {
	kind, name, parties string
	line                int
}

// botCalls are the scenario's calls and the meetings that invite the bot,
// in file order.
func botCalls(s *Scenario) []botCall {
	var out []botCall
	for _, m := range s.Meetings {
		if m.InviteBot {
			out = append(out, botCall{kind: "meeting", name: m.Name, parties: cmp.Or(m.Subject, "the bot invited"), line: m.Line})
		}
	}
	for _, c := range s.Calls {
		out = append(out, botCall{kind: "call", name: c.Name, parties: c.From + " → " + c.To, line: c.Line})
	}
	slices.SortStableFunc(out, func(a, b botCall) int { return cmp.Compare(a.line, b.line) })
	return out
}

// callFacts answers questions about one observed call.
type callFacts struct {
	botCall
	ObservedCall
	placed bool
	// start is what times are counted from; end is the end of the run.
	start, end time.Time
	// person is who is at the other end, in words.
	person string
}

func newCallFacts(t botCall, o Observation) *callFacts {
	c := &callFacts{botCall: t, end: o.Ended, person: "the caller"}
	if t.kind == "meeting" {
		c.person = "the person"
	}
	for _, oc := range o.Calls {
		if oc.Name == t.name && oc.ID != "" {
			c.ObservedCall, c.placed = oc, true
		}
	}
	c.start = c.View.CreatedAt
	if len(c.Timeline) > 0 {
		c.start = c.Timeline[0].At
	}
	return c
}

func (c *callFacts) summary() CallSummary {
	sum := CallSummary{Kind: c.kind, Name: c.name, Parties: c.parties, ID: c.ID, Started: c.start}
	if !c.start.IsZero() {
		end, ok := c.ended()
		if !ok {
			end = c.end
		}
		sum.Duration = max(end.Sub(c.start), 0)
	}
	return sum
}

// at is a moment of the call: "+1.25s".
func (c *callFacts) at(t time.Time) string { return fmt.Sprintf("+%.2fs", t.Sub(c.start).Seconds()) }

// seconds is a duration as details say it: "3.40s".
func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func ok2xx(status int) bool { return status >= 200 && status < 300 }

// requests are the bot's requests of one action.
func (c *callFacts) requests(action string) []admin.TimelineEntry {
	var out []admin.TimelineEntry
	for _, e := range c.Timeline {
		if e.Kind == admin.EntryRequest && e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// succeeded is the first request of an action answered 2xx.
func (c *callFacts) succeeded(action string) (admin.TimelineEntry, bool) {
	for _, e := range c.requests(action) {
		if ok2xx(e.Status) {
			return e, true
		}
	}
	return admin.TimelineEntry{}, false
}

// refusals says how requests of an action were refused: " (transfer at
// +2.00s was answered 400)", or "".
func (c *callFacts) refusals(action string) string {
	var refused []admin.TimelineEntry
	for _, e := range c.requests(action) {
		if !ok2xx(e.Status) {
			refused = append(refused, e)
		}
	}
	switch n := len(refused); n {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf(" (%s at %s was answered %d)", action, c.at(refused[0].At), refused[0].Status)
	default:
		last := refused[n-1]
		return fmt.Sprintf(" (%d %s requests were refused, the last at %s with %d)", n, action, c.at(last.At), last.Status)
	}
}

// undone says why no request of an action succeeded: there was none, or
// (never) each was refused; then how the call turned out.
func (c *callFacts) undone(action, never string) string {
	if len(c.requests(action)) == 0 {
		return "no " + action + " request; " + c.fate()
	}
	return never + c.refusals(action) + "; " + c.fate()
}

// personDid is the first thing the person did of a kind: pressed, spoke
// or hungUp.
func (c *callFacts) personDid(did string) (admin.TimelineEntry, bool) {
	for _, e := range c.Timeline {
		if e.Kind == admin.EntryPerson && e.Did == did {
			return e, true
		}
	}
	return admin.TimelineEntry{}, false
}

// ended is when the call ended, and whether it did.
func (c *callFacts) ended() (time.Time, bool) {
	if c.View.EndedAt != nil {
		return *c.View.EndedAt, true
	}
	if c.View.State == "terminated" && len(c.Timeline) > 0 {
		return c.Timeline[len(c.Timeline)-1].At, true
	}
	return time.Time{}, false
}

// fate says how the call turned out, for the details of expectations not
// met: what happened instead.
func (c *callFacts) fate() string {
	v := c.View
	when := func(action string) string {
		if e, ok := c.succeeded(action); ok {
			return " at " + c.at(e.At)
		}
		return ""
	}
	switch v.Outcome {
	case "botHungUp":
		if e, ok := c.succeeded("delete"); ok {
			return fmt.Sprintf("it hung up at %s (DELETE answered %d)", c.at(e.At), e.Status)
		}
		return "it hung up"
	case "rejected":
		return "it rejected the call" + when("reject") + withReason(v.Reason)
	case "redirected":
		return "it redirected the call" + when("redirect") + toTarget(v.Target)
	case "transferred":
		return "it transferred the call" + when("transfer") + toTarget(v.Target)
	case "callerHungUp":
		if e, ok := c.personDid("hungUp"); ok {
			return c.person + " hung up at " + c.at(e.At)
		}
		if end, ok := c.ended(); ok {
			return c.person + " hung up at " + c.at(end)
		}
		return c.person + " hung up"
	case "unanswered":
		if end, ok := c.ended(); ok {
			return "the call went unanswered and ended at " + c.at(end)
		}
		return "the call went unanswered"
	}
	switch v.State {
	case "established":
		if e, ok := c.succeeded("answer"); ok {
			return fmt.Sprintf("it answered at %s and the call was still up at the end (%s)", c.at(e.At), c.at(c.end))
		}
		return fmt.Sprintf("the call was still up at the end (%s)", c.at(c.end))
	case "terminated":
		if end, ok := c.ended(); ok {
			return fmt.Sprintf("the call ended at %s (%s)", c.at(end), cmp.Or(v.Outcome, "terminated"))
		}
		return fmt.Sprintf("the call ended (%s)", cmp.Or(v.Outcome, "terminated"))
	}
	return fmt.Sprintf("the call was still %s at the end (%s)", cmp.Or(v.State, "unknown"), c.at(c.end))
}

// withReason is " (reason busy)", or "" for no reason.
func withReason(r string) string {
	if r == "" {
		return ""
	}
	return " (reason " + r + ")"
}

// toTarget is " to bob", or "" for no target.
func toTarget(target *graph.IdentitySet) string {
	if id := identityID(target); id != "" {
		return " to " + id
	}
	return ""
}

// identityID is whom an identity set names: its user id, phone number or
// application id.
func identityID(s *graph.IdentitySet) string {
	if s == nil {
		return ""
	}
	for _, id := range []*graph.Identity{s.User, s.Phone, s.Application, s.ApplicationInstance, s.Guest} {
		if id != nil && id.ID != "" {
			return id.ID
		}
	}
	return ""
}

// reached says whether the call got to the bot, which then answered a
// notification of it or made a request about it; when not, why.
func (c *callFacts) reached() (bool, string) {
	var first *admin.TimelineEntry
	for i, e := range c.Timeline {
		if e.Kind == admin.EntryRequest || (e.Kind == admin.EntryNotification && e.AckStatus != 0) {
			return true, ""
		}
		if e.Kind == admin.EntryNotification && first == nil {
			first = &c.Timeline[i]
		}
	}
	if first == nil {
		return false, "callplane sent it no notification of the call"
	}
	return false, "its " + c.delivery(*first)
}

// notification names a notification: "updated /communications/calls/…"
// (the call's own id elided, the header gives it).
func (c *callFacts) notification(e admin.TimelineEntry) string {
	resource := e.ResourceURL
	if c.ID != "" {
		resource = strings.ReplaceAll(resource, c.ID, "…")
	}
	return strings.TrimSpace(e.ChangeType + " " + resource)
}

// delivery says what went wrong with a notification's delivery.
func (c *callFacts) delivery(e admin.TimelineEntry) string {
	what := c.notification(e)
	var how string
	switch e.Delivery {
	case "failed":
		how = fmt.Sprintf("failed after %d attempts", e.Attempts)
		if e.Attempts == 1 {
			how = "failed after 1 attempt"
		}
		if e.LastError != "" {
			how += ": " + e.LastError
		}
	case "dropped":
		how = "was dropped by a fault rule"
	case "pending":
		how = "was still pending at the end"
	default:
		how = fmt.Sprintf("was %s", cmp.Or(e.Delivery, "never delivered"))
	}
	if e.AckStatus != 0 && !ok2xx(e.AckStatus) {
		how = fmt.Sprintf("was answered %d", e.AckStatus)
	}
	return fmt.Sprintf("%s notification %s (message %s)", what, how, e.MessageID)
}

// judge says whether the call met an expectation, and what happened.
func (c *callFacts) judge(e Expectation) (bool, string) {
	if !c.placed {
		if c.kind == "meeting" {
			return false, "the bot was never invited: the run ended first"
		}
		return false, "the call was never placed: the run ended first"
	}
	if ok, why := c.reached(); !ok {
		return false, "the call never reached the bot: " + why
	}
	switch e.Kind {
	case Answers:
		return c.answers(e)
	case PlaysPrompt:
		return c.playsPrompt(e)
	case SubscribesToTone:
		return c.subscribesToTone(e)
	case Transfers:
		return c.transfers(e)
	case Records:
		return c.records(e)
	case HangsUp:
		return c.hangsUp()
	case KeepsAlive:
		return c.keepsAlive()
	case Acknowledges:
		return c.acknowledges(e)
	case Rejects:
		return c.rejects(e)
	case Redirects:
		return c.redirects()
	}
	return false, fmt.Sprintf("%q is no kind of expectation", e.Kind)
}

// ringing is when the call rang the bot: its created notification, else
// the call's creation.
func (c *callFacts) ringing() time.Time {
	for _, e := range c.Timeline {
		if e.Kind == admin.EntryNotification && e.ChangeType == "created" {
			return e.At
		}
	}
	return cmp.Or(c.View.CreatedAt, c.start)
}

func (c *callFacts) answers(e Expectation) (bool, string) {
	a, ok := c.succeeded("answer")
	if !ok {
		return false, "the bot never answered" + c.refusals("answer") + "; " + c.fate()
	}
	took := a.At.Sub(c.ringing())
	if e.Within > 0 && took > e.Within {
		return false, fmt.Sprintf("answered after %s (limit %s)", seconds(took), e.Within)
	}
	return true, "answered after " + seconds(took)
}

func (c *callFacts) playsPrompt(e Expectation) (bool, string) {
	var played []admin.TimelineEntry
	for _, r := range c.requests("playPrompt") {
		if ok2xx(r.Status) {
			played = append(played, r)
		}
	}
	want := max(e.AtLeast, 1)
	switch n := len(played); {
	case n >= want && n == 1:
		return true, "played a prompt at " + c.at(played[0].At)
	case n >= want:
		return true, fmt.Sprintf("played %d prompts, the first at %s", n, c.at(played[0].At))
	case n == 0:
		return false, c.undone("playPrompt", "no prompt played")
	default:
		return false, fmt.Sprintf("played %d of the %d prompts wanted%s; %s", n, want, c.refusals("playPrompt"), c.fate())
	}
}

func (c *callFacts) subscribesToTone(e Expectation) (bool, string) {
	sub, ok := c.succeeded("subscribeToTone")
	if !ok {
		return false, c.undone("subscribeToTone", "never subscribed to tones")
	}
	detail := "subscribed at " + c.at(sub.At)
	if !e.BeforeKeys {
		return true, detail
	}
	press, pressed := c.personDid("pressed")
	switch {
	case !pressed:
		return true, detail + "; " + c.person + " pressed no keys"
	case !sub.At.Before(press.At):
		return false, fmt.Sprintf("subscribeToTone at %s came after %s pressed %q at %s", c.at(sub.At), c.person, press.Keys, c.at(press.At))
	}
	return true, fmt.Sprintf("%s, before %s pressed %q at %s", detail, c.person, press.Keys, c.at(press.At))
}

func (c *callFacts) transfers(e Expectation) (bool, string) {
	t, ok := c.succeeded("transfer")
	if !ok {
		return false, "the bot never transferred" + c.refusals("transfer") + "; " + c.fate()
	}
	target := identityID(c.View.Target)
	done := fmt.Sprintf("transferred at %s (transfer answered %d)", c.at(t.At), t.Status)
	switch {
	case e.To == "" || target == e.To:
		return true, fmt.Sprintf("transferred at %s%s", c.at(t.At), toTarget(c.View.Target))
	case target == "":
		return false, done + ", but the simulator saw no transfer target"
	}
	return false, fmt.Sprintf("transferred at %s to %s, not %s", c.at(t.At), target, e.To)
}

func (c *callFacts) records(e Expectation) (bool, string) {
	rec, ok := c.succeeded("recordResponse")
	if !ok {
		return false, c.undone("recordResponse", "never recorded")
	}
	recorded := fmt.Sprintf("recorded (recordResponse %d at %s)", rec.Status, c.at(rec.At))
	if !e.Download {
		return true, recorded
	}
	downloads := c.requests("downloadRecording")
	for _, d := range downloads {
		if d.Status == 200 {
			return true, recorded + " and downloaded the recording at " + c.at(d.At)
		}
	}
	if len(downloads) > 0 {
		last := downloads[len(downloads)-1]
		return false, fmt.Sprintf("%s but its download at %s was answered %d", recorded, c.at(last.At), last.Status)
	}
	return false, recorded + " but never downloaded the recording"
}

func (c *callFacts) hangsUp() (bool, string) {
	if d, ok := c.succeeded("delete"); ok {
		return true, fmt.Sprintf("hung up at %s (DELETE answered %d)", c.at(d.At), d.Status)
	}
	return false, "the bot never hung up" + c.refusals("delete") + "; " + c.fate()
}

func (c *callFacts) keepsAlive() (bool, string) {
	keepAlives := c.requests("keepAlive")
	refused := c.refusals("keepAlive")
	if c.View.State == "established" {
		detail := fmt.Sprintf("still established at the end (%s)", c.at(c.end))
		if n := len(keepAlives); n > 0 {
			detail += fmt.Sprintf(", %d keepAlive requests%s", n, refused)
		}
		return true, detail
	}
	switch {
	case len(keepAlives) == 0:
		return false, c.fate() + ", and the bot sent no keepAlive"
	case refused != "":
		return false, c.fate() + "; keepAlive was refused" + refused
	}
	return true, fmt.Sprintf("%d keepAlive requests, all answered 2xx; %s", len(keepAlives), c.fate())
}

func (c *callFacts) acknowledges(e Expectation) (bool, string) {
	var sent, late []admin.TimelineEntry
	dropped := 0
	for _, n := range c.Timeline {
		switch {
		case n.Kind != admin.EntryNotification:
		case n.Delivery == "dropped":
			// A fault rule kept it from the bot, which cannot be
			// blamed for not acknowledging it.
			dropped++
		default:
			sent = append(sent, n)
			if !acknowledged(n, e.Within) {
				late = append(late, n)
			}
		}
	}
	note := ""
	if dropped > 0 {
		note = fmt.Sprintf(" (%d dropped by a fault rule, not counted)", dropped)
	}
	if len(sent) == 0 {
		return true, "no notification to acknowledge" + note
	}
	if len(late) == 0 {
		slowest := slices.MaxFunc(sent, func(a, b admin.TimelineEntry) int { return cmp.Compare(a.AckMs, b.AckMs) })
		return true, fmt.Sprintf("%d notifications, all acknowledged%s; the slowest took %s (%s)", len(sent), note,
			seconds(ackDuration(slowest)), c.notification(slowest))
	}
	worst := slices.MaxFunc(late, func(a, b admin.TimelineEntry) int {
		return cmp.Or(cmp.Compare(badness(a), badness(b)), cmp.Compare(a.AckMs, b.AckMs))
	})
	how := "were not acknowledged"
	if e.Within > 0 {
		how += " in time"
	}
	if len(late) == 1 {
		how = strings.Replace(how, "were", "was", 1)
	}
	var what string
	if badness(worst) == 0 {
		what = fmt.Sprintf("%s took %s (message %s)", c.notification(worst), seconds(ackDuration(worst)), worst.MessageID)
	} else {
		what = c.delivery(worst)
	}
	return false, fmt.Sprintf("%d of %d notifications %s%s: %s", len(late), len(sent), how, note, what)
}

// acknowledged says a notification was delivered and acknowledged with a
// 2xx within the bound (0: any time).
func acknowledged(n admin.TimelineEntry, within time.Duration) bool {
	return badness(n) == 0 && (within == 0 || ackDuration(n) <= within)
}

// badness ranks what went wrong with a notification: never delivered is
// worse than refused, which is worse than slow.
func badness(n admin.TimelineEntry) int {
	switch {
	case n.Delivery != "delivered":
		return 2
	case n.AckStatus != 0 && !ok2xx(n.AckStatus):
		return 1
	}
	return 0
}

func ackDuration(n admin.TimelineEntry) time.Duration {
	return time.Duration(n.AckMs * float64(time.Millisecond))
}

func (c *callFacts) rejects(e Expectation) (bool, string) {
	r, ok := c.succeeded("reject")
	if !ok {
		return false, "the bot never rejected" + c.refusals("reject") + "; " + c.fate()
	}
	got := "none"
	if c.View.Outcome == "rejected" && c.View.Reason != "" {
		got = c.View.Reason
	}
	if e.Reason != "" && got != e.Reason {
		return false, fmt.Sprintf("rejected at %s with reason %s, not %s", c.at(r.At), got, e.Reason)
	}
	return true, fmt.Sprintf("rejected at %s (reason %s)", c.at(r.At), got)
}

func (c *callFacts) redirects() (bool, string) {
	r, ok := c.succeeded("redirect")
	if !ok {
		return false, "the bot never redirected" + c.refusals("redirect") + "; " + c.fate()
	}
	return true, "redirected at " + c.at(r.At) + toTarget(c.View.Target)
}
