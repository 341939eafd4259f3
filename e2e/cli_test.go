package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/pgtest"
	"github.com/callplane/callplane/internal/server"
	"github.com/callplane/callplane/internal/testenv"
)

// callplaneBinary is the callplane command, built once for the package's tests.
var callplaneBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "callplane-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	callplaneBinary = filepath.Join(dir, "callplane")
	build := exec.Command("go", "build", "-o", callplaneBinary, "../cmd/callplane")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build callplane:", err)
		os.Exit(1)
	}
	code := pgtest.Main(m) // runs the tests; stops the PostgreSQL they started
	os.RemoveAll(dir)
	os.Exit(code)
}

// process is a running callplane command whose output lines a test can wait
// for.
type process struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	notify chan struct{}
	stderr bytes.Buffer
}

// run starts the command with args and extra environment variables; it is
// killed when the test ends if still running.
// served is a callplane serve run with a ready file: the process, the
// file's path, and what it said (raw too, for failure messages).
type served struct {
	p     *process
	path  string
	ready server.Ready
	raw   []byte
}

// serveReady runs callplane serve with args and a ready file, waits until
// it says it listens, and reads the file.
func serveReady(t *testing.T, args ...string) served {
	t.Helper()
	s := served{path: filepath.Join(t.TempDir(), "ready.json")}
	s.p = run(t, nil, append(append([]string{"serve"}, args...), "--ready-file", s.path)...)
	s.p.waitLine(t, regexp.MustCompile(`callplane is listening`))
	var err error
	if s.raw, err = os.ReadFile(s.path); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(s.raw, &s.ready); err != nil {
		t.Fatalf("ready file: %v\n%s", err, s.raw)
	}
	return s
}

func run(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(callplaneBinary, args...), notify: make(chan struct{}, 1)}
	p.cmd.Env = append(os.Environ(), env...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = &syncWriter{w: &p.stderr, mu: &p.mu}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.read(stdout)
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

// read keeps the command's stdout lines, and tells waitLine of each.
func (p *process) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, sc.Text())
		p.mu.Unlock()
		select {
		case p.notify <- struct{}{}:
		default:
		}
	}
}

type syncWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// waitLine waits for a stdout line matching re and returns its submatches.
func (p *process) waitLine(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(wait)
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if m := re.FindStringSubmatch(l); m != nil {
				p.mu.Unlock()
				return m
			}
		}
		p.mu.Unlock()
		select {
		case <-p.notify:
		case <-deadline:
			p.mu.Lock()
			defer p.mu.Unlock()
			t.Fatalf("no line matching %s within %v; stdout:\n%s\nstderr:\n%s", re, wait, strings.Join(p.lines, "\n"), p.stderr.String())
		}
	}
}

