package call

import (
	"errors"
	"strings"
	"testing"
)

// TestCallbackURLRule: what callbacks, webhooks and redirects must be.
func TestCallbackURLRule(t *testing.T) {
	for _, ok := range []string{
		"https://bot.example/api/calls",
		"http://127.0.0.1:9000/cb",
		"https://[::1]:443/x?y=1",
		"https://bot.example:65535/",
	} {
		if err := CheckCallbackURL("callbackUri", ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"",
		"/relative",
		"file:///etc/passwd",
		"gopher://bot.example/",
		"javascript:alert(1)",
		"https://user:pass@bot.example/",
		"https://bot.example:0/",
		"https://bot.example:65536/",
		"https://bot.example:99999/",
		"https://:443/",
		"https://bot.example/" + strings.Repeat("a", MaxURLLength),
	} {
		var invalid *InvalidError
		if err := CheckCallbackURL("callbackUri", bad); !errors.As(err, &invalid) || !strings.Contains(invalid.Msg, "callbackUri") {
			t.Errorf("%.60q: got %v, want an InvalidError naming callbackUri", bad, err)
		}
	}
}

// TestRequestSizeLimits: no string a bot sends is stored unbounded.
func TestRequestSizeLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n+1) }
	cases := map[string]func(*Request){
		"subject":                         func(r *Request) { r.Subject = long(MaxSubject) },
		"targets[0].identity.displayName": func(r *Request) { r.Targets[0].Identity.DisplayName = long(MaxDisplayName) },
		"targets[0].identity.id":          func(r *Request) { r.Targets[0].Identity.ID = long(MaxID) },
		"source.languageId":               func(r *Request) { r.Source.LanguageID = long(MaxShortField) },
		"mediaConfig.blob":                func(r *Request) { r.Media.Blob = long(MaxMediaBlob) },
		"Scenario-Id":                     func(r *Request) { r.ScenarioID = long(MaxID) },
		"requestedModalities":             func(r *Request) { r.Modalities = []Modality{Audio, Audio} },
	}
	for field, edit := range cases {
		req := request()
		edit(&req)
		_, _, err := Place(req, t0, timing)
		var invalid *InvalidError
		if !errors.As(err, &invalid) || !strings.Contains(invalid.Msg, field) {
			t.Errorf("%s over its limit: got %v", field, err)
		}
	}
	// At the limit is fine; limits count characters, not bytes.
	req := request()
	req.Subject = strings.Repeat("é", MaxSubject)
	if _, _, err := Place(req, t0, timing); err != nil {
		t.Fatalf("a subject of %d characters: %v", MaxSubject, err)
	}
}

// TestGroupSizeCap: a meeting admits at most MaxGroupSize participants, in
// one join or many.
func TestGroupSizeCap(t *testing.T) {
	g := NewMeeting("t", "big", Identity{}, t0)
	people := make([]Member, MaxGroupSize)
	for i := range people {
		people[i] = Member{Identity: Identity{Kind: User, ID: "u"}}
	}
	if _, err := g.Join(people...); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Join(Member{Identity: Identity{Kind: User, ID: "one more"}}); !errors.Is(err, ErrGroupFull) {
		t.Fatalf("join past the cap: %v", err)
	}
	// Members already in do not count twice.
	if _, err := g.Join(g.Members[0]); err != nil {
		t.Fatalf("rejoining member: %v", err)
	}
	if err := CheckMeeting("s", Identity{}, make([]Identity, MaxGroupSize+1)); !errors.Is(err, ErrGroupFull) {
		t.Fatalf("meeting created with too many people: %v", err)
	}
}
