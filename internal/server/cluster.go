package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/ids"
	"github.com/callplane/callplane/internal/store"
	"github.com/callplane/callplane/internal/store/postgres"
)

// cluster is what a node on a shared PostgreSQL store has beyond a
// process on its own: the engine, and its membership.
type cluster struct {
	db   *postgres.Store
	node *postgres.Node
}

// newNodeID names a node for one run: a restarted node is a new member,
// and the calls of the one before are taken over like any dead node's.
func newNodeID() string { return "node-" + ids.Secret(8) }

// openShared opens the PostgreSQL store at url as node nodeID (empty for
// a command that only reads) and the identity kept there, creating it on
// first use: the directory, and the keys tokens and callbacks are signed
// with.
func openShared(ctx context.Context, url, nodeID string) (*postgres.Store, *Identity, *auth.Key, error) {
	db, err := postgres.Open(ctx, url, postgres.Options{NodeID: nodeID})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--store %s: %w", redactURL(url), err)
	}
	docs := db.Documents()
	dir, opened, err := auth.OpenSharedDirectory(ctx, docs)
	if err == nil {
		var graphKey, callbackKey *auth.Key
		if graphKey, err = auth.LoadOrCreateSharedKey(ctx, docs, auth.GraphKeyDocument); err == nil {
			if callbackKey, err = auth.LoadOrCreateSharedKey(ctx, docs, auth.CallbackKeyDocument); err == nil {
				return db, &Identity{Directory: dir, GraphKey: graphKey, Opened: opened}, callbackKey, nil
			}
		}
	}
	db.Close()
	return nil, nil, nil, fmt.Errorf("--store %s: identity: %w", redactURL(url), err)
}

// OpenClusterIdentity opens the identity of the cluster on the PostgreSQL
// database at url, for commands run against any of its nodes; base is the
// address of one of its live nodes (empty if none runs).
func OpenClusterIdentity(ctx context.Context, url string) (id *Identity, base string, err error) {
	db, id, _, err := openShared(ctx, url, "")
	if err != nil {
		return nil, "", err
	}
	defer db.Close()
	nodes, err := db.Nodes(ctx)
	if err != nil {
		return nil, "", err
	}
	if len(nodes) > 0 {
		base = nodes[0].Address
	}
	return id, base, nil
}

// TokenServiceAt returns a token service whose tokens name the server at
// base.
func (id *Identity) TokenServiceAt(base string) *auth.TokenService {
	return auth.NewTokenService(id.Directory, id.GraphKey, base)
}

// joinCluster makes the server a member of its store's cluster, after
// delivery and the timers are running: from then on it is handed the
// notifications and deadlines of its calls that other nodes save, takes
// over the calls of nodes that die, and follows the other nodes' changes
// to identity, fault rules and the world.
func (s *Server) joinCluster(ctx context.Context) error {
	node, err := s.cluster.db.Join(ctx, postgres.NodeOptions{
		Address:  s.httpURL,
		LeaseTTL: s.cfg.LeaseTTL,
		Log:      s.log.With("component", "cluster"),
		Handlers: postgres.Handlers{
			Take: func(ns []store.Notification, ds []store.Deadline) {
				s.delivery.Take(ns...)
				s.calls.Schedule(ds...)
			},
			Lost: func() {
				s.calls.Exclusive(func() error {
					s.delivery.Forget()
					return nil
				})
			},
			Document: func(name string) {
				if name == auth.DirectoryDocument {
					if err := s.identity.Directory.Refresh(ctx); err != nil && ctx.Err() == nil {
						s.log.Error("read the shared directory", "err", err)
					}
				}
			},
			Faults: func() {
				if err := s.faults.Reload(ctx); err != nil && ctx.Err() == nil {
					s.log.Error("read the shared fault rules", "err", err)
				}
			},
			Reset: func() {
				if err := s.forget(ctx); err != nil && ctx.Err() == nil {
					s.log.Error("reset made on another node", "err", err)
				}
			},
			Resync: func() {
				err := errors.Join(s.identity.Directory.Refresh(ctx), s.faults.Reload(ctx))
				if err != nil && ctx.Err() == nil {
					s.log.Error("read the shared directory and fault rules", "err", err)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("join the cluster: %w", err)
	}
	s.cluster.node = node
	s.log.Info("joined the cluster", "node", node.ID(), "lease", s.cfg.LeaseTTL)
	return nil
}

// forget is what a reset made on another node does here: that node
// emptied the store and the shared rules; this one drops what it holds in
// memory, with no command running.
func (s *Server) forget(ctx context.Context) error {
	return s.calls.Exclusive(func() error {
		err := s.dropQueued(ctx)
		s.dropCaches()
		s.faults.Forget()
		s.log.Info("reset by another node: every call, meeting, person and notification forgotten")
		return errors.Join(err, s.faults.Reload(ctx))
	})
}
