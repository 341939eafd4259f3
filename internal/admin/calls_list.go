package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/store"
)

// CallLister lists the tenant's calls (store.Store.ListCalls).
type CallLister interface {
	ListCalls(ctx context.Context, f store.CallFilter) ([]*call.Call, error)
}

// Call listing bounds.
const (
	defaultCallPage = 200
	maxCallPage     = 1000
)

// callListRoutes registers the listing of calls, and one call's row in it
// with its operations.
func (a *API) callListRoutes() {
	a.mux.HandleFunc("GET /callplane/calls", a.listCalls)
	a.mux.HandleFunc("GET /callplane/calls/{id}/summary", a.callSummary)
}

// CallSummary is a call as the listing shows it: the simulator's view
// (CallView: for a peer-to-peer call, the remote party and how it turned
// out) and what sort of call it is.
type CallSummary struct {
	CallView
	// Kind is peerToPeer, meeting (a bot's leg of a meeting) or adHocGroup
	// (a bot's leg of a group call it placed).
	Kind string `json:"kind"`
	// GroupID is the meeting or group call of a group leg
	// (/callplane/meetings/{groupId}).
	GroupID     string `json:"groupId,omitempty"`
	Subject     string `json:"subject,omitempty"`
	CallChainID string `json:"callChainId,omitempty"`
	CallbackURI string `json:"callbackUri,omitempty"`
	// Targets are whom a group call's leg was placed to.
	Targets []*graph.IdentitySet `json:"targets,omitempty"`
	// Version counts the call's saved changes: a listing's row that kept
	// its version is unchanged.
	Version int64 `json:"version"`
}

// CallList is the body of GET /callplane/calls: a page, newest first, and
// the link to the next one when there may be more.
type CallList struct {
	Value    []CallSummary `json:"value"`
	NextLink string        `json:"@odata.nextLink,omitempty"`
}

// SummaryOf is the listing's view of a call.
func SummaryOf(c *call.Call) CallSummary {
	s := CallSummary{
		CallView: callView(c), Kind: string(c.Kind), GroupID: c.GroupID, Subject: c.Subject,
		CallChainID: c.ChainID, CallbackURI: c.CallbackURI, Version: c.Version,
	}
	if c.Remote == nil {
		for _, p := range c.Targets {
			s.Targets = append(s.Targets, graph.IdentitySetOf(p.Identity))
		}
	}
	return s
}

// callStates are the states a listing filters by.
var callStates = []call.State{call.Incoming, call.Establishing, call.Established, call.Hold, call.Transferring,
	call.TransferAccepted, call.Redirecting, call.Terminating, call.Terminated}

