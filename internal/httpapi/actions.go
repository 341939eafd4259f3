package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/httpx"
)

// handler is an authenticated Graph handler.
type handler func(http.ResponseWriter, *http.Request, *auth.Principal)

// actionPrefix is the namespace Graph also accepts on bound actions:
// microsoft.graph.answer is answer.
const actionPrefix = "microsoft.graph."

// actions are the OData actions bound to one kind of resource, routed by
// name from the last segment of the path.
type actions struct {
	byName map[string]handler
	// entity, when set, means the last segment, if it names no action, is
	// an entity's key (/calls/{id}): the path is a resource that allows
	// these methods, so a POST to it is 405, not an unknown segment.
	entity []string
}

// routeActions serves the actions at pattern, whose last wildcard is
// {action}. A known action answers POST and 405 for other methods; an
// unknown one is Graph's "Resource not found for the segment", naming it.
// Routes that share the position with a literal or a method win over the
// wildcard (ServeMux prefers the more specific pattern), so
// /calls/{id}/participants stays the roster and /calls/{action} never
// shadows GET /calls/{id}.
func (a *API) routeActions(pattern string, set actions) {
	prefix := strings.TrimSuffix(pattern, "{action}")
	for name := range set.byName {
		// Listed one by one, for RoutePatterns: every route a client can call.
		a.patterns = append(a.patterns, "POST "+prefix+name, "POST "+prefix+actionPrefix+name)
		a.actionNames[name] = true
	}
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		segment := r.PathValue("action")
		h, known := set.byName[strings.TrimPrefix(segment, actionPrefix)]
		switch {
		case known && r.Method == http.MethodPost:
			a.serve(w, r, h)
		case known:
			methodNotAllowed(w, r, []string{http.MethodPost})
		case set.entity != nil && !(r.Method == http.MethodPost && actionName(segment)):
			// An entity (a participant by id, whatever it is called): it
			// takes no POST.
			methodNotAllowed(w, r, set.entity)
		case set.entity == nil && len(httpx.AllowedMethodsBesides(a.mux, r, pattern)) > 0:
			// A collection of the resource (…/operations): it takes other
			// methods, not this one.
			methodNotAllowed(w, r, httpx.AllowedMethodsBesides(a.mux, r, pattern))
		default:
			if _, ok := a.authenticate(w, r); ok {
				writeError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", segment))
			}
		}
	})
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allowed []string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeError(w, r, http.StatusMethodNotAllowed, "BadRequest",
		fmt.Sprintf("The HTTP method '%s' is not allowed for %s.", r.Method, r.URL.Path))
}

// notInV1 are actions Graph has outside v1.0 (in beta) where an entity's
// key may stand: POST …/participants/configureMixer is answered as an
// action callplane does not know, naming it, rather than as a POST to a
// participant of that id.
var notInV1 = map[string]bool{"configureMixer": true}

func actionName(segment string) bool {
	return notInV1[strings.TrimPrefix(segment, actionPrefix)]
}
