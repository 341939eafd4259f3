package call

import (
	"errors"
	"testing"
)

func TestLargeGallery(t *testing.T) {
	g := NewMeeting("t", "", Identity{}, t0)
	if _, err := g.Join(person("alice"), Member{ParticipantID: "p-bot", Identity: Identity{Kind: Application, ID: "app"}, LegID: "leg-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.AddLargeGallery("no-such-leg"); !errors.Is(err, ErrNoSuchMember) {
		t.Fatalf("a gallery for no leg: %v", err)
	}
	added, err := g.AddLargeGallery("leg-1")
	if err != nil || len(added.Updated) != 1 || added.Updated[0].GalleryOf != "leg-1" || added.Updated[0].Identity.Kind != Application {
		t.Fatalf("add the gallery: %+v %v", added, err)
	}
	gallery := added.Updated[0]
	if again, err := g.AddLargeGallery("leg-1"); err != nil || !again.Empty() {
		t.Fatalf("a second gallery for the leg: %+v %v", again, err)
	}
	if gallery.Human() || g.Humans() != 1 || len(g.Legs()) != 1 {
		t.Fatalf("the gallery counted as a person or a leg: %d people, %d legs", g.Humans(), len(g.Legs()))
	}
	left, err := g.Leave("p-bot", t0)
	if err != nil || len(left.Removed) != 2 || left.Removed[1].ParticipantID != gallery.ParticipantID {
		t.Fatalf("the leg leaves: %+v %v, want its gallery gone with it", left, err)
	}
	if _, ok := g.LargeGallery("leg-1"); ok || len(g.Members) != 1 {
		t.Fatalf("roster after the leg left: %+v", g.Members)
	}
}

func TestLargeGalleryIsNeitherMutedNorPresenting(t *testing.T) {
	g := NewMeeting("t", "", Identity{}, t0)
	g.Join(Member{ParticipantID: "p-bot", Identity: Identity{Kind: Application, ID: "app"}, LegID: "leg-1"})
	added, _ := g.AddLargeGallery("leg-1")
	gallery := added.Updated[0].ParticipantID
	if _, err := g.SetMuted(gallery, true); err == nil {
		t.Fatal("the large gallery view was muted")
	}
	if _, err := g.StartSharing(gallery, t0); err == nil {
		t.Fatal("the large gallery view presented")
	}
	if _, err := g.AddLargeGallery(""); !errors.Is(err, ErrNoSuchMember) {
		t.Fatalf("a gallery for no leg id: %v", err)
	}
	if _, ok := g.LargeGallery(""); ok {
		t.Fatal("a gallery found for no leg id")
	}
}
