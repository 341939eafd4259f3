package server

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"strings"
)

// logAdapter is the log.Logger net/http writes its own errors to, sending
// each line to slog at the level it deserves: warn, but TLS handshake
// failures (a client that does not trust the certificate, a port scanner)
// at info.
type logAdapter struct{ log *slog.Logger }

func (a *logAdapter) Write(p []byte) (int, error) {
	msg := string(bytes.TrimSpace(p))
	msg = strings.TrimPrefix(msg, "http: ")
	level := slog.LevelWarn
	switch {
	case strings.HasPrefix(msg, "TLS handshake error"):
		level = slog.LevelInfo
	case strings.HasPrefix(msg, "Accept error"):
		// The listener logged it at warn already, at most once a second;
		// net/http says it again on every retry.
		level = slog.LevelDebug
	}
	a.log.Log(context.Background(), level, msg)
	return len(p), nil
}

// logger is the adapter as the *log.Logger http.Server takes.
func (a *logAdapter) logger() *log.Logger { return log.New(a, "", 0) }
