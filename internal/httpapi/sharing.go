package httpapi

import (
	"net/http"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/graph"
)

// Content sharing sessions: /communications/calls/{id}/contentSharingSessions.

func (a *API) sharingContext(r *http.Request, callID string) string {
	return a.base(r) + "/" + version(r) + "/$metadata#communications/calls('" + callID + "')/contentSharingSessions"
}

func (a *API) listContentSharingSessions(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := graph.NormalizeID(r.PathValue("id"))
	sessions, err := a.calls.ContentSharingSessions(r.Context(), owner(p), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body := graph.ContentSharingSessionList{ODataContext: a.sharingContext(r, id), Value: make([]graph.ContentSharingSession, len(sessions))}
	for i, s := range sessions {
		body.Value[i] = graph.ContentSharingSessionOf(s)
	}
	writeJSON(w, http.StatusOK, body)
}

func (a *API) getContentSharingSession(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := graph.NormalizeID(r.PathValue("id"))
	s, err := a.calls.ContentSharingSession(r.Context(), owner(p), id, r.PathValue("sid"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := graph.ContentSharingSessionOf(s)
	out.ODataContext = a.sharingContext(r, id) + "/$entity"
	writeJSON(w, http.StatusOK, out)
}