func output(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(callplaneBinary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("callplane %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// TestCommandLine runs the commands a newcomer runs: serve, token (while the
// server runs), listen, and a call placed and hung up through them.
func TestCommandLine(t *testing.T) {
	data := t.TempDir()
	serve := run(t, []string{"CALLPLANE_DATA=" + data, "CALLPLANE_ANSWER_DELAY=10ms"}, "serve", "--listen", "127.0.0.1:0")
	base := serve.waitLine(t, regexp.MustCompile(`Graph base URL:\s+(http://\S+)/v1\.0`))[1]
	tenant := serve.waitLine(t, regexp.MustCompile(`tenant id:\s+(\S+)`))[1]
	clientID := serve.waitLine(t, regexp.MustCompile(`client id:\s+(\S+)`))[1]
	secret := serve.waitLine(t, regexp.MustCompile(`client secret:\s+(\S+)`))[1]
	if tenant == "" || clientID == "" || secret == "" {
		t.Fatal("banner lacks the tenant, client id or secret")
	}

	listen := run(t, nil, "listen", "--addr", "127.0.0.1:0")
	listenAddr := waitStderr(t, listen, regexp.MustCompile(`on (http://\S+)/`))

	token := output(t, nil, "token", "--data", data)
	if strings.Count(token, "\n") != 1 {
		t.Fatalf("token printed %q, want exactly one line", token)
	}
	env := &testenv.Env{URL: base, Token: strings.TrimSpace(token), Client: &http.Client{Timeout: wait}}
	c := env.PlaceCall(t, listenAddr+"/api/calls")
	if r := env.Do(t, http.MethodDelete, testenv.CallPath(c.ID), env.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	listen.waitLine(t, regexp.MustCompile(`updated\s+/communications/calls/`+c.ID+` state=establishing`))
	listen.waitLine(t, regexp.MustCompile(`deleted\s+/communications/calls/`+c.ID+` state=terminated resultInfo=0/0`))

	delegated := output(t, []string{"CALLPLANE_DATA=" + data}, "token", "--delegated")
	if strings.Count(delegated, "\n") != 1 {
		t.Fatalf("token --delegated printed %q, want exactly one line", delegated)
	}
	checkGraphError(t, env.Do(t, http.MethodGet, testenv.CallPath(c.ID), strings.TrimSpace(delegated), nil), http.StatusForbidden, "accessDenied")

	serve.cmd.Process.Signal(syscall.SIGTERM)
	if err := serve.cmd.Wait(); err != nil {
		t.Fatalf("serve did not exit cleanly on SIGTERM: %v\n%s", err, serve.stderr.String())
	}
}

func waitStderr(t *testing.T, p *process, re *regexp.Regexp) string {
	t.Helper()
	var m []string
	eventually(t, "stderr matching "+re.String(), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		m = re.FindStringSubmatch(p.stderr.String())
		return m != nil
	})
	return m[1]
}

// TestSimCommands drives the simulator from the command line: create a
// meeting, add a person, show it, end it.
func TestSimCommands(t *testing.T) {
	env := testenv.Start(t)
	data := []string{"--data", env.DataDir}
	var m struct {
		ID       string `json:"id"`
		JoinInfo struct {
			JoinMeetingIDMeetingInfo struct {
				JoinMeetingID string `json:"joinMeetingId"`
			} `json:"joinMeetingIdMeetingInfo"`
		} `json:"joinInfo"`
		Participants []struct {
			ID string `json:"id"`
		} `json:"participants"`
		Ended bool `json:"ended"`
	}
	created := output(t, nil, append([]string{"sim", "meeting", "create", "--subject", "Sync", "--person", "alice:Alice"}, data...)...)
	if err := json.Unmarshal([]byte(created), &m); err != nil || m.ID == "" || m.JoinInfo.JoinMeetingIDMeetingInfo.JoinMeetingID == "" || len(m.Participants) != 1 {
		t.Fatalf("meeting create printed %s (%v)", created, err)
	}
	output(t, nil, append([]string{"sim", "person", "add", m.ID, "--id", "bob", "--name", "Bob"}, data...)...)
	output(t, nil, append([]string{"sim", "person", "mute", m.ID, m.Participants[0].ID}, data...)...)
	shown := output(t, nil, append([]string{"sim", "meeting", "show", m.ID}, data...)...)
	json.Unmarshal([]byte(shown), &m)
	if len(m.Participants) != 2 || !strings.Contains(shown, `"isMuted":true`) {
		t.Fatalf("meeting show printed %s", shown)
	}
	shared := output(t, nil, append([]string{"sim", "person", "share", m.ID, m.Participants[0].ID}, data...)...)
	var session struct {
		ID            string `json:"id"`
		ParticipantID string `json:"participantId"`
	}
	if json.Unmarshal([]byte(shared), &session); session.ID == "" || session.ParticipantID != m.Participants[0].ID || !strings.Contains(output(t, nil, append([]string{"sim", "meeting", "show", m.ID}, data...)...), `"contentSharing"`) {
		t.Fatalf("person share printed %s", shared)
	}
	output(t, nil, append([]string{"sim", "person", "unshare", m.ID, m.Participants[0].ID}, data...)...)
	if shown := output(t, nil, append([]string{"sim", "meeting", "show", m.ID}, data...)...); strings.Contains(shown, `"contentSharing"`) {
		t.Fatalf("after unshare, meeting show printed %s", shown)
	}
	output(t, nil, append([]string{"sim", "meeting", "end", m.ID}, data...)...)
	json.Unmarshal([]byte(output(t, nil, append([]string{"sim", "meeting", "show", m.ID}, data...)...)), &m)
	if !m.Ended {
		t.Fatal("meeting not ended")
	}
	if out, err := exec.Command(callplaneBinary, append([]string{"sim", "meeting", "show", "no-such-meeting"}, data...)...).CombinedOutput(); err == nil || !strings.Contains(string(out), "404") {
		t.Fatalf("unknown meeting: %v %s", err, out)
	}
}
