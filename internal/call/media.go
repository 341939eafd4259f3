package call

import (
	"slices"
	"strings"
	"time"
)

// Service-hosted media: the prompts a call plays and the responses it
// records go through one queue per call, one at a time, in order; keys the
// remote person presses reach the application once it subscribed to tones;
// what the person says is captured by a recording that is listening. The
// media engine (outside the domain) says how long each prompt lasts, or why
// it cannot play; the domain keeps the timeline.

// Media operation types (each renders as #microsoft.graph.<type>Operation).
const (
	PlayPrompt            OperationType = "playPrompt"
	RecordResponse        OperationType = "record"
	SubscribeToTone       OperationType = "subscribeToTone"
	SendDtmfTones         OperationType = "sendDtmfTones"
	CancelMediaProcessing OperationType = "cancelMediaProcessing"
	UpdateRecordingStatus OperationType = "updateRecordingStatus"
	StartHoldMusic        OperationType = "startHoldMusic"
	StopHoldMusic         OperationType = "stopHoldMusic"
)

// Limits Graph documents.
const (
	MaxPrompts          = 20
	MaxRecordSeconds    = 120
	DefaultRecordTimers = 5 * time.Second
	// BeepLength is the beep before a recording (at most 0.5 s).
	BeepLength = 500 * time.Millisecond
	// ToneLength is how long one DTMF tone the application sends lasts.
	ToneLength = 100 * time.Millisecond
	// MaxQueuedMedia bounds a call's media queue (Graph documents none):
	// every queued job is kept in the call.
	MaxQueuedMedia = 50
	// MaxTonesSent bounds one sendDtmfTones (Graph documents no limit).
	MaxTonesSent = 100
	// MaxHeard and MaxTonesHeard bound what the simulator keeps of what the
	// person heard: the last prompts, and the last keys sent.
	MaxHeard      = 100
	MaxTonesHeard = 1000
)

// Prompt is one prompt to play: where its audio is, and what the media
// engine found there.
type Prompt struct {
	URI        string `json:",omitzero"`
	ResourceID string `json:",omitzero"`
	// Length is how long it plays; Failure, when set, is why it cannot.
	Length  time.Duration `json:",omitzero"`
	Failure *Result       `json:",omitzero"`
}

// RecordSpec is how a recordResponse listens.
type RecordSpec struct {
	InitialSilence time.Duration `json:",omitzero"`
	MaxSilence     time.Duration `json:",omitzero"`
	MaxDuration    time.Duration `json:",omitzero"`
	Beep           bool          `json:",omitzero"`
	// StopTones are the keys ("#", "1", "*") that end the recording.
	StopTones []string `json:",omitzero"`
	BargeIn   bool     `json:",omitzero"`
}

// MediaJob is a queued prompt or recording and its timeline, once started.
type MediaJob struct {
	Prompts []Prompt    `json:",omitzero"`
	Record  *RecordSpec `json:",omitzero"`
	// StartedAt is when it reached the head of the queue.
	StartedAt time.Time `json:",omitzero"`
	// ListenFrom is when a recording starts listening (after its prompt
	// and beep); Announced says recordingStarted was announced.
	ListenFrom time.Time `json:",omitzero"`
	Announced  bool      `json:",omitzero"`
	// SpeechFrom and SpeechTo are the speech the recording captured.
	SpeechFrom time.Time `json:",omitzero"`
	SpeechTo   time.Time `json:",omitzero"`
	// SpeechVoiced says the speech was uploaded audio.
	SpeechVoiced bool `json:",omitzero"`
	// EndsAt is when it ends, as things stand; End is how.
	EndsAt time.Time `json:",omitzero"`
	End    *JobEnd   `json:",omitzero"`
}

// JobEnd is how a media job ends.
type JobEnd struct {
	Status           OperationStatus `json:",omitzero"`
	Result           Result          `json:",omitzero"`
	CompletionReason string          `json:",omitzero"`
	// Recorded says the recording has audio to download.
	Recorded bool `json:",omitzero"`
}

