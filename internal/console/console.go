// Package console is callplane's browser console at /console: the tenant's
// calls, one call's timeline, operations and roster, the meetings, the
// simulated people and the simulator's controls, and the deliveries,
// updated live. It is plain HTML,
// CSS and JavaScript modules embedded in the binary (no build step).
//
// Everything the page shows or does goes through the admin API, in process:
// /console/api/X is /callplane/X with the admin credential added, once the
// session cookie checks out. The secret itself is only ever posted once, by
// the sign-in form; the session cookie is an expiry signed with a key
// derived from the admin secret, so every node of a cluster (which share the
// secret, not memory) accepts it. Live updates come from the store (see
// hub), so a console on any node shows every node's calls.
package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/httpx"
	"github.com/callplane/callplane/internal/store"
)

// Source is what the console reads from the store itself: what changed
// lately (for live updates), and a call's owner (for its callback token).
type Source interface {
	ListCalls(ctx context.Context, f store.CallFilter) ([]*call.Call, error)
	ListGroups(ctx context.Context, f store.GroupFilter) ([]*call.Group, error)
	People(ctx context.Context, tenantID string) ([]call.Person, error)
	Notifications(ctx context.Context, f store.Filter) ([]store.Notification, error)
	GetCall(ctx context.Context, id string) (*call.Call, error)
}

// Deps are what the console is made of.
type Deps struct {
	// Secret is the admin credential: what signing in takes, and what the
	// console's API calls the admin API with. An empty one refuses every
	// sign-in.
	Secret   string
	TenantID string
	// Admin is the admin API (/callplane/...).
	Admin http.Handler
	// Store is read for live updates and callback tokens.
	Store Source
	// Recording finds a call's recording (with its access token);
	// Recordings serves recordings as /media/recordings/{call}/{op} does
	// for the holder of that token. The console plays recordings through
	// them for the signed-in browser; nil plays none.
	Recording  func(ctx context.Context, callID, opID string) (rec call.Recording, speech []byte, ok bool)
	Recordings http.Handler
	// CallbackToken is the token callplane puts on the notifications of an
	// application in a tenant (the same one, reused for most of its hour);
	// nil shows none.
	CallbackToken func(appID, tenantID string) (string, error)
	// PollEvery is how often the store is asked what changed while a
	// console is open (default 500 ms).
	PollEvery time.Duration
	Log       *slog.Logger
	// Now is the clock sessions are issued and checked by (time.Now).
	Now func() time.Time
}

// Console serves /console.
type Console struct {
	Deps
	key    []byte
	mux    *http.ServeMux
	hub    *hub
	assets fs.FS
	signin *template.Template
}

//go:embed assets
var embedded embed.FS

// New returns the console.
func New(d Deps) *Console {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.PollEvery <= 0 {
		d.PollEvery = defaultPollEvery
	}
	assets, err := fs.Sub(embedded, "assets")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	c := &Console{
		Deps:   d,
		key:    sessionKey(d.Secret),
		mux:    http.NewServeMux(),
		assets: assets,
		signin: template.Must(template.ParseFS(assets, "signin.html")),
	}
	c.hub = newHub(d.Store, d.TenantID, d.PollEvery, d.Log)
	c.mux.HandleFunc("GET /console", c.page)
	c.mux.HandleFunc("GET /console/{$}", c.page)
	c.mux.HandleFunc("POST /console/signin", c.signIn)
	c.mux.HandleFunc("POST /console/signout", c.signOut)
	c.mux.HandleFunc("GET /console/assets/{file...}", c.asset)
	c.mux.HandleFunc("GET /console/events", c.signedIn(c.events))
	c.mux.HandleFunc("GET /console/recordings/{call}/{op}", c.signedIn(c.recording))
	c.mux.HandleFunc("GET /console/api/session", c.signedIn(c.session))
	c.mux.HandleFunc("GET /console/api/calls/{id}/callback-token", c.signedIn(c.callbackToken))
	c.mux.HandleFunc("/console/api/", c.signedIn(c.forward))
	c.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allowed := httpx.AllowedMethods(c.mux, r); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, http.StatusMethodNotAllowed, "methodNotAllowed", r.Method+" is not allowed for "+r.URL.Path+": use "+strings.Join(allowed, " or ")+".")
			return
		}
		writeError(w, http.StatusNotFound, "notFound", "No console resource at "+r.URL.Path+".")
	})
	return c
}

// Close ends the event streams open now, so that a server shutting down
// does not wait for them (http.Server.RegisterOnShutdown).
func (c *Console) Close() { c.hub.close() }

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin") // "no-referrer" would make forms send "Origin: null"
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

