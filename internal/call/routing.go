package call

import (
	"errors"
	"slices"
)

// RoutingMode is how an audio routing group routes audio.
type RoutingMode string

const (
	// OneToOne routes one source to one receiver.
	OneToOne RoutingMode = "oneToOne"
	// Multicast routes one source to many receivers.
	Multicast RoutingMode = "multicast"
)

// AudioRoutingGroup routes the audio of some participants of a group call
// to others, for a bot that hosts its own media: sources and receivers are
// participant ids of the call's roster.
type AudioRoutingGroup struct {
	ID        string      `json:",omitzero"`
	Mode      RoutingMode `json:",omitzero"`
	Sources   []string    `json:",omitzero"`
	Receivers []string    `json:",omitzero"`
}

// Bounds of audio routing groups.
const (
	MaxAudioRoutingGroups = 50
	maxReceivers          = 1000
	maxRoutingGroupID     = 256
)

// ErrNoSuchRoutingGroup is an audio routing group the call does not have.
var ErrNoSuchRoutingGroup = errors.New("no such audio routing group")

// check validates a group against the roster (inRoster says whether a
// participant id is in it).
func (g AudioRoutingGroup) check(inRoster func(string) bool) error {
	switch g.Mode {
	case OneToOne:
		if len(g.Sources) != 1 || len(g.Receivers) != 1 {
			return invalid("a oneToOne audio routing group has one source and one receiver")
		}
	case Multicast:
		if len(g.Sources) != 1 || len(g.Receivers) == 0 {
			return invalid("a multicast audio routing group has one source and at least one receiver")
		}
	case "":
		return invalid("routingMode is required: oneToOne or multicast")
	default:
		return invalid("routingMode %q: must be oneToOne or multicast", string(g.Mode))
	}
	if len(g.Receivers) > maxReceivers {
		return invalid("an audio routing group has at most %d receivers", maxReceivers)
	}
	for _, list := range [][]string{g.Sources, g.Receivers} {
		for i, id := range list {
			if !inRoster(id) {
				return invalid("participant %s is not in the call", id)
			}
			if slices.Contains(list[:i], id) {
				return invalid("participant %s is named twice", id)
			}
		}
	}
	if slices.Contains(g.Receivers, g.Sources[0]) {
		return invalid("participant %s is both the source and a receiver", g.Sources[0])
	}
	return nil
}

// AddAudioRoutingGroup adds a group to a live group call; the id is the
// caller's if it gives one (Graph's examples do), else newID's.
func (c *Call) AddAudioRoutingGroup(g AudioRoutingGroup, inRoster func(string) bool, newID func() string) (AudioRoutingGroup, error) {
	if !c.State.Live() {
		return AudioRoutingGroup{}, ErrNotFound
	}
	if len(g.ID) > maxRoutingGroupID {
		return AudioRoutingGroup{}, invalid("id is at most %d characters", maxRoutingGroupID)
	}
	if g.ID == "" {
		g.ID = newID()
	}
	if _, ok := c.AudioRoutingGroup(g.ID); ok {
		return AudioRoutingGroup{}, invalid("the call has an audio routing group %s already", g.ID)
	}
	if len(c.AudioRoutingGroups) >= MaxAudioRoutingGroups {
		return AudioRoutingGroup{}, invalid("a call has at most %d audio routing groups", MaxAudioRoutingGroups)
	}
	if err := g.check(inRoster); err != nil {
		return AudioRoutingGroup{}, err
	}
	c.AudioRoutingGroups = append(c.AudioRoutingGroups, g)
	return g, nil
}

// AudioRoutingGroup returns the call's group with the id.
func (c *Call) AudioRoutingGroup(id string) (AudioRoutingGroup, bool) {
	i := slices.IndexFunc(c.AudioRoutingGroups, func(g AudioRoutingGroup) bool { return g.ID == id })
	if i < 0 {
		return AudioRoutingGroup{}, false
	}
	return c.AudioRoutingGroups[i], true
}

// RoutingGroupChange is what an update of an audio routing group sets;
// nil fields stay as they are.
type RoutingGroupChange struct {
	Mode      *RoutingMode
	Sources   *[]string
	Receivers *[]string
}

// UpdateAudioRoutingGroup changes a group: only a multicast group's
// receivers can change.
func (c *Call) UpdateAudioRoutingGroup(id string, ch RoutingGroupChange, inRoster func(string) bool) (AudioRoutingGroup, error) {
	if !c.State.Live() {
		return AudioRoutingGroup{}, ErrNotFound
	}
	i := slices.IndexFunc(c.AudioRoutingGroups, func(g AudioRoutingGroup) bool { return g.ID == id })
	if i < 0 {
		return AudioRoutingGroup{}, ErrNoSuchRoutingGroup
	}
	g := c.AudioRoutingGroups[i]
	switch {
	case ch.Mode != nil && *ch.Mode != g.Mode:
		return AudioRoutingGroup{}, invalid("routingMode cannot change: remove the group and create another")
	case ch.Sources != nil && !slices.Equal(*ch.Sources, g.Sources):
		return AudioRoutingGroup{}, invalid("sources cannot change: only a multicast group's receivers can be updated")
	case ch.Receivers != nil && g.Mode != Multicast:
		return AudioRoutingGroup{}, invalid("only a multicast group's receivers can be updated")
	}
	if ch.Receivers != nil {
		g.Receivers = slices.Clone(*ch.Receivers)
	}
	if err := g.check(inRoster); err != nil {
		return AudioRoutingGroup{}, err
	}
	c.AudioRoutingGroups[i] = g
	return g, nil
}

// RemoveAudioRoutingGroup deletes a group.
func (c *Call) RemoveAudioRoutingGroup(id string) error {
	if !c.State.Live() {
		return ErrNotFound
	}
	i := slices.IndexFunc(c.AudioRoutingGroups, func(g AudioRoutingGroup) bool { return g.ID == id })
	if i < 0 {
		return ErrNoSuchRoutingGroup
	}
	c.AudioRoutingGroups = slices.Delete(c.AudioRoutingGroups, i, i+1)
	return nil
}
