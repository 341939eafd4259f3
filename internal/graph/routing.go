package graph

import "github.com/callplane/callplane/internal/call"

// AudioRoutingGroup is an audioRoutingGroup, as Graph writes and reads one.
// In an update, absent fields stay as they are: hence the pointers.
type AudioRoutingGroup struct {
	ODataContext string    `json:"@odata.context,omitempty"`
	ODataType    string    `json:"@odata.type,omitempty"`
	ID           string    `json:"id,omitempty"`
	RoutingMode  *string   `json:"routingMode,omitempty"`
	Sources      *[]string `json:"sources,omitempty"`
	Receivers    *[]string `json:"receivers,omitempty"`
}

// AudioRoutingGroupList is the body of GET …/audioRoutingGroups.
type AudioRoutingGroupList = Collection[AudioRoutingGroup]

// AudioRoutingGroupOf renders a call's audio routing group.
func AudioRoutingGroupOf(g call.AudioRoutingGroup) AudioRoutingGroup {
	mode := string(g.Mode)
	sources, receivers := append([]string{}, g.Sources...), append([]string{}, g.Receivers...)
	return AudioRoutingGroup{ODataType: typePrefix + "audioRoutingGroup", ID: g.ID, RoutingMode: &mode, Sources: &sources, Receivers: &receivers}
}

// Group is the audio routing group a create request describes.
func (b AudioRoutingGroup) Group() call.AudioRoutingGroup {
	g := call.AudioRoutingGroup{ID: b.ID}
	if b.RoutingMode != nil {
		g.Mode = call.RoutingMode(*b.RoutingMode)
	}
	if b.Sources != nil {
		g.Sources = *b.Sources
	}
	if b.Receivers != nil {
		g.Receivers = *b.Receivers
	}
	return g
}

// Change is what an update request sets.
func (b AudioRoutingGroup) Change() call.RoutingGroupChange {
	var ch call.RoutingGroupChange
	if b.RoutingMode != nil {
		mode := call.RoutingMode(*b.RoutingMode)
		ch.Mode = &mode
	}
	ch.Sources, ch.Receivers = b.Sources, b.Receivers
	return ch
}
