// Package httpapi is the Graph HTTP surface: routing under /v1.0 and /beta,
// bearer-token checks, Graph's headers, request decoding (gzip included) and
// Graph error bodies. It translates between HTTP and the control layer and
// holds no call logic of its own.
package httpapi

import (
	"cmp"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/control"
	"github.com/callplane/callplane/internal/fault"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/httpx"
	"github.com/callplane/callplane/internal/ids"
	"github.com/callplane/callplane/internal/metrics"
)

// Versions are the Graph API versions served; both behave the same here.
var Versions = []string{"v1.0", "beta"}

// maxBodyBytes bounds request bodies, decompressed.
const maxBodyBytes = 1 << 20

// contentType is what Graph answers JSON with.
const contentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// Verifier checks bearer tokens.
type Verifier interface {
	Verify(token string) (*auth.Principal, error)
}

// API serves the Graph calls API.
type API struct {
	calls    *control.Service
	verifier Verifier
	log      *slog.Logger
	// loose, when set, gives the principal a request without a token acts
	// as.
	loose func() *auth.Principal
	// guard, when set, may refuse a request before anything else happens.
	guard func(*http.Request) error
	// base is the base URL callplane advertises for a request.
	base     func(*http.Request) string
	mux      *http.ServeMux
	patterns []string
	// requests, when set, is where requests about calls are recorded.
	requests RequestLog
	// faults, when set, are rules that fail or slow requests down.
	faults *fault.Set
	// metrics, when set, counts and times the requests; actionNames are
	// the actions routed, which name a route in its label.
	metrics     *metrics.Metrics
	actionNames map[string]bool
	// deviceQuality, when set, keeps logged device quality reports.
	deviceQuality func(appID string, quality json.RawMessage)
}

// Option configures an API.
type Option func(*API)

// Loose lets requests without a bearer token act as the principal p
// returns. Requests that do carry a token are still checked.
func Loose(p func() *auth.Principal) Option { return func(a *API) { a.loose = p } }

// DeviceQuality keeps the reports bots log with
// logTeleconferenceDeviceQuality, once they are checked.
func DeviceQuality(keep func(appID string, quality json.RawMessage)) Option {
	return func(a *API) { a.deviceQuality = keep }
}

// Metrics counts and times every request in m.
func Metrics(m *metrics.Metrics) Option { return func(a *API) { a.metrics = m } }

// Guard refuses, with 403, every request check returns an error for.
func Guard(check func(*http.Request) error) Option { return func(a *API) { a.guard = check } }

// New returns the API over the control service. base is the base URL
// callplane advertises for a request: where Location headers and
// @odata.context point.
func New(calls *control.Service, verifier Verifier, base func(*http.Request) string, log *slog.Logger, opts ...Option) *API {
	a := &API{calls: calls, verifier: verifier, log: log, mux: http.NewServeMux(), base: base, actionNames: map[string]bool{}}
	for _, o := range opts {
		o(a)
	}
	a.routes()
	return a
}

// RoutePatterns lists every route the API serves, as ServeMux patterns
// ("POST /v1.0/communications/calls/{id}/keepAlive"): for tests that must
// cover them all.
func RoutePatterns() []string {
	patterns := New(nil, nil, nil, slog.New(slog.DiscardHandler)).patterns
	slices.Sort(patterns)
	return patterns
}

