package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// migration is one versioned schema change. Statements use the macros of
// Dialect.expand. Released migrations are never edited: a schema change is
// a new migration with the next version.
type migration struct {
	version int
	name    string
	stmts   []string
	// pg are statements run on PostgreSQL only, after stmts.
	pg []string
}

var migrations = []migration{
	{1, "operations, reservations, services", []string{
		`CREATE TABLE ispkit_operations (
			seq         {{seqpk}},
			id          TEXT NOT NULL UNIQUE,
			service_id  TEXT NOT NULL,
			kind        TEXT NOT NULL,
			state       TEXT NOT NULL,
			step        TEXT NOT NULL,
			input       TEXT NOT NULL,
			data        TEXT NOT NULL,
			error       TEXT NOT NULL,
			attempts    INTEGER NOT NULL,
			worker      TEXT NOT NULL,
			lease_until {{time}},
			version     BIGINT NOT NULL,
			created_at  {{time}} NOT NULL,
			updated_at  {{time}} NOT NULL
		)`,
		`CREATE INDEX ispkit_operations_claim ON ispkit_operations (created_at, seq)
			WHERE state IN ('pending', 'running')`,
		`CREATE INDEX ispkit_operations_service ON ispkit_operations (service_id)`,
		`CREATE TABLE ispkit_reservations (
			backend      TEXT NOT NULL,
			server_id    TEXT NOT NULL,
			operation_id TEXT NOT NULL,
			service_id   TEXT NOT NULL,
			created_at   {{time}} NOT NULL,
			PRIMARY KEY (backend, server_id)
		)`,
		`CREATE INDEX ispkit_reservations_operation ON ispkit_reservations (operation_id)`,
		`CREATE TABLE ispkit_services (
			id          TEXT PRIMARY KEY,
			kind        TEXT NOT NULL,
			tariff_id   BIGINT NOT NULL,
			account_id  BIGINT NOT NULL,
			owner       TEXT NOT NULL,
			module      TEXT NOT NULL,
			status      TEXT NOT NULL,
			properties  TEXT NOT NULL,
			error       TEXT NOT NULL,
			version     BIGINT NOT NULL,
			created_at  {{time}} NOT NULL,
			updated_at  {{time}} NOT NULL
		)`,
		`CREATE INDEX ispkit_services_status ON ispkit_services (status)`,
		`CREATE INDEX ispkit_services_module ON ispkit_services (module)`,
		`CREATE INDEX ispkit_services_owner ON ispkit_services (owner)`,
	}, nil},
	// One unfinished operation per service, enforced by the database
	// across processes. A database in which two engines of the first
	// release both created one for the same service fails this migration
	// (a unique violation naming the index): finish or fail all but one of
	// them, then open the store again.
	{2, "one unfinished operation per service", []string{
		`CREATE UNIQUE INDEX ispkit_operations_one_unfinished ON ispkit_operations (service_id)
			WHERE state IN ('pending', 'running')`,
	}, nil},
	// The claim reads these instead of walking every unfinished operation
	// in age order past the held ones: free operations oldest first, held
	// ones by lease end (the expired ones are a short range).
	{3, "claim indexes", []string{
		`CREATE INDEX ispkit_operations_free ON ispkit_operations (created_at, seq)
			WHERE state IN ('pending', 'running') AND worker = ''`,
		`CREATE INDEX ispkit_operations_lease ON ispkit_operations (lease_until)
			WHERE state IN ('pending', 'running') AND worker <> ''`,
	}, nil},
	// A step transition changes no indexed column of its operation, so
	// PostgreSQL can update the row in place (a heap-only tuple: no
	// entry in any of the table's seven indexes) when the row's page has
	// room for the new version. A full page (fillfactor 100, the
	// default) has none, and every transition then wrote an entry in
	// every index: 62 µs of server time per transition at 1,000
	// concurrent orders. The setting applies to the pages written from
	// now on. SQLite has no such setting (its transitions avoid indexed
	// columns instead, see updateOpStep).
	{4, "room for in-place operation updates", nil, []string{
		`ALTER TABLE ispkit_operations SET (fillfactor = 50)`,
	}},
}

// SchemaVersion is the schema version this package writes and expects. A
// database migrated by a newer release (a higher version) is refused.
const SchemaVersion = 4

