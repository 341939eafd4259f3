package gosdk

import (
	"net/http"
	"testing"

	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/communications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/testbot"
)

// inboundHarness is a harness whose dev application's calling webhook is a
// bot of its own.
func inboundHarness(t *testing.T) (*harness, *testbot.Bot) {
	t.Helper()
	webhook := testbot.Start(t)
	h := setup(t, func(c *server.Config) { c.CallingWebhook = webhook.URL })
	return h, webhook
}

// ring has a simulated user call the dev application, and reads the
// incoming call of the created notification with the SDK's models.
func ring(t *testing.T, h *harness, webhook *testbot.Bot) models.Callable {
	t.Helper()
	r := h.env.Do(t, http.MethodPost, "/callplane/calls", h.env.Server.Directory().AdminSecret(), map[string]any{
		"from": map[string]any{"user": map[string]any{"id": userID, "displayName": userName}},
		"to":   map[string]any{"application": map[string]any{}},
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("place a call to the bot: %d %s", r.Status, r.Body)
	}
	var v admin.CallView
	r.JSON(t, &v)
	webhook.WaitAcked(t, wait, "/communications/calls/"+v.ID, 1)
	for _, body := range webhook.Bodies() {
		root, err := jsonserialization.NewJsonParseNode(body)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := root.GetObjectValue(createCommsNotifications)
		if err != nil {
			t.Fatal(err)
		}
		n := parsed.(*commsNotifications).value[0]
		if deref(n.resourceURL) != "/communications/calls/"+v.ID {
			continue
		}
		c, err := n.resourceCall()
		if err != nil {
			t.Fatal(err)
		}
		checkDeclared(t, "incoming call", c)
		if n.changeType.String() != "created" || c.GetState() == nil || *c.GetState() != models.INCOMING_CALLSTATE ||
			c.GetDirection() == nil || *c.GetDirection() != models.INCOMING_CALLDIRECTION ||
			c.GetSource().GetIdentity().GetUser() == nil || deref(c.GetSource().GetIdentity().GetUser().GetId()) != userID ||
			len(c.GetTargets()) != 1 || c.GetTargets()[0].GetIdentity().GetApplication() == nil || deref(c.GetMyParticipantId()) == "" {
			t.Fatalf("the incoming call as the SDK reads it: %s %+v", n.changeType, c)
		}
		return c
	}
	t.Fatal("no created notification for the call")
	return nil
}

// TestIncomingCallsThroughSDK answers, rejects, redirects and transfers
// incoming calls through the SDK's typed request builders.
func TestIncomingCallsThroughSDK(t *testing.T) {
	h, webhook := inboundHarness(t)
	calls := h.client.Communications().Calls()

	// Answer, then transfer to a person who picks up.
	c := ring(t, h, webhook)
	answer := communications.NewCallsItemAnswerPostRequestBody()
	answer.SetCallbackUri(ptr(h.bot.URL))
	answer.SetAcceptedModalities([]models.Modality{models.AUDIO_MODALITY})
	answer.SetMediaConfig(models.NewServiceHostedMediaConfig())
	if err := calls.ByCallId(*c.GetId()).Answer().Post(h.ctx, answer, nil); err != nil {
		t.Fatalf("Answer: %s", describe(err))
	}
	h.bot.WaitAcked(t, wait, "/communications/calls/"+*c.GetId(), 2)
	got, err := calls.ByCallId(*c.GetId()).Get(h.ctx, nil)
	if err != nil {
		t.Fatalf("Get: %s", describe(err))
	}
	checkState(t, "answered", got, models.ESTABLISHED_CALLSTATE)
	transfer := communications.NewCallsItemTransferPostRequestBody()
	target := models.NewInvitationParticipantInfo()
	identity := models.NewIdentitySet()
	carol := models.NewIdentity()
	carol.SetId(ptr("carol"))
	identity.SetUser(carol)
	target.SetIdentity(identity)
	transfer.SetTransferTarget(target)
	if err := calls.ByCallId(*c.GetId()).Transfer().Post(h.ctx, transfer, nil); err != nil {
		t.Fatalf("Transfer: %s", describe(err))
	}
	h.bot.WaitAcked(t, wait, "/communications/calls/"+*c.GetId(), 5)
	checkNotifications(t, h.bot.Bodies(), *c.GetId(), []wantNotification{
		{models.UPDATED_CHANGETYPE, models.ESTABLISHING_CALLSTATE},
		{models.UPDATED_CHANGETYPE, models.ESTABLISHED_CALLSTATE},
		{models.UPDATED_CHANGETYPE, models.TRANSFERRING_CALLSTATE},
		{models.UPDATED_CHANGETYPE, models.TRANSFERACCEPTED_CALLSTATE},
		{models.DELETED_CHANGETYPE, models.TERMINATED_CALLSTATE},
	})

	// Reject as busy.
	c = ring(t, h, webhook)
	reject := communications.NewCallsItemRejectPostRequestBody()
	busy := models.BUSY_REJECTREASON
	reject.SetReason(&busy)
	if err := calls.ByCallId(*c.GetId()).Reject().Post(h.ctx, reject, nil); err != nil {
		t.Fatalf("Reject: %s", describe(err))
	}
	webhook.WaitAcked(t, wait, "/communications/calls/"+*c.GetId(), 2)
	if err := calls.ByCallId(*c.GetId()).Reject().Post(h.ctx, reject, nil); err == nil {
		t.Fatal("rejecting a rejected call succeeded")
	} else {
		checkODataError(t, "reject twice", err, http.StatusNotFound, "8522")
	}

	// Redirect to a person.
	c = ring(t, h, webhook)
	redirect := communications.NewCallsItemRedirectPostRequestBody()
	redirect.SetTargets([]models.InvitationParticipantInfoable{target})
	redirect.SetTimeout(ptr(int32(20)))
	if err := calls.ByCallId(*c.GetId()).Redirect().Post(h.ctx, redirect, nil); err != nil {
		t.Fatalf("Redirect: %s", describe(err))
	}
	done := webhook.WaitAcked(t, wait, "/communications/calls/"+*c.GetId(), 2)
	if done[1].ChangeType != "deleted" || done[1].State != "terminated" {
		t.Fatalf("after redirect: %s/%s", done[1].ChangeType, done[1].State)
	}
	var v admin.CallView
	h.env.Do(t, http.MethodGet, "/callplane/calls/"+*c.GetId(), h.env.Server.Directory().AdminSecret(), nil).JSON(t, &v)
	if v.Outcome != "redirected" || v.Target == nil || v.Target.User.ID != "carol" {
		t.Fatalf("redirected: %+v", v)
	}
}
