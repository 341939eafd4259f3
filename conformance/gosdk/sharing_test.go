package gosdk

import (
	"net/http"
	"testing"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// TestContentSharingSessionsThroughSDK: a bot joins a meeting asking for
// content sharing notifications (the SDK's outgoingCallOptions); a person
// presents; the bot hears the session created and lists and gets it
// through the SDK's typed request builders; once the person stops, the
// list is empty and the session a typed 404.
func TestContentSharingSessionsThroughSDK(t *testing.T) {
	h := setup(t)
	m := createMeeting(t, h, "Presenting", alice)
	req := joinRequest(h.bot.URL, m, byOrganizer, false)
	options := models.NewOutgoingCallOptions()
	options.SetIsContentSharingNotificationEnabled(ptr(true))
	req.SetCallOptions(options)
	created, err := h.client.Communications().Calls().Post(h.ctx, req, nil)
	if err != nil {
		t.Fatalf("join: %v", describe(err))
	}
	l := &leg{h: h, id: deref(created.GetId())}
	if got := created.GetCallOptions(); got == nil || !deref(got.GetIsContentSharingNotificationEnabled()) {
		t.Fatalf("the created call's callOptions: %v", got)
	}
	h.bot.WaitAcked(t, wait, l.resource(), 2)

	r := simulate(t, h, http.MethodPost, "/meetings/"+m.ID+"/participants/"+m.Participants[0].ID+"/share", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("share: %d %s", r.Status, r.Body)
	}
	var session admin.ContentSharingView
	r.JSON(t, &session)
	h.bot.WaitAcked(t, wait, l.resource()+"/contentsharingsessions", 1)

	sessions := l.call().ContentSharingSessions()
	all, err := sessions.Get(h.ctx, nil)
	if err != nil || len(all.GetValue()) != 1 || deref(all.GetValue()[0].GetId()) != session.ID {
		t.Fatalf("list content sharing sessions: %v, %v", all, describe(err))
	}
	one, err := sessions.ByContentSharingSessionId(session.ID).Get(h.ctx, nil)
	if err != nil || deref(one.GetId()) != session.ID || deref(one.GetOdataType()) != "#microsoft.graph.contentSharingSession" {
		t.Fatalf("get the session: %v, %v", one, describe(err))
	}

	if r := simulate(t, h, http.MethodPost, "/meetings/"+m.ID+"/participants/"+m.Participants[0].ID+"/unshare", nil); r.Status != http.StatusNoContent {
		t.Fatalf("unshare: %d %s", r.Status, r.Body)
	}
	if got := testbot.Acked(h.bot.WaitAcked(t, wait, l.resource()+"/contentsharingsessions", 2), l.resource()+"/contentsharingsessions"); got[0].ChangeType != "created" || got[1].ChangeType != "deleted" {
		t.Fatalf("content sharing notifications: %s", testbot.Describe(got))
	}
	all, err = sessions.Get(h.ctx, nil)
	if err != nil || len(all.GetValue()) != 0 {
		t.Fatalf("list after the presentation: %v, %v", all, describe(err))
	}
	_, err = sessions.ByContentSharingSessionId(session.ID).Get(h.ctx, nil)
	checkODataError(t, "an ended session", err, http.StatusNotFound, "itemNotFound")
	checkBodies(t, "bot", h.bot.Bodies())
}
