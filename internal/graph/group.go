package graph

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/callplane/callplane/internal/call"
)

// Type names of group calls' wire types.
const (
	TypeParticipant                 = typePrefix + "participant"
	TypeMediaStream                 = typePrefix + "mediaStream"
	TypeChatInfo                    = typePrefix + "chatInfo"
	TypeOrganizerMeetingInfo        = typePrefix + "organizerMeetingInfo"
	TypeJoinMeetingIDMeetingInfo    = typePrefix + "joinMeetingIdMeetingInfo"
	TypeTokenMeetingInfo            = typePrefix + "tokenMeetingInfo"
	TypeMuteParticipantOperation    = typePrefix + "muteParticipantOperation"
	TypeUnmuteParticipantOperation  = typePrefix + "unmuteParticipantOperation"
	TypeInviteParticipantsOperation = typePrefix + "inviteParticipantsOperation"
)

// ChatInfo is a Teams thread's coordinates.
type ChatInfo struct {
	ODataType           string `json:"@odata.type,omitempty"`
	ThreadID            string `json:"threadId,omitempty"`
	MessageID           string `json:"messageId,omitempty"`
	ReplyChainMessageID string `json:"replyChainMessageId,omitempty"`
}

// MeetingInfo is abstract in Graph: @odata.type selects organizerMeetingInfo,
// joinMeetingIdMeetingInfo or tokenMeetingInfo.
type MeetingInfo struct {
	ODataType     string       `json:"@odata.type,omitempty"`
	Organizer     *IdentitySet `json:"organizer,omitempty"`
	JoinMeetingID string       `json:"joinMeetingId,omitempty"`
	Passcode      *string      `json:"passcode,omitempty"`
	Token         string       `json:"token,omitempty"`
}

// Participant is Graph's participant entity.
type Participant struct {
	ODataType            string           `json:"@odata.type,omitempty"`
	ID                   string           `json:"id"`
	Info                 *ParticipantInfo `json:"info"`
	IsMuted              bool             `json:"isMuted"`
	IsInLobby            bool             `json:"isInLobby"`
	MediaStreams         []MediaStream    `json:"mediaStreams"`
	RosterSequenceNumber int64            `json:"rosterSequenceNumber"`
	RemovedState         *RemovedState    `json:"removedState,omitempty"`
	RecordingInfo        *RecordingInfo   `json:"recordingInfo,omitempty"`
	// Metadata is the blob a participant carries: a large gallery view's
	// paging (audienceView).
	Metadata string `json:"metadata,omitempty"`
}

// TypeRecordingInfo is Graph's recordingInfo.
const TypeRecordingInfo = typePrefix + "recordingInfo"

// RecordingInfo is a participant's recording status.
type RecordingInfo struct {
	ODataType       string `json:"@odata.type,omitempty"`
	RecordingStatus string `json:"recordingStatus"`
}

// MediaStream is one stream a participant sends or receives.
type MediaStream struct {
	ODataType   string `json:"@odata.type,omitempty"`
	MediaType   string `json:"mediaType"`
	Label       string `json:"label,omitempty"`
	SourceID    string `json:"sourceId"`
	Direction   string `json:"direction"`
	ServerMuted bool   `json:"serverMuted"`
}

// RemovedState says why a participant left the roster.
type RemovedState struct {
	Reason string `json:"reason"`
}

// ParticipantList is a collection response of participants.
type ParticipantList = Collection[Participant]

// OperationList is the body of GET /communications/calls/{id}/operations.
type OperationList = Collection[Operation]

// Operation is a commsOperation and its subtypes' properties.
type Operation struct {
	ODataContext  string                      `json:"@odata.context,omitempty"`
	ODataType     string                      `json:"@odata.type"`
	ODataID       string                      `json:"@odata.id,omitempty"`
	ID            string                      `json:"id"`
	Status        string                      `json:"status"`
	ClientContext string                      `json:"clientContext,omitempty"`
	ResultInfo    *ResultInfo                 `json:"resultInfo,omitempty"`
	Participants  []InvitationParticipantInfo `json:"participants,omitempty"`
	// A recordOperation's recording: empty strings, not absent, when it
	// captured nothing, as Graph sends a cancelled one.
	RecordingLocation    *string `json:"recordingLocation,omitempty"`
	RecordingAccessToken *string `json:"recordingAccessToken,omitempty"`
	// CompletionReason is sendDtmfTonesOperation's, and on recordOperation
	// an open property Graph sends (operationCanceled, stopToneDetected…).
	CompletionReason string `json:"completionReason,omitempty"`
}

