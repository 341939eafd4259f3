// Package sqlite is callplane's embedded store: one SQLite database file,
// through the pure-Go modernc.org/sqlite driver (no cgo).
//
// Writes go through a single connection, because SQLite admits one writer at
// a time and queueing in Go is cheaper than SQLite's busy-waiting; reads use a
// pool of their own, which WAL mode lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/store"
)

// Store is a store.Store on a SQLite database file.
type Store struct {
	write      *sql.DB
	read       *sql.DB
	checkpoint *sql.DB
	stmts      statements
	stop       chan struct{}
	stopped    chan struct{}
}

// statements are the hot paths' statements, prepared once rather than
// parsed by SQLite on every use.
type statements struct {
	insertCall, updateCall, insertNotification, recordDelivery *sql.Stmt // writer
	getCall                                                    *sql.Stmt // readers
}

func (s *Store) prepare() error {
	for _, p := range []struct {
		db   *sql.DB
		stmt **sql.Stmt
		sql  string
	}{
		{s.write, &s.stmts.insertCall, `INSERT INTO calls (id, tenant_id, app_id, state, version, deadline, ended_at, data, kind, created_at, changed_at)
			VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)`},
		{s.write, &s.stmts.updateCall, `UPDATE calls SET state = ?, version = version + 1, deadline = ?, ended_at = ?, data = ?, changed_at = ?
			WHERE id = ? AND version = ?`},
		{s.write, &s.stmts.insertNotification, `INSERT INTO notifications (message_id, call_id, tenant_id, app_id, chain_id,
			scenario_id, callback_uri, payload, created_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{s.write, &s.stmts.recordDelivery, `UPDATE notifications SET status = ?, attempts = ?, last_status_code = ?,
			last_error = ?, last_attempt_at = ?, next_attempt_at = ?, last_duration = ? WHERE seq = ?`},
		{s.read, &s.stmts.getCall, `SELECT data, version FROM calls WHERE id = ?`},
	} {
		stmt, err := p.db.Prepare(p.sql)
		if err != nil {
			return err
		}
		*p.stmt = stmt
	}
	return nil
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and brings its schema
// up to date.
func Open(path string) (*Store, error) {
	// synchronous(NORMAL) in WAL mode: a commit survives the process being
	// killed at any instant; only a power loss can take the last commits.
	pragmas := url.Values{"_pragma": {
		"journal_mode(WAL)",
		"synchronous(NORMAL)",
		"busy_timeout(10000)",
		"foreign_keys(1)",
		// A bigger page cache: the live calls' pages stay in memory.
		"cache_size(-32768)",
	}}
	dsn := "file:" + path + "?" + pragmas.Encode()
	// Checkpoints copy the WAL into the database. The checkpointer does
	// that in the background, beside the writer, so that the commit that
	// reaches the autocheckpoint threshold finds little left to copy: its
	// checkpoint is quick, and it is what lets the WAL start over (a
	// background checkpoint under a steady stream of commits never can).
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate&"+url.Values{"_pragma": {"wal_autocheckpoint(4096)"}}.Encode())
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := migrate(write); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", dsn+"&"+url.Values{"_pragma": {"query_only(1)"}}.Encode())
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(4)
	read.SetMaxIdleConns(4)
	checkpoint, err := sql.Open("sqlite", dsn)
	if err != nil {
		write.Close()
		read.Close()
		return nil, err
	}
	checkpoint.SetMaxOpenConns(1)
	s := &Store{write: write, read: read, checkpoint: checkpoint, stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := s.prepare(); err != nil {
		close(s.stop)
		s.Close()
		return nil, err
	}
	go s.checkpointLoop()
	return s, nil
}

// checkpointEvery is how often the checkpointer copies the WAL into the
// database. Between two checkpoints the WAL holds a few thousand pages at
// most under load.
const checkpointEvery = 100 * time.Millisecond

// checkpointLoop checkpoints the WAL in the background, PASSIVE: it never
// waits for, nor blocks, the writer; it copies what it can.
func (s *Store) checkpointLoop() {
	defer close(s.stopped)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			s.checkpoint.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

// schema is applied in order; PRAGMA user_version counts the steps applied.
//
// Every index costs page writes on every change, so only indexes that
// queries need while serving are kept: calls by id, ended calls for the
// purge, pending notifications, notifications by call. Deadlines are read by
// a scan once, at start; notifications by callback URI by a scan from the
// newest. Seqs are rowids without AUTOINCREMENT: still increasing, and
// without a write to sqlite_sequence per insert.
var schema = []string{
	`CREATE TABLE calls (
		id        TEXT PRIMARY KEY,
		tenant_id TEXT NOT NULL,
		app_id    TEXT NOT NULL,
		state     TEXT NOT NULL,
		version   INTEGER NOT NULL,
		deadline  INTEGER,
		ended_at  INTEGER,
		data      BLOB NOT NULL
	);
	CREATE INDEX calls_ended ON calls(ended_at) WHERE ended_at IS NOT NULL;
	CREATE TABLE notifications (
		seq              INTEGER PRIMARY KEY,
		message_id       TEXT NOT NULL,
		call_id          TEXT NOT NULL,
		tenant_id        TEXT NOT NULL,
		app_id           TEXT NOT NULL,
		chain_id         TEXT NOT NULL,
		scenario_id      TEXT NOT NULL,
		callback_uri     TEXT NOT NULL,
		payload          BLOB NOT NULL,
		created_at       INTEGER NOT NULL,
		status           TEXT NOT NULL,
		attempts         INTEGER NOT NULL DEFAULT 0,
		last_status_code INTEGER NOT NULL DEFAULT 0,
		last_error       TEXT NOT NULL DEFAULT '',
		last_attempt_at  INTEGER,
		next_attempt_at  INTEGER
	);
	CREATE INDEX notifications_pending ON notifications(seq) WHERE status = 'pending';
	CREATE INDEX notifications_call ON notifications(call_id, seq);`,
	`CREATE TABLE groups (
		id              TEXT PRIMARY KEY,
		tenant_id       TEXT NOT NULL,
		thread_id       TEXT,
		join_meeting_id TEXT,
		token           TEXT,
		version         INTEGER NOT NULL,
		ended_at        INTEGER,
		data            BLOB NOT NULL
	);
	CREATE INDEX groups_thread ON groups(tenant_id, thread_id) WHERE thread_id IS NOT NULL;
	CREATE INDEX groups_join_meeting_id ON groups(tenant_id, join_meeting_id) WHERE join_meeting_id IS NOT NULL;
	CREATE INDEX groups_token ON groups(tenant_id, token) WHERE token IS NOT NULL;
	CREATE INDEX groups_ended ON groups(ended_at) WHERE ended_at IS NOT NULL;`,
	// Live calls by owner: the per-application call limit and ending a
	// removed application's calls.
	`CREATE INDEX calls_live ON calls(tenant_id, app_id) WHERE ended_at IS NULL;`,
	`CREATE TABLE people (
		tenant_id TEXT NOT NULL,
		id        TEXT NOT NULL,
		data      BLOB NOT NULL,
		PRIMARY KEY (tenant_id, id)
	) WITHOUT ROWID;`,
	// Speech goes with its call: the purge deletes the rows whose call is
	// gone (few, and small in number: a call keeps at most
	// call.MaxVoicedRecordings).
	`CREATE TABLE speech (
		call_id      TEXT NOT NULL,
		operation_id TEXT NOT NULL,
		audio        BLOB NOT NULL,
		PRIMARY KEY (call_id, operation_id)
	);`,
	// The bots' requests, for calls' timelines: read by call, purged with
	// their call.
	`CREATE TABLE requests (
		call_id      TEXT NOT NULL,
		at           INTEGER NOT NULL,
		method       TEXT NOT NULL,
		path         TEXT NOT NULL,
		action       TEXT NOT NULL,
		status       INTEGER NOT NULL,
		operation_id TEXT NOT NULL,
		duration     INTEGER NOT NULL
	);
	CREATE INDEX requests_call ON requests(call_id);
	ALTER TABLE notifications ADD COLUMN last_duration INTEGER NOT NULL DEFAULT 0;`,
	// A call's kind, for counting live calls by kind without reading
	// their documents.
	`ALTER TABLE calls ADD COLUMN kind TEXT NOT NULL DEFAULT '';`,
	// When each call was created and last saved (Unix nanoseconds), for
	// listings newest first and for what changed lately (ListCalls): the
	// console lists the one and, while it is open, polls the other. The
	// calls already there get their documents' creation time (to the
	// millisecond) and no change.
	`ALTER TABLE calls ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE calls ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0;
	UPDATE calls SET created_at = coalesce(CAST(round((julianday(json_extract(CAST(data AS TEXT), '$.CreatedAt')) - 2440587.5) * 86400000) AS INTEGER) * 1000000, 0);
	CREATE INDEX calls_created ON calls(tenant_id, created_at, id);
	CREATE INDEX calls_changed ON calls(tenant_id, changed_at);`,
	// The same for meetings and group calls (ListGroups): the console
	// lists them and polls what changed lately. The groups already there
	// get their documents' creation time and no change.
	`ALTER TABLE groups ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE groups ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0;
	UPDATE groups SET created_at = coalesce(CAST(round((julianday(json_extract(CAST(data AS TEXT), '$.CreatedAt')) - 2440587.5) * 86400000) AS INTEGER) * 1000000, 0);
	CREATE INDEX groups_created ON groups(tenant_id, created_at, id);
	CREATE INDEX groups_changed ON groups(tenant_id, changed_at);`,
}

func migrate(db *sql.DB) error {
	var version int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	for i := version; i < len(schema); i++ {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(schema[i]); err != nil {
			tx.Rollback()
			return err
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the checkpointer and closes the statements and the
// connection pools. The last checkpoint is SQLite's own, when the writer's
// connection closes.
func (s *Store) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
		<-s.stopped
	}
	var errs []error
	for _, stmt := range []*sql.Stmt{s.stmts.insertCall, s.stmts.updateCall, s.stmts.insertNotification, s.stmts.recordDelivery, s.stmts.getCall} {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(append(errs, s.checkpoint.Close(), s.read.Close(), s.write.Close())...)
}

// nanos stores a time as Unix nanoseconds; the zero time is NULL.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func (s *Store) SaveBatch(ctx context.Context, batch []*store.Changes) []error {
	errs := make([]error, len(batch))
	// Encode outside the transaction: the writer is shared, keep it short.
	encoded := make([]*store.Encoded, len(batch))
	for i, ch := range batch {
		encoded[i], errs[i] = store.Encode(ch)
	}
	// When the batch's calls were saved, for ListCalls' ChangedWithin.
	now := time.Now().UnixNano()
	if len(batch) == 1 && errs[0] == nil {
		// One Changes: the transaction is its savepoint.
		err := s.inTx(ctx, func(tx *sql.Tx) error { return s.apply(ctx, tx, batch[0], encoded[0], now) })
		return store.Settle(batch, errs, err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, ch := range batch {
			if errs[i] != nil {
				continue
			}
			// Each Changes in its own savepoint: one that conflicts is
			// undone alone and the rest of the batch commits.
			if _, err := tx.ExecContext(ctx, `SAVEPOINT changes`); err != nil {
				return err
			}
			errs[i] = s.apply(ctx, tx, ch, encoded[i], now)
			if errs[i] != nil {
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO changes`); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE changes`); err != nil {
				return err
			}
		}
		return nil
	})
	return store.Settle(batch, errs, err)
}

func (s *Store) apply(ctx context.Context, tx *sql.Tx, ch *store.Changes, e *store.Encoded, now int64) error {
	for i, c := range ch.Calls {
		if err := s.saveCall(ctx, tx, c, e.Calls[i], now); err != nil {
			return err
		}
	}
	for i, g := range ch.Groups {
		if err := s.saveGroup(ctx, tx, g, e.Groups[i], now); err != nil {
			return err
		}
	}
	for _, sp := range ch.Speech {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO speech (call_id, operation_id, audio) VALUES (?, ?, ?)`,
			sp.CallID, sp.OperationID, sp.Audio); err != nil {
			return err
		}
	}
	return s.insertNotifications(ctx, tx, ch.Notifications)
}

