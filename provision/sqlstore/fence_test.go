package sqlstore_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
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
	require.NoError(t, s.PutService(ctx, &provision.Service{ID: "svc-1", Kind: provision.KindDedicated, Status: billing.StatusOrdered}))

	stmt := sqlstore.FencedStatements(s)
	tok := "{" + strconv.Itoa(token) + "}"
	for _, tc := range []struct {
		name string
		args []any
	}{
		{"reserve", []any{"dc", "1", "op-1", "svc-1", nil, "op-1", "w1", token}},
		{"reserve-batched", []any{"{dc}", "{2}", "{op-1}", "{svc-1}", "{\x01}", "{op-1}", "{w1}", tok}},
		{"unreserve", []any{"dc", "9", "op-1", "op-1", "w1", token}},
		{"create-service", []any{"svc-2", "dedicated", 1, 0, "", "", "ordered", "{}", "", nil, nil, "op-1", "w1", token}},
		{"update-service", []any{"dedicated", 1, 0, "", "", "processing", "{}", "", nil, "svc-1", 1, "op-1", "w1", token}},
		{"update-service-batched", []any{"{svc-1}", "{dedicated}", "{1}", "{0}", "{\"\"}", "{\"\"}", "{processing}", "{\"{}\"}", "{\"\"}", "{1}",
			"{op-1}", "{w1}", tok}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			query := stmt[tc.name]
			require.NotEmpty(t, query)
			tx, err := db.BeginTx(ctx, nil)
			require.NoError(t, err)
			defer tx.Rollback()
			rows, err := tx.QueryContext(ctx, query, tc.args...)
			require.NoError(t, err)
			n := 0
			for rows.Next() {
				n++
			}
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())
			if strings.Contains(query, "RETURNING") {
				require.Equal(t, 1, n, "the fenced statement wrote its row")
			}

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
