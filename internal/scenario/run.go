package scenario

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/callplane/callplane/internal/admin"
)

// Simulator is what Run needs of callplane's admin API; the CLI implements
// it over HTTP.
type Simulator interface {
	Reset(ctx context.Context) error
	// SetWebhook sets an application's calling webhook; appID "" is the
	// dev application.
	SetWebhook(ctx context.Context, appID, webhook string) error
	SetPerson(ctx context.Context, id string, p admin.PersonRequest) error
	AddFault(ctx context.Context, rule map[string]any) error
	PlaceCall(ctx context.Context, req admin.CallRequest) (admin.CallView, error)
	CreateMeeting(ctx context.Context, req admin.MeetingRequest) (admin.GroupView, error)
	// InviteApplication invites the bot to a meeting: the view is the bot's
	// incoming call from it. appID "" is the dev application.
	InviteApplication(ctx context.Context, meetingID, appID string) (admin.CallView, error)
	// HangUp has the person on a call hang up.
	HangUp(ctx context.Context, callID string) error
	Call(ctx context.Context, callID string) (admin.CallView, error)
	Timeline(ctx context.Context, callID string) (admin.Timeline, error)
}

// RunOptions adjust a run.
type RunOptions struct {
	// AppID and Webhook, when set, override the file's bot section.
	AppID, Webhook string
	// NoReset keeps what callplane holds instead of resetting it first.
	NoReset bool
	// Now stamps the run's start and end (default time.Now). The run's
	// waits are real ones: it drives a real callplane.
	Now func() time.Time
	// Poll is how often the calls are looked at (default 100ms).
	Poll time.Duration
	// Log, when set, gets a line for each step of the run.
	Log io.Writer
}

// DefaultPoll is how often a run looks at its calls unless told.
const DefaultPoll = 100 * time.Millisecond

// cleanupTimeout bounds hanging up the calls of a run that failed.
const cleanupTimeout = 5 * time.Second

// Run plays a scenario against callplane: it resets it (unless NoReset),
// applies the world (the bot's webhook, the people, the fault rules), then
// creates the meetings and places the calls at their times, counted from
// that moment (the report's start), and hangs calls up at their
// hangupAfter. It waits until every call has ended or the scenario's
// timeout has passed, reads each call's view and timeline, and evaluates
// the expectations.
//
// The error is for a run that could not happen: callplane unreachable, a
// request refused. Expectations not met are the report's. A run that
// fails hangs up the calls it placed, so none is left ringing the bot.
func Run(ctx context.Context, s *Scenario, sim Simulator, opts RunOptions) (Report, error) {
	r := &run{s: s, sim: sim, opts: opts, app: cmp.Or(opts.AppID, s.Bot.Application), timeout: s.Timeout}
	if r.timeout <= 0 {
		// A scenario built by hand, not parsed, may have none.
		r.timeout = DefaultTimeout
	}
	if r.opts.Now == nil {
		r.opts.Now = time.Now
	}
	if r.opts.Poll <= 0 {
		r.opts.Poll = DefaultPoll
	}
	if err := r.apply(ctx); err != nil {
		return Report{}, err
	}
	obs, err := r.play(ctx)
	if err != nil {
		r.cleanup(ctx)
		return Report{}, err
	}
	return Evaluate(s, obs), nil
}

// run is one run of a scenario.
type run struct {
	s    *Scenario
	sim  Simulator
	opts RunOptions
	// app is the bot's application, "" for the dev application.
	app     string
	timeout time.Duration
	// begun is when the calls' times count from, on the monotonic clock.
	begun time.Time
	// steps are what is left to do, in time order.
	steps []step
	// calls are the bot's calls placed so far.
	calls []*liveCall
}

// liveCall is one of the bot's calls during the run.
type liveCall struct {
	name, kind string
	view       admin.CallView
}

func (c *liveCall) ended() bool { return c.view.State == "terminated" }

func (r *run) logf(format string, args ...any) {
	if r.opts.Log == nil {
		return
	}
	if !r.begun.IsZero() {
		format = "+%.2fs " + format
		args = append([]any{time.Since(r.begun).Seconds()}, args...)
	}
	fmt.Fprintf(r.opts.Log, format+"\n", args...)
}

