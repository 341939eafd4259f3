package call

import (
	"testing"
	"time"
)

// BenchmarkHangUpTransition is the domain's share of a DELETE: a hang-up
// and the teardown that follows it, on an established call.
func BenchmarkHangUpTransition(b *testing.B) {
	calls := make([]*Call, b.N)
	for i := range calls {
		calls[i] = place(b)
		calls[i].Advance(t0.Add(time.Second), timing)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c := calls[i]
		ev, _ := c.HangUp(t0.Add(time.Minute), EndedByApplication, timing)
		ev = append(ev, c.Advance(t0.Add(time.Minute), timing)...)
		if len(ev) != 2 {
			b.Fatal(ev)
		}
	}
}
