// Package server assembles callplane from its parts: the data directory, the
// identity directory and keys, the store, delivery, the control service and
// the HTTP surfaces, and runs them with an orderly start and stop.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/console"
	"github.com/callplane/callplane/internal/control"
	"github.com/callplane/callplane/internal/delivery"
	"github.com/callplane/callplane/internal/fault"
	"github.com/callplane/callplane/internal/graph"
	"github.com/callplane/callplane/internal/httpapi"
	"github.com/callplane/callplane/internal/media"
	"github.com/callplane/callplane/internal/metrics"
	"github.com/callplane/callplane/internal/sim"
	"github.com/callplane/callplane/internal/store"
	"github.com/callplane/callplane/internal/store/cache"
	"github.com/callplane/callplane/internal/store/sqlite"
	"github.com/callplane/callplane/internal/timeline"
)

// Files in the data directory.
const (
	databaseFile    = "callplane.db"
	directoryFile   = "directory.json"
	runtimeFile     = "server.json"
	graphKeyFile    = "keys/graph-token-signing.pem"
	callbackKeyFile = "keys/callback-signing.pem"
)

// Identity is the data directory's identity material: the directory of
// tenant and applications, and the key Graph tokens are signed with.
type Identity struct {
	Directory *auth.Directory
	GraphKey  *auth.Key
	// Opened says whether the directory was created, or completed, now.
	Opened auth.Opened
}

// OpenIdentity loads the data directory's identity, creating the directory
// and its dev tenant, application and keys on first use.
func OpenIdentity(dataDir string) (*Identity, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	dir, opened, err := auth.LoadOrCreateDirectory(filepath.Join(dataDir, directoryFile))
	if err != nil {
		return nil, err
	}
	key, err := auth.LoadOrCreateKey(filepath.Join(dataDir, graphKeyFile))
	if err != nil {
		return nil, err
	}
	return &Identity{Directory: dir, GraphKey: key, Opened: opened}, nil
}

// runtimeInfo is what a running server writes into its data directory so
// that commands run beside it (callplane token, sim, app) find it.
type runtimeInfo struct {
	// BaseURL is where the server listens, for commands on this machine.
	BaseURL string `json:"baseUrl"`
	// PublicURL is the base URL it advertises, when that is another.
	PublicURL string `json:"publicUrl,omitempty"`
	PID       int    `json:"pid"`
}

// TokenService returns a token service for the data directory whose tokens
// name the server that last ran on it (any callplane on the data directory
// accepts them, whatever its address).
func (id *Identity) TokenService(dataDir string) *auth.TokenService {
	base := RunningURL(dataDir)
	if info, ok := readRuntime(dataDir); ok && info.PublicURL != "" {
		base = info.PublicURL
	}
	return auth.NewTokenService(id.Directory, id.GraphKey, base)
}

// RunningURL is the base URL of the server that last ran on the data
// directory, or the default one if none has.
func RunningURL(dataDir string) string {
	if info, ok := readRuntime(dataDir); ok && info.BaseURL != "" {
		return info.BaseURL
	}
	return "http://" + DefaultListen
}

func readRuntime(dataDir string) (runtimeInfo, bool) {
	var info runtimeInfo
	raw, err := os.ReadFile(filepath.Join(dataDir, runtimeFile))
	return info, err == nil && json.Unmarshal(raw, &info) == nil
}

// Server is a running callplane.
type Server struct {
	cfg      Config
	log      *slog.Logger
	identity *Identity
	tokens   *auth.TokenService
	store    store.Store
	delivery *delivery.Dispatcher
	calls    *control.Service
	world    *sim.World
	engine   *media.Engine
	// cluster is set for a node on a shared PostgreSQL store.
	cluster *cluster
	// requests records the bots' requests for calls' timelines; nil when
	// the timeline is off.
	requests *timeline.Recorder
	// faults are the fault rules tests add.
	faults *fault.Set
	// console is the browser console at /console.
	console *console.Console
	// metrics are served at /metrics (and on --metrics-listen, at
	// metricsURL).
	metrics       *metrics.Metrics
	metricsServer *http.Server
	metricsURL    string

	http *http.Server
	// listenURL is the HTTP listener's own address; tlsListenURL the HTTPS
	// one's. httpURL and tlsURL are what each advertises: the public URL
	// when there is one, else the listener's own address.
	listenURL, tlsListenURL string
	httpURL, tlsURL         string
	// caPath is set when the HTTPS listener's certificate is callplane's own.
	caPath string
	// stopping is set when Shutdown begins: health says 503 from then on.
	stopping atomic.Bool
	cancel   context.CancelFunc
	done     chan struct{}
}

