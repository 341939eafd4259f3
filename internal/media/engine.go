package media

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Config is how the engine reaches prompts.
type Config struct {
	// Check vets a prompt's URL as callback URLs are vetted (where
	// callplane may connect); Dial connects under the same policy.
	Check func(uri string) error
	Dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	// Fetch off plays every prompt for FixedDuration without fetching it:
	// for bots whose prompts live where the test machine cannot reach.
	Fetch         bool
	FixedDuration time.Duration
}

// Prompt fetch bounds: a prompt that takes longer fails.
const (
	connectTimeout = 2 * time.Second
	fetchTimeout   = 5 * time.Second
	cacheSize      = 1024
)

// Engine is the simulated media engine.
type Engine struct {
	cfg    Config
	client *http.Client

	mu    sync.Mutex
	cache map[string]probe
}

type probe struct {
	length time.Duration
	err    error
}

// New returns an engine.
func New(cfg Config) *Engine {
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	bounded := func(ctx context.Context, network, addr string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, connectTimeout)
		defer cancel()
		return dial(ctx, network, addr)
	}
	return &Engine{
		cfg: cfg,
		client: &http.Client{
			Transport: &http.Transport{DialContext: bounded, ResponseHeaderTimeout: fetchTimeout, MaxResponseHeaderBytes: 16 << 10},
			Timeout:   fetchTimeout,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 3 {
					return errors.New("too many redirects")
				}
				if cfg.Check != nil {
					return cfg.Check(req.URL.String())
				}
				return nil
			},
		},
		cache: make(map[string]probe),
	}
}

// PromptError says why a prompt cannot be played, naming the URL and the
// cause: the message a bot's developer reads in the failed operation.
// Format says the file is at fault (not audio the service plays) rather
// than its download.
type PromptError struct {
	Msg    string
	Format bool
}

func (e *PromptError) Error() string { return e.Msg }

// InvalidFormat reports whether the file itself is at fault.
func (e *PromptError) InvalidFormat() bool { return e.Format }

// Forget drops what the engine remembers of prompts, so that a reset
// world fetches them afresh.
func (e *Engine) Forget() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.cache)
}

// Probe returns how long the prompt at uri plays once, fetching its header
// (once: the answer is cached per URI), or a *PromptError saying why it
// cannot play.
func (e *Engine) Probe(ctx context.Context, uri string) (time.Duration, error) {
	if !e.cfg.Fetch {
		return e.cfg.FixedDuration, nil
	}
	e.mu.Lock()
	p, ok := e.cache[uri]
	e.mu.Unlock()
	if ok {
		return p.length, p.err
	}
	length, err := e.fetch(ctx, uri)
	var transient *transientError
	if !errors.As(err, &transient) {
		e.mu.Lock()
		if len(e.cache) >= cacheSize {
			clear(e.cache) // bounded: refetching is only slower
		}
		e.cache[uri] = probe{length, err}
		e.mu.Unlock()
	}
	return length, err
}

// transientError is a failure worth trying again on the next playPrompt
// (the host was down), not cached.
type transientError struct{ PromptError }

func (e *Engine) fetch(ctx context.Context, uri string) (time.Duration, error) {
	fail := func(format string, args ...any) (time.Duration, error) {
		return 0, &PromptError{Msg: fmt.Sprintf("prompt %s: ", uri) + fmt.Sprintf(format, args...)}
	}
	if e.cfg.Check != nil {
		if err := e.cfg.Check(uri); err != nil {
			return fail("callplane may not fetch it: %v", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return fail("not a URL callplane can fetch: %v", err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap()
		}
		return 0, &transientError{PromptError{Msg: fmt.Sprintf("prompt %s: fetching it failed: %v", uri, err)}}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail("fetching it answered HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	f, err := ReadHeader(resp.Body)
	if err != nil {
		return 0, &PromptError{Msg: fmt.Sprintf("prompt %s: %v (Content-Type %q)", uri, err, resp.Header.Get("Content-Type")), Format: true}
	}
	if err := Playable(f); err != nil {
		return 0, &PromptError{Msg: fmt.Sprintf("prompt %s: %v", uri, err), Format: true}
	}
	return f.Duration(), nil
}
