package ivr_test

import (
	"net"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/callplane/callplane/callplanetest"
	"github.com/callplane/callplane/examples/ivrbot/ivr"
)

// start runs callplane with the bot as its dev application's webhook.
func start(t *testing.T) *callplanetest.Server {
	t.Helper()
	// The bot's address first: callplane needs its webhook, the bot
	// callplane's URLs.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	botURL := "http://" + ln.Addr().String()
	cp := callplanetest.Start(t, callplanetest.CallingWebhook(botURL+"/api/calling"))
	bot := ivr.New(ivr.Config{
		GraphURL: cp.GraphURL, TokenEndpoint: cp.TokenEndpoint, ClientID: cp.ClientID, ClientSecret: cp.ClientSecret,
		CallbackURL: botURL + "/api/calls",
		Menu:        cp.BaseURL + "/media/samples/beep.wav", Goodbye: cp.BaseURL + "/media/samples/beep.wav",
		SalesUserID: "sales",
	})
	srv := httptest.NewUnstartedServer(bot.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return cp
}

func TestKeyOneTransfersToSales(t *testing.T) {
	cp := start(t)
	cp.SetPerson(t, callplanetest.Person{ID: "alice", Script: []callplanetest.Step{{On: "promptFinished", Press: "1"}}})
	callID := cp.CallBot(t, "user:alice:Alice")
	c := cp.WaitFor(t, callID, func(c callplanetest.Call) bool { return c.State == "terminated" })
	if c.Outcome != "transferred" || c.Target == nil || c.Target.User == nil || c.Target.User.ID != "sales" {
		t.Fatalf("alice's call: %+v", c)
	}
}

func TestKeyTwoRecordsAMessage(t *testing.T) {
	cp := start(t)
	cp.SetPerson(t, callplanetest.Person{ID: "bob", Script: []callplanetest.Step{
		{On: "promptFinished", Press: "2"},
		{On: "recordingStarted", Speak: time.Second},
	}})
	callID := cp.CallBot(t, "user:bob")
	c := cp.WaitFor(t, callID, func(c callplanetest.Call) bool { return c.State == "terminated" })
	if c.Outcome != "botHungUp" || len(c.Prompts) != 2 {
		t.Fatalf("bob's call: %+v", c)
	}
	var did []string
	for _, e := range cp.Timeline(t, callID) {
		if e.Kind == "request" {
			did = append(did, e.Action)
		}
	}
	want := []string{"answer", "subscribeToTone", "playPrompt", "recordResponse", "downloadRecording", "playPrompt", "delete"}
	if !slices.Equal(did, want) {
		t.Fatalf("the bot did %v, want %v", did, want)
	}
}
