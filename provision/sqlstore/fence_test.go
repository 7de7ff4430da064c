package sqlstore_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// TestPostgresFencedWritesHoldTheOperation: on PostgreSQL a fenced
// reservation write holds the operation's row until it commits, so a claim
// (which updates that row) cannot commit between the write's check of the
// claim and its commit: it waits, or its FOR UPDATE SKIP LOCKED passes the
// operation by. The test runs each fenced statement in a transaction it
// keeps open and asks, from another connection, for the row FOR UPDATE
// NOWAIT: refused at once (lock_not_available) while the write holds it,
// granted after.
func TestPostgresFencedWritesHoldTheOperation(t *testing.T) {
	postgresDSN(t)
	t.Parallel()
	dsn, schema := pgSchemaFor(t)
	db := openPostgresDB(t, dsn, schema, 4)
	s, err := sqlstore.New(db, sqlstore.Postgres)
	require.NoError(t, err)
	ctx := t.Context()
	op := &provision.Operation{ID: "op-1", ServiceID: "svc-1", Kind: provision.OpOpen, State: provision.StatePending, Step: "first"}
	require.NoError(t, s.CreateOperation(ctx, op))
	claimed, err := s.ClaimOperation(ctx, "w1", time.Minute)
	require.NoError(t, err)
	token := claimed.Attempts
	require.NoError(t, s.Reserve(ctx, provision.Reservation{Backend: "dc", ServerID: "9", OperationID: "op-1"}))

	single, batch, unreserve := sqlstore.FencedStatements(s)
	for _, tc := range []struct {
		name  string
		query string
		args  []any
	}{
		{"reserve", single, []any{"dc", "1", "op-1", "svc-1", nil, "op-1", "w1", token}},
		{"reserve-batched", batch, []any{"{dc}", "{2}", "{op-1}", "{svc-1}", "{\x01}", "{op-1}", "{w1}", "{" + strconv.Itoa(token) + "}"}},
		{"unreserve", unreserve, []any{"dc", "9", "op-1", "op-1", "w1", token}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := db.BeginTx(ctx, nil)
			require.NoError(t, err)
			defer tx.Rollback()
			rows, err := tx.QueryContext(ctx, tc.query, tc.args...)
			require.NoError(t, err)
			for rows.Next() {
			}
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())

			_, err = db.ExecContext(ctx, `SELECT 1 FROM ispkit_operations WHERE id = 'op-1' FOR UPDATE NOWAIT`)
			var pe *pgconn.PgError
			require.True(t, errors.As(err, &pe), "the row was free while the fenced write was uncommitted: %v", err)
			assert.Equal(t, "55P03", pe.Code, "lock_not_available: %v", err)

			require.NoError(t, tx.Rollback())
			_, err = db.ExecContext(ctx, `SELECT 1 FROM ispkit_operations WHERE id = 'op-1' FOR UPDATE NOWAIT`)
			require.NoError(t, err, "the row is free once the write ended")
		})
	}
}
