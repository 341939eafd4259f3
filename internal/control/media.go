package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/store"
)

// MediaEngine plays a call's media: it says how long a prompt plays, or
// why it cannot (an error that, when it has an InvalidFormat method saying
// true, is the file's fault rather than its download's).
type MediaEngine interface {
	Probe(ctx context.Context, uri string) (time.Duration, error)
}

// probe asks the engine about each prompt, outside any unit of work: it
// may fetch them.
func (s *Service) probe(ctx context.Context, prompts []call.Prompt) []call.Prompt {
	out := make([]call.Prompt, len(prompts))
	for i, p := range prompts {
		out[i] = p
		if s.cfg.Media == nil {
			out[i].Length = time.Second
			continue
		}
		length, err := s.cfg.Media.Probe(ctx, p.URI)
		var format interface{ InvalidFormat() bool }
		switch {
		case err == nil:
			out[i].Length = length
		case errors.As(err, &format) && format.InvalidFormat():
			r := call.PromptFormatInvalid(err.Error())
			out[i].Failure = &r
		default:
			r := call.PromptDownloadFailed(err.Error())
			out[i].Failure = &r
		}
	}
	return out
}

// mediaCommand runs a media action on the owner's call and announces what
// it started or settled.
func (s *Service) mediaCommand(ctx context.Context, owner call.Owner, id string, fn func(u *unit, c *call.Call) (call.Operation, []call.Event, error)) (call.Operation, error) {
	var op call.Operation
	err := s.do(ctx, func(u *unit) error {
		c, err := u.ownCall(owner, id)
		if err != nil {
			return err
		}
		var events []call.Event
		if op, events, err = fn(u, c); err != nil {
			return err
		}
		return u.announce(c, events)
	})
	return op, err
}

// PlayPrompt queues prompts on the owner's call.
func (s *Service) PlayPrompt(ctx context.Context, owner call.Owner, id string, prompts []call.Prompt, clientContext string) (call.Operation, error) {
	probed := s.probe(ctx, prompts)
	return s.mediaCommand(ctx, owner, id, func(u *unit, c *call.Call) (call.Operation, []call.Event, error) {
		return c.PlayPrompts(u.now, probed, clientContext, s.cfg.Timing)
	})
}

// ChangeScreenSharingRole makes the owner's leg of a group call with
// app-hosted media a sharer of its screen (role "sharer") or a viewer:
// every leg gets the roster update.
func (s *Service) ChangeScreenSharingRole(ctx context.Context, owner call.Owner, roles []string, id, role string) error {
	if !hasRole(roles, "Calls.AccessMedia.All") {
		return &PermissionError{Msg: "Insufficient permissions: changeScreenSharingRole needs the application permission Calls.AccessMedia.All."}
	}
	if role != "viewer" && role != "sharer" {
		return &call.InvalidError{Msg: fmt.Sprintf("role %q: must be viewer or sharer", role)}
	}
	return s.do(ctx, func(u *unit) error {
		c, g, err := u.groupLeg(owner, id)
		if err != nil {
			return err
		}
		if c.Media.Hosting != call.AppHosted {
			return &call.InvalidError{Msg: "changeScreenSharingRole is for group calls with app-hosted media"}
		}
		if c.State != call.Established || c.GroupID == "" {
			return call.ErrNotEstablished
		}
		change, err := g.SetScreenSharing(c.MyParticipantID, role == "sharer")
		if err != nil {
			return err
		}
		return u.rosterChanged(g, change)
	})
}

// AddLargeGalleryView adds the large gallery view to the owner's group
// call: an operation that runs, and completes on the call's next turn, by
// notification.
func (s *Service) AddLargeGalleryView(ctx context.Context, owner call.Owner, id, clientContext string) (call.Operation, error) {
	return s.mediaCommand(ctx, owner, id, func(u *unit, c *call.Call) (call.Operation, []call.Event, error) {
		if !c.IsGroup() {
			return call.Operation{}, nil, call.ErrNotGroupCall
		}
		if c.State != call.Established {
			return call.Operation{}, nil, call.ErrNotEstablished
		}
		op, err := call.NewOperation(call.AddLargeGalleryView, clientContext, u.now)
		if err != nil {
			return op, nil, err
		}
		c.AddOperation(op)
		u.touchCall(c)
		return op, nil, nil
	})
}

