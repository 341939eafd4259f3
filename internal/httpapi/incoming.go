package httpapi

import (
	"net/http"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/graph"
)

// The inbound actions each answer 202 Accepted with no body; what follows
// comes as notifications.

func (a *API) answer(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.AnswerBody
	if !a.decode(w, r, &body) {
		return
	}
	req, err := body.AnswerRequest()
	if err == nil {
		err = a.calls.Answer(r.Context(), owner(p), graph.NormalizeID(r.PathValue("id")), req)
	}
	a.accepted(w, r, err)
}

func (a *API) reject(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.RejectBody
	if !a.decodeOptional(w, r, &body) {
		return
	}
	reason, err := body.RejectReason()
	if err == nil {
		err = a.calls.Reject(r.Context(), owner(p), graph.NormalizeID(r.PathValue("id")), reason, body.CallbackURI)
	}
	a.accepted(w, r, err)
}

func (a *API) redirect(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.RedirectBody
	if !a.decode(w, r, &body) {
		return
	}
	targets, timeout, err := body.RedirectTargets()
	if err == nil {
		err = a.calls.Redirect(r.Context(), owner(p), graph.NormalizeID(r.PathValue("id")), targets, timeout, body.CallbackURI)
	}
	a.accepted(w, r, err)
}

func (a *API) transfer(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.TransferBody
	if !a.decode(w, r, &body) {
		return
	}
	req, err := body.TransferRequest()
	if err == nil {
		err = a.calls.Transfer(r.Context(), owner(p), graph.NormalizeID(r.PathValue("id")), req)
	}
	a.accepted(w, r, err)
}

// accepted answers 202 with an empty body, or the error.
func (a *API) accepted(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}
