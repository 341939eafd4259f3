package graph

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/call"
)

// BenchmarkEncodeNotification renders and encodes a terminated
// notification, as every DELETE does twice.
func BenchmarkEncodeNotification(b *testing.B) {
	c, err := place(validBodies["user, service media (Go SDK form)"])
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	c.HangUp(now, call.EndedByApplication, timing)
	ev := c.Advance(now, timing)[0]
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := json.Marshal(Notification(c, ev)); err != nil {
			b.Fatal(err)
		}
	}
}
