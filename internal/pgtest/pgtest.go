// Package pgtest gives tests PostgreSQL databases of their own.
//
// The server is the one CALLPLANE_TEST_POSTGRES names (a postgres:// URL of
// a role that may create databases), or else a throwaway cluster that the
// test binary starts on a loopback port the first time a test asks for one:
// initdb and pg_ctl are looked up in PATH, then in
// /usr/lib/postgresql/*/bin. Without either, tests skip, or fail when
// CALLPLANE_REQUIRE_POSTGRES is set (as in CI). A package whose tests use
// pgtest has a TestMain that calls Main, so that its cluster is gone when
// go test returns.
package pgtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	envServer  = "CALLPLANE_TEST_POSTGRES"
	envRequire = "CALLPLANE_REQUIRE_POSTGRES"
)

// Main runs the tests, then stops this binary's throwaway cluster, if it
// started one, and removes its files. For TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	defer shutdown()
	return m.Run()
}

// URL returns the connection URL of a new, empty database, dropped when
// the test and its subtests have finished.
func URL(t testing.TB) string {
	t.Helper()
	server := ServerURL(t)
	// rand.Text is base32: letters and digits, fit for a name once
	// lowercased.
	name := "callplane_test_" + strings.ToLower(rand.Text()[:16])
	if err := admin(server, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := admin(server, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// ServerURL returns the connection URL of the server's maintenance
// database, for tests that make databases of their own.
func ServerURL(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if srv == nil && srvErr == nil {
		srv, srvErr = start()
	}
	if srvErr != nil {
		if skip, msg := verdict(srvErr); skip {
			t.Skip(msg)
		} else {
			t.Fatal(msg)
		}
	}
	return srv.url
}

// verdict says whether tests skip for want of a server, or fail.
func verdict(err error) (skip bool, msg string) {
	var missing *missingError
	switch {
	case !errors.As(err, &missing):
		return false, err.Error()
	case os.Getenv(envRequire) != "":
		return false, fmt.Sprintf("%v (%s is set: tests must not skip)", err, envRequire)
	}
	return true, err.Error()
}

// admin runs one statement on the server's maintenance database.
func admin(server, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

var (
	mu     sync.Mutex
	srv    *server
	srvErr error // why there is no server: tests fail (or skip) on it, without trying again
)

type server struct {
	url     string
	cluster *cluster // nil on the server CALLPLANE_TEST_POSTGRES names
}

// missingError says PostgreSQL cannot be found, and how to fix it: tests
// skip on it.
type missingError struct{ what string }

func (e *missingError) Error() string {
	return fmt.Sprintf("PostgreSQL is not installed (%s): install it (Debian: apt-get install postgresql) or set %s=postgres://…", e.what, envServer)
}

func start() (*server, error) {
	if u := os.Getenv(envServer); u != "" {
		if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "postgres" && parsed.Scheme != "postgresql") {
			return nil, fmt.Errorf("pgtest: %s is not a postgres:// URL", envServer)
		}
		return &server{url: u}, nil
	}
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	c, err := startCluster(bin)
	if err != nil {
		return nil, err
	}
	return &server{url: c.url, cluster: c}, nil
}

func shutdown() {
	mu.Lock()
	defer mu.Unlock()
	if srv != nil && srv.cluster != nil {
		srv.cluster.stop()
		srv.cluster = nil
	}
}

// debianBins are where Debian installs each version of PostgreSQL.
var debianBins = "/usr/lib/postgresql/*/bin"

// findBin returns the directory of initdb and pg_ctl: the first in PATH, or
// the newest version's in Debian's /usr/lib/postgresql/VERSION/bin.
func findBin() (string, error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(initdb)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err != nil {
			return "", &missingError{"initdb is at " + initdb + ", but no pg_ctl beside it"}
		}
		return dir, nil
	}
	found, _ := filepath.Glob(filepath.Join(debianBins, "pg_ctl"))
	var dirs []string
	for _, pgCtl := range found {
		dir := filepath.Dir(pgCtl)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			dirs = append(dirs, dir)
		}
	}
	if len(dirs) == 0 {
		return "", &missingError{"no initdb in PATH or /usr/lib/postgresql/*/bin"}
	}
	version := func(dir string) []int {
		var v []int
		for _, part := range strings.Split(filepath.Base(filepath.Dir(dir)), ".") {
			n, _ := strconv.Atoi(part)
			v = append(v, n)
		}
		return v
	}
	return slices.MaxFunc(dirs, func(a, b string) int { return slices.Compare(version(a), version(b)) }), nil
}

// cluster is a throwaway PostgreSQL cluster, in a temporary directory of its
// own, that only this test binary uses.
type cluster struct {
	bin, dir, data string
	// user runs the cluster's programs when this process is root's, which
	// PostgreSQL refuses to run as.
	user string
	url  string
	// release closes the pipe that keeps the watchdog waiting.
	release  *os.File
	watchdog *exec.Cmd
}

// startCluster makes a cluster and starts its server on a free loopback
// port. Its settings give up durability, for speed.
func startCluster(bin string) (_ *cluster, err error) {
	dir, err := os.MkdirTemp("", "callplane-pgtest-")
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, dir: dir, data: filepath.Join(dir, "data")}
	sockets := filepath.Join(dir, "sockets")
	if err := os.Mkdir(sockets, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if os.Geteuid() == 0 {
		if err := c.runAsUnprivileged(dir, sockets); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: PostgreSQL refuses to run as root: %w", err)
		}
	}
	if err := c.watch(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	if out, err := c.command("initdb", "-D", c.data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	log := filepath.Join(dir, "server.log")
	// Another process may take the free port before the server does: then
	// try another.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		os.Remove(log)
		options := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off"+
			" -c full_page_writes=off -c max_connections=300", port, shellQuote(sockets))
		out, err := c.command("pg_ctl", "start", "-w", "-t", "60", "-D", c.data, "-l", log, "-o", options).CombinedOutput()
		if err == nil {
			c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
			return c, nil
		}
		serverLog, _ := os.ReadFile(log)
		if attempt < 5 && strings.Contains(string(serverLog), "could not create any TCP/IP sockets") {
			continue
		}
		return nil, fmt.Errorf("pgtest: start PostgreSQL in %s: %v\n%s\nserver log:\n%s", c.data, err, out, serverLog)
	}
}

