package call

import "fmt"

// MeetingInfoKind says how a bot names the meeting it joins: Graph's three
// meetingInfo subtypes.
type MeetingInfoKind string

const (
	// ByOrganizer pairs chatInfo (the meeting's thread) with its organizer.
	ByOrganizer     MeetingInfoKind = "organizer"
	ByJoinMeetingID MeetingInfoKind = "joinMeetingId"
	ByToken         MeetingInfoKind = "token"
)

// ChatInfo is a Teams chat thread's coordinates.
type ChatInfo struct {
	ThreadID            string `json:",omitzero"`
	MessageID           string `json:",omitzero"`
	ReplyChainMessageID string `json:",omitzero"`
}

// JoinInfo is how a bot asks to join a meeting.
type JoinInfo struct {
	Chat          ChatInfo        `json:",omitzero"`
	Kind          MeetingInfoKind `json:",omitzero"`
	Organizer     Identity        `json:",omitzero"`
	JoinMeetingID string          `json:",omitzero"`
	Passcode      string          `json:",omitzero"`
	Token         string          `json:",omitzero"`
}

func (j *JoinInfo) validate() error {
	switch j.Kind {
	case ByOrganizer:
		if j.Chat.ThreadID == "" {
			return invalid("joining a meeting with organizerMeetingInfo needs chatInfo.threadId")
		}
		if j.Organizer.ID == "" {
			return invalid("meetingInfo.organizer names no organizer id")
		}
	case ByJoinMeetingID:
		if j.JoinMeetingID == "" {
			return invalid("joinMeetingIdMeetingInfo.joinMeetingId is required")
		}
	case ByToken:
		if j.Token == "" {
			return invalid("tokenMeetingInfo.token is required")
		}
	default:
		return invalid("meetingInfo is required to join a meeting")
	}
	return nil
}

// Key is what finds the meeting.
func (j *JoinInfo) Key() MeetingKey {
	switch j.Kind {
	case ByJoinMeetingID:
		return MeetingKey{JoinMeetingID: j.JoinMeetingID}
	case ByToken:
		return MeetingKey{Token: j.Token}
	}
	return MeetingKey{ThreadID: j.Chat.ThreadID}
}

// Admits checks the join against the meeting it found: the organizer must
// be the meeting's, the passcode its passcode. It returns why the join fails,
// or nil.
func (j *JoinInfo) Admits(m *Meeting) *Result {
	switch {
	case j.Kind == ByOrganizer && j.Organizer.ID != m.Organizer.ID:
		r := MeetingNotFound(fmt.Sprintf("the meeting of thread %s is not organized by %s", j.Chat.ThreadID, j.Organizer.ID))
		return &r
	case j.Kind == ByJoinMeetingID && m.Passcode != "" && j.Passcode != m.Passcode:
		r := MeetingNotFound(fmt.Sprintf("the passcode for meeting %s is wrong", j.JoinMeetingID))
		return &r
	}
	return nil
}

// Describe names the meeting the way the join named it, for messages.
func (j *JoinInfo) Describe() string {
	switch j.Kind {
	case ByJoinMeetingID:
		return "join meeting id " + j.JoinMeetingID
	case ByToken:
		return "the join token given"
	}
	return "thread " + j.Chat.ThreadID
}
