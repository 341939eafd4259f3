package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/testbot"
	"github.com/callplane/callplane/internal/testenv"
)

// referenceExample is one request example of Graph's v1.0 calls-API
// reference pages, as testdata/reference_examples.json keeps it: the
// request as the page writes it, and what the page says comes back.
type referenceExample struct {
	Page            string            `json:"page"`
	Name            string            `json:"name"`
	Title           string            `json:"title"`
	Method          string            `json:"method"`
	Path            string            `json:"path"`
	Body            json.RawMessage   `json:"body"`
	Status          int               `json:"status"`
	ResponseHeaders map[string]string `json:"responseHeaders"`
	ResponseType    string            `json:"responseType"`
	Notifications   []struct {
		ChangeType  string `json:"changeType"`
		ResourceURL string `json:"resourceUrl"`
		State       string `json:"state"`
		Status      string `json:"status"`
	} `json:"notifications"`
	InV1Schema bool   `json:"inV1Schema"`
	Notes      string `json:"notes"`
}

// Where a page's notifications are more than the request brings about.
// Each entry says how many of the page's notifications, from the first,
// the replay expects, and why the rest are not expected.
var replayedNotifications = map[string]struct {
	first int
	why   string
}{
	"call-answer-app-hosted-media": {2, "the page's answer does not ask for content sharing notifications (callOptions), and the ones it shows after name another call"},
	"call-transfer-1":              {3, "the fourth is the alternative outcome, a transfer that failed"},
	"call-transfer-2":              {3, "the fourth is the alternative outcome, a transfer that failed"},
	"call-transfer-3":              {3, "the fourth is the alternative outcome, a transfer that failed"},
	"call-transfer-4":              {3, "the fourth is the alternative outcome, a transfer that failed"},
	"call-transfer-5":              {3, "the fourth is the alternative outcome, a transfer that failed"},
	"call-sendDtmfTones":           {1, "the page shows three alternative completions (success and two errors)"},
}

// Where the page contradicts itself or the rules callplane keeps, the
// answer callplane gives instead, and why.
var replayedDifferently = map[string]struct {
	status  int
	message string // what the error says
	why     string
}{
	"update-audioRoutingGroup": {http.StatusBadRequest, "only a multicast group's receivers can be updated", "the body gives a oneToOne group two receivers; the audioRoutingGroup resource gives a oneToOne group one source and one receiver, and callplane lets only a multicast group's receivers change"},
}

// referenceExampleCount is how many request examples the v1.0 calls-API
// reference pages have (testdata/reference_examples.json).
const referenceExampleCount = 60

