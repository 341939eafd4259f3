package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestREADMECIJob runs the README's GitHub Actions job as GitHub would run
// its shell steps (bash -eo pipefail, in the repository, with RUNNER_TEMP):
// callplane and the reference bot start in the background and every example
// scenario passes. The job works as pasted.
func TestREADMECIJob(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the job's steps use curl, which this machine lacks")
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "**In CI**")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	job, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("the README has no CI job (a yaml block after **In CI**)")
	}
	var workflow struct {
		Jobs map[string]struct {
			Steps []struct {
				Name, Run, Uses string
			}
		}
	}
	if err := yaml.Unmarshal([]byte(job), &workflow); err != nil || len(workflow.Jobs) != 1 {
		t.Fatalf("the README's job is not a workflow with one job: %v", err)
	}
	runnerTemp := t.TempDir()
	for _, j := range workflow.Jobs {
		for _, step := range j.Steps {
			if step.Run == "" {
				continue // actions/checkout and setup-go: this checkout, this Go
			}
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step.Run)
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), "RUNNER_TEMP="+runnerTemp)
			// Its own process group, so that what it leaves running in the
			// background stops with the test.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			out, err := cmd.CombinedOutput()
			pgid := cmd.Process.Pid
			t.Cleanup(func() { syscall.Kill(-pgid, syscall.SIGTERM) })
			if err != nil {
				logs, _ := filepath.Glob(filepath.Join(runnerTemp, "*.log"))
				for _, l := range logs {
					data, _ := os.ReadFile(l)
					t.Logf("%s:\n%s", filepath.Base(l), data)
				}
				t.Fatalf("step %q: %v\n%s", step.Name, err, out)
			}
			t.Logf("step %q:\n%s", step.Name, out)
		}
	}
	reports, _ := filepath.Glob(filepath.Join(runnerTemp, "*.scenario.xml"))
	if len(reports) != 2 {
		t.Fatalf("JUnit reports: %v, want one per example scenario", reports)
	}
}
