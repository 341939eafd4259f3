package gosdk

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/communications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/callplane/callplane/internal/media"
	"github.com/callplane/callplane/internal/testbot"
)

// TestServiceHostedMediaThroughSDK is an IVR bot written against the SDK:
// it answers, plays a prompt, subscribes to tones, records the caller and
// downloads the recording, then cancels what it queued, reading every
// response and notification with the SDK's models.
func TestServiceHostedMediaThroughSDK(t *testing.T) {
	h, webhook := inboundHarness(t)
	c := ring(t, h, webhook)
	id := *c.GetId()
	callURL := "/communications/calls/" + id
	item := h.client.Communications().Calls().ByCallId(id)
	answer := communications.NewCallsItemAnswerPostRequestBody()
	answer.SetCallbackUri(ptr(h.bot.URL))
	answer.SetAcceptedModalities([]models.Modality{models.AUDIO_MODALITY})
	answer.SetMediaConfig(models.NewServiceHostedMediaConfig())
	if err := item.Answer().Post(h.ctx, answer, nil); err != nil {
		t.Fatalf("Answer: %s", describe(err))
	}
	h.bot.WaitAcked(t, wait, callURL, 2)

	// playPrompt: running at once, completed when the prompt has played.
	beep := h.env.URL + "/media/samples/beep.wav"
	headers := responseHeaders()
	played, err := item.PlayPrompt().Post(h.ctx, playPromptBody("greeting", beep), &communications.CallsItemPlayPromptRequestBuilderPostRequestConfiguration{
		Options: []abstractions.RequestOption{headers},
	})
	if err != nil {
		t.Fatalf("PlayPrompt: %s", describe(err))
	}
	checkDeclaredDeep(t, "playPrompt response", played)
	checkOperation(t, "playPrompt response", played, "#microsoft.graph.playPromptOperation", models.RUNNING_OPERATIONSTATUS, "greeting", 0)
	checkLocation(t, "playPrompt response", headers, callURL+"/operations/"+deref(played.GetId()))
	done := finishedOperation(t, h, id, deref(played.GetId()))
	if _, ok := done.(models.PlayPromptOperationable); !ok {
		t.Errorf("playPrompt completion: the SDK made it %T", done)
	}
	checkOperation(t, "playPrompt completion", done, "#microsoft.graph.playPromptOperation", models.COMPLETED_OPERATIONSTATUS, "greeting", 200)

	// subscribeToTone, then the caller presses 1 and # : toneInfo in order.
	subscribe := communications.NewCallsItemSubscribeToTonePostRequestBody()
	subscribe.SetClientContext(ptr("tones"))
	subscribed, err := item.SubscribeToTone().Post(h.ctx, subscribe, nil)
	if err != nil {
		t.Fatalf("SubscribeToTone: %s", describe(err))
	}
	checkOperation(t, "subscribeToTone response", subscribed, "#microsoft.graph.subscribeToToneOperation", models.COMPLETED_OPERATIONSTATUS, "tones", 0)
	if r := simulate(t, h, http.MethodPost, "/calls/"+id+"/tones", map[string]any{"tones": "1#"}); r.Status != http.StatusNoContent {
		t.Fatalf("press 1#: %d %s", r.Status, r.Body)
	}
	tones := tonesHeard(t, h, id, 2)
	if !slices.Equal(tones, []models.Tone{models.TONE1_TONE, models.POUND_TONE}) {
		t.Errorf("toneInfo as the SDK reads it: %v, want tone1, pound", tones)
	}

	// recordResponse stopped by #: the recording downloads with its token.
	record := communications.NewCallsItemRecordResponsePostRequestBody()
	record.SetClientContext(ptr("message"))
	record.SetPlayBeep(ptr(false))
	record.SetStopTones([]string{"#"})
	record.SetMaxRecordDurationInSeconds(ptr(int32(60)))
	recording, err := item.RecordResponse().Post(h.ctx, record, nil)
	if err != nil {
		t.Fatalf("RecordResponse: %s", describe(err))
	}
	checkDeclaredDeep(t, "recordResponse response", recording)
	checkOperation(t, "recordResponse response", recording, "#microsoft.graph.recordOperation", models.RUNNING_OPERATIONSTATUS, "message", 0)
	if r := simulate(t, h, http.MethodPost, "/calls/"+id+"/speech", map[string]any{"seconds": 1}); r.Status != http.StatusNoContent {
		t.Fatalf("speak: %d %s", r.Status, r.Body)
	}
	if r := simulate(t, h, http.MethodPost, "/calls/"+id+"/tones", map[string]any{"tones": "#"}); r.Status != http.StatusNoContent {
		t.Fatalf("press #: %d %s", r.Status, r.Body)
	}
	done = finishedOperation(t, h, id, deref(recording.GetId()))
	recorded, ok := done.(models.RecordOperationable)
	if !ok {
		t.Fatalf("recordResponse completion: the SDK made it %T", done)
	}
	checkOperation(t, "recordResponse completion", recorded, "#microsoft.graph.recordOperation", models.COMPLETED_OPERATIONSTATUS, "message", 200)
	if sub := deref(recorded.GetResultInfo().GetSubcode()); sub != 8514 {
		t.Errorf("recordResponse completion: subcode %d, want 8514 (stop tone)", sub)
	}
	if reason := completionReason(recorded); reason != "stopToneDetected" {
		t.Errorf("recordResponse completion: completionReason %q, want stopToneDetected", reason)
	}
	location, token := deref(recorded.GetRecordingLocation()), deref(recorded.GetRecordingAccessToken())
	wav, status := download(t, location, token)
	if status != http.StatusOK {
		t.Fatalf("download %s: %d", location, status)
	}
	if f, err := media.ReadHeader(wav); err != nil || f.Duration() <= 0 || f.Duration() > 10*time.Second {
		t.Errorf("the recording: %v, %v; want a WAV of the recorded length", f.Duration(), err)
	}
	if _, status := download(t, location, "someone-else's"); status != http.StatusUnauthorized {
		t.Errorf("download with another token: %d, want 401", status)
	}

	// cancelMediaProcessing fails the prompt playing, the one queued and the
	// recording queued after them, in order.
	menu := h.env.URL + "/media/samples/menu.wav"
	playing, err := item.PlayPrompt().Post(h.ctx, playPromptBody("menu-1", menu), nil)
	if err != nil {
		t.Fatalf("PlayPrompt: %s", describe(err))
	}
	queued, err := item.PlayPrompt().Post(h.ctx, playPromptBody("menu-2", menu), nil)
	if err != nil {
		t.Fatalf("PlayPrompt: %s", describe(err))
	}
	record.SetClientContext(ptr("never"))
	queuedRecording, err := item.RecordResponse().Post(h.ctx, record, nil)
	if err != nil {
		t.Fatalf("RecordResponse: %s", describe(err))
	}
	cancel := communications.NewCallsItemCancelMediaProcessingPostRequestBody()
	cancel.SetClientContext(ptr("stop"))
	cancelled, err := item.CancelMediaProcessing().Post(h.ctx, cancel, nil)
	if err != nil {
		t.Fatalf("CancelMediaProcessing: %s", describe(err))
	}
	checkOperation(t, "cancelMediaProcessing response", cancelled, "#microsoft.graph.cancelMediaProcessingOperation", models.COMPLETED_OPERATIONSTATUS, "stop", 0)
	for _, op := range []models.CommsOperationable{playing, queued, queuedRecording} {
		done := finishedOperation(t, h, id, deref(op.GetId()))
		what := "cancelled " + deref(op.GetClientContext())
		checkOperation(t, what, done, deref(op.GetOdataType()), models.FAILED_OPERATIONSTATUS, deref(op.GetClientContext()), 400)
		if sub := deref(done.GetResultInfo().GetSubcode()); sub != 8508 {
			t.Errorf("%s: subcode %d, want 8508", what, sub)
		}
		if _, ok := done.(models.RecordOperationable); ok {
			if reason := completionReason(done); reason != "operationCanceled" {
				t.Errorf("%s: completionReason %q, want operationCanceled", what, reason)
			}
		}
	}

	if err := item.Delete(h.ctx, nil); err != nil {
		t.Fatalf("Delete: %s", describe(err))
	}
	h.bot.Wait(t, wait, "the call terminated", func(ns []testbot.Notification) bool {
		acked := testbot.Acked(ns, callURL)
		return len(acked) > 0 && acked[len(acked)-1].State == "terminated"
	})
	checkBodies(t, "media", h.bot.Bodies())
}

