package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// TestAddLargeGalleryView: in a meeting, addLargeGalleryView answers 202
// with the running operation and its Location, then the operation's
// completion arrives by notification, as Graph's page shows, and the
// gallery joins the roster (and leaves with the leg); a peer-to-peer call
// refuses it.
func TestAddLargeGalleryView(t *testing.T) {
	env := testenv.Start(t)
	m := createMeeting(t, env, "alice")
	l := join(t, env, env.Token, m, "organizer", false)
	r := env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/addLargeGalleryView", env.Token, map[string]any{"clientContext": "785f4929"})
	if r.Status != http.StatusAccepted {
		t.Fatalf("addLargeGalleryView: %d %s", r.Status, r.Body)
	}
	checkSchema(t, "microsoft.graph.addLargeGalleryViewOperation", r.Body)
	var op graph.Operation
	r.JSON(t, &op)
	if op.Status != "running" && op.Status != "Running" {
		t.Fatalf("status %q, want running", op.Status)
	}
	if !strings.HasSuffix(r.Header.Get("Location"), "/communications/calls/"+l.call.ID+"/operations/"+op.ID) || op.ClientContext != "785f4929" {
		t.Fatalf("Location %q, operation %s", r.Header.Get("Location"), r.Body)
	}
	done := l.bot.WaitAcked(t, wait, "/communications/calls/"+l.call.ID+"/operations/"+op.ID, 1)[0]
	var finished graph.Operation
	json.Unmarshal(done.Data, &finished)
	if done.ChangeType != "deleted" || finished.ODataType != "#microsoft.graph.addLargeGalleryViewOperation" || !strings.EqualFold(finished.Status, "completed") {
		t.Fatalf("completion: %s %s", done.ChangeType, done.Data)
	}

	// The gallery joins the roster, as Graph's "Identify large gallery
	// view participants in a roster" shows it, after the completion; a
	// second bot in the meeting sees it too, and sees it go with its leg.
	other := join(t, env, env.Token, m, "organizer", false)
	gallery := func(l *leg) (graph.Participant, bool) {
		for _, p := range l.participants(t) {
			if a := p.Info.Identity.Application; a != nil && a.ApplicationType == "LargeGallery-V2" {
				return p, true
			}
		}
		return graph.Participant{}, false
	}
	p, ok := gallery(other)
	if !ok {
		t.Fatal("no large gallery view in the roster")
	}
	var metadata struct {
		AudienceView struct {
			ID     string `json:"id"`
			Page   int    `json:"page"`
			Status string `json:"status"`
			Type   string `json:"type"`
		} `json:"audienceView"`
	}
	if err := json.Unmarshal([]byte(p.Metadata), &metadata); err != nil || metadata.AudienceView.Page != 1 || metadata.AudienceView.Status != "active" || metadata.AudienceView.Type != "lg" {
		t.Fatalf("the gallery's metadata: %q (%v)", p.Metadata, err)
	}
	if len(p.MediaStreams) != 2 || p.MediaStreams[1].MediaType != "video" || p.MediaStreams[1].Direction != "sendReceive" || p.MediaStreams[0].Direction != "receiveOnly" {
		t.Fatalf("the gallery's streams: %+v", p.MediaStreams)
	}
	// The first roster showing the gallery comes after the completion.
	for _, n := range testbot.Acked(l.bot.All(), l.roster()) {
		if strings.Contains(string(n.Data), `"ApplicationType":"LargeGallery-V2"`) {
			if n.At.Before(done.At) {
				t.Fatalf("the gallery was in the roster before the operation completed")
			}
			break
		}
	}
	// A second addLargeGalleryView completes, and the leg still has one.
	r = env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/addLargeGalleryView", env.Token, map[string]any{})
	if r.Status != http.StatusAccepted {
		t.Fatalf("a second addLargeGalleryView: %d %s", r.Status, r.Body)
	}
	var second graph.Operation
	r.JSON(t, &second)
	l.bot.WaitAcked(t, wait, "/communications/calls/"+l.call.ID+"/operations/"+second.ID, 1)
	galleries := 0
	for _, p := range other.participants(t) {
		if a := p.Info.Identity.Application; a != nil && a.ApplicationType == "LargeGallery-V2" {
			galleries++
		}
	}
	if galleries != 1 {
		t.Fatalf("%d large gallery views after a second addLargeGalleryView, want 1", galleries)
	}
	// It sends no audio to mute.
	checkAdminError(t, sim(t, env, http.MethodPost, "/meetings/"+m.ID+"/participants/"+p.ID+"/mute", nil), http.StatusBadRequest)
	if r := env.Do(t, http.MethodDelete, testenv.CallPath(l.call.ID), env.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("hang up: %d %s", r.Status, r.Body)
	}
	other.waitRoster(t, "the gallery gone with its leg", func(present, removed []string) bool { return !slices.Contains(present, p.ID) })
	if _, ok := gallery(other); ok {
		t.Fatal("the gallery outlived its leg")
	}
	checkNotificationSchemas(t, l.bot, other.bot)

	p2p := env.PlaceCall(t, testbot.Start(t).URL)
	checkGraphError(t, env.Do(t, http.MethodPost, testenv.CallPath(p2p.ID)+"/addLargeGalleryView", env.Token, map[string]any{}), http.StatusBadRequest, "BadRequest")
}

// TestRemovingTheLargeGalleryView: a bot alone in a meeting takes its
// large gallery view out of the roster (DELETE …/participants/{id}); the
// meeting goes on, since no person left it.
func TestRemovingTheLargeGalleryView(t *testing.T) {
	env := testenv.Start(t)
	m := createMeeting(t, env)
	l := join(t, env, env.Token, m, "organizer", false)
	r := env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/addLargeGalleryView", env.Token, map[string]any{})
	var op graph.Operation
	r.JSON(t, &op)
	l.bot.WaitAcked(t, wait, "/communications/calls/"+l.call.ID+"/operations/"+op.ID, 1)
	var gallery string
	for _, p := range l.participants(t) {
		if p.ID != l.call.MyParticipantID {
			gallery = p.ID
		}
	}
	if gallery == "" {
		t.Fatal("no large gallery view in the roster")
	}
	if r := env.Do(t, http.MethodDelete, testenv.CallPath(l.call.ID)+"/participants/"+gallery, env.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("remove the gallery: %d %s", r.Status, r.Body)
	}
	l.waitRoster(t, "the gallery gone", func(present, removed []string) bool { return !slices.Contains(present, gallery) })
	r = env.Do(t, http.MethodGet, testenv.CallPath(l.call.ID), env.Token, nil)
	var c graph.Call
	r.JSON(t, &c)
	if c.State != "established" || len(testbot.Acked(l.bot.All(), l.resource())) != 2 {
		t.Fatalf("the leg after its gallery left: %s, %s", c.State, testbot.Describe(testbot.Acked(l.bot.All(), l.resource())))
	}
}

// TestConfigureMixerIsUnknown: configureMixer is not in Graph's v1.0
// schema, so callplane answers it as it answers any action it does not
// know, naming it.
func TestConfigureMixerIsUnknown(t *testing.T) {
	env := testenv.Start(t)
	m := createMeeting(t, env, "alice")
	l := join(t, env, env.Token, m, "organizer", false)
	r := env.Do(t, http.MethodPost, testenv.CallPath(l.call.ID)+"/participants/configureMixer", env.Token, map[string]any{})
	checkGraphError(t, r, http.StatusBadRequest, "BadRequest")
	if !strings.Contains(string(r.Body), "configureMixer") {
		t.Fatalf("the error does not name the action: %s", r.Body)
	}
}
