package call

import "github.com/callplane/callplane/internal/ids"

// The large gallery view (addLargeGalleryView) joins the roster as a
// participant of its own: an application's endpoint that sends the
// gallery's video, which the leg that added it subscribes to. It leaves
// with that leg.

// LargeGallery returns the large gallery view the leg added, if any.
func (g *Group) LargeGallery(legID string) (Member, bool) {
	for _, m := range g.Members {
		if legID != "" && m.GalleryOf == legID {
			return m, true
		}
	}
	return Member{}, false
}

// AddLargeGallery brings the leg's large gallery view into the roster; a
// leg has one, so adding it again changes nothing.
func (g *Group) AddLargeGallery(legID string) (RosterChange, error) {
	if _, ok := g.LegMember(legID); !ok || legID == "" {
		return RosterChange{}, ErrNoSuchMember
	}
	if _, ok := g.LargeGallery(legID); ok {
		return RosterChange{}, nil
	}
	return g.Join(Member{Identity: Identity{Kind: Application, ID: ids.New()}, GalleryOf: legID})
}