// Start opens the data directory and starts serving. It returns once the
// listeners are bound; Shutdown stops everything.
func Start(cfg Config) (s *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Ephemeral {
		if cfg.DataDir, err = os.MkdirTemp("", "callplane-"); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				os.RemoveAll(cfg.DataDir)
			}
		}()
	}
	var (
		identity    *Identity
		callbackKey *auth.Key
		st          store.Store
		shared      *cluster
	)
	if cfg.Store != "" {
		// Everything in PostgreSQL, shared with the other nodes; no cache
		// of live calls, since other nodes change them.
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		db, id, key, err := openShared(ctx, cfg.Store, newNodeID())
		cancel()
		if err != nil {
			return nil, err
		}
		identity, callbackKey, st, shared = id, key, db, &cluster{db: db}
	} else {
		if identity, err = OpenIdentity(cfg.DataDir); err != nil {
			return nil, err
		}
		if callbackKey, err = auth.LoadOrCreateKey(filepath.Join(cfg.DataDir, callbackKeyFile)); err != nil {
			return nil, err
		}
		db, err := sqlite.Open(filepath.Join(cfg.DataDir, databaseFile))
		if err != nil {
			return nil, err
		}
		st = cache.New(db) // this process owns the database: live calls can stay in memory
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if identity.Opened.NewAdminSecret {
		log.Warn("directory.json had no admin secret: generated one (the banner prints it)")
	}
	if cfg.CallingWebhook != "" {
		if err := cfg.Delivery.Policy.Check(cfg.CallingWebhook); err != nil {
			return nil, fmt.Errorf("--calling-webhook: %w", err)
		}
		dev := identity.Directory.DefaultApplication().ClientID
		if _, err := identity.Directory.UpdateApplication(dev, auth.AppChanges{CallingWebhook: &cfg.CallingWebhook}); err != nil {
			return nil, err
		}
	}
	var closers closeOnError
	defer func() { closers.run(err) }()
	raw, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	closers.add(raw)
	ln := limitClients(raw, cfg.MaxConnsPerClient, log.With("component", "http"))
	s = &Server{
		cfg:       cfg,
		log:       log,
		identity:  identity,
		store:     st,
		cluster:   shared,
		listenURL: "http://" + reachable(ln.Addr()),
		done:      make(chan struct{}),
	}
	public := strings.TrimSuffix(cfg.PublicURL, "/")
	s.httpURL = cmp(public, s.listenURL)
	var tlsLn net.Listener
	if cfg.TLSListen != "" {
		rawTLS, tlsConfig, caPath, err := listenTLS(cfg)
		if err != nil {
			return nil, err
		}
		closers.add(rawTLS)
		s.caPath = caPath
		s.tlsListenURL = "https://" + reachable(rawTLS.Addr())
		s.tlsURL = cmp(public, s.tlsListenURL)
		tlsLn = tls.NewListener(limitClients(rawTLS, cfg.MaxConnsPerClient, log.With("component", "https")), tlsConfig)
	}
	dir := identity.Directory
	s.tokens = auth.NewTokenService(dir, identity.GraphKey, s.httpURL)
	signer := auth.NewCallbackSigner(callbackKey, cfg.CallbackIssuer)

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	s.metrics = metrics.New(metrics.Sources{
		LiveCalls: func(ctx context.Context) ([]metrics.LiveCount, error) {
			counts, err := st.LiveCounts(ctx)
			out := make([]metrics.LiveCount, len(counts))
			for i, c := range counts {
				out[i] = metrics.LiveCount{State: string(c.State), Kind: cmp(string(c.Kind), "unknown"), Calls: c.Calls}
			}
			return out, err
		},
		Backlog: func() int { return s.delivery.Backlog() },
	})
	cfg.Delivery.Metrics = s.metrics
	if shared != nil {
		if s.faults, err = fault.NewShared(ctx, shared.db.FaultRules()); err != nil {
			return nil, err
		}
	} else {
		s.faults = fault.New()
	}
	cfg.Delivery.Faults = s.faults
	s.delivery = delivery.New(st, signer, cfg.Delivery, log.With("component", "delivery"))
	if err := s.delivery.Start(ctx); err != nil {
		return nil, err
	}
	if cfg.Timeline {
		s.requests = timeline.New(st, log.With("component", "timeline"))
		go s.requests.Run(ctx)
	}
	world := sim.New(dir, st)
	if shared != nil {
		world.SharedStore()
	}
	s.world = world
	engine := media.New(media.Config{
		Check:         cfg.Delivery.Policy.Check,
		Dial:          cfg.Delivery.Policy.DialContext((&net.Dialer{}).DialContext),
		Fetch:         cfg.PromptFetch,
		FixedDuration: cfg.PromptDuration,
	})
	s.engine = engine
	s.calls = control.New(st, s.delivery, control.Config{
		Timing:         cfg.Timing,
		Metrics:        s.metrics,
		Retention:      cfg.Retention,
		CheckCallback:  cfg.Delivery.Policy.Check,
		MaxCallsPerApp: cfg.MaxCallsPerApp,
		Parties:        world,
		Media:          engine,
		RecordingURL: func(callID, opID string) string {
			return s.httpURL + graph.RecordingPath(callID, opID)
		},
	}, log.With("component", "control"))
	world.Drive(s.calls)

	var opts []httpapi.Option
	if cfg.Loose {
		dev := dir.DefaultApplication().ClientID
		opts = append(opts,
			httpapi.Loose(func() *auth.Principal {
				roles, _ := dir.Registered(dev) // its current roles, as for a token
				return &auth.Principal{TenantID: dir.TenantID(), AppID: dev, Roles: roles}
			}),
			httpapi.Guard(s.sameOrigin))
	}
	opts = append(opts, httpapi.Faults(s.faults), httpapi.Metrics(s.metrics), httpapi.DeviceQuality(world.LogDeviceQuality))
	s.tokens.SetFailures(func(appID string) (auth.TokenFailure, bool) {
		e, ok := s.faults.TokenRequest(appID)
		return auth.TokenFailure{Status: e.Status, RetryAfter: e.RetryAfter, Latency: e.Latency, Rule: e.RuleID}, ok
	})
	var requestLog media.RequestLog
	var requests func(context.Context, string) ([]store.Request, error)
	if s.requests != nil {
		opts = append(opts, httpapi.Timeline(s.requests))
		requestLog = s.requests
		requests = func(ctx context.Context, callID string) ([]store.Request, error) {
			if err := s.requests.Flush(ctx); err != nil {
				return nil, err
			}
			return st.Requests(ctx, callID)
		}
	}
	api := httpapi.New(s.calls, s.tokens, s.advertised, log.With("component", "api"), opts...)
	adminAPI := admin.New(admin.Deps{
		Secret:       dir.AdminSecret(),
		TenantID:     dir.TenantID(),
		Outbox:       st,
		Sim:          s.calls,
		Applications: dir,
		Calls:        s.calls,
		World:        world,
		CheckURL:     cfg.Delivery.Policy.Check,
		Reset:        s.Reset,
		Faults:       s.faults,
		Requests:     requests,
		CallList:     st,
		GroupList:    st,
		Log:          log.With("component", "admin"),
	})
	s.console = console.New(console.Deps{Secret: dir.AdminSecret(), TenantID: dir.TenantID(), Admin: adminAPI, Store: st,
		Recording: s.calls.Recording, Recordings: media.Recordings(s.calls.Recording, nil), CallbackToken: signer.Token,
		Log: log.With("component", "console")})

	s.http = &http.Server{
		Handler:           s.router(api, adminAPI, signer, media.Recordings(s.calls.Recording, requestLog)),
		ReadHeaderTimeout: min(10*time.Second, cfg.ReadTimeout),
		// ReadTimeout cuts off a client that does not send its request in
		// time. There is no WriteTimeout: it would cut long-lived responses
		// (event streams), which lift the read deadline for themselves.
		ReadTimeout:    cfg.ReadTimeout,
		IdleTimeout:    time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       (&logAdapter{log: log.With("component", "http")}).logger(),
	}
	s.http.RegisterOnShutdown(s.console.Close) // its event streams end
	if err := writeRuntime(cfg.DataDir, runtimeInfo{BaseURL: s.listenURL, PublicURL: public, PID: os.Getpid()}); err != nil {
		return nil, err
	}
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return nil, fmt.Errorf("--metrics-listen: %w", err)
		}
		closers.add(mln)
		only := http.NewServeMux()
		only.Handle("GET /metrics", s.metrics.Handler())
		s.metricsServer = &http.Server{Handler: only, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: cfg.ReadTimeout}
		s.metricsURL = "http://" + reachable(mln.Addr())
		go s.metricsServer.Serve(mln)
	}
	timersDone := make(chan struct{})
	go func() {
		defer close(timersDone)
		if err := s.calls.Run(ctx); err != nil {
			log.Error("call timers stopped", "err", err)
		}
	}()
	if shared != nil {
		if err := s.joinCluster(ctx); err != nil {
			cancel()
			<-timersDone
			s.calls.Close()
			s.delivery.Wait(context.Background())
			return nil, err
		}
	}
	serveDone := make(chan struct{})
	go func() {
		defer close(serveDone)
		if tlsLn == nil {
			return
		}
		if err := s.http.Serve(tlsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("https server stopped", "err", err)
		}
	}()
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
		<-serveDone
		<-timersDone
	}()
	if cfg.ReadyFile != "" {
		// The listeners are bound and served: a request made once the file
		// exists is answered.
		if err := writeReady(cfg.ReadyFile, s.Ready()); err != nil {
			s.Shutdown(context.Background())
			return nil, fmt.Errorf("--ready-file: %w", err)
		}
	}
	return s, nil
}

