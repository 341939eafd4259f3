package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/delivery"
)

// DefaultListen is where callplane listens unless told otherwise.
const DefaultListen = "127.0.0.1:8080"

// Config is everything a server needs. Its settings are named after the
// flags of callplane serve, which is how Validate's errors name them.
type Config struct {
	// Listen is the address of the HTTP listener.
	Listen string
	// DataDir holds the database, keys and the identity directory.
	DataDir string
	// PublicURL, when set, is the one base URL callplane advertises: in the
	// banner, Location headers, @odata.context, the OpenID documents and
	// the issuer of the tokens it issues. Empty means each listener's own
	// address. It never decides which tokens are accepted.
	PublicURL string
	// TLSListen, when set, is the address of an HTTPS listener serving the
	// same API: clients such as the Graph JavaScript client only send their
	// token over HTTPS.
	TLSListen string
	// TLSCert and TLSKey are the operator's certificate and key files. When
	// empty, callplane uses a certificate of its own, signed by a CA it
	// generates in the data directory (tls/ca.pem is the file to trust).
	TLSCert, TLSKey string
	// TLSHosts are extra names (DNS or IP) for the generated certificate.
	TLSHosts []string
	Timing   call.Timing
	// Retention is how long ended calls and finished notifications stay.
	Retention time.Duration
	Delivery  delivery.Config
	// CallbackIssuer is the iss claim of callback tokens.
	CallbackIssuer string
	// Loose lets requests without a token act as the default application.
	Loose bool
	// ReadTimeout bounds reading one request, headers and body: a client
	// that does not send its body in time is cut off.
	ReadTimeout time.Duration
	// MaxConnsPerClient bounds the connections one client (a source IP
	// address) holds open at once; more are closed as they are accepted.
	MaxConnsPerClient int
	// MaxCallsPerApp bounds each application's live calls, as Graph's
	// concurrency limit does; zero means no limit.
	MaxCallsPerApp int
	// CallingWebhook, when set, becomes the dev application's calling
	// webhook at start: where its incoming calls are announced.
	CallingWebhook string
	// PromptFetch fetches the prompts bots play (to learn how long they
	// last and whether they can play); off, every prompt plays for
	// PromptDuration.
	PromptFetch    bool
	PromptDuration time.Duration
	// ReadyFile, when set, is where a JSON description of the running
	// server (Ready) is written once it accepts requests, and removed when
	// it stops.
	ReadyFile string
	// Ephemeral keeps everything in a temporary data directory, removed
	// when the server stops; DataDir is then ignored.
	Ephemeral bool
	// Timeline records each call's requests for GET
	// /callplane/calls/{id}/timeline and scenarios.
	Timeline bool
	// Store, when set, is the URL of a PostgreSQL database (postgres://…)
	// that holds everything instead of the data directory: several nodes
	// on one database are a cluster. DataDir then keeps only what is the
	// node's own (TLS files).
	Store string
	// LeaseTTL is how long a node that stops renewing its lease (it died)
	// keeps its calls before another node takes them over.
	LeaseTTL time.Duration
	// MetricsListen, when set, is an address that serves GET /metrics
	// without credentials, for a scraper on a private network (the main
	// listener serves it behind the admin credential).
	MetricsListen string
	Logger        *slog.Logger
}

// Defaults returns a configuration with every default filled in.
func Defaults() Config {
	return Config{
		Listen:            DefaultListen,
		DataDir:           "callplane-data",
		Timing:            call.DefaultTiming,
		Retention:         24 * time.Hour,
		Delivery:          delivery.DefaultConfig,
		CallbackIssuer:    auth.DefaultCallbackIssuer,
		ReadTimeout:       30 * time.Second,
		MaxConnsPerClient: 256,
		PromptFetch:       true,
		PromptDuration:    time.Second,
		Timeline:          true,
		LeaseTTL:          10 * time.Second,
	}
}

