package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/control"
	"github.com/callplane/callplane/internal/graph"
)

// Simulator is what the simulator routes drive: the world around a bot.
type Simulator interface {
	CreateMeeting(ctx context.Context, tenantID, subject string, organizer call.Identity, people []call.Identity, passcodeRequired bool) (*call.Group, error)
	Group(ctx context.Context, id string) (*call.Group, error)
	AddPerson(ctx context.Context, groupID string, person call.Identity) (call.Member, error)
	RemoveFromGroup(ctx context.Context, groupID, participantID string) error
	MuteInGroup(ctx context.Context, groupID, participantID string, muted bool) error
	ShareInGroup(ctx context.Context, groupID, participantID string, sharing bool) (call.ContentSession, error)
	EndGroup(ctx context.Context, groupID string) error
}

// simulatorRoutes registers the simulator: meetings (and ad-hoc group calls,
// by the same routes) and the simulated people in them.
func (a *API) simulatorRoutes() {
	a.mux.HandleFunc("POST /callplane/meetings", a.createMeeting)
	a.mux.HandleFunc("GET /callplane/meetings/{id}", a.showGroup)
	a.mux.HandleFunc("DELETE /callplane/meetings/{id}", a.endGroup)
	a.mux.HandleFunc("POST /callplane/meetings/{id}/participants", a.addPerson)
	a.mux.HandleFunc("DELETE /callplane/meetings/{id}/participants/{pid}", a.removeParticipant)
	a.mux.HandleFunc("POST /callplane/meetings/{id}/participants/{pid}/mute", a.mute(true))
	a.mux.HandleFunc("POST /callplane/meetings/{id}/participants/{pid}/unmute", a.mute(false))
	a.mux.HandleFunc("POST /callplane/meetings/{id}/participants/{pid}/share", a.share(true))
	a.mux.HandleFunc("POST /callplane/meetings/{id}/participants/{pid}/unshare", a.share(false))
}

// MeetingRequest creates a meeting: its subject, organizer, and the people
// already in it (identity sets, as Graph writes them: {"user": {...}}).
type MeetingRequest struct {
	Subject      string              `json:"subject"`
	Organizer    *graph.Identity     `json:"organizer"`
	Participants []graph.IdentitySet `json:"participants"`
	// JoinMeetingIDSettings is Graph's onlineMeeting setting: with
	// isPasscodeRequired false, joining by meeting id needs no passcode.
	JoinMeetingIDSettings *JoinMeetingIDSettings `json:"joinMeetingIdSettings,omitempty"`
}

// JoinMeetingIDSettings is Graph's joinMeetingIdSettings, as a meeting is
// created with it.
type JoinMeetingIDSettings struct {
	IsPasscodeRequired *bool `json:"isPasscodeRequired,omitempty"`
}

// GroupView is a meeting or ad-hoc group call as the simulator shows it.
type GroupView struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Subject     string `json:"subject,omitempty"`
	CallChainID string `json:"callChainId"`
	Ended       bool   `json:"ended"`
	// JoinInfo is what a bot puts in its create-call body to join: chatInfo
	// with organizerMeetingInfo, joinMeetingIdMeetingInfo, or
	// tokenMeetingInfo.
	JoinInfo     *graph.MeetingJoinInfo `json:"joinInfo,omitempty"`
	Participants []ParticipantView      `json:"participants"`
	// ContentSharing is the presentation under way, if any.
	ContentSharing *ContentSharingView `json:"contentSharing,omitempty"`
}

// ContentSharingView is a content sharing session as the simulator shows
// it: its id (the bots' contentSharingSession id), who presents, since
// when.
type ContentSharingView struct {
	ID            string    `json:"id"`
	ParticipantID string    `json:"participantId"`
	StartedAt     time.Time `json:"startedDateTime"`
}

func contentSharingView(s call.ContentSession) *ContentSharingView {
	return &ContentSharingView{ID: s.ID, ParticipantID: s.Presenter, StartedAt: s.StartedAt.UTC()}
}

// ParticipantView is a roster entry; CallID names the call resource of an
// application's leg.
type ParticipantView struct {
	graph.Participant
	CallID string `json:"callId,omitempty"`
}

func viewOf(g *call.Group) GroupView {
	v := GroupView{ID: g.ID, Kind: "adHocGroupCall", CallChainID: g.ChainID, Ended: g.Ended, Participants: []ParticipantView{}}
	if m := g.Meeting; m != nil {
		join := graph.JoinInfoOf(m)
		v.Kind, v.Subject, v.JoinInfo = "meeting", m.Subject, &join
	}
	for _, m := range g.Members {
		v.Participants = append(v.Participants, ParticipantView{Participant: graph.ParticipantOf(m), CallID: m.LegID})
	}
	if g.Content != nil {
		v.ContentSharing = contentSharingView(*g.Content)
	}
	return v
}

