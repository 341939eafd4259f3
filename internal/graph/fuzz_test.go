package graph

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/callplane/callplane/internal/call"
)

// FuzzDecodeCreateCall feeds arbitrary bodies through the decoder of a
// create-call request, as the API does (JSON, then Graph's shapes, then the
// domain's rules). Whatever the body, decoding must not panic; a call it
// accepts must keep every stored string within its limit and render as a
// call Graph's schema accepts.
func FuzzDecodeCreateCall(f *testing.F) {
	for _, seed := range []string{
		`{"callbackUri":"https://bot.example/cb","targets":[{"identity":{"user":{"id":"u1","displayName":"Alex"}}}],"requestedModalities":["audio"],"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"}}`,
		`{"callbackUri":"https://bot.example/cb","source":{"identity":{"applicationInstance":{"id":"i1"}}},"targets":[{"identity":{"phone":{"id":"+15550100"}}}],"mediaConfig":{"@odata.type":"#microsoft.graph.appHostedMediaConfig","blob":"x"}}`,
		`{"callbackUri":"https://bot.example/cb","chatInfo":{"threadId":"19:meeting_x@thread.v2","messageId":"0"},"meetingInfo":{"@odata.type":"#microsoft.graph.organizerMeetingInfo","organizer":{"user":{"id":"o1"}}},"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"}}`,
		`{"callbackUri":"https://bot.example/cb","meetingInfo":{"@odata.type":"#microsoft.graph.joinMeetingIdMeetingInfo","joinMeetingId":"123","passcode":"p"},"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"},"callOptions":{"@odata.type":"#microsoft.graph.outgoingCallOptions","isDeltaRosterEnabled":true}}`,
		`{"callbackUri":"https://bot.example/cb","targets":[{"identity":{"user":{"id":"a"}}},{"identity":{"user":{"id":"b"}}}],"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"}}`,
		`{"callbackUri":42}`, `[]`, `null`, `{"targets":[{}]}`, `{"mediaConfig":{}}`,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var c Call
		if json.Unmarshal(body, &c) != nil {
			return
		}
		req, err := c.PlaceRequest(owner, "")
		if err != nil {
			return
		}
		placed, _, err := call.Place(req, now, timing)
		if err != nil {
			return
		}
		limits := []struct {
			field string
			value string
			max   int
		}{
			{"subject", placed.Subject, call.MaxSubject},
			{"callbackUri", placed.CallbackURI, call.MaxURLLength},
			{"source.displayName", placed.Source.Identity.DisplayName, call.MaxDisplayName},
			{"source.id", placed.Source.Identity.ID, call.MaxID},
		}
		for _, p := range placed.Targets {
			limits = append(limits, struct {
				field string
				value string
				max   int
			}{"target displayName", p.Identity.DisplayName, call.MaxDisplayName})
		}
		for _, l := range limits {
			if utf8.RuneCountInString(l.value) > l.max {
				t.Fatalf("%s of %d characters accepted, over %d", l.field, utf8.RuneCountInString(l.value), l.max)
			}
		}
		out, err := json.Marshal(FromCall(placed))
		if err != nil {
			t.Fatalf("an accepted call does not render: %v", err)
		}
		for _, err := range schema.Check("microsoft.graph.call", out) {
			t.Fatalf("an accepted call renders invalid Graph: %v\n%s", err, out)
		}
	})
}
