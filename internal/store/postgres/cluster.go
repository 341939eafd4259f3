package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/callplane/callplane/internal/store"
)

// The nodes of a cluster tell each other what they changed through
// PostgreSQL's LISTEN/NOTIFY, which delivers a transaction's notifications
// when (and only if) it commits, in commit order.
const (
	// clusterChannel carries events every node hears: "kind:argument".
	clusterChannel = "callplane_cluster"
	// handoverChannel carries what a node hands another: "node payload",
	// the notifications and deadlines of the node's calls that others
	// saved. Every node hears every handover and keeps its own: one
	// channel lets a node that took another's calls over hear what is
	// still addressed to it without listening anew.
	handoverChannel = "callplane_handover"
)

// inheritFor is how long a node takes the handovers still addressed to a
// node whose calls it took over: longer than any save that read the old
// owner before the takeover can take to commit.
const inheritFor = 5 * time.Minute

// Events on the cluster channel.
const (
	eventDocument = "document" // an identity document changed (argument: its name)
	eventFaults   = "faults"   // the fault rules changed
	eventReset    = "reset"    // a node reset the world (argument: that node)
	eventReleased = "released" // a node stopped and gave its calls up (argument: that node)
)

// broadcast tells every node of a change, in the transaction that makes
// it, as "number kind:argument"; it returns the event's number, for
// awaitEvent.
func broadcast(ctx context.Context, tx pgx.Tx, kind, arg string) (int64, error) {
	var n int64
	if err := tx.QueryRow(ctx, `SELECT nextval('cluster_events')`).Scan(&n); err != nil {
		return 0, err
	}
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, clusterChannel, fmt.Sprintf("%d %s:%s", n, kind, arg))
	return n, err
}

// eventWait bounds how long a change waits for the other nodes to act on
// it: a node that does not answer (its listening connection down, or it is
// dying) is not waited for longer.
const eventWait = 5 * time.Second