// Media results: Graph documents 8508 and 8515; the others are the media
// platform's (Azure Communication Services) codes for the same outcomes.
var (
	MediaCancelled     = Result{Code: 400, Subcode: 8508, Message: "Action failed, the operation was cancelled."}
	MaxSilenceReached  = Result{Code: 200, Subcode: 8509, Message: "Action completed, max silence timeout reached."}
	InitialSilence     = Result{Code: 400, Subcode: 8510, Message: "Action failed, initial silence timeout reached."}
	StopToneDetected   = Result{Code: 200, Subcode: 8514, Message: "Action completed as stop tone was detected."}
	MaxDurationReached = Result{Code: 200, Subcode: 8515, Message: "Action completed, max record duration reached."}
)

// PromptDownloadFailed and PromptFormatInvalid fail a prompt, with why.
func PromptDownloadFailed(why string) Result {
	return Result{Code: 400, Subcode: 8536, Message: "Action failed, file could not be downloaded: " + why}
}

// PromptFormatInvalid fails a prompt that is not audio the service plays.
func PromptFormatInvalid(why string) Result {
	return Result{Code: 400, Subcode: 8535, Message: "Action failed, file format is invalid: " + why}
}

// RemoteAction is something a person at the other end of a call did: pressed
// keys, spoke for a while, or hung up.
type RemoteAction struct {
	At     time.Time     `json:",omitzero"`
	Did    string        `json:",omitzero"`
	Keys   string        `json:",omitzero"`
	Length time.Duration `json:",omitzero"`
}

// Remote actions.
const (
	Pressed = "pressed"
	Spoke   = "spoke"
	HungUp  = "hungUp"
	// Shared and StoppedSharing are a presentation started (or changed)
	// and ended.
	Shared         = "shared"
	StoppedSharing = "stoppedSharing"
)

// MaxRemoteActions bounds what a call keeps of RemoteActions.
const MaxRemoteActions = 100

func (c *Call) remoteDid(a RemoteAction) {
	c.RemoteActions = append(c.RemoteActions, a)
	if n := len(c.RemoteActions); n > MaxRemoteActions {
		c.RemoteActions = slices.Delete(c.RemoteActions, 0, n-MaxRemoteActions)
	}
}

// Tones are Graph's tone values, by the key that makes them.
var Tones = map[string]string{
	"0": "tone0", "1": "tone1", "2": "tone2", "3": "tone3", "4": "tone4",
	"5": "tone5", "6": "tone6", "7": "tone7", "8": "tone8", "9": "tone9",
	"*": "star", "#": "pound", "A": "a", "B": "b", "C": "c", "D": "d", "F": "flash",
}

// KeyOf is the key of a tone value ("tone1" → "1"), and whether it is one.
func KeyOf(tone string) (string, bool) {
	for k, v := range Tones {
		if v == tone {
			return k, true
		}
	}
	return "", false
}

// ToneEvent is a key the remote person pressed, as the application hears
// it once subscribed.
type ToneEvent struct {
	Tone       string
	SequenceID int
}

// Heard is what the remote person heard of the application's media.
type Heard struct {
	URI     string        `json:",omitzero"`
	Length  time.Duration `json:",omitzero"`
	Outcome string        `json:",omitzero"`
}

// ErrMediaMode is a media action on a call whose media the application
// hosts itself.
var ErrMediaMode = invalid("this action needs a call with service-hosted media (mediaConfig serviceHostedMediaConfig)")

// ErrNotPolicyRecording is updateRecordingStatus on a call whose media the
// service hosts: the action is for policy-recording bots, which host the
// media they record.
var ErrNotPolicyRecording = invalid("updateRecordingStatus is for Teams policy-based recording bots, whose calls host their own media (mediaConfig appHostedMediaConfig)")

func (c *Call) serviceHosted() error {
	if c.Media.Hosting != ServiceHosted {
		return ErrMediaMode
	}
	if !c.State.Live() || c.State == Incoming {
		return invalid("the call must be established for media operations")
	}
	return nil
}

