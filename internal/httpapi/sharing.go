package httpapi

import (
	"net/http"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/graph"
)

// Content sharing sessions: /communications/calls/{id}/contentSharingSessions.

func (a *API) listContentSharingSessions(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := graph.NormalizeID(r.PathValue("id"))
	sessions, err := a.calls.ContentSharingSessions(r.Context(), owner(p), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, graph.CollectionOf(a.callContext(r, id, "contentSharingSessions"), sessions, graph.ContentSharingSessionOf))
}

func (a *API) getContentSharingSession(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := graph.NormalizeID(r.PathValue("id"))
	s, err := a.calls.ContentSharingSession(r.Context(), owner(p), id, r.PathValue("sid"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := graph.ContentSharingSessionOf(s)
	out.ODataContext = a.callContext(r, id, "contentSharingSessions/$entity")
	writeJSON(w, http.StatusOK, out)
}
