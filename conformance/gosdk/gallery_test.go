package gosdk

import (
	"encoding/json"
	"testing"

	"github.com/microsoftgraph/msgraph-sdk-go/communications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// TestLargeGalleryViewThroughSDK: a bot in a meeting adds the large gallery
// view through the SDK's typed request builder, hears the operation
// complete, and finds the gallery in the roster the way Graph's "Identify
// large gallery view participants" says a bot does: the application whose
// ApplicationType (an open property, in the SDK's additional data) is
// LargeGallery-V2, with its paging in metadata.
func TestLargeGalleryViewThroughSDK(t *testing.T) {
	h := setup(t)
	m := createMeeting(t, h, "Gallery", alice)
	l := join(t, h, m, byOrganizer, false)
	body := communications.NewCallsItemAddLargeGalleryViewPostRequestBody()
	body.SetClientContext(ptr("gallery"))
	op, err := l.call().AddLargeGalleryView().Post(h.ctx, body, nil)
	if err != nil {
		t.Fatalf("addLargeGalleryView: %v", describe(err))
	}
	if op.GetStatus() == nil || *op.GetStatus() != models.RUNNING_OPERATIONSTATUS || deref(op.GetClientContext()) != "gallery" {
		t.Fatalf("operation: status %v, clientContext %q", op.GetStatus(), deref(op.GetClientContext()))
	}
	h.bot.WaitAcked(t, wait, l.resource()+"/operations/"+deref(op.GetId()), 1)

	listed, err := l.call().Participants().Get(h.ctx, nil)
	if err != nil {
		t.Fatalf("list participants: %v", describe(err))
	}
	var gallery models.Participantable
	for _, p := range listed.GetValue() {
		if app := p.GetInfo().GetIdentity().GetApplication(); app != nil && app.GetAdditionalData()["ApplicationType"] != nil && *app.GetAdditionalData()["ApplicationType"].(*string) == "LargeGallery-V2" {
			gallery = p
		}
	}
	if gallery == nil {
		t.Fatalf("no large gallery view among %d participants", len(listed.GetValue()))
	}
	var metadata struct {
		AudienceView struct {
			Page   int    `json:"page"`
			Status string `json:"status"`
		} `json:"audienceView"`
	}
	if err := json.Unmarshal([]byte(deref(gallery.GetMetadata())), &metadata); err != nil || metadata.AudienceView.Page != 1 || metadata.AudienceView.Status != "active" {
		t.Fatalf("the gallery's metadata %q: %v", deref(gallery.GetMetadata()), err)
	}
	checkBodies(t, "bot", h.bot.Bodies())
}
