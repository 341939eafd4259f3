// Package postgres is callplane's shared store: a PostgreSQL database that
// several callplane nodes can use at once, through pgx's connection pool.
//
// It keeps the sqlite engine's semantics, table for table. Optimistic
// versions are what keeps nodes from overwriting each other's changes: an
// update applies only to the version it read, and PostgreSQL's row locks
// make concurrent updates of one call wait for each other, then conflict.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/store"
)

// Store is a store.Store on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	node string

	// recent are notifications of this node's calls it saved and its
	// listener has yet to take (see handOver).
	recentMu sync.Mutex
	recent   map[int64]store.Notification
}

var _ store.Store = (*Store)(nil)

// Options configure a Store.
type Options struct {
	// NodeID is the callplane node opening the store: the calls it creates
	// are recorded as that node's (calls.owner_node). It may be empty.
	NodeID string
}

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string) and brings its schema up to date.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return &Store{pool: pool, node: opts.NodeID, recent: make(map[int64]store.Notification)}, nil
}

// Pool is the store's connection pool, for the parts of this engine that
// keep tables of their own in the same database.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool, waiting for the connections in use to come back.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// nanos stores a time as Unix nanoseconds; the zero time is NULL.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// dbNow is the database's clock in Unix nanoseconds (to the microsecond):
// when a call was saved (calls.changed_at), by the one clock every node
// shares.
const dbNow = `((extract(epoch FROM clock_timestamp()) * 1000000)::bigint * 1000)`

const (
	insertCall = `INSERT INTO calls (id, tenant_id, app_id, state, version, deadline, ended_at, data, owner_node, kind, created_at, changed_at)
		VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10, ` + dbNow + `)`
	updateCall = `UPDATE calls SET state = $3, version = version + 1, deadline = $4, ended_at = $5, data = $6, changed_at = ` + dbNow + `
		WHERE id = $1 AND version = $2`
	insertGroup = `INSERT INTO groups (id, tenant_id, thread_id, join_meeting_id, token, version, ended_at, data, created_at, changed_at)
		VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, ` + dbNow + `)`
	updateGroup = `UPDATE groups SET version = version + 1, ended_at = $3, data = $4, changed_at = ` + dbNow + `
		WHERE id = $1 AND version = $2`
	saveSpeech = `INSERT INTO speech (call_id, operation_id, audio) VALUES ($1, $2, $3)
		ON CONFLICT (call_id, operation_id) DO UPDATE SET audio = excluded.audio`
	insertNotification = `INSERT INTO notifications (message_id, call_id, tenant_id, app_id, chain_id,
		scenario_id, callback_uri, payload, created_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		RETURNING seq`
	recordDelivery = `UPDATE notifications SET status = $2, attempts = $3, last_status_code = $4,
		last_error = $5, last_attempt_at = $6, next_attempt_at = $7, last_duration = $8 WHERE seq = $1`
)

// maxAttempts bounds the tries of a batch that PostgreSQL aborted to break
// a deadlock (nodes saving the same calls in another order) or a
// serialization failure: another try normally goes through.
const maxAttempts = 5

func (s *Store) SaveBatch(ctx context.Context, batch []*store.Changes) []error {
	encodeErrs := make([]error, len(batch))
	encoded := make([]*store.Encoded, len(batch))
	for i, ch := range batch {
		encoded[i], encodeErrs[i] = store.Encode(ch)
	}
	var (
		errs  []error
		txErr error
	)
	elsewhere := make([]map[string]bool, len(batch))
	for attempt := 1; ; attempt++ {
		errs = slices.Clone(encodeErrs)
		clear(elsewhere)
		txErr = s.saveBatch(ctx, batch, encoded, errs, elsewhere)
		if !retryable(txErr) || attempt == maxAttempts || ctx.Err() != nil {
			break
		}
	}
	if txErr == nil {
		for i, ch := range batch {
			if errs[i] == nil {
				ch.Elsewhere = elsewhere[i]
			}
		}
	}
	return store.Settle(batch, errs, txErr)
}

