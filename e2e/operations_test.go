package e2e

import (
	"net/http"
	"testing"

	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/testenv"
)

// TestListOperations: GET …/operations lists a call's operations, oldest
// first, each as GET …/operations/{id} gives it, every body valid Graph;
// another application's call, or none, is 404.
func TestListOperations(t *testing.T) {
	files := promptServer(t)
	in := startInbound(t)
	id := mediaCall(t, in)
	list := func() graph.OperationList {
		t.Helper()
		r := in.env.Do(t, http.MethodGet, testenv.CallPath(id)+"/operations", in.env.Token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("list operations: %d %s", r.Status, r.Body)
		}
		checkSchema(t, "Collection(microsoft.graph.commsOperation)", r.Body)
		var l graph.OperationList
		r.JSON(t, &l)
		if want := in.env.URL + "/v1.0/$metadata#communications/calls('" + id + "')/operations"; l.ODataContext != want {
			t.Fatalf("@odata.context %q, want %q", l.ODataContext, want)
		}
		return l
	}
	if l := list(); len(l.Value) != 0 {
		t.Fatalf("a new call lists %d operations", len(l.Value))
	}
	tones := startOperation(t, in, id, "subscribeToTone", map[string]any{"clientContext": "tones"})
	prompt := startOperation(t, in, id, "playPrompt", promptBody(files+"/menu.wav"))
	l := list()
	if len(l.Value) != 2 || l.Value[0].ID != tones.ID || l.Value[1].ID != prompt.ID {
		t.Fatalf("operations %+v, want the tone subscription then the prompt", l.Value)
	}
	if l.Value[0].ODataType != "#microsoft.graph.subscribeToToneOperation" || l.Value[1].ODataType != "#microsoft.graph.playPromptOperation" {
		t.Fatalf("types %s, %s", l.Value[0].ODataType, l.Value[1].ODataType)
	}
	finishedOp(t, in.bot, id, prompt.ID)
	if l := list(); len(l.Value) != 2 || l.Value[1].Status != "Completed" {
		t.Fatalf("after the prompt played: %+v", l.Value)
	}
	checkGraphError(t, in.env.Do(t, http.MethodGet, testenv.CallPath("8d1e2f3a-0000-4000-8000-0000000000ff")+"/operations", in.env.Token, nil),
		http.StatusNotFound, "8522") // what GET of an unknown call answers
}