// PlayPrompts queues prompts, played one after another; the operation
// completes when the last has played, or fails when one cannot.
func (c *Call) PlayPrompts(now time.Time, prompts []Prompt, clientContext string, t Timing) (Operation, []Event, error) {
	if err := c.serviceHosted(); err != nil {
		return Operation{}, nil, err
	}
	switch {
	case len(prompts) == 0:
		return Operation{}, nil, invalid("prompts is required: at least one mediaPrompt")
	case len(prompts) > MaxPrompts:
		return Operation{}, nil, invalid("at most %d prompts can be played at once, not %d", MaxPrompts, len(prompts))
	}
	op, err := NewOperation(PlayPrompt, clientContext, time.Time{})
	if err != nil {
		return Operation{}, nil, err
	}
	op.Status, op.Result, op.Media = Running, nil, &MediaJob{Prompts: prompts}
	return c.enqueue(now, op, false, t)
}

// RecordRequest is a recordResponse.
type RecordRequest struct {
	Prompt        *Prompt
	Spec          RecordSpec
	ClientContext string
}

// Record queues a recording of what the remote person says, after an
// optional prompt and beep. A barge-in recording starts at once, cutting
// short whatever plays.
func (c *Call) Record(now time.Time, req RecordRequest, t Timing) (Operation, []Event, error) {
	if err := c.serviceHosted(); err != nil {
		return Operation{}, nil, err
	}
	s := req.Spec
	for _, d := range []*time.Duration{&s.InitialSilence, &s.MaxSilence, &s.MaxDuration} {
		if *d == 0 {
			*d = DefaultRecordTimers
		}
		if *d < time.Second || *d > MaxRecordSeconds*time.Second {
			return Operation{}, nil, invalid("the recording's timeouts and duration must be from 1 to %d seconds", MaxRecordSeconds)
		}
	}
	for _, k := range s.StopTones {
		if _, ok := Tones[strings.ToUpper(k)]; !ok {
			return Operation{}, nil, invalid("stopTones: %q is not a key (0-9, *, #, A-D)", k)
		}
	}
	op, err := NewOperation(RecordResponse, req.ClientContext, time.Time{})
	if err != nil {
		return Operation{}, nil, err
	}
	job := &MediaJob{Record: &s}
	if req.Prompt != nil {
		job.Prompts = []Prompt{*req.Prompt}
	}
	op.Status, op.Result, op.Media = Running, nil, job
	return c.enqueue(now, op, s.BargeIn, t)
}

// enqueue adds a media job: last, or first, interrupting the one playing.
func (c *Call) enqueue(now time.Time, op Operation, first bool, t Timing) (Operation, []Event, error) {
	events := c.advanceMedia(now, t)
	if len(c.MediaQueue) >= MaxQueuedMedia {
		return Operation{}, events, invalid("at most %d prompts and recordings can wait on a call; cancelMediaProcessing cancels them", MaxQueuedMedia)
	}
	if first {
		if head := c.headJob(); head != nil {
			events = append(events, c.finishJob(now, head, JobEnd{Status: Failed, Result: MediaCancelled, CompletionReason: "operationCanceled"})...)
		}
		c.MediaQueue = append([]string{op.ID}, c.MediaQueue...)
	} else {
		c.MediaQueue = append(c.MediaQueue, op.ID)
	}
	c.AddOperation(op)
	events = append(events, c.advanceMedia(now, t)...)
	got, _ := c.Operation(op.ID)
	return got, events, nil
}

// headJob is the operation at the head of the media queue.
func (c *Call) headJob() *Operation {
	if len(c.MediaQueue) == 0 {
		return nil
	}
	i := slices.IndexFunc(c.Operations, func(op Operation) bool { return op.ID == c.MediaQueue[0] })
	if i < 0 {
		c.MediaQueue = c.MediaQueue[1:]
		return c.headJob()
	}
	return &c.Operations[i]
}

// startJob puts its timeline on a job reaching the head of the queue.
func (c *Call) startJob(now time.Time, op *Operation) {
	job := op.Media
	job.StartedAt = now
	at := now
	for _, p := range job.Prompts {
		if p.Failure != nil {
			job.EndsAt, job.End = at, &JobEnd{Status: Failed, Result: *p.Failure, CompletionReason: "playPromptFailed"}
			if job.Record == nil {
				job.End.CompletionReason = ""
			}
			return
		}
		at = at.Add(p.Length)
	}
	if job.Record == nil {
		job.EndsAt, job.End = at, &JobEnd{Status: Completed, Result: OperationSucceeded}
		return
	}
	if job.Record.Beep {
		at = at.Add(BeepLength)
	}
	job.ListenFrom = at
	c.planRecording(job)
}

