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
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/callplane/callplane/internal/admin"
	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/control"
	"github.com/callplane/callplane/internal/delivery"
	"github.com/callplane/callplane/internal/httpapi"
	"github.com/callplane/callplane/internal/store"
	"github.com/callplane/callplane/internal/store/cache"
	"github.com/callplane/callplane/internal/store/sqlite"
)

// DefaultListen is where callplane listens unless told otherwise.
const DefaultListen = "127.0.0.1:8080"

// Config is everything a server needs.
type Config struct {
	// Listen is the address of the HTTP listener.
	Listen string
	// DataDir holds the database, keys and the identity directory.
	DataDir string
	// PublicURL is the base URL clients reach callplane at; it names the
	// token issuer. Empty means http:// and the listen address.
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
	Loose  bool
	Logger *slog.Logger
}

// Defaults returns a configuration with every default filled in.
func Defaults() Config {
	return Config{
		Listen:         DefaultListen,
		DataDir:        "callplane-data",
		Timing:         call.DefaultTiming,
		Retention:      24 * time.Hour,
		Delivery:       delivery.DefaultConfig,
		CallbackIssuer: auth.DefaultCallbackIssuer,
	}
}

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
	// Created reports that the directory was created by this call.
	Created bool
}

// OpenIdentity loads the data directory's identity, creating the directory
// and its dev tenant, application and keys on first use.
func OpenIdentity(dataDir string) (*Identity, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	dir, created, err := auth.LoadOrCreateDirectory(filepath.Join(dataDir, directoryFile))
	if err != nil {
		return nil, err
	}
	key, err := auth.LoadOrCreateKey(filepath.Join(dataDir, graphKeyFile))
	if err != nil {
		return nil, err
	}
	return &Identity{Directory: dir, GraphKey: key, Created: created}, nil
}

// runtimeInfo is what a running server writes into its data directory so
// that commands run beside it (callplane token) issue tokens it accepts.
type runtimeInfo struct {
	BaseURL string `json:"baseUrl"`
	Issuer  string `json:"issuer"`
	PID     int    `json:"pid"`
}

// TokenService returns a token service for the data directory, with the
// issuer of the server that last ran on it (or would run with defaults).
func (id *Identity) TokenService(dataDir string) *auth.TokenService {
	return auth.NewTokenService(id.Directory, id.GraphKey, auth.Issuer(RunningURL(dataDir), id.Directory.TenantID()))
}

// RunningURL is the base URL of the server that last ran on the data
// directory, or the default one if none has.
func RunningURL(dataDir string) string {
	if raw, err := os.ReadFile(filepath.Join(dataDir, runtimeFile)); err == nil {
		var info runtimeInfo
		if json.Unmarshal(raw, &info) == nil && info.BaseURL != "" {
			return info.BaseURL
		}
	}
	return "http://" + DefaultListen
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

	listener net.Listener
	http     *http.Server
	baseURL  string
	// tlsURL and caPath are set when the server also listens with TLS;
	// caPath only when the certificate is callplane's own.
	tlsURL, caPath string
	cancel         context.CancelFunc
	done           chan struct{}
}

