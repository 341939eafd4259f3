package callplanetest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/callplane/callplane/callplanetest"
)

// A bot under test answers the calls its webhook is told about; the test
// has a person call it and reads what happened from the call's timeline.
func Example() {
	var cp *callplanetest.Server
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Value []struct {
				ChangeType  string `json:"changeType"`
				ResourceURL string `json:"resourceUrl"`
			} `json:"value"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		w.WriteHeader(http.StatusAccepted) // acknowledge first, act after
		for _, n := range body.Value {
			if n.ChangeType == "created" { // an incoming call: answer it
				go answer(cp, n.ResourceURL, "http://"+r.Host+"/api/calls")
			}
		}
	}))
	defer bot.Close()

	cp, err := callplanetest.New(callplanetest.CallingWebhook(bot.URL + "/api/calling"))
	if err != nil {
		panic(err)
	}
	defer cp.Close()

	callID, err := cp.PlaceCall("user:alice:Alice", "app")
	if err != nil {
		panic(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := cp.CallView(callID); err == nil && c.Outcome == "answered" {
			break
		}
	}
	entries, err := cp.CallTimeline(callID)
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		switch e.Kind {
		case "request":
			fmt.Println("bot:", e.Method, e.Action, e.Status)
		case "notification":
			fmt.Println("told:", e.ChangeType, e.State)
		}
	}
	// Output:
	// told: created incoming
	// bot: POST answer 202
	// told: updated establishing
	// told: updated established
}

// answer is the bot answering an incoming call through Graph.
func answer(cp *callplanetest.Server, resourceURL, callbackURI string) {
	token, err := cp.Token()
	if err != nil {
		return
	}
	body := `{"callbackUri": "` + callbackURI + `", "acceptedModalities": ["audio"],
		"mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}}`
	req, _ := http.NewRequest(http.MethodPost, cp.GraphURL+resourceURL+"/answer", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}
