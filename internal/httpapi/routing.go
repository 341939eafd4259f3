package httpapi

import (
	"net/http"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/graph"
)

// Audio routing groups: /communications/calls/{id}/audioRoutingGroups.

func (a *API) createAudioRoutingGroup(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.AudioRoutingGroup
	if !a.decode(w, r, &body) {
		return
	}
	id := graph.NormalizeID(r.PathValue("id"))
	g, err := a.calls.CreateAudioRoutingGroup(r.Context(), owner(p), p.Roles, id, body.Group())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeRoutingGroup(w, r, id, g) // Graph answers the creation 200, not 201
}

func (a *API) listAudioRoutingGroups(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := graph.NormalizeID(r.PathValue("id"))
	groups, err := a.calls.AudioRoutingGroups(r.Context(), owner(p), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, graph.CollectionOf(a.callContext(r, id, "audioRoutingGroups"), groups, graph.AudioRoutingGroupOf))
}

func (a *API) getAudioRoutingGroup(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := graph.NormalizeID(r.PathValue("id"))
	g, err := a.calls.AudioRoutingGroup(r.Context(), owner(p), id, r.PathValue("gid"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeRoutingGroup(w, r, id, g)
}

func (a *API) updateAudioRoutingGroup(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.AudioRoutingGroup
	if !a.decode(w, r, &body) {
		return
	}
	id := graph.NormalizeID(r.PathValue("id"))
	g, err := a.calls.UpdateAudioRoutingGroup(r.Context(), owner(p), p.Roles, id, r.PathValue("gid"), body.Change())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeRoutingGroup(w, r, id, g)
}

func (a *API) deleteAudioRoutingGroup(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := graph.NormalizeID(r.PathValue("id"))
	if err := a.calls.RemoveAudioRoutingGroup(r.Context(), owner(p), p.Roles, id, r.PathValue("gid")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeRoutingGroup answers 200 with one of the call's audio routing
// groups.
func (a *API) writeRoutingGroup(w http.ResponseWriter, r *http.Request, callID string, g call.AudioRoutingGroup) {
	out := graph.AudioRoutingGroupOf(g)
	out.ODataContext = a.callContext(r, callID, "audioRoutingGroups/$entity")
	writeJSON(w, http.StatusOK, out)
}