// awaitEvent waits until every live node but self has acted on event n,
// so that a change made through one node (a fault rule, a reset, an
// application's new roles) is in force on all when its request is
// answered.
func awaitEvent(ctx context.Context, pool *pgxpool.Pool, self string, n int64, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, eventWait)
	defer cancel()
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		var behind int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE id <> $1 AND lease_until > now() AND events_seen < $2`,
			self, n).Scan(&behind)
		if err == nil && behind == 0 {
			return
		}
		select {
		case <-ctx.Done():
			if log != nil {
				log.Warn("a change is not yet in force on every node", "behind", behind, "event", n)
			}
			return
		case <-time.After(wait):
		}
	}
}

// handover is what a node that saved changes to another node's calls tells
// that node: the notifications to deliver (by Seq) and the calls' new
// deadlines. Rows are read by the owner, so the message stays small.
type handover struct {
	Seqs      []int64         `json:"n,omitempty"`
	Deadlines []handoverTimer `json:"d,omitempty"`
}

// handoverTimer is a call's deadline (Unix nanoseconds; zero: none) as of
// its version.
type handoverTimer struct {
	CallID  string `json:"c"`
	At      int64  `json:"a,omitempty"`
	Version int64  `json:"v"`
}

// maxPayload keeps a NOTIFY under PostgreSQL's 8000-byte limit.
const maxPayload = 7000

// Handlers are what a node does when the cluster tells it something. Each
// is called from one goroutine, in the order the events were committed.
type Handlers struct {
	// Take gives the node notifications to deliver and deadlines to keep
	// for calls it owns: saved by another node, or taken over from a node
	// that died.
	Take func(ns []store.Notification, ds []store.Deadline)
	// Lost says the node's lease ran out and other nodes took its calls:
	// it must forget every stream and timer it holds. Take follows with
	// the calls that are still its own.
	Lost func()
	// Document says an identity document changed; Faults that the fault
	// rules did; Reset that another node reset the world.
	Document func(name string)
	Faults   func()
	Reset    func()
	// Resync says the node may have missed events (before it listened,
	// or while its connection was down): it reads the directory and the
	// fault rules again.
	Resync func()
}

// NodeOptions configure a node's membership.
type NodeOptions struct {
	// Address is a base URL other machines reach the node at, for commands
	// run against the cluster (callplane sim --store …).
	Address string
	// LeaseTTL is how long the node's calls stay its own without it
	// renewing its lease: how long a node that died unannounced holds
	// them up.
	LeaseTTL time.Duration
	Handlers Handlers
	Log      *slog.Logger
}

// Node is this process's membership of the cluster: its lease, the calls
// it owns through it, and the events it listens to.
type Node struct {
	store  *Store
	id     string
	opts   NodeOptions
	log    *slog.Logger
	claim  chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	// inherited are the nodes whose calls this one took over, and when:
	// handovers addressed to them are this node's (see queueRouting).
	mu        sync.Mutex
	inherited map[string]time.Time
}

// Join makes the store's node (Options.NodeID) a member of the cluster: it
// takes a lease, takes over the calls of nodes whose lease ran out (or who
// left), and listens for what other nodes hand it, until Leave.
func (s *Store) Join(ctx context.Context, opts NodeOptions) (*Node, error) {
	if s.node == "" {
		return nil, errors.New("postgres: a node needs an id (Options.NodeID)")
	}
	if opts.LeaseTTL <= 0 {
		return nil, errors.New("postgres: a node needs a lease TTL")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	n := &Node{store: s, id: s.node, opts: opts, log: opts.Log, claim: make(chan struct{}, 1), done: make(chan struct{}),
		inherited: make(map[string]time.Time)}
	if err := n.register(ctx); err != nil {
		return nil, err
	}
	listener, err := n.listen(ctx)
	if err != nil {
		return nil, err
	}
	if opts.Handlers.Resync != nil {
		opts.Handlers.Resync()
	}
	runCtx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	// Before serving: calls of nodes that left or died are this one's.
	if err := n.claimDead(ctx); err != nil {
		cancel()
		listener.Close(ctx)
		return nil, err
	}
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		n.listenLoop(runCtx, listener)
	}()
	go func() {
		defer close(n.done)
		n.leaseLoop(runCtx)
		<-listening
	}()
	return n, nil
}

// ID is the node's id.
func (n *Node) ID() string { return n.id }

// register makes the node a member, having seen every event so far: it
// reads what they changed (Handlers.Resync) once it listens.
func (n *Node) register(ctx context.Context) error {
	_, err := n.store.pool.Exec(ctx, `INSERT INTO nodes (id, address, lease_until, events_seen)
		VALUES ($1, $2, now() + $3::interval, (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM cluster_events))
		ON CONFLICT (id) DO UPDATE SET address = excluded.address, lease_until = excluded.lease_until, events_seen = excluded.events_seen`,
		n.id, n.opts.Address, n.opts.LeaseTTL.String())
	return err
}

// Leave gives the node's calls up at once: the other nodes take them over
// as soon as they hear of it. Call it once the node has stopped delivering
// and timing its calls.
func (n *Node) Leave(ctx context.Context) error {
	n.cancel()
	<-n.done
	return pgx.BeginFunc(ctx, n.store.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE nodes SET lease_until = '-infinity' WHERE id = $1`, n.id); err != nil {
			return err
		}
		_, err := broadcast(ctx, tx, eventReleased, n.id)
		return err
	})
}

// AnnounceReset tells the other nodes that this one reset the world, and
// returns once they have forgotten it too.
func (n *Node) AnnounceReset(ctx context.Context) error {
	return announced(ctx, n.store.pool, n.id, n.log, eventReset, n.id, func(pgx.Tx) (bool, error) { return true, nil })
}

// announced runs change in a transaction that, when change says it changed
// something, also tells every node (an event of kind, with arg); once it
// commits, it returns when every live node but self has acted on it
// (log, if set, hears of a node that did not in time).
func announced(ctx context.Context, pool *pgxpool.Pool, self string, log *slog.Logger, kind, arg string, change func(pgx.Tx) (bool, error)) error {
	var event int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		changed, err := change(tx)
		if err != nil || !changed {
			return err
		}
		event, err = broadcast(ctx, tx, kind, arg)
		return err
	})
	if err == nil && event != 0 {
		awaitEvent(ctx, pool, self, event, log)
	}
	return err
}

