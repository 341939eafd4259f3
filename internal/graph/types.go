// Package graph holds Microsoft Graph's wire format for the calls API: the
// JSON shapes of calls, notifications and errors, and their translation to and
// from the call domain. Nothing else in callplane knows what Graph's JSON
// looks like.
//
// Names and types follow Graph's v1.0 CSDL; tests check emitted bodies against
// it (package graphschema).
package graph

import (
	"encoding/json"
	"time"
)

// typePrefix starts every @odata.type value Graph emits.
const typePrefix = "#microsoft.graph."

// Type names used as @odata.type values.
const (
	TypeCall                      = typePrefix + "call"
	TypeCommsNotifications        = typePrefix + "commsNotifications"
	TypeCommsNotification         = typePrefix + "commsNotification"
	TypeResultInfo                = typePrefix + "resultInfo"
	TypeParticipantInfo           = typePrefix + "participantInfo"
	TypeInvitationParticipantInfo = typePrefix + "invitationParticipantInfo"
	TypeIdentitySet               = typePrefix + "identitySet"
	TypeCommsIdentitySet          = typePrefix + "communicationsIdentitySet"
	TypeIdentity                  = typePrefix + "identity"
	TypeUserIdentity              = typePrefix + "communicationsUserIdentity"
	TypeAppInstanceIdentity       = typePrefix + "communicationsApplicationInstanceIdentity"
	TypeServiceHostedMediaConfig  = typePrefix + "serviceHostedMediaConfig"
	TypeAppHostedMediaConfig      = typePrefix + "appHostedMediaConfig"
	TypeOutgoingCallOptions       = typePrefix + "outgoingCallOptions"
	TypeTranscriptionInfo         = typePrefix + "callTranscriptionInfo"
)

// TranscriptionInfo is Graph's callTranscriptionInfo.
type TranscriptionInfo struct {
	ODataType            string `json:"@odata.type,omitempty"`
	State                string `json:"state"`
	LastModifiedDateTime string `json:"lastModifiedDateTime,omitempty"`
}

// Call is Graph's call entity, as a request body, a response body and the
// resourceData of a notification. Empty fields are left out.
type Call struct {
	ODataContext string `json:"@odata.context,omitempty"`
	ODataType    string `json:"@odata.type,omitempty"`
	ODataID      string `json:"@odata.id,omitempty"`

	ID                  string                      `json:"id,omitempty"`
	State               string                      `json:"state,omitempty"`
	Direction           string                      `json:"direction,omitempty"`
	CallbackURI         string                      `json:"callbackUri,omitempty"`
	CallChainID         string                      `json:"callChainId,omitempty"`
	MyParticipantID     string                      `json:"myParticipantId,omitempty"`
	TenantID            string                      `json:"tenantId,omitempty"`
	Subject             string                      `json:"subject,omitempty"`
	Source              *ParticipantInfo            `json:"source,omitempty"`
	Targets             []InvitationParticipantInfo `json:"targets,omitempty"`
	RequestedModalities []string                    `json:"requestedModalities,omitempty"`
	MediaConfig         *MediaConfig                `json:"mediaConfig,omitempty"`
	CallOptions         *CallOptions                `json:"callOptions,omitempty"`
	ChatInfo            *ChatInfo                   `json:"chatInfo,omitempty"`
	MeetingInfo         *MeetingInfo                `json:"meetingInfo,omitempty"`
	ResultInfo          *ResultInfo                 `json:"resultInfo,omitempty"`
	IncomingContext     *IncomingContext            `json:"incomingContext,omitempty"`
	Transcription       *TranscriptionInfo          `json:"transcription,omitempty"`
	ToneInfo            *ToneInfo                   `json:"toneInfo,omitempty"`
	// TerminationReason and ReplacesContext are open properties Graph sends
	// at the end of a consultative transfer, and with its failure.
	TerminationReason string `json:"terminationReason,omitempty"`
	ReplacesContext   string `json:"replacesContext,omitempty"`
}

// Identity is Graph's identity (and its communications subtypes, whose only
// addition callplane uses is tenantId).
type Identity struct {
	ODataType   string `json:"@odata.type,omitempty"`
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	TenantID    string `json:"tenantId,omitempty"`
	// ApplicationType is an open property of identity: "LargeGallery-V2"
	// names a large gallery view in a roster, spelled as Graph sends it.
	ApplicationType string `json:"ApplicationType,omitempty"`
}

// IdentitySet is Graph's identitySet together with the slots its subtype
// communicationsIdentitySet adds.
type IdentitySet struct {
	ODataType                      string    `json:"@odata.type,omitempty"`
	Application                    *Identity `json:"application,omitempty"`
	Device                         *Identity `json:"device,omitempty"`
	User                           *Identity `json:"user,omitempty"`
	ApplicationInstance            *Identity `json:"applicationInstance,omitempty"`
	Phone                          *Identity `json:"phone,omitempty"`
	Guest                          *Identity `json:"guest,omitempty"`
	Encrypted                      *Identity `json:"encrypted,omitempty"`
	OnPremises                     *Identity `json:"onPremises,omitempty"`
	AssertedIdentity               *Identity `json:"assertedIdentity,omitempty"`
	AzureCommunicationServicesUser *Identity `json:"azureCommunicationServicesUser,omitempty"`
}

