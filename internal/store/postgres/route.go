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
// notifies without saving them (roster updates to other legs). Their rows
// are read, not locked: locking them would deadlock with those legs' own
// saves. A node may take such a call over between this read and the
// commit; the handover then goes to the node it took it from, which is why
// a node that takes another's calls over also takes the handovers still
// addressed to it (Node.inherited). The owners of the calls it saves come
// from their updates, which the row lock orders with any takeover.
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
	b.Queue(`SELECT id, owner_node FROM calls WHERE id = ANY($1)`, others).Query(func(rows pgx.Rows) error {
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

// handOver returns the messages that hand the owners of a saved Changes'
// calls their notifications and deadlines, to be sent with the commit,
// and the calls so handed. Every call goes this way, a node's own too: the
// notifications of one transaction reach the listeners when, and only if,
// it commits, and those of all transactions in commit order. So one call's
// notifications, saved by any nodes, reach its owner in the order they
// were saved. The node's own notifications stay in memory for its
// listener (recent), which then need not read them back.
func (s *Store) handOver(ch *store.Changes, r *routing) (messages []string, handed map[string]bool) {
	byOwner := map[string]*handover{}
	var owners []string // in the order first met: the messages' order
	handed = map[string]bool{}
	to := func(callID string) *handover {
		owner := r.owners[callID]
		if owner == "" {
			return nil // no node's: the saver's committer delivers it
		}
		handed[callID] = true
		h, ok := byOwner[owner]
		if !ok {
			h = &handover{}
			byOwner[owner] = h
			owners = append(owners, owner)
		}
		return h
	}
	for _, c := range ch.Calls {
		if h := to(c.ID); h != nil {
			t := handoverTimer{CallID: c.ID, Version: c.Version + 1} // the version this save gives it
			if at := c.NextDeadline(); !at.IsZero() {
				t.At = at.UnixNano()
			}
			h.Deadlines = append(h.Deadlines, t)
		}
	}
	var own []store.Notification
	for _, n := range ch.Notifications {
		if h := to(n.CallID); h != nil {
			h.Seqs = append(h.Seqs, n.Seq)
			if r.owners[n.CallID] == s.node {
				own = append(own, n)
			}
		}
	}
	s.remember(own)
	for _, owner := range owners {
		for _, payload := range byOwner[owner].payloads() {
			messages = append(messages, owner+" "+payload)
		}
	}
	return messages, handed
}

// remember keeps notifications this node saved for its own calls until its
// listener takes them (take), or the transaction fails (forget).
func (s *Store) remember(ns []store.Notification) {
	if len(ns) == 0 {
		return
	}
	s.recentMu.Lock()
	defer s.recentMu.Unlock()
	for _, n := range ns {
		s.recent[n.Seq] = n
	}
}

func (s *Store) forget(seqs []int64) {
	s.recentMu.Lock()
	defer s.recentMu.Unlock()
	for _, seq := range seqs {
		delete(s.recent, seq)
	}
}

// take returns the remembered notifications with the seqs, and the seqs it
// does not remember.
func (s *Store) take(seqs []int64) (found []store.Notification, missing []int64) {
	s.recentMu.Lock()
	defer s.recentMu.Unlock()
	for _, seq := range seqs {
		if n, ok := s.recent[seq]; ok {
			found = append(found, n)
			delete(s.recent, seq)
		} else {
			missing = append(missing, seq)
		}
	}
	return found, missing
}

// forgetAll drops every remembered notification: after the listener missed
// some, the node reads all its pending ones again.
func (s *Store) forgetAll() {
	s.recentMu.Lock()
	defer s.recentMu.Unlock()
	clear(s.recent)
}

// notifyHandovers sends the batch's handover messages, just before its
// commit and outside every savepoint.
func notifyHandovers(ctx context.Context, tx pgx.Tx, messages []string) error {
	if len(messages) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, m) FROM unnest($2::text[]) AS m`, handoverChannel, messages)
	return err
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
	return pgx.CollectRows(rows, scanDeadline)
}
