package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/callplane/callplane/internal/auth"
)

// Documents are the identity documents the nodes share (auth.Documents):
// the directory and the signing keys. Saving one tells every node.
type Documents struct {
	pool *pgxpool.Pool
	node string
}

var _ auth.Documents = Documents{}

// Documents returns the store's identity documents.
func (s *Store) Documents() Documents { return Documents{pool: s.pool, node: s.node} }

func (d Documents) LoadDocument(ctx context.Context, name string) ([]byte, int64, error) {
	var (
		data    []byte
		version int64
	)
	err := d.pool.QueryRow(ctx, `SELECT data, version FROM documents WHERE name = $1`, name).Scan(&data, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, auth.ErrNoDocument
	}
	return data, version, err
}

// SaveDocument saves the document and returns once every other live node
// has read it.
func (d Documents) SaveDocument(ctx context.Context, name string, doc []byte, version int64) error {
	return announced(ctx, d.pool, d.node, nil, eventDocument, name, func(tx pgx.Tx) (bool, error) {
		var tag interface{ RowsAffected() int64 }
		var err error
		if version == 0 {
			tag, err = tx.Exec(ctx, `INSERT INTO documents (name, version, data) VALUES ($1, 1, $2) ON CONFLICT (name) DO NOTHING`, name, doc)
		} else {
			tag, err = tx.Exec(ctx, `UPDATE documents SET version = version + 1, data = $2 WHERE name = $1 AND version = $3`, name, doc, version)
		}
		if err != nil {
			return false, err
		}
		if tag.RowsAffected() == 0 {
			return false, auth.ErrStaleDocument
		}
		return true, nil
	})
}