// saveBatch tries a batch in one transaction, each Changes in a savepoint
// of its own so that one that fails is undone alone; with one Changes, the
// transaction is its savepoint. It records the Changes' own errors in errs
// and returns the transaction's.
//
// A Changes costs one round trip: the savepoint, its statements and the
// release of the previous Changes' savepoint go together (the commit
// releases the last one). One that fails costs one more, to roll back.
//
// On a node of a cluster, the Changes' calls that other nodes own are
// handed to them before the savepoint is released, and listed in
// elsewhere.
func (s *Store) saveBatch(ctx context.Context, batch []*store.Changes, encoded []*store.Encoded, errs []error, elsewhere []map[string]bool) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	savepoints := len(batch) > 1
	held := false // whether the savepoint of an earlier Changes is still to release
	var (
		messages   []string // handovers, sent with the commit
		remembered []int64  // notifications remembered for this node's listener
	)
	committed := false
	defer func() {
		if !committed {
			s.forget(remembered)
		}
	}()
	for i, ch := range batch {
		if errs[i] != nil || ch.Empty() {
			continue
		}
		var b pgx.Batch
		var bookkeeping int
		if savepoints {
			if held {
				b.Queue(`RELEASE SAVEPOINT changes`)
				bookkeeping++
			}
			b.Queue(`SAVEPOINT changes`)
			bookkeeping++
		}
		var r *routing
		if s.node != "" {
			r = &routing{owners: make(map[string]string)}
		}
		s.queue(&b, ch, encoded[i], r)
		results := tx.SendBatch(ctx, &b)
		for range bookkeeping {
			// Should this fail, no savepoint of this Changes' exists, and
			// rolling back to "changes" would undo an earlier Changes
			// instead: the batch fails as a whole.
			if _, err := results.Exec(); err != nil {
				results.Close()
				return err
			}
		}
		err := classify(results.Close())
		if err == nil && r != nil {
			handed, calls := s.handOver(ch, r)
			messages, elsewhere[i] = append(messages, handed...), calls
			for _, n := range ch.Notifications {
				remembered = append(remembered, n.Seq)
			}
		}
		switch {
		case err == nil:
		case !savepoints || retryable(err):
			return err
		default:
			if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT changes`); err != nil {
				return err
			}
			errs[i] = err
		}
		held = savepoints
	}
	if err := notifyHandovers(ctx, tx, messages); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	committed = true
	return nil
}

// queue adds the statements that save one Changes to b, each checked as
// its result is read: the first error is the Changes'.
//
// With r (on a node of a cluster), it also finds the owners of the calls
// the Changes saves or notifies.
func (s *Store) queue(b *pgx.Batch, ch *store.Changes, e *store.Encoded, r *routing) {
	for i, c := range ch.Calls {
		switch {
		case c.Version == 0:
			b.Queue(insertCall, c.ID, c.Owner.TenantID, c.Owner.AppID, string(c.State),
				nanos(c.NextDeadline()), nanos(c.EndedAt), e.Calls[i], s.node, string(c.Kind), c.CreatedAt.UnixNano())
			if r != nil {
				r.owners[c.ID] = s.node
			}
		case r != nil:
			b.Queue(updateCall+` RETURNING owner_node`, c.ID, c.Version, string(c.State), nanos(c.NextDeadline()), nanos(c.EndedAt), e.Calls[i]).
				QueryRow(func(row pgx.Row) error {
					var owner string
					err := row.Scan(&owner)
					if errors.Is(err, pgx.ErrNoRows) {
						return store.ErrConflict
					}
					r.owners[c.ID] = owner
					return err
				})
		default:
			b.Queue(updateCall, c.ID, c.Version, string(c.State), nanos(c.NextDeadline()), nanos(c.EndedAt), e.Calls[i]).
				Exec(updated)
		}
	}
	if r != nil {
		s.queueRouting(b, ch, r)
	}
	for i, g := range ch.Groups {
		if g.Version == 0 {
			var thread, joinID, token any
			if m := g.Meeting; m != nil {
				thread, joinID, token = m.ThreadID, m.JoinMeetingID, m.Token
			}
			var created int64
			if !g.CreatedAt.IsZero() {
				created = g.CreatedAt.UnixNano()
			}
			b.Queue(insertGroup, g.ID, g.TenantID, thread, joinID, token, nanos(g.EndedAt), e.Groups[i], created)
			continue
		}
		b.Queue(updateGroup, g.ID, g.Version, nanos(g.EndedAt), e.Groups[i]).Exec(updated)
	}
	for _, sp := range ch.Speech {
		b.Queue(saveSpeech, sp.CallID, sp.OperationID, sp.Audio)
	}
	for i := range ch.Notifications {
		n := &ch.Notifications[i]
		if n.Status == "" {
			n.Status = store.Pending
		}
		b.Queue(insertNotification, n.MessageID, n.CallID, n.Owner.TenantID, n.Owner.AppID, n.ChainID, n.ScenarioID,
			n.CallbackURI, n.Payload, n.CreatedAt.UnixNano(), string(n.Status)).
			QueryRow(func(row pgx.Row) error { return row.Scan(&n.Seq) })
	}
}

// updated turns an update that matched no row (the version moved on) into
// ErrConflict.
func updated(tag pgconn.CommandTag) error {
	if tag.RowsAffected() == 0 {
		return store.ErrConflict
	}
	return nil
}

// classify turns the creation of a call or group that exists (someone,
// perhaps another node, created it first) into ErrConflict.
func classify(err error) error {
	if pgCode(err) == "23505" { // unique_violation
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	}
	return err
}

// retryable reports whether PostgreSQL aborted the transaction to break a
// deadlock or a serialization failure, which trying again resolves.
func retryable(err error) bool {
	code := pgCode(err)
	return code == "40001" || code == "40P01"
}

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func (s *Store) GetCall(ctx context.Context, id string) (*call.Call, error) {
	var (
		data    []byte
		version int64
	)
	err := s.pool.QueryRow(ctx, `SELECT data, version FROM calls WHERE id = $1`, id).Scan(&data, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var c call.Call
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("postgres: call %s: %w", id, err)
	}
	c.Version = version
	return &c, nil
}

func (s *Store) GetGroup(ctx context.Context, id string) (*call.Group, error) {
	return s.queryGroup(ctx, `SELECT data, version FROM groups WHERE id = $1`, id)
}

func (s *Store) FindMeeting(ctx context.Context, tenantID string, key call.MeetingKey) (*call.Group, error) {
	switch {
	case key.ThreadID != "":
		return s.queryGroup(ctx, `SELECT data, version FROM groups WHERE tenant_id = $1 AND thread_id = $2`, tenantID, key.ThreadID)
	case key.JoinMeetingID != "":
		return s.queryGroup(ctx, `SELECT data, version FROM groups WHERE tenant_id = $1 AND join_meeting_id = $2`, tenantID, key.JoinMeetingID)
	case key.Token != "":
		return s.queryGroup(ctx, `SELECT data, version FROM groups WHERE tenant_id = $1 AND token = $2`, tenantID, key.Token)
	}
	return nil, store.ErrNotFound
}

// queryGroup reads the group the query selects. Like SQLite's QueryRow,
// it takes the first of several rows, in no particular order.
func (s *Store) queryGroup(ctx context.Context, query string, args ...any) (*call.Group, error) {
	var (
		data    []byte
		version int64
	)
	err := s.pool.QueryRow(ctx, query, args...).Scan(&data, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var g call.Group
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("postgres: group: %w", err)
	}
	g.Version = version
	return &g, nil
}

// collect reads every row with fn; no rows is a nil slice, as in the
// sqlite engine.
func collect[T any](rows pgx.Rows, fn pgx.RowToFunc[T]) ([]T, error) {
	return pgx.AppendRows([]T(nil), rows, fn)
}

func (s *Store) LiveCalls(ctx context.Context, owner call.Owner) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id FROM calls WHERE tenant_id = $1 AND app_id = $2 AND ended_at IS NULL ORDER BY id`,
		owner.TenantID, owner.AppID)
	return collect(rows, pgx.RowTo[string])
}

