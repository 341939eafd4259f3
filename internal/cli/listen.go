package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/callplane/callplane/internal/graph"
)

func runListen(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("listen", "Receive notifications as a bot would: point a call's callbackUri here and\nevery notification POSTed to it is printed, one line each.", stderr)
	addr := fs.String("addr", "127.0.0.1:9000", "address to listen on")
	status := fs.Int("status", http.StatusAccepted, "HTTP status to answer each notification with")
	raw := fs.Bool("json", false, "print each notification body as received, one JSON document per line")
	if err := parse(fs, args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "listening for notifications on http://%s/ (use it as callbackUri)\n", ln.Addr())
	var mu sync.Mutex
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
			if r.Method != http.MethodPost || err != nil {
				http.Error(w, "POST a commsNotifications body", http.StatusBadRequest)
				return
			}
			mu.Lock()
			printNotification(stdout, r, body, *raw)
			mu.Unlock()
			w.WriteHeader(*status)
		}),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// describeRoster lists a roster's participants by display name (or id),
// marking the muted and the removed ones.
func describeRoster(data json.RawMessage) string {
	var ps []struct {
		IsMuted      bool            `json:"isMuted"`
		RemovedState json.RawMessage `json:"removedState"`
		Info         struct {
			Identity map[string]json.RawMessage `json:"identity"`
		} `json:"info"`
	}
	if json.Unmarshal(data, &ps) != nil {
		return "roster (unparsable)"
	}
	var names []string
	for _, p := range ps {
		name := "?"
		for k, raw := range p.Info.Identity {
			if strings.HasPrefix(k, "@") {
				continue
			}
			var id struct{ ID, DisplayName string }
			json.Unmarshal(raw, &id)
			if name = id.DisplayName; name == "" {
				name = k + ":" + id.ID
			}
		}
		switch {
		case len(p.RemovedState) > 0 && string(p.RemovedState) != "null":
			name = "-" + name
		case p.IsMuted:
			name += "(muted)"
		}
		names = append(names, name)
	}
	return fmt.Sprintf("participants=%d [%s]", len(ps), strings.Join(names, ", "))
}

// printNotification writes one line per change: when, what, where, the
// call's state and, once it ended, why.
func printNotification(w io.Writer, r *http.Request, body []byte, raw bool) {
	if raw {
		var compact bytes.Buffer
		if json.Compact(&compact, body) == nil {
			body = compact.Bytes()
		}
		fmt.Fprintf(w, "%s\n", body)
		return
	}
	var env graph.Received
	stamp := time.Now().Format("15:04:05.000")
	if err := json.Unmarshal(body, &env); err != nil {
		fmt.Fprintf(w, "%s unparsable body (%v): %s\n", stamp, err, body)
		return
	}
	signed := "unsigned"
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		signed = "signed"
	}
	for _, n := range env.Value {
		line := fmt.Sprintf("%s %-8s %s", stamp, n.ChangeType, n.ResourceURL)
		if strings.HasPrefix(strings.TrimSpace(string(n.ResourceData)), "[") {
			line += " " + describeRoster(n.ResourceData)
		} else {
			var data struct {
				State      string `json:"state"`
				Status     string `json:"status"`
				ResultInfo *struct {
					Code    int    `json:"code"`
					Subcode int    `json:"subcode"`
					Message string `json:"message"`
				} `json:"resultInfo"`
				ToneInfo *struct {
					Tone       string `json:"tone"`
					SequenceID int64  `json:"sequenceId"`
				} `json:"toneInfo"`
				RecordingLocation string `json:"recordingLocation"`
			}
			json.Unmarshal(n.ResourceData, &data)
			if data.State != "" {
				line += " state=" + data.State
			}
			if data.Status != "" {
				line += " status=" + data.Status
			}
			if ti := data.ToneInfo; ti != nil {
				line += fmt.Sprintf(" toneInfo=%s (sequenceId %d)", ti.Tone, ti.SequenceID)
			}
			if ri := data.ResultInfo; ri != nil {
				line += fmt.Sprintf(" resultInfo=%d/%d %q", ri.Code, ri.Subcode, ri.Message)
			}
			if data.RecordingLocation != "" {
				line += " recordingLocation=" + data.RecordingLocation
			}
		}
		fmt.Fprintf(w, "%s (%s, message %s)\n", line, signed, r.Header.Get("X-Microsoft-Skype-Message-ID"))
	}
}