func loadReferenceExamples(t *testing.T) []referenceExample {
	t.Helper()
	data, err := os.ReadFile("testdata/reference_examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var examples []referenceExample
	if err := json.Unmarshal(data, &examples); err != nil {
		t.Fatal(err)
	}
	for i, ex := range examples {
		// Compact, so that the stages can look for properties in it.
		var compact bytes.Buffer
		if len(ex.Body) > 0 {
			if err := json.Compact(&compact, ex.Body); err != nil {
				t.Fatalf("%s: %v", ex.Name, err)
			}
			examples[i].Body = compact.Bytes()
		}
	}
	return examples
}

// TestReferenceExamples replays every request example of Graph's v1.0
// calls-API reference pages against callplane: each example's body as the
// page writes it, with its ids replaced by those of a world set up for it
// (a call ringing, an established call, a meeting with people in it) and
// its callbacks by local bots. Each answers with the page's status (a
// body matching the CSDL type the page names, a Location where the page
// shows one), and each bot hears the notifications the page shows after
// the request, in order. Examples of actions not in the v1.0 schema are
// answered as unknown actions, naming them.
func TestReferenceExamples(t *testing.T) {
	examples := loadReferenceExamples(t)
	names := map[string]bool{}
	for _, ex := range examples {
		names[ex.Name] = true
	}
	for name := range replayedNotifications {
		if !names[name] {
			t.Errorf("replayedNotifications names %q, which is no example", name)
		}
	}
	for name := range replayedDifferently {
		if !names[name] {
			t.Errorf("replayedDifferently names %q, which is no example", name)
		}
	}
	r := newReplay(t)
	var documented, differently, unknown []string
	for i, ex := range examples {
		ok := t.Run(fmt.Sprintf("%02d-%s", i, ex.Name), func(t *testing.T) {
			if !ex.InV1Schema {
				r.replayUnknown(t, ex)
				unknown = append(unknown, ex.Name)
				return
			}
			r.replay(t, ex)
			if _, ok := replayedDifferently[ex.Name]; ok {
				differently = append(differently, ex.Name)
			} else {
				documented = append(documented, ex.Name)
			}
		})
		if !ok {
			t.Logf("%s (%s): %s", ex.Name, ex.Page, ex.Title)
		}
	}
	if len(examples) != referenceExampleCount {
		t.Errorf("%d examples, want the %d of the reference pages", len(examples), referenceExampleCount)
	}
	t.Logf("%d examples of the v1.0 calls API: %d answered as documented, %d where the page contradicts its resource %v, %d of actions not in the v1.0 schema answered as unknown %v",
		len(examples), len(documented), len(differently), differently, len(unknown), unknown)
}

// replay is the world the examples run in: one callplane whose dev
// application has a calling webhook, a server of prompt files, and a
// second application to redirect calls to.
type replay struct {
	in       *inbound
	files    string
	otherApp string
	tenant   string
	instance auth.Instance
}

func newReplay(t *testing.T) *replay {
	in := startInbound(t)
	dir := in.env.Server.Directory()
	other, _, err := dir.AddApplication(auth.AppSettings{DisplayName: "test bot 2", CallingWebhook: testbot.Start(t).URL})
	if err != nil {
		t.Fatal(err)
	}
	return &replay{in: in, files: promptServer(t), otherApp: other.ClientID, tenant: dir.TenantID(), instance: dir.DefaultApplication().Instances[0]}
}

// stage is what one example acts on: the call its path names and its bot,
// and the ids its path and body refer to.
type stage struct {
	bot         *testbot.Bot
	callID      string
	participant string // a person in the call's roster
	people      []string
	me          string
	routing     string
	session     string
	operation   string
	meeting     *admin.GroupView
	replaces    string
	// after is what the world does once the request is answered: a key
	// the caller presses.
	after func(t *testing.T)
}

// entity is what every listed thing has: an id.
type entity struct {
	ID string `json:"id"`
}

// listed says whether the example lists a collection of its call, and
// which of the stage's ids the listing must have (none when the stage put
// nothing there).
func (s *stage) listed(ex referenceExample) (string, bool) {
	if ex.Method != http.MethodGet {
		return "", false
	}
	segs := strings.Split(ex.Path, "/")
	switch segs[len(segs)-1] {
	case "participants":
		return s.participant, true
	case "audioRoutingGroups":
		return s.routing, true
	case "contentSharingSessions":
		return s.session, true
	case "operations":
		return s.operation, true
	}
	return "", false
}

// action names what the example does: "create", "get", "delete",
// "quality", an action ("answer", "participants.mute"), or a collection
// and method ("audioRoutingGroups.PATCH").
func action(ex referenceExample) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(ex.Path, "/v1.0"), "/communications/calls")
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	if rest == "" {
		return "create"
	}
	name := func(s string) string { return strings.TrimPrefix(s, "microsoft.graph.") }
	switch {
	case segs[0] == "logTeleconferenceDeviceQuality":
		return "quality"
	case len(segs) == 1:
		return strings.ToLower(ex.Method)
	case segs[1] == "participants" && len(segs) == 3 && (segs[2] == "invite" || segs[2] == "configureMixer"):
		return "participants." + segs[2]
	case segs[1] == "participants" && len(segs) == 4:
		return "participant." + name(segs[3])
	case len(segs) == 2 && ex.Method == http.MethodPost && segs[1] != "audioRoutingGroups":
		return name(segs[1])
	}
	return segs[1] + "." + ex.Method + fmt.Sprint(len(segs))
}

