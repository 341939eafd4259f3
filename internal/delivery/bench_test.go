package delivery_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/delivery"
	"github.com/callplane/callplane/internal/store"
)

// fastReceiver answers 202 at once and signals when it has taken n POSTs.
func fastReceiver(b *testing.B, n int64) (*httptest.Server, <-chan struct{}) {
	var got atomic.Int64
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		if got.Add(1) == n {
			close(done)
		}
	}))
	b.Cleanup(srv.Close)
	return srv, done
}

const notificationsPerCall = 4

// BenchmarkDeliver measures delivery throughput: b.N notifications, four per
// call, saved to the outbox and handed to the dispatcher, until a fast local
// receiver has acknowledged them all (outcomes recorded in the store).
func BenchmarkDeliver(b *testing.B) {
	cfg := delivery.DefaultConfig
	h := start(b, cfg)
	srv, done := fastReceiver(b, int64(b.N))
	calls := (b.N + notificationsPerCall - 1) / notificationsPerCall
	batches := make([][]store.Notification, 0, calls)
	payload := bytes.Repeat([]byte("x"), 400) // the size of a call notification
	left := b.N
	for range calls {
		c, _, err := call.Place(call.Request{
			Owner:       call.Owner{TenantID: "t", AppID: "a"},
			CallbackURI: srv.URL + "/api/calls",
			Targets:     []call.Participant{{Identity: call.Identity{Kind: call.User, ID: "u"}}},
			Media:       call.Media{Hosting: call.ServiceHosted},
		}, time.Now(), call.DefaultTiming)
		if err != nil {
			b.Fatal(err)
		}
		var out []store.Notification
		for range min(notificationsPerCall, left) {
			out = append(out, store.NewNotification(c, payload, time.Now()))
		}
		left -= len(out)
		if err := store.Save(context.Background(), h.store, &store.Changes{Calls: []*call.Call{c}, Notifications: out}); err != nil {
			b.Fatal(err)
		}
		batches = append(batches, out)
	}
	b.ResetTimer()
	start := time.Now()
	for _, out := range batches {
		h.d.Enqueue(out...)
	}
	<-done
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "notifications/s")
}

// BenchmarkRawPost is the baseline for BenchmarkDeliver: the same POSTs to
// the same receiver from the same number of concurrent senders, with nothing
// else: no store, no ordering, no tokens.
func BenchmarkRawPost(b *testing.B) {
	srv, done := fastReceiver(b, int64(b.N))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: delivery.DefaultConfig.PerHostConcurrency}}
	payload := bytes.Repeat([]byte("x"), 400)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range delivery.DefaultConfig.PerHostConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(payload))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	<-done
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "notifications/s")
}
