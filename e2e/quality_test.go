package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/testenv"
)

// deviceQualityExample is the request of Graph's
// logTeleconferenceDeviceQuality page (one media quality of each kind).
const deviceQualityExample = `{"quality": {
  "@odata.type": "#microsoft.graph.teleconferenceDeviceQuality",
  "callChainId": "0622673d-9f69-49b3-9d4f-5ec64f42ecce",
  "participantId": "ea078406-b5d4-4d3c-b85e-90103dcec7f6",
  "mediaLegId": "bd9ee398-4b9d-42c7-8b8d-4e8efad9435f",
  "deviceName": "TestAgent",
  "deviceDescription": "TestDescription",
  "mediaQualityList": [
    {"@odata.type": "#microsoft.graph.teleconferenceDeviceAudioQuality", "channelIndex": 1, "mediaDuration": "PT20M",
     "networkLinkSpeedInBytes": 13000, "localIPAddress": "127.0.0.1", "localPort": 6300, "remoteIPAddress": "102.1.1.101",
     "remotePort": 6301, "inboundPackets": 5500, "outboundPackets": 5400, "averageInboundPacketLossRateInPercentage": 0.01,
     "averageInboundRoundTripDelay": "PT0.03S", "averageInboundJitter": "PT0.01S"},
    {"@odata.type": "#microsoft.graph.teleconferenceDeviceVideoQuality", "channelIndex": 1, "mediaDuration": "PT20M"},
    {"@odata.type": "#microsoft.graph.teleconferenceDeviceScreenSharingQuality", "channelIndex": 1, "mediaDuration": "PT20M"}
  ]
}}`

// TestLogTeleconferenceDeviceQuality: the page's example is answered 200
// with no body and kept for the simulator to show; a report that is not a
// teleconferenceDeviceQuality is refused, naming what is wrong; an
// application without Calls.AccessMedia.All is refused.
func TestLogTeleconferenceDeviceQuality(t *testing.T) {
	env := testenv.Start(t)
	path := "/v1.0/communications/calls/logTeleconferenceDeviceQuality"
	r := env.Do(t, http.MethodPost, path, env.Token, []byte(deviceQualityExample))
	if r.Status != http.StatusOK || len(r.Body) != 0 {
		t.Fatalf("log the page's example: %d %s", r.Status, r.Body)
	}
	var kept admin.DeviceQualityList
	sim(t, env, http.MethodGet, "/device-quality", nil).JSON(t, &kept)
	if len(kept.Value) != 1 || kept.Value[0].AppID != env.Server.Directory().DefaultApplication().ClientID ||
		!strings.Contains(string(kept.Value[0].Quality), "0622673d-9f69-49b3-9d4f-5ec64f42ecce") {
		t.Fatalf("kept: %+v", kept)
	}

	var bad map[string]any
	json.Unmarshal([]byte(deviceQualityExample), &bad)
	q := bad["quality"].(map[string]any)
	delete(q, "mediaLegId")
	q["callChainId"] = "not a guid"
	r = env.Do(t, http.MethodPost, path, env.Token, bad)
	checkGraphError(t, r, http.StatusBadRequest, "BadRequest")
	for _, want := range []string{"mediaLegId", "callChainId"} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("the refusal does not name %s: %s", want, r.Body)
		}
	}
	checkGraphError(t, env.Do(t, http.MethodPost, path, env.Token, map[string]any{}), http.StatusBadRequest, "BadRequest")

	app, _, err := env.Server.Directory().AddApplication(auth.AppSettings{DisplayName: "no media", Roles: []string{"Calls.Initiate.All"}})
	if err != nil {
		t.Fatal(err)
	}
	token, _, _ := env.Server.Tokens().AppToken(app)
	checkGraphError(t, env.Do(t, http.MethodPost, path, token, []byte(deviceQualityExample)), http.StatusForbidden, "7504")
}
