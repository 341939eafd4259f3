package loadtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/graph"
)

// TestScanReadsCallplaneNotifications: the receiver's shortcut finds what a
// JSON decoder would in the bodies callplane sends, and nothing in rosters.
func TestScanReadsCallplaneNotifications(t *testing.T) {
	c, _, err := call.Place(call.Request{
		Owner:       call.Owner{TenantID: "t", AppID: "a"},
		CallbackURI: "http://127.0.0.1:1/cb",
		Targets:     []call.Participant{{Identity: call.Identity{Kind: call.User, ID: "u"}}},
		Media:       call.Media{Hosting: call.ServiceHosted},
	}, time.Now(), call.DefaultTiming)
	if err != nil {
		t.Fatal(err)
	}
	for _, state := range []call.State{call.Establishing, call.Established, call.Terminated} {
		body, _ := json.Marshal(graph.CallNotification(c, call.Event{Change: call.Updated, State: state}))
		if id, got := scan(body); id != c.ID || got != string(state) {
			t.Fatalf("scan = %q %q, want %q %q in %s", id, got, c.ID, state, body)
		}
	}
	roster, _ := json.Marshal(graph.RosterNotification(c.ID, []call.Member{{ParticipantID: "p", Identity: call.Identity{Kind: call.User, ID: "u"}}}, nil))
	if id, _ := scan(roster); id != "" {
		t.Fatalf("a roster gave call id %q", id)
	}
}
