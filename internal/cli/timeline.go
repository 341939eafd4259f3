package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/admin"
)

// withTimeline adds the call's timeline to the simulator's view of it.
func withTimeline(client *adminClient, view []byte) ([]byte, error) {
	var v map[string]any
	if err := json.Unmarshal(view, &v); err != nil {
		return nil, err
	}
	id, _ := v["id"].(string)
	tl, err := client.do(http.MethodGet, "/callplane/calls/"+id+"/timeline", nil)
	if err != nil {
		return nil, err
	}
	var timeline admin.Timeline
	if err := json.Unmarshal(tl, &timeline); err != nil {
		return nil, err
	}
	v["timeline"] = timeline.Value
	return json.MarshalIndent(v, "", "  ")
}

// printTimeline writes a timeline one line per entry, times from its first.
func printTimeline(w io.Writer, body []byte) error {
	var tl admin.Timeline
	if err := json.Unmarshal(body, &tl); err != nil {
		return err
	}
	fmt.Fprintf(w, "call %s\n", tl.CallID)
	var start time.Time
	for i, e := range tl.Value {
		if i == 0 {
			start = e.At
		}
		fmt.Fprintf(w, "%s %+8.3fs  %s\n", e.At.Local().Format("15:04:05.000"), e.At.Sub(start).Seconds(), describeEntry(e))
	}
	return nil
}

func describeEntry(e admin.TimelineEntry) string {
	switch e.Kind {
	case admin.EntryRequest:
		s := fmt.Sprintf("bot      %s %s → %d (%.1f ms)", e.Method, e.Path, e.Status, e.DurationMs)
		if e.OperationID != "" {
			s += " operation " + e.OperationID
		}
		return s
	case admin.EntryNotification:
		var what []string
		for _, part := range []string{e.State, e.OperationStatus} {
			if part != "" {
				what = append(what, part)
			}
		}
		if e.Tone != "" {
			what = append(what, "tone "+e.Tone)
		}
		if ri := e.ResultInfo; ri != nil {
			what = append(what, fmt.Sprintf("%d/%d", ri.Code, ri.Subcode))
		}
		s := fmt.Sprintf("notified %-8s %s %s: %s", e.ChangeType, e.ResourceURL, strings.Join(what, " "), e.Delivery)
		if e.AckStatus != 0 {
			s += fmt.Sprintf(", answered %d", e.AckStatus)
		}
		if e.AckMs > 0 {
			s += fmt.Sprintf(" in %.1f ms", e.AckMs)
		}
		if e.Attempts > 1 {
			s += fmt.Sprintf(" after %d attempts", e.Attempts)
		}
		if e.LastError != "" {
			s += " (" + e.LastError + ")"
		}
		return s
	case admin.EntryPerson:
		switch e.Did {
		case "pressed":
			return "person   pressed " + e.Keys
		case "spoke":
			return fmt.Sprintf("person   spoke for %gs", e.Seconds)
		}
		return "person   " + e.Did
	}
	return e.Kind
}
