package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/callplane/callplane/internal/ids"
)

// server is a child process under load.
type server struct {
	cmd  *exec.Cmd
	data string
	// pprof is the base URL of its profiler, when it runs one.
	pprof string
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop ends the process and removes its data directory.
func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	if s.data != "" {
		os.RemoveAll(s.data)
	}
	// Flush what the run left in the page cache, so that its write-back
	// does not land in the next phase's measurements.
	syscall.Sync()
}

// startProcess runs a command and returns it with the stdout lines that
// match each pattern, in order, once all have appeared.
func startProcess(cmd *exec.Cmd, patterns ...*regexp.Regexp) ([][]string, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	found := make([][]string, len(patterns))
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	deadline := time.After(time.Minute)
	for missing := len(patterns); missing > 0; {
		select {
		case line, ok := <-lines:
			if !ok {
				return nil, fmt.Errorf("%s exited before it printed what was expected", cmd.Path)
			}
			for i, p := range patterns {
				if m := p.FindStringSubmatch(line); m != nil && found[i] == nil {
					found[i] = m
					missing--
				}
			}
		case <-deadline:
			cmd.Process.Kill()
			return nil, fmt.Errorf("%s did not start within a minute", cmd.Path)
		}
	}
	go func() {
		for range lines {
		}
	}()
	return found, nil
}

// startCallplane runs callplane serve on loopback with a fresh data
// directory, a callee that answers at once, no limit on connections per
// client and warnings-only logs, and returns it with an application token
// got from its token endpoint and the admin secret. With store, it is a
// node of the cluster on that PostgreSQL database.
func startCallplane(bin string, profiler bool, store string) (*server, string, string, string, error) {
	data, err := os.MkdirTemp("", "callplane-load-")
	if err != nil {
		return nil, "", "", "", err
	}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data", data, "--answer-delay", "0", "--log-level", "warn"}
	if store != "" {
		args = append(args, "--store", store)
	}
	patterns := []*regexp.Regexp{
		regexp.MustCompile(`Graph base URL:\s+(http://\S+)/v1\.0`),
		regexp.MustCompile(`tenant id:\s+(\S+)`),
		regexp.MustCompile(`client id:\s+(\S+)`),
		regexp.MustCompile(`client secret:\s+(\S+)`),
		regexp.MustCompile(`admin API:\s+\S+ \(bearer (\S+)\)`),
	}
	if profiler {
		args = append(args, "--pprof", "127.0.0.1:0")
		patterns = append(patterns, regexp.MustCompile(`profiler:\s+(http://\S+)/debug/pprof/`))
	}
	cmd := exec.Command(bin, args...)
	// The load tool's many bots all come from 127.0.0.1, where real ones
	// would come from many addresses: lift the per-client connection limit.
	// (Through the environment, which a callplane without the flag ignores,
	// so that older builds can be measured in the same run.)
	cmd.Env = append(os.Environ(), "CALLPLANE_MAX_CONNS_PER_CLIENT=1000000")
	found, err := startProcess(cmd, patterns...)
	if err != nil {
		os.RemoveAll(data)
		return nil, "", "", "", err
	}
	s := &server{cmd: cmd, data: data}
	if profiler {
		s.pprof = found[5][1]
	}
	base, tenant, clientID, secret, adminSecret := found[0][1], found[1][1], found[2][1], found[3][1], found[4][1]
	token, err := clientCredentials(base, tenant, clientID, secret)
	if err != nil {
		s.stop()
		return nil, "", "", "", err
	}
	return s, base, token, adminSecret, nil
}

// reset empties a callplane's world (every node's, in a cluster): a
// cluster's database outlives its nodes, and a phase starts clean.
func reset(base, adminSecret string) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/callplane/reset", nil)
	req.Header.Set("Authorization", "Bearer "+adminSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("reset: %s", resp.Status)
	}
	return nil
}

func clientCredentials(base, tenant, clientID, secret string) (string, error) {
	resp, err := http.PostForm(base+"/"+tenant+"/oauth2/v2.0/token", url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {secret},
		"scope":         {"https://graph.microsoft.com/.default"},
	})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("token endpoint: %s", resp.Status)
	}
	return tok.AccessToken, nil
}

// profile records the server's CPU for the given time into file, in the
// background; the returned channel says when it is written.
func (s *server) profile(file string, d time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.pprof, int(d.Seconds())))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(file)
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, resp.Body)
		done <- errors.Join(err, f.Close())
	}()
	return done
}

// startNoop runs this program's no-op server as a child process.
func startNoop() (*server, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(self, "noop")
	found, err := startProcess(cmd, regexp.MustCompile(`listening on (http://\S+)`))
	if err != nil {
		return nil, "", err
	}
	return &server{cmd: cmd}, found[0][1], nil
}

// ServeNoop is the baseline: an HTTP server that answers every request at
// once, the way callplane answers it but doing nothing: 201 with an id for a
// new call, 204 for a DELETE, 200 otherwise. It prints its address and runs
// until ctx is done.
func ServeNoop(ctx context.Context, out io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/communications/calls"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"`+ids.New()+`","state":"establishing"}`)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})}
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// openConsole signs in to callplane's console and keeps its event stream
// open, reading what it sends, until the returned func is called: what a
// browser showing the console costs the server (its store polling and the
// changes it streams).
func openConsole(base, adminSecret string) (func(), error) {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(base+"/console/signin", url.Values{"secret": {adminSecret}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) == 0 {
		return nil, fmt.Errorf("sign-in: %s", resp.Status)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/console/events", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	events, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if events.StatusCode != http.StatusOK {
		events.Body.Close()
		cancel()
		return nil, fmt.Errorf("events: %s", events.Status)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(io.Discard, events.Body)
	}()
	return func() {
		cancel()
		events.Body.Close()
		<-done
	}, nil
}