// closeOnError closes what Start opened when Start fails.
type closeOnError []interface{ Close() error }

func (c *closeOnError) add(x interface{ Close() error }) { *c = append(*c, x) }

func (c closeOnError) run(err error) {
	if err == nil {
		return
	}
	for _, x := range c {
		x.Close()
	}
}

// cmp returns the first of its arguments that is not empty.
func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// listenTLS opens the HTTPS listener's socket and its TLS configuration,
// with the operator's certificate or callplane's own; caPath is the CA to
// trust in the second case.
func listenTLS(cfg Config) (ln net.Listener, config *tls.Config, caPath string, err error) {
	var cert tls.Certificate
	switch {
	case cfg.TLSCert != "" || cfg.TLSKey != "":
		if cert, err = tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			return nil, nil, "", fmt.Errorf("server: TLS certificate: %w", err)
		}
	default:
		hosts := cfg.TLSHosts
		if u, err := url.Parse(cfg.PublicURL); err == nil && u.Hostname() != "" {
			hosts = append(hosts, u.Hostname())
		}
		if cert, caPath, err = devCertificate(cfg.DataDir, tlsHosts(cfg.TLSListen, hosts)); err != nil {
			return nil, nil, "", fmt.Errorf("server: generate TLS certificate: %w", err)
		}
	}
	raw, err := net.Listen("tcp", cfg.TLSListen)
	if err != nil {
		return nil, nil, "", err
	}
	return raw, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, caPath, nil
}