func (r *replay) replay(t *testing.T, ex referenceExample) {
	s := r.stage(t, ex)
	path := r.path(t, ex, s)
	var body any
	if len(ex.Body) > 0 && string(ex.Body) != "null" {
		if err := json.Unmarshal(ex.Body, &body); err != nil {
			t.Fatal(err)
		}
		body = r.substitute(body, s, nil)
	}
	before := len(s.notifications())
	resp := r.in.env.Do(t, ex.Method, path, r.in.env.Token, body)

	status := ex.Status
	if d, ok := replayedDifferently[ex.Name]; ok {
		status = d.status
		t.Logf("answered %d, not the page's %d: %s", status, ex.Status, d.why)
	}
	if resp.Status != status {
		t.Fatalf("%s %s: %d, want %d\nrequest %s\nanswer %s", ex.Method, path, resp.Status, status, mustJSON(body), resp.Body)
	}
	if status != ex.Status {
		if d := replayedDifferently[ex.Name]; !strings.Contains(string(resp.Body), d.message) {
			t.Fatalf("the error does not say %q: %s", d.message, resp.Body)
		}
		return
	}
	switch {
	case ex.ResponseType == "" || status == http.StatusNoContent:
		if len(resp.Body) != 0 {
			t.Errorf("%d with a body, where the page shows none: %s", status, resp.Body)
		}
	case len(resp.Body) == 0:
		t.Errorf("%d without a body, where the page shows a %s", status, ex.ResponseType)
	default:
		if listed, ok := s.listed(ex); ok {
			checkSchema(t, "Collection("+ex.ResponseType+")", resp.Body)
			var list graph.Collection[entity]
			resp.JSON(t, &list)
			if listed != "" && !slices.Contains(list.Value, entity{listed}) {
				t.Errorf("the listing does not have %s: %s", listed, resp.Body)
			}
		} else {
			checkSchema(t, ex.ResponseType, resp.Body)
		}
	}
	if want, ok := ex.ResponseHeaders["Location"]; ok {
		got := resp.Header.Get("Location")
		if kind := strings.Contains(want, "/operations/"); kind != strings.Contains(got, "/operations/") || s.callID != "" && !strings.Contains(got, "/communications/calls/"+s.callID) {
			t.Errorf("Location %q, where the page shows %q", got, want)
		}
	}
	if action(ex) == "create" {
		// Every call the pages create or join gets through: it is
		// established, whether the page shows it or not.
		var c graph.Call
		resp.JSON(t, &c)
		s.callID, before = c.ID, 0
		if !strings.HasSuffix(resp.Header.Get("Location"), "/communications/calls/"+c.ID) {
			t.Errorf("Location %q, not the created call %s", resp.Header.Get("Location"), c.ID)
		}
		s.bot.Wait(t, wait, "the call established", func([]testbot.Notification) bool {
			return slices.ContainsFunc(s.notifications(), func(n testbot.Notification) bool { return n.State == "established" })
		})
	}
	if s.after != nil {
		s.after(t)
	}
	r.checkNotifications(t, ex, s, before)
}

// replayUnknown checks an example of an action not in the v1.0 schema is
// answered as Graph answers a segment it does not know: 400, naming it.
func (r *replay) replayUnknown(t *testing.T, ex referenceExample) {
	s := r.stage(t, referenceExample{Method: http.MethodGet, Path: "/v1.0/communications/calls/{id}/participants"})
	var body any
	json.Unmarshal(ex.Body, &body)
	resp := r.in.env.Do(t, ex.Method, r.path(t, ex, s), r.in.env.Token, body)
	checkGraphError(t, resp, http.StatusBadRequest, "BadRequest")
	segs := strings.Split(ex.Path, "/")
	if last := segs[len(segs)-1]; !strings.Contains(string(resp.Body), last) {
		t.Errorf("the error does not name %s: %s", last, resp.Body)
	}
}