func (s *Store) saveCall(ctx context.Context, tx *sql.Tx, c *call.Call, data []byte, now int64) error {
	if c.Version == 0 {
		_, err := tx.StmtContext(ctx, s.stmts.insertCall).ExecContext(ctx,
			c.ID, c.Owner.TenantID, c.Owner.AppID, string(c.State), nanos(c.NextDeadline()), nanos(c.EndedAt), data, string(c.Kind),
			c.CreatedAt.UnixNano(), now)
		return err
	}
	res, err := tx.StmtContext(ctx, s.stmts.updateCall).ExecContext(ctx,
		string(c.State), nanos(c.NextDeadline()), nanos(c.EndedAt), data, now, c.ID, c.Version)
	return checkUpdated(res, err)
}

func (s *Store) saveGroup(ctx context.Context, tx *sql.Tx, g *call.Group, data []byte, now int64) error {
	var thread, joinID, token any
	if m := g.Meeting; m != nil {
		thread, joinID, token = m.ThreadID, m.JoinMeetingID, m.Token
	}
	if g.Version == 0 {
		var created int64
		if !g.CreatedAt.IsZero() {
			created = g.CreatedAt.UnixNano()
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO groups (id, tenant_id, thread_id, join_meeting_id, token, version, ended_at, data, created_at, changed_at)
			 VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
			g.ID, g.TenantID, thread, joinID, token, nanos(g.EndedAt), data, created, now)
		return err
	}
	res, err := tx.ExecContext(ctx,
		`UPDATE groups SET version = version + 1, ended_at = ?, data = ?, changed_at = ? WHERE id = ? AND version = ?`,
		nanos(g.EndedAt), data, now, g.ID, g.Version)
	return checkUpdated(res, err)
}

