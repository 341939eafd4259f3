package graph

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/graph/graphschema"
)

var (
	schema = graphschema.MustLoad()
	owner  = call.Owner{TenantID: "tenant-1", AppID: "app-1"}
	timing = call.Timing{AnswerDelay: time.Second, KeepAliveTimeout: time.Hour}
)

func checkSchema(t *testing.T, typeName string, v any) {
	t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range schema.Check(typeName, body) {
		t.Errorf("%v\n%s", err, body)
	}
}

// place parses a create-call body and places the call, as the API does.
func place(body string) (*call.Call, error) {
	var g Call
	if err := json.Unmarshal([]byte(body), &g); err != nil {
		return nil, err
	}
	req, err := g.PlaceRequest(owner, "")
	if err != nil {
		return nil, err
	}
	c, _, err := call.Place(req, time.Now(), timing)
	return c, err
}

var validBodies = map[string]string{
	"user, service media (Go SDK form)": `{"callbackUri":"https://bot.example/cb","mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"},"requestedModalities":["audio"],"targets":[{"identity":{"user":{"id":"u-1"}}}]}`,
	"user with tenant, app media, options": `{"@odata.type":"#microsoft.graph.call","callbackUri":"https://bot.example/cb","subject":"hello",
		"source":{"@odata.type":"#microsoft.graph.participantInfo","identity":{"@odata.type":"#microsoft.graph.identitySet","application":{"@odata.type":"#microsoft.graph.identity","displayName":"Bot","id":"app-1"}},"region":null,"languageId":null},
		"targets":[{"@odata.type":"#microsoft.graph.invitationParticipantInfo","identity":{"@odata.type":"#microsoft.graph.identitySet","user":{"@odata.type":"#microsoft.graph.identity","displayName":"Alex","id":"u-1","tenantId":"tenant-1"}}}],
		"requestedModalities":["audio","video"],"callOptions":{"@odata.type":"#microsoft.graph.outgoingCallOptions","isContentSharingNotificationEnabled":true},
		"mediaConfig":{"@odata.type":"#microsoft.graph.appHostedMediaConfig","blob":"<media config blob>"}}`,
	"phone from an application instance": `{"callbackUri":"https://bot.example/cb","tenantId":"tenant-1",
		"source":{"identity":{"@odata.type":"#microsoft.graph.communicationsIdentitySet","applicationInstance":{"id":"inst-1","displayName":"Calling Bot"}}},
		"targets":[{"identity":{"@odata.type":"#microsoft.graph.communicationsIdentitySet","phone":{"id":"+12345678901"}}}],
		"requestedModalities":["audio"],"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"}}`,
}

// TestRenderedCallsMatchSchema: for each documented way to place a call, the
// call body callplane answers with is valid Graph.
func TestRenderedCallsMatchSchema(t *testing.T) {
	for name, body := range validBodies {
		t.Run(name, func(t *testing.T) {
			c, err := place(body)
			if err != nil {
				t.Fatal(err)
			}
			checkSchema(t, "microsoft.graph.call", FromCall(c))
		})
	}
}

// TestNotificationsMatchSchema: every call event renders as a valid
// commsNotifications body, with resultInfo's numbers as numbers.
func TestNotificationsMatchSchema(t *testing.T) {
	c, err := place(validBodies["user, service media (Go SDK form)"])
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	events := c.Advance(now.Add(time.Second), timing)
	ev, _ := c.HangUp(now.Add(2*time.Second), call.EndedByApplication, timing)
	events = append(events, ev...)
	events = append(events, c.Advance(now.Add(2*time.Second), timing)...)
	if len(events) != 3 {
		t.Fatalf("events %+v", events)
	}
	for _, ev := range events {
		n := CallNotification(c, ev)
		checkSchema(t, "microsoft.graph.commsNotifications", n)
		if n.Value[0].ResourceURL != "/communications/calls/"+c.ID {
			t.Fatalf("resourceUrl %q", n.Value[0].ResourceURL)
		}
	}
	last, _ := json.Marshal(CallNotification(c, events[2]))
	var decoded struct {
		Value []struct {
			ChangeType   string `json:"changeType"`
			ResourceData struct {
				State      string `json:"state"`
				ResultInfo struct {
					Code    int `json:"code"`
					Subcode int `json:"subcode"`
				} `json:"resultInfo"`
			} `json:"resourceData"`
		} `json:"value"`
	}
	if err := json.Unmarshal(last, &decoded); err != nil {
		t.Fatalf("resultInfo does not decode as numbers: %v\n%s", err, last)
	}
	if v := decoded.Value[0]; v.ChangeType != "deleted" || v.ResourceData.State != "terminated" || v.ResourceData.ResultInfo.Code != 0 {
		t.Fatalf("terminated notification: %s", last)
	}
}

// FuzzPlaceRequest: no request body panics the parser or the domain, and
// every call that is accepted renders as valid Graph.
func FuzzPlaceRequest(f *testing.F) {
	for _, body := range validBodies {
		f.Add(body)
	}
	f.Add(`{"targets":[{"identity":null}]}`)
	f.Add(`{"mediaConfig":{"@odata.type":"#microsoft.graph.appHostedMediaConfig"},"callbackUri":"http://[::1]:1/x","targets":[{"identity":{"guest":{"id":"g"}}}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		c, err := place(body)
		if err != nil {
			return
		}
		checkSchema(t, "microsoft.graph.call", FromCall(c))
	})
}