// planRecording sets when a listening recording ends, given what it heard
// so far: silence until the initial-silence timeout; after speech, the
// silence timeout; never past the maximum duration.
func (c *Call) planRecording(job *MediaJob) {
	r := job.Record
	limit := job.ListenFrom.Add(r.MaxDuration)
	end, how := job.ListenFrom.Add(r.InitialSilence), JobEnd{Status: Failed, Result: InitialSilence, CompletionReason: "initialSilenceTimeout"}
	if !job.SpeechFrom.IsZero() {
		end, how = job.SpeechTo.Add(r.MaxSilence), JobEnd{Status: Completed, Result: MaxSilenceReached, CompletionReason: "maxSilenceTimeout", Recorded: true}
	}
	if !end.Before(limit) {
		end, how = limit, JobEnd{Status: Completed, Result: MaxDurationReached, CompletionReason: "maxRecordDurationReached", Recorded: true}
	}
	job.EndsAt, job.End = end, &how
}

// advanceMedia runs the media queue up to now: jobs that ended finish (one
// deleted notification each), the next starts where the last one ended.
func (c *Call) advanceMedia(now time.Time, t Timing) []Event {
	var events []Event
	for {
		head := c.headJob()
		if head == nil {
			return events
		}
		job := head.Media
		if job.StartedAt.IsZero() {
			c.startJob(now, head)
		}
		if job.Record != nil && !job.Announced && !job.ListenFrom.IsZero() && due(job.ListenFrom, now) {
			job.Announced = true
			events = append(events, c.scriptEvent(job.ListenFrom, OnRecordingStarted)...)
		}
		if !due(job.EndsAt, now) {
			return events
		}
		end := job.EndsAt
		events = append(events, c.finishJob(end, head, *job.End)...)
		if next := c.headJob(); next != nil && next.Media.StartedAt.IsZero() {
			c.startJob(end, next)
		}
	}
}

// finishJob ends a queued job and takes it off the queue.
func (c *Call) finishJob(now time.Time, op *Operation, end JobEnd) []Event {
	job := op.Media
	c.MediaQueue = slices.DeleteFunc(c.MediaQueue, func(id string) bool { return id == op.ID })
	r := end.Result
	op.Status, op.Result, op.CompletionReason = end.Status, &r, end.CompletionReason
	if end.Recorded && !job.ListenFrom.IsZero() {
		op.Recording = &Recording{Length: now.Sub(job.ListenFrom), Token: newToken()}
		if !job.SpeechFrom.IsZero() {
			to := job.SpeechTo
			if now.Before(to) {
				to = now // cut short by a stop tone or the maximum duration
			}
			op.Recording.Speech = []Span{{From: job.SpeechFrom.Sub(job.ListenFrom), To: to.Sub(job.ListenFrom)}}
			op.Recording.Voiced = job.SpeechVoiced
		}
	}
	if op.Type == RecordResponse && op.Recording == nil {
		op.RecordingCleared = true // Graph sends them empty, not absent
	}
	var events []Event
	for _, p := range job.Prompts {
		if c.Remote != nil && (p.Failure == nil || end.Status == Failed) {
			outcome := "played"
			switch {
			case p.Failure != nil:
				outcome = "failed: " + p.Failure.Message
			case end.Result == MediaCancelled:
				outcome = "cancelled"
			}
			c.Remote.Heard = append(c.Remote.Heard, Heard{URI: p.URI, Length: p.Length, Outcome: outcome})
			if n := len(c.Remote.Heard); n > MaxHeard {
				c.Remote.Heard = slices.Delete(c.Remote.Heard, 0, n-MaxHeard)
			}
		}
	}
	done := *op
	events = append(events, Event{Change: Deleted, State: c.State, Operation: &done})
	if op.Type == PlayPrompt && end.Status == Completed {
		events = append(events, c.scriptEvent(now, OnPromptFinished)...)
	}
	return events
}