// checkUpdated turns an update that matched no row (the version moved on)
// into ErrConflict.
func checkUpdated(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrConflict
	}
	return nil
}

func (s *Store) insertNotifications(ctx context.Context, tx *sql.Tx, out []store.Notification) error {
	if len(out) == 0 {
		return nil
	}
	insert := tx.StmtContext(ctx, s.stmts.insertNotification)
	for i := range out {
		n := &out[i]
		if n.Status == "" {
			n.Status = store.Pending
		}
		res, err := insert.ExecContext(ctx,
			n.MessageID, n.CallID, n.Owner.TenantID, n.Owner.AppID, n.ChainID, n.ScenarioID,
			n.CallbackURI, n.Payload, n.CreatedAt.UnixNano(), string(n.Status))
		if err != nil {
			return err
		}
		// seq is the rowid: the id of the row just inserted.
		if n.Seq, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in a write transaction, committing if it returns nil. Seqs it
// assigned are only valid once the commit succeeded, which is when inTx
// returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *Store) GetCall(ctx context.Context, id string) (*call.Call, error) {
	var (
		data    []byte
		version int64
	)
	err := s.stmts.getCall.QueryRowContext(ctx, id).Scan(&data, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var c call.Call
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("sqlite: call %s: %w", id, err)
	}
	c.Version = version
	return &c, nil
}

func (s *Store) GetGroup(ctx context.Context, id string) (*call.Group, error) {
	return s.queryGroup(ctx, `SELECT data, version FROM groups WHERE id = ?`, id)
}

func (s *Store) FindMeeting(ctx context.Context, tenantID string, key call.MeetingKey) (*call.Group, error) {
	switch {
	case key.ThreadID != "":
		return s.queryGroup(ctx, `SELECT data, version FROM groups WHERE tenant_id = ? AND thread_id = ?`, tenantID, key.ThreadID)
	case key.JoinMeetingID != "":
		return s.queryGroup(ctx, `SELECT data, version FROM groups WHERE tenant_id = ? AND join_meeting_id = ?`, tenantID, key.JoinMeetingID)
	case key.Token != "":
		return s.queryGroup(ctx, `SELECT data, version FROM groups WHERE tenant_id = ? AND token = ?`, tenantID, key.Token)
	}
	return nil, store.ErrNotFound
}

func (s *Store) queryGroup(ctx context.Context, query string, args ...any) (*call.Group, error) {
	var (
		data    []byte
		version int64
	)
	err := s.read.QueryRowContext(ctx, query, args...).Scan(&data, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var g call.Group
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("sqlite: group: %w", err)
	}
	g.Version = version
	return &g, nil
}

func (s *Store) LiveCalls(ctx context.Context, owner call.Owner) ([]string, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT id FROM calls WHERE tenant_id = ? AND app_id = ? AND ended_at IS NULL ORDER BY id`, owner.TenantID, owner.AppID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ListCalls reads the calls the filter selects through calls_created (by
// tenant, newest first) or, with ChangedWithin, calls_changed (by tenant,
// most recently saved first).
func (s *Store) ListCalls(ctx context.Context, f store.CallFilter) ([]*call.Call, error) {
	q := `SELECT id, data, version FROM calls WHERE 1 = 1`
	var args []any
	if f.TenantID != "" {
		q += ` AND tenant_id = ?`
		args = append(args, f.TenantID)
	}
	if f.AppID != "" {
		q += ` AND app_id = ?`
		args = append(args, f.AppID)
	}
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, string(f.State))
	}
	q, args = page(q, args, f.Before, f.ChangedWithin, f.Limit)
	return listDocuments(ctx, s, "call", q, args, func(c *call.Call) *int64 { return &c.Version })
}

// ListGroups reads the groups the filter selects through groups_created
// (by tenant, newest first) or, with ChangedWithin, groups_changed (by
// tenant, most recently saved first).
func (s *Store) ListGroups(ctx context.Context, f store.GroupFilter) ([]*call.Group, error) {
	q := `SELECT id, data, version FROM groups WHERE 1 = 1`
	var args []any
	if f.TenantID != "" {
		q += ` AND tenant_id = ?`
		args = append(args, f.TenantID)
	}
	if f.Ended != nil {
		if *f.Ended {
			q += ` AND ended_at IS NOT NULL`
		} else {
			q += ` AND ended_at IS NULL`
		}
	}
	q, args = page(q, args, f.Before, f.ChangedWithin, f.Limit)
	return listDocuments(ctx, s, "group", q, args, func(g *call.Group) *int64 { return &g.Version })
}

// page ends a listing of calls or groups the same way: after a cursor
// (newest first), or what changed within the window (most recently saved
// first), limit rows (100 if unset).
func page(q string, args []any, before store.CallCursor, changedWithin time.Duration, limit int) (string, []any) {
	if !before.IsZero() {
		q += ` AND (created_at, id) < (?, ?)`
		args = append(args, before.CreatedAt.UnixNano(), before.ID)
	}
	order := ` ORDER BY created_at DESC, id DESC`
	if changedWithin > 0 {
		q += ` AND changed_at >= ?`
		args = append(args, time.Now().Add(-changedWithin).UnixNano())
		order = ` ORDER BY changed_at DESC, id DESC`
	}
	if limit <= 0 {
		limit = 100
	}
	return q + order + ` LIMIT ?`, append(args, limit)
}

// listDocuments runs a listing of rows (id, data, version) and decodes
// each document, with its version.
func listDocuments[T any](ctx context.Context, s *Store, kind, query string, args []any, version func(*T) *int64) ([]*T, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var (
			id   string
			data []byte
			doc  T
		)
		if err := rows.Scan(&id, &data, version(&doc)); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("sqlite: %s %s: %w", kind, id, err)
		}
		out = append(out, &doc)
	}
	return out, rows.Err()
}

func (s *Store) SavePerson(ctx context.Context, p call.Person) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO people (tenant_id, id, data) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id, id) DO UPDATE SET data = excluded.data`, p.TenantID, p.ID, data)
		return err
	})
}

