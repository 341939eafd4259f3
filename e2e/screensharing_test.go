package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// TestChangeScreenSharingRole: a bot with app-hosted media in a meeting
// becomes a sharer (202, no body) and every leg's roster shows its
// screen-sharing stream, sendOnly, as Graph's page shows; back to viewer,
// the stream goes. A bad role, a service-hosted leg and a peer-to-peer
// call are refused.
func TestChangeScreenSharingRole(t *testing.T) {
	env := testenv.Start(t)
	m := createMeeting(t, env, "alice")
	legs := make([]*leg, 2)
	for i := range legs {
		app, _, err := env.Server.Directory().AddApplication(auth.AppSettings{DisplayName: fmt.Sprint("sharing bot ", i)})
		if err != nil {
			t.Fatal(err)
		}
		token, _, _ := env.Server.Tokens().AppToken(app)
		l := &leg{env: env, bot: testbot.Start(t), token: token}
		body := joinBody(l.bot.URL, m, "organizer", false)
		body["mediaConfig"] = map[string]any{"@odata.type": "#microsoft.graph.appHostedMediaConfig", "blob": "<media config>"}
		r := env.Do(t, http.MethodPost, "/v1.0/communications/calls", token, body)
		if r.Status != http.StatusCreated {
			t.Fatalf("join with app-hosted media: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &l.call)
		l.waitEstablished(t, m)
		legs[i] = l
	}
	sharer := legs[0]
	sharing := func(l *leg) (bool, string) {
		rs := testbot.Acked(l.bot.All(), l.roster())
		if len(rs) == 0 {
			return false, ""
		}
		last := string(rs[len(rs)-1].Data)
		return strings.Contains(last, `"videoBasedScreenSharing"`), last
	}
	role := func(r string) testenv.Response {
		return env.Do(t, http.MethodPost, testenv.CallPath(sharer.call.ID)+"/changeScreenSharingRole", sharer.token, map[string]any{"role": r})
	}
	if r := role("sharer"); r.Status != http.StatusAccepted || len(r.Body) != 0 {
		t.Fatalf("sharer: %d %s", r.Status, r.Body)
	}
	for i, l := range legs {
		l.bot.Wait(t, wait, "the sharer's stream in the roster", func([]testbot.Notification) bool { on, _ := sharing(l); return on })
		if _, last := sharing(l); !strings.Contains(last, `"direction":"sendOnly"`) || !strings.Contains(last, `"label":"applicationsharing-video"`) {
			t.Errorf("leg %d's roster: %s", i, last)
		}
	}
	if r := role("viewer"); r.Status != http.StatusAccepted {
		t.Fatalf("viewer: %d %s", r.Status, r.Body)
	}
	for _, l := range legs {
		l.bot.Wait(t, wait, "the stream gone", func([]testbot.Notification) bool { on, last := sharing(l); return !on && last != "" })
	}
	checkNotificationSchemas(t, legs[0].bot, legs[1].bot)

	checkGraphError(t, role("presenter"), http.StatusBadRequest, "BadRequest")
	service := join(t, env, env.Token, m, "organizer", false)
	checkGraphError(t, env.Do(t, http.MethodPost, testenv.CallPath(service.call.ID)+"/changeScreenSharingRole", env.Token, map[string]any{"role": "sharer"}),
		http.StatusBadRequest, "BadRequest")
	p2p := env.PlaceCall(t, testbot.Start(t).URL)
	checkGraphError(t, env.Do(t, http.MethodPost, testenv.CallPath(p2p.ID)+"/changeScreenSharingRole", env.Token, map[string]any{"role": "sharer"}),
		http.StatusBadRequest, "BadRequest")
}