// CancelMedia cancels the prompts and recordings playing and queued: each
// fails with 400/8508, in order. The cancel operation itself completes at
// once.
func (c *Call) CancelMedia(now time.Time, clientContext string, t Timing) (Operation, []Event, error) {
	if err := c.serviceHosted(); err != nil {
		return Operation{}, nil, err
	}
	op, err := NewOperation(CancelMediaProcessing, clientContext, time.Time{})
	if err != nil {
		return Operation{}, nil, err
	}
	var events []Event
	for c.headJob() != nil {
		head := c.headJob()
		if head.Media.StartedAt.IsZero() {
			head.Media.StartedAt = now
		}
		reason := ""
		if head.Type == RecordResponse {
			reason = "operationCanceled"
		}
		events = append(events, c.finishJob(now, head, JobEnd{Status: Failed, Result: MediaCancelled, CompletionReason: reason})...)
	}
	c.AddOperation(op)
	return op, events, nil
}

// SubscribeTones has the remote person's key presses announced from now on.
func (c *Call) SubscribeTones(now time.Time, clientContext string) (Operation, []Event, error) {
	if err := c.serviceHosted(); err != nil {
		return Operation{}, nil, err
	}
	op, err := NewOperation(SubscribeToTone, clientContext, time.Time{})
	if err != nil {
		return Operation{}, nil, err
	}
	op.Result = nil // subscribeToToneOperation has no resultInfo
	c.ToneSubscribed = true
	c.AddOperation(op)
	return op, c.scriptEvent(now, OnToneSubscribed), nil
}

// PressTones is the remote person pressing keys: each is announced, in
// order, once the application subscribed to tones, and a stop tone ends a
// listening recording.
func (c *Call) PressTones(now time.Time, keys string, t Timing) ([]Event, error) {
	if c.State != Established {
		return nil, invalid("keys can be pressed on an established call")
	}
	for _, r := range keys {
		if _, ok := Tones[strings.ToUpper(string(r))]; !ok {
			return nil, invalid("%q is not a key: 0-9, *, #, A-D, F (flash)", strings.ToUpper(string(r)))
		}
	}
	c.remoteDid(RemoteAction{At: now, Did: Pressed, Keys: strings.ToUpper(keys)})
	var events []Event
	for _, r := range keys {
		key := strings.ToUpper(string(r))
		tone, ok := Tones[key]
		if !ok {
			return nil, invalid("%q is not a key: 0-9, *, #, A-D, F (flash)", key)
		}
		events = append(events, c.advanceMedia(now, t)...)
		if head := c.headJob(); head != nil && head.Media.Record != nil && c.listening(head.Media, now) && slices.Contains(head.Media.Record.StopTones, key) {
			head.Media.EndsAt = now
			recorded := !head.Media.SpeechFrom.IsZero()
			head.Media.End = &JobEnd{Status: Completed, Result: StopToneDetected, CompletionReason: "stopToneDetected", Recorded: recorded}
			events = append(events, c.advanceMedia(now, t)...)
		}
		if c.ToneSubscribed {
			c.ToneSeq++
			events = append(events, Event{Change: Updated, State: c.State, Tone: &ToneEvent{Tone: tone, SequenceID: c.ToneSeq}})
		}
	}
	return events, nil
}

// listening reports whether a recording job hears the person at now.
func (c *Call) listening(job *MediaJob, now time.Time) bool {
	return !job.ListenFrom.IsZero() && !now.Before(job.ListenFrom) && now.Before(job.EndsAt)
}

// Speech is what a simulated person says: for how long, and whether in a
// voice of their own (audio uploaded to the simulator, which the store keeps
// beside the call); otherwise their recording renders a tone where they
// spoke.
type Speech struct {
	Length time.Duration
	Voiced bool
}

// MaxVoicedRecordings bounds the recordings of one call that keep uploaded
// audio: each holds up to MaxRecordSeconds of it.
const MaxVoicedRecordings = 20