// apply sets up the world before any call.
func (r *run) apply(ctx context.Context) error {
	if !r.opts.NoReset {
		if err := r.sim.Reset(ctx); err != nil {
			return fmt.Errorf("reset callplane: %w", err)
		}
		r.logf("reset callplane")
	}
	if webhook := cmp.Or(r.opts.Webhook, r.s.Bot.Webhook); webhook != "" {
		if err := r.sim.SetWebhook(ctx, r.app, webhook); err != nil {
			return fmt.Errorf("set the calling webhook of %s: %w", r.appName(), err)
		}
		r.logf("calling webhook of %s: %s", r.appName(), webhook)
	}
	for _, p := range r.s.People {
		if err := r.sim.SetPerson(ctx, p.ID, personRequest(p)); err != nil {
			return fmt.Errorf("set person %s: %w", p.ID, err)
		}
		r.logf("person %s answers %s", p.ID, cmp.Or(p.Answer, "auto"))
	}
	for i, rule := range r.s.Faults {
		if err := r.sim.AddFault(ctx, rule); err != nil {
			return fmt.Errorf("add fault rule %d (%v): %w", i+1, rule["kind"], err)
		}
		r.logf("fault rule %d: %v", i+1, rule["kind"])
	}
	return nil
}

func (r *run) appName() string {
	if r.app == "" {
		return "the dev application"
	}
	return "application " + r.app
}

func personRequest(p Person) admin.PersonRequest {
	req := admin.PersonRequest{DisplayName: p.Name, Answer: cmp.Or(p.Answer, "auto")}
	if p.Delay > 0 {
		req.AnswerDelay = p.Delay.String()
	}
	for _, s := range p.Script {
		step := admin.ScriptStepView{On: s.On, Press: s.Press, Hangup: s.Hangup}
		if s.After > 0 {
			step.After = s.After.String()
		}
		if s.Speak > 0 {
			step.Speak = s.Speak.String()
		}
		req.Script = append(req.Script, step)
	}
	return req
}

// step is something the run does at a time: create a meeting, place a
// call, hang one up.
type step struct {
	at time.Duration
	// hangup is a hang-up step's call; nil for the others.
	hangup *liveCall
	do     func(ctx context.Context) error
}

// play runs the calls and meetings and observes them.
func (r *run) play(ctx context.Context) (Observation, error) {
	// Meetings come before calls due at the same time, as in the file:
	// schedule puts a step after those due when it is.
	for _, m := range r.s.Meetings {
		r.schedule(step{at: m.At, do: func(ctx context.Context) error { return r.meeting(ctx, m) }})
	}
	for _, c := range r.s.Calls {
		r.schedule(step{at: c.At, do: func(ctx context.Context) error { return r.place(ctx, c) }})
	}

	obs := Observation{Started: r.opts.Now()}
	r.begun = time.Now()
	for {
		for len(r.steps) > 0 && r.steps[0].at <= time.Since(r.begun) {
			next := r.steps[0]
			r.steps = r.steps[1:]
			if err := next.do(ctx); err != nil {
				return Observation{}, err
			}
		}
		if err := r.poll(ctx); err != nil {
			return Observation{}, err
		}
		if r.done() {
			r.logf("every call has ended")
			break
		}
		elapsed := time.Since(r.begun)
		if elapsed >= r.timeout {
			r.logf("timeout (%s): %d of %d calls still up", r.timeout, r.live(), len(r.calls))
			break
		}
		wait := min(r.opts.Poll, r.timeout-elapsed)
		if len(r.steps) > 0 {
			wait = min(wait, r.steps[0].at-elapsed)
		}
		if err := sleep(ctx, wait); err != nil {
			return Observation{}, err
		}
	}
	obs.Ended = r.opts.Now()
	for _, c := range r.calls {
		oc, err := r.observe(ctx, c)
		if err != nil {
			return Observation{}, err
		}
		obs.Calls = append(obs.Calls, oc)
	}
	return obs, nil
}

