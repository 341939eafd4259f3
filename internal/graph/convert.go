package graph

import (
	"fmt"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/call"
)

// RequestError is a request body that is not a valid Graph call: a missing
// or unknown @odata.type, an identity set without an identity.
type RequestError struct{ Msg string }

func (e *RequestError) Error() string { return e.Msg }

func badRequest(format string, args ...any) error {
	return &RequestError{Msg: fmt.Sprintf(format, args...)}
}

// CallPath is the path, relative to the service root, of a call resource:
// the resourceUrl of its notifications.
func CallPath(id string) string { return "/communications/calls/" + id }

// PlaceRequest reads a create-call body into the domain's request. @odata.type
// is optional except where it selects a derived type (mediaConfig).
func (c *Call) PlaceRequest(owner call.Owner, scenarioID string) (call.Request, error) {
	req := call.Request{
		Owner:       owner,
		CallbackURI: c.CallbackURI,
		Subject:     c.Subject,
		ScenarioID:  scenarioID,
	}
	join, err := c.joinInfo()
	if err != nil {
		return req, err
	}
	req.Join = join
	if c.Source != nil {
		p, err := c.Source.participant("source")
		if err != nil {
			return req, err
		}
		req.Source = p
	}
	for i, t := range c.Targets {
		id, err := t.Identity.identity(fmt.Sprintf("targets[%d].identity", i))
		if err != nil {
			return req, err
		}
		req.Targets = append(req.Targets, call.Participant{Identity: id, ParticipantID: t.ParticipantID})
	}
	for _, m := range c.RequestedModalities {
		req.Modalities = append(req.Modalities, call.Modality(m))
	}
	media, err := mediaOf(c.MediaConfig)
	if err != nil {
		return req, err
	}
	req.Media = media
	if o := c.CallOptions; o != nil {
		if o.ODataType != "" && o.ODataType != TypeOutgoingCallOptions {
			return req, badRequest("callOptions: a new call takes %s, not %q", TypeOutgoingCallOptions, o.ODataType)
		}
		req.Options = optionsOf(o)
	}
	return req, nil
}

// mediaOf reads a mediaConfig: @odata.type selects the derived type. None
// is the zero Media.
func mediaOf(m *MediaConfig) (call.Media, error) {
	if m == nil {
		return call.Media{}, nil
	}
	switch m.ODataType {
	case TypeServiceHostedMediaConfig:
		media := call.Media{Hosting: call.ServiceHosted}
		for _, p := range m.PreFetchMedia {
			media.PreFetch = append(media.PreFetch, p.URI)
		}
		return media, nil
	case TypeAppHostedMediaConfig:
		return call.Media{Hosting: call.AppHosted, Blob: m.Blob}, nil
	case "":
		return call.Media{}, badRequest("mediaConfig needs an @odata.type: %s or %s", TypeServiceHostedMediaConfig, TypeAppHostedMediaConfig)
	}
	return call.Media{}, badRequest("mediaConfig: unknown @odata.type %q", m.ODataType)
}

