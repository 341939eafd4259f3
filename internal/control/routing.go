package control

import (
	"context"
	"fmt"
	"slices"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/ids"
)

// Audio routing groups are for bots in group calls: the roles that let an
// application join or start one let it route the call's audio.
var routingRoles = []string{"Calls.JoinGroupCall.All", "Calls.InitiateGroupCall.All"}

func checkRoutingRoles(roles []string) error {
	for _, r := range routingRoles {
		if hasRole(roles, r) {
			return nil
		}
	}
	return &PermissionError{Msg: fmt.Sprintf("Insufficient permissions: audio routing groups need the application permission %v (one of).", routingRoles)}
}

// changeRouting runs fn on the owner's group call leg, with whether a
// participant id is in its roster, and saves the leg.
func (s *Service) changeRouting(ctx context.Context, owner call.Owner, roles []string, callID string, fn func(c *call.Call, inRoster func(string) bool) error) error {
	if err := checkRoutingRoles(roles); err != nil {
		return err
	}
	return s.do(ctx, func(u *unit) error {
		c, g, err := u.groupLeg(owner, callID)
		if err != nil {
			return err
		}
		// Audio is routed between people and legs: a large gallery view
		// carries video.
		inRoster := func(id string) bool { m, ok := g.Member(id); return ok && m.GalleryOf == "" }
		if err := fn(c, inRoster); err != nil {
			return err
		}
		u.touchCall(c)
		return nil
	})
}

// CreateAudioRoutingGroup adds an audio routing group to the owner's group
// call.
func (s *Service) CreateAudioRoutingGroup(ctx context.Context, owner call.Owner, roles []string, callID string, g call.AudioRoutingGroup) (call.AudioRoutingGroup, error) {
	var made call.AudioRoutingGroup
	err := s.changeRouting(ctx, owner, roles, callID, func(c *call.Call, inRoster func(string) bool) error {
		var err error
		made, err = c.AddAudioRoutingGroup(g, inRoster, ids.New)
		return err
	})
	return made, err
}

// UpdateAudioRoutingGroup changes one of the call's audio routing groups.
func (s *Service) UpdateAudioRoutingGroup(ctx context.Context, owner call.Owner, roles []string, callID, id string, ch call.RoutingGroupChange) (call.AudioRoutingGroup, error) {
	var updated call.AudioRoutingGroup
	err := s.changeRouting(ctx, owner, roles, callID, func(c *call.Call, inRoster func(string) bool) error {
		var err error
		updated, err = c.UpdateAudioRoutingGroup(id, ch, inRoster)
		return err
	})
	return updated, err
}

// RemoveAudioRoutingGroup deletes one of the call's audio routing groups.
func (s *Service) RemoveAudioRoutingGroup(ctx context.Context, owner call.Owner, roles []string, callID, id string) error {
	return s.changeRouting(ctx, owner, roles, callID, func(c *call.Call, _ func(string) bool) error {
		return c.RemoveAudioRoutingGroup(id)
	})
}

// AudioRoutingGroups lists the owner's group call's audio routing groups.
func (s *Service) AudioRoutingGroups(ctx context.Context, owner call.Owner, callID string) ([]call.AudioRoutingGroup, error) {
	c, err := s.Get(ctx, owner, callID)
	if err != nil {
		return nil, err
	}
	if !c.IsGroup() {
		return nil, call.ErrNotGroupCall
	}
	return slices.Clone(c.AudioRoutingGroups), nil
}

// AudioRoutingGroup returns one of the call's audio routing groups.
func (s *Service) AudioRoutingGroup(ctx context.Context, owner call.Owner, callID, id string) (call.AudioRoutingGroup, error) {
	groups, err := s.AudioRoutingGroups(ctx, owner, callID)
	if err != nil {
		return call.AudioRoutingGroup{}, err
	}
	i := slices.IndexFunc(groups, func(g call.AudioRoutingGroup) bool { return g.ID == id })
	if i < 0 {
		return call.AudioRoutingGroup{}, call.ErrNoSuchRoutingGroup
	}
	return groups[i], nil
}