// ListCalls reads the calls the filter selects through calls_created (by
// tenant, newest first) or, with ChangedWithin, calls_changed (by tenant,
// most recently saved first, by the database's clock).
func (s *Store) ListCalls(ctx context.Context, f store.CallFilter) ([]*call.Call, error) {
	l := listing{q: `SELECT id, data, version FROM calls WHERE true`}
	if f.TenantID != "" {
		l.q += ` AND tenant_id = ` + l.arg(f.TenantID)
	}
	if f.AppID != "" {
		l.q += ` AND app_id = ` + l.arg(f.AppID)
	}
	if f.State != "" {
		l.q += ` AND state = ` + l.arg(string(f.State))
	}
	l.page(f.Before, f.ChangedWithin, f.Limit)
	return listDocuments(ctx, s, "call", l, func(c *call.Call) *int64 { return &c.Version })
}

// ListGroups reads the groups the filter selects through groups_created
// (by tenant, newest first) or, with ChangedWithin, groups_changed (by
// tenant, most recently saved first, by the database's clock).
func (s *Store) ListGroups(ctx context.Context, f store.GroupFilter) ([]*call.Group, error) {
	l := listing{q: `SELECT id, data, version FROM groups WHERE true`}
	if f.TenantID != "" {
		l.q += ` AND tenant_id = ` + l.arg(f.TenantID)
	}
	if f.Ended != nil {
		if *f.Ended {
			l.q += ` AND ended_at IS NOT NULL`
		} else {
			l.q += ` AND ended_at IS NULL`
		}
	}
	l.page(f.Before, f.ChangedWithin, f.Limit)
	return listDocuments(ctx, s, "group", l, func(g *call.Group) *int64 { return &g.Version })
}

