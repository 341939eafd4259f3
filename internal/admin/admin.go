// Package admin is callplane's own management surface, under /callplane/ and
// apart from the Graph API: inspection of notification deliveries (why didn't
// my bot get X?) and the simulator (the meetings and people around a bot).
// Every request needs the admin credential from the data directory, sent as
// a bearer token.
package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/store"
)

// Outbox is the part of the store inspection reads.
type Outbox interface {
	Notifications(ctx context.Context, f store.Filter) ([]store.Notification, error)
}

// API serves the admin routes.
type API struct {
	secret   string
	tenantID string
	outbox   Outbox
	sim      Simulator
	log      *slog.Logger
	mux      *http.ServeMux
}

// New returns the admin API, guarded by secret; simulated meetings belong to
// the tenant.
func New(secret, tenantID string, outbox Outbox, sim Simulator, log *slog.Logger) *API {
	a := &API{secret: secret, tenantID: tenantID, outbox: outbox, sim: sim, log: log, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /callplane/deliveries", a.deliveries)
	a.simulatorRoutes()
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "notFound", "No admin resource at "+r.URL.Path+".")
	})
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if subtle.ConstantTimeCompare([]byte(token), []byte(a.secret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="callplane admin"`)
		writeError(w, http.StatusUnauthorized, "unauthenticated", "The admin API needs the admin credential printed at startup, as a bearer token.")
		return
	}
	a.mux.ServeHTTP(w, r)
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

// DeliveryList is the body of GET /callplane/deliveries.
type DeliveryList struct {
	Value []Delivery `json:"value"`
}

// deliveries lists recent notifications, newest first, filtered by call,
// callback URI and status: ?call=ID&callback=URI&status=failed&limit=N.
func (a *API) deliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.Filter{
		CallID:      strings.ToLower(q.Get("call")),
		CallbackURI: q.Get("callback"),
		Status:      store.Status(q.Get("status")),
	}
	switch f.Status {
	case "", store.Pending, store.Delivered, store.Failed:
	default:
		writeError(w, http.StatusBadRequest, "badRequest", "status must be pending, delivered or failed.")
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "badRequest", "limit must be a number from 1 to 10000.")
			return
		}
		f.Limit = n
	}
	ns, err := a.outbox.Notifications(r.Context(), f)
	if err != nil {
		a.log.Error("list deliveries", "err", err)
		writeError(w, http.StatusInternalServerError, "generalException", "Listing deliveries failed.")
		return
	}
	out := DeliveryList{Value: make([]Delivery, 0, len(ns))}
	for _, n := range ns {
		out.Value = append(out.Value, describe(n))
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
	var env graph.Received
	if json.Unmarshal(n.Payload, &env) == nil && len(env.Value) > 0 {
		v := env.Value[0]
		d.ChangeType, d.ResourceURL = v.ChangeType, v.ResourceURL
		var data struct {
			State string `json:"state"`
		}
		if json.Unmarshal(v.ResourceData, &data) == nil {
			d.State = data.State
		}
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
