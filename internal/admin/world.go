package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/control"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/sim"
)

// World is the simulated world the admin API drives: people and the calls
// they place to bots.
type World interface {
	SetPerson(ctx context.Context, p call.Person) (call.Person, error)
	Person(ctx context.Context, id string) (call.Person, error)
	People(ctx context.Context) ([]call.Person, error)
	RemovePerson(ctx context.Context, id string) error
	PlaceCall(ctx context.Context, c sim.Call) (*call.Call, error)
	HangUp(ctx context.Context, callID string) error
	CallView(ctx context.Context, callID string) (*call.Call, error)
	Call(ctx context.Context, callID string) (*call.Call, error)
	Drop(ctx context.Context, callID string, reason call.Result) error
	InviteApplication(ctx context.Context, groupID string, app call.Identity) (*call.Call, error)
	PressTones(ctx context.Context, callID, keys string) error
	Share(ctx context.Context, callID string, sharing bool) (call.ContentSession, error)
	Speak(ctx context.Context, callID string, s sim.Speech) error
	GroupTones(ctx context.Context, groupID, participantID, keys string) error
	GroupSpeech(ctx context.Context, groupID, participantID string, s sim.Speech) error
	DeviceQuality() []sim.DeviceQuality
}

func (a *API) worldRoutes() {
	a.mux.HandleFunc("GET /callplane/device-quality", a.deviceQuality)
	a.mux.HandleFunc("POST /callplane/calls", a.placeCall)
	a.mux.HandleFunc("GET /callplane/calls/{id}", a.showCall)
	a.mux.HandleFunc("GET /callplane/calls/{id}/timeline", a.timeline)
	a.mux.HandleFunc("POST /callplane/calls/{id}/hangup", a.hangUpCall)
	a.mux.HandleFunc("POST /callplane/calls/{id}/tones", a.pressTones)
	a.mux.HandleFunc("POST /callplane/calls/{id}/speech", a.speak)
	a.mux.HandleFunc("POST /callplane/calls/{id}/share", a.shareInCall(true))
	a.mux.HandleFunc("POST /callplane/calls/{id}/unshare", a.shareInCall(false))
	a.mux.HandleFunc("POST /callplane/meetings/{id}/participants/{pid}/tones", a.pressTones)
	a.mux.HandleFunc("POST /callplane/meetings/{id}/participants/{pid}/speech", a.speak)
	a.mux.HandleFunc("GET /callplane/people", a.listPeople)
	a.mux.HandleFunc("GET /callplane/people/{id}", a.showPerson)
	a.mux.HandleFunc("PUT /callplane/people/{id}", a.setPerson)
	a.mux.HandleFunc("DELETE /callplane/people/{id}", a.removePerson)
	a.mux.HandleFunc("POST /callplane/applications/{id}/instances", a.addInstance)
	a.mux.HandleFunc("DELETE /callplane/applications/{id}/instances/{iid}", a.removeInstance)
}

// CallRequest has a simulated party call a bot. To is an application
// ({"application": {"id": CLIENT_ID}}, or {"application": {}} for the dev
// application), an application instance, or an instance's phone number.
type CallRequest struct {
	From                graph.IdentitySet `json:"from"`
	To                  graph.IdentitySet `json:"to"`
	RequestedModalities []string          `json:"requestedModalities"`
}

// CallView is the simulator's side of a call with a simulated remote
// party: who is at the other end, the call's state, and how it turned out.
type CallView struct {
	// ID is the bot's call id.
	ID            string             `json:"id"`
	ApplicationID string             `json:"applicationId"`
	Direction     string             `json:"direction"`
	State         string             `json:"state"`
	Remote        *graph.IdentitySet `json:"remote"`
	// Outcome: ringing, answered, rejected (Reason: the reject reason),
	// redirected (Target: who took it), transferred (Target), unanswered,
	// callerHungUp, calleeHungUp, botHungUp, calleeRefused (Reason: busy,
	// decline or noAnswer).
	Outcome    string             `json:"outcome"`
	Reason     string             `json:"reason,omitempty"`
	Target     *graph.IdentitySet `json:"target,omitempty"`
	ResultInfo *graph.ResultInfo  `json:"resultInfo,omitempty"`
	// Prompts are what the person heard of the bot's prompts; TonesReceived
	// the DTMF keys the bot sent.
	Prompts       []PromptHeard `json:"prompts"`
	TonesReceived string        `json:"tonesReceived"`
	// RecordingStatus is what the bot last said of its recording
	// (updateRecordingStatus).
	RecordingStatus string `json:"recordingStatus,omitempty"`
	// ContentSharing is the presentation the person gives the bot, if any.
	ContentSharing *ContentSharingView `json:"contentSharing,omitempty"`
	// Script is the person's script, and how far it got.
	Script     []ScriptStepView `json:"script,omitempty"`
	ScriptStep int              `json:"scriptStep"`
	CreatedAt  time.Time        `json:"createdDateTime"`
	EndedAt    *time.Time       `json:"endedDateTime,omitempty"`
}

