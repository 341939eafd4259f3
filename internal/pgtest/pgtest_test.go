package pgtest_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/callplane/callplane/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func connect(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestURL: each URL is a database of its own, empty, usable, on loopback,
// and gone after its test.
func TestURL(t *testing.T) {
	ctx := context.Background()
	var name string
	t.Run("use", func(t *testing.T) {
		u := pgtest.URL(t)
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		name = strings.TrimPrefix(parsed.Path, "/")
		if os.Getenv("CALLPLANE_TEST_POSTGRES") == "" && parsed.Hostname() != "127.0.0.1" {
			t.Errorf("the throwaway server is at %s, not on loopback", parsed.Host)
		}
		conn := connect(t, u)
		if _, err := conn.Exec(ctx, `CREATE TABLE t (id int PRIMARY KEY, name text)`); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO t VALUES (1, 'one')`); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := conn.QueryRow(ctx, `SELECT name FROM t WHERE id = 1`).Scan(&got); err != nil || got != "one" {
			t.Fatalf("read back %q, %v", got, err)
		}
		var tables int
		if err := connect(t, pgtest.URL(t)).QueryRow(ctx,
			`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil || tables != 0 {
			t.Fatalf("another database has %d tables (%v), want none", tables, err)
		}
	})
	var exists bool
	err := connect(t, pgtest.ServerURL(t)).QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists)
	if err != nil || exists {
		t.Fatalf("database %s exists after its test: %v %v", name, exists, err)
	}
}

// TestParallel: parallel tests get databases at once.
func TestParallel(t *testing.T) {
	for range 4 {
		t.Run("db", func(t *testing.T) {
			t.Parallel()
			var one int
			if err := connect(t, pgtest.URL(t)).QueryRow(context.Background(), `SELECT 1`).Scan(&one); err != nil {
				t.Fatal(err)
			}
		})
	}
}
