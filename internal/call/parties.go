package call

import "time"

// IdentityKind names the slot of Graph's (communications) identity set that an
// identity occupies: who or what a party is.
type IdentityKind string

const (
	User                IdentityKind = "user"
	Phone               IdentityKind = "phone"
	Application         IdentityKind = "application"
	ApplicationInstance IdentityKind = "applicationInstance"
	Guest               IdentityKind = "guest"
	Device              IdentityKind = "device"
	Encrypted           IdentityKind = "encrypted"
	OnPremises          IdentityKind = "onPremises"
	AssertedIdentity    IdentityKind = "assertedIdentity"
	ACSUser             IdentityKind = "azureCommunicationServicesUser"
)

// Identity is one party: a user, a phone number, an application.
type Identity struct {
	Kind        IdentityKind `json:",omitzero"`
	ID          string       `json:",omitzero"`
	DisplayName string       `json:",omitzero"`
	TenantID    string       `json:",omitzero"`
}

// Participant is a party in a call as the caller described it: the source or
// a target.
type Participant struct {
	Identity      Identity `json:",omitzero"`
	ParticipantID string   `json:",omitzero"`
	EndpointType  string   `json:",omitzero"`
	LanguageID    string   `json:",omitzero"`
	Region        string   `json:",omitzero"`
	// ReplacesCallID, on an invitee, is the application's peer-to-peer call
	// with them that the invitation replaces: it ends when they join.
	ReplacesCallID string `json:",omitzero"`
}

// Modality is a kind of media a call carries; the values are Graph's.
type Modality string

const (
	Audio                   Modality = "audio"
	Video                   Modality = "video"
	VideoBasedScreenSharing Modality = "videoBasedScreenSharing"
	Data                    Modality = "data"
)

// Valid reports whether m is a modality Graph knows.
func (m Modality) Valid() bool {
	switch m {
	case Audio, Video, VideoBasedScreenSharing, Data:
		return true
	}
	return false
}

// Hosting says who handles a call's media.
type Hosting string

const (
	ServiceHosted Hosting = "serviceHosted"
	AppHosted     Hosting = "appHosted"
)

// Media is the call's media configuration.
type Media struct {
	Hosting Hosting `json:",omitzero"`
	// Blob is the app-hosted media session configuration, opaque here.
	Blob string `json:",omitzero"`
	// PreFetch are prompts the service fetches when the call is created,
	// so that they play at once later.
	PreFetch []string `json:",omitzero"`
}

// Options are the optional features a bot asks for when it places a call.
type Options struct {
	HideBotAfterEscalation      bool `json:",omitzero"`
	ContentSharingNotifications bool `json:",omitzero"`
	DeltaRoster                 bool `json:",omitzero"`
	InteractiveRoster           bool `json:",omitzero"`
}

// Result is why something ended, as Graph's resultInfo: a code in the spirit
// of HTTP status codes, a subcode that adds detail, and a message.
type Result struct {
	Code    int    `json:",omitzero"`
	Subcode int    `json:",omitzero"`
	Message string `json:",omitzero"`
}

// End reasons. Codes and subcodes are Graph's documented values.
var (
	// EndedByApplication is the result of DELETE on the call: the
	// application hung up its own call or leg.
	EndedByApplication = Result{Code: 0, Subcode: 0, Message: "The call was ended by the application."}
	// KeepAliveExpired ends a call the application stopped keeping alive.
	KeepAliveExpired = Result{Code: 408, Subcode: 8537, Message: "The call was inactive: no keepAlive was received in time."}
	// RemovedByParticipant ends a leg another participant removed.
	RemovedByParticipant = Result{Code: 200, Subcode: 5000, Message: "The call was removed from the conversation by another participant."}
	// ConversationEnded ends the legs of a meeting that was ended.
	ConversationEnded = Result{Code: 200, Subcode: 5001, Message: "The conversation has ended."}
	// AllOthersLeft ends the legs left in a group call nobody else is in.
	AllOthersLeft = Result{Code: 200, Subcode: 5002, Message: "All other participants left the conversation."}
	// MovedToGroupCall ends a peer-to-peer call whose participant was
	// invited into a group call in its place (replacesCallId).
	MovedToGroupCall = Result{Code: 0, Subcode: 0, Message: "The call was replaced: its participant joined a group call by an invitation with replacesCallId."}
	// ApplicationRemoved ends the calls of an application removed from the
	// tenant: the code the service answers an application without the
	// permission for the API.
	ApplicationRemoved = Result{Code: 403, Subcode: 7504, Message: "The call was ended: its application was removed from the tenant."}
)

// MeetingNotFound ends a call that tried to join a meeting it could not:
// Graph's "cannot route the call", with the reason.
func MeetingNotFound(why string) Result {
	return Result{Code: 480, Subcode: 10134, Message: "The call could not be routed to the meeting: " + why + "."}
}

// ServiceEndReasons are the ends the service itself gives a call (not the
// application, not the other party), from Graph's end-reason table: what
// a test picks to drop a call as the real service would.
var ServiceEndReasons = []Result{
	{Code: 410, Subcode: 301005, Message: "The call was dropped: media connectivity failure."},
	{Code: 500, Subcode: 1005, Message: "The call was dropped: connectivity error with the bot's media."},
	KeepAliveExpired,
	{Code: 408, Subcode: 10057, Message: "The call was dropped: no signalling from the callee's endpoints."},
	{Code: 480, Subcode: 10076, Message: "The call was dropped: the callee is unreachable."},
	ConversationEnded,
}

// ServiceEndReason is the service's end reason with the code and subcode
// (0, 0: the default, a media connectivity failure).
func ServiceEndReason(code, subcode int) (Result, bool) {
	if code == 0 && subcode == 0 {
		return ServiceEndReasons[0], true
	}
	for _, r := range ServiceEndReasons {
		if r.Code == code && r.Subcode == subcode {
			return r, true
		}
	}
	return Result{}, false
}

// DropByService ends a live call as the service does on its own: the
// application hears terminating, then terminated with the reason.
func (c *Call) DropByService(now time.Time, reason Result, t Timing) ([]Event, error) {
	if !c.State.Live() {
		return nil, ErrNotFound
	}
	if c.Remote != nil {
		c.setOutcome(DroppedByService, reason.Message, nil)
	}
	events, err := c.HangUp(now, reason, t)
	return append(events, c.Advance(now, t)...), err
}