// ErrSchemaTooNew is returned by New and Open when the database was
// migrated by a newer release of this package.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this release")

const migrationsTable = `CREATE TABLE IF NOT EXISTS ispkit_schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at {{time}} NOT NULL
)`

// migrate applies the pending migrations in one transaction that holds the
// database's migration lock: BEGIN IMMEDIATE (the write lock) on SQLite, a
// transaction-scoped advisory lock keyed by the current schema on
// PostgreSQL. Concurrent opens therefore apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	// Fast path: an up-to-date database needs no lock (a worker restarting
	// does not queue behind the others' writes).
	var current sql.NullInt64
	err := s.run(ctx, false, func(q querier) error {
		return q.QueryRowContext(ctx, `SELECT MAX(version) FROM ispkit_schema_migrations`).Scan(&current)
	})
	if err == nil && current.Int64 == SchemaVersion {
		return nil
	}
	if s.dialect == Postgres {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx,
			`SELECT pg_advisory_xact_lock(1769107, hashtext(COALESCE(current_schema(), '')))`); err != nil {
			return fmt.Errorf("sqlstore: migrate: lock: %w", err)
		}
		if err := s.applyMigrations(ctx, tx); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlstore: migrate: commit: %w", err)
		}
		return nil
	}

	// On the Store's write connection (with a pool of one connection it
	// is the only one).
	return s.withWriter(ctx, func(p *pinned) error {
		conn := p.conn
		// WAL lets readers run beside the single writer; the setting is
		// stored in the database file. An in-memory database answers
		// "memory".
		if err := s.setWAL(ctx, conn); err != nil {
			return fmt.Errorf("sqlstore: migrate: journal_mode: %w", err)
		}
		if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
			return fmt.Errorf("sqlstore: migrate: begin: %w", err)
		}
		if err := s.applyMigrations(ctx, conn); err != nil {
			if _, rerr := conn.ExecContext(context.Background(), `ROLLBACK`); rerr != nil {
				p.discard()
			}
			return err
		}
		if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
			if _, rerr := conn.ExecContext(context.Background(), `ROLLBACK`); rerr != nil {
				p.discard()
			}
			return fmt.Errorf("sqlstore: migrate: commit: %w", err)
		}
		return nil
	})
}

// setWAL switches the database to WAL. When several processes open a new
// database at once, SQLite may refuse the switch with SQLITE_BUSY at once,
// without waiting for the busy timeout (waiting could deadlock with the
// other connection's lock); the switch is then tried again until the busy
// timeout has passed.
func (s *Store) setWAL(ctx context.Context, conn *sql.Conn) error {
	deadline := time.Now().Add(s.busy)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		var mode string
		err := conn.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
		if err == nil || !sqliteBusy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// sqliteBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED
// (also extended codes), from a driver whose errors have a Code method
// (modernc.org/sqlite's *sqlite.Error).
func sqliteBusy(err error) bool {
	var c interface{ Code() int }
	if !errors.As(err, &c) {
		return false
	}
	switch c.Code() & 0xff {
	case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
		return true
	}
	return false
}

func (s *Store) applyMigrations(ctx context.Context, q querier) error {
	if _, err := q.ExecContext(ctx, s.dialect.expand(migrationsTable)); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	var current sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM ispkit_schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("sqlstore: migrate: read version: %w", err)
	}
	if current.Int64 > SchemaVersion {
		return fmt.Errorf("%w (database at version %d, this release knows %d)", ErrSchemaTooNew, current.Int64, SchemaVersion)
	}
	for _, m := range migrations {
		if int64(m.version) <= current.Int64 {
			continue
		}
		stmts := m.stmts
		if s.dialect == Postgres {
			stmts = append(slices.Clip(stmts), m.pg...)
		}
		for _, stmt := range stmts {
			if _, err := q.ExecContext(ctx, s.dialect.expand(stmt)); err != nil {
				return fmt.Errorf("sqlstore: migration %d (%s): %w", m.version, m.name, err)
			}
		}
		if _, err := q.ExecContext(ctx, s.dialect.expand(
			`INSERT INTO ispkit_schema_migrations (version, name, applied_at) VALUES (?, ?, {{now}})`),
			m.version, m.name, s.nowArg()); err != nil {
			return fmt.Errorf("sqlstore: migration %d: record: %w", m.version, err)
		}
	}
	return nil
}
