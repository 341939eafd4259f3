package httpapi

import (
	"net/http"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/graph"
)

// The media actions answer 200 with their operation and its Location (hold
// music 202), as their pages document; a running operation finishes with
// a notification.

func (a *API) playPrompt(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.PlayPromptBody
	if !a.decode(w, r, &body) {
		return
	}
	prompts, err := body.PromptsToPlay()
	a.operation(w, r, http.StatusOK, err, func(id string) (call.Operation, error) {
		return a.calls.PlayPrompt(r.Context(), owner(p), id, prompts, body.ClientContext)
	})
}

func (a *API) recordResponse(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.RecordBody
	if !a.decodeOptional(w, r, &body) {
		return
	}
	req, err := body.RecordRequest()
	a.operation(w, r, http.StatusOK, err, func(id string) (call.Operation, error) {
		return a.calls.Record(r.Context(), owner(p), id, req)
	})
}

func (a *API) subscribeToTone(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.ActionBody
	if !a.decodeOptional(w, r, &body) {
		return
	}
	a.operation(w, r, http.StatusOK, nil, func(id string) (call.Operation, error) {
		return a.calls.SubscribeToTone(r.Context(), owner(p), id, body.ClientContext)
	})
}

func (a *API) cancelMediaProcessing(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.ActionBody
	if !a.decodeOptional(w, r, &body) {
		return
	}
	a.operation(w, r, http.StatusOK, nil, func(id string) (call.Operation, error) {
		return a.calls.CancelMediaProcessing(r.Context(), owner(p), id, body.ClientContext)
	})
}

func (a *API) sendDtmfTones(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.DtmfBody
	if !a.decode(w, r, &body) {
		return
	}
	a.operation(w, r, http.StatusOK, nil, func(id string) (call.Operation, error) {
		return a.calls.SendDtmfTones(r.Context(), owner(p), id, body.Tones, body.Delay(), body.ClientContext)
	})
}

func (a *API) updateRecordingStatus(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.RecordingStatusBody
	if !a.decode(w, r, &body) {
		return
	}
	a.operation(w, r, http.StatusOK, nil, func(id string) (call.Operation, error) {
		return a.calls.UpdateRecordingStatus(r.Context(), owner(p), id, body.Status, body.ClientContext)
	})
}

func (a *API) holdMusic(start bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		var body graph.HoldMusicBody
		if !a.decodeOptional(w, r, &body) {
			return
		}
		prompt, err := body.HoldPrompt()
		a.operation(w, r, http.StatusAccepted, err, func(id string) (call.Operation, error) {
			return a.calls.HoldMusic(r.Context(), owner(p), id, r.PathValue("pid"), start, prompt, body.ClientContext)
		})
	}
}

// operation runs an action that yields an operation, unless the body was
// bad already, and answers with the operation.
func (a *API) operation(w http.ResponseWriter, r *http.Request, status int, bad error, run func(callID string) (call.Operation, error)) {
	if bad != nil {
		a.fail(w, r, bad)
		return
	}
	id := graph.NormalizeID(r.PathValue("id"))
	op, err := run(id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeOperationStatus(w, r, status, id, op)
}