// stage sets up the world the example acts on.
func (r *replay) stage(t *testing.T, ex referenceExample) *stage {
	t.Helper()
	switch a := action(ex); a {
	case "create":
		s := &stage{bot: testbot.Start(t)}
		if strings.Contains(string(ex.Body), "meetingInfo") {
			withPasscode := !strings.Contains(string(ex.Body), `"passcode":null`)
			m := r.meeting(t, withPasscode)
			s.meeting = &m
		}
		if strings.Contains(string(ex.Body), `"isContentSharingNotificationEnabled":true`) && s.meeting == nil {
			// The callee presents, shares another window, and stops.
			s.after = func(t *testing.T) {
				s.bot.WaitAcked(t, wait, "/communications/calls/"+s.callID, 2)
				for _, act := range []string{"share", "share", "unshare"} {
					if resp := sim(t, r.in.env, http.MethodPost, "/calls/"+s.callID+"/"+act, nil); resp.Status/100 != 2 {
						t.Fatalf("%s: %d %s", act, resp.Status, resp.Body)
					}
				}
			}
		}
		return s
	case "quality":
		return &stage{bot: testbot.Start(t)}
	case "answer", "reject", "redirect":
		s := r.ringing(t)
		if a == "answer" {
			s.bot = testbot.Start(t) // the answer's callbackUri
		}
		return s
	case "updateRecordingStatus":
		// Policy-based recording bots host their own media.
		return r.peerToPeer(t, appHostedMedia)
	case "get", "delete", "keepAlive", "playPrompt", "sendDtmfTones":
		return r.peerToPeer(t, serviceHostedMedia)
	case "subscribeToTone":
		s := r.peerToPeer(t, serviceHostedMedia)
		s.after = func(t *testing.T) { r.press(t, s, "1") }
		return s
	case "recordResponse":
		// The caller answers the prompt and presses # once the recording
		// listens.
		sim(t, r.in.env, http.MethodPut, "/people/rita", map[string]any{"displayName": "Rita", "script": []any{
			map[string]any{"on": "recordingStarted", "speak": "300ms"},
			map[string]any{"on": "recordingStarted", "after": "400ms", "press": "#"},
		}})
		return r.answered(t, r.ringingFrom(t, map[string]any{"user": map[string]any{"id": "rita", "displayName": "Rita"}}), serviceHostedMedia)
	case "cancelMediaProcessing":
		s := r.peerToPeer(t, serviceHostedMedia)
		r.act(t, s, "playPrompt", promptBody(r.files+"/long.wav"))
		return s
	case "transfer":
		if strings.Contains(string(ex.Body), "transferee") {
			return r.group(t, false)
		}
		return r.replacing(t, ex, r.peerToPeer(t, serviceHostedMedia))
	case "changeScreenSharingRole":
		s := r.group(t, true)
		r.hear(t, s, "the sharer's roster", func() { r.act(t, s, "changeScreenSharingRole", map[string]any{"role": "sharer"}) })
		return s
	case "unmute":
		s := r.group(t, false)
		r.hear(t, s, "the muted roster", func() { r.act(t, s, "mute", map[string]any{"clientContext": "c"}) })
		return s
	case "participant.stopHoldMusic":
		s := r.group(t, false)
		op := r.act(t, s, "participants/"+s.participant+"/startHoldMusic", map[string]any{"clientContext": "c"})
		s.bot.WaitAcked(t, wait, "/communications/calls/"+s.callID+"/operations/"+op, 1)
		return s
	case "participants.invite":
		return r.replacing(t, ex, r.group(t, false))
	case "participants.DELETE3":
		s := r.group(t, false)
		if strings.Contains(ex.Name, "before-added-to-roster") {
			// Someone slow to answer is invited: the delete withdraws the
			// invitation.
			sim(t, r.in.env, http.MethodPut, "/people/slow", map[string]any{"displayName": "Slow", "answer": "auto", "answerDelay": "1m"})
			resp := r.in.env.Do(t, http.MethodPost, testenv.CallPath(s.callID)+"/participants/invite", r.in.env.Token,
				map[string]any{"participants": []any{map[string]any{"identity": map[string]any{"user": map[string]any{"id": "slow"}}}}})
			var op graph.Operation
			resp.JSON(t, &op)
			if resp.Status != http.StatusOK || len(op.Participants) != 1 {
				t.Fatalf("invite: %d %s", resp.Status, resp.Body)
			}
			s.participant = op.Participants[0].ParticipantID
		}
		return s
	case "audioRoutingGroups.GET2", "audioRoutingGroups.GET3", "audioRoutingGroups.PATCH3", "audioRoutingGroups.DELETE3":
		s := r.group(t, false)
		resp := r.in.env.Do(t, http.MethodPost, testenv.CallPath(s.callID)+"/audioRoutingGroups", r.in.env.Token,
			map[string]any{"id": "oneToOne", "routingMode": "oneToOne", "sources": []string{s.people[0]}, "receivers": []string{s.me}})
		if resp.Status != http.StatusOK {
			t.Fatalf("create the audio routing group: %d %s", resp.Status, resp.Body)
		}
		s.routing = "oneToOne"
		return s
	case "contentSharingSessions.GET2", "contentSharingSessions.GET3":
		s := r.group(t, false)
		resp := sim(t, r.in.env, http.MethodPost, "/meetings/"+s.meeting.ID+"/participants/"+s.people[0]+"/share", nil)
		var v admin.ContentSharingView
		resp.JSON(t, &v)
		s.session = v.ID
		return s
	case "operations.GET3":
		s := r.group(t, false)
		s.operation = r.act(t, s, "addLargeGalleryView", map[string]any{"clientContext": "c"})
		return s
	default:
		// Everything else acts on a meeting leg: its roster, its
		// participants, its audio routing groups, its own mute.
		return r.group(t, false)
	}
}