// contentSecurity lets the pages load only the console's own scripts,
// styles and media, and be framed by nobody.
const contentSecurity = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// page answers /console: the console for a signed-in browser, the sign-in
// page for any other (200 either way).
func (c *Console) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", contentSecurity)
	w.Header().Set("Cache-Control", "no-store")
	if !c.validSession(r) {
		c.signInPage(w, http.StatusOK, "")
		return
	}
	data, err := fs.ReadFile(c.assets, "index.html")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "generalException", "The console's page is missing.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(data)
}

func (c *Console) signInPage(w http.ResponseWriter, status int, problem string) {
	w.Header().Set("Content-Security-Policy", contentSecurity)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	c.signin.Execute(w, struct{ Problem string }{problem})
}

// asset serves the embedded stylesheet and scripts.
func (c *Console) asset(w http.ResponseWriter, r *http.Request) {
	name := path.Clean(r.PathValue("file"))
	if name == "index.html" || name == "signin.html" || !fs.ValidPath(name) {
		writeError(w, http.StatusNotFound, "notFound", "No such asset.")
		return
	}
	data, err := fs.ReadFile(c.assets, name)
	if err != nil {
		writeError(w, http.StatusNotFound, "notFound", "No such asset.")
		return
	}
	switch path.Ext(name) {
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	// Assets change with the binary: revalidate, never serve stale ones.
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(data)
}

// maxSignInBody bounds the sign-in form.
const maxSignInBody = 4 << 10

// signIn checks the posted admin secret and, if it is right, sets the
// session cookie and sends the browser to the console.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if problem := crossSite(r); problem != "" {
		writeError(w, http.StatusForbidden, "crossSiteRequest", problem)
		return
	}
	if r.URL.Query().Has("secret") {
		writeError(w, http.StatusBadRequest, "badRequest", "The secret goes in the form's body, never in a URL.")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		writeError(w, http.StatusUnsupportedMediaType, "unsupportedMediaType", "Sign in with the form: application/x-www-form-urlencoded.")
		return
	}
	data, err := httpx.ReadBody(w, r, maxSignInBody)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, httpx.ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, "badRequest", "The form could not be read.")
		return
	}
	form, err := url.ParseQuery(string(data))
	if err != nil {
		c.signInPage(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	secret := strings.TrimSpace(form.Get("secret"))
	if c.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		c.Log.Warn("console: sign-in refused", "client", httpx.ClientAddr(r).String())
		c.signInPage(w, http.StatusUnauthorized, "That is not the admin secret. callplane prints it at start, on the banner's \"admin API\" line (the bearer token), and it is adminSecret in the ready file (serve --ready-file).")
		return
	}
	http.SetCookie(w, c.sessionCookie(r, c.issue(c.Now())))
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

// signOut clears the session cookie. The page posts it with the console's
// header, like every other change.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	if problem := c.refuseChange(r); problem != "" {
		writeError(w, http.StatusForbidden, "crossSiteRequest", problem)
		return
	}
	cookie := c.sessionCookie(r, "")
	cookie.MaxAge = -1
	cookie.Expires = time.Unix(1, 0)
	http.SetCookie(w, cookie)
	w.WriteHeader(http.StatusNoContent)
}

// consoleHeader is the header the page's requests carry: a cross-site form
// or a simple request cannot set it, and setting it from another origin
// needs a CORS preflight that the console never allows.
const consoleHeader = "X-Callplane-Console"

// signedIn serves next to a signed-in browser only; a change (anything but
// GET and HEAD) must also come from the console's own page.
func (c *Console) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !c.validSession(r) {
			writeError(w, http.StatusUnauthorized, "unauthenticated", "Sign in to the console first, at /console.")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if problem := c.refuseChange(r); problem != "" {
				writeError(w, http.StatusForbidden, "crossSiteRequest", problem)
				return
			}
		}
		next(w, r)
	}
}

// refuseChange says why a state-changing request is refused, or "" if it
// came from the console's page.
func (c *Console) refuseChange(r *http.Request) string {
	if !c.validSession(r) {
		return "Sign in to the console first, at /console."
	}
	if r.Header.Get(consoleHeader) != "1" {
		return "Changes must come from the console's page (" + consoleHeader + ": 1)."
	}
	return crossSite(r)
}

// crossSite says why r looks like a request from another site, or "".
func crossSite(r *http.Request) string {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return "Cross-site requests are refused (Sec-Fetch-Site: " + site + ")."
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return "Requests from another origin are refused (Origin: " + origin + ")."
		}
	}
	return ""
}

// forward serves /console/api/X as the admin API's /callplane/X, with the
// admin credential: the browser never holds it.
func (c *Console) forward(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/console/api/")
	if rest == "" || rest == r.URL.Path {
		writeError(w, http.StatusNotFound, "notFound", "No console resource at "+r.URL.Path+".")
		return
	}
	in := r.Clone(r.Context())
	in.URL.Path = "/callplane/" + rest
	in.URL.RawPath = ""
	if raw := r.URL.RawPath; raw != "" {
		in.URL.RawPath = "/callplane/" + strings.TrimPrefix(raw, "/console/api/")
	}
	in.RequestURI = ""
	in.Header.Del("Cookie")
	in.Header.Set("Authorization", "Bearer "+c.Secret)
	w.Header().Set("Cache-Control", "no-store")
	c.Admin.ServeHTTP(w, in)
}

