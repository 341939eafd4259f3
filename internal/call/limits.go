package call

import (
	"fmt"
	"slices"
	"unicode/utf8"
)

// Size limits on what a call keeps: every string a bot sends is stored with
// its call and sent back in notifications, so none may be unbounded. Graph
// documents clientContext's (256); the others are callplane's, generous
// for real values (GUIDs, names, E.164 numbers, Teams thread ids). The
// README lists them.
const (
	MaxClientContext = 256
	MaxSubject       = 1024
	MaxDisplayName   = 256
	MaxID            = 256
	MaxShortField    = 64 // languageId, region, endpointType, joinMeetingId, passcode
	MaxThreadField   = 512
	MaxMeetingToken  = 4096
	MaxMediaBlob     = 16 << 10
)

// limited is one string and its limit, named as the request names it.
type limited struct {
	field string
	value string
	max   int
}

func checkLimits(fields ...limited) error {
	for _, f := range fields {
		if utf8.RuneCountInString(f.value) > f.max {
			return invalid("%s is limited to %d characters", f.field, f.max)
		}
	}
	return nil
}

func (id Identity) limits(where string) []limited {
	return []limited{
		{where + ".id", id.ID, MaxID},
		{where + ".displayName", id.DisplayName, MaxDisplayName},
		{where + ".tenantId", id.TenantID, MaxID},
	}
}

func (p Participant) limits(where string) []limited {
	return append(p.Identity.limits(where+".identity"),
		limited{where + ".participantId", p.ParticipantID, MaxID},
		limited{where + ".endpointType", p.EndpointType, MaxShortField},
		limited{where + ".languageId", p.LanguageID, MaxShortField},
		limited{where + ".region", p.Region, MaxShortField},
	)
}

// Check applies the size limits to an identity (a simulated person, say),
// named where in errors.
func (id Identity) Check(where string) error { return checkLimits(id.limits(where)...) }

// Check applies the size limits to a participant (an invitee, say).
func (p Participant) Check(where string) error { return checkLimits(p.limits(where)...) }

// checkSizes refuses a request with a field over its limit, or more
// modalities than there are.
func (req Request) checkSizes() error {
	fields := []limited{
		{"subject", req.Subject, MaxSubject},
		{"Scenario-Id", req.ScenarioID, MaxID},
		{"mediaConfig.blob", req.Media.Blob, MaxMediaBlob},
	}
	fields = append(fields, req.Source.limits("source")...)
	for i, t := range req.Targets {
		fields = append(fields, t.limits(fmt.Sprintf("targets[%d]", i))...)
	}
	if j := req.Join; j != nil {
		fields = append(fields,
			limited{"chatInfo.threadId", j.Chat.ThreadID, MaxThreadField},
			limited{"chatInfo.messageId", j.Chat.MessageID, MaxThreadField},
			limited{"chatInfo.replyChainMessageId", j.Chat.ReplyChainMessageID, MaxThreadField},
			limited{"meetingInfo.joinMeetingId", j.JoinMeetingID, MaxShortField},
			limited{"meetingInfo.passcode", j.Passcode, MaxShortField},
			limited{"meetingInfo.token", j.Token, MaxMeetingToken},
		)
		fields = append(fields, j.Organizer.limits("meetingInfo.organizer")...)
	}
	if len(req.Media.PreFetch) > MaxPrompts {
		return invalid("mediaConfig.preFetchMedia names at most %d prompts", MaxPrompts)
	}
	for i, uri := range req.Media.PreFetch {
		fields = append(fields, limited{fmt.Sprintf("mediaConfig.preFetchMedia[%d].uri", i), uri, MaxURLLength})
	}
	if err := checkLimits(fields...); err != nil {
		return err
	}
	seen := make([]Modality, 0, len(req.Modalities))
	for _, m := range req.Modalities {
		if slices.Contains(seen, m) {
			return invalid("requestedModalities names %q twice", string(m))
		}
		seen = append(seen, m)
	}
	return nil
}

// CheckMeeting applies the size limits to a simulated meeting.
func CheckMeeting(subject string, organizer Identity, people []Identity) error {
	fields := append([]limited{{"subject", subject, MaxSubject}}, organizer.limits("organizer")...)
	for i, p := range people {
		fields = append(fields, p.limits(fmt.Sprintf("participants[%d]", i))...)
	}
	if len(people) > MaxGroupSize {
		return ErrGroupFull
	}
	return checkLimits(fields...)
}