// replacing gives the stage a call for the example's replacesCallId to
// name, if it names one: a live peer-to-peer call of the application.
func (r *replay) replacing(t *testing.T, ex referenceExample, s *stage) *stage {
	t.Helper()
	if strings.Contains(string(ex.Body), "replacesCallId") {
		s.replaces = r.in.env.PlaceCall(t, testbot.Start(t).URL).ID
	}
	return s
}

// ringing is a call from Alice to the dev application's number, ringing
// the bot: its notifications go to the calling webhook.
func (r *replay) ringing(t *testing.T) *stage {
	t.Helper()
	return r.ringingFrom(t, alice)
}

func (r *replay) ringingFrom(t *testing.T, caller map[string]any) *stage {
	t.Helper()
	v := r.in.ring(t, caller, map[string]any{"phone": map[string]any{"id": r.instance.PhoneNumber}})
	r.in.created(t, v.ID)
	return &stage{bot: r.in.webhook, callID: v.ID}
}

var (
	serviceHostedMedia = map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}
	appHostedMedia     = map[string]any{"@odata.type": "#microsoft.graph.appHostedMediaConfig", "blob": "<media config>"}
)

// peerToPeer is Alice's call to the dev application's number, answered
// with the media configuration.
func (r *replay) peerToPeer(t *testing.T, media map[string]any) *stage {
	t.Helper()
	return r.answered(t, r.ringing(t), media)
}

// answered is the ringing call answered with the media configuration.
func (r *replay) answered(t *testing.T, s *stage, media map[string]any) *stage {
	t.Helper()
	s.bot = testbot.Start(t)
	resp := r.in.env.Do(t, http.MethodPost, testenv.CallPath(s.callID)+"/answer", r.in.env.Token, map[string]any{
		"callbackUri": s.bot.URL, "acceptedModalities": []string{"audio"}, "mediaConfig": media,
	})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("answer: %d %s", resp.Status, resp.Body)
	}
	s.bot.WaitAcked(t, wait, "/communications/calls/"+s.callID, 2)
	return s
}

// group is the dev application's leg in a meeting with Alice and Bob.
func (r *replay) group(t *testing.T, appHosted bool) *stage {
	t.Helper()
	m := r.meeting(t, true)
	s := &stage{bot: testbot.Start(t), meeting: &m}
	body := joinBody(s.bot.URL, m, "organizer", false)
	if appHosted {
		body["mediaConfig"] = appHostedMedia
	}
	resp := r.in.env.Do(t, http.MethodPost, "/v1.0/communications/calls", r.in.env.Token, body)
	var c graph.Call
	resp.JSON(t, &c)
	if resp.Status != http.StatusCreated {
		t.Fatalf("join: %d %s", resp.Status, resp.Body)
	}
	s.callID, s.me = c.ID, c.MyParticipantID
	s.bot.WaitAcked(t, wait, "/communications/calls/"+c.ID+"/participants", 1)
	for _, p := range m.Participants {
		s.people = append(s.people, p.ID)
	}
	s.participant = s.people[0]
	return s
}

func (r *replay) meeting(t *testing.T, passcode bool) admin.GroupView {
	t.Helper()
	resp := sim(t, r.in.env, http.MethodPost, "/meetings", map[string]any{
		"subject":               "Replay",
		"participants":          []any{alice, map[string]any{"user": map[string]any{"id": "bob", "displayName": "Bob"}}},
		"joinMeetingIdSettings": map[string]any{"isPasscodeRequired": passcode},
	})
	var m admin.GroupView
	resp.JSON(t, &m)
	if resp.Status != http.StatusCreated {
		t.Fatalf("meeting: %d %s", resp.Status, resp.Body)
	}
	return m
}

