package e2e

import (
	"net/http"
	"testing"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// TestAudioRoutingGroups: a bot in a meeting creates a oneToOne and a
// multicast audio routing group of the roster's participants (200, as
// Graph answers), lists and gets them, updates the multicast group's
// receivers (only those), deletes one (204); every body is valid Graph.
// Groups of participants not in the call, a oneToOne of two receivers, a
// peer-to-peer call and an application without group-call permissions are
// refused.
func TestAudioRoutingGroups(t *testing.T) {
	env := testenv.Start(t)
	m := createMeeting(t, env, "alice", "bob")
	l := join(t, env, env.Token, m, "organizer", false)
	ids := map[string]string{}
	for _, p := range l.participants(t) {
		ids[idOf(p.Info.Identity)] = p.ID
	}
	alice, bob := ids["alice"], ids["bob"]
	if alice == "" || bob == "" {
		t.Fatalf("roster %v", ids)
	}
	base := testenv.CallPath(l.call.ID) + "/audioRoutingGroups"
	do := func(method, path string, body any) testenv.Response {
		t.Helper()
		return env.Do(t, method, path, env.Token, body)
	}

	r := do(http.MethodPost, base, map[string]any{"id": "oneToOne", "routingMode": "oneToOne", "sources": []string{alice}, "receivers": []string{bob}})
	if r.Status != http.StatusOK {
		t.Fatalf("create oneToOne: %d %s", r.Status, r.Body)
	}
	checkSchema(t, "microsoft.graph.audioRoutingGroup", r.Body)
	var one graph.AudioRoutingGroup
	r.JSON(t, &one)
	if one.ID != "oneToOne" || *one.RoutingMode != "oneToOne" || (*one.Sources)[0] != alice || (*one.Receivers)[0] != bob {
		t.Fatalf("created %s", r.Body)
	}
	r = do(http.MethodPost, base, map[string]any{"routingMode": "multicast", "sources": []string{bob}, "receivers": []string{alice, l.call.MyParticipantID}})
	if r.Status != http.StatusOK {
		t.Fatalf("create multicast: %d %s", r.Status, r.Body)
	}
	var multi graph.AudioRoutingGroup
	r.JSON(t, &multi)
	if multi.ID == "" {
		t.Fatalf("a group created without an id got none: %s", r.Body)
	}

	r = do(http.MethodGet, base, nil)
	checkSchema(t, "Collection(microsoft.graph.audioRoutingGroup)", r.Body)
	var list graph.AudioRoutingGroupList
	r.JSON(t, &list)
	if len(list.Value) != 2 || list.Value[0].ID != "oneToOne" || list.Value[1].ID != multi.ID {
		t.Fatalf("list: %s", r.Body)
	}
	if r := do(http.MethodGet, base+"/oneToOne", nil); r.Status != http.StatusOK {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	} else {
		checkSchema(t, "microsoft.graph.audioRoutingGroup", r.Body)
	}

	// Only a multicast group's receivers change.
	r = do(http.MethodPatch, base+"/"+multi.ID, map[string]any{"receivers": []string{alice}})
	if r.Status != http.StatusOK {
		t.Fatalf("update the multicast receivers: %d %s", r.Status, r.Body)
	}
	var updated graph.AudioRoutingGroup
	r.JSON(t, &updated)
	if len(*updated.Receivers) != 1 || (*updated.Receivers)[0] != alice || (*updated.Sources)[0] != bob {
		t.Fatalf("updated %s", r.Body)
	}
	for name, tc := range map[string]struct {
		method, path string
		body         any
	}{
		"a oneToOne's receivers":         {http.MethodPatch, base + "/oneToOne", map[string]any{"receivers": []string{alice}}},
		"a multicast's sources":          {http.MethodPatch, base + "/" + multi.ID, map[string]any{"sources": []string{alice}}},
		"a routing mode":                 {http.MethodPatch, base + "/" + multi.ID, map[string]any{"routingMode": "oneToOne"}},
		"a participant not in the call":  {http.MethodPost, base, map[string]any{"routingMode": "oneToOne", "sources": []string{alice}, "receivers": []string{"8d1e2f3a-0000-4000-8000-0000000000ee"}}},
		"a oneToOne of two receivers":    {http.MethodPost, base, map[string]any{"routingMode": "oneToOne", "sources": []string{alice}, "receivers": []string{bob, l.call.MyParticipantID}}},
		"a mode that does not exist":     {http.MethodPost, base, map[string]any{"routingMode": "broadcast", "sources": []string{alice}, "receivers": []string{bob}}},
		"an id the call has already":     {http.MethodPost, base, map[string]any{"id": "oneToOne", "routingMode": "oneToOne", "sources": []string{bob}, "receivers": []string{alice}}},
		"a source that is also receiver": {http.MethodPost, base, map[string]any{"routingMode": "multicast", "sources": []string{alice}, "receivers": []string{alice, bob}}},
	} {
		r := do(tc.method, tc.path, tc.body)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, r.Status, r.Body)
		}
	}

	if r := do(http.MethodDelete, base+"/oneToOne", nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	checkGraphError(t, do(http.MethodGet, base+"/oneToOne", nil), http.StatusNotFound, "itemNotFound")
	checkGraphError(t, do(http.MethodDelete, base+"/oneToOne", nil), http.StatusNotFound, "itemNotFound")

	// A peer-to-peer call has no roster to route.
	p2p := env.PlaceCall(t, testbot.Start(t).URL)
	checkGraphError(t, do(http.MethodGet, testenv.CallPath(p2p.ID)+"/audioRoutingGroups", nil), http.StatusBadRequest, "BadRequest")

	// An application that may only place peer-to-peer calls may not route.
	roles := []string{"Calls.Initiate.All", "Calls.JoinGroupCallAsGuest.All"}
	app, _, err := env.Server.Directory().AddApplication(auth.AppSettings{DisplayName: "no group calls", Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := env.Server.Tokens().AppToken(app)
	if err != nil {
		t.Fatal(err)
	}
	guest := join(t, env, token, m, "organizer", false)
	r = env.Do(t, http.MethodPost, testenv.CallPath(guest.call.ID)+"/audioRoutingGroups", token,
		map[string]any{"routingMode": "oneToOne", "sources": []string{alice}, "receivers": []string{bob}})
	checkGraphError(t, r, http.StatusForbidden, "7504")
}
