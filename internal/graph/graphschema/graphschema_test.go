package graphschema

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// deleteNotification is Graph's "call deleted" notification.
const deleteNotification = `{
  "@odata.type": "#microsoft.graph.commsNotifications",
  "value": [{
    "@odata.type": "#microsoft.graph.commsNotification",
    "changeType": "deleted",
    "resourceUrl": "/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896",
    "resourceData": {
      "@odata.type": "#microsoft.graph.call",
      "state": "terminated",
      "resultInfo": {
        "@odata.type": "#microsoft.graph.resultInfo",
        "code": 0,
        "subcode": 0,
        "message": "x"
      }
    }
  }]
}`

// createdCall is a call entity as returned by POST /communications/calls.
const createdCall = `{
  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#communications/calls/$entity",
  "@odata.type": "#microsoft.graph.call",
  "@odata.etag": "W/\"1\"",
  "id": "2e1a0b00-2db4-4022-9570-243709c565ab",
  "state": "establishing",
  "direction": "outgoing",
  "callbackUri": "https://bot.contoso.com/callback",
  "callChainId": "d8217646-3110-40b1-bae6-e9ac6c3a9f74",
  "myParticipantId": "499ff390-7a72-40e8-83a0-8fac6295ae7e",
  "subject": null,
  "tenantId": "aa67bd4c-8475-432d-bd41-39f255720e0a",
  "requestedModalities": ["audio"],
  "callRoutes": [],
  "chatInfo": null,
  "meetingInfo": null,
  "resultInfo": null,
  "toneInfo": null,
  "transcription": null,
  "mediaState": {"audio": "active"},
  "source": {
    "@odata.type": "#microsoft.graph.participantInfo",
    "identity": {
      "@odata.type": "#microsoft.graph.identitySet",
      "application": {
        "@odata.type": "#microsoft.graph.identity",
        "displayName": "Calling Bot",
        "id": "2891555a-92ff-42e6-80fa-6e1300c6b5c6"
      }
    },
    "countryCode": null,
    "endpointType": null,
    "region": null,
    "languageId": null
  },
  "targets": [{
    "@odata.type": "#microsoft.graph.invitationParticipantInfo",
    "identity": {
      "@odata.type": "#microsoft.graph.identitySet",
      "user": {
        "@odata.type": "#microsoft.graph.identity",
        "displayName": "John",
        "id": "112f7296-5fa4-42ca-bae8-6a692b15d4b8"
      }
    }
  }],
  "mediaConfig": {
    "@odata.type": "#microsoft.graph.serviceHostedMediaConfig",
    "preFetchMedia": [{"uri": "https://cdn.contoso.com/beep.wav", "resourceId": "f8971b04-b53e-418c-9222-c82ce681a582"}]
  },
  "callOptions": {
    "@odata.type": "#microsoft.graph.outgoingCallOptions",
    "isContentSharingNotificationEnabled": true
  },
  "participants@odata.navigationLink": "https://graph.microsoft.com/v1.0/communications/calls/2e1a0b00-2db4-4022-9570-243709c565ab/participants"
}`

const participant = `{
  "@odata.type": "#microsoft.graph.participant",
  "id": "0d7bc0e4-0c9f-4e1d-b6b5-0f1e8f7f7a3e",
  "info": {
    "identity": {
      "@odata.type": "#microsoft.graph.communicationsIdentitySet",
      "user": {"id": "b1a6f5e1-7e0d-4a86-b3d1-2f0e5f3e3a10", "displayName": "Alice"},
      "endpointType": "default"
    },
    "languageId": "en-US",
    "region": "amer"
  },
  "isInLobby": false,
  "isMuted": true,
  "metadata": null,
  "rosterSequenceNumber": 9007199254740993,
  "mediaStreams": [{
    "mediaType": "audio",
    "label": "main-audio",
    "sourceId": "1",
    "direction": "sendReceive",
    "serverMuted": false
  }],
  "recordingInfo": {"recordingStatus": "notRecording", "initiator": null},
  "restrictedExperience": {"contentSharingDisabled": "watermarkProtection,unknownFutureValue", "videoDisabled": null}
}`

// paths returns the Path of every *Violation in errs and fails the test on
// any other error.
func paths(t *testing.T, errs []error) []string {
	t.Helper()
	var out []string
	for _, err := range errs {
		var v *Violation
		if !errors.As(err, &v) {
			t.Fatalf("unexpected non-violation error: %v", err)
		}
		out = append(out, v.Path)
	}
	return out
}

