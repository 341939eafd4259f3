package graph

import "github.com/callplane/callplane/internal/call"

// ContentSharingSession is a contentSharingSession: Graph shows nothing of
// it but its id.
type ContentSharingSession struct {
	ODataContext string `json:"@odata.context,omitempty"`
	ODataType    string `json:"@odata.type"`
	ID           string `json:"id"`
}

// ContentSharingSessionList is the body of GET …/contentSharingSessions.
type ContentSharingSessionList = Collection[ContentSharingSession]

// ContentSharingSessionOf renders a content sharing session.
func ContentSharingSessionOf(s call.ContentSession) ContentSharingSession {
	return ContentSharingSession{ODataType: typePrefix + "contentSharingSession", ID: s.ID}
}

// ContentSharingSessionsPath is the resource URL of a call's content
// sharing notifications, lowercase as Graph's notifications spell it.
func ContentSharingSessionsPath(callID string) string {
	return CallPath(callID) + "/contentsharingsessions"
}

// ContentSharingNotification tells one leg that a content sharing session
// started (created), changed presenter (updated) or ended (deleted): the
// session in an array, as Graph's contentSharingSession page shows.
func ContentSharingNotification(legID string, change call.ContentChange) CommsNotifications {
	return single(change.Change, ContentSharingSessionsPath(legID), []ContentSharingSession{ContentSharingSessionOf(change.Session)})
}
