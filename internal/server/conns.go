package server

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/callplane/callplane/internal/httpx"
)

// clientLimitListener bounds the connections each client (source IP
// address) holds open at once: a connection over its client's limit is
// closed as soon as it is accepted, so that one client opening sockets and
// never finishing its requests cannot use up the process's file descriptors
// and starve everyone else. Other clients, loopback addresses included, are
// unaffected.
type clientLimitListener struct {
	net.Listener
	max int
	log *slog.Logger

	mu   sync.Mutex
	open map[netip.Addr]int
	// refused counts refusals per client since its last log line; logged
	// at most once per refusalLogEvery per client so a flood does not
	// become a flood of log lines.
	refused    map[netip.Addr]int
	lastLogged map[netip.Addr]time.Time
	lastAccept time.Time // of the last failed-accept log line
}

const refusalLogEvery = 10 * time.Second

func limitClients(ln net.Listener, max int, log *slog.Logger) *clientLimitListener {
	return &clientLimitListener{
		Listener:   ln,
		max:        max,
		log:        log,
		open:       make(map[netip.Addr]int),
		refused:    make(map[netip.Addr]int),
		lastLogged: make(map[netip.Addr]time.Time),
	}
}

// Accept returns the next connection within its client's limit. A failed
// accept (out of file descriptors, say) is logged, at most once a second,
// and returned: net/http retries it with a backoff.
func (l *clientLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				l.logAcceptFailure(err)
			}
			return nil, err
		}
		addr := httpx.AddrOf(c.RemoteAddr().String())
		if l.admit(addr) {
			return &limitedConn{Conn: c, release: func() { l.release(addr) }}, nil
		}
		c.Close()
	}
}

func (l *clientLimitListener) admit(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[addr] < l.max {
		l.open[addr]++
		return true
	}
	l.refused[addr]++
	now := time.Now()
	if now.Sub(l.lastLogged[addr]) >= refusalLogEvery {
		l.log.Info("connections refused: the client holds too many open",
			"client", addr, "open", l.open[addr], "limit", l.max, "refused", l.refused[addr], "flag", "--max-conns-per-client")
		l.lastLogged[addr] = now
		l.refused[addr] = 0
	}
	return false
}

func (l *clientLimitListener) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[addr]--; l.open[addr] <= 0 {
		delete(l.open, addr)
		delete(l.refused, addr)
		delete(l.lastLogged, addr)
	}
}

func (l *clientLimitListener) logAcceptFailure(err error) {
	l.mu.Lock()
	now := time.Now()
	quiet := now.Sub(l.lastAccept) < time.Second
	if !quiet {
		l.lastAccept = now
	}
	l.mu.Unlock()
	if !quiet {
		l.log.Warn("accepting a connection failed", "err", err)
	}
}

// limitedConn gives its client's place back when it closes, once.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