func (a *API) routes() {
	for _, v := range Versions {
		p := "/" + v + "/communications/calls"
		a.handle("POST "+p, a.createCall)
		a.handle("GET "+p+"/{id}", a.getCall)
		a.handle("DELETE "+p+"/{id}", a.deleteCall)
		a.handle("GET "+p+"/{id}/participants", a.listParticipants)
		a.handle("GET "+p+"/{id}/participants/{pid}", a.getParticipant)
		a.handle("DELETE "+p+"/{id}/participants/{pid}", a.deleteParticipant)
		a.handle("GET "+p+"/{id}/operations", a.listOperations)
		a.handle("POST "+p+"/{id}/audioRoutingGroups", a.createAudioRoutingGroup)
		a.handle("GET "+p+"/{id}/audioRoutingGroups", a.listAudioRoutingGroups)
		a.handle("GET "+p+"/{id}/audioRoutingGroups/{gid}", a.getAudioRoutingGroup)
		a.handle("PATCH "+p+"/{id}/audioRoutingGroups/{gid}", a.updateAudioRoutingGroup)
		a.handle("DELETE "+p+"/{id}/audioRoutingGroups/{gid}", a.deleteAudioRoutingGroup)
		a.handle("GET "+p+"/{id}/operations/{opid}", a.getOperation)
		a.handle("GET "+p+"/{id}/contentSharingSessions", a.listContentSharingSessions)
		a.handle("GET "+p+"/{id}/contentSharingSessions/{sid}", a.getContentSharingSession)
		// Actions, by name: bound to the calls collection, to a call, to
		// its participants, and to one participant.
		a.routeActions(p+"/{action}", actions{byName: map[string]handler{
			"logTeleconferenceDeviceQuality": a.logDeviceQuality,
		}, entity: []string{http.MethodGet, http.MethodDelete}})
		a.routeActions(p+"/{id}/{action}", actions{byName: map[string]handler{
			"keepAlive": a.keepAlive,
			"mute":      a.muteSelf(true),
			"unmute":    a.muteSelf(false),
			"answer":    a.answer,
			"reject":    a.reject,
			"redirect":  a.redirect,
			"transfer":  a.transfer,
			// Service-hosted media.
			"playPrompt":            a.playPrompt,
			"recordResponse":        a.recordResponse,
			"subscribeToTone":       a.subscribeToTone,
			"sendDtmfTones":         a.sendDtmfTones,
			"cancelMediaProcessing": a.cancelMediaProcessing,
			"updateRecordingStatus": a.updateRecordingStatus,
			// App-hosted media in group calls.
			"addLargeGalleryView":     a.addLargeGalleryView,
			"changeScreenSharingRole": a.changeScreenSharingRole,
		}})
		a.routeActions(p+"/{id}/participants/{action}", actions{byName: map[string]handler{
			"invite": a.invite,
		}, entity: []string{http.MethodGet, http.MethodDelete}})
		a.routeActions(p+"/{id}/participants/{pid}/{action}", actions{byName: map[string]handler{
			"mute":           a.muteParticipant,
			"startHoldMusic": a.holdMusic(true),
			"stopHoldMusic":  a.holdMusic(false),
		}})
	}
	a.mux.HandleFunc("/", a.unrouted)
}

// handle registers an authenticated Graph handler.
func (a *API) handle(pattern string, h handler) {
	a.patterns = append(a.patterns, pattern)
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, h) })
}

// serve runs an authenticated handler, recording the request in its
// call's timeline.
func (a *API) serve(w http.ResponseWriter, r *http.Request, h handler) {
	p, ok := a.authenticate(w, r)
	if !ok {
		return
	}
	if a.requests == nil {
		if !a.inject(w, r, p) {
			h(w, r, p)
		}
		return
	}
	started := time.Now()
	// ServeHTTP's writer records the status already when metrics or debug
	// logs are on: one per request is enough.
	sw, ok := w.(*statusWriter)
	if !ok {
		sw = &statusWriter{ResponseWriter: w}
	}
	if !a.inject(sw, r, p) {
		h(sw, r, p)
	}
	a.record(r, sw, started)
}

// ServeHTTP sets Graph's response headers, contains panics, and routes.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := ids.New()
	clientRequestID := r.Header.Get("client-request-id")
	if clientRequestID == "" {
		clientRequestID = requestID
	}
	// Canonical keys, set directly: every request pays for this.
	h := w.Header()
	h["Request-Id"] = []string{requestID}
	h["Client-Request-Id"] = []string{clientRequestID}
	h["X-Ms-Ags-Diagnostic"] = agsDiagnostic
	h["Cache-Control"] = cachePrivate
	if r.TLS != nil {
		h["Strict-Transport-Security"] = hsts
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeError(w, r, http.StatusInternalServerError, "generalException", "An internal server error occurred.")
		}
	}()
	if a.guard != nil {
		if err := a.guard(r); err != nil {
			writeError(w, r, http.StatusForbidden, "accessDenied", sentence(err.Error()))
			return
		}
	}
	debug := a.log.Enabled(r.Context(), slog.LevelDebug)
	if !debug && a.metrics == nil {
		a.mux.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	a.mux.ServeHTTP(sw, r)
	took := time.Since(start)
	a.metrics.GraphRequest(r.Method, a.route(r), cmp.Or(sw.status, http.StatusOK), took)
	if debug {
		a.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration", took, "request-id", requestID, "call", graph.NormalizeID(r.PathValue("id")))
	}
}

// route names a request's route for metrics: the pattern that matched,
// after the version, with a routed action's name; "unmatched" for what no
// route took. Never an id: the labels stay few.
func (a *API) route(r *http.Request) string {
	path := r.Pattern
	if _, p, withMethod := strings.Cut(path, " "); withMethod {
		path = p
	}
	for _, v := range Versions {
		if rest, ok := strings.CutPrefix(path, "/"+v+"/"); ok {
			path = "/" + rest
			break
		}
	}
	if prefix, ok := strings.CutSuffix(path, "{action}"); ok {
		if name := strings.TrimPrefix(r.PathValue("action"), actionPrefix); a.actionNames[name] {
			return prefix + name
		}
		return path
	}
	if path == "" || path == "/" {
		return "unmatched"
	}
	return path
}