// Nodes lists the members whose lease runs, with their addresses.
func (s *Store) Nodes(ctx context.Context) ([]NodeInfo, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, address, started_at, lease_until FROM nodes WHERE lease_until > now() ORDER BY started_at`)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[NodeInfo])
}

// NodeInfo describes a member of the cluster.
type NodeInfo struct {
	ID         string
	Address    string
	StartedAt  time.Time
	LeaseUntil time.Time
}

// leaseLoop renews the lease a few times per TTL and takes over the calls
// of nodes whose lease ran out, until ctx is done.
//
// Between renewals it wakes when the next other node's lease runs out, so
// that a dead node's calls wait no longer than its lease.
func (n *Node) leaseLoop(ctx context.Context) {
	renewEvery := n.opts.LeaseTTL / 4
	renewAt := time.Now().Add(renewEvery)
	timer := time.NewTimer(renewEvery)
	defer timer.Stop()
	for {
		wake := time.Until(renewAt)
		if expiry, ok := n.nextExpiry(ctx); ok && expiry < wake {
			wake = expiry
		}
		timer.Reset(max(wake, 10*time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-n.claim: // (Reset needs no draining of the timer since Go 1.23)
		}
		if !time.Now().Before(renewAt) {
			n.renew(ctx)
			renewAt = time.Now().Add(renewEvery)
		}
		if err := n.claimDead(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("take over the calls of dead nodes", "err", err)
		}
	}
}

// nextExpiry is how long until the next other node's lease runs out, by
// the database's clock.
func (n *Node) nextExpiry(ctx context.Context) (time.Duration, bool) {
	var seconds *float64
	err := n.store.pool.QueryRow(ctx, `SELECT extract(epoch FROM min(lease_until) - now())::float8 FROM nodes
		WHERE id <> $1 AND lease_until > now()`, n.id).Scan(&seconds)
	if err != nil || seconds == nil {
		return 0, false
	}
	// A little after it: the lease must have run out when the claim looks.
	return time.Duration(*seconds*float64(time.Second)) + 50*time.Millisecond, true
}

// renew extends the lease. If it had run out and another node took this
// one's calls, the node forgets them and carries on with what is still
// its own.
func (n *Node) renew(ctx context.Context) {
	tag, err := n.store.pool.Exec(ctx, `UPDATE nodes SET lease_until = now() + $2::interval, inherited = $3 WHERE id = $1`,
		n.id, n.opts.LeaseTTL.String(), n.inheritedIDs())
	switch {
	case err != nil:
		if ctx.Err() == nil {
			n.log.Error("renew the node's lease", "err", err)
		}
		return
	case tag.RowsAffected() == 1:
		return
	}
	n.log.Error("the node's lease ran out and its calls were taken over: forgetting them", "node", n.id, "lease", n.opts.LeaseTTL)
	if n.opts.Handlers.Lost != nil {
		n.opts.Handlers.Lost()
	}
	if err := n.register(ctx); err != nil {
		n.log.Error("register the node again", "err", err)
		return
	}
	if err := n.adopt(ctx); err != nil {
		n.log.Error("resume the node's own calls", "err", err)
	}
}

// claimDead takes over, one dead node at a time, the calls of nodes whose
// lease ran out: ownership moves in one transaction that also reads the
// calls' pending notifications and deadlines, then they are handed to
// Take. SKIP LOCKED lets every live node claim at once, each a different
// dead node.
func (n *Node) claimDead(ctx context.Context) error {
	for {
		var (
			dead string
			ns   []store.Notification
			ds   []store.Deadline
		)
		var theirs []string
		err := pgx.BeginFunc(ctx, n.store.pool, func(tx pgx.Tx) error {
			err := tx.QueryRow(ctx, `SELECT id, inherited FROM nodes WHERE lease_until < now() AND id <> $1
				ORDER BY lease_until LIMIT 1 FOR UPDATE SKIP LOCKED`, n.id).Scan(&dead, &theirs)
			if err != nil {
				return err
			}
			// Handovers to the dead node (and to those it had taken over)
			// are this one's from before its calls are read: one saved
			// after that read reaches this node.
			n.inherit(append(theirs, dead))
			if _, err := tx.Exec(ctx, `UPDATE nodes SET inherited = $2 WHERE id = $1`, n.id, n.inheritedIDs()); err != nil {
				return err
			}
			if ds, err = n.store.takeCalls(ctx, tx, dead, n.id); err != nil {
				return err
			}
			if ns, err = n.store.pendingOfOwner(ctx, tx, n.id, callIDs(ds)); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `DELETE FROM nodes WHERE id = $1`, dead)
			return err
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		n.log.Info("took over a node's calls", "from", dead, "calls", len(ds), "pending", len(ns))
		n.take(ns, ds)
	}
}

func (n *Node) inherit(ids []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	for _, id := range ids {
		n.inherited[id] = now
	}
}

// inheritedIDs lists the nodes this one takes handovers for, forgetting
// those taken over longer than inheritFor ago.
func (n *Node) inheritedIDs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	ids := []string{}
	for id, since := range n.inherited {
		if time.Since(since) > inheritFor {
			delete(n.inherited, id)
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// mine says whether a handover addressed to node is this node's.
func (n *Node) mine(node string) bool {
	if node == n.id {
		return true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.inherited[node]
	return ok
}

// adopt hands Take every pending notification and deadline of the calls
// the node owns: after it lost them and got some back, or after missing
// handovers while its listening connection was down.
func (n *Node) adopt(ctx context.Context) error {
	n.store.forgetAll() // all of them are read again below
	var (
		ns []store.Notification
		ds []store.Deadline
	)
	err := pgx.BeginFunc(ctx, n.store.pool, func(tx pgx.Tx) error {
		var err error
		if ds, err = n.store.takeCalls(ctx, tx, n.id, n.id); err != nil {
			return err
		}
		ns, err = n.store.pendingOfOwner(ctx, tx, n.id, nil)
		return err
	})
	if err != nil {
		return err
	}
	n.take(ns, ds)
	return nil
}

func (n *Node) take(ns []store.Notification, ds []store.Deadline) {
	if n.opts.Handlers.Take != nil && (len(ns) > 0 || len(ds) > 0) {
		n.opts.Handlers.Take(ns, ds)
	}
}

func callIDs(ds []store.Deadline) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.CallID
	}
	return out
}

// listen opens the connection the node hears the cluster on: its own
// channel and the cluster's.
func (n *Node) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, n.store.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, err
	}
	for _, channel := range []string{handoverChannel, clusterChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
			conn.Close(ctx)
			return nil, err
		}
	}
	return conn, nil
}

// listenLoop handles what the node hears, one event at a time, in commit
// order. When the connection breaks it connects again and adopts its own
// calls anew, for the handovers it may have missed meanwhile.
func (n *Node) listenLoop(ctx context.Context, conn *pgx.Conn) {
	defer func() {
		if conn != nil {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	for ctx.Err() == nil {
		if conn == nil {
			var err error
			if conn, err = n.listen(ctx); err != nil {
				n.log.Error("listen to the cluster", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
				continue
			}
			if err := n.adopt(ctx); err != nil {
				n.log.Error("resume the node's own calls", "err", err)
			}
			if n.opts.Handlers.Resync != nil {
				n.opts.Handlers.Resync()
			}
		}
		note, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() == nil {
				n.log.Warn("the cluster's listening connection broke: connecting again", "err", err)
			}
			conn.Close(context.WithoutCancel(ctx))
			conn = nil
			continue
		}
		if note.Channel == clusterChannel {
			n.event(ctx, note.Payload)
			continue
		}
		to, payload, _ := strings.Cut(note.Payload, " ")
		if !n.mine(to) {
			continue
		}
		if err := n.handover(ctx, payload); err != nil && ctx.Err() == nil {
			n.log.Error("take a handover", "err", err)
		}
	}
}

// event acts on a cluster event, then records that this node has: the node
// that made the change waits for that.
func (n *Node) event(ctx context.Context, payload string) {
	number, rest, _ := strings.Cut(payload, " ")
	defer func() {
		if seq, err := strconv.ParseInt(number, 10, 64); err == nil {
			if _, err := n.store.pool.Exec(ctx, `UPDATE nodes SET events_seen = greatest(events_seen, $2) WHERE id = $1`, n.id, seq); err != nil && ctx.Err() == nil {
				n.log.Error("record a cluster event as seen", "err", err)
			}
		}
	}()
	kind, arg, _ := strings.Cut(rest, ":")
	h := n.opts.Handlers
	switch {
	case kind == eventDocument && h.Document != nil:
		h.Document(arg)
	case kind == eventFaults && h.Faults != nil:
		h.Faults()
	case kind == eventReset && arg != n.id && h.Reset != nil:
		h.Reset()
	case kind == eventReleased && arg != n.id:
		select {
		case n.claim <- struct{}{}:
		default:
		}
	}
}

// handover reads the notifications another node handed this one and gives
// them, with the deadlines, to Take.
func (n *Node) handover(ctx context.Context, payload string) error {
	var h handover
	if err := json.Unmarshal([]byte(payload), &h); err != nil {
		return fmt.Errorf("a handover that is not JSON: %w", err)
	}
	ds := make([]store.Deadline, 0, len(h.Deadlines))
	for _, t := range h.Deadlines {
		d := store.Deadline{CallID: t.CallID, Version: t.Version}
		if t.At != 0 {
			d.At = time.Unix(0, t.At).UTC()
		}
		ds = append(ds, d)
	}
	// This node's own saves are in memory; others' are read (those still
	// pending: a retried handover may name some delivered since).
	ns, missing := n.store.take(h.Seqs)
	if len(missing) > 0 {
		read, err := n.store.pendingBySeq(ctx, missing)
		if err != nil {
			return err
		}
		ns = append(ns, read...)
		slices.SortFunc(ns, func(a, b store.Notification) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	n.take(ns, ds)
	return nil
}