func (s *Store) GetPerson(ctx context.Context, tenantID, id string) (call.Person, error) {
	var data []byte
	err := s.read.QueryRowContext(ctx, `SELECT data FROM people WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return call.Person{}, store.ErrNotFound
	}
	if err != nil {
		return call.Person{}, err
	}
	var p call.Person
	return p, json.Unmarshal(data, &p)
}

func (s *Store) People(ctx context.Context, tenantID string) ([]call.Person, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT data FROM people WHERE tenant_id = ? ORDER BY id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []call.Person
	for rows.Next() {
		var data []byte
		var p call.Person
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *Store) DeletePerson(ctx context.Context, tenantID, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM people WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
}

func (s *Store) Reset(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"calls", "groups", "notifications", "people", "speech", "requests"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) RecordRequests(ctx context.Context, rs []store.Request) error {
	if len(rs) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO requests (call_id, at, method, path, action, status, operation_id, duration)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range rs {
			if _, err := stmt.ExecContext(ctx, r.CallID, r.At.UnixNano(), r.Method, r.Path, r.Action, r.Status, r.OperationID, int64(r.Duration)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) Requests(ctx context.Context, callID string) ([]store.Request, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT at, method, path, action, status, operation_id, duration
		FROM requests WHERE call_id = ? ORDER BY rowid`, callID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Request
	for rows.Next() {
		r := store.Request{CallID: callID}
		var at, duration int64
		if err := rows.Scan(&at, &r.Method, &r.Path, &r.Action, &r.Status, &r.OperationID, &duration); err != nil {
			return nil, err
		}
		r.At, r.Duration = time.Unix(0, at).UTC(), time.Duration(duration)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) GetSpeech(ctx context.Context, callID, operationID string) ([]byte, error) {
	var audio []byte
	err := s.read.QueryRowContext(ctx, `SELECT audio FROM speech WHERE call_id = ? AND operation_id = ?`, callID, operationID).Scan(&audio)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return audio, err
}

func (s *Store) LiveCounts(ctx context.Context) ([]store.LiveCount, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT state, kind, count(*) FROM calls WHERE ended_at IS NULL GROUP BY state, kind ORDER BY state, kind`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LiveCount
	for rows.Next() {
		var (
			c           store.LiveCount
			state, kind string
		)
		if err := rows.Scan(&state, &kind, &c.Calls); err != nil {
			return nil, err
		}
		c.State, c.Kind = call.State(state), call.Kind(kind)
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) Deadlines(ctx context.Context) ([]store.Deadline, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, deadline, version FROM calls WHERE deadline IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Deadline
	for rows.Next() {
		var (
			d  store.Deadline
			at sql.NullInt64
		)
		if err := rows.Scan(&d.CallID, &at, &d.Version); err != nil {
			return nil, err
		}
		d.At = fromNanos(at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// purgeChunk bounds the rows one purge transaction deletes: the writer is
// shared, and a purge must not hold it long.
const purgeChunk = 1000

// Purge deletes in chunks, each its own short transaction. Notifications
// are found by seq, which grows with created_at: the oldest rows come
// first, and the search stops at the first one to keep instead of reading
// the whole table (which stalled every commit behind it once a minute).
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (calls, notifications int64, err error) {
	at := cutoff.UnixNano()
	if calls, err = s.purgeCalls(ctx, at); err != nil {
		return calls, 0, err
	}
	chunks := []struct {
		query string
		args  []any
		count *int64
	}{
		{`DELETE FROM groups WHERE rowid IN (SELECT rowid FROM groups WHERE ended_at < ? LIMIT ?)`, []any{at, purgeChunk}, new(int64)},
		// Requests are recorded in time order: the old ones (of calls
		// that are gone, or still live after the retention) come first.
		{`DELETE FROM requests WHERE rowid IN (SELECT rowid FROM requests
			WHERE rowid < coalesce((SELECT rowid FROM requests WHERE at >= ?1 ORDER BY rowid LIMIT 1), 1 << 62)
			ORDER BY rowid LIMIT ?2)`, []any{at, purgeChunk}, new(int64)},
		{`DELETE FROM notifications WHERE seq IN (SELECT seq FROM notifications
			WHERE seq < coalesce((SELECT seq FROM notifications WHERE created_at >= ?1 ORDER BY seq LIMIT 1), 1 << 62)
			AND status != 'pending' ORDER BY seq LIMIT ?2)`, []any{at, purgeChunk}, &notifications},
	}
	for _, c := range chunks {
		for {
			res, err := s.write.ExecContext(ctx, c.query, c.args...)
			if err != nil {
				return calls, notifications, err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return calls, notifications, err
			}
			*c.count += n
			if n < purgeChunk {
				break
			}
		}
	}
	return calls, notifications, nil
}

// purgeCalls deletes the calls that ended before at, with their speech and
// requests, a chunk per transaction: the chunk's calls are chosen by one
// query (the oldest first) that the three deletes share.
func (s *Store) purgeCalls(ctx context.Context, at int64) (int64, error) {
	const chunk = `SELECT id FROM calls WHERE ended_at < ?1 ORDER BY ended_at, id LIMIT ?2`
	var total int64
	for {
		var n int64
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			for _, q := range []string{
				`DELETE FROM speech WHERE call_id IN (` + chunk + `)`,
				`DELETE FROM requests WHERE call_id IN (` + chunk + `)`,
			} {
				if _, err := tx.ExecContext(ctx, q, at, purgeChunk); err != nil {
					return err
				}
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM calls WHERE id IN (`+chunk+`)`, at, purgeChunk)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		total += n
		if err != nil || n < purgeChunk {
			return total, err
		}
	}
}