// ParticipantInfo describes a party of a call (the call's source).
type ParticipantInfo struct {
	ODataType     string       `json:"@odata.type,omitempty"`
	Identity      *IdentitySet `json:"identity,omitempty"`
	EndpointType  string       `json:"endpointType,omitempty"`
	CountryCode   string       `json:"countryCode,omitempty"`
	LanguageID    string       `json:"languageId,omitempty"`
	Region        string       `json:"region,omitempty"`
	ParticipantID string       `json:"participantId,omitempty"`
}

// InvitationParticipantInfo is a party being invited (a call's target).
type InvitationParticipantInfo struct {
	ODataType      string       `json:"@odata.type,omitempty"`
	Identity       *IdentitySet `json:"identity,omitempty"`
	ParticipantID  string       `json:"participantId,omitempty"`
	ReplacesCallID string       `json:"replacesCallId,omitempty"`
	Hidden         *bool        `json:"hidden,omitempty"`
}

// MediaConfig is abstract in Graph: @odata.type selects
// serviceHostedMediaConfig or appHostedMediaConfig.
type MediaConfig struct {
	ODataType string `json:"@odata.type,omitempty"`
	// Blob belongs to appHostedMediaConfig only, PreFetchMedia to
	// serviceHostedMediaConfig.
	Blob          string      `json:"blob,omitempty"`
	PreFetchMedia []MediaInfo `json:"preFetchMedia,omitempty"`
}

// CallOptions is Graph's callOptions, as outgoingCallOptions on create.
type CallOptions struct {
	ODataType                           string `json:"@odata.type,omitempty"`
	HideBotAfterEscalation              *bool  `json:"hideBotAfterEscalation,omitempty"`
	IsContentSharingNotificationEnabled *bool  `json:"isContentSharingNotificationEnabled,omitempty"`
	IsDeltaRosterEnabled                *bool  `json:"isDeltaRosterEnabled,omitempty"`
	IsInteractiveRosterEnabled          *bool  `json:"isInteractiveRosterEnabled,omitempty"`
}

// ResultInfo says why something ended. Code and subcode are numbers on the
// wire, always present.
type ResultInfo struct {
	ODataType string `json:"@odata.type,omitempty"`
	Code      int    `json:"code"`
	Subcode   int    `json:"subcode"`
	Message   string `json:"message,omitempty"`
}

// CommsNotifications is the body of every POST to a bot's callback URI.
type CommsNotifications struct {
	ODataType string              `json:"@odata.type"`
	Value     []CommsNotification `json:"value"`
}

// CommsNotification is one change. ResourceData is an entity or, for rosters,
// a collection of entities.
type CommsNotification struct {
	ODataType    string `json:"@odata.type"`
	ChangeType   string `json:"changeType"`
	ResourceURL  string `json:"resourceUrl"`
	ResourceData any    `json:"resourceData,omitempty"`
}

// Received is a commsNotifications body as a bot reads it: each change's
// resourceData kept raw, to be read as whatever the resource URL says it is
// (a call, an operation, a roster).
type Received struct {
	Value []struct {
		ChangeType   string          `json:"changeType"`
		ResourceURL  string          `json:"resourceUrl"`
		ResourceData json.RawMessage `json:"resourceData"`
	} `json:"value"`
}

// ChangeSummary is what a notification's first change says at a glance:
// the change, its resource, and of the resource data a call's state, an
// operation's status, their resultInfo, and a tone received.
type ChangeSummary struct {
	ChangeType  string
	ResourceURL string
	State       string
	Status      string
	ResultInfo  *ResultInfo
	Tone        string
}

// SummarizeNotification reads a commsNotifications body's first change;
// false when the body has none.
func SummarizeNotification(payload []byte) (ChangeSummary, bool) {
	var env Received
	if json.Unmarshal(payload, &env) != nil || len(env.Value) == 0 {
		return ChangeSummary{}, false
	}
	v := env.Value[0]
	sum := ChangeSummary{ChangeType: v.ChangeType, ResourceURL: v.ResourceURL}
	var data struct {
		State      string      `json:"state"`
		Status     string      `json:"status"`
		ResultInfo *ResultInfo `json:"resultInfo"`
		ToneInfo   *struct {
			Tone string `json:"tone"`
		} `json:"toneInfo"`
	}
	if json.Unmarshal(v.ResourceData, &data) == nil {
		sum.State, sum.Status, sum.ResultInfo = data.State, data.Status, data.ResultInfo
		if data.ToneInfo != nil {
			sum.Tone = data.ToneInfo.Tone
		}
	}
	return sum, true
}

// ErrorResponse is Graph's error body.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody carries a machine-readable code and a message for people.
type ErrorBody struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	InnerError InnerError `json:"innerError"`
}

// InnerError correlates an error with the request that caused it.
type InnerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id,omitempty"`
}

// errorDateLayout is how Graph writes innerError.date: UTC, no zone suffix.
const errorDateLayout = "2006-01-02T15:04:05"

// NewError builds an error body for a request.
func NewError(code, message, requestID, clientRequestID string, at time.Time) ErrorResponse {
	return ErrorResponse{Error: ErrorBody{
		Code:    code,
		Message: message,
		InnerError: InnerError{
			Date:            at.UTC().Format(errorDateLayout),
			RequestID:       requestID,
			ClientRequestID: clientRequestID,
		},
	}}
}
