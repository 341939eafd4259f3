package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/graph/graphschema"
)

// qualitySchema checks device quality reports against Graph's v1.0 schema.
var qualitySchema = graphschema.MustLoad()

// logDeviceQuality takes a CVI bot's quality report of its VTC media leg:
// checked against teleconferenceDeviceQuality (the required properties, the
// types, the ids' form), kept for the simulator to show, answered 200 with
// no body, as Graph does.
func (a *API) logDeviceQuality(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !slices.Contains(p.Roles, "Calls.AccessMedia.All") {
		writeError(w, r, http.StatusForbidden, "7504", "Insufficient permissions: logTeleconferenceDeviceQuality needs the application permission Calls.AccessMedia.All.")
		return
	}
	var body struct {
		Quality json.RawMessage `json:"quality"`
	}
	if !a.decode(w, r, &body) {
		return
	}
	if len(body.Quality) == 0 || string(body.Quality) == "null" {
		writeError(w, r, http.StatusBadRequest, "BadRequest", "quality is required: a teleconferenceDeviceQuality.")
		return
	}
	if errs := qualitySchema.Check("microsoft.graph.teleconferenceDeviceQuality", body.Quality, graphschema.RequireNonNullable()); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, err := range errs {
			msgs[i] = err.Error()
		}
		writeError(w, r, http.StatusBadRequest, "BadRequest", "quality is not a valid teleconferenceDeviceQuality: "+strings.Join(msgs, "; "))
		return
	}
	if a.deviceQuality != nil {
		a.deviceQuality(p.AppID, body.Quality)
	}
	w.WriteHeader(http.StatusOK)
}
