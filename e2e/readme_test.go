package e2e

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeSnippetsAreTheSuitesCode: the client set-up the README shows is,
// to the character, the code the conformance suites run.
func TestReadmeSnippetsAreTheSuitesCode(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"../conformance/gosdk/client.go", "../conformance/gosdk/credential.go", "../conformance/node/client.mjs", "../conformance/node/token.mjs"} {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, after, ok := strings.Cut(string(src), "// README snippet: begin\n")
		snippet, _, ok2 := strings.Cut(after, "// README snippet: end")
		if !ok || !ok2 {
			t.Fatalf("%s lacks the README snippet markers", path)
		}
		snippet = strings.Trim(snippet, "\n")
		if !strings.Contains(string(readme), "\n"+snippet+"\n```") {
			t.Errorf("README.md does not show %s's snippet verbatim:\n%s", path, snippet)
		}
	}
}