// ActionBody is the body of an action on a call or participant: mute,
// unmute, participants/invite.
type ActionBody struct {
	ClientContext string                      `json:"clientContext"`
	Participants  []InvitationParticipantInfo `json:"participants"`
}

// Invitees reads an invitation's participants.
func (b *ActionBody) Invitees() ([]call.Participant, error) {
	if len(b.Participants) == 0 {
		return nil, badRequest("participants is required: whom to invite")
	}
	var out []call.Participant
	for i, p := range b.Participants {
		id, err := p.Identity.identity(fmt.Sprintf("participants[%d].identity", i))
		if err != nil {
			return nil, err
		}
		if id.Kind != call.User && id.Kind != call.Phone {
			return nil, badRequest("participants[%d]: callplane invites simulated people (identity.user or identity.phone)", i)
		}
		if id.ID == "" {
			return nil, badRequest("participants[%d].identity.%s.id is required", i, id.Kind)
		}
		out = append(out, call.Participant{Identity: id, ReplacesCallID: NormalizeID(p.ReplacesCallID)})
		if p.ReplacesCallID != "" {
			// Graph honours one participant when one replaces a call; the
			// others are ignored.
			return out[len(out)-1:], nil
		}
	}
	return out, nil
}

// PersonOf reads a simulated person from an identity set: a user or a
// phone number, with an id.
func PersonOf(s *IdentitySet) (call.Identity, error) {
	id, err := s.identity("identity")
	if err != nil {
		return id, err
	}
	if id.Kind != call.User && id.Kind != call.Phone {
		return id, badRequest("a simulated person is a user or a phone number, not %s", id.Kind)
	}
	if id.ID == "" {
		return id, badRequest("the %s needs an id", id.Kind)
	}
	return id, nil
}

// joinInfo reads a create-call body's chatInfo and meetingInfo.
func (c *Call) joinInfo() (*call.JoinInfo, error) {
	if c.MeetingInfo == nil {
		if c.ChatInfo != nil {
			return nil, badRequest("chatInfo needs a meetingInfo (an organizerMeetingInfo) to join a meeting")
		}
		return nil, nil
	}
	j := &call.JoinInfo{}
	if c.ChatInfo != nil {
		j.Chat = call.ChatInfo{ThreadID: c.ChatInfo.ThreadID, MessageID: c.ChatInfo.MessageID, ReplyChainMessageID: c.ChatInfo.ReplyChainMessageID}
	}
	mi := c.MeetingInfo
	switch mi.ODataType {
	case TypeOrganizerMeetingInfo:
		organizer, err := mi.Organizer.identity("meetingInfo.organizer")
		if err != nil {
			return nil, err
		}
		j.Kind, j.Organizer = call.ByOrganizer, organizer
	case TypeJoinMeetingIDMeetingInfo:
		j.Kind, j.JoinMeetingID = call.ByJoinMeetingID, mi.JoinMeetingID
		if mi.Passcode != nil {
			j.Passcode = *mi.Passcode
		}
	case TypeTokenMeetingInfo:
		j.Kind, j.Token = call.ByToken, mi.Token
	case "":
		return nil, badRequest("meetingInfo needs an @odata.type: %s, %s or %s", TypeOrganizerMeetingInfo, TypeJoinMeetingIDMeetingInfo, TypeTokenMeetingInfo)
	default:
		return nil, badRequest("meetingInfo: unknown @odata.type %q", mi.ODataType)
	}
	return j, nil
}

