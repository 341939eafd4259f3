package admin

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/store"
)

// GroupLister lists the tenant's meetings and group calls
// (store.Store.ListGroups).
type GroupLister interface {
	ListGroups(ctx context.Context, f store.GroupFilter) ([]*call.Group, error)
}

// Meeting listing bounds: a row is small, but a group's document holds
// its whole roster (up to call.MaxGroupSize people), and the store
// decodes each one.
const (
	defaultMeetingPage = 100
	maxMeetingPage     = 500
)

// meetingListRoutes registers the listing of meetings.
func (a *API) meetingListRoutes() {
	a.mux.HandleFunc("GET /callplane/meetings", a.listMeetings)
}

// MeetingSummary is a meeting or ad-hoc group call as the listing shows
// it: what it is and how many are in it, not its roster (which is
// GET /callplane/meetings/{id}).
type MeetingSummary struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Subject     string `json:"subject,omitempty"`
	CallChainID string `json:"callChainId"`
	Ended       bool   `json:"ended"`
	// Organizer is a meeting's.
	Organizer *graph.IdentitySet `json:"organizer,omitempty"`
	// ParticipantsCount counts the roster; BotsCount the applications'
	// legs in it.
	ParticipantsCount int        `json:"participantsCount"`
	BotsCount         int        `json:"botsCount"`
	CreatedAt         time.Time  `json:"createdDateTime"`
	EndedAt           *time.Time `json:"endedDateTime,omitempty"`
	// Version counts the group's saved changes: a row that kept its
	// version is unchanged.
	Version int64 `json:"version"`
}

// MeetingList is the body of GET /callplane/meetings: a page, newest
// first, and the link to the next one when there may be more.
type MeetingList struct {
	Value    []MeetingSummary `json:"value"`
	NextLink string           `json:"@odata.nextLink,omitempty"`
}

// MeetingSummaryOf is the listing's view of a group.
func MeetingSummaryOf(g *call.Group) MeetingSummary {
	s := MeetingSummary{
		ID: g.ID, Kind: "adHocGroupCall", CallChainID: g.ChainID, Ended: g.Ended,
		ParticipantsCount: len(g.Members), BotsCount: len(g.Legs()), CreatedAt: g.CreatedAt,
		EndedAt: optionalTime(g.EndedAt), Version: g.Version,
	}
	if m := g.Meeting; m != nil {
		s.Kind, s.Subject = "meeting", m.Subject
		if m.Organizer.ID != "" || m.Organizer.DisplayName != "" {
			s.Organizer = graph.IdentitySetOf(m.Organizer)
		}
	}
	return s
}

// listMeetings lists the tenant's meetings and ad-hoc group calls, ended
// ones included (they are kept for the retention), newest first, a page at
// a time: ?ended=false&limit=N&before=CURSOR, where the cursor comes from
// the previous page's @odata.nextLink.
func (a *API) listMeetings(w http.ResponseWriter, r *http.Request) {
	if a.GroupList == nil {
		writeError(w, http.StatusNotImplemented, "notSupported", "This callplane cannot list meetings.")
		return
	}
	q := r.URL.Query()
	f := store.GroupFilter{TenantID: a.TenantID, Limit: defaultMeetingPage}
	if e := q.Get("ended"); e != "" {
		ended, err := strconv.ParseBool(e)
		if err != nil {
			writeError(w, http.StatusBadRequest, "badRequest", "ended must be true or false.")
			return
		}
		f.Ended = &ended
	}
	var ok bool
	if f.Limit, f.Before, ok = readPage(w, q, f.Limit, maxMeetingPage); !ok {
		return
	}
	groups, err := a.GroupList.ListGroups(r.Context(), f)
	if err != nil {
		a.Log.Error("list meetings", "err", err)
		writeError(w, http.StatusInternalServerError, "generalException", "Listing meetings failed.")
		return
	}
	out := MeetingList{Value: make([]MeetingSummary, 0, len(groups))}
	for _, g := range groups {
		out.Value = append(out.Value, MeetingSummaryOf(g))
	}
	if len(groups) == f.Limit {
		last := groups[len(groups)-1]
		next := r.URL.Query()
		next.Set("before", formatCallCursor(store.CallCursor{CreatedAt: last.CreatedAt, ID: last.ID}))
		next.Set("limit", strconv.Itoa(f.Limit))
		out.NextLink = "/callplane/meetings?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}
