package provision_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// copyV1 copies the first release's SQLite Store (testdata/v1) to a
// temporary file.
func copyV1(t *testing.T) string {
	t.Helper()
	db, err := os.ReadFile(filepath.Join("testdata", "v1", "store.db"))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "store.db")
	require.NoError(t, os.WriteFile(path, db, 0o600))
	return path
}

// TestMigrationV1ToV2 opens the first release's database: it is migrated
// to the current schema (2: one unfinished operation per service; 3: the
// claim indexes), its operations keep their fencing tokens, and the Store
// now refuses a second unfinished operation of a service.
func TestMigrationV1ToV2(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, "sqlite", copyV1(t), sqlstore.SQLite)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })

	var versions []int
	rows, err := store.DB().QueryContext(ctx, `SELECT version FROM ispkit_schema_migrations ORDER BY version`)
	require.NoError(t, err)
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		versions = append(versions, v)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	require.Equal(t, []int{1, 2, 3, 4}, versions)
	require.Equal(t, sqlstore.SchemaVersion, versions[len(versions)-1])

	// Service 109 has a finished Open and a pending Suspend: busy.
	err = store.CreateOperation(ctx, &provision.Operation{ID: "second", ServiceID: "109", Kind: provision.OpClose})
	require.ErrorIs(t, err, provision.ErrBusy)
	// A stored claim's token is its Attempts: open-101 was claimed once.
	require.ErrorIs(t, store.RenewLease(ctx, "open-101", "", 1, time.Minute), provision.ErrLeaseLost, "no holder")
	op, err := store.ClaimOperation(ctx, "w", time.Minute)
	require.NoError(t, err)
	require.NoError(t, store.RenewLease(ctx, op.ID, "w", op.Attempts, time.Minute))
	require.ErrorIs(t, store.RenewLease(ctx, op.ID, "w", op.Attempts-1, time.Minute), provision.ErrLeaseLost)
}

// TestMigrationV1Duplicates: a first-release database in which two
// operations of one service are unfinished (possible then: two engines
// listed, then created) is not silently changed: opening it fails, naming
// the index, and leaves the database at schema 1.
func TestMigrationV1Duplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := copyV1(t)
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.ExecContext(ctx, `INSERT INTO ispkit_operations
		(id, service_id, kind, state, step, input, data, error, attempts, worker, lease_until, version, created_at, updated_at)
		SELECT 'suspend-110', service_id, 'suspend', 'pending', 'start', 'null', 'null', '', 0, '', NULL, 1, created_at, updated_at
		FROM ispkit_operations WHERE id = 'open-110'`)
	require.NoError(t, err)

	_, err = sqlstore.New(db, sqlstore.SQLite)
	require.Error(t, err)
	require.Contains(t, err.Error(), "one unfinished operation per service")
	var v int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT MAX(version) FROM ispkit_schema_migrations`).Scan(&v))
	require.Equal(t, 1, v, "the failed migration changed nothing")
}
