package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/store"
)

// RequestLog takes the requests bots make about their calls, for the
// calls' timelines.
type RequestLog interface {
	Record(store.Request)
}

// Timeline records each authenticated request that names a call (or
// creates one) in log.
func Timeline(log RequestLog) Option { return func(a *API) { a.requests = log } }

// record hands the request to the timeline: the call it names (or, for a
// call just created, the one its Location names), what it was and how it
// was answered. Requests answered 404 name no call of the bot's and are
// not recorded.
func (a *API) record(r *http.Request, w *statusWriter, started time.Time) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	if status == http.StatusNotFound {
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/"+version(r))
	location := w.Header().Get("Location")
	callID := r.PathValue("id")
	if callID == "" {
		// A call created: the Location names it.
		if i := strings.LastIndex(location, "/communications/calls/"); i >= 0 && r.Method == http.MethodPost {
			callID = location[i+len("/communications/calls/"):]
		}
		if callID == "" {
			return
		}
	}
	var opID string
	if i := strings.LastIndex(location, "/operations/"); i >= 0 {
		opID = location[i+len("/operations/"):]
	}
	a.requests.Record(store.Request{
		CallID: strings.ToLower(callID), At: started, Method: r.Method, Path: path,
		Action: actionOf(r.Method, path), Status: status, OperationID: opID, Duration: time.Since(started),
	})
}

// actionOf names a Graph request by its method and path (after the
// version): create, get, delete, participants, participant,
// deleteParticipant, operation, or the action's own name.
func actionOf(method, path string) string {
	segments := strings.Split(strings.Trim(path, "/"), "/") // communications calls {id} ...
	if len(segments) < 2 {
		return strings.ToLower(method)
	}
	rest := segments[2:]
	last := func() string {
		return strings.TrimPrefix(rest[len(rest)-1], "microsoft.graph.")
	}
	switch {
	case len(rest) == 0:
		return "create"
	case len(rest) == 1 && method == http.MethodGet:
		return "get"
	case len(rest) == 1 && method == http.MethodDelete:
		return "delete"
	case len(rest) == 2 && rest[1] == "participants":
		return "participants"
	case len(rest) == 3 && rest[1] == "operations":
		return "operation"
	case len(rest) == 3 && rest[1] == "participants" && method == http.MethodGet:
		return "participant"
	case len(rest) == 3 && rest[1] == "participants" && method == http.MethodDelete:
		return "deleteParticipant"
	}
	return last()
}