// schedule adds a step in time order, after those due at the same time.
func (r *run) schedule(s step) {
	i := slices.IndexFunc(r.steps, func(e step) bool { return e.at > s.at })
	if i < 0 {
		i = len(r.steps)
	}
	r.steps = slices.Insert(r.steps, i, s)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// done says nothing is left to happen: every meeting and call is out and
// every call has ended. A hang-up still to come of a call that ended
// needs no waiting for.
func (r *run) done() bool {
	for _, s := range r.steps {
		if s.hangup == nil || !s.hangup.ended() {
			return false
		}
	}
	return r.live() == 0
}

// live counts the calls that have not ended.
func (r *run) live() int {
	n := 0
	for _, c := range r.calls {
		if !c.ended() {
			n++
		}
	}
	return n
}

// place places a call, and schedules its hang-up.
func (r *run) place(ctx context.Context, c Call) error {
	from, err := party(c.From, false, "")
	if err != nil {
		return fmt.Errorf("call %s: %w", c.Name, err)
	}
	if from.User != nil && from.User.DisplayName == "" {
		from.User.DisplayName = person(from.User.ID, r.s.People).User.DisplayName
	}
	to, err := party(c.To, true, r.app)
	if err != nil {
		return fmt.Errorf("call %s: %w", c.Name, err)
	}
	view, err := r.sim.PlaceCall(ctx, admin.CallRequest{From: from, To: to, RequestedModalities: []string{"audio"}})
	if err != nil {
		return fmt.Errorf("place call %s (%s → %s): %w", c.Name, c.From, c.To, err)
	}
	live := &liveCall{name: c.Name, kind: "call", view: view}
	r.calls = append(r.calls, live)
	r.logf("call %s (%s → %s) placed: id %s", c.Name, c.From, c.To, view.ID)
	if c.HangupAfter > 0 {
		r.schedule(step{at: time.Since(r.begun) + c.HangupAfter, hangup: live, do: func(ctx context.Context) error {
			return r.hangUp(ctx, live, c.HangupAfter)
		}})
	}
	return nil
}

func (r *run) meeting(ctx context.Context, m Meeting) error {
	req := admin.MeetingRequest{Subject: cmp.Or(m.Subject, m.Name)}
	for _, id := range m.People {
		req.Participants = append(req.Participants, person(id, r.s.People))
	}
	g, err := r.sim.CreateMeeting(ctx, req)
	if err != nil {
		return fmt.Errorf("create meeting %s: %w", m.Name, err)
	}
	r.logf("meeting %s created: id %s", m.Name, g.ID)
	if !m.InviteBot {
		return nil
	}
	view, err := r.sim.InviteApplication(ctx, g.ID, r.app)
	if err != nil {
		return fmt.Errorf("invite %s to meeting %s: %w", r.appName(), m.Name, err)
	}
	r.calls = append(r.calls, &liveCall{name: m.Name, kind: "meeting", view: view})
	r.logf("meeting %s: %s invited, call id %s", m.Name, r.appName(), view.ID)
	return nil
}

// hangUp has the person hang up, if the call still lives.
func (r *run) hangUp(ctx context.Context, c *liveCall, after time.Duration) error {
	if c.ended() {
		return nil
	}
	if err := r.sim.HangUp(ctx, c.view.ID); err != nil {
		// The call may have ended since it was last looked at.
		if view, verr := r.sim.Call(ctx, c.view.ID); verr == nil && view.State == "terminated" {
			c.view = view
			return nil
		}
		return fmt.Errorf("hang up call %s: %w", c.name, err)
	}
	r.logf("call %s: the caller hung up (hangupAfter %s)", c.name, after)
	return nil
}

// poll looks at the calls that have not ended.
func (r *run) poll(ctx context.Context) error {
	for _, c := range r.calls {
		if c.ended() {
			continue
		}
		view, err := r.sim.Call(ctx, c.view.ID)
		if err != nil {
			return fmt.Errorf("look at %s %s: %w", c.kind, c.name, err)
		}
		c.view = view
		if c.ended() {
			r.logf("%s %s ended (%s)", c.kind, c.name, cmp.Or(view.Outcome, "terminated"))
		}
	}
	return nil
}

func (r *run) observe(ctx context.Context, c *liveCall) (ObservedCall, error) {
	view, err := r.sim.Call(ctx, c.view.ID)
	if err != nil {
		return ObservedCall{}, fmt.Errorf("look at %s %s: %w", c.kind, c.name, err)
	}
	// The last notifications of a call that just ended may still be on
	// their way to the bot: their deliveries get settleTime to finish.
	settled := time.Now().Add(settleTime)
	for {
		tl, err := r.sim.Timeline(ctx, c.view.ID)
		if err != nil {
			return ObservedCall{}, fmt.Errorf("read the timeline of %s %s: %w", c.kind, c.name, err)
		}
		if !pending(tl.Value) || !time.Now().Before(settled) {
			return ObservedCall{Name: c.name, ID: c.view.ID, View: view, Timeline: tl.Value}, nil
		}
		if err := sleep(ctx, r.opts.Poll); err != nil {
			return ObservedCall{}, err
		}
	}
}

// settleTime bounds the wait for a call's last deliveries once it ended.
const settleTime = 2 * time.Second

// pending says some notification of a timeline is still being delivered.
func pending(entries []admin.TimelineEntry) bool {
	return slices.ContainsFunc(entries, func(e admin.TimelineEntry) bool {
		return e.Kind == admin.EntryNotification && e.Delivery == "pending"
	})
}

// cleanup hangs up the calls of a failed run, as best it can: the run's
// context may be the reason it failed.
func (r *run) cleanup(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	for _, c := range r.calls {
		// A meeting's call has no person of its own to hang up.
		if c.kind != "call" || c.ended() {
			continue
		}
		if err := r.sim.HangUp(ctx, c.view.ID); err != nil {
			r.logf("call %s: could not hang up: %v", c.name, err)
			continue
		}
		r.logf("call %s: hung up, the run having failed", c.name)
	}
}
