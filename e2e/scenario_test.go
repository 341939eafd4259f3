package e2e

import (
	"encoding/xml"
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/callplane/callplane/examples/ivrbot/ivr"
)

// junit is what the scenario runner's JUnit XML is read as.
type junit struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestExampleScenarios runs the reference IVR bot against callplane started
// as CI starts it, and plays its scenarios with callplane scenario run:
// the example scenarios pass, and the one that fails on purpose fails with
// a report, and JUnit XML, that say which expectation and what happened
// instead.
func TestExampleScenarios(t *testing.T) {
	s := serveReady(t, "--ephemeral", "--listen", "127.0.0.1:0")
	readyPath, ready := s.path, s.ready
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	botURL := "http://" + ln.Addr().String()
	bot := httptest.NewUnstartedServer(ivr.New(ivr.Config{
		GraphURL: ready.GraphURL, TokenEndpoint: ready.TokenEndpoint, ClientID: ready.ClientID, ClientSecret: ready.ClientSecret,
		CallbackURL: botURL + "/api/calls", Menu: ready.BaseURL + "/media/samples/menu.wav",
		Goodbye: ready.BaseURL + "/media/samples/goodbye.wav", SalesUserID: "sales",
	}).Handler())
	bot.Listener.Close()
	bot.Listener = ln
	bot.Start()
	t.Cleanup(bot.Close)

	play := func(file string) (report string, results junit, exitCode int) {
		t.Helper()
		junitPath := filepath.Join(t.TempDir(), "junit.xml")
		cmd := exec.Command(callplaneBinary, "scenario", "run", file, "--ready-file", readyPath,
			"--webhook", botURL+"/api/calling", "--junit", junitPath, "--quiet")
		out, err := cmd.Output()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			exitCode = exit.ExitCode()
		case err != nil:
			t.Fatal(err)
		}
		data, err := os.ReadFile(junitPath)
		if err != nil {
			t.Fatalf("%s: no JUnit XML: %v\n%s", file, err, out)
		}
		if err := xml.Unmarshal(data, &results); err != nil {
			t.Fatalf("%s: JUnit XML does not parse: %v\n%s", file, err, data)
		}
		return string(out), results, exitCode
	}

	for _, file := range []string{"sales.scenario.yaml", "message.scenario.yaml"} {
		report, results, code := play(filepath.Join("..", "examples", "ivrbot", "scenarios", file))
		if code != 0 || !strings.Contains(report, "PASSED") || strings.Contains(report, "FAIL ") || results.Failures != 0 || results.Tests < 4 {
			t.Errorf("%s: exit %d, %d of %d failed:\n%s", file, code, results.Failures, results.Tests, report)
		}
	}

	report, results, code := play(filepath.Join("..", "examples", "ivrbot", "testdata", "wrong-expectation.scenario.yaml"))
	if code != 1 || !strings.Contains(report, "FAILED") {
		t.Fatalf("the failing scenario: exit %d:\n%s", code, report)
	}
	if !regexp.MustCompile(`FAIL transfers to \+14255550199 — the bot never transferred; it hung up at \+[0-9.]+s \(DELETE answered 204\)`).MatchString(report) {
		t.Errorf("the report does not say why it failed:\n%s", report)
	}
	if results.Tests != 2 || results.Failures != 1 {
		t.Fatalf("JUnit: %d tests, %d failures; want 2 and 1", results.Tests, results.Failures)
	}
	for _, c := range results.Suites[0].Cases {
		if failed := c.Failure != nil; failed != strings.Contains(c.Name, "transfers") || failed && !strings.Contains(c.Failure.Message, "never transferred") {
			t.Errorf("JUnit case %q: failure %+v", c.Name, c.Failure)
		}
	}
}
