package httpapi

import (
	"net/http"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/graph"
)

// callContext is the @odata.context of what a call contains: its
// participants, operations and so on, or one of them (".../$entity").
func (a *API) callContext(r *http.Request, callID, what string) string {
	return a.versionBase(r) + "/$metadata#communications/calls('" + callID + "')/" + what
}

func (a *API) listParticipants(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := graph.NormalizeID(r.PathValue("id"))
	members, err := a.calls.Participants(r.Context(), owner(p), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, graph.CollectionOf(a.callContext(r, id, "participants"), members, graph.ParticipantOf))
}

func (a *API) getParticipant(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := graph.NormalizeID(r.PathValue("id"))
	m, err := a.calls.Participant(r.Context(), owner(p), id, r.PathValue("pid"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body := struct {
		ODataContext string `json:"@odata.context"`
		graph.Participant
	}{
		ODataContext: a.callContext(r, id, "participants/$entity"),
		Participant:  graph.ParticipantOf(m),
	}
	writeJSON(w, http.StatusOK, body)
}

// deleteParticipant removes a participant: 204 and an empty body.
func (a *API) deleteParticipant(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	err := a.calls.RemoveParticipant(r.Context(), owner(p), graph.NormalizeID(r.PathValue("id")), r.PathValue("pid"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) invite(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.ActionBody
	if !a.decode(w, r, &body) {
		return
	}
	invitees, err := body.Invitees()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	id := graph.NormalizeID(r.PathValue("id"))
	op, err := a.calls.Invite(r.Context(), owner(p), id, invitees, body.ClientContext)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeOperation(w, r, id, op)
}

func (a *API) muteParticipant(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.ActionBody
	if !a.decodeOptional(w, r, &body) {
		return
	}
	id := graph.NormalizeID(r.PathValue("id"))
	op, err := a.calls.MuteParticipant(r.Context(), owner(p), id, r.PathValue("pid"), body.ClientContext)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeOperation(w, r, id, op)
}

func (a *API) muteSelf(muted bool) func(http.ResponseWriter, *http.Request, *auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		var body graph.ActionBody
		if !a.decodeOptional(w, r, &body) {
			return
		}
		id := graph.NormalizeID(r.PathValue("id"))
		op, err := a.calls.MuteSelf(r.Context(), owner(p), id, muted, body.ClientContext)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.writeOperation(w, r, id, op)
	}
}

func (a *API) getOperation(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := graph.NormalizeID(r.PathValue("id"))
	op, err := a.calls.Operation(r.Context(), owner(p), id, r.PathValue("opid"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body := graph.OperationOf(op)
	body.ODataContext = a.callContext(r, id, "operations/$entity")
	writeJSON(w, http.StatusOK, body)
}

// addLargeGalleryView answers 202 with the running operation, as Graph
// does; its completion comes by notification.
func (a *API) addLargeGalleryView(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.ActionBody
	if !a.decodeOptional(w, r, &body) {
		return
	}
	id := graph.NormalizeID(r.PathValue("id"))
	op, err := a.calls.AddLargeGalleryView(r.Context(), owner(p), id, body.ClientContext)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeOperationStatus(w, r, http.StatusAccepted, id, op)
}

// changeScreenSharingRole answers 202 and no body; the roster update
// tells every leg.
func (a *API) changeScreenSharingRole(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.ScreenSharingRoleBody
	if !a.decode(w, r, &body) {
		return
	}
	if err := a.calls.ChangeScreenSharingRole(r.Context(), owner(p), p.Roles, graph.NormalizeID(r.PathValue("id")), body.Role); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// listOperations lists a call's operations: the relationship the schema
// gives the call, which every Location header of an action points into.
func (a *API) listOperations(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := graph.NormalizeID(r.PathValue("id"))
	ops, err := a.calls.Operations(r.Context(), owner(p), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, graph.CollectionOf(a.callContext(r, id, "operations"), ops, graph.OperationOf))
}

// writeOperation answers an action with its operation: 200, the operation,
// and a Location to fetch it again.
func (a *API) writeOperation(w http.ResponseWriter, r *http.Request, callID string, op call.Operation) {
	a.writeOperationStatus(w, r, http.StatusOK, callID, op)
}

func (a *API) writeOperationStatus(w http.ResponseWriter, r *http.Request, status int, callID string, op call.Operation) {
	w.Header().Set("Location", a.versionBase(r)+graph.OperationPath(callID, op.ID))
	body := graph.OperationOf(op)
	body.ODataContext = a.callContext(r, callID, "operations/$entity")
	writeJSON(w, status, body)
}