// PromptHeard is a prompt as the person heard it.
type PromptHeard struct {
	URI             string  `json:"uri"`
	DurationSeconds float64 `json:"durationSeconds"`
	// Outcome is played, cancelled, or failed with why.
	Outcome string `json:"outcome"`
}

// ScriptStepView is one step of a person's script: on an event of their
// call (answered, promptFinished, recordingStarted, toneSubscribed), after
// a delay, one action: press keys, speak for a while, or hang up.
type ScriptStepView struct {
	On     string `json:"on"`
	After  string `json:"after,omitempty"`
	Press  string `json:"press,omitempty"`
	Speak  string `json:"speak,omitempty"`
	Hangup bool   `json:"hangup,omitempty"`
}

func callView(c *call.Call) CallView {
	v := CallView{
		ID: c.ID, ApplicationID: c.Owner.AppID, Direction: string(c.Direction), State: string(c.State),
		CreatedAt: c.CreatedAt, EndedAt: optionalTime(c.EndedAt), RecordingStatus: c.RecordingStatus, Prompts: []PromptHeard{},
	}
	if r := c.Result; r != nil {
		v.ResultInfo = &graph.ResultInfo{Code: r.Code, Subcode: r.Subcode, Message: r.Message}
	}
	if c.Remote == nil {
		return v // a group call's leg: the people are in its meeting's roster
	}
	v.Remote, v.Outcome, v.Reason = graph.IdentitySetOf(c.RemoteIdentity()), string(c.Remote.Outcome), c.Remote.Reason
	if c.Remote.Target != nil {
		v.Target = graph.IdentitySetOf(*c.Remote.Target)
	}
	for _, h := range c.Remote.Heard {
		v.Prompts = append(v.Prompts, PromptHeard{URI: h.URI, DurationSeconds: h.Length.Seconds(), Outcome: h.Outcome})
	}
	v.TonesReceived = c.Remote.TonesReceived
	if s := c.Remote.Content; s != nil {
		v.ContentSharing = contentSharingView(*s)
	}
	v.Script, v.ScriptStep = scriptView(c.Remote.Script), c.Remote.ScriptPos
	return v
}

func scriptView(steps []call.ScriptStep) []ScriptStepView {
	var out []ScriptStepView
	for _, s := range steps {
		v := ScriptStepView{On: string(s.On), Press: s.Press, Hangup: s.Hangup}
		if s.After > 0 {
			v.After = s.After.String()
		}
		if s.Speak > 0 {
			v.Speak = s.Speak.String()
		}
		out = append(out, v)
	}
	return out
}

func parseScript(steps []ScriptStepView) ([]call.ScriptStep, error) {
	var out []call.ScriptStep
	for i, v := range steps {
		s := call.ScriptStep{On: call.ScriptTrigger(v.On), Press: v.Press, Hangup: v.Hangup}
		for _, d := range []struct {
			name, value string
			to          *time.Duration
		}{{"after", v.After, &s.After}, {"speak", v.Speak, &s.Speak}} {
			if d.value == "" {
				continue
			}
			parsed, err := time.ParseDuration(d.value)
			if err != nil {
				return nil, &call.InvalidError{Msg: fmt.Sprintf("script[%d].%s must be a duration such as 500ms or 2s", i, d.name)}
			}
			*d.to = parsed
		}
		out = append(out, s)
	}
	return out, nil
}

// TonesRequest presses keys: "12#".
type TonesRequest struct {
	Tones string `json:"tones"`
}

// SpeechRequest speaks for a while, or speaks a WAV file (base64 in JSON).
type SpeechRequest struct {
	Seconds float64 `json:"seconds,omitempty"`
	Audio   []byte  `json:"audio,omitempty"`
}

// maxSpeechBody bounds a speech request: the longest recording
// (call.MaxRecordSeconds) of 16 kHz audio, in base64, and some.
const maxSpeechBody = 8 << 20