func mustPass(t *testing.T, typeName, doc string, opts ...Option) {
	t.Helper()
	if errs := MustLoad().Check(typeName, []byte(doc), opts...); errs != nil {
		t.Errorf("Check(%s) = %v, want no violations", typeName, errs)
	}
}

// mustFail checks that the violations are exactly at wantPaths (in document
// order) and that some message contains wantMsg.
func mustFail(t *testing.T, typeName, doc, wantMsg string, wantPaths ...string) {
	t.Helper()
	errs := MustLoad().Check(typeName, []byte(doc))
	if got := paths(t, errs); !slices.Equal(got, wantPaths) {
		t.Errorf("Check(%s) violation paths = %q, want %q\n%v", typeName, got, wantPaths, errs)
	}
	for _, err := range errs {
		if strings.Contains(err.Error(), wantMsg) {
			return
		}
	}
	t.Errorf("Check(%s): no violation mentions %q: %v", typeName, wantMsg, errs)
}

func TestLoadExtract(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if s2 := MustLoad(); s2 != s {
		t.Error("Load is not cached")
	}
	var entities, complexes, abstract []string
	for name, st := range s.structs {
		if st.entity {
			entities = append(entities, name)
		} else {
			complexes = append(complexes, name)
		}
		if st.abstract {
			abstract = append(abstract, name)
		}
	}
	// Counts from the extract's provenance README.
	if len(entities) != 21 || len(complexes) != 43 || len(s.enums) != 18 {
		t.Errorf("got %d entity, %d complex, %d enum types; want 21, 43, 18", len(entities), len(complexes), len(s.enums))
	}
	slices.Sort(abstract)
	want := []string{"callOptions", "entity", "mediaConfig", "meetingInfo", "prompt", "teleconferenceDeviceMediaQuality"}
	if !slices.Equal(abstract, want) {
		t.Errorf("abstract types = %q, want %q", abstract, want)
	}
	if p := s.structs["call"].property("id"); p == nil || p.nullable {
		t.Error("call does not inherit non-nullable id from entity")
	}
}

func TestNotification(t *testing.T) {
	mustPass(t, "microsoft.graph.commsNotifications", deleteNotification)

	stringCode := strings.Replace(deleteNotification, `"code": 0`, `"code": "0"`, 1)
	mustFail(t, "commsNotifications", stringCode, `got string "0"`, "value[0].resourceData.resultInfo.code")

	ringing := strings.Replace(deleteNotification, `"terminated"`, `"ringing"`, 1)
	mustFail(t, "commsNotifications", ringing, `"ringing" is not a member of microsoft.graph.callState`, "value[0].resourceData.state")

	unknown := strings.Replace(deleteNotification, `"changeType"`, `"sequence": 1, "changeType"`, 1)
	mustFail(t, "commsNotifications", unknown, `"sequence" is not declared`, "value[0].sequence")

	// Default extras: resource and callbackUri are accepted untyped.
	extras := strings.Replace(deleteNotification, `"changeType"`, `"resource": "/app/calls/57dab8b1", "callbackUri": "https://bot.contoso.com/cb", "changeType"`, 1)
	mustPass(t, "commsNotifications", extras)

	// resourceData is checked only when it names its own type.
	untyped := strings.Replace(deleteNotification, `"@odata.type": "#microsoft.graph.call",`, ``, 1)
	untyped = strings.Replace(untyped, `"state": "terminated"`, `"state": "whatever"`, 1)
	mustPass(t, "commsNotifications", untyped)

	bogus := strings.Replace(deleteNotification, `"#microsoft.graph.call"`, `"#microsoft.graph.nope"`, 1)
	mustFail(t, "commsNotifications", bogus, "names no complex or entity type", "value[0].resourceData.@odata.type")

	// Roster updates carry an array of participants as resourceData.
	roster := `{"value": [{"changeType": "updated", "resourceUrl": "/communications/calls/1/participants",
	  "resourceData": [` + participant + `, {"@odata.type": "#microsoft.graph.participant", "isMuted": "yes"}]}]}`
	mustFail(t, "commsNotifications", roster, "want JSON boolean", "value[0].resourceData[1].isMuted")
}

