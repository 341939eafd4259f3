package postgres

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/store"
)

// Each call belongs to one node (calls.owner_node): the one that created
// it, or took it over from a node that died. That node alone delivers the
// call's notifications and fires its timers, so that they happen once and
// in order. A node that saves a change to a call another node owns hands
// the owner the notifications and the deadline, in the transaction that
// saves them: the owner hears of them when, and only if, it commits.

// routing collects, while a Changes is saved, the owners of the calls it
// saves or notifies.
type routing struct {
	owners map[string]string
}

// queueRouting adds to b what finds the owners of the calls a Changes
// saves (their updates return it) and notifies without saving them (locked
// FOR SHARE until the commit, so that no node takes them over in between
// and misses the notifications).
func (s *Store) queueRouting(b *pgx.Batch, ch *store.Changes, r *routing) {
	var others []string
	for _, n := range ch.Notifications {
		if !slices.Contains(others, n.CallID) && !savesCall(ch, n.CallID) {
			others = append(others, n.CallID)
		}
	}
	if len(others) == 0 {
		return
	}
	b.Queue(`SELECT id, owner_node FROM calls WHERE id = ANY($1) FOR SHARE`, others).Query(func(rows pgx.Rows) error {
		var id, owner string
		_, err := pgx.ForEachRow(rows, []any{&id, &owner}, func() error {
			r.owners[id] = owner
			return nil
		})
		return err
	})
}

func savesCall(ch *store.Changes, id string) bool {
	return slices.ContainsFunc(ch.Calls, func(c *call.Call) bool { return c.ID == id })
}

// handOver tells the owners of a saved Changes' calls on other nodes what
// is theirs to deliver and time, and returns those calls.
func (s *Store) handOver(ctx context.Context, tx pgx.Tx, ch *store.Changes, r *routing) (map[string]bool, error) {
	byOwner := map[string]*handover{}
	elsewhere := map[string]bool{}
	remote := func(callID string) *handover {
		owner := r.owners[callID]
		if owner == "" || owner == s.node {
			return nil
		}
		elsewhere[callID] = true
		h, ok := byOwner[owner]
		if !ok {
			h = &handover{}
			byOwner[owner] = h
		}
		return h
	}
	for _, c := range ch.Calls {
		if h := remote(c.ID); h != nil {
			t := handoverTimer{CallID: c.ID, Version: c.Version + 1} // the version this save gives it
			if at := c.NextDeadline(); !at.IsZero() {
				t.At = at.UnixNano()
			}
			h.Deadlines = append(h.Deadlines, t)
		}
	}
	for _, n := range ch.Notifications {
		if h := remote(n.CallID); h != nil {
			h.Seqs = append(h.Seqs, n.Seq)
		}
	}
	for owner, h := range byOwner {
		for _, payload := range h.payloads() {
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, nodeChannelPrefix+owner, payload); err != nil {
				return nil, err
			}
		}
	}
	return elsewhere, nil
}

// payloads splits a handover into messages that fit a NOTIFY, keeping the
// order of its notifications.
func (h *handover) payloads() []string {
	var out []string
	part := handover{}
	size := 0
	flush := func() {
		if len(part.Seqs)+len(part.Deadlines) == 0 {
			return
		}
		data, _ := json.Marshal(part)
		out = append(out, string(data))
		part, size = handover{}, 0
	}
	for _, t := range h.Deadlines {
		if size > maxPayload-200 {
			flush()
		}
		part.Deadlines = append(part.Deadlines, t)
		size += len(t.CallID) + 50
	}
	for _, seq := range h.Seqs {
		if size > maxPayload-30 {
			flush()
		}
		part.Seqs = append(part.Seqs, seq)
		size += 21
	}
	flush()
	return out
}

// pendingBySeq returns those of the notifications that are still pending,
// in Seq order.
func (s *Store) pendingBySeq(ctx context.Context, seqs []int64) ([]store.Notification, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+notificationColumns+` FROM notifications
		WHERE seq = ANY($1) AND status = 'pending' ORDER BY seq`, seqs)
	return collect(rows, scanNotification)
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pendingOfOwner returns the pending notifications of the owner's calls (of
// the calls with the ids, if given), in Seq order.
func (s *Store) pendingOfOwner(ctx context.Context, q querier, owner string, callIDs []string) ([]store.Notification, error) {
	if callIDs != nil {
		if len(callIDs) == 0 {
			return nil, nil
		}
		rows, _ := q.Query(ctx, `SELECT `+notificationColumns+` FROM notifications
			WHERE status = 'pending' AND call_id = ANY($1) ORDER BY seq`, callIDs)
		return collect(rows, scanNotification)
	}
	rows, _ := q.Query(ctx, `SELECT `+notificationColumns+` FROM notifications
		WHERE status = 'pending' AND call_id IN (SELECT id FROM calls WHERE owner_node = $1) ORDER BY seq`, owner)
	return collect(rows, scanNotification)
}

// takeCalls makes the calls of node from node to's, returning their
// deadlines; with from == to, it only reads them.
func (s *Store) takeCalls(ctx context.Context, tx pgx.Tx, from, to string) ([]store.Deadline, error) {
	query := `UPDATE calls SET owner_node = $2 WHERE owner_node = $1 RETURNING id, deadline, version`
	args := []any{from, to}
	if from == to {
		query, args = `SELECT id, deadline, version FROM calls WHERE owner_node = $1`, []any{from}
	}
	rows, _ := tx.Query(ctx, query, args...)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Deadline, error) {
		var (
			d  store.Deadline
			at *int64
		)
		err := row.Scan(&d.CallID, &at, &d.Version)
		d.At = fromNanos(at)
		return d, err
	})
}
