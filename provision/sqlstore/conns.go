package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
)

// SQLite connections.
//
// Opening a SQLite connection parses the whole schema, and the busy
// timeout is a per-connection setting; a pool that opens and closes
// connections as load comes and goes (database/sql keeps two idle ones by
// default) spends most of its time there, and a statement prepared anew
// for every call is parsed anew. The Store therefore keeps its own
// connections for its lifetime: one for writes (under the writer lock)
// and a few for reads (WAL lets them run beside the writer), each with
// the busy timeout set once and its statements prepared once. A
// connection that reports itself broken is dropped and replaced by a new
// one on the next call.
//
// When the caller's pool is limited (db.SetMaxOpenConns), the Store keeps
// at most one connection fewer than the limit in all, so that the caller's
// own queries still find one; with a limit of one or two, reads share the
// write connection.

// sqliteReaders is the most connections a Store keeps for reads.
const sqliteReaders = 4

// maxPreparedPerConn bounds the statements a connection keeps prepared;
// beyond it (queries built per call, like IN lists of varying length)
// statements run unprepared.
const maxPreparedPerConn = 64

// pinned is a connection the Store keeps, with its prepared statements.
// Only one goroutine uses it at a time.
type pinned struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
	// broken is set when the connection must not be used again.
	broken bool
}

// sqliteConns is the Store's set of SQLite connections.
type sqliteConns struct {
	// writer is used under Store.wmu only.
	writer *pinned
	// idle holds the read connections not in use; readers bounds how
	// many are in use at once (0: reads use the writer).
	idle    chan *pinned
	readers chan struct{}

	mu     sync.Mutex
	closed bool
}

func (c *sqliteConns) init(db *sql.DB) {
	n := sqliteReaders
	if max := db.Stats().MaxOpenConnections; max > 0 {
		n = min(n, max-2)
	}
	if n > 0 {
		c.idle = make(chan *pinned, n)
		c.readers = make(chan struct{}, n)
	}
}

// openPinned takes a new connection from the pool, with the busy timeout
// set.
func (s *Store) openPinned(ctx context.Context) (*pinned, error) {
	conn, err := s.sqliteConn(ctx)
	if err != nil {
		return nil, err
	}
	return &pinned{conn: conn}, nil
}

// withWriter runs fn on the write connection under the writer lock.
func (s *Store) withWriter(ctx context.Context, fn func(p *pinned) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	c := &s.conns
	if c.writer == nil {
		if err := c.check(); err != nil {
			return err
		}
		p, err := s.openPinned(ctx)
		if err != nil {
			return err
		}
		c.writer = p
	}
	err := fn(c.writer)
	if !c.writer.keep(err) {
		c.writer = nil
	}
	return err
}

// withReader runs fn on a read connection (the write connection, under
// the writer lock, when the Store keeps none for reads).
func (s *Store) withReader(ctx context.Context, fn func(p *pinned) error) error {
	c := &s.conns
	if c.readers == nil {
		return s.withWriter(ctx, fn)
	}
	select {
	case c.readers <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.readers }()
	var p *pinned
	select {
	case p = <-c.idle:
	default:
		if err := c.check(); err != nil {
			return err
		}
		var err error
		if p, err = s.openPinned(ctx); err != nil {
			return err
		}
	}
	err := fn(p)
	if !p.keep(err) {
		return err
	}
	c.mu.Lock()
	if c.closed {
		p.close()
	} else {
		c.idle <- p // never blocks: at most cap(idle) readers hold one
	}
	c.mu.Unlock()
	return err
}

func (c *sqliteConns) check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("sqlstore: store is closed")
	}
	return nil
}

// closeConns gives every kept connection back to the pool; connections in
// use are given back when their call ends.
func (s *Store) closeConns() {
	c := &s.conns
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
drain:
	for {
		select {
		case p := <-c.idle:
			p.close()
		default:
			break drain
		}
	}
	s.wmu.Lock()
	if c.writer != nil {
		c.writer.close()
		c.writer = nil
	}
	s.wmu.Unlock()
}

// isBroken reports whether err says the connection cannot be used again.
func isBroken(err error) bool {
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)
}

// keep reports whether the connection may be used again after a call
// that returned err; a broken one is closed.
func (p *pinned) keep(err error) bool {
	if isBroken(err) {
		p.broken = true
	}
	if p.broken {
		p.close()
		return false
	}
	return true
}

// discard makes database/sql drop the connection instead of returning it
// to the pool (used when a transaction could not be rolled back).
func (p *pinned) discard() {
	p.broken = true
	discard(p.conn)
}

// close gives the connection back to the pool, closing its statements
// first while it works. The statements of a broken connection are left
// alone: its driver connection may be gone already, and closing a
// statement on it is not safe with every driver (modernc.org/sqlite
// dereferences the closed database); the pool disposes of the connection.
func (p *pinned) close() {
	if !p.broken {
		for _, st := range p.stmts {
			st.Close()
		}
	}
	p.stmts = nil
	p.conn.Close()
}

// stmt returns query prepared on the connection, or nil when it cannot be
// (the query then runs unprepared and reports its own error).
func (p *pinned) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := p.stmts[query]; st != nil {
		return st
	}
	if len(p.stmts) >= maxPreparedPerConn {
		return nil
	}
	st, err := p.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if p.stmts == nil {
		p.stmts = make(map[string]*sql.Stmt)
	}
	p.stmts[query] = st
	return st
}

// ExecContext runs query as a prepared statement.
func (p *pinned) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.conn.ExecContext(ctx, query, args...)
}

// QueryContext runs query as a prepared statement.
func (p *pinned) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.conn.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query as a prepared statement.
func (p *pinned) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.conn.QueryRowContext(ctx, query, args...)
}
