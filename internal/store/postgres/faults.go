package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/callplane/callplane/internal/fault"
)

// FaultRules are the fault rules the nodes share (fault.Shared): a rule
// added through one node acts on all, and its times are counted across
// them. Adding, removing and clearing tell every node.
type FaultRules struct {
	pool *pgxpool.Pool
	node string
}

var _ fault.Shared = FaultRules{}

// FaultRules returns the store's fault rules.
func (s *Store) FaultRules() FaultRules { return FaultRules{pool: s.pool, node: s.node} }

func (f FaultRules) LoadRules(ctx context.Context) ([]fault.Rule, error) {
	rows, _ := f.pool.Query(ctx, `SELECT rule, matched FROM fault_rules
		WHERE (times = 0 OR matched < times) AND (expires_at IS NULL OR expires_at > $1)
		ORDER BY number`, time.Now().UnixNano())
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (fault.Rule, error) {
		var (
			data    []byte
			matched int
			r       fault.Rule
		)
		if err := row.Scan(&data, &matched); err != nil {
			return r, err
		}
		if err := json.Unmarshal(data, &r); err != nil {
			return r, err
		}
		r.Matched = matched
		return r, nil
	})
}

func (f FaultRules) AddRule(ctx context.Context, r fault.Rule) (fault.Rule, error) {
	err := announced(ctx, f.pool, f.node, nil, eventFaults, "", func(tx pgx.Tx) (bool, error) {
		var number int64
		if err := tx.QueryRow(ctx, `SELECT nextval('fault_rule_numbers')`).Scan(&number); err != nil {
			return false, err
		}
		r.ID = fmt.Sprintf("fault-%d", number)
		data, err := json.Marshal(r)
		if err != nil {
			return false, err
		}
		var expires *int64
		if r.ExpiresAt != nil {
			at := r.ExpiresAt.UnixNano()
			expires = &at
		}
		_, err = tx.Exec(ctx, `INSERT INTO fault_rules (id, number, times, expires_at, rule) VALUES ($1, $2, $3, $4, $5)`,
			r.ID, number, r.Times, expires, data)
		return err == nil, err
	})
	return r, err
}

func (f FaultRules) RemoveRule(ctx context.Context, id string) (bool, error) {
	removed := false
	err := announced(ctx, f.pool, f.node, nil, eventFaults, "", func(tx pgx.Tx) (bool, error) {
		tag, err := tx.Exec(ctx, `DELETE FROM fault_rules WHERE id = $1 AND (times = 0 OR matched < times)`, id)
		removed = err == nil && tag.RowsAffected() > 0
		return removed, err
	})
	return removed, err
}

func (f FaultRules) ClearRules(ctx context.Context) error {
	return announced(ctx, f.pool, f.node, nil, eventFaults, "", func(tx pgx.Tx) (bool, error) {
		_, err := tx.Exec(ctx, `DELETE FROM fault_rules`)
		return err == nil, err
	})
}

func (f FaultRules) UseRule(ctx context.Context, id string) (bool, error) {
	tag, err := f.pool.Exec(ctx, `UPDATE fault_rules SET matched = matched + 1
		WHERE id = $1 AND (times = 0 OR matched < times) AND (expires_at IS NULL OR expires_at > $2)`, id, time.Now().UnixNano())
	return err == nil && tag.RowsAffected() == 1, err
}