// reachable turns a listen address into one a client can dial: an
// unspecified host becomes loopback.
func reachable(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func writeRuntime(dataDir string, info runtimeInfo) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dataDir, runtimeFile), append(data, '\n'), 0o600)
}

// advertised is the base URL callplane names to the client of r: the
// public URL if there is one, else the address of the listener r came in
// on. It never comes from the request's Host header, which a client (or a
// page in a browser, through DNS rebinding) chooses.
func (s *Server) advertised(r *http.Request) string {
	if r.TLS != nil && s.tlsURL != "" {
		return s.tlsURL
	}
	return s.httpURL
}

// router sends each request to the surface that owns its first path segment:
// Graph under /v1.0 and /beta, callplane's admin API under /callplane,
// recordings under /media, and the identity endpoints (which start with a tenant id, or /v1 for callback
// tokens) elsewhere. Every surface answers unknown paths with its own JSON
// error body. A panic anywhere is contained, logged and answered with 500.
func (s *Server) router(api *httpapi.API, adminAPI *admin.API, signer *auth.CallbackSigner, recordings http.Handler) http.Handler {
	identity := http.NewServeMux()
	s.tokens.Routes(identity, s.advertised)
	signer.Routes(identity, s.advertised)
	identity.HandleFunc("GET /healthz", s.health)
	identity.HandleFunc("/", auth.Unrouted(identity))
	metricsAPI := http.NewServeMux()
	metricsAPI.Handle("GET /metrics", admin.RequireSecret(s.identity.Directory.AdminSecret(), s.metrics.Handler()))
	metricsAPI.Handle("/", admin.RequireSecret(s.identity.Directory.AdminSecret(), http.NotFoundHandler()))
	return containPanics(s.log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		switch first {
		case "v1.0", "beta":
			api.ServeHTTP(w, r)
		case "callplane":
			if r.URL.Path == "/callplane/health" && r.Method == http.MethodGet {
				s.health(w, r) // without credentials: for probes and CI scripts
				return
			}
			adminAPI.ServeHTTP(w, r)
		case "media":
			recordings.ServeHTTP(w, r)
		case "metrics":
			metricsAPI.ServeHTTP(w, r)
		case "console":
			s.console.ServeHTTP(w, r)
		default:
			identity.ServeHTTP(w, r)
		}
	}))
}

