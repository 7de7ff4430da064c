package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/sqlstore"
	"github.com/ispkit/ispkit/provision/storetest"
)

const (
	envPostgres        = "ISPKIT_TEST_POSTGRES"
	envRequirePostgres = "ISPKIT_REQUIRE_POSTGRES"
)

func TestMain(m *testing.M) {
	if os.Getenv(envWorker) != "" {
		os.Exit(killWorkerMain())
	}
	code := m.Run()
	if pgAdmin != nil {
		pgAdmin.Close()
	}
	os.Exit(code)
}

// ---- SQLite ----

// sqlitePath returns a fresh database file in t's temp dir.
func sqlitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "store.db")
}

func openSQLiteDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("sql.Open(sqlite): %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newSQLite(t testing.TB, path string, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(openSQLiteDB(t, path), sqlstore.SQLite, opts...)
	if err != nil {
		t.Fatalf("sqlstore.New(SQLite): %v", err)
	}
	return s
}

// ---- PostgreSQL ----

var (
	pgOnce   sync.Once
	pgAdmin  *sql.DB
	pgErr    error
	pgSchema struct {
		sync.Mutex
		n int
	}
)

// postgresDSN returns $ISPKIT_TEST_POSTGRES, skipping the test when it is
// unset, unless $ISPKIT_REQUIRE_POSTGRES=1 (CI), which makes it fail.
func postgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(envPostgres)
	if dsn == "" {
		if os.Getenv(envRequirePostgres) == "1" {
			t.Fatalf("%s=1 but %s is not set: the PostgreSQL tests must run", envRequirePostgres, envPostgres)
		}
		t.Skipf("PostgreSQL tests skipped: set %s to a connection string "+
			"(e.g. postgres://user@127.0.0.1:5432/postgres?sslmode=disable) to run them", envPostgres)
	}
	return dsn
}

// pgSchemaFor creates an empty schema for one test and drops it afterwards,
// so that tests stay isolated and can run in parallel on one database.
func pgSchemaFor(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = postgresDSN(t)
	pgOnce.Do(func() {
		pgAdmin, pgErr = sql.Open("pgx", dsn)
		if pgErr == nil {
			pgAdmin.SetMaxOpenConns(4)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			pgErr = pgAdmin.PingContext(ctx)
		}
	})
	if pgErr != nil {
		t.Fatalf("connecting to %s: %v", envPostgres, pgErr)
	}
	pgSchema.Lock()
	pgSchema.n++
	schema = fmt.Sprintf("ispkit_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, pgSchema.n)
	pgSchema.Unlock()
	if _, err := pgAdmin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := pgAdmin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return dsn, schema
}

// openPostgresDB opens a pool whose connections use schema.
func openPostgresDB(tb testing.TB, dsn, schema string, maxConns int) *sql.DB {
	tb.Helper()
	db, err := postgresDB(dsn, schema, maxConns)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func postgresDB(dsn, schema string, maxConns int) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", envPostgres, err)
	}
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	return db, nil
}

func newPostgres(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	dsn, schema := pgSchemaFor(t)
	s, err := sqlstore.New(openPostgresDB(t, dsn, schema, 5), sqlstore.Postgres, opts...)
	if err != nil {
		t.Fatalf("sqlstore.New(Postgres): %v", err)
	}
	return s
}

// ---- conformance ----

func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) provision.Store { return newSQLite(t, sqlitePath(t)) })
}

func TestPostgresConformance(t *testing.T) {
	postgresDSN(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) provision.Store { return newPostgres(t) })
}

// ---- migrations ----

type dbCase struct {
	name    string
	dialect sqlstore.Dialect
	// open returns a new pool on the same (fresh) database at every call.
	open func(t *testing.T) func() *sql.DB
}

var dbCases = []dbCase{
	{"SQLite", sqlstore.SQLite, func(t *testing.T) func() *sql.DB {
		path := sqlitePath(t)
		return func() *sql.DB { return openSQLiteDB(t, path) }
	}},
	{"Postgres", sqlstore.Postgres, func(t *testing.T) func() *sql.DB {
		dsn, schema := pgSchemaFor(t)
		return func() *sql.DB { return openPostgresDB(t, dsn, schema, 3) }
	}},
}

