package cli

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestListenShowsMedia: listen's one-line summary names the tone a caller
// pressed and where a recording downloads.
func TestListenShowsMedia(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{`{"@odata.type": "#microsoft.graph.call", "state": "established", "toneInfo": {"tone": "tone2", "sequenceId": 3}}`,
			"state=established toneInfo=tone2 (sequenceId 3)"},
		{`{"@odata.type": "#microsoft.graph.recordOperation", "status": "Completed", "resultInfo": {"code": 200, "subcode": 8509, "message": "m"}, "recordingLocation": "http://127.0.0.1:8080/media/recordings/c/o"}`,
			`status=Completed resultInfo=200/8509 "m" recordingLocation=http://127.0.0.1:8080/media/recordings/c/o`},
	} {
		body := `{"value": [{"changeType": "updated", "resourceUrl": "/communications/calls/c", "resourceData": ` + tc.data + `}]}`
		var out bytes.Buffer
		printNotification(&out, httptest.NewRequest("POST", "/", strings.NewReader(body)), []byte(body), false)
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("got %q, want it to contain %q", out.String(), tc.want)
		}
	}
}