func playPromptBody(clientContext string, uris ...string) communications.CallsItemPlayPromptPostRequestBodyable {
	body := communications.NewCallsItemPlayPromptPostRequestBody()
	body.SetClientContext(ptr(clientContext))
	var prompts []models.Promptable
	for _, uri := range uris {
		info := models.NewMediaInfo()
		info.SetUri(ptr(uri))
		info.SetResourceId(ptr(clientContext))
		prompt := models.NewMediaPrompt()
		prompt.SetMediaInfo(info)
		prompts = append(prompts, prompt)
	}
	body.SetPrompts(prompts)
	return body
}

// finishedOperation waits for an operation's deleted notification and reads
// the final operation with the SDK's models.
func finishedOperation(t *testing.T, h *harness, callID, opID string) models.CommsOperationable {
	t.Helper()
	done := h.bot.WaitAcked(t, wait, "/communications/calls/"+callID+"/operations/"+opID, 1)[0]
	if done.ChangeType != "deleted" {
		t.Errorf("operation %s: changeType %q, want deleted", opID, done.ChangeType)
	}
	return operationOf(t, done)
}

// completionReason is a recordOperation's completionReason: v1.0's schema
// does not declare it (the type is open), so the SDK keeps it among the
// additional data.
func completionReason(op models.CommsOperationable) string {
	switch reason := op.GetAdditionalData()["completionReason"].(type) {
	case *string:
		return deref(reason)
	case string:
		return reason
	}
	return ""
}

