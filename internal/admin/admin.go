// Package admin is callplane's own management surface, under /callplane/ and
// apart from the Graph API: inspection of notification deliveries (why didn't
// my bot get X?), the simulator (the meetings and people around a bot), and
// the tenant's app registrations.
// Every request needs the admin credential from the data directory, sent as
// a bearer token.
package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/fault"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/httpx"
	"github.com/callplane/callplane/internal/store"
)

// Outbox is the part of the store inspection reads.
type Outbox interface {
	Notifications(ctx context.Context, f store.Filter) ([]store.Notification, error)
}

// Deps are what the admin API drives.
type Deps struct {
	// Secret is the admin credential; an API with an empty one refuses
	// every request.
	Secret       string
	TenantID     string
	Outbox       Outbox
	Sim          Simulator
	Applications auth.Registry
	Calls        CallEnder
	World        World
	// CheckURL vets an application's calling webhook as callback URIs are
	// vetted.
	CheckURL func(string) error
	// Faults are the fault rules in force.
	Faults *fault.Set
	// Reset starts the world over (POST /callplane/reset).
	Reset func(ctx context.Context) error
	// Requests lists a call's recorded requests, everything recorded so
	// far included; nil when the timeline is off.
	Requests func(ctx context.Context, callID string) ([]store.Request, error)
	// CallList lists the tenant's calls (GET /callplane/calls); nil
	// answers that route 501.
	CallList CallLister
	// GroupList lists the tenant's meetings and group calls
	// (GET /callplane/meetings); nil answers that route 501.
	GroupList GroupLister
	Log       *slog.Logger
}

// API serves the admin routes.
type API struct {
	Deps
	mux *http.ServeMux
}

// New returns the admin API.
func New(d Deps) *API {
	a := &API{Deps: d, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /callplane/deliveries", a.deliveries)
	a.mux.HandleFunc("POST /callplane/reset", a.reset)
	a.simulatorRoutes()
	a.applicationRoutes()
	a.worldRoutes()
	a.faultRoutes()
	a.callListRoutes()
	a.meetingListRoutes()
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allowed := httpx.AllowedMethods(a.mux, r); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, http.StatusMethodNotAllowed, "methodNotAllowed", fmt.Sprintf("%s is not allowed for %s: use %s.", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
			return
		}
		writeError(w, http.StatusNotFound, "notFound", "No admin resource at "+r.URL.Path+".")
	})
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if authorized(w, r, a.Secret) {
		a.mux.ServeHTTP(w, r)
	}
}

// RequireSecret serves next to the holders of the admin credential only,
// as the admin API does: for /metrics on the main listener.
func RequireSecret(secret string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if authorized(w, r, secret) {
			next.ServeHTTP(w, r)
		}
	})
}