func migrationRows(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query(`SELECT version FROM ispkit_schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read migrations: %v", err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestMigrations(t *testing.T) {
	for _, c := range dbCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			open := c.open(t)

			// Concurrent first opens (several processes starting at once):
			// each migration is applied exactly once.
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				db := open()
				wg.Go(func() { _, errs[i] = sqlstore.New(db, c.dialect) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("concurrent New #%d: %v", i, err)
				}
			}
			db := open()
			if got := migrationRows(t, db); len(got) != sqlstore.SchemaVersion || got[len(got)-1] != sqlstore.SchemaVersion {
				t.Fatalf("migrations table = %v, want 1..%d once each", got, sqlstore.SchemaVersion)
			}

			// Reopening is a no-op and keeps the data.
			s, err := sqlstore.New(db, c.dialect)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			op := &provision.Operation{ID: "op-1", ServiceID: "svc", Kind: provision.OpOpen}
			if err := s.CreateOperation(t.Context(), op); err != nil {
				t.Fatal(err)
			}
			s2, err := sqlstore.New(open(), c.dialect)
			if err != nil {
				t.Fatalf("New again: %v", err)
			}
			if _, err := s2.GetOperation(t.Context(), "op-1"); err != nil {
				t.Fatalf("after reopening: %v", err)
			}
			if got := migrationRows(t, db); len(got) != sqlstore.SchemaVersion {
				t.Fatalf("migrations table after reopening = %v", got)
			}

			// A database from a newer release is refused.
			now := any(time.Now().UnixMicro())
			if c.dialect == sqlstore.Postgres {
				now = time.Now()
			}
			q := `INSERT INTO ispkit_schema_migrations (version, name, applied_at) VALUES (?, 'future', ?)`
			if c.dialect == sqlstore.Postgres {
				q = strings.NewReplacer("?, 'future', ?", "$1, 'future', $2").Replace(q)
			}
			if _, err := db.Exec(q, sqlstore.SchemaVersion+1, now); err != nil {
				t.Fatal(err)
			}
			if _, err := sqlstore.New(open(), c.dialect); !errors.Is(err, sqlstore.ErrSchemaTooNew) {
				t.Fatalf("New on a newer schema: %v, want ErrSchemaTooNew", err)
			}
		})
	}
}

// ---- dialect-specific behaviour ----

func TestSQLiteClock(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newSQLite(t, sqlitePath(t), sqlstore.WithClock(clock))
	ctx := t.Context()
	op := &provision.Operation{ID: "op-1", ServiceID: "svc", Kind: provision.OpOpen}
	if err := s.CreateOperation(ctx, op); err != nil {
		t.Fatal(err)
	}
	if !op.CreatedAt.Equal(now) {
		t.Fatalf("CreatedAt = %v, want the injected %v", op.CreatedAt, now)
	}
	c, err := s.ClaimOperation(ctx, "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !c.LeaseUntil.Equal(now.Add(time.Minute)) {
		t.Fatalf("LeaseUntil = %v, want %v", c.LeaseUntil, now.Add(time.Minute))
	}
	if _, err := s.ClaimOperation(ctx, "w2", time.Minute); !errors.Is(err, provision.ErrNoWork) {
		t.Fatalf("claim under a live lease: %v", err)
	}
	mu.Lock()
	now = now.Add(time.Minute) // lease_until <= now: expired
	mu.Unlock()
	// Expired with nobody claiming since: w1's fence still holds, as its
	// renewal would; once w2 claims, it does not.
	f := provision.Fence{OperationID: "op-1", Worker: "w1", Token: c.Attempts}
	if err := s.ReserveFenced(ctx, f, provision.Reservation{Backend: "dc", ServerID: "1", OperationID: "op-1"}); err != nil {
		t.Fatalf("ReserveFenced after the lease expired, nobody claiming since: %v", err)
	}
	c2, err := s.ClaimOperation(ctx, "w2", time.Minute)
	if err != nil || c2.Attempts != 2 {
		t.Fatalf("claim after the injected clock passed the lease: %v, %+v", err, c2)
	}
	if err := s.UnreserveFenced(ctx, f, "dc", "1", "op-1"); !errors.Is(err, provision.ErrLeaseLost) {
		t.Fatalf("UnreserveFenced after another worker claimed: %v, want ErrLeaseLost", err)
	}
}

func TestPostgresUsesDatabaseClock(t *testing.T) {
	t.Parallel()
	// WithClock is ignored on PostgreSQL: leases come from the database's
	// clock, shared by all workers.
	skewed := func() time.Time { return time.Now().Add(-24 * time.Hour) }
	s := newPostgres(t, sqlstore.WithClock(skewed))
	ctx := t.Context()
	if err := s.CreateOperation(ctx, &provision.Operation{ID: "op-1", ServiceID: "svc", Kind: provision.OpOpen}); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	c, err := s.ClaimOperation(ctx, "w1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.LeaseUntil.Sub(before.Add(time.Hour)); d < -time.Minute || d > time.Minute {
		t.Fatalf("LeaseUntil = %v, want about %v (database clock)", c.LeaseUntil, before.Add(time.Hour))
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	path := sqlitePath(t)
	s, err := sqlstore.Open(t.Context(), "sqlite", path, sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutService(t.Context(), &provision.Service{ID: "svc-1", Kind: provision.KindHosting}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Ping(); err == nil {
		t.Fatal("Close did not close the database opened by Open")
	}
	// Durable: a new process (here a new pool) sees the data.
	s2 := newSQLite(t, path)
	if _, err := s2.GetService(t.Context(), "svc-1"); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	if _, err := sqlstore.Open(t.Context(), "no-such-driver", path, sqlstore.SQLite); err == nil {
		t.Fatal("Open with an unknown driver succeeded")
	}
	if _, err := sqlstore.New(s2.DB(), sqlstore.Dialect(99)); err == nil {
		t.Fatal("New with an unknown dialect succeeded")
	}
}

func TestLargeAndOddValues(t *testing.T) {
	for _, c := range dbCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, err := sqlstore.New(c.open(t)(), c.dialect)
			if err != nil {
				t.Fatal(err)
			}
			big := strings.Repeat("x", 1<<20)
			op := &provision.Operation{
				ID: "op-'\"; DROP TABLE x; --", ServiceID: "svc ☃", Kind: provision.OpOpen,
				Data: json.RawMessage(`{}`),
			}
			in := map[string]string{"password": "p@ss\"w'ord\n\x01", "big": big, "": "empty key"}
			op.Input, _ = json.Marshal(in)
			if err := s.CreateOperation(t.Context(), op); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetOperation(t.Context(), op.ID)
			if err != nil {
				t.Fatal(err)
			}
			var back map[string]string
			if err := json.Unmarshal(got.Input, &back); err != nil {
				t.Fatal(err)
			}
			if back["password"] != in["password"] || back["big"] != big || back[""] != "empty key" ||
				string(got.Data) != "{}" || got.ServiceID != "svc ☃" {
				t.Fatalf("round trip changed the values: %q %d %s", back["password"], len(back["big"]), got.Data)
			}
			// Input or Data that is not JSON is refused.
			bad := &provision.Operation{ID: "op-bad", ServiceID: "s", Kind: provision.OpOpen, Data: json.RawMessage(`{"a":`)}
			if err := s.CreateOperation(t.Context(), bad); err == nil {
				t.Fatal("CreateOperation stored Data that is not JSON")
			}
			// Nil stays nil.
			op2 := &provision.Operation{ID: "op-2", ServiceID: "s", Kind: provision.OpOpen}
			if err := s.CreateOperation(t.Context(), op2); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.GetOperation(t.Context(), "op-2"); got.Input != nil || got.Data != nil {
				t.Fatalf("nil Input and Data came back as %q %q", got.Input, got.Data)
			}
		})
	}
}

// TestSQLiteBusyError: the lock errors the migration retries are told
// apart from other errors (a second writer with no busy timeout gets
// SQLITE_BUSY at once).
func TestSQLiteBusyError(t *testing.T) {
	t.Parallel()
	db := openSQLiteDB(t, sqlitePath(t))
	ctx := t.Context()
	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	other, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := holder.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	defer holder.ExecContext(context.Background(), `ROLLBACK`)
	if _, err := other.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		t.Fatal(err)
	}
	_, err = other.ExecContext(ctx, `BEGIN IMMEDIATE`)
	if err == nil || !sqlstore.SQLiteBusy(err) {
		t.Fatalf("second writer: %v, want an error sqliteBusy recognises", err)
	}
	if _, err := other.ExecContext(ctx, `SELECT * FROM no_such_table`); err == nil || sqlstore.SQLiteBusy(err) {
		t.Fatalf("missing table: %v, want an error that is not busy", err)
	}
	if sqlstore.SQLiteBusy(errors.New("database is locked")) {
		t.Fatal("an error without a code counted as busy")
	}
}