// tonesHeard waits for n toneInfo notifications on the call and returns
// their tones, as the SDK reads them, in sequenceId order (which must be
// the order they arrived in).
func tonesHeard(t *testing.T, h *harness, callID string, n int) []models.Tone {
	t.Helper()
	var tones []models.Tone
	h.bot.Wait(t, wait, "toneInfo notifications", func(ns []testbot.Notification) bool {
		tones = tones[:0]
		var last int64
		for _, note := range testbot.Acked(ns, "/communications/calls/"+callID) {
			node, err := jsonserialization.NewJsonParseNode(note.Data)
			if err != nil {
				t.Fatal(err)
			}
			v, err := node.GetObjectValue(models.CreateEntityFromDiscriminatorValue)
			c, ok := v.(models.Callable)
			if err != nil || !ok {
				t.Fatalf("call notification: %T, %v", v, err)
			}
			info := c.GetToneInfo()
			if info == nil {
				continue
			}
			if seq := deref(info.GetSequenceId()); seq <= last {
				t.Fatalf("toneInfo sequenceId %d after %d", seq, last)
			} else {
				last = seq
			}
			if info.GetTone() == nil {
				t.Fatalf("toneInfo: the SDK read no tone from %s", note.Data)
			}
			tones = append(tones, *info.GetTone())
		}
		return len(tones) >= n
	})
	return tones
}

// download GETs a recording with a bearer token.
func download(t *testing.T, location, token string) (io.Reader, int) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, location, nil)
	if err != nil {
		t.Fatalf("recordingLocation %q: %v", location, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(data), resp.StatusCode
}