// listing builds a listing's query and its numbered arguments: calls,
// groups and notifications alike.
type listing struct {
	q    string
	args []any
}

func (l *listing) arg(v any) string {
	l.args = append(l.args, v)
	return fmt.Sprintf("$%d", len(l.args))
}

// page ends a listing of calls or groups the same way: after a cursor
// (newest first), or what changed within the window (most recently saved
// first), limit rows.
func (l *listing) page(before store.CallCursor, changedWithin time.Duration, limit int) {
	if !before.IsZero() {
		l.q += ` AND (created_at, id) < (` + l.arg(before.CreatedAt.UnixNano()) + `, ` + l.arg(before.ID) + `)`
	}
	order := ` ORDER BY created_at DESC, id DESC`
	if changedWithin > 0 {
		l.q += ` AND changed_at >= ` + dbNow + ` - ` + l.arg(changedWithin.Nanoseconds())
		order = ` ORDER BY changed_at DESC, id DESC`
	}
	l.q += order
	l.limit(limit)
}

// limit ends a listing with its limit: n rows, 100 if unset (the store's
// filters' default).
func (l *listing) limit(n int) {
	if n <= 0 {
		n = 100
	}
	l.q += ` LIMIT ` + l.arg(n)
}

// listDocuments runs a listing of rows (id, data, version) and decodes
// each document, with its version.
func listDocuments[T any](ctx context.Context, s *Store, kind string, l listing, version func(*T) *int64) ([]*T, error) {
	rows, _ := s.pool.Query(ctx, l.q, l.args...)
	return collect(rows, func(row pgx.CollectableRow) (*T, error) {
		var (
			id   string
			data []byte
			doc  T
		)
		if err := row.Scan(&id, &data, version(&doc)); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("postgres: %s %s: %w", kind, id, err)
		}
		return &doc, nil
	})
}