// Record queues a recordResponse on the owner's call.
func (s *Service) Record(ctx context.Context, owner call.Owner, id string, req call.RecordRequest) (call.Operation, error) {
	if req.Prompt != nil {
		req.Prompt = &s.probe(ctx, []call.Prompt{*req.Prompt})[0]
	}
	return s.mediaCommand(ctx, owner, id, func(u *unit, c *call.Call) (call.Operation, []call.Event, error) {
		return c.Record(u.now, req, s.cfg.Timing)
	})
}

// SubscribeToTone has the remote party's key presses announced.
func (s *Service) SubscribeToTone(ctx context.Context, owner call.Owner, id, clientContext string) (call.Operation, error) {
	return s.mediaCommand(ctx, owner, id, func(u *unit, c *call.Call) (call.Operation, []call.Event, error) {
		return c.SubscribeTones(u.now, clientContext)
	})
}

// CancelMediaProcessing cancels the prompts and recordings of the call.
func (s *Service) CancelMediaProcessing(ctx context.Context, owner call.Owner, id, clientContext string) (call.Operation, error) {
	return s.mediaCommand(ctx, owner, id, func(u *unit, c *call.Call) (call.Operation, []call.Event, error) {
		return c.CancelMedia(u.now, clientContext, s.cfg.Timing)
	})
}

// SendDtmfTones sends tones to the remote party.
func (s *Service) SendDtmfTones(ctx context.Context, owner call.Owner, id string, tones []string, delay time.Duration, clientContext string) (call.Operation, error) {
	return s.mediaCommand(ctx, owner, id, func(u *unit, c *call.Call) (call.Operation, []call.Event, error) {
		op, err := c.SendTones(u.now, tones, delay, clientContext)
		if err == nil {
			u.touchCall(c)
		}
		return op, nil, err
	})
}

// UpdateRecordingStatus records what the application says of its
// recording; in a group call, every leg hears it in the roster.
func (s *Service) UpdateRecordingStatus(ctx context.Context, owner call.Owner, id, status, clientContext string) (call.Operation, error) {
	return s.mediaCommand(ctx, owner, id, func(u *unit, c *call.Call) (call.Operation, []call.Event, error) {
		op, err := c.SetRecordingStatus(status, clientContext)
		if err != nil {
			return op, nil, err
		}
		u.touchCall(c)
		if c.GroupID != "" {
			g, err := u.group(c.GroupID)
			if err != nil {
				return op, nil, err
			}
			if change, err := g.SetRecording(c.MyParticipantID, status); err == nil {
				return op, nil, u.rosterChanged(g, change)
			}
		}
		return op, nil, nil
	})
}

// HoldMusic starts or stops hold music for a person in the owner's group
// call: one person at a time. The operation runs, then completes with a
// notification.
func (s *Service) HoldMusic(ctx context.Context, owner call.Owner, id, participantID string, start bool, prompt *call.Prompt, clientContext string) (call.Operation, error) {
	if prompt != nil {
		prompt = &s.probe(ctx, []call.Prompt{*prompt})[0]
		if prompt.Failure != nil {
			return call.Operation{}, &call.InvalidError{Msg: "customPrompt: " + prompt.Failure.Message}
		}
	}
	return s.mediaCommand(ctx, owner, id, func(u *unit, c *call.Call) (call.Operation, []call.Event, error) {
		if !c.IsGroup() || c.GroupID == "" {
			return call.Operation{}, nil, call.ErrNotGroupCall
		}
		g, err := u.group(c.GroupID)
		if err != nil {
			return call.Operation{}, nil, err
		}
		change, err := g.SetOnHold(participantID, start)
		if err != nil {
			return call.Operation{}, nil, err
		}
		t := call.StartHoldMusic
		if !start {
			t = call.StopHoldMusic
		}
		op, err := call.NewOperation(t, clientContext, u.now) // completes at once, by notification
		if err != nil {
			return op, nil, err
		}
		c.AddOperation(op)
		u.touchCall(c)
		return op, nil, u.rosterChanged(g, change)
	})
}

