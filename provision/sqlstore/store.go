package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ispkit/ispkit/provision"
)

// Store is a provision.Store over database/sql. It is safe for concurrent
// use by many goroutines and, sharing the same database, by many processes.
type Store struct {
	db      *sql.DB
	dialect Dialect
	owned   bool
	clock   func() time.Time
	busy    time.Duration

	// wmu serializes this process's writes on SQLite so that its
	// goroutines queue in Go instead of spinning in SQLite's busy handler;
	// other processes are kept out by SQLite's own write lock.
	wmu sync.Mutex
	// conns are the SQLite connections the Store keeps (conns.go).
	conns sqliteConns

	q  queries
	gc committer
}

var _ provision.FencedStore = (*Store)(nil)

// Option configures a Store.
type Option func(*Store) error

// WithClock sets the clock used for timestamps and leases on SQLite (the
// default is time.Now). On PostgreSQL timestamps and leases always come
// from the database's clock, so that workers on several machines agree,
// and the option is ignored.
func WithClock(now func() time.Time) Option {
	return func(s *Store) error {
		if now == nil {
			return errors.New("sqlstore: WithClock: nil clock")
		}
		s.clock = now
		return nil
	}
}

// WithBusyTimeout sets how long a SQLite connection waits for another
// process's write lock before failing (PRAGMA busy_timeout; default 10 s).
// It is ignored on PostgreSQL.
func WithBusyTimeout(d time.Duration) Option {
	return func(s *Store) error {
		if d < 0 {
			return fmt.Errorf("sqlstore: WithBusyTimeout: negative duration %v", d)
		}
		s.busy = d
		return nil
	}
}

// New returns a Store over db, which must have been opened with a driver for
// dialect d, and applies the pending schema migrations (see the package
// documentation). The caller keeps ownership of db: Close does not close it.
func New(db *sql.DB, d Dialect, opts ...Option) (*Store, error) {
	return newStore(context.Background(), db, d, false, opts)
}

// Open opens the database with database/sql (driverName must be registered
// by the caller, e.g. by importing modernc.org/sqlite for "sqlite" or
// github.com/jackc/pgx/v5/stdlib for "pgx"), applies the pending
// migrations and returns a Store that owns the *sql.DB: Close closes it.
func Open(ctx context.Context, driverName, dsn string, d Dialect, opts ...Option) (*Store, error) {
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	s, err := newStore(ctx, db, d, true, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func newStore(ctx context.Context, db *sql.DB, d Dialect, owned bool, opts []Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if !d.valid() {
		return nil, fmt.Errorf("sqlstore: unknown dialect %v", d)
	}
	s := &Store{db: db, dialect: d, owned: owned, clock: time.Now, busy: 10 * time.Second}
	s.gc.maxBatch, s.gc.slots, s.gc.inFlight = defaultMaxBatch, sqliteCommitters, map[string]bool{}
	if d == Postgres {
		s.gc.slots = postgresCommitters
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	s.q = buildQueries(d)
	if d == SQLite {
		s.conns.init(db)
	}
	if err := s.migrate(ctx); err != nil {
		s.closeConns()
		return nil, err
	}
	return s, nil
}

// Dialect returns the store's dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB returns the underlying database handle.
func (s *Store) DB() *sql.DB { return s.db }

// Close gives back the connections the Store keeps (on SQLite) and closes
// the database if the Store was created by Open; a Store made by New
// leaves the *sql.DB open for its caller to close. The Store must not be
// used after Close.
func (s *Store) Close() error {
	s.closeConns()
	if s.owned {
		return s.db.Close()
	}
	return nil
}

// querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// run calls fn with something to query. On PostgreSQL that is the pool
// itself. On SQLite it is one of the connections the Store keeps
// (conns.go): a read connection for reads; writes are queued for the
// group commit (groupcommit.go), which runs them on the write connection
// in a transaction shared with other writes (see commitSQLite).
func (s *Store) run(ctx context.Context, write bool, fn func(q querier) error) error {
	if s.dialect == Postgres {
		return fn(s.db)
	}
	if !write {
		return s.withReader(ctx, func(p *pinned) error { return fn(p) })
	}
	if s.gc.maxBatch == 1 {
		return s.withWriter(ctx, func(p *pinned) error { return fn(p) })
	}
	// Writes join the group commit's queue and share its transactions.
	u := &opUpdate{ctx: ctx, write: fn}
	s.submit(u)
	return u.err
}

func (s *Store) sqliteConn(ctx context.Context) (*sql.Conn, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: connection: %w", err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", s.busy.Milliseconds())); err != nil {
		conn.Close()
		return nil, fmt.Errorf("sqlstore: busy_timeout: %w", err)
	}
	return conn, nil
}

// discard makes database/sql drop conn instead of returning it to the pool
// (used when a transaction could not be rolled back).
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

// queryAll runs a read-only query and scans every row with scan.
func queryAll[T any](ctx context.Context, s *Store, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	var out []T
	err := s.run(ctx, false, func(q querier) error {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}