func (a *API) pressTones(w http.ResponseWriter, r *http.Request) {
	var req TonesRequest
	if !readJSON(w, r, &req, false) {
		return
	}
	if len(req.Tones) == 0 || len(req.Tones) > 64 {
		writeError(w, http.StatusBadRequest, "badRequest", "tones is 1 to 64 keys: 0-9, *, #, A-D")
		return
	}
	var err error
	if pid := r.PathValue("pid"); pid != "" {
		err = a.World.GroupTones(r.Context(), r.PathValue("id"), pid, req.Tones)
	} else {
		err = a.World.PressTones(r.Context(), graph.NormalizeID(r.PathValue("id")), req.Tones)
	}
	if err != nil {
		a.worldFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// shareInCall has a call's remote person present their screen to the bot,
// or stop: share answers the session, unshare 204.
func (a *API) shareInCall(sharing bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		session, err := a.World.Share(r.Context(), graph.NormalizeID(r.PathValue("id")), sharing)
		switch {
		case err != nil:
			a.worldFailed(w, err)
		case sharing:
			writeJSON(w, http.StatusOK, contentSharingView(session))
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}
}

func (a *API) speak(w http.ResponseWriter, r *http.Request) {
	var req SpeechRequest
	if !readJSONUpTo(w, r, &req, false, maxSpeechBody) {
		return
	}
	speech := sim.Speech{Length: time.Duration(req.Seconds * float64(time.Second)), Audio: req.Audio}
	var err error
	if pid := r.PathValue("pid"); pid != "" {
		err = a.World.GroupSpeech(r.Context(), r.PathValue("id"), pid, speech)
	} else {
		err = a.World.Speak(r.Context(), graph.NormalizeID(r.PathValue("id")), speech)
	}
	if err != nil {
		a.worldFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) placeCall(w http.ResponseWriter, r *http.Request) {
	var req CallRequest
	if !readJSON(w, r, &req, false) {
		return
	}
	from, err := graph.IdentityOf(&req.From, "from")
	if err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", err.Error())
		return
	}
	to, err := graph.IdentityOf(&req.To, "to")
	if err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", err.Error())
		return
	}
	var modalities []call.Modality
	for _, m := range req.RequestedModalities {
		modalities = append(modalities, call.Modality(m))
	}
	c, err := a.World.PlaceCall(r.Context(), sim.Call{From: from, To: to, Modalities: modalities})
	if err != nil {
		a.worldFailed(w, err)
		return
	}
	w.Header().Set("Location", "/callplane/calls/"+c.ID)
	writeJSON(w, http.StatusCreated, callView(c))
}

func (a *API) showCall(w http.ResponseWriter, r *http.Request) {
	c, err := a.World.Call(r.Context(), graph.NormalizeID(r.PathValue("id")))
	if err != nil {
		a.worldFailed(w, err)
		return
	}
	writeJSON(w, http.StatusOK, callView(c))
}

func (a *API) hangUpCall(w http.ResponseWriter, r *http.Request) {
	if err := a.World.HangUp(r.Context(), graph.NormalizeID(r.PathValue("id"))); err != nil {
		a.worldFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// PersonView is a simulated person: how they answer calls that ring them.
type PersonView struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
	// Answer is auto, busy, decline or noAnswer.
	Answer string `json:"answer"`
	// AnswerDelay is how long they take (Go duration syntax: "1.5s");
	// empty is the server's --answer-delay.
	AnswerDelay string           `json:"answerDelay,omitempty"`
	Script      []ScriptStepView `json:"script,omitempty"`
	UpdatedAt   time.Time        `json:"lastModifiedDateTime"`
}

// PersonRequest sets a person.
type PersonRequest struct {
	DisplayName string           `json:"displayName"`
	Answer      string           `json:"answer"`
	AnswerDelay string           `json:"answerDelay"`
	Script      []ScriptStepView `json:"script"`
}

// PeopleList is the body of GET /callplane/people.
type PeopleList struct {
	Value []PersonView `json:"value"`
}

func personView(p call.Person) PersonView {
	v := PersonView{ID: p.ID, DisplayName: p.DisplayName, Answer: string(p.Answering.Mode), Script: scriptView(p.Script), UpdatedAt: p.UpdatedAt}
	if p.Answering.Delay > 0 {
		v.AnswerDelay = p.Answering.Delay.String()
	}
	return v
}

func (a *API) setPerson(w http.ResponseWriter, r *http.Request) {
	var req PersonRequest
	if !readJSON(w, r, &req, true) {
		return
	}
	p := call.Person{ID: r.PathValue("id"), DisplayName: req.DisplayName, Answering: call.Answering{Mode: call.AnswerMode(req.Answer)}}
	if req.AnswerDelay != "" {
		d, err := time.ParseDuration(req.AnswerDelay)
		if err != nil {
			writeError(w, http.StatusBadRequest, "badRequest", "answerDelay must be a duration such as 1.5s")
			return
		}
		p.Answering.Delay = d
	}
	script, err := parseScript(req.Script)
	if err != nil {
		a.worldFailed(w, err)
		return
	}
	p.Script = script
	saved, err := a.World.SetPerson(r.Context(), p)
	if err != nil {
		a.worldFailed(w, err)
		return
	}
	writeJSON(w, http.StatusOK, personView(saved))
}

func (a *API) showPerson(w http.ResponseWriter, r *http.Request) {
	p, err := a.World.Person(r.Context(), r.PathValue("id"))
	if err != nil {
		a.worldFailed(w, err)
		return
	}
	writeJSON(w, http.StatusOK, personView(p))
}

func (a *API) listPeople(w http.ResponseWriter, r *http.Request) {
	people, err := a.World.People(r.Context())
	if err != nil {
		a.worldFailed(w, err)
		return
	}
	out := PeopleList{Value: []PersonView{}}
	for _, p := range people {
		out.Value = append(out.Value, personView(p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) removePerson(w http.ResponseWriter, r *http.Request) {
	if err := a.World.RemovePerson(r.Context(), r.PathValue("id")); err != nil {
		a.worldFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// InstanceRequest adds an application instance with a phone number.
type InstanceRequest struct {
	DisplayName string `json:"displayName"`
	PhoneNumber string `json:"phoneNumber"`
}

// InstanceView is an application instance.
type InstanceView struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"displayName,omitempty"`
	PhoneNumber string    `json:"phoneNumber"`
	CreatedAt   time.Time `json:"createdDateTime"`
}

func (a *API) addInstance(w http.ResponseWriter, r *http.Request) {
	var req InstanceRequest
	if !readJSON(w, r, &req, false) {
		return
	}
	in, err := a.Applications.AddInstance(r.PathValue("id"), req.DisplayName, req.PhoneNumber)
	if err != nil {
		a.appFailed(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, instanceView(in))
}

func instanceView(in auth.Instance) InstanceView {
	return InstanceView{ID: in.ID, DisplayName: in.DisplayName, PhoneNumber: in.PhoneNumber, CreatedAt: in.CreatedAt}
}

func (a *API) removeInstance(w http.ResponseWriter, r *http.Request) {
	if err := a.Applications.RemoveInstance(r.PathValue("id"), r.PathValue("iid")); err != nil {
		a.appFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) worldFailed(w http.ResponseWriter, err error) {
	var invalid *call.InvalidError
	switch {
	case errors.Is(err, call.ErrNotFound):
		writeError(w, http.StatusNotFound, "notFound", "No such call.")
	case errors.Is(err, sim.ErrNoSuchPerson):
		writeError(w, http.StatusNotFound, "notFound", "No such person.")
	case errors.Is(err, call.ErrNoSuchMember):
		writeError(w, http.StatusNotFound, "notFound", "No such person in the meeting.")
	case errors.Is(err, control.ErrNoSuchGroup):
		writeError(w, http.StatusNotFound, "notFound", "No such meeting or group call.")
	case errors.Is(err, call.ErrGroupEnded):
		writeError(w, http.StatusConflict, "conflict", "The meeting or group call has ended.")
	case errors.Is(err, call.ErrNotSharing):
		writeError(w, http.StatusConflict, "conflict", "The person is not sharing their screen.")
	case errors.Is(err, control.ErrNoRemote):
		writeError(w, http.StatusConflict, "conflict", "The call has no simulated remote party: it is a group call's leg.")
	case errors.Is(err, control.ErrNoWebhook):
		writeError(w, http.StatusConflict, "noCallingWebhook", "The application has no calling webhook, so the call cannot reach it: set one with callplane app set APP --webhook URL (or serve --calling-webhook for the dev application).")
	case errors.Is(err, sim.ErrNotAnApplication):
		writeError(w, http.StatusBadRequest, "badRequest", "to must name an application: {\"application\": {\"id\": CLIENT_ID}}, an application instance, or an instance's phone number.")
	case errors.As(err, &invalid):
		writeError(w, http.StatusBadRequest, "badRequest", invalid.Msg)
	default:
		a.Log.Error("simulator", "err", err)
		writeError(w, http.StatusInternalServerError, "generalException", "The simulator failed: "+err.Error())
	}
}

// DeviceQualityList is the body of GET /callplane/device-quality: the
// quality reports bots logged with logTeleconferenceDeviceQuality, oldest
// first (the latest 100, of this node).
type DeviceQualityList struct {
	Value []sim.DeviceQuality `json:"value"`
}

func (a *API) deviceQuality(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, DeviceQualityList{Value: a.World.DeviceQuality()})
}