// authorized says whether r carries the admin credential, and answers 401
// if it does not.
func authorized(w http.ResponseWriter, r *http.Request, secret string) bool {
	token, _ := httpx.BearerToken(r)
	if secret == "" || subtle.ConstantTimeCompare([]byte(token), []byte(secret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="callplane admin"`)
		writeError(w, http.StatusUnauthorized, "unauthenticated", "This needs the admin credential printed at startup, as a bearer token.")
		return false
	}
	return true
}

// reset ends and forgets every call, meeting, person, delivery and
// recording, and answers 204 once that is done.
func (a *API) reset(w http.ResponseWriter, r *http.Request) {
	if a.Reset == nil {
		writeError(w, http.StatusNotImplemented, "notSupported", "This callplane cannot be reset.")
		return
	}
	if err := a.Reset(r.Context()); err != nil {
		a.Log.Error("reset", "err", err)
		writeError(w, http.StatusInternalServerError, "generalException", "The reset failed: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Delivery is one notification and how its delivery went, as the admin API
// shows it.
type Delivery struct {
	Seq            int64           `json:"seq"`
	MessageID      string          `json:"messageId"`
	CallID         string          `json:"callId"`
	CallbackURI    string          `json:"callbackUri"`
	ChangeType     string          `json:"changeType"`
	ResourceURL    string          `json:"resourceUrl"`
	State          string          `json:"state,omitempty"`
	Status         string          `json:"status"`
	Attempts       int             `json:"attempts"`
	LastStatusCode int             `json:"lastStatusCode,omitempty"`
	LastError      string          `json:"lastError,omitempty"`
	CreatedAt      time.Time       `json:"createdAt"`
	LastAttemptAt  *time.Time      `json:"lastAttemptAt,omitempty"`
	NextAttemptAt  *time.Time      `json:"nextAttemptAt,omitempty"`
	Payload        json.RawMessage `json:"payload"`
}

// DeliveryList is the body of GET /callplane/deliveries: a page, and the
// link to the next one when there may be more.
type DeliveryList struct {
	Value    []Delivery `json:"value"`
	NextLink string     `json:"@odata.nextLink,omitempty"`
}

// Listing bounds: a page holds at most maxPage deliveries and, payloads
// included, about maxPageBytes; the next page is a link away.
const (
	defaultPage  = 100
	maxPage      = 500
	maxPageBytes = 4 << 20
)

// deliveries lists recent notifications, newest first, filtered by call,
// callback URI and status, a page at a time:
// ?call=ID&callback=URI&status=failed&limit=N&before=SEQ.
func (a *API) deliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.Filter{
		CallID:      strings.ToLower(q.Get("call")),
		CallbackURI: q.Get("callback"),
		Status:      store.Status(q.Get("status")),
		Limit:       defaultPage,
	}
	switch f.Status {
	case "", store.Pending, store.Delivered, store.Failed, store.Dropped:
	default:
		writeError(w, http.StatusBadRequest, "badRequest", "status must be pending, delivered, failed or dropped.")
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxPage {
			writeError(w, http.StatusBadRequest, "badRequest", fmt.Sprintf("limit must be a number from 1 to %d.", maxPage))
			return
		}
		f.Limit = n
	}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "badRequest", "before must be a seq: the next page of a listing starts below it.")
			return
		}
		f.Before = n
	}
	ns, err := a.Outbox.Notifications(r.Context(), f)
	if err != nil {
		a.Log.Error("list deliveries", "err", err)
		writeError(w, http.StatusInternalServerError, "generalException", "Listing deliveries failed.")
		return
	}
	out := DeliveryList{Value: make([]Delivery, 0, len(ns))}
	size := 0
	for _, n := range ns {
		if size += len(n.Payload); size > maxPageBytes && len(out.Value) > 0 {
			break
		}
		out.Value = append(out.Value, describe(n))
	}
	if len(out.Value) > 0 && (len(out.Value) < len(ns) || len(ns) == f.Limit) {
		next := r.URL.Query()
		next.Set("before", strconv.FormatInt(out.Value[len(out.Value)-1].Seq, 10))
		next.Set("limit", strconv.Itoa(f.Limit))
		out.NextLink = "/callplane/deliveries?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

func describe(n store.Notification) Delivery {
	d := Delivery{
		Seq:            n.Seq,
		MessageID:      n.MessageID,
		CallID:         n.CallID,
		CallbackURI:    n.CallbackURI,
		Status:         string(n.Status),
		Attempts:       n.Attempts,
		LastStatusCode: n.LastStatusCode,
		LastError:      n.LastError,
		CreatedAt:      n.CreatedAt,
		LastAttemptAt:  optionalTime(n.LastAttemptAt),
		Payload:        n.Payload,
	}
	if n.Status == store.Pending {
		d.NextAttemptAt = optionalTime(n.NextAttemptAt)
	}
	if sum, ok := graph.SummarizeNotification(n.Payload); ok {
		d.ChangeType, d.ResourceURL, d.State = sum.ChangeType, sum.ResourceURL, sum.State
	}
	return d
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	var e errorBody
	e.Error.Code, e.Error.Message = code, message
	writeJSON(w, status, e)
}

// WriteError and WriteJSON answer in the admin API's format, for the
// surfaces that stand in front of it (the console).
func WriteError(w http.ResponseWriter, status int, code, message string) {
	writeError(w, status, code, message)
}
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// maxBody bounds an admin request's body.
const maxBody = 1 << 20

// readJSON reads a small JSON body into v; an empty body is fine when
// optional. It answers bad bodies itself: 413 too large, 415 not JSON, 408
// too slow, 400 malformed.
func readJSON(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	return readJSONUpTo(w, r, v, optional, maxBody)
}

// readJSONUpTo is readJSON for bodies of up to limit bytes.
func readJSONUpTo(w http.ResponseWriter, r *http.Request, v any, optional bool, limit int64) bool {
	data, err := httpx.ReadBody(w, r, limit)
	if err == nil {
		err = httpx.CheckJSON(r, data)
	}
	switch {
	case errors.Is(err, httpx.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "requestTooLarge", fmt.Sprintf("The body is larger than %d bytes.", limit))
		return false
	case errors.Is(err, httpx.ErrNotJSON):
		writeError(w, http.StatusUnsupportedMediaType, "unsupportedMediaType", "The body must be JSON (Content-Type: application/json).")
		return false
	case errors.Is(err, httpx.ErrTimeout):
		writeError(w, http.StatusRequestTimeout, "requestTimeout", "The body did not arrive in time.")
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "badRequest", "The body could not be read: "+err.Error())
		return false
	case len(strings.TrimSpace(string(data))) == 0 && optional:
		return true
	}
	if err := json.Unmarshal(data, v); err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", "The body is not valid JSON for this request: "+err.Error())
		return false
	}
	return true
}