func optionsOf(o *CallOptions) call.Options {
	return call.Options{
		HideBotAfterEscalation:      isTrue(o.HideBotAfterEscalation),
		ContentSharingNotifications: isTrue(o.IsContentSharingNotificationEnabled),
		DeltaRoster:                 isTrue(o.IsDeltaRosterEnabled),
		InteractiveRoster:           isTrue(o.IsInteractiveRosterEnabled),
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

func (p *ParticipantInfo) participant(where string) (call.Participant, error) {
	id, err := p.Identity.identity(where + ".identity")
	if err != nil {
		return call.Participant{}, err
	}
	return call.Participant{
		Identity:      id,
		ParticipantID: p.ParticipantID,
		EndpointType:  p.EndpointType,
		LanguageID:    p.LanguageID,
		Region:        p.Region,
	}, nil
}

// identity picks the one identity an identity set names. Graph's sets may
// carry several slots; the most specific one (a phone over a user, an
// application instance over its application) says who the party is.
func (s *IdentitySet) identity(where string) (call.Identity, error) {
	if s == nil {
		return call.Identity{}, badRequest("%s is required", where)
	}
	for _, sl := range s.slots() {
		if id := *sl.id; id != nil {
			return call.Identity{Kind: sl.kind, ID: id.ID, DisplayName: id.DisplayName, TenantID: id.TenantID}, nil
		}
	}
	return call.Identity{}, badRequest("%s names no identity: set user, phone, application or applicationInstance", where)
}

type slot struct {
	kind call.IdentityKind
	id   **Identity
}

// slots lists the set's slots, most specific first.
func (s *IdentitySet) slots() []slot {
	return []slot{
		{call.Phone, &s.Phone},
		{call.ApplicationInstance, &s.ApplicationInstance},
		{call.Guest, &s.Guest},
		{call.Encrypted, &s.Encrypted},
		{call.OnPremises, &s.OnPremises},
		{call.AssertedIdentity, &s.AssertedIdentity},
		{call.ACSUser, &s.AzureCommunicationServicesUser},
		{call.User, &s.User},
		{call.Application, &s.Application},
		{call.Device, &s.Device},
	}
}

// IdentityOf reads the one identity an identity set names (where names the
// set in errors).
func IdentityOf(s *IdentitySet, where string) (call.Identity, error) { return s.identity(where) }

// IdentitySetOf renders an identity as an identity set.
func IdentitySetOf(id call.Identity) *IdentitySet { return identitySet(id) }

// identitySet renders one identity in the set type that can hold it: plain
// identitySet for users, applications and devices, communicationsIdentitySet
// for the rest, so the body stays valid against Graph's schema.
func identitySet(id call.Identity) *IdentitySet {
	gi := &Identity{ID: id.ID, DisplayName: id.DisplayName}
	if id.TenantID != "" {
		switch id.Kind {
		case call.User:
			gi.ODataType, gi.TenantID = TypeUserIdentity, id.TenantID
		case call.ApplicationInstance:
			gi.ODataType, gi.TenantID = TypeAppInstanceIdentity, id.TenantID
		}
	}
	set := &IdentitySet{ODataType: TypeCommsIdentitySet}
	for _, sl := range set.slots() {
		if sl.kind == id.Kind {
			*sl.id = gi
		}
	}
	if set.User != nil || set.Application != nil || set.Device != nil {
		set.ODataType = TypeIdentitySet
	}
	return set
}

// FromCall renders a call as Graph's full call entity.
func FromCall(c *call.Call) *Call {
	g := &Call{
		ODataType:       TypeCall,
		ID:              c.ID,
		State:           string(c.State),
		Direction:       string(c.Direction),
		CallbackURI:     c.CallbackURI,
		CallChainID:     c.ChainID,
		MyParticipantID: c.MyParticipantID,
		TenantID:        c.Owner.TenantID,
		Subject:         c.Subject,
		Source: &ParticipantInfo{
			ODataType:     TypeParticipantInfo,
			Identity:      identitySet(c.Source.Identity),
			EndpointType:  c.Source.EndpointType,
			LanguageID:    c.Source.LanguageID,
			Region:        c.Source.Region,
			ParticipantID: c.Source.ParticipantID,
		},
		ResultInfo: resultInfo(c.Result),
	}
	for _, t := range c.Targets {
		g.Targets = append(g.Targets, invitation(t))
	}
	for _, m := range c.Modalities {
		g.RequestedModalities = append(g.RequestedModalities, string(m))
	}
	switch c.Media.Hosting {
	case call.ServiceHosted:
		g.MediaConfig = &MediaConfig{ODataType: TypeServiceHostedMediaConfig}
		for _, uri := range c.Media.PreFetch {
			g.MediaConfig.PreFetchMedia = append(g.MediaConfig.PreFetchMedia, MediaInfo{ODataType: typePrefix + "mediaInfo", URI: uri})
		}
	case call.AppHosted:
		g.MediaConfig = &MediaConfig{ODataType: TypeAppHostedMediaConfig, Blob: c.Media.Blob}
	}
	renderJoin(g, c.Join)
	if c.IsGroup() {
		// Graph shows a group call's transcription state; nothing here
		// transcribes.
		g.Transcription = &TranscriptionInfo{ODataType: TypeTranscriptionInfo, State: "inactive", LastModifiedDateTime: c.CreatedAt.UTC().Format(time.RFC3339Nano)}
	}
	g.IncomingContext = incomingContext(c.Context)
	if o := c.Options; o != (call.Options{}) {
		optionsType := TypeOutgoingCallOptions
		if c.Direction == call.Inbound {
			optionsType = TypeIncomingCallOptions
		}
		g.CallOptions = &CallOptions{
			ODataType:                           optionsType,
			HideBotAfterEscalation:              &o.HideBotAfterEscalation,
			IsContentSharingNotificationEnabled: &o.ContentSharingNotifications,
			IsDeltaRosterEnabled:                &o.DeltaRoster,
			IsInteractiveRosterEnabled:          &o.InteractiveRoster,
		}
	}
	return g
}

// invitation renders a party being called or invited.
func invitation(p call.Participant) InvitationParticipantInfo {
	return InvitationParticipantInfo{
		ODataType:      TypeInvitationParticipantInfo,
		Identity:       identitySet(p.Identity),
		ParticipantID:  p.ParticipantID,
		ReplacesCallID: p.ReplacesCallID,
	}
}

func resultInfo(r *call.Result) *ResultInfo {
	if r == nil {
		return nil
	}
	return &ResultInfo{ODataType: TypeResultInfo, Code: r.Code, Subcode: r.Subcode, Message: r.Message}
}

// CallNotification renders one call event as the notification body a bot
// receives: the call's new state (and, once it ended, why) on the call's
// resource URL.
func CallNotification(c *call.Call, ev call.Event) CommsNotifications {
	path := CallPath(c.ID)
	var data *Call
	switch ev.Shape {
	case call.Bare:
		return single(ev.Change, path, &Call{ODataType: TypeCall, ODataID: path})
	case call.FullCall:
		data = FromCall(c)
		data.ODataID, data.State = path, string(ev.State)
	default:
		data = &Call{
			ODataType:       TypeCall,
			ODataID:         path,
			ID:              c.ID,
			State:           string(ev.State),
			Direction:       string(c.Direction),
			CallChainID:     c.ChainID,
			MyParticipantID: c.MyParticipantID,
		}
		// A meeting leg's state changes carry its chatInfo and
		// meetingInfo, as the service sends them.
		renderJoin(data, c.Join)
	}
	data.ResultInfo = resultInfo(ev.Result)
	data.ToneInfo = toneInfo(ev.Tone)
	data.TerminationReason = ev.TerminationReason
	if ev.ReplacesContext {
		data.ReplacesContext = c.ID
	}
	return single(ev.Change, path, data)
}

// single is a notification body with one change: callplane posts each
// change on its own, so that each is acknowledged before the next.
func single(change call.ChangeType, resourceURL string, data any) CommsNotifications {
	return CommsNotifications{
		ODataType: TypeCommsNotifications,
		Value: []CommsNotification{{
			ODataType:    TypeCommsNotification,
			ChangeType:   string(change),
			ResourceURL:  resourceURL,
			ResourceData: data,
		}},
	}
}

// Notification renders any call event: a finished operation, or a change
// of the call's state.
func Notification(c *call.Call, ev call.Event) CommsNotifications {
	if ev.Operation != nil {
		return OperationNotification(c.ID, *ev.Operation)
	}
	return CallNotification(c, ev)
}

// NormalizeID returns the canonical form of a resource id from a URL: Graph
// ids are GUIDs, compared without regard to case.
func NormalizeID(id string) string { return strings.ToLower(id) }