// act runs an action on the stage's call, as setup, and returns the id of
// the operation it answers with, if any.
func (r *replay) act(t *testing.T, s *stage, action string, body any) string {
	t.Helper()
	resp := r.in.env.Do(t, http.MethodPost, testenv.CallPath(s.callID)+"/"+action, r.in.env.Token, body)
	if resp.Status/100 != 2 {
		t.Fatalf("%s: %d %s", action, resp.Status, resp.Body)
	}
	var op graph.Operation
	if len(resp.Body) > 0 {
		resp.JSON(t, &op)
	}
	return op.ID
}

// press has the caller press keys on the stage's call.
func (r *replay) press(t *testing.T, s *stage, keys string) {
	t.Helper()
	if resp := sim(t, r.in.env, http.MethodPost, "/calls/"+s.callID+"/tones", map[string]any{"tones": keys}); resp.Status/100 != 2 {
		t.Fatalf("press %s: %d %s", keys, resp.Status, resp.Body)
	}
}

// hear runs fn and waits until the stage's bot has heard of it.
func (r *replay) hear(t *testing.T, s *stage, what string, fn func()) {
	t.Helper()
	had := len(s.notifications())
	fn()
	s.bot.Wait(t, wait, what, func([]testbot.Notification) bool { return len(s.notifications()) > had })
}

// notifications are what the stage's bot acknowledged on its call and the
// call's parts.
func (s *stage) notifications() []testbot.Notification {
	var out []testbot.Notification
	for _, n := range s.bot.All() {
		if n.Acked() && s.callID != "" && strings.HasPrefix(strings.ToLower(n.ResourceURL), strings.ToLower("/communications/calls/"+s.callID)) {
			out = append(out, n)
		}
	}
	return out
}

// path is the example's path with the stage's ids; a path the page writes
// without its version is v1.0's.
func (r *replay) path(t *testing.T, ex referenceExample, s *stage) string {
	t.Helper()
	segs := strings.Split(strings.TrimPrefix(strings.TrimPrefix(ex.Path, "/v1.0"), "/communications/calls"), "/")
	defer func() {
		if slices.Contains(segs[1:], "") {
			t.Fatalf("the stage has no id for a segment of %s", ex.Path)
		}
	}()
	for i := 1; i < len(segs); i++ {
		switch {
		case i == 1 && segs[i] != "logTeleconferenceDeviceQuality":
			segs[i] = s.callID
		case i == 3 && segs[2] == "participants" && segs[3] != "invite" && segs[3] != "configureMixer":
			segs[i] = s.participant
		case i == 3 && segs[2] == "audioRoutingGroups":
			segs[i] = s.routing
		case i == 3 && segs[2] == "contentSharingSessions":
			segs[i] = s.session
		case i == 3 && segs[2] == "operations":
			segs[i] = s.operation
		}
	}
	return "/v1.0/communications/calls" + strings.Join(segs, "/")
}

// substitute replaces what the page's body names of its world (its
// callback, tenant, meeting, application, people and files) with what the
// stage has. keys is where v sits in the body.
func (r *replay) substitute(v any, s *stage, keys []string) any {
	under := func(k string) bool { return slices.Contains(keys, k) }
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			path := append(slices.Clone(keys), k)
			switch {
			case k == "callbackUri":
				v[k] = s.bot.URL
			case k == "tenantId":
				v[k] = r.tenant
			case k == "replacesCallId" && s.replaces != "":
				v[k] = s.replaces
			case k == "uri":
				v[k] = r.files + "/short.wav"
			case k == "status" && strings.Contains(fmt.Sprint(x), "|"):
				v[k] = "recording" // the page's "notRecording | recording | failed"
			case k == "chatInfo" && s.meeting != nil:
				v[k] = asJSON(s.meeting.JoinInfo.ChatInfo)
			case k == "meetingInfo" && s.meeting != nil:
				v[k] = r.meetingInfo(x.(map[string]any), s.meeting)
			case k == "sources":
				v[k] = []any{s.people[0]}
			case k == "receivers":
				receivers := []any{s.me, s.people[1]}
				v[k] = receivers[:min(len(receivers), len(x.([]any)))]
			case k == "participantId" && under("transferee"):
				v[k] = s.people[0]
			case k == "application" && under("source"):
				x.(map[string]any)["id"] = r.in.env.Server.Directory().DefaultApplication().ClientID
			case k == "application" && under("targets"):
				x.(map[string]any)["id"] = r.otherApp
			case k == "applicationInstance" && under("source"):
				x.(map[string]any)["id"] = r.instance.ID
			case k == "user" && under("transferee"):
				x.(map[string]any)["id"] = "alice"
				x.(map[string]any)["tenantId"] = r.tenant
			default:
				v[k] = r.substitute(x, s, path)
			}
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = r.substitute(x, s, keys)
		}
		return v
	}
	return v
}