// Validate refuses settings callplane cannot run with, naming each by its
// flag and saying what it accepts.
func (c Config) Validate() error {
	var errs []error
	fail := func(flag string, value any, accepts string) {
		errs = append(errs, fmt.Errorf("--%s %v: %s", flag, value, accepts))
	}
	address := func(flag, addr string, optional bool) {
		if addr == "" && optional {
			return
		}
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			fail(flag, fmt.Sprintf("%q", addr), "must be an address to listen on, host:port (port 0 picks a free one)")
		}
	}
	address("listen", c.Listen, false)
	address("tls-listen", c.TLSListen, true)
	address("metrics-listen", c.MetricsListen, true)
	if c.DataDir == "" && !c.Ephemeral {
		fail("data", `""`, "must name a directory")
	}
	if c.PublicURL != "" {
		if err := validPublicURL(c.PublicURL); err != nil {
			fail("public-url", c.PublicURL, err.Error())
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		fail("tls-cert", fmt.Sprintf("%q", c.TLSCert), "needs --tls-key, and --tls-key needs --tls-cert")
	}
	nonNegative := func(flag string, d time.Duration, meaning string) {
		if d < 0 {
			fail(flag, d, "must not be negative ("+meaning+")")
		}
	}
	positive := func(flag string, d time.Duration, meaning string) {
		if d <= 0 {
			fail(flag, d, "must be a positive duration ("+meaning+")")
		}
	}
	nonNegative("answer-delay", c.Timing.AnswerDelay, "how long a simulated callee takes to answer")
	nonNegative("teardown-delay", c.Timing.TeardownDelay, "how long a call stays terminating")
	nonNegative("keepalive-timeout", c.Timing.KeepAliveTimeout, "0 never ends idle calls")
	positive("incoming-timeout", c.Timing.IncomingTimeout, "how long an incoming call rings a bot")
	positive("ring-timeout", c.Timing.RingTimeout, "how long a call rings a person who does not answer")
	if c.Retention < time.Second {
		fail("retention", c.Retention, "must be at least 1s (how long ended calls and notifications are kept)")
	}
	positive("read-timeout", c.ReadTimeout, "how long a client may take to send a request")
	positive("prompt-duration", c.PromptDuration, "how long a prompt plays when prompts are not fetched")
	d := c.Delivery
	positive("delivery-deadline", d.RetryDeadline, "how long a notification is retried")
	positive("delivery-min-backoff", d.MinBackoff, "the first wait before a retry")
	positive("delivery-max-backoff", d.MaxBackoff, "the longest wait between attempts")
	if d.MinBackoff > 0 && d.MaxBackoff > 0 && d.MinBackoff > d.MaxBackoff {
		fail("delivery-min-backoff", d.MinBackoff, fmt.Sprintf("must not exceed --delivery-max-backoff (%v)", d.MaxBackoff))
	}
	positive("delivery-connect-timeout", d.ConnectTimeout, "the timeout connecting to a bot")
	positive("delivery-response-timeout", d.ResponseTimeout, "the timeout waiting for a bot's answer")
	positive("delivery-slow-after", d.SlowAfter, "when an attempt in flight counts as slow")
	inRange := func(flag string, n, lo, hi int, meaning string) {
		if n < lo || n > hi {
			fail(flag, n, fmt.Sprintf("must be from %d to %d (%s)", lo, hi, meaning))
		}
	}
	inRange("delivery-per-host", d.PerHostConcurrency, 1, 10000, "notifications in flight to one callback host")
	inRange("delivery-max", d.MaxConcurrency, 1, 100000, "notifications starting at once")
	inRange("delivery-max-slow", d.MaxSlow, 1, 100000, "slow notifications in flight")
	inRange("delivery-backlog", d.MaxBacklog, 1, 10000000, "undelivered notifications one callback host may have")
	inRange("max-conns-per-client", c.MaxConnsPerClient, 1, 1000000, "connections one client address may hold open")
	inRange("max-calls-per-app", c.MaxCallsPerApp, 0, 10000000, "live calls per application; 0 is no limit")
	if c.Store != "" {
		if u, err := url.Parse(c.Store); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			fail("store", redactURL(c.Store), "must be a PostgreSQL URL, postgres://user:password@host:port/database (or empty: the embedded SQLite in --data)")
		}
		if c.LeaseTTL < time.Second {
			fail("lease-ttl", c.LeaseTTL, "must be at least 1s (how long a dead node's calls wait for another node)")
		}
		if c.Ephemeral {
			fail("ephemeral", true, "keeps a node's own temporary data directory, not a database: leave it out with --store")
		}
	}
	return errors.Join(errs...)
}

// redactURL hides a URL's password, for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// validPublicURL accepts an absolute http or https URL with a host and
// nothing after it but a slash: callplane's routes start at the root.
func validPublicURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("must be an http or https URL")
	case u.Host == "" || u.User != nil:
		return errors.New("must name a host, without user info")
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
		return errors.New("must be a base URL without a path: callplane's routes start at its root")
	}
	if _, err := call.URLPort(u); err != nil {
		return err
	}
	return nil
}
