package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// TestAddLargeGalleryView: in a meeting, addLargeGalleryView answers 202
// with the running operation and its Location, then the operation's
// completion arrives by notification, as Graph's page shows; a
// peer-to-peer call refuses it.
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
	checkNotificationSchemas(t, l.bot)

	p2p := env.PlaceCall(t, testbot.Start(t).URL)
	checkGraphError(t, env.Do(t, http.MethodPost, testenv.CallPath(p2p.ID)+"/addLargeGalleryView", env.Token, map[string]any{}), http.StatusBadRequest, "BadRequest")
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
