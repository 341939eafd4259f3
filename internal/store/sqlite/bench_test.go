package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/store"
	"github.com/callplane/callplane/internal/store/sqlite"
)

func newCall(b *testing.B, now time.Time) *call.Call {
	c, _, err := call.Place(call.Request{
		Owner:       call.Owner{TenantID: "t", AppID: "a"},
		CallbackURI: "http://127.0.0.1:9000/api/calls",
		Targets:     []call.Participant{{Identity: call.Identity{Kind: call.User, ID: "8d1e2f3a-0000-4000-8000-000000000001"}}},
		Modalities:  []call.Modality{call.Audio},
		Media:       call.Media{Hosting: call.ServiceHosted},
	}, now, call.DefaultTiming)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// payload is the size of a call notification.
var payload = make([]byte, 420)

// BenchmarkSaveHangUp is the store's share of a DELETE: one call saved
// terminated with its two notifications, in a store holding at least
// 10,000 calls.
// batch sets how many such changes share one commit.
func BenchmarkSaveHangUp(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run("batch="+itoa(batch), func(b *testing.B) {
			st, err := sqlite.Open(filepath.Join(b.TempDir(), "callplane.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			now := time.Now()
			calls := make([]*call.Call, max(10000, b.N))
			for i := range calls {
				calls[i] = newCall(b, now)
				if err := store.Save(ctx, st, &store.Changes{Calls: []*call.Call{calls[i]}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				chs := make([]*store.Changes, 0, batch)
				for j := i; j < i+batch && j < b.N; j++ {
					c := calls[j%len(calls)]
					c.HangUp(now, call.EndedByApplication, call.DefaultTiming)
					ev := c.Advance(now, call.DefaultTiming)
					_ = ev
					chs = append(chs, &store.Changes{Calls: []*call.Call{c}, Notifications: []store.Notification{
						store.NewNotification(c, payload, now), store.NewNotification(c, payload, now)}})
				}
				for _, err := range st.SaveBatch(ctx, chs) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