// renderJoin puts a meeting leg's join information back on the call.
func renderJoin(g *Call, j *call.JoinInfo) {
	if j == nil {
		return
	}
	if j.Chat != (call.ChatInfo{}) {
		g.ChatInfo = &ChatInfo{ThreadID: j.Chat.ThreadID, MessageID: j.Chat.MessageID, ReplyChainMessageID: j.Chat.ReplyChainMessageID}
	}
	switch j.Kind {
	case call.ByOrganizer:
		g.MeetingInfo = &MeetingInfo{ODataType: TypeOrganizerMeetingInfo, Organizer: identitySet(j.Organizer)}
	case call.ByJoinMeetingID:
		g.MeetingInfo = &MeetingInfo{ODataType: TypeJoinMeetingIDMeetingInfo, JoinMeetingID: j.JoinMeetingID, Passcode: passcodeOf(j.Passcode)}
	case call.ByToken:
		g.MeetingInfo = &MeetingInfo{ODataType: TypeTokenMeetingInfo, Token: j.Token}
	}
}

// MeetingJoinInfo is how bots join a simulated meeting, in the shapes a
// create-call body takes them.
type MeetingJoinInfo struct {
	ChatInfo                 *ChatInfo    `json:"chatInfo"`
	OrganizerMeetingInfo     *MeetingInfo `json:"organizerMeetingInfo"`
	JoinMeetingIDMeetingInfo *MeetingInfo `json:"joinMeetingIdMeetingInfo"`
	TokenMeetingInfo         *MeetingInfo `json:"tokenMeetingInfo"`
	JoinWebURL               string       `json:"joinWebUrl"`
}

// passcodeOf is a passcode as Graph writes it: null when there is none.
func passcodeOf(p string) *string {
	if p == "" {
		return nil
	}
	return &p
}

// JoinInfoOf renders a meeting's join information.
func JoinInfoOf(m *call.Meeting) MeetingJoinInfo {
	context := fmt.Sprintf(`{"Tid":"%s","Oid":"%s"}`, m.Organizer.TenantID, m.Organizer.ID)
	return MeetingJoinInfo{
		ChatInfo:                 &ChatInfo{ODataType: TypeChatInfo, ThreadID: m.ThreadID, MessageID: m.MessageID},
		OrganizerMeetingInfo:     &MeetingInfo{ODataType: TypeOrganizerMeetingInfo, Organizer: identitySet(m.Organizer)},
		JoinMeetingIDMeetingInfo: &MeetingInfo{ODataType: TypeJoinMeetingIDMeetingInfo, JoinMeetingID: m.JoinMeetingID, Passcode: passcodeOf(m.Passcode)},
		TokenMeetingInfo:         &MeetingInfo{ODataType: TypeTokenMeetingInfo, Token: m.Token},
		JoinWebURL: "https://teams.microsoft.com/l/meetup-join/" + urlEscape(m.ThreadID) + "/" + m.MessageID +
			"?context=" + urlEscape(context),
	}
}

// urlEscape escapes as Teams join links do (lowercase hex).
func urlEscape(s string) string {
	var b strings.Builder
	for _, r := range []byte(s) {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_', r == '.', r == '~':
			b.WriteByte(r)
		default:
			fmt.Fprintf(&b, "%%%02x", r)
		}
	}
	return b.String()
}

// ParticipantOf renders a roster member.
func ParticipantOf(m call.Member) Participant {
	if m.GalleryOf != "" {
		return largeGalleryOf(m)
	}
	p := Participant{
		ODataType: TypeParticipant,
		ID:        m.ParticipantID,
		Info: &ParticipantInfo{
			ODataType:     TypeParticipantInfo,
			Identity:      identitySet(m.Identity),
			ParticipantID: m.ParticipantID,
		},
		IsMuted: m.Muted,
		MediaStreams: []MediaStream{{
			ODataType:   TypeMediaStream,
			MediaType:   string(call.Audio),
			Label:       "main-audio",
			SourceID:    "1",
			Direction:   "sendReceive",
			ServerMuted: m.Muted,
		}},
		RosterSequenceNumber: m.Seq,
	}
	if m.Sharing {
		// What Graph's changeScreenSharingRole page shows of a sharer.
		p.MediaStreams = append(p.MediaStreams, MediaStream{
			ODataType: TypeMediaStream,
			MediaType: "videoBasedScreenSharing",
			Label:     "applicationsharing-video",
			SourceID:  "2",
			Direction: "sendOnly",
		})
	}
	if m.Recording != "" {
		p.RecordingInfo = &RecordingInfo{ODataType: TypeRecordingInfo, RecordingStatus: m.Recording}
	}
	return p
}

