package control

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/store"
)

// recorder is a Notifier that checks the order notifications arrive in.
type recorder struct {
	mu   sync.Mutex
	last int64
	bad  []string
	n    int
}

func (r *recorder) Enqueue(ns ...store.Notification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range ns {
		if n.Seq <= r.last {
			r.bad = append(r.bad, fmt.Sprintf("seq %d after %d", n.Seq, r.last))
		}
		r.last = n.Seq
		r.n++
	}
}

// TestNotificationsReachDeliveryInCommitOrder: delivery must receive
// notifications in the order they were saved, or one call's notifications
// can overtake each other (a hang-up's terminating before the timer's
// established, say). Many commands committing at once must not hand their
// notifications over out of order.
func TestNotificationsReachDeliveryInCommitOrder(t *testing.T) {
	rec := &recorder{}
	s := newService(t, rec, Config{Timing: call.Timing{AnswerDelay: time.Millisecond, KeepAliveTimeout: time.Hour}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)

	owner := call.Owner{TenantID: "t", AppID: "a"}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				c, err := s.Place(ctx, call.Request{
					Owner:       owner,
					CallbackURI: "http://127.0.0.1:1/cb",
					Targets:     []call.Participant{{Identity: call.Identity{Kind: call.User, ID: "u"}}},
					Media:       call.Media{Hosting: call.ServiceHosted},
				}, []string{"Calls.Initiate.All"})
				if err != nil {
					t.Error(err)
					return
				}
				// Hang up around the moment the callee answers (a workload, not a
				// synchronisation: it makes the timer and the hang-up race).
				time.Sleep(time.Millisecond)
				if err := s.HangUp(ctx, owner, c.ID); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.bad) > 0 {
		t.Fatalf("%d of %d notifications reached delivery out of order, e.g. %s", len(rec.bad), rec.n, rec.bad[0])
	}
	if rec.n < 200*3 {
		t.Fatalf("only %d notifications", rec.n)
	}
}