func (s *Store) SavePerson(ctx context.Context, p call.Person) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO people (tenant_id, id, data) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id, id) DO UPDATE SET data = excluded.data`, p.TenantID, p.ID, data)
	return err
}

func (s *Store) GetPerson(ctx context.Context, tenantID, id string) (call.Person, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM people WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return call.Person{}, store.ErrNotFound
	}
	if err != nil {
		return call.Person{}, err
	}
	var p call.Person
	return p, json.Unmarshal(data, &p)
}

func (s *Store) People(ctx context.Context, tenantID string) ([]call.Person, error) {
	rows, _ := s.pool.Query(ctx, `SELECT data FROM people WHERE tenant_id = $1 ORDER BY id`, tenantID)
	return collect(rows, func(row pgx.CollectableRow) (call.Person, error) {
		var (
			data []byte
			p    call.Person
		)
		if err := row.Scan(&data); err != nil {
			return p, err
		}
		return p, json.Unmarshal(data, &p)
	})
}

func (s *Store) DeletePerson(ctx context.Context, tenantID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM people WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err == nil && tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return err
}

// worldTables are the tables Reset empties: everything of store.Store's.
var worldTables = []string{"calls", "groups", "notifications", "people", "speech", "requests"}

// Reset deletes rather than truncates: TRUNCATE would lock every other
// node out of the tables, readers too, until it commits. Seqs go on from
// where they were, so none is ever given twice.
func (s *Store) Reset(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, table := range worldTables {
			b.Queue("DELETE FROM " + table)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
}

func (s *Store) RecordRequests(ctx context.Context, rs []store.Request) error {
	if len(rs) == 0 {
		return nil
	}
	// COPY keeps the rows' order: their ids follow it.
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"requests"},
		[]string{"call_id", "at", "method", "path", "action", "status", "operation_id", "duration"},
		pgx.CopyFromSlice(len(rs), func(i int) ([]any, error) {
			r := rs[i]
			return []any{r.CallID, r.At.UnixNano(), r.Method, r.Path, r.Action, r.Status, r.OperationID, int64(r.Duration)}, nil
		}))
	return err
}

func (s *Store) Requests(ctx context.Context, callID string) ([]store.Request, error) {
	rows, _ := s.pool.Query(ctx, `SELECT at, method, path, action, status, operation_id, duration
		FROM requests WHERE call_id = $1 ORDER BY id`, callID)
	return collect(rows, func(row pgx.CollectableRow) (store.Request, error) {
		r := store.Request{CallID: callID}
		var at, duration int64
		err := row.Scan(&at, &r.Method, &r.Path, &r.Action, &r.Status, &r.OperationID, &duration)
		r.At, r.Duration = time.Unix(0, at).UTC(), time.Duration(duration)
		return r, err
	})
}

func (s *Store) GetSpeech(ctx context.Context, callID, operationID string) ([]byte, error) {
	var audio []byte
	err := s.pool.QueryRow(ctx, `SELECT audio FROM speech WHERE call_id = $1 AND operation_id = $2`, callID, operationID).Scan(&audio)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return audio, err
}

func (s *Store) LiveCounts(ctx context.Context) ([]store.LiveCount, error) {
	rows, _ := s.pool.Query(ctx, `SELECT state, kind, count(*) FROM calls WHERE ended_at IS NULL GROUP BY state, kind ORDER BY state, kind`)
	return collect(rows, func(row pgx.CollectableRow) (store.LiveCount, error) {
		var (
			c           store.LiveCount
			state, kind string
		)
		err := row.Scan(&state, &kind, &c.Calls)
		c.State, c.Kind = call.State(state), call.Kind(kind)
		return c, err
	})
}

// Deadlines lists the deadlines of the calls this node owns (every call,
// for a store opened without a node id).
func (s *Store) Deadlines(ctx context.Context) ([]store.Deadline, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, deadline, version FROM calls WHERE deadline IS NOT NULL AND ($1 = '' OR owner_node = $1)`, s.node)
	return collect(rows, scanDeadline)
}

// scanDeadline reads a row of (id, deadline, version).
func scanDeadline(row pgx.CollectableRow) (store.Deadline, error) {
	var (
		d  store.Deadline
		at *int64
	)
	err := row.Scan(&d.CallID, &at, &d.Version)
	d.At = fromNanos(at)
	return d, err
}

// purgeChunk bounds the rows one purge statement deletes: each is a short
// transaction of its own, holding few row locks for little time.
const purgeChunk = 1000

// noSeq is above every seq and request id: "none to keep".
const noSeq = `9223372036854775807`