// Start opens the data directory and starts serving. It returns once the
// listener is bound; Shutdown stops everything.
func Start(cfg Config) (s *Server, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	identity, err := OpenIdentity(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	callbackKey, err := auth.LoadOrCreateKey(filepath.Join(cfg.DataDir, callbackKeyFile))
	if err != nil {
		return nil, err
	}
	db, err := sqlite.Open(filepath.Join(cfg.DataDir, databaseFile))
	if err != nil {
		return nil, err
	}
	st := cache.New(db) // this process owns the database: live calls can stay in memory
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ln.Close()
		}
	}()
	base := strings.TrimSuffix(cfg.PublicURL, "/")
	if base == "" {
		base = "http://" + reachable(ln.Addr())
	}
	var tlsLn net.Listener
	var tlsURL, caPath string
	if cfg.TLSListen != "" {
		if tlsLn, caPath, err = listenTLS(cfg); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				tlsLn.Close()
			}
		}()
		tlsURL = "https://" + reachable(tlsLn.Addr())
	}
	dir := identity.Directory
	var otherIssuers []string
	if tlsURL != "" {
		otherIssuers = append(otherIssuers, auth.Issuer(tlsURL, dir.TenantID()))
	}
	tokens := auth.NewTokenService(dir, identity.GraphKey, auth.Issuer(base, dir.TenantID()), otherIssuers...)
	signer := auth.NewCallbackSigner(callbackKey, cfg.CallbackIssuer)

	ctx, cancel := context.WithCancel(context.Background())
	dispatcher := delivery.New(st, signer, cfg.Delivery, log.With("component", "delivery"))
	if err := dispatcher.Start(ctx); err != nil {
		cancel()
		return nil, err
	}
	calls := control.New(st, dispatcher, control.Config{
		Timing:        cfg.Timing,
		Retention:     cfg.Retention,
		CheckCallback: cfg.Delivery.Policy.Check,
	}, log.With("component", "control"))

	var opts []httpapi.Option
	if cfg.Loose {
		app := dir.DefaultApplication()
		opts = append(opts, httpapi.Loose(&auth.Principal{TenantID: dir.TenantID(), AppID: app.ClientID, Roles: app.Roles}))
	}
	api := httpapi.New(calls, tokens, log.With("component", "api"), opts...)
	adminAPI := admin.New(dir.AdminSecret(), dir.TenantID(), st, calls, log.With("component", "admin"))

	s = &Server{
		cfg:      cfg,
		log:      log,
		identity: identity,
		tokens:   tokens,
		store:    st,
		delivery: dispatcher,
		calls:    calls,
		listener: ln,
		baseURL:  base,
		tlsURL:   tlsURL,
		caPath:   caPath,
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	s.http = &http.Server{
		Handler:           s.router(api, adminAPI, tokens, signer),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if err := writeRuntime(cfg.DataDir, runtimeInfo{BaseURL: base, Issuer: tokens.Issuer(), PID: os.Getpid()}); err != nil {
		cancel()
		return nil, err
	}
	timersDone := make(chan struct{})
	go func() {
		defer close(timersDone)
		if err := calls.Run(ctx); err != nil {
			log.Error("call timers stopped", "err", err)
		}
	}()
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
	return s, nil
}

// listenTLS opens the HTTPS listener with the operator's certificate or
// callplane's own; caPath is the CA to trust in the second case.
func listenTLS(cfg Config) (ln net.Listener, caPath string, err error) {
	var cert tls.Certificate
	switch {
	case cfg.TLSCert != "" || cfg.TLSKey != "":
		if cert, err = tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			return nil, "", fmt.Errorf("server: TLS certificate: %w", err)
		}
	default:
		if cert, caPath, err = devCertificate(cfg.DataDir, tlsHosts(cfg.TLSListen, cfg.TLSHosts)); err != nil {
			return nil, "", fmt.Errorf("server: generate TLS certificate: %w", err)
		}
	}
	raw, err := net.Listen("tcp", cfg.TLSListen)
	if err != nil {
		return nil, "", err
	}
	return tls.NewListener(raw, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), caPath, nil
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

// router sends each request to the surface that owns its first path segment:
// Graph under /v1.0 and /beta, callback-token metadata under /v1, callplane's
// admin API under /callplane, and the Entra-shaped identity endpoints (which
// start with a tenant id) elsewhere.
func (s *Server) router(api *httpapi.API, adminAPI *admin.API, tokens *auth.TokenService, signer *auth.CallbackSigner) http.Handler {
	identity := http.NewServeMux()
	tokens.Routes(identity, httpapi.BaseURL)
	identity.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	callbacks := http.NewServeMux()
	signer.Routes(callbacks, httpapi.BaseURL)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		switch first {
		case "v1.0", "beta":
			api.ServeHTTP(w, r)
		case "v1":
			callbacks.ServeHTTP(w, r)
		case "callplane":
			adminAPI.ServeHTTP(w, r)
		default:
			identity.ServeHTTP(w, r)
		}
	})
}

// URL is the base URL the server is reachable at.
func (s *Server) URL() string { return s.baseURL }

// TLSURL is the base URL of the HTTPS listener, if there is one.
func (s *Server) TLSURL() string { return s.tlsURL }

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

// Shutdown stops accepting requests, lets those in flight finish, stops the
// timers and delivery, and closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	s.cancel()
	<-s.done
	s.calls.Close()
	s.delivery.Wait(ctx)
	return errors.Join(err, s.store.Close())
}

// Describe is the startup banner: where callplane is and how to use it.
func (s *Server) Describe() string {
	app := s.identity.Directory.DefaultApplication()
	var b strings.Builder
	fmt.Fprintf(&b, "callplane is listening\n")
	fmt.Fprintf(&b, "  Graph base URL:  %s/v1.0\n", s.baseURL)
	if s.tlsURL != "" {
		fmt.Fprintf(&b, "  HTTPS base URL:  %s/v1.0\n", s.tlsURL)
	}
	if s.caPath != "" {
		abs, err := filepath.Abs(s.caPath)
		if err != nil {
			abs = s.caPath
		}
		fmt.Fprintf(&b, "  trust this CA:   %s (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE)\n", abs)
	}
	fmt.Fprintf(&b, "  tenant id:       %s\n", s.identity.Directory.TenantID())
	fmt.Fprintf(&b, "  client id:       %s\n", app.ClientID)
	fmt.Fprintf(&b, "  client secret:   %s\n", app.Secret)
	fmt.Fprintf(&b, "  token endpoint:  %s/%s/oauth2/v2.0/token\n", s.baseURL, s.identity.Directory.TenantID())
	fmt.Fprintf(&b, "  callback tokens: %s/v1/.well-known/OpenIdConfiguration\n", s.baseURL)
	fmt.Fprintf(&b, "  admin API:       %s/callplane/ (bearer %s)\n", s.baseURL, s.identity.Directory.AdminSecret())
	fmt.Fprintf(&b, "  data directory:  %s\n", s.cfg.DataDir)
	if s.cfg.Loose {
		fmt.Fprintf(&b, "  LOOSE MODE: requests without a token act as the dev application\n")
	}
	return b.String()
}
