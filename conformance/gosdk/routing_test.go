package gosdk

import (
	"net/http"
	"testing"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// TestAudioRoutingGroupsThroughSDK: a bot in a meeting creates, lists,
// updates and deletes an audio routing group through the SDK's typed
// request builders, and reads a deleted one as a typed 404.
func TestAudioRoutingGroupsThroughSDK(t *testing.T) {
	h := setup(t)
	m := createMeeting(t, h, "Routing", alice)
	l := join(t, h, m, byJoinMeetingID, false)
	listed, err := l.call().Participants().Get(h.ctx, nil)
	if err != nil {
		t.Fatalf("list participants: %v", describe(err))
	}
	var person string
	for _, p := range listed.GetValue() {
		if deref(p.GetId()) != l.me {
			person = deref(p.GetId())
		}
	}
	if person == "" {
		t.Fatalf("no participant but the bot in %d", len(listed.GetValue()))
	}

	body := models.NewAudioRoutingGroup()
	body.SetId(ptr("multicast"))
	mode := models.MULTICAST_ROUTINGMODE
	body.SetRoutingMode(&mode)
	body.SetSources([]string{person})
	body.SetReceivers([]string{l.me})
	groups := l.call().AudioRoutingGroups()
	created, err := groups.Post(h.ctx, body, nil)
	if err != nil {
		t.Fatalf("create an audio routing group: %v", describe(err))
	}
	if deref(created.GetId()) != "multicast" || *created.GetRoutingMode() != models.MULTICAST_ROUTINGMODE || created.GetSources()[0] != person {
		t.Fatalf("created %v %v %v", deref(created.GetId()), created.GetRoutingMode(), created.GetSources())
	}

	all, err := groups.Get(h.ctx, nil)
	if err != nil || len(all.GetValue()) != 1 || deref(all.GetValue()[0].GetId()) != "multicast" {
		t.Fatalf("list audio routing groups: %v, %v", all, describe(err))
	}

	change := models.NewAudioRoutingGroup()
	change.SetReceivers([]string{l.me})
	updated, err := groups.ByAudioRoutingGroupId("multicast").Patch(h.ctx, change, nil)
	if err != nil || len(updated.GetReceivers()) != 1 || updated.GetReceivers()[0] != l.me {
		t.Fatalf("update the receivers: %v, %v", updated, describe(err))
	}

	if err := groups.ByAudioRoutingGroupId("multicast").Delete(h.ctx, nil); err != nil {
		t.Fatalf("delete: %v", describe(err))
	}
	_, err = groups.ByAudioRoutingGroupId("multicast").Get(h.ctx, nil)
	checkODataError(t, "a deleted audio routing group", err, http.StatusNotFound, "itemNotFound")
	checkBodies(t, "bot", h.bot.Bodies())
}
