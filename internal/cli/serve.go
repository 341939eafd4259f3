package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/callplane/callplane/internal/delivery"
	"github.com/callplane/callplane/internal/server"
)

// onOff reads a switch's value.
func onOff(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "true", "1":
		return true, nil
	case "off", "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("want on or off")
}

func runServe(args []string, stdout, stderr io.Writer) error {
	cfg := server.Defaults()
	fs := newFlagSet("serve", "Run callplane until interrupted.", stderr)
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "address to listen on")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory: database, keys and app registrations (created on first start); with --store, only the node's own TLS files")
	fs.StringVar(&cfg.Store, "store", "", "PostgreSQL URL (postgres://user:password@host:port/db) holding everything instead of --data: nodes on one database are a cluster (default: the embedded SQLite in --data)")
	fs.DurationVar(&cfg.LeaseTTL, "lease-ttl", cfg.LeaseTTL, "with --store: how long a node that died keeps its calls before another node takes them over")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "the base URL callplane advertises (banner, Location, OpenID documents, token issuer), behind a proxy or port mapping (default: each listener's address)")
	fs.StringVar(&cfg.TLSListen, "tls-listen", "", "also serve HTTPS on this address (for clients that send tokens only over HTTPS)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "certificate file for HTTPS (default: one callplane generates, signed by its own CA in the data directory)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "private key file for --tls-cert")
	tlsHosts := fs.String("tls-hosts", "", "comma-separated extra host names or IPs for the generated certificate")
	fs.DurationVar(&cfg.Timing.AnswerDelay, "answer-delay", cfg.Timing.AnswerDelay, "how long a simulated callee takes to answer")
	fs.DurationVar(&cfg.Timing.TeardownDelay, "teardown-delay", cfg.Timing.TeardownDelay, "how long a call stays terminating before it is terminated")
	fs.DurationVar(&cfg.Timing.KeepAliveTimeout, "keepalive-timeout", cfg.Timing.KeepAliveTimeout, "end calls not kept alive for this long (0: never)")
	fs.DurationVar(&cfg.Timing.IncomingTimeout, "incoming-timeout", cfg.Timing.IncomingTimeout, "how long an incoming call rings a bot before it ends unanswered (Graph: 15s)")
	fs.DurationVar(&cfg.Timing.RingTimeout, "ring-timeout", cfg.Timing.RingTimeout, "how long a call rings a simulated person who does not answer")
	fs.StringVar(&cfg.CallingWebhook, "calling-webhook", "", "the dev application's calling webhook: where calls to it are announced (kept in the data directory)")
	fs.Func("prompt-fetch", "on: fetch the prompts bots play (their length and format count); off: play each for --prompt-duration (default on)", func(v string) error {
		on, err := onOff(v)
		cfg.PromptFetch = on
		return err
	})
	fs.DurationVar(&cfg.PromptDuration, "prompt-duration", cfg.PromptDuration, "how long each prompt plays with --prompt-fetch=off")
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", "", "also serve GET /metrics on this address, without credentials, for a scraper on a private network (the main listener serves it behind the admin credential)")
	fs.StringVar(&cfg.ReadyFile, "ready-file", "", "once callplane accepts requests, write a JSON file here with its URLs, tenant, client id and secret, admin secret and pid (removed at exit)")
	fs.BoolVar(&cfg.Ephemeral, "ephemeral", false, "keep everything in a temporary data directory, removed at exit (--data is ignored)")
	fs.Func("timeline", "on: record each call's requests for GET /callplane/calls/{id}/timeline and scenarios; off: do not (default on)", func(v string) error {
		on, err := onOff(v)
		cfg.Timeline = on
		return err
	})
	fs.DurationVar(&cfg.Retention, "retention", cfg.Retention, "how long ended calls and delivered notifications are kept for inspection")
	fs.StringVar(&cfg.CallbackIssuer, "callback-issuer", cfg.CallbackIssuer, "iss claim of the tokens on notifications")
	fs.DurationVar(&cfg.Delivery.RetryDeadline, "delivery-deadline", cfg.Delivery.RetryDeadline, "how long a notification is retried before it is marked failed")
	fs.DurationVar(&cfg.Delivery.MinBackoff, "delivery-min-backoff", cfg.Delivery.MinBackoff, "first wait before retrying a notification; it doubles with each attempt")
	fs.DurationVar(&cfg.Delivery.MaxBackoff, "delivery-max-backoff", cfg.Delivery.MaxBackoff, "longest wait between attempts")
	fs.DurationVar(&cfg.Delivery.ConnectTimeout, "delivery-connect-timeout", cfg.Delivery.ConnectTimeout, "timeout connecting to a bot")
	fs.DurationVar(&cfg.Delivery.ResponseTimeout, "delivery-response-timeout", cfg.Delivery.ResponseTimeout, "timeout waiting for a bot's response")
	fs.IntVar(&cfg.Delivery.PerHostConcurrency, "delivery-per-host", cfg.Delivery.PerHostConcurrency, "notifications in flight to one callback host")
	fs.IntVar(&cfg.Delivery.MaxConcurrency, "delivery-max", cfg.Delivery.MaxConcurrency, "notification attempts starting at once (fresh slots)")
	fs.DurationVar(&cfg.Delivery.SlowAfter, "delivery-slow-after", cfg.Delivery.SlowAfter, "an attempt still in flight after this is slow: it gives its fresh slot back")
	fs.IntVar(&cfg.Delivery.MaxSlow, "delivery-max-slow", cfg.Delivery.MaxSlow, "slow attempts in flight; more are cut short and retried")
	fs.IntVar(&cfg.Delivery.MaxBacklog, "delivery-backlog", cfg.Delivery.MaxBacklog, "undelivered notifications one callback host may have; more are failed at once")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", cfg.ReadTimeout, "a client must send a whole request (headers and body) within this")
	fs.IntVar(&cfg.MaxConnsPerClient, "max-conns-per-client", cfg.MaxConnsPerClient, "connections one client IP address may hold open (raise it behind a proxy)")
	fs.IntVar(&cfg.MaxCallsPerApp, "max-calls-per-app", 0, "live calls per application, as Graph limits them (0: no limit); more are refused with 429")
	callbackAllow := fs.String("callback-allow", "", "comma-separated host names, IPs and CIDR networks that callbacks may go to; when set, callbacks must also use https (default: anywhere)")
	fs.BoolVar(&cfg.Delivery.Policy.HTTPSOnly, "callback-https-only", false, "refuse http callback URIs")
	fs.BoolVar(&cfg.Loose, "loose", false, "let requests without a token act as the dev application (never in production)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format: text (key=value) or json (one object per line)")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile of the whole run to this file (go tool pprof reads it)")
	pprofAddr := fs.String("pprof", "", "serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6060")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *callbackAllow != "" {
		policy, err := delivery.ParsePolicyList(*callbackAllow)
		if err != nil {
			return err
		}
		cfg.Delivery.Policy = policy
	}
	if *tlsHosts != "" {
		cfg.TLSHosts = strings.Split(*tlsHosts, ",")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	switch *logFormat {
	case "text":
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	case "json":
		cfg.Logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	default:
		return fmt.Errorf("--log-format %q: must be text or json", *logFormat)
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *pprofAddr != "" {
		ln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return fmt.Errorf("--pprof: %w", err)
		}
		defer ln.Close()
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
		fmt.Fprintf(stdout, "  profiler:        http://%s/debug/pprof/\n", ln.Addr())
		go http.Serve(ln, mux)
	}
	srv, err := server.Start(cfg)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, srv.Describe())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	stop()
	cfg.Logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
