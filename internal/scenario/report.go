package scenario

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for a person: a header saying whether the
// scenario passed, then each call and a PASS or FAIL line for each of its
// expectations, with what happened.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	verdict := "PASSED"
	if !r.Passed() {
		verdict = "FAILED"
	}
	b.WriteString(r.Scenario)
	if r.File != "" {
		fmt.Fprintf(&b, " (%s)", r.File)
	}
	failed := r.Failures()
	fmt.Fprintf(&b, ": %s, %d passed, %d failed, in %s\n", verdict, len(r.Results)-failed, failed, seconds(r.Duration))
	for _, c := range r.Calls {
		results := r.resultsOf(c.Name)
		if len(results) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s\n", c)
		for _, res := range results {
			mark := "PASS"
			if !res.Passed {
				mark = "FAIL"
			}
			fmt.Fprintf(&b, "%s %s — %s\n", mark, res.Expectation, res.Detail)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r Report) resultsOf(call string) []Result {
	var out []Result
	for _, res := range r.Results {
		if res.Call == call {
			out = append(out, res)
		}
	}
	return out
}

// The JUnit XML that CI systems read: one suite, the scenario; one test
// case an expectation about a call.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name      string      `xml:"name,attr"`
		Tests     int         `xml:"tests,attr"`
		Failures  int         `xml:"failures,attr"`
		Time      string      `xml:"time,attr"`
		Timestamp string      `xml:"timestamp,attr,omitempty"`
		File      string      `xml:"file,attr,omitempty"`
		Cases     []junitCase `xml:"testcase"`
	}
	junitCase struct {
		Classname string        `xml:"classname,attr"`
		Name      string        `xml:"name,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitFailure `xml:"failure"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",cdata"`
	}
)

// WriteJUnit writes the report as JUnit XML. A test case's time is how
// long its call lasted.
func (r Report) WriteJUnit(w io.Writer) error {
	suite := junitSuite{Name: r.Scenario, Tests: len(r.Results), Failures: r.Failures(), Time: junitSeconds(r.Duration.Seconds()), File: r.File}
	if !r.Started.IsZero() {
		suite.Timestamp = r.Started.Format("2006-01-02T15:04:05")
	}
	calls := map[string]CallSummary{}
	for _, c := range r.Calls {
		calls[c.Name] = c
	}
	for _, res := range r.Results {
		call := calls[res.Call]
		tc := junitCase{Classname: r.Scenario, Name: res.Call + ": " + res.Expectation, Time: junitSeconds(call.Duration.Seconds())}
		if !res.Passed {
			where := r.File
			if res.Line > 0 {
				where = fmt.Sprintf("%s:%d", r.File, res.Line)
			}
			tc.Failure = &junitFailure{Message: res.Detail, Text: fmt.Sprintf("%s\n%s: %s — %s\n", call, where, res.Expectation, res.Detail)}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	doc := junitSuites{Tests: suite.Tests, Failures: suite.Failures, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitSeconds(s float64) string { return fmt.Sprintf("%.3f", s) }