// largeGalleryOf renders a leg's large gallery view as Graph's "Identify
// large gallery view participants in a roster" shows it: an application of
// type LargeGallery-V2 that receives audio and sends and receives video,
// with its first page, active, in its metadata.
func largeGalleryOf(m call.Member) Participant {
	set := &IdentitySet{ODataType: TypeIdentitySet, Application: &Identity{ID: m.Identity.ID, ApplicationType: "LargeGallery-V2"}}
	metadata, _ := json.Marshal(map[string]any{
		"__platform":   map[string]any{"ui": map[string]any{"hidden": true}},
		"audienceView": map[string]any{"id": m.Identity.ID + "/1", "page": 1, "status": "active", "type": "lg", "aspectRatio": "widescreen"},
	})
	return Participant{
		ODataType: TypeParticipant,
		ID:        m.ParticipantID,
		Info:      &ParticipantInfo{ODataType: TypeParticipantInfo, Identity: set, ParticipantID: m.ParticipantID},
		MediaStreams: []MediaStream{
			{ODataType: TypeMediaStream, MediaType: string(call.Audio), Label: "main-audio", SourceID: "1", Direction: "receiveOnly"},
			{ODataType: TypeMediaStream, MediaType: string(call.Video), Label: "main-video", SourceID: "2", Direction: "sendReceive"},
		},
		RosterSequenceNumber: m.Seq,
		Metadata:             string(metadata),
	}
}

// ScreenSharingRoleBody is the body of changeScreenSharingRole.
type ScreenSharingRoleBody struct {
	Role string `json:"role"`
}

// removedReason is the removedState.reason of participants who left.
const removedReason = "left"

// ParticipantsPath is the resource URL of a call's roster.
func ParticipantsPath(callID string) string { return CallPath(callID) + "/participants" }

// OperationPath is the resource URL of a call's operation.
func OperationPath(callID, opID string) string { return CallPath(callID) + "/operations/" + opID }

// RosterNotification renders a roster update for one leg: the whole roster,
// or (delta) only the members that changed, the removed ones with
// removedState.
func RosterNotification(legID string, members, removed []call.Member) CommsNotifications {
	data := make([]Participant, 0, len(members)+len(removed))
	for _, m := range members {
		data = append(data, ParticipantOf(m))
	}
	for _, m := range removed {
		p := ParticipantOf(m)
		p.RemovedState = &RemovedState{Reason: removedReason}
		data = append(data, p)
	}
	return single(call.Updated, ParticipantsPath(legID), data)
}

// operationStatus spells statuses as Graph's CSDL does. Graph's
// documentation shows lowercase ("completed"), but the Graph SDKs parse only
// the CSDL's member names, and a status they cannot parse is silently lost.
var operationStatus = map[call.OperationStatus]string{
	call.Running:   "Running",
	call.Completed: "Completed",
	call.Failed:    "Failed",
}

// OperationOf renders an operation of a call.
func OperationOf(op call.Operation) Operation {
	o := Operation{
		ODataType:     typePrefix + string(op.Type) + "Operation",
		ID:            op.ID,
		Status:        operationStatus[op.Status],
		ClientContext: op.ClientContext,
		ResultInfo:    resultInfo(op.Result),
	}
	for _, p := range op.Invitees {
		o.Participants = append(o.Participants, invitation(p))
	}
	o.CompletionReason = op.CompletionReason
	switch {
	case op.Recording != nil:
		location, token := op.Recording.Location, op.Recording.Token
		o.RecordingLocation, o.RecordingAccessToken = &location, &token
	case op.RecordingCleared:
		empty := ""
		o.RecordingLocation, o.RecordingAccessToken = &empty, &empty
	}
	return o
}

// OperationNotification renders a finished operation: a deleted
// notification on the operation's resource URL.
func OperationNotification(callID string, op call.Operation) CommsNotifications {
	o := OperationOf(op)
	o.ODataID = OperationPath(callID, op.ID)
	return single(call.Deleted, OperationPath(callID, op.ID), o)
}