// meetingInfo is the page's meetingInfo naming the stage's meeting, of the
// same type, its other properties kept.
func (r *replay) meetingInfo(info map[string]any, m *admin.GroupView) map[string]any {
	switch info["@odata.type"] {
	case "#microsoft.graph.organizerMeetingInfo":
		info["organizer"] = asJSON(m.JoinInfo.OrganizerMeetingInfo.Organizer)
	case "#microsoft.graph.joinMeetingIdMeetingInfo":
		info["joinMeetingId"] = m.JoinInfo.JoinMeetingIDMeetingInfo.JoinMeetingID
		if info["passcode"] != nil {
			info["passcode"] = *m.JoinInfo.JoinMeetingIDMeetingInfo.Passcode
		}
	case "#microsoft.graph.tokenMeetingInfo":
		info["token"] = m.JoinInfo.TokenMeetingInfo.Token
	}
	return info
}

// checkNotifications checks the stage's bot heard, after the request, the
// notifications the page shows, in order: the same change, on the same
// kind of resource, with the same call state or operation status.
func (r *replay) checkNotifications(t *testing.T, ex referenceExample, s *stage, before int) {
	t.Helper()
	type seen struct{ change, kind, state string }
	var want []seen
	for _, n := range ex.Notifications {
		state := n.State
		if n.Status != "" {
			state = strings.ToLower(n.Status)
		}
		want = append(want, seen{n.ChangeType, resourceKind(n.ResourceURL), state})
	}
	if ex.Name == "participant-invite-multiple" {
		// The page writes both resource URLs as …/operations/participants:
		// the operation's completion, then the roster.
		want = []seen{{"deleted", "operation", "completed"}, {"updated", "participants", ""}}
	}
	if e, ok := replayedNotifications[ex.Name]; ok {
		t.Logf("expecting the page's first %d notifications of %d: %s", e.first, len(want), e.why)
		want = want[:e.first]
	}
	defer func() {
		for _, body := range s.bot.Bodies() {
			checkSchema(t, "microsoft.graph.commsNotifications", body)
		}
	}()
	if len(want) == 0 {
		return
	}
	heard := func() []seen {
		var out []seen
		all := s.notifications()
		for _, n := range all[min(before, len(all)):] {
			state := n.State
			if kind := resourceKind(n.ResourceURL); kind == "operation" {
				var op graph.Operation
				json.Unmarshal(n.Data, &op)
				state = strings.ToLower(op.Status)
			}
			out = append(out, seen{n.ChangeType, resourceKind(n.ResourceURL), state})
		}
		return out
	}
	// want must be a subsequence of what was heard.
	contains := func(got []seen) bool {
		i := 0
		for _, g := range got {
			if i < len(want) && g == want[i] {
				i++
			}
		}
		return i == len(want)
	}
	// sendDtmfTones's example sends twelve tones a second apart.
	s.bot.Wait(t, 3*wait, fmt.Sprintf("the page's notifications %v", want), func([]testbot.Notification) bool { return contains(heard()) })
	if what, ok := notifiedWith[ex.Name]; ok && !slices.ContainsFunc(s.notifications()[before:], func(n testbot.Notification) bool { return strings.Contains(string(n.Data), what) }) {
		t.Errorf("no notification carries %s, as the page's does", what)
	}
}

// notifiedWith is what a page's notification carries beyond its change and
// state, where that is the point of it.
var notifiedWith = map[string]string{
	"call-subscribeToTone": `"toneInfo"`,
}

// resourceKind is what a notification's resource URL names: the call, its
// roster, one of its operations, or its content sharing sessions.
func resourceKind(url string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(url), "/"), "communications/calls/")
	_, part, _ := strings.Cut(rest, "/")
	switch {
	case part == "":
		return "call"
	case strings.HasPrefix(part, "operations/"):
		return "operation"
	case strings.HasPrefix(part, "contentsharingsessions"):
		return "contentsharingsessions"
	}
	return part
}

func asJSON(v any) any {
	var out any
	data, _ := json.Marshal(v)
	json.Unmarshal(data, &out)
	return out
}

func mustJSON(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}