func TestODataType(t *testing.T) {
	// A type that does not derive from the declared one.
	wrong := strings.Replace(deleteNotification, `"#microsoft.graph.resultInfo"`, `"#microsoft.graph.chatInfo"`, 1)
	mustFail(t, "commsNotifications", wrong, "microsoft.graph.chatInfo is neither microsoft.graph.resultInfo nor derived from it",
		"value[0].resourceData.resultInfo.@odata.type")

	// Graph always writes the namespace, never the alias.
	alias := strings.Replace(deleteNotification, `"#microsoft.graph.resultInfo"`, `"#graph.resultInfo"`, 1)
	mustFail(t, "commsNotifications", alias, `must have the form "#microsoft.graph.<type>"`,
		"value[0].resourceData.resultInfo.@odata.type")

	mustFail(t, "call", `{"@odata.type": 1}`, "must be a string", "@odata.type")

	// Derived-type properties need the derived @odata.type.
	phone := `{"identity": {%s"phone": {"id": "+14255550100"}}}`
	mustPass(t, "participantInfo", strings.Replace(phone, "%s", `"@odata.type": "#microsoft.graph.communicationsIdentitySet", `, 1))
	mustFail(t, "participantInfo", strings.Replace(phone, "%s", "", 1), `"phone" is not declared on microsoft.graph.identitySet`, "identity.phone")
	mustFail(t, "participantInfo", strings.Replace(phone, "%s", `"@odata.type": "#microsoft.graph.identitySet", `, 1), "open type", "identity.phone")

	// Transitive derivation: screen sharing quality -> video -> media quality.
	quality := `{
	  "callChainId": "d8217646-3110-40b1-bae6-e9ac6c3a9f74",
	  "participantId": "499ff390-7a72-40e8-83a0-8fac6295ae7e",
	  "mediaLegId": "0d7bc0e4-0c9f-4e1d-b6b5-0f1e8f7f7a3e",
	  "deviceName": "Room 1", "deviceDescription": "VTC",
	  "mediaQualityList": [
	    {"@odata.type": "#microsoft.graph.teleconferenceDeviceScreenSharingQuality", "channelIndex": 1,
	     "averageInboundFrameRate": 29.97, "averageInboundJitter": "PT0.03S", "inboundPackets": 1200,
	     "averageInboundPacketLossRateInPercentage": "NaN"},
	    {"@odata.type": "#microsoft.graph.teleconferenceDeviceAudioQuality", "channelIndex": 0, "mediaDuration": "P1DT2H3M4.5S"}
	  ]
	}`
	mustPass(t, "teleconferenceDeviceQuality", quality)
	abstractElem := strings.Replace(quality, `"@odata.type": "#microsoft.graph.teleconferenceDeviceAudioQuality", `, ``, 1)
	mustFail(t, "teleconferenceDeviceQuality", abstractElem, "abstract", "mediaQualityList[1]")
	namesAbstract := strings.Replace(quality, `teleconferenceDeviceAudioQuality`, `teleconferenceDeviceMediaQuality`, 1)
	mustFail(t, "teleconferenceDeviceQuality", namesAbstract, "cannot be instantiated", "mediaQualityList[1].@odata.type")
}

func TestCall(t *testing.T) {
	for _, name := range []string{"microsoft.graph.call", "graph.call", "call"} {
		mustPass(t, name, createdCall)
	}

	noMediaType := strings.Replace(createdCall, `"@odata.type": "#microsoft.graph.serviceHostedMediaConfig",`, ``, 1)
	mustFail(t, "call", noMediaType, "microsoft.graph.mediaConfig is abstract",
		"mediaConfig", "mediaConfig.preFetchMedia")

	// Enum members are case-sensitive ...
	mustFail(t, "call", `{"state": "Established"}`, "not a member", "state")
	mustFail(t, "call", `{"direction": 1}`, "must be a member name (JSON string), got number 1", "direction")
	mustFail(t, "call", `{"requestedModalities": ["audio", "smell"]}`, `"smell"`, "requestedModalities[1]")
	// ... operationStatus too, whose CSDL members are PascalCase: the Graph
	// SDKs parse only those, although Graph's documentation shows
	// "completed".
	for _, status := range []string{"Completed", "NotStarted", "Running", "Failed"} {
		mustPass(t, "commsOperation", `{"id": "op1", "status": "`+status+`", "clientContext": "c"}`)
	}
	mustFail(t, "commsOperation", `{"status": "completed"}`, "NotStarted, Running, Completed, Failed", "status")

	// Navigation properties are accepted and their contents checked.
	mustPass(t, "call", `{"participants": [`+participant+`], "operations": [{"@odata.type": "#microsoft.graph.playPromptOperation", "status": "Running"}]}`)
	mustFail(t, "call", `{"operations": [{"@odata.type": "#microsoft.graph.participant"}]}`, "nor derived from it", "operations[0].@odata.type")
	mustPass(t, "participantJoiningNotification", `{"id": "x", "call": {"state": "incoming"}}`)
	// cloudCommunications points at types outside the extract: empty is
	// fine, but an instance cannot be validated.
	mustPass(t, "cloudCommunications", `{"calls": [{"id": "1"}], "presences": []}`)
	mustFail(t, "cloudCommunications", `{"presences": [{"id": "1"}]}`, "not in the schema extract", "presences[0]")
}