// runAsUnprivileged makes the cluster's programs run as the postgres system
// user, or else nobody, and gives it the cluster's directories.
func (c *cluster) runAsUnprivileged(dirs ...string) error {
	if _, err := exec.LookPath("runuser"); err != nil {
		return errors.New("runuser, to run it as another user, is not installed (Debian: apt-get install util-linux)")
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		if u, err = user.Lookup("nobody"); err != nil {
			return errors.New("there is neither a postgres nor a nobody user to run it as")
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, dir := range dirs {
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	c.user = u.Username
	return nil
}

// command runs one of PostgreSQL's programs, as the cluster's user.
func (c *cluster) command(program string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, program)
	var cmd *exec.Cmd
	if c.user == "" {
		cmd = exec.Command(path, args...)
	} else {
		cmd = exec.Command("runuser", append([]string{"-u", c.user, "--", path}, args...)...)
	}
	// A directory the cluster's user may enter.
	cmd.Dir = c.dir
	return cmd
}

// watch starts the watchdog: a shell that waits for its standard input to
// close and then stops the server and removes the cluster's directory. Its
// input is a pipe from this process, which closes when this process exits
// by any means: a panic in a test, a timeout, a kill. Its own process group
// keeps a Ctrl-C meant for go test from ending it before it has done so.
func (c *cluster) watch() error {
	stop := c.command("pg_ctl", "stop", "-w", "-D", c.data, "-m", "immediate")
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	const script = `dir=$1; shift; cat >/dev/null; "$@" >/dev/null 2>&1; rm -rf -- "$dir"`
	cmd := exec.Command("/bin/sh", append([]string{"-c", script, "pgtest-watchdog", c.dir}, stop.Args...)...)
	cmd.Dir = c.dir
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start the watchdog: %w", err)
	}
	c.release, c.watchdog = w, cmd
	return nil
}

// stop has the watchdog stop the server and remove the cluster's files, and
// waits for it to be done.
func (c *cluster) stop() {
	c.release.Close()
	c.watchdog.Wait()
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// shellQuote quotes s for the shell through which pg_ctl starts the server.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