// PressTones is the remote party of a call pressing keys.
func (s *Service) PressTones(ctx context.Context, id, keys string) error {
	return s.byRemoteParty(ctx, id, func(u *unit, c *call.Call) ([]call.Event, error) {
		return c.PressTones(u.now, keys, s.cfg.Timing)
	})
}

// Speech is what a simulated person says: for Length, and, when Audio is
// set, that audio (a WAV file the media engine has checked), which the
// recording that hears it keeps.
type Speech struct {
	Length time.Duration
	Audio  []byte
}

// Speak is the remote party of a call speaking.
func (s *Service) Speak(ctx context.Context, id string, sp Speech) error {
	return s.byRemoteParty(ctx, id, func(u *unit, c *call.Call) ([]call.Event, error) {
		return u.speak(c, sp)
	})
}

// speak has c's remote party speak, and keeps the audio with the
// recording that heard it.
func (u *unit) speak(c *call.Call, sp Speech) ([]call.Event, error) {
	heardBy, events, err := c.Speak(u.now, call.Speech{Length: sp.Length, Voiced: sp.Audio != nil}, u.s.cfg.Timing)
	if heardBy != "" && sp.Audio != nil {
		u.ch.Speech = append(u.ch.Speech, store.Speech{CallID: c.ID, OperationID: heardBy, Audio: sp.Audio})
	}
	return events, err
}

// GroupTones is a person in a group call pressing keys: every leg hears
// them. GroupSpeech is a person speaking.
func (s *Service) GroupTones(ctx context.Context, groupID, participantID, keys string) error {
	return s.groupMedia(ctx, groupID, participantID, func(u *unit, leg *call.Call) ([]call.Event, error) {
		return leg.PressTones(u.now, keys, s.cfg.Timing)
	})
}

// GroupSpeech is a person in a group call speaking: every leg hears them.
func (s *Service) GroupSpeech(ctx context.Context, groupID, participantID string, sp Speech) error {
	return s.groupMedia(ctx, groupID, participantID, func(u *unit, leg *call.Call) ([]call.Event, error) {
		return u.speak(leg, sp)
	})
}

func (s *Service) groupMedia(ctx context.Context, groupID, participantID string, fn func(u *unit, leg *call.Call) ([]call.Event, error)) error {
	return s.do(ctx, func(u *unit) error {
		g, err := u.group(groupID)
		if err != nil {
			return err
		}
		m, ok := g.Member(participantID)
		if !ok || !m.Human() {
			return call.ErrNoSuchMember
		}
		for _, lm := range g.Legs() {
			leg, err := u.call(lm.LegID)
			if err != nil {
				return err
			}
			if leg.State != call.Established {
				continue
			}
			events, err := fn(u, leg)
			if err != nil {
				return err
			}
			u.touchCall(leg)
			if err := u.announce(leg, events); err != nil {
				return err
			}
		}
		return nil
	})
}

// Recording returns what a call's recordResponse recorded and, when the
// person spoke uploaded audio into it, that audio.
func (s *Service) Recording(ctx context.Context, callID, opID string) (rec call.Recording, speech []byte, ok bool) {
	c, err := s.store.GetCall(ctx, callID)
	if err != nil {
		return call.Recording{}, nil, false
	}
	op, ok := c.Operation(opID)
	if !ok || op.Recording == nil {
		return call.Recording{}, nil, false
	}
	if op.Recording.Voiced {
		if speech, err = s.store.GetSpeech(ctx, callID, opID); err != nil {
			return call.Recording{}, nil, false
		}
	}
	return *op.Recording, speech, true
}