var (
	agsDiagnostic = []string{`{"ServerInfo":{"DataCenter":"callplane","Slice":"E","Ring":"0","ScaleUnit":"0","RoleInstance":"callplane","ADSiteName":"local"}}`}
	cachePrivate  = []string{"private"}
	hsts          = []string{"max-age=31536000"}
)

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// authenticate checks the bearer token. Graph's calls API takes application
// tokens only: a delegated (user) token is refused with 403.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (*auth.Principal, bool) {
	token, hasToken := httpx.BearerToken(r)
	if !hasToken && a.loose != nil {
		return a.loose(), true
	}
	p, err := a.verifier.Verify(token)
	var te *auth.TokenError
	switch {
	case errors.As(err, &te):
		w.Header().Set("WWW-Authenticate", `Bearer realm="", error="invalid_token", client_id="`+auth.GraphResourceID+`"`)
		writeError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", te.Reason)
		return nil, false
	case err != nil:
		a.fail(w, r, err)
		return nil, false
	case p.Delegated:
		writeError(w, r, http.StatusForbidden, "accessDenied",
			"Delegated permissions are not supported for this API: call it with an application token (client credentials).")
		return nil, false
	}
	return p, true
}

func owner(p *auth.Principal) call.Owner {
	return call.Owner{TenantID: p.TenantID, AppID: p.AppID}
}

func (a *API) createCall(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var body graph.Call
	if !a.decode(w, r, &body) {
		return
	}
	if body.TenantID != "" && !strings.EqualFold(body.TenantID, p.TenantID) {
		writeError(w, r, http.StatusForbidden, "accessDenied", "Request authorization tenant mismatch: tenantId is not the token's tenant.")
		return
	}
	req, err := body.PlaceRequest(owner(p), r.Header.Get("Scenario-Id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.calls.Place(r.Context(), req, p.Roles)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", a.versionBase(r)+graph.CallPath(c.ID))
	a.writeCall(w, r, http.StatusCreated, c)
}

func (a *API) getCall(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	c, err := a.calls.Get(r.Context(), owner(p), graph.NormalizeID(r.PathValue("id")))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeCall(w, r, http.StatusOK, c)
}

// deleteCall hangs up: 204 and an empty body. Any request body is ignored.
func (a *API) deleteCall(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if err := a.calls.HangUp(r.Context(), owner(p), graph.NormalizeID(r.PathValue("id"))); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// keepAlive answers 200 with an empty body, as Graph does.
func (a *API) keepAlive(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if err := a.calls.KeepAlive(r.Context(), owner(p), graph.NormalizeID(r.PathValue("id"))); err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

func (a *API) writeCall(w http.ResponseWriter, r *http.Request, status int, c *call.Call) {
	body := graph.FromCall(c)
	body.ODataContext = a.versionBase(r) + "/$metadata#communications/calls/$entity"
	writeJSON(w, status, body)
}

// decode reads a JSON request body, gzip-compressed or not, into v.
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return a.decodeBody(w, r, v, false)
}

// decodeOptional is decode for actions whose body may be left out.
func (a *API) decodeOptional(w http.ResponseWriter, r *http.Request, v any) bool {
	return a.decodeBody(w, r, v, true)
}

func (a *API) decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	var data []byte
	var err error
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		data, err = httpx.ReadBody(w, r, maxBodyBytes)
	case "gzip":
		zr, zerr := gzip.NewReader(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if zerr != nil {
			writeError(w, r, http.StatusBadRequest, "BadRequest", "The request body is not valid gzip.")
			return false
		}
		defer zr.Close()
		data, err = httpx.ReadLimited(zr, maxBodyBytes)
	default:
		writeError(w, r, http.StatusUnsupportedMediaType, "BadRequest",
			fmt.Sprintf("Content-Encoding %q is not supported: send gzip or no encoding.", enc))
		return false
	}
	if err == nil {
		err = httpx.CheckJSON(r, data)
	}
	switch {
	case errors.Is(err, httpx.ErrTooLarge):
		writeError(w, r, http.StatusRequestEntityTooLarge, "BadRequest", fmt.Sprintf("The request body is larger than %d bytes.", maxBodyBytes))
		return false
	case errors.Is(err, httpx.ErrNotJSON):
		writeError(w, r, http.StatusUnsupportedMediaType, "BadRequest", sentence(err.Error()))
		return false
	case errors.Is(err, httpx.ErrTimeout):
		writeError(w, r, http.StatusRequestTimeout, "BadRequest", sentence(err.Error()))
		return false
	case err != nil:
		writeError(w, r, http.StatusBadRequest, "BadRequest", "The request body could not be read: "+err.Error())
		return false
	case len(strings.TrimSpace(string(data))) == 0 && optional:
		return true
	case len(strings.TrimSpace(string(data))) == 0:
		writeError(w, r, http.StatusBadRequest, "BadRequest", "A request body is required.")
		return false
	}
	if err := json.Unmarshal(data, v); err != nil {
		writeError(w, r, http.StatusBadRequest, "BadRequest", "The request body is not valid: "+describeJSONError(err))
		return false
	}
	return true
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return fmt.Sprintf("property %s cannot be a JSON %s.", typeErr.Field, typeErr.Value)
	}
	return err.Error()
}

