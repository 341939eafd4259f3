package pgtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindBin: PATH first, then the newest of Debian's versions; without
// either, an error that says what to do.
func TestFindBin(t *testing.T) {
	root := t.TempDir()
	old := debianBins
	t.Cleanup(func() { debianBins = old })
	debianBins = filepath.Join(root, "lib", "*", "bin")
	empty := filepath.Join(root, "empty")
	must(t, os.Mkdir(empty, 0o755))
	t.Setenv("PATH", empty)

	_, err := findBin()
	var missing *missingError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "no initdb in PATH or /usr/lib/postgresql/*/bin") ||
		!strings.Contains(err.Error(), "apt-get install postgresql") || !strings.Contains(err.Error(), "CALLPLANE_TEST_POSTGRES=") {
		t.Fatalf("without PostgreSQL: %v", err)
	}

	for _, version := range []string{"9.6", "15", "10"} {
		install(t, filepath.Join(root, "lib", version, "bin"), "initdb", "pg_ctl")
	}
	install(t, filepath.Join(root, "lib", "16", "bin"), "pg_ctl") // incomplete
	if dir, err := findBin(); err != nil || dir != filepath.Join(root, "lib", "15", "bin") {
		t.Fatalf("Debian's versions: %s, %v; want version 15's", dir, err)
	}

	inPath := filepath.Join(root, "path")
	install(t, inPath, "initdb")
	t.Setenv("PATH", inPath)
	if _, err := findBin(); !errors.As(err, &missing) || !strings.Contains(err.Error(), "no pg_ctl") {
		t.Fatalf("initdb without pg_ctl: %v", err)
	}
	install(t, inPath, "pg_ctl")
	if dir, err := findBin(); err != nil || dir != inPath {
		t.Fatalf("in PATH: %s, %v; want %s", dir, err, inPath)
	}
}

func TestVerdict(t *testing.T) {
	missing := &missingError{"no initdb"}
	t.Setenv(envRequire, "")
	if skip, _ := verdict(missing); !skip {
		t.Error("no skip when PostgreSQL is missing")
	}
	if skip, _ := verdict(errors.New("start PostgreSQL: boom")); skip {
		t.Error("a skip when PostgreSQL failed to start")
	}
	t.Setenv(envRequire, "1")
	if skip, msg := verdict(missing); skip || !strings.Contains(msg, envRequire) {
		t.Errorf("with %s set: skip %v, %q", envRequire, skip, msg)
	}
}

func install(t *testing.T, dir string, programs ...string) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	for _, p := range programs {
		must(t, os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
