package graph

import (
	"fmt"
	"time"

	"github.com/callplane/callplane/internal/call"
)

// Type names of media.
const (
	TypeMediaPrompt = typePrefix + "mediaPrompt"
	TypeToneInfo    = typePrefix + "toneInfo"
)

// ToneInfo is Graph's toneInfo: a key the remote party pressed.
type ToneInfo struct {
	ODataType  string `json:"@odata.type,omitempty"`
	SequenceID int    `json:"sequenceId"`
	Tone       string `json:"tone"`
}

// MediaPrompt is Graph's mediaPrompt.
type MediaPrompt struct {
	ODataType string     `json:"@odata.type,omitempty"`
	MediaInfo *MediaInfo `json:"mediaInfo"`
}

// MediaInfo is where a prompt's audio is.
type MediaInfo struct {
	ODataType  string `json:"@odata.type,omitempty"`
	URI        string `json:"uri"`
	ResourceID string `json:"resourceId,omitempty"`
}

func promptsOf(ps []MediaPrompt, field string) ([]call.Prompt, error) {
	var out []call.Prompt
	for i, p := range ps {
		if p.ODataType != "" && p.ODataType != TypeMediaPrompt {
			return nil, badRequest("%s[%d]: a prompt is a %s, not %q", field, i, TypeMediaPrompt, p.ODataType)
		}
		if p.MediaInfo == nil || p.MediaInfo.URI == "" {
			return nil, badRequest("%s[%d].mediaInfo.uri is required", field, i)
		}
		if len(p.MediaInfo.URI) > call.MaxURLLength || len(p.MediaInfo.ResourceID) > call.MaxID {
			return nil, badRequest("%s[%d].mediaInfo is too long", field, i)
		}
		out = append(out, call.Prompt{URI: p.MediaInfo.URI, ResourceID: p.MediaInfo.ResourceID})
	}
	return out, nil
}

// PlayPromptBody is the body of …/playPrompt.
type PlayPromptBody struct {
	Prompts       []MediaPrompt `json:"prompts"`
	ClientContext string        `json:"clientContext"`
}

// PromptsToPlay reads the prompts.
func (b *PlayPromptBody) PromptsToPlay() ([]call.Prompt, error) {
	if len(b.Prompts) > call.MaxPrompts {
		return nil, badRequest("at most %d prompts can be played at once, not %d", call.MaxPrompts, len(b.Prompts))
	}
	return promptsOf(b.Prompts, "prompts")
}

// RecordBody is the body of …/recordResponse.
type RecordBody struct {
	Prompts                        []MediaPrompt `json:"prompts"`
	BargeInAllowed                 bool          `json:"bargeInAllowed"`
	InitialSilenceTimeoutInSeconds *int          `json:"initialSilenceTimeoutInSeconds"`
	MaxSilenceTimeoutInSeconds     *int          `json:"maxSilenceTimeoutInSeconds"`
	MaxRecordDurationInSeconds     *int          `json:"maxRecordDurationInSeconds"`
	PlayBeep                       *bool         `json:"playBeep"`
	StopTones                      []string      `json:"stopTones"`
	ClientContext                  string        `json:"clientContext"`
}

// RecordRequest reads a recordResponse. Left out, the timers are Graph's
// 5 s and the beep plays.
func (b *RecordBody) RecordRequest() (call.RecordRequest, error) {
	req := call.RecordRequest{ClientContext: b.ClientContext, Spec: call.RecordSpec{
		BargeIn: b.BargeInAllowed, Beep: b.PlayBeep == nil || *b.PlayBeep, StopTones: b.StopTones,
	}}
	if len(b.Prompts) > 1 {
		return req, badRequest("a recordResponse plays at most one prompt, not %d", len(b.Prompts))
	}
	if len(b.StopTones) > 16 {
		return req, badRequest("stopTones names at most 16 keys")
	}
	prompts, err := promptsOf(b.Prompts, "prompts")
	if err != nil {
		return req, err
	}
	if len(prompts) == 1 {
		req.Prompt = &prompts[0]
	}
	for _, t := range []struct {
		name string
		v    *int
		d    *time.Duration
	}{
		{"initialSilenceTimeoutInSeconds", b.InitialSilenceTimeoutInSeconds, &req.Spec.InitialSilence},
		{"maxSilenceTimeoutInSeconds", b.MaxSilenceTimeoutInSeconds, &req.Spec.MaxSilence},
		{"maxRecordDurationInSeconds", b.MaxRecordDurationInSeconds, &req.Spec.MaxDuration},
	} {
		if t.v == nil {
			continue
		}
		if *t.v < 1 || *t.v > call.MaxRecordSeconds {
			return req, badRequest("%s must be from 1 to %d", t.name, call.MaxRecordSeconds)
		}
		*t.d = time.Duration(*t.v) * time.Second
	}
	return req, nil
}

// DtmfBody is the body of …/sendDtmfTones.
type DtmfBody struct {
	Tones               []string `json:"tones"`
	DelayBetweenTonesMs *int     `json:"delayBetweenTonesMs"`
	ClientContext       string   `json:"clientContext"`
}

// Delay is the delay between tones.
func (b *DtmfBody) Delay() time.Duration {
	if b.DelayBetweenTonesMs == nil {
		return 0
	}
	return time.Duration(*b.DelayBetweenTonesMs) * time.Millisecond
}

// RecordingStatusBody is the body of …/updateRecordingStatus.
type RecordingStatusBody struct {
	Status        string `json:"status"`
	ClientContext string `json:"clientContext"`
}

// HoldMusicBody is the body of …/participants/{id}/startHoldMusic and
// stopHoldMusic.
type HoldMusicBody struct {
	CustomPrompt  *MediaPrompt `json:"customPrompt"`
	ClientContext string       `json:"clientContext"`
}

// HoldPrompt reads the custom prompt, if any.
func (b *HoldMusicBody) HoldPrompt() (*call.Prompt, error) {
	if b.CustomPrompt == nil {
		return nil, nil
	}
	ps, err := promptsOf([]MediaPrompt{*b.CustomPrompt}, "customPrompt")
	if err != nil {
		return nil, err
	}
	return &ps[0], nil
}

func toneInfo(ev *call.ToneEvent) *ToneInfo {
	if ev == nil {
		return nil
	}
	return &ToneInfo{ODataType: TypeToneInfo, SequenceID: ev.SequenceID, Tone: ev.Tone}
}

// RecordingPath is the path, on callplane, a recording downloads from.
func RecordingPath(callID, opID string) string {
	return fmt.Sprintf("/media/recordings/%s/%s", callID, opID)
}