// listCalls lists the tenant's calls, ended ones included (they are kept
// for the retention), newest first, a page at a time:
// ?app=CLIENT_ID&state=established&limit=N&before=CURSOR, where the
// cursor comes from the previous page's @odata.nextLink.
func (a *API) listCalls(w http.ResponseWriter, r *http.Request) {
	if a.CallList == nil {
		writeError(w, http.StatusNotImplemented, "notSupported", "This callplane cannot list calls.")
		return
	}
	q := r.URL.Query()
	f := store.CallFilter{TenantID: a.TenantID, AppID: strings.ToLower(q.Get("app")), State: call.State(q.Get("state")), Limit: defaultCallPage}
	if f.State != "" && !knownState(f.State) {
		writeError(w, http.StatusBadRequest, "badRequest", fmt.Sprintf("state must be one of %v.", callStates))
		return
	}
	if len(f.AppID) > 200 {
		writeError(w, http.StatusBadRequest, "badRequest", "app must be an application's client id.")
		return
	}
	var ok bool
	if f.Limit, f.Before, ok = readPage(w, q, f.Limit, maxCallPage); !ok {
		return
	}
	calls, err := a.CallList.ListCalls(r.Context(), f)
	if err != nil {
		a.Log.Error("list calls", "err", err)
		writeError(w, http.StatusInternalServerError, "generalException", "Listing calls failed.")
		return
	}
	out := CallList{Value: make([]CallSummary, 0, len(calls))}
	for _, c := range calls {
		out.Value = append(out.Value, SummaryOf(c))
	}
	if len(calls) == f.Limit {
		next := r.URL.Query()
		next.Set("before", formatCallCursor(store.CursorOf(calls[len(calls)-1])))
		next.Set("limit", strconv.Itoa(f.Limit))
		out.NextLink = "/callplane/calls?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

func knownState(s call.State) bool {
	for _, k := range callStates {
		if s == k {
			return true
		}
	}
	return false
}

// formatCallCursor writes a cursor as UNIXNANOS_ID.
func formatCallCursor(c store.CallCursor) string {
	return strconv.FormatInt(c.CreatedAt.UnixNano(), 10) + "_" + c.ID
}

func parseCallCursor(s string) (store.CallCursor, bool) {
	at, id, ok := strings.Cut(s, "_")
	if !ok || id == "" || len(id) > 200 {
		return store.CallCursor{}, false
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil || n <= 0 {
		return store.CallCursor{}, false
	}
	return store.CallCursor{CreatedAt: time.Unix(0, n).UTC(), ID: id}, true
}

// CallDetail is the body of GET /callplane/calls/{id}/summary: the call's
// row of the listing, and its operations (the running ones and the latest
// finished ones, oldest first).
type CallDetail struct {
	CallSummary
	Operations []OperationView `json:"operations"`
}

// OperationView is an operation a bot asked of its call: a prompt played,
// a recording (with where it downloads, never its access token), keys
// sent, an invitation, a mute.
type OperationView struct {
	ID               string               `json:"id"`
	Type             string               `json:"type"`
	Status           string               `json:"status"`
	ClientContext    string               `json:"clientContext,omitempty"`
	ResultInfo       *graph.ResultInfo    `json:"resultInfo,omitempty"`
	CompletionReason string               `json:"completionReason,omitempty"`
	Prompts          []OperationPrompt    `json:"prompts,omitempty"`
	Recording        *RecordingView       `json:"recording,omitempty"`
	DTMF             string               `json:"dtmf,omitempty"`
	Invitees         []*graph.IdentitySet `json:"invitees,omitempty"`
}

// OperationPrompt is a prompt of a playPrompt (or of a recording's
// prompt): how long it plays, or why it cannot.
type OperationPrompt struct {
	URI             string            `json:"uri,omitempty"`
	DurationSeconds float64           `json:"durationSeconds"`
	Failure         *graph.ResultInfo `json:"failure,omitempty"`
}

// RecordingView is what a recording captured.
type RecordingView struct {
	// Location is its recordingLocation; it downloads with its
	// recordingAccessToken, which only the bot was told.
	Location        string  `json:"location,omitempty"`
	DurationSeconds float64 `json:"durationSeconds"`
	// SpeechSeconds is how long the person spoke into it; Voiced says
	// they spoke uploaded audio rather than a tone.
	SpeechSeconds float64 `json:"speechSeconds"`
	Voiced        bool    `json:"voiced,omitempty"`
}

func (a *API) callSummary(w http.ResponseWriter, r *http.Request) {
	c, err := a.World.Call(r.Context(), graph.NormalizeID(r.PathValue("id")))
	if err != nil {
		a.worldFailed(w, err)
		return
	}
	out := CallDetail{CallSummary: SummaryOf(c), Operations: []OperationView{}}
	for _, op := range c.Operations {
		out.Operations = append(out.Operations, operationView(op))
	}
	writeJSON(w, http.StatusOK, out)
}

func operationView(op call.Operation) OperationView {
	v := OperationView{ID: op.ID, Type: string(op.Type), Status: string(op.Status), ClientContext: op.ClientContext,
		CompletionReason: op.CompletionReason, DTMF: op.DTMF, ResultInfo: resultInfo(op.Result)}
	if m := op.Media; m != nil {
		for _, p := range m.Prompts {
			v.Prompts = append(v.Prompts, OperationPrompt{URI: p.URI, DurationSeconds: p.Length.Seconds(), Failure: resultInfo(p.Failure)})
		}
		if v.CompletionReason == "" && m.End != nil {
			v.CompletionReason = m.End.CompletionReason
		}
	}
	if rec := op.Recording; rec != nil && !op.RecordingCleared {
		rv := &RecordingView{Location: rec.Location, DurationSeconds: rec.Length.Seconds(), Voiced: rec.Voiced}
		for _, s := range rec.Speech {
			rv.SpeechSeconds += (s.To - s.From).Seconds()
		}
		v.Recording = rv
	}
	for _, p := range op.Invitees {
		v.Invitees = append(v.Invitees, graph.IdentitySetOf(p.Identity))
	}
	return v
}

func resultInfo(r *call.Result) *graph.ResultInfo {
	if r == nil {
		return nil
	}
	return &graph.ResultInfo{Code: r.Code, Subcode: r.Subcode, Message: r.Message}
}

// readPage reads a listing's limit (def when absent, 1 to most) and
// before (a cursor of an @odata.nextLink), answering 400 if either is bad.
func readPage(w http.ResponseWriter, q url.Values, def, most int) (limit int, before store.CallCursor, ok bool) {
	limit = def
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > most {
			writeError(w, http.StatusBadRequest, "badRequest", fmt.Sprintf("limit must be a number from 1 to %d.", most))
			return 0, before, false
		}
		limit = n
	}
	if b := q.Get("before"); b != "" {
		cur, parsed := parseCallCursor(b)
		if !parsed {
			writeError(w, http.StatusBadRequest, "badRequest", "before must be the cursor of a listing's @odata.nextLink.")
			return 0, before, false
		}
		before = cur
	}
	return limit, before, true
}