func (a *API) createMeeting(w http.ResponseWriter, r *http.Request) {
	var req MeetingRequest
	if !readJSON(w, r, &req, true) {
		return
	}
	var organizer call.Identity
	if o := req.Organizer; o != nil {
		organizer = call.Identity{Kind: call.User, ID: o.ID, DisplayName: o.DisplayName}
	}
	var people []call.Identity
	for i := range req.Participants {
		id, err := graph.PersonOf(&req.Participants[i])
		if err != nil {
			writeError(w, http.StatusBadRequest, "badRequest", "participants: "+err.Error())
			return
		}
		people = append(people, id)
	}
	passcode := true
	if set := req.JoinMeetingIDSettings; set != nil && set.IsPasscodeRequired != nil {
		passcode = *set.IsPasscodeRequired
	}
	g, err := a.Sim.CreateMeeting(r.Context(), a.TenantID, req.Subject, organizer, people, passcode)
	if err != nil {
		a.simFailed(w, err)
		return
	}
	w.Header().Set("Location", "/callplane/meetings/"+g.ID)
	writeJSON(w, http.StatusCreated, viewOf(g))
}

func (a *API) showGroup(w http.ResponseWriter, r *http.Request) {
	g, err := a.Sim.Group(r.Context(), r.PathValue("id"))
	if err != nil {
		a.simFailed(w, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(g))
}

func (a *API) endGroup(w http.ResponseWriter, r *http.Request) {
	if err := a.Sim.EndGroup(r.Context(), r.PathValue("id")); err != nil {
		a.simFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) addPerson(w http.ResponseWriter, r *http.Request) {
	var set graph.IdentitySet
	if !readJSON(w, r, &set, false) {
		return
	}
	if set.Application != nil {
		// A bot is invited: it answers (or not) an incoming call.
		invited, err := a.World.InviteApplication(r.Context(), r.PathValue("id"), call.Identity{Kind: call.Application, ID: set.Application.ID})
		if err != nil {
			a.worldFailed(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, ParticipantView{Participant: graph.ParticipantOf(call.Member{ParticipantID: invited.MyParticipantID, Identity: invited.Targets[0].Identity}), CallID: invited.ID})
		return
	}
	person, err := graph.PersonOf(&set)
	if err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", err.Error())
		return
	}
	m, err := a.Sim.AddPerson(r.Context(), r.PathValue("id"), person)
	if err != nil {
		a.simFailed(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, ParticipantView{Participant: graph.ParticipantOf(m)})
}

func (a *API) removeParticipant(w http.ResponseWriter, r *http.Request) {
	if err := a.Sim.RemoveFromGroup(r.Context(), r.PathValue("id"), r.PathValue("pid")); err != nil {
		a.simFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) mute(muted bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := a.Sim.MuteInGroup(r.Context(), r.PathValue("id"), r.PathValue("pid"), muted); err != nil {
			a.simFailed(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// share has a person present their screen (sharing true: 200 with the
// session, new, taken over from another presenter or changed) or stop
// (204).
func (a *API) share(sharing bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := a.Sim.ShareInGroup(r.Context(), r.PathValue("id"), r.PathValue("pid"), sharing)
		switch {
		case err != nil:
			a.simFailed(w, err)
		case sharing:
			writeJSON(w, http.StatusOK, contentSharingView(s))
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}
}

func (a *API) simFailed(w http.ResponseWriter, err error) {
	var invalid *call.InvalidError
	switch {
	case errors.Is(err, control.ErrNoSuchGroup):
		writeError(w, http.StatusNotFound, "notFound", "No such meeting or group call.")
	case errors.Is(err, call.ErrNoSuchMember):
		writeError(w, http.StatusNotFound, "notFound", "No such participant.")
	case errors.Is(err, call.ErrGroupEnded):
		writeError(w, http.StatusConflict, "conflict", "The meeting or group call has ended.")
	case errors.Is(err, call.ErrNotSharing):
		writeError(w, http.StatusConflict, "conflict", "The participant is not sharing their screen.")
	case errors.Is(err, call.ErrGroupFull):
		writeError(w, http.StatusConflict, "conflict", "The meeting or group call is full: it has "+strconv.Itoa(call.MaxGroupSize)+" participants.")
	case errors.As(err, &invalid):
		writeError(w, http.StatusBadRequest, "badRequest", invalid.Msg)
	default:
		a.Log.Error("simulator", "err", err)
		writeError(w, http.StatusInternalServerError, "generalException", "The simulator failed: "+err.Error())
	}
}