// fail answers with the Graph error that err stands for.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		invalid    *call.InvalidError
		badBody    *graph.RequestError
		permission *control.PermissionError
		throttled  *control.ThrottledError
	)
	switch {
	case errors.Is(err, call.ErrNotFound):
		writeError(w, r, http.StatusNotFound, "8522", "Call not found.")
	case errors.Is(err, call.ErrNoSuchMember):
		writeError(w, r, http.StatusNotFound, "itemNotFound", "Participant not found.")
	case errors.Is(err, control.ErrNoSuchOperation):
		writeError(w, r, http.StatusNotFound, "itemNotFound", "Operation not found.")
	case errors.Is(err, call.ErrNoSuchRoutingGroup):
		writeError(w, r, http.StatusNotFound, "itemNotFound", "Audio routing group not found.")
	case errors.Is(err, call.ErrNoSuchContentSession):
		writeError(w, r, http.StatusNotFound, "itemNotFound", "Content sharing session not found.")
	case errors.Is(err, call.ErrNotGroupCall), errors.Is(err, call.ErrTooManyInvitees), errors.Is(err, call.ErrGroupFull):
		writeError(w, r, http.StatusBadRequest, "BadRequest", sentence(err.Error()))
	case errors.Is(err, call.ErrAnotherOnHold):
		writeError(w, r, http.StatusConflict, "Conflict", sentence(err.Error()))
	case errors.Is(err, call.ErrNotOnHold):
		writeError(w, r, http.StatusBadRequest, "BadRequest", sentence(err.Error()))
	case errors.Is(err, call.ErrNotIncoming), errors.Is(err, call.ErrNotEstablished):
		writeError(w, r, http.StatusBadRequest, "BadRequest", sentence(err.Error()))
	case errors.Is(err, call.ErrGroupEnded):
		writeError(w, r, http.StatusConflict, "Conflict", sentence(err.Error()))
	case errors.As(err, &invalid):
		writeError(w, r, http.StatusBadRequest, "BadRequest", invalid.Msg)
	case errors.As(err, &badBody):
		writeError(w, r, http.StatusBadRequest, "BadRequest", badBody.Msg)
	case errors.As(err, &permission):
		writeError(w, r, http.StatusForbidden, "7504", permission.Msg)
	case errors.As(err, &throttled):
		// Graph's throttling answer: 429, Retry-After in seconds.
		w.Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Round(time.Second)/time.Second)))
		writeError(w, r, http.StatusTooManyRequests, "TooManyRequests", throttled.Msg)
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		writeError(w, r, http.StatusServiceUnavailable, "serviceNotAvailable", "The request was cancelled.")
	default:
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, r, http.StatusInternalServerError, "generalException", "An internal server error occurred.")
	}
}

// sentence makes an error's text a message: capitalised, with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// unrouted answers what no route takes: 405 for a resource that exists but
// not with this method, else 400 naming the first segment Graph could not
// resolve, as Graph does.
func (a *API) unrouted(w http.ResponseWriter, r *http.Request) {
	if allowed := httpx.AllowedMethods(a.mux, r); len(allowed) > 0 {
		methodNotAllowed(w, r, allowed)
		return
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")[1:] // after the version
	known := []string{"communications", "calls"}
	seg := ""
	if len(segs) > 0 {
		seg = segs[len(segs)-1]
	}
	for i, s := range segs {
		if i >= len(known) || s != known[i] {
			seg = s
			break
		}
	}
	writeError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", seg))
}

// writeError writes Graph's error body, correlated with the request.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	h := w.Header()
	writeJSON(w, status, graph.NewError(code, message, h.Get("request-id"), h.Get("client-request-id"), time.Now()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(data)
}

// version is the API version segment of the request's path.
// versionBase is the base URL of the Graph version the request came
// through ("https://host/v1.0"): what Location headers and @odata.context
// URLs start with.
func (a *API) versionBase(r *http.Request) string { return a.base(r) + "/" + version(r) }

func version(r *http.Request) string {
	v, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return v
}