// Purge deletes in chunks, as the sqlite engine does. Notifications are
// found by seq, which grows with created_at: the oldest rows come first,
// and the search stops at the first one to keep instead of reading the
// whole table.
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (calls, notifications int64, err error) {
	at := cutoff.UnixNano()
	var groups, requests int64
	for _, c := range []struct {
		query string
		count *int64
	}{
		// A chunk of ended calls, with their speech and requests: one
		// statement, so the three deletes agree on the chunk.
		{`WITH doomed AS (SELECT id FROM calls WHERE ended_at < $1 ORDER BY ended_at, id LIMIT $2),
			doomed_speech AS (DELETE FROM speech WHERE call_id IN (SELECT id FROM doomed)),
			doomed_requests AS (DELETE FROM requests WHERE call_id IN (SELECT id FROM doomed))
			DELETE FROM calls WHERE id IN (SELECT id FROM doomed)`, &calls},
		{`DELETE FROM groups WHERE id IN (SELECT id FROM groups WHERE ended_at < $1 LIMIT $2)`, &groups},
		// Requests are recorded in time order: the old ones (of calls
		// that are gone, or still live after the retention) come first.
		{`DELETE FROM requests WHERE id IN (SELECT id FROM requests
			WHERE id < coalesce((SELECT id FROM requests WHERE at >= $1 ORDER BY id LIMIT 1), ` + noSeq + `)
			ORDER BY id LIMIT $2)`, &requests},
		{`DELETE FROM notifications WHERE seq IN (SELECT seq FROM notifications
			WHERE seq < coalesce((SELECT seq FROM notifications WHERE created_at >= $1 ORDER BY seq LIMIT 1), ` + noSeq + `)
			AND status <> 'pending' ORDER BY seq LIMIT $2)`, &notifications},
	} {
		for {
			tag, err := s.pool.Exec(ctx, c.query, at, purgeChunk)
			if err != nil {
				return calls, notifications, err
			}
			*c.count += tag.RowsAffected()
			if tag.RowsAffected() < purgeChunk {
				break
			}
		}
	}
	return calls, notifications, nil
}

const notificationColumns = `seq, message_id, call_id, tenant_id, app_id, chain_id, scenario_id,
	callback_uri, payload, created_at, status, attempts, last_status_code, last_error,
	last_attempt_at, next_attempt_at, last_duration`

func scanNotification(row pgx.CollectableRow) (store.Notification, error) {
	var (
		n                  store.Notification
		created, duration  int64
		status             string
		lastAttempt, retry *int64
	)
	err := row.Scan(&n.Seq, &n.MessageID, &n.CallID, &n.Owner.TenantID, &n.Owner.AppID, &n.ChainID,
		&n.ScenarioID, &n.CallbackURI, &n.Payload, &created, &status, &n.Attempts, &n.LastStatusCode,
		&n.LastError, &lastAttempt, &retry, &duration)
	n.CreatedAt = time.Unix(0, created).UTC()
	n.Status = store.Status(status)
	n.LastAttemptAt = fromNanos(lastAttempt)
	n.NextAttemptAt = fromNanos(retry)
	n.LastDuration = time.Duration(duration)
	return n, err
}

// Pending lists the pending notifications of the calls this node owns
// (every call's, for a store opened without a node id).
func (s *Store) Pending(ctx context.Context) ([]store.Notification, error) {
	if s.node != "" {
		return s.pendingOfOwner(ctx, s.pool, s.node, nil)
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE status = 'pending' ORDER BY seq`)
	return collect(rows, scanNotification)
}

// RecordDeliveries sends the updates together: a batch is one implicit
// transaction, all of it saved or none.
func (s *Store) RecordDeliveries(ctx context.Context, updates []store.DeliveryUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	var b pgx.Batch
	for _, u := range updates {
		b.Queue(recordDelivery, u.Seq, string(u.Status), u.Attempts, u.LastStatusCode, u.LastError,
			nanos(u.LastAttemptAt), nanos(u.NextAttemptAt), int64(u.LastDuration))
	}
	return s.pool.SendBatch(ctx, &b).Close()
}

func (s *Store) Notifications(ctx context.Context, f store.Filter) ([]store.Notification, error) {
	l := listing{q: `SELECT ` + notificationColumns + ` FROM notifications WHERE true`}
	if f.CallID != "" {
		l.q += ` AND call_id = ` + l.arg(f.CallID)
	}
	if f.CallbackURI != "" {
		l.q += ` AND callback_uri = ` + l.arg(f.CallbackURI)
	}
	if f.Status != "" {
		l.q += ` AND status = ` + l.arg(string(f.Status))
	}
	if f.Before > 0 {
		l.q += ` AND seq < ` + l.arg(f.Before)
	}
	l.q += ` ORDER BY seq DESC`
	l.limit(f.Limit)
	rows, _ := s.pool.Query(ctx, l.q, l.args...)
	return collect(rows, scanNotification)
}