// health answers liveness and readiness in one: 200 while callplane
// serves, 503 once it is stopping.
func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.stopping.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"stopping"}` + "\n"))
		return
	}
	w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// containPanics turns a handler's panic into an error logged with its
// stack and a 500 with a JSON body, so that one bad request never takes the
// process down, on any path. (net/http would recover too, but log at its
// own level and answer nothing.)
func containPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"error":{"code":"generalException","message":"An internal server error occurred."}}` + "\n"))
		}()
		next.ServeHTTP(w, r)
	})
}

// URL is the base URL the server advertises for plain HTTP: the public URL
// if one was configured, else the HTTP listener's address.
func (s *Server) URL() string { return s.httpURL }

// ListenURL is the HTTP listener's own address, whatever is advertised.
func (s *Server) ListenURL() string { return s.listenURL }

// MetricsURL is the --metrics-listen listener's base URL, if there is one.
func (s *Server) MetricsURL() string { return s.metricsURL }

// TLSURL is the base URL advertised for HTTPS, if there is an HTTPS listener.
func (s *Server) TLSURL() string { return s.tlsURL }

// TLSListenURL is the HTTPS listener's own address, if there is one.
func (s *Server) TLSListenURL() string { return s.tlsListenURL }

// CACertPath is the certificate to trust for the HTTPS listener, when its
// certificate is callplane's own.
func (s *Server) CACertPath() string { return s.caPath }

// Directory is the server's identity directory.
func (s *Server) Directory() *auth.Directory { return s.identity.Directory }

// Tokens is the server's Graph token service.
func (s *Server) Tokens() *auth.TokenService { return s.tokens }

// Notifications lists outbox entries and how their delivery went.
func (s *Server) Notifications(ctx context.Context, f store.Filter) ([]store.Notification, error) {
	return s.store.Notifications(ctx, f)
}

// Reset ends and forgets every call, meeting, person, notification and
// recording, without a notification for any of them, and keeps the
// identity (tenant, applications, keys): the next test starts clean, and
// tokens minted before still work. It returns once the reset is complete.
func (s *Server) Reset(ctx context.Context) error {
	err := s.calls.Exclusive(func() error {
		if err := s.dropQueued(ctx); err != nil {
			return err
		}
		if err := s.store.Reset(ctx); err != nil {
			return err
		}
		s.dropCaches()
		if err := s.faults.Clear(); err != nil {
			return err
		}
		s.log.Info("reset: every call, meeting, person and notification forgotten")
		return nil
	})
	if err == nil && s.cluster != nil {
		// The other nodes forget what they hold of the world, each under
		// its own lock; the reset answers once they have.
		err = s.cluster.node.AnnounceReset(ctx)
	}
	return err
}

// dropQueued drops what this node has yet to do for the world's calls:
// notifications to deliver, requests to record. Call it with no command
// running (Exclusive).
func (s *Server) dropQueued(ctx context.Context) error {
	s.delivery.Forget()
	if s.requests != nil {
		return s.requests.Forget(ctx)
	}
	return nil
}

// dropCaches empties what this node remembers of the store's world
// (people, prompts), once the store has been reset.
func (s *Server) dropCaches() {
	s.world.Forget()
	s.engine.Forget()
}

// Shutdown stops accepting requests, lets those in flight finish, stops the
// timers and delivery, and closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	if s.cfg.ReadyFile != "" {
		os.Remove(s.cfg.ReadyFile) // no longer ready
	}
	err := s.http.Shutdown(ctx)
	if s.metricsServer != nil {
		err = errors.Join(err, s.metricsServer.Shutdown(ctx))
	}
	s.cancel()
	<-s.done
	s.calls.Close()
	s.delivery.Wait(ctx)
	if s.requests != nil {
		s.requests.Wait()
	}
	if s.cluster != nil {
		// Delivery and the timers have stopped: the other nodes may have
		// this node's calls now.
		leaveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = errors.Join(err, s.cluster.node.Leave(leaveCtx))
		cancel()
	}
	err = errors.Join(err, s.store.Close())
	if s.cfg.Ephemeral {
		err = errors.Join(err, os.RemoveAll(s.cfg.DataDir))
	}
	return err
}