func TestNullability(t *testing.T) {
	mustPass(t, "resultInfo", `{"code": 0, "subcode": 0, "message": null}`)
	mustFail(t, "resultInfo", `{"code": null, "subcode": 0}`, `Nullable="false"`, "code")
	mustPass(t, "call", `{"resultInfo": null}`)
	mustFail(t, "call", `{"callRoutes": null}`, "must be an array, not null", "callRoutes")
	mustFail(t, "inviteParticipantsOperation", `{"participants": [null]}`, "null element", "participants[0]")
	mustFail(t, "call", `null`, "document is null", "")

	s := MustLoad()
	if errs := s.Check("resultInfo", []byte(`{}`)); errs != nil {
		t.Errorf("absent non-nullable properties reported by default: %v", errs)
	}
	errs := s.Check("participant", []byte(`{"info": {"identity": {}}, "isMuted": false}`), RequireNonNullable())
	if got, want := paths(t, errs), []string{"id", "isInLobby"}; !slices.Equal(got, want) {
		t.Errorf("RequireNonNullable paths = %q, want %q", got, want)
	}
	errs = s.Check("call", []byte(`{"id": "1", "callbackUri": "https://x", "resultInfo": {"code": 0}, "callRoutes": [{}]}`), RequireNonNullable())
	want := []string{"resultInfo.subcode", "callRoutes[0].final", "callRoutes[0].original", "callRoutes[0].routingType"}
	if got := paths(t, errs); !slices.Equal(got, want) {
		t.Errorf("RequireNonNullable paths = %q, want %q", got, want)
	}
}

func TestPrimitives(t *testing.T) {
	for _, tc := range []struct {
		typ, doc, path, msg string
	}{
		{"resultInfo", `{"code": 2147483648}`, "code", "out of range"},
		{"resultInfo", `{"code": -2147483649}`, "code", "out of range"},
		{"resultInfo", `{"code": 1.5}`, "code", "not an integer"},
		{"resultInfo", `{"code": 1e3}`, "code", "not an integer"},
		{"resultInfo", `{"message": 5}`, "message", "want JSON string"},
		{"participant", `{"rosterSequenceNumber": 9223372036854775808}`, "rosterSequenceNumber", "out of range"},
		{"participant", `{"isMuted": "false"}`, "isMuted", "want JSON boolean"},
		{"callTranscriptionInfo", `{"lastModifiedDateTime": "2024-01-02 03:04:05"}`, "lastModifiedDateTime", "RFC 3339"},
		{"teleconferenceDeviceQuality", `{"callChainId": "not-a-guid"}`, "callChainId", "GUID"},
		{"teleconferenceDeviceAudioQuality", `{"averageInboundJitter": "00:00:01"}`, "averageInboundJitter", "duration"},
		{"teleconferenceDeviceAudioQuality", `{"averageInboundJitter": "PT"}`, "averageInboundJitter", "duration"},
		{"teleconferenceDeviceAudioQuality", `{"averageInboundJitter": "P1Y"}`, "averageInboundJitter", "duration"},
		{"teleconferenceDeviceAudioQuality", `{"averageInboundPacketLossRateInPercentage": "1.5"}`, "averageInboundPacketLossRateInPercentage", "want JSON number"},
		{"onlineMeetingRestricted", `{"videoDisabled": "watermarkProtection, unknownFutureValue"}`, "videoDisabled", `" unknownFutureValue" is not a member`},
		{"toneInfo", `{"tone": "tone10", "sequenceId": 1}`, "tone", "not a member"},
	} {
		mustFail(t, tc.typ, tc.doc, tc.msg, tc.path)
	}
	mustPass(t, "callTranscriptionInfo", `{"lastModifiedDateTime": "2024-01-02T03:04:05.1234567Z", "state": "active"}`)
	mustPass(t, "callTranscriptionInfo", `{"lastModifiedDateTime": "2024-01-02T03:04:05+02:00"}`)
	mustPass(t, "teleconferenceDeviceAudioQuality", `{"averageInboundJitter": "-PT1S", "localPort": 0, "averageOutboundRoundTripDelay": "PT1M"}`)
	mustPass(t, "onlineMeetingRestricted", `{"contentSharingDisabled": "watermarkProtection"}`)
	mustPass(t, "Edm.Binary", `"aGVsbG8_"`)
	mustFail(t, "Edm.Binary", `"not base64!"`, "base64", "")
}

