package admin

import (
	"context"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/store"
)

// Timeline is the body of GET /callplane/calls/{id}/timeline: everything
// callplane saw of one call, oldest first: the bot's requests about it, the
// notifications it was sent and how it acknowledged them, and what the
// simulated person did.
type Timeline struct {
	CallID string          `json:"callId"`
	Value  []TimelineEntry `json:"value"`
}

// Kinds of timeline entries.
const (
	// EntryRequest is a request of the bot's: a Graph request naming the
	// call (or creating it), or the download of one of its recordings.
	EntryRequest = "request"
	// EntryNotification is a notification callplane sent the bot about the
	// call, with how its delivery went.
	EntryNotification = "notification"
	// EntryPerson is what the simulated person on the call did.
	EntryPerson = "person"
)

// TimelineEntry is one thing that happened on a call. Which fields are set
// depends on Kind.
type TimelineEntry struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`

	// A request. Path is the path after the Graph version
	// ("/communications/calls/{id}/playPrompt") or the recording's
	// ("/media/recordings/{id}/{op}"); Action names it: create, get,
	// delete, an action's name (answer, playPrompt, transfer, ...),
	// participants, participant, operation, deleteParticipant, or
	// downloadRecording.
	Method      string  `json:"method,omitempty"`
	Path        string  `json:"path,omitempty"`
	Action      string  `json:"action,omitempty"`
	Status      int     `json:"status,omitempty"`
	OperationID string  `json:"operationId,omitempty"`
	DurationMs  float64 `json:"durationMs,omitempty"`

	// A notification: its change, resource and what its resourceData
	// says (the call's state and resultInfo, a tone pressed, an operation's
	// status), then its delivery: pending, delivered, failed or dropped
	// (by a fault rule), the attempts, the bot's last answer and when it
	// came, and how long that attempt took.
	MessageID       string            `json:"messageId,omitempty"`
	ChangeType      string            `json:"changeType,omitempty"`
	ResourceURL     string            `json:"resourceUrl,omitempty"`
	State           string            `json:"state,omitempty"`
	ResultInfo      *graph.ResultInfo `json:"resultInfo,omitempty"`
	Tone            string            `json:"tone,omitempty"`
	OperationStatus string            `json:"operationStatus,omitempty"`
	Delivery        string            `json:"delivery,omitempty"`
	Attempts        int               `json:"attempts,omitempty"`
	AckStatus       int               `json:"ackStatus,omitempty"`
	AckedAt         *time.Time        `json:"ackedAt,omitempty"`
	AckMs           float64           `json:"ackMs,omitempty"`
	LastError       string            `json:"lastError,omitempty"`

	// What the person did: Did is pressed (Keys), spoke (Seconds), or
	// hungUp.
	Did     string  `json:"did,omitempty"`
	Keys    string  `json:"keys,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
}

// maxTimelineNotifications bounds the notifications one timeline shows.
const maxTimelineNotifications = 5000

// timeline answers GET /callplane/calls/{id}/timeline.
func (a *API) timeline(w http.ResponseWriter, r *http.Request) {
	id := graph.NormalizeID(r.PathValue("id"))
	c, err := a.World.Call(r.Context(), id)
	if err != nil {
		a.worldFailed(w, err)
		return
	}
	var entries []TimelineEntry
	if a.Requests != nil {
		requests, err := a.Requests(r.Context(), id)
		if err != nil {
			a.Log.Error("timeline: requests", "call", id, "err", err)
			writeError(w, http.StatusInternalServerError, "generalException", "Reading the call's requests failed.")
			return
		}
		for _, req := range requests {
			entries = append(entries, requestEntry(req))
		}
	}
	notifications, err := a.callNotifications(r.Context(), id)
	if err != nil {
		a.Log.Error("timeline: notifications", "call", id, "err", err)
		writeError(w, http.StatusInternalServerError, "generalException", "Reading the call's notifications failed.")
		return
	}
	for _, act := range c.RemoteActions {
		entries = append(entries, TimelineEntry{At: act.At, Kind: EntryPerson, Did: act.Did, Keys: act.Keys, Seconds: act.Length.Seconds()})
	}
	for _, n := range notifications {
		entries = append(entries, notificationEntry(n))
	}
	// Oldest first; at the same instant, in the order added: requests,
	// the person, then the notifications they caused.
	slices.SortStableFunc(entries, func(x, y TimelineEntry) int { return x.At.Compare(y.At) })
	writeJSON(w, http.StatusOK, Timeline{CallID: id, Value: entries})
}

// callNotifications lists a call's notifications, oldest first.
func (a *API) callNotifications(ctx context.Context, callID string) ([]store.Notification, error) {
	var all []store.Notification
	f := store.Filter{CallID: callID, Limit: maxPage}
	for len(all) < maxTimelineNotifications {
		page, err := a.Outbox.Notifications(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			break
		}
		f.Before = page[len(page)-1].Seq
	}
	slices.Reverse(all)
	return all, nil
}

func requestEntry(r store.Request) TimelineEntry {
	return TimelineEntry{
		At: r.At, Kind: EntryRequest, Method: r.Method, Path: r.Path, Action: r.Action, Status: r.Status,
		OperationID: r.OperationID, DurationMs: milliseconds(r.Duration),
	}
}

func notificationEntry(n store.Notification) TimelineEntry {
	e := TimelineEntry{
		At: n.CreatedAt, Kind: EntryNotification, MessageID: n.MessageID, Delivery: string(n.Status),
		Attempts: n.Attempts, AckStatus: n.LastStatusCode, LastError: n.LastError,
	}
	if n.Status == store.Delivered {
		e.AckedAt = optionalTime(n.LastAttemptAt)
		e.AckMs = milliseconds(n.LastDuration)
	}
	if sum, ok := graph.SummarizeNotification(n.Payload); ok {
		e.ChangeType, e.ResourceURL = sum.ChangeType, sum.ResourceURL
		e.State, e.OperationStatus, e.ResultInfo, e.Tone = sum.State, sum.Status, sum.ResultInfo, sum.Tone
	}
	return e
}

func milliseconds(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}