// Speak is the remote person speaking: a recording that is listening
// captures it and ends after the silence that follows (or at its maximum
// duration); nobody else hears it. heardBy is the recording's operation, ""
// when nothing was listening.
func (c *Call) Speak(now time.Time, s Speech, t Timing) (heardBy string, events []Event, err error) {
	if c.State != Established {
		return "", nil, invalid("a person speaks on an established call")
	}
	if s.Length <= 0 || s.Length > MaxRecordSeconds*time.Second {
		return "", nil, invalid("speech lasts from 0 to %d seconds", MaxRecordSeconds)
	}
	if s.Voiced && c.VoicedRecordings >= MaxVoicedRecordings {
		return "", nil, invalid("a call keeps the uploaded audio of at most %d recordings", MaxVoicedRecordings)
	}
	c.remoteDid(RemoteAction{At: now, Did: Spoke, Length: s.Length})
	events = c.advanceMedia(now, t)
	head := c.headJob()
	if head == nil || head.Media.Record == nil || !c.listening(head.Media, now) || !head.Media.SpeechFrom.IsZero() {
		return "", events, nil // nobody is listening
	}
	job := head.Media
	job.SpeechFrom, job.SpeechTo, job.SpeechVoiced = now, now.Add(s.Length), s.Voiced
	if s.Voiced {
		c.VoicedRecordings++
	}
	c.planRecording(job)
	return head.ID, events, nil
}

// SendTones is the application sending DTMF tones to the remote person:
// the operation completes once they have all sounded.
func (c *Call) SendTones(now time.Time, tones []string, delayBetween time.Duration, clientContext string) (Operation, error) {
	if !c.State.Live() || c.State == Incoming {
		return Operation{}, invalid("the call must be established to send tones")
	}
	if len(tones) == 0 || len(tones) > MaxTonesSent {
		return Operation{}, invalid("tones is required: 1 to %d tones", MaxTonesSent)
	}
	if delayBetween < 0 || delayBetween > 10*time.Second {
		return Operation{}, invalid("delayBetweenTonesMs must be from 0 to 10000")
	}
	keys := ""
	for i, tone := range tones {
		k, ok := KeyOf(tone)
		if !ok {
			return Operation{}, invalid("tones[%d]: %q is not a tone (tone0-tone9, star, pound, a-d, flash)", i, tone)
		}
		keys += k
	}
	length := time.Duration(len(tones))*ToneLength + time.Duration(len(tones)-1)*delayBetween
	op, err := NewOperation(SendDtmfTones, clientContext, now.Add(length))
	if err != nil {
		return Operation{}, err
	}
	op.DTMF = keys
	c.AddOperation(op)
	return op, nil
}

// SetRecordingStatus records what the application says of its recording
// (Graph's updateRecordingStatus): it completes at once.
func (c *Call) SetRecordingStatus(status, clientContext string) (Operation, error) {
	switch status {
	case "recording", "notRecording", "failed":
	default:
		return Operation{}, invalid("status must be recording, notRecording or failed, not %q", status)
	}
	if c.Media.Hosting != AppHosted {
		return Operation{}, ErrNotPolicyRecording
	}
	if !c.State.Live() || c.State == Incoming {
		return Operation{}, invalid("the call must be established")
	}
	op, err := NewOperation(UpdateRecordingStatus, clientContext, time.Time{})
	if err != nil {
		return Operation{}, err
	}
	c.RecordingStatus = status
	c.AddOperation(op)
	return op, nil
}

// mediaDeadline is when the media queue next has something to do.
func (c *Call) mediaDeadline() time.Time {
	head := c.headJob()
	if head == nil || head.Media.StartedAt.IsZero() {
		return time.Time{}
	}
	job := head.Media
	if job.Record != nil && !job.Announced && !job.ListenFrom.IsZero() {
		return job.ListenFrom
	}
	return job.EndsAt
}

// dropMedia ends the media of a call that is over. Nothing is announced
// for it (the real service sends nothing for a recording cut short by a
// hang-up), but its operations no longer show as running.
func (c *Call) dropMedia() {
	for _, id := range c.MediaQueue {
		for i := range c.Operations {
			if op := &c.Operations[i]; op.ID == id && op.Status == Running {
				r := MediaCancelled
				op.Status, op.Result = Failed, &r
			}
		}
	}
	c.MediaQueue = nil
}

// LocateRecording records where a recording downloads from.
func (c *Call) LocateRecording(opID, location string) {
	for i := range c.Operations {
		if op := &c.Operations[i]; op.ID == opID && op.Recording != nil {
			op.Recording.Location = location
		}
	}
}
