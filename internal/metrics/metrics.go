// Package metrics is callplane's Prometheus instrumentation: the metrics
// every part records into, on a registry of their own with Go's runtime and
// the process's, and the handler that exposes them. A nil *Metrics records
// nothing, so that parts built without it (tests) need no care.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds callplane's metrics.
type Metrics struct {
	registry *prometheus.Registry

	graphRequests   *prometheus.CounterVec
	graphDuration   *prometheus.HistogramVec
	notifications   *prometheus.CounterVec
	deliveryLatency prometheus.Histogram
	commitBatch     prometheus.Histogram
	storeDuration   *prometheus.HistogramVec
	operations      *prometheus.CounterVec
}

// Notification events, the values of callplane_notifications_total's
// event label.
const (
	Created   = "created"
	Delivered = "delivered"
	Retried   = "retried"
	Failed    = "failed"
	Dropped   = "dropped"
)

// LiveCount is how many live calls are in a state, of a kind.
type LiveCount struct {
	State, Kind string
	Calls       int
}

// Sources are what the metrics read when scraped rather than count: the
// live calls (from the store, so that every node of a cluster shows the
// cluster's) and this node's undelivered notifications.
type Sources struct {
	LiveCalls func(context.Context) ([]LiveCount, error)
	Backlog   func() int
}

// latencyBuckets suit requests and deliveries on loopback and beyond: from
// a quarter of a millisecond to 10 s.
var latencyBuckets = []float64{.00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New returns the metrics, reading src when scraped.
func New(src Sources) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		graphRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callplane_graph_requests_total",
			Help: "Graph API requests answered, by method, route (the path's pattern after the version) and status code.",
		}, []string{"method", "route", "code"}),
		graphDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "callplane_graph_request_duration_seconds",
			Help:    "Time to answer Graph API requests, by method and route.",
			Buckets: latencyBuckets,
		}, []string{"method", "route"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callplane_notifications_total",
			Help: "Notifications by event: created (saved to the outbox), delivered (acknowledged by the bot), retried (an attempt failed, another follows), failed (given up on), dropped (by a fault rule).",
		}, []string{"event"}),
		deliveryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "callplane_notification_delivery_seconds",
			Help:    "Time from a notification's commit to the bot's acknowledgement, retries included.",
			Buckets: latencyBuckets,
		}),
		commitBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "callplane_commit_batch_size",
			Help:    "Units of work saved by one store commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "callplane_store_duration_seconds",
			Help:    "Time the store took, by operation.",
			Buckets: latencyBuckets,
		}, []string{"operation"}),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callplane_operations_total",
			Help: "Operations finished (prompts, recordings, tone subscriptions, DTMF, invitations...), by type and outcome.",
		}, []string{"type", "outcome"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.graphRequests, m.graphDuration, m.notifications, m.deliveryLatency, m.commitBatch, m.storeDuration, m.operations,
	)
	for _, e := range []string{Created, Delivered, Retried, Failed, Dropped} {
		m.notifications.WithLabelValues(e) // present at zero from the start
	}
	if src.Backlog != nil {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "callplane_notifications_backlog",
			Help: "Notifications this node has yet to deliver: queued, in flight or waiting to be retried.",
		}, func() float64 { return float64(src.Backlog()) }))
	}
	if src.LiveCalls != nil {
		m.registry.MustRegister(&liveCalls{read: src.LiveCalls})
	}
	return m
}

// Handler serves the metrics in Prometheus' formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorLog: nil})
}

// Gatherer is the registry, for tests.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }

// GraphRequest counts a Graph request answered.
func (m *Metrics) GraphRequest(method, route string, status int, took time.Duration) {
	if m == nil {
		return
	}
	m.graphRequests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.graphDuration.WithLabelValues(method, route).Observe(took.Seconds())
}

// Notifications counts n notifications of the event.
func (m *Metrics) Notifications(event string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.notifications.WithLabelValues(event).Add(float64(n))
}

// DeliveredAfter records how long after its commit a notification was
// acknowledged.
func (m *Metrics) DeliveredAfter(d time.Duration) {
	if m != nil {
		m.deliveryLatency.Observe(d.Seconds())
	}
}

// Commit records a store commit of units units that took took.
func (m *Metrics) Commit(units int, took time.Duration) {
	if m == nil {
		return
	}
	m.commitBatch.Observe(float64(units))
	m.storeDuration.WithLabelValues("save_batch").Observe(took.Seconds())
}

// Store records a store operation other than a commit.
func (m *Metrics) Store(operation string, took time.Duration) {
	if m != nil {
		m.storeDuration.WithLabelValues(operation).Observe(took.Seconds())
	}
}

// OperationFinished counts an operation that completed or failed.
func (m *Metrics) OperationFinished(kind, outcome string) {
	if m != nil {
		m.operations.WithLabelValues(kind, outcome).Inc()
	}
}

// liveCalls reads the live calls by state and kind when scraped.
type liveCalls struct {
	read func(context.Context) ([]LiveCount, error)
}

var liveCallsDesc = prometheus.NewDesc("callplane_calls", "Live calls (not yet terminated), by state and kind (peerToPeer, meetingLeg, adHocGroup).", []string{"state", "kind"}, nil)

func (l *liveCalls) Describe(ch chan<- *prometheus.Desc) { ch <- liveCallsDesc }

func (l *liveCalls) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := l.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(liveCallsDesc, err)
		return
	}
	for _, c := range counts {
		ch <- prometheus.MustNewConstMetric(liveCallsDesc, prometheus.GaugeValue, float64(c.Calls), c.State, c.Kind)
	}
}
