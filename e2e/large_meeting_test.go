package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// TestLargeMeetingRosters: a meeting of more than 100 people does not send
// its whole roster to every leg on every change: a full-roster leg gets the
// whole roster up to 100 participants, and above that only what changed,
// as a delta-roster leg does; the whole roster stays a GET away. A meeting
// takes at most 1,000 participants.
func TestLargeMeetingRosters(t *testing.T) {
	env := testenv.Start(t)
	people := make([]string, call.MaxFullRoster-2)
	for i := range people {
		people[i] = fmt.Sprintf("person-%03d", i)
	}
	m := createMeeting(t, env, people...)
	l := join(t, env, env.Token, m, "organizer", false) // full roster
	app := env.Server.Directory().DefaultApplication().ClientID
	l.waitRoster(t, "the whole roster", func(p, _ []string) bool { return len(p) == len(people)+1 })

	add := func(id string) {
		t.Helper()
		if r := sim(t, env, http.MethodPost, "/meetings/"+m.ID+"/participants", graph.IdentitySet{User: &graph.Identity{ID: id}}); r.Status != http.StatusCreated {
			t.Fatalf("add %s: %d %s", id, r.Status, r.Body)
		}
	}
	add("the-100th") // 100 participants: still sent whole
	l.waitRoster(t, "the roster of 100", func(p, _ []string) bool { return len(p) == call.MaxFullRoster })
	add("the-101st") // over the limit: only the change
	present, _ := l.waitRoster(t, "only the change", func(p, _ []string) bool { return same(p, "the-101st") })
	if len(present) != 1 {
		t.Fatalf("roster notification of %d participants", len(present))
	}
	if got := l.participants(t); len(got) != call.MaxFullRoster+1 {
		t.Fatalf("GET participants: %d, want all %d", len(got), call.MaxFullRoster+1)
	}
	// Another bot joining the large meeting hears its own arrival, not 102
	// participants.
	other := &leg{env: env, bot: testbot.Start(t), token: env.Token}
	r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, joinBody(other.bot.URL, m, "joinMeetingId", false))
	r.JSON(t, &other.call)
	other.waitEstablished(t, m)
	other.waitRoster(t, "its own arrival", func(p, _ []string) bool { return same(p, app) })
}

// TestMeetingCapacity: a meeting admits at most 1,000 participants.
func TestMeetingCapacity(t *testing.T) {
	env := testenv.Start(t)
	req := admin.MeetingRequest{}
	for i := range call.MaxGroupSize + 1 {
		req.Participants = append(req.Participants, graph.IdentitySet{User: &graph.Identity{ID: fmt.Sprint("p", i)}})
	}
	if r := sim(t, env, http.MethodPost, "/meetings", req); r.Status != http.StatusConflict {
		t.Fatalf("a meeting of %d: %d %s", call.MaxGroupSize+1, r.Status, r.Body)
	}
	req.Participants = req.Participants[:call.MaxGroupSize]
	r := sim(t, env, http.MethodPost, "/meetings", req)
	var m admin.GroupView
	r.JSON(t, &m)
	if r := sim(t, env, http.MethodPost, "/meetings/"+m.ID+"/participants", graph.IdentitySet{User: &graph.Identity{ID: "one too many"}}); r.Status != http.StatusConflict {
		t.Fatalf("person 1,001: %d %s", r.Status, r.Body)
	}
	bot := testbot.Start(t)
	r = env.Do(t, http.MethodPost, "/v1.0/communications/calls", env.Token, joinBody(bot.URL, m, "organizer", false))
	if r.Status != http.StatusCreated {
		t.Fatalf("join: %d %s", r.Status, r.Body)
	}
	c := graphID(t, r)
	got := bot.WaitAcked(t, wait, "/communications/calls/"+c, 4)
	if last := got[len(got)-1]; last.State != "terminated" || last.ResultInfo == nil || last.ResultInfo.Code != 480 {
		t.Fatalf("a bot joining a full meeting: %v, %+v", states(got), last.ResultInfo)
	}
}