// session answers when the browser's session ends.
func (c *Console) session(w http.ResponseWriter, r *http.Request) {
	expires, _ := c.sessionExpiry(r)
	writeJSON(w, http.StatusOK, map[string]any{"expiresDateTime": expires.UTC(), "tenantId": c.TenantID})
}

// TokenView is the callback token a call's notifications carry, decoded:
// its header and claims (never its signature, so that it is no token).
type TokenView struct {
	CallID        string          `json:"callId"`
	ApplicationID string          `json:"applicationId"`
	Header        json.RawMessage `json:"header"`
	Claims        json.RawMessage `json:"claims"`
	Note          string          `json:"note"`
}

// callbackToken shows the claims of the callback token on the call's
// notifications: the signer issues one per application and tenant and
// reuses it for 50 minutes, so this is the token the latest notifications
// carried (or a fresh one just like it, with later times).
func (c *Console) callbackToken(w http.ResponseWriter, r *http.Request) {
	if c.CallbackToken == nil {
		writeError(w, http.StatusNotImplemented, "notSupported", "This console cannot show callback tokens.")
		return
	}
	id := graph.NormalizeID(r.PathValue("id"))
	cl, err := c.Store.GetCall(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && cl.Owner.TenantID != c.TenantID) {
		writeError(w, http.StatusNotFound, "notFound", "No such call.")
		return
	}
	if err != nil {
		c.Log.Error("console: read call", "call", id, "err", err)
		writeError(w, http.StatusInternalServerError, "generalException", "Reading the call failed.")
		return
	}
	token, err := c.CallbackToken(cl.Owner.AppID, cl.Owner.TenantID)
	if err != nil {
		c.Log.Error("console: callback token", "call", id, "err", err)
		writeError(w, http.StatusInternalServerError, "generalException", "Signing the callback token failed.")
		return
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		writeError(w, http.StatusInternalServerError, "generalException", "The callback token is not a JWT.")
		return
	}
	header, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	claims, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	if err1 != nil || err2 != nil || !json.Valid(header) || !json.Valid(claims) {
		writeError(w, http.StatusInternalServerError, "generalException", "The callback token does not decode.")
		return
	}
	writeJSON(w, http.StatusOK, TokenView{
		CallID: id, ApplicationID: cl.Owner.AppID, Header: header, Claims: claims,
		Note: "The bearer token on this call's notifications (Authorization header): one per application and tenant, signed RS256 with the key at /v1/keys, reused for 50 minutes of its hour.",
	})
}

// recording plays a call's recording to the signed-in browser: an <audio>
// element cannot send the recording's access token, so the console looks
// the token up and asks the recordings handler with it.
func (c *Console) recording(w http.ResponseWriter, r *http.Request) {
	if c.Recording == nil || c.Recordings == nil {
		writeError(w, http.StatusNotImplemented, "notSupported", "This console cannot play recordings.")
		return
	}
	callID, opID := graph.NormalizeID(r.PathValue("call")), r.PathValue("op")
	rec, _, ok := c.Recording(r.Context(), callID, opID)
	if !ok || rec.Token == "" {
		writeError(w, http.StatusNotFound, "notFound", "No recording here: it never was, or its call was purged.")
		return
	}
	in := r.Clone(r.Context())
	in.URL.Path = graph.RecordingPath(callID, opID)
	in.URL.RawPath = ""
	in.RequestURI = ""
	in.Header.Del("Cookie")
	in.Header.Del("Range") // the recording comes whole
	in.Header.Set("Authorization", "Bearer "+rec.Token)
	w.Header().Set("Cache-Control", "no-store")
	c.Recordings.ServeHTTP(audioWriter{w}, in)
}

// audioWriter labels a recording as audio, so that the browser plays it
// (the recordings handler answers bots with application/octet-stream).
type audioWriter struct{ http.ResponseWriter }

func (a audioWriter) WriteHeader(status int) {
	if status == http.StatusOK {
		a.Header().Set("Content-Type", "audio/wav")
		a.Header().Set("Content-Disposition", "inline")
	}
	a.ResponseWriter.WriteHeader(status)
}

func (a audioWriter) Write(p []byte) (int, error) {
	if a.Header().Get("Content-Type") == "application/octet-stream" {
		a.WriteHeader(http.StatusOK)
	}
	return a.ResponseWriter.Write(p)
}

// writeError and writeJSON answer in the admin API's format, never cached.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Cache-Control", "no-store")
	admin.WriteError(w, status, code, message)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	admin.WriteJSON(w, status, v)
}