func TestCollections(t *testing.T) {
	arr := `[` + participant + `]`
	for _, name := range []string{"Collection(microsoft.graph.participant)", "Collection(graph.participant)", "Collection(participant)"} {
		mustPass(t, name, arr)
	}
	mustPass(t, "Collection(microsoft.graph.participant)", `{
	  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#communications/calls('1')/participants",
	  "@odata.nextLink": "https://graph.microsoft.com/v1.0/communications/calls/1/participants?$skiptoken=x",
	  "value": `+arr+`}`)
	mustFail(t, "Collection(microsoft.graph.participant)", `{"value": [{"isMuted": 0}], "count": 1}`,
		"unexpected property", "value[0].isMuted", "count")
	mustFail(t, "Collection(microsoft.graph.participant)", `{"@odata.context": "x"}`, `no "value" array`, "")
	mustFail(t, "Collection(microsoft.graph.participant)", participant, `no "value" array`,
		"", "id", "info", "isInLobby", "isMuted", "metadata", "rosterSequenceNumber", "mediaStreams", "recordingInfo", "restrictedExperience")
	mustFail(t, "call", arr, "must be a JSON object, got array", "")
}

func TestAllowExtra(t *testing.T) {
	s := MustLoad()
	doc := []byte(`{"user": {"id": "1", "tenantId": "t"}, "guest": {"@odata.type": "#microsoft.graph.communicationsGuestIdentity", "email": 3}}`)
	// identitySet and identity are open types, but extras are still flagged.
	if got, want := paths(t, s.Check("identitySet", doc)), []string{"user.tenantId", "guest"}; !slices.Equal(got, want) {
		t.Errorf("paths = %q, want %q", got, want)
	}
	// Extras apply to derived types too, and self-typed values are checked.
	errs := s.Check("communicationsIdentitySet", doc, AllowExtra("microsoft.graph.identity", "tenantId"))
	if got, want := paths(t, errs), []string{"guest.email"}; !slices.Equal(got, want) {
		t.Errorf("paths = %q, want %q", got, want)
	}
	errs = s.Check("identitySet", doc, AllowExtra("graph.identity", "tenantId"), AllowExtra("identitySet", "guest"))
	if got, want := paths(t, errs), []string{"guest.email"}; !slices.Equal(got, want) {
		t.Errorf("paths = %q, want %q", got, want)
	}

	for _, opt := range []Option{AllowExtra("participant", "x"), AllowExtra("nope", "x"), AllowExtra("Collection(identity)", "x")} {
		errs := s.Check("identitySet", doc, opt)
		var v *Violation
		if len(errs) != 1 || errors.As(errs[0], &v) || !strings.Contains(errs[0].Error(), "AllowExtra") {
			t.Errorf("bad AllowExtra: got %v, want one usage error", errs)
		}
	}
}

func TestDocumentErrors(t *testing.T) {
	s := MustLoad()
	errs := s.Check("microsoft.graph.nope", []byte(`{}`))
	var v *Violation
	if len(errs) != 1 || errors.As(errs[0], &v) {
		t.Errorf("unknown type: got %v, want one usage error", errs)
	}
	mustFail(t, "call", `{"state": `, "invalid JSON", "")
	mustFail(t, "call", `{} {}`, "invalid JSON", "")
	mustFail(t, "call", `{"state": "incoming", "state": "terminated"}`, "duplicate key", "state")

	// Instance annotations and control information are not properties.
	mustPass(t, "call", `{"@odata.id": "x", "@odata.editLink": "y", "state@odata.type": "#microsoft.graph.callState", "@contoso.flag": true}`)

	errs = s.Check("call", []byte(`{"state": "ringing"}`))
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "state: ") {
		t.Errorf("Error() = %v, want it to start with the path", errs)
	}
}