const notificationColumns = `seq, message_id, call_id, tenant_id, app_id, chain_id, scenario_id,
	callback_uri, payload, created_at, status, attempts, last_status_code, last_error,
	last_attempt_at, next_attempt_at, last_duration`

func scanNotifications(rows *sql.Rows) ([]store.Notification, error) {
	defer rows.Close()
	var out []store.Notification
	for rows.Next() {
		var (
			n                  store.Notification
			created            int64
			status             string
			lastAttempt, retry sql.NullInt64
		)
		err := rows.Scan(&n.Seq, &n.MessageID, &n.CallID, &n.Owner.TenantID, &n.Owner.AppID, &n.ChainID,
			&n.ScenarioID, &n.CallbackURI, &n.Payload, &created, &status, &n.Attempts, &n.LastStatusCode,
			&n.LastError, &lastAttempt, &retry, &n.LastDuration)
		if err != nil {
			return nil, err
		}
		n.CreatedAt = time.Unix(0, created).UTC()
		n.Status = store.Status(status)
		n.LastAttemptAt = fromNanos(lastAttempt)
		n.NextAttemptAt = fromNanos(retry)
		out = append(out, n)
	}
	return out, rows.Err()
}

func (s *Store) Pending(ctx context.Context) ([]store.Notification, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+notificationColumns+` FROM notifications WHERE status = 'pending' ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	return scanNotifications(rows)
}

func (s *Store) RecordDeliveries(ctx context.Context, updates []store.DeliveryUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, s.stmts.recordDelivery)
		for _, u := range updates {
			_, err := stmt.ExecContext(ctx, string(u.Status), u.Attempts, u.LastStatusCode, u.LastError,
				nanos(u.LastAttemptAt), nanos(u.NextAttemptAt), int64(u.LastDuration), u.Seq)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) Notifications(ctx context.Context, f store.Filter) ([]store.Notification, error) {
	q := `SELECT ` + notificationColumns + ` FROM notifications WHERE 1 = 1`
	var args []any
	if f.CallID != "" {
		q += ` AND call_id = ?`
		args = append(args, f.CallID)
	}
	if f.CallbackURI != "" {
		q += ` AND callback_uri = ?`
		args = append(args, f.CallbackURI)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.Before > 0 {
		q += ` AND seq < ?`
		args = append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return scanNotifications(rows)
}
