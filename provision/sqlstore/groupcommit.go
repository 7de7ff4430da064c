package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ispkit/ispkit/provision"
)

// Group commit of step transitions.
//
// A commit costs a WAL flush (an fsync) on both databases, and on
// PostgreSQL also a round trip and a backend's statement start-up. Callers
// of UpdateOperation that arrive while earlier ones are being committed
// wait in a queue; the next committer takes every waiting call (up to the
// batch limit) and commits them together:
//
//   - PostgreSQL: one UPDATE ... FROM unnest(arrays) RETURNING statement,
//     one round trip and one implicit transaction. Each array holds one
//     column of the batch; the RETURNING id says which calls matched.
//     PutService, CreateOperation, Reserve and ReleaseLease join the queue
//     as well, in batches of their own kind (pgbatch.go).
//   - SQLite: one BEGIN IMMEDIATE ... COMMIT transaction on the write
//     connection carrying each call's own prepared UPDATE in its own
//     savepoint. The Store's other writes (CreateOperation, ClaimOperation,
//     PutService, Reserve, leases) join the same queue and transactions:
//     SQLite has one writer, and a transaction per write was the limit of
//     a thousand concurrent orders.
//
// Every call keeps its own WHERE id = ? AND version = ? AND attempts = ?
// (version check and fencing token), and a call learns its result only
// once the commit that carries it has returned: a crash before that loses
// the whole batch, as it would have lost each call. A batch never holds
// two calls for the same operation (the second waits for the next batch,
// where it meets the first one's new version), and no operation is in two
// of this Store's batches at once, so batches do not wait for each other's
// row locks. When PostgreSQL refuses a batch (an error with an SQLSTATE;
// for example a service that would have two unfinished operations), nothing
// of it was written and each call is retried on its own, so each caller
// gets exactly the error its own statement earns; on SQLite the failed call
// is rolled back to its savepoint and the others committed. An error that
// leaves the outcome unknown (a lost connection) is returned to every
// caller of the batch, as it would be for a single statement.
//
// A caller that finds a free committer slot commits at once, without
// waiting for company: a lone worker's latency is one statement as before.

// defaultMaxBatch is the default largest number of step transitions
// committed together.
const defaultMaxBatch = 128

// Committer slots: how many batches of one Store may be in flight at once.
// SQLite has one writer. On PostgreSQL a few concurrent batches keep the
// database busy while the next batch fills, and their commits still share
// WAL flushes.
const (
	sqliteCommitters   = 1
	postgresCommitters = 4
)

// opUpdate is one UpdateOperation call: its arguments, encoded once by the
// caller, and its outcome, written by the committer before done is closed.
//
// On SQLite the queue also carries the Store's other writes (write set,
// id empty): they share the transactions of the step transitions.
type opUpdate struct {
	ctx                                                    context.Context
	id, serviceID, kind, state, step, input, data, errText string
	version                                                int64
	attempts                                               int
	write                                                  func(q querier) error
	// oneWrite marks a write closure that changes the database with one
	// statement at most (the others only read): on SQLite it needs no
	// savepoint of its own (see commitSQLite).
	oneWrite bool
	// pg is a PostgreSQL write batched with others of its kind
	// (pgbatch.go); nil for a step transition.
	pg *pgWrite

	res  updateResult
	err  error
	done chan struct{}
}

// isUpdate reports whether u is a step transition (UpdateOperation).
func (u *opUpdate) isUpdate() bool { return u.write == nil && u.pg == nil }

// updateResult is what one UpdateOperation found: the stored values after
// a match, or why nothing matched.
type updateResult struct {
	attempts        int
	worker          string
	lease, cre, upd time.Time
	version         int64

	noMatch, missing, stale bool
	storedAttempts          int
}

// committer is the queue of UpdateOperation calls waiting for a commit.
type committer struct {
	mu       sync.Mutex
	queue    []*opUpdate
	inFlight map[string]bool // operation ids in a batch being committed
	running  int             // committer slots taken
	// queuedUpdates counts the UpdateOperation calls in queue.
	queuedUpdates int

	slots, maxBatch int

	// Statistics and test hooks (see export_test.go).
	batches, updates, refused atomic.Int64
	writeBatches, writes      atomic.Int64                // PostgreSQL batched writes (pgbatch.go)
	onQueued                  func(queued int)            // after a call joined the queue
	onBatch                   func(size int)              // before a batch is committed
	onWriteQueued             func(queued int)            // after a batched write joined the queue (writes queued)
	onWriteBatch              func(kind string, size int) // before a batch of writes is committed
}

// WithMaxBatch sets the largest number of concurrent step transitions
// (UpdateOperation calls) the Store commits together in one statement
// (PostgreSQL) or one transaction (SQLite); the default is 128. With 1
// every call commits on its own, as many at once as the pool allows.
func WithMaxBatch(n int) Option {
	return func(s *Store) error {
		if n < 1 {
			return errors.New("sqlstore: WithMaxBatch: the limit must be at least 1")
		}
		s.gc.maxBatch = n
		return nil
	}
}

// submit commits u, alone or with other waiting calls, and returns when
// u's outcome is known (or u's context ended while u was still waiting).
func (s *Store) submit(u *opUpdate) {
	c := &s.gc
	if c.maxBatch == 1 {
		// No grouping: every call is its own statement, as many at once
		// as the pool allows.
		u.err = s.run(u.ctx, true, func(q querier) error { return s.updateRow(u.ctx, q, u) })
		return
	}
	u.done = make(chan struct{})
	c.mu.Lock()
	c.queue = append(c.queue, u)
	if u.isUpdate() {
		c.queuedUpdates++
	}
	queued := c.queuedUpdates
	lead := c.running < c.slots
	if lead {
		c.running++
	}
	c.mu.Unlock()
	if c.onQueued != nil && u.isUpdate() {
		c.onQueued(queued)
	}
	if c.onWriteQueued != nil && u.pg != nil {
		c.mu.Lock()
		n := 0
		for _, w := range c.queue {
			if w.pg != nil {
				n++
			}
		}
		c.mu.Unlock()
		c.onWriteQueued(n)
	}
	if lead {
		// Commit one batch (which holds u unless u's operation is in
		// another batch right now), then leave the remaining queue to a
		// goroutine: a caller never works for others after its own
		// outcome is known.
		if s.commitNext() {
			s.passSlot()
		}
	}
	select {
	case <-u.done:
		return
	case <-u.ctx.Done():
	}
	c.mu.Lock()
	for i, w := range c.queue {
		if w == u {
			// Not sent: nothing was written.
			c.queue = slices.Delete(c.queue, i, i+1)
			if u.isUpdate() {
				c.queuedUpdates--
			}
			c.mu.Unlock()
			u.err = u.ctx.Err()
			return
		}
	}
	c.mu.Unlock()
	// In a batch already: its outcome is u's (the batch is cancelled only
	// when every caller in it has given up).
	<-u.done
}

// passSlot hands the committer slot its caller holds to a goroutine that
// drains the queue, or gives it back when nothing waits.
func (s *Store) passSlot() {
	c := &s.gc
	c.mu.Lock()
	more := len(c.queue) > 0
	if !more {
		c.running--
	}
	c.mu.Unlock()
	if more {
		go s.drain()
	}
}

// drain commits batches while calls are waiting, holding one committer
// slot.
func (s *Store) drain() {
	for s.commitNext() {
	}
}

// commitNext takes the next batch from the queue and commits it. With
// nothing to take it gives the slot back and reports false.
func (s *Store) commitNext() bool {
	c := &s.gc
	c.mu.Lock()
	var batch []*opUpdate
	rest := c.queue[:0]
	updates := 0
	// On PostgreSQL a batch is of one kind: the step transitions, or the
	// writes of one pgKind, each key once (see pgbatch.go).
	var (
		kind *pgKind
		keys map[string]bool
	)
	for _, u := range c.queue {
		fits := len(batch) < c.maxBatch
		switch {
		case !fits:
		case u.pg != nil:
			fits = (len(batch) == 0 || kind == u.pg.kind) && !keys[u.pg.key]
		case u.isUpdate():
			fits = (len(batch) == 0 || kind == nil) && !c.inFlight[u.id]
		}
		if fits {
			switch {
			case u.pg != nil:
				if len(batch) == 0 {
					kind, keys = u.pg.kind, map[string]bool{}
				}
				keys[u.pg.key] = true
			case u.isUpdate():
				c.inFlight[u.id] = true
				updates++
			}
			batch = append(batch, u)
			continue
		}
		rest = append(rest, u)
	}
	c.queuedUpdates -= updates
	clear(c.queue[len(rest):])
	c.queue = rest
	if len(batch) == 0 {
		c.running--
		c.mu.Unlock()
		return false
	}
	c.mu.Unlock()

	completed := false
	defer func() {
		if !completed {
			// A panic (in a driver) on its way up a caller's stack: the
			// batch's callers get an error instead of waiting forever,
			// and the slot passes to a goroutine if others wait.
			for _, u := range batch {
				u.err = errors.New("sqlstore: group commit panicked")
			}
			s.passSlot()
		}
		c.mu.Lock()
		for _, u := range batch {
			if u.isUpdate() {
				delete(c.inFlight, u.id)
			}
		}
		c.mu.Unlock()
		for _, u := range batch {
			close(u.done)
		}
	}()
	if kind != nil {
		if c.onWriteBatch != nil {
			c.onWriteBatch(kind.name, len(batch))
		}
		c.writeBatches.Add(1)
		c.writes.Add(int64(len(batch)))
	}
	if updates > 0 {
		// The statistics and hooks count step transitions (a batch of
		// other writes only is not counted).
		if c.onBatch != nil {
			c.onBatch(updates)
		}
		c.batches.Add(1)
		c.updates.Add(int64(updates))
	}
	ctx, stop := batchContext(batch)
	defer stop()
	s.commitBatch(ctx, batch)
	completed = true
	return true
}

// batchContext returns the context a batch runs under: it carries the
// first caller's values and is cancelled only when every caller's context
// has ended (one caller giving up does not abort the others' writes).
func batchContext(batch []*opUpdate) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(batch[0].ctx))
	var left atomic.Int64
	left.Store(int64(len(batch)))
	stops := make([]func() bool, 0, len(batch))
	for _, u := range batch {
		stops = append(stops, context.AfterFunc(u.ctx, func() {
			if left.Add(-1) == 0 {
				cancel(context.Cause(u.ctx))
			}
		}))
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel(nil)
	}
}

// commitBatch commits batch and sets every call's outcome.
func (s *Store) commitBatch(ctx context.Context, batch []*opUpdate) {
	if s.dialect == SQLite {
		s.commitSQLite(ctx, batch)
		return
	}
	if batch[0].pg != nil {
		s.commitPGWrites(ctx, batch)
		return
	}
	if len(batch) == 1 {
		u := batch[0]
		u.err = s.run(ctx, true, func(q querier) error { return s.updateRow(ctx, q, u) })
		return
	}
	if !s.commitPostgres(ctx, batch) {
		return
	}
	s.gc.refused.Add(1)
	// The database refused the batch as a whole and wrote nothing of it:
	// each call runs on its own and gets its own outcome.
	for _, u := range batch {
		u.res = updateResult{}
		u.err = s.run(ctx, true, func(q querier) error { return s.updateRow(ctx, q, u) })
	}
}

// updateRow runs u's own UPDATE on q and, when it matches no row, reads
// why (unknown id, older fencing token or stale version).
//
// On SQLite a transition that keeps the operation's state, service and
// kind (most steps) first tries updateOpStep, which sets no indexed
// column: SQLite maintains every index that names a column an UPDATE
// sets, whether or not its value changes, and the operations table has
// five. That UPDATE matches only a row whose state, service and kind are
// already u's, so when it matches, the stored row is exactly what
// updateOp would have written; otherwise updateOp runs as before.
func (s *Store) updateRow(ctx context.Context, q rowQuerier, u *opUpdate) error {
	r := &u.res
	scan := []any{&r.attempts, &r.worker, dbTime{&r.lease}, &r.version, dbTime{&r.cre}, dbTime{&r.upd}}
	if s.dialect == SQLite && !finishing(u.state) {
		err := q.QueryRowContext(ctx, s.q.updateOpStep,
			u.step, u.input, u.data, u.errText, s.nowArg(),
			u.id, u.version, u.attempts, u.state, u.serviceID, u.kind,
		).Scan(scan...)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	err := q.QueryRowContext(ctx, s.q.updateOp,
		u.serviceID, u.kind, u.state, u.step, u.input, u.data, u.errText, u.state, u.state,
		s.nowArg(), u.id, u.version, u.attempts,
	).Scan(scan...)
	if errors.Is(err, sql.ErrNoRows) {
		return s.whyNoMatch(ctx, q, u)
	}
	return err
}

// whyNoMatch records why u's UPDATE matched no row.
func (s *Store) whyNoMatch(ctx context.Context, q rowQuerier, u *opUpdate) error {
	r := &u.res
	r.noMatch = true
	var v int64
	err := q.QueryRowContext(ctx, s.q.opStamp, u.id).Scan(&r.storedAttempts, &v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r.missing = true
	case err != nil:
		return err
	}
	r.stale = !r.missing && r.storedAttempts != u.attempts
	return nil
}

// sqlStateError is implemented by the errors of PostgreSQL drivers (pgx's
// *pgconn.PgError, lib/pq's *pq.Error): an error the server reported about
// the statement, which it then rolled back.
type sqlStateError interface{ SQLState() string }

// commitPostgres commits batch as one statement. It reports true when the
// server refused the statement (nothing was written).
func (s *Store) commitPostgres(ctx context.Context, batch []*opUpdate) (refused bool) {
	cols := make([][]string, 8)
	versions := make([]string, len(batch))
	attempts := make([]string, len(batch))
	byID := make(map[string]*opUpdate, len(batch))
	for i, u := range batch {
		for j, v := range [...]string{u.id, u.serviceID, u.kind, u.state, u.step, u.input, u.data, u.errText} {
			cols[j] = append(cols[j], v)
		}
		versions[i] = strconv.FormatInt(u.version, 10)
		attempts[i] = strconv.Itoa(u.attempts)
		byID[u.id] = u
	}
	args := []any{s.nowArg()}
	for _, col := range cols {
		args = append(args, textArray(col))
	}
	args = append(args, "{"+strings.Join(versions, ",")+"}", "{"+strings.Join(attempts, ",")+"}")

	err := func() error {
		rows, err := s.db.QueryContext(ctx, s.q.updateOps, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id string
				r  updateResult
			)
			if err := rows.Scan(&id, &r.attempts, &r.worker, dbTime{&r.lease}, &r.version, dbTime{&r.cre}, dbTime{&r.upd}); err != nil {
				return err
			}
			if u := byID[id]; u != nil {
				u.res = r
				delete(byID, id)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// Close reads the statement's end: an error there is the
		// statement's too.
		return rows.Close()
	}()
	var se sqlStateError
	if errors.As(err, &se) && ctx.Err() == nil {
		return true
	}
	for _, u := range batch {
		u.err = err
	}
	if err != nil {
		return false
	}
	// The calls that matched no row: find out why, each on its own.
	for _, u := range byID {
		u.err = s.whyNoMatch(ctx, s.db, u)
	}
	return false
}

// textArray encodes ss as a PostgreSQL array literal of text, every
// element quoted (the driver sends it as plain text; the statement casts
// it with ::text[]).
func textArray(ss []string) string {
	n := 2
	for _, s := range ss {
		n += len(s) + 3
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for {
			j := strings.IndexAny(s, `"\`)
			if j < 0 {
				break
			}
			b.WriteString(s[:j])
			b.WriteByte('\\')
			b.WriteByte(s[j])
			s = s[j+1:]
		}
		b.WriteString(s)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// commitSQLite commits batch in one transaction on the write connection.
// A call whose statements fail is rolled back alone and gets its own
// error, the others are committed. A call learns its outcome once COMMIT
// has returned; an error of the transaction itself goes to every call,
// none of which was then written.
//
// A step transition is one UPDATE by primary key (and, when it matches
// no row, reads), and the other writes of the engine's orders (a service,
// a new operation, a reservation, a released lease) are one INSERT or
// UPDATE and reads too (oneWrite). Such a call needs no savepoint of its
// own, since SQLite undoes a failed statement by itself, and it runs
// without watching the batch's context (modernc.org/sqlite starts a
// goroutine per statement that watches one), since inside the
// transaction, which holds the write lock, its statements wait for
// nothing. The batch is first committed that way. If such a call fails
// with an error (rare: a full disk, an I/O error, some of which also end
// the transaction), the transaction is rolled back and the batch runs
// again with a savepoint around every call, which gives each call its
// own outcome as before. Any other write (a closure of several writing
// statements) always has its savepoint.
//
// A call whose error ends the whole transaction (SQLite rolls it back by
// itself on some errors, and then its savepoint is gone) takes the calls
// before it down with it: it keeps its own error, and the others run
// again without it, in a new transaction.
func (s *Store) commitSQLite(ctx context.Context, batch []*opUpdate) {
	if len(batch) > 1 && s.commitSQLiteTx(ctx, batch, true) < 0 {
		return
	}
	if len(batch) > 1 {
		// The light transaction was rolled back as a whole.
		s.gc.refused.Add(1)
	}
	for rest := batch; len(rest) > 0; {
		for _, u := range rest {
			u.res, u.err = updateResult{}, nil
		}
		i := s.commitSQLiteTx(ctx, rest, false)
		if i < 0 {
			return
		}
		// rest[i] ended the transaction: it keeps its error.
		rest = slices.Delete(slices.Clone(rest), i, i+1)
	}
}

// commitSQLiteTx is one try of commitSQLite; it returns -1 when every
// call of batch has its outcome. With light set, step transitions and
// oneWrite calls run without savepoints, and an error of one of them rolls
// the whole transaction back and returns 0: nothing was written, and the
// caller runs the batch once more without light. Otherwise every call has
// a savepoint (none for a batch of one); when a call's error ended the
// transaction, nothing was written and it returns that call's index.
func (s *Store) commitSQLiteTx(ctx context.Context, batch []*opUpdate, light bool) (again int) {
	again = -1
	fail := func(err error) {
		for _, u := range batch {
			u.err = err
		}
	}
	err := s.withWriter(ctx, func(p *pinned) error {
		// Every statement of the batch runs under the batch's context:
		// a caller that gives up interrupts no one else's statements.
		q := batchQuerier{p: p, ctx: ctx}
		// A light call's statements do not watch the context at all.
		lq := batchQuerier{p: p, ctx: context.WithoutCancel(ctx)}
		// rollback ends the transaction; if that fails, the connection's
		// state is unknown and must not be used again.
		rollback := func() {
			if _, err := p.conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`); err != nil {
				p.discard()
			}
		}
		if _, err := p.conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
			// No transaction (e.g. another process kept the write lock
			// past the busy timeout): nothing was written.
			fail(err)
			return nil
		}
		single := len(batch) == 1
		for i, u := range batch {
			if light && (u.write == nil || u.oneWrite) {
				if u.write != nil {
					u.err = u.write(lq)
				} else {
					u.err = s.updateRow(ctx, lq, u)
				}
				if u.err != nil {
					rollback()
					if isBroken(u.err) {
						p.broken = true
						fail(u.err)
						return nil
					}
					again = 0
					return nil
				}
				continue
			}
			// A call in the batch runs even if its caller gave up since
			// it was taken: its outcome is the batch's.
			if !single {
				if _, err := q.ExecContext(ctx, `SAVEPOINT w`); err != nil {
					rollback()
					fail(err)
					return nil
				}
			}
			if u.write != nil {
				u.err = u.write(q)
			} else {
				u.err = s.updateRow(ctx, q, u)
			}
			if single {
				continue
			}
			if u.err != nil {
				if _, err := q.ExecContext(ctx, `ROLLBACK TO w`); err != nil {
					rollback()
					if isBroken(err) || isBroken(u.err) {
						p.broken = true
						fail(err)
						return nil
					}
					// The savepoint is gone: u's error ended the
					// transaction, and what came before it with it.
					again = i
					return nil
				}
			}
			if _, err := q.ExecContext(ctx, `RELEASE w`); err != nil {
				rollback()
				fail(err)
				return nil
			}
		}
		if single && batch[0].err != nil {
			rollback()
			return nil
		}
		if _, err := p.conn.ExecContext(ctx, `COMMIT`); err != nil {
			// Whether the commit reached the disk is not known: report
			// the error to everyone, as a single statement would.
			rollback()
			fail(err)
		}
		for _, u := range batch {
			if isBroken(u.err) {
				p.broken = true
			}
		}
		return nil
	})
	if err != nil {
		// No connection to commit on: nothing was written.
		fail(err)
		return -1
	}
	return again
}

// batchQuerier runs every statement on p under the batch's context,
// whatever context the caller passes.
type batchQuerier struct {
	p   *pinned
	ctx context.Context
}

func (b batchQuerier) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	return b.p.ExecContext(b.ctx, query, args...)
}

func (b batchQuerier) QueryContext(_ context.Context, query string, args ...any) (*sql.Rows, error) {
	return b.p.QueryContext(b.ctx, query, args...)
}

func (b batchQuerier) QueryRowContext(_ context.Context, query string, args ...any) *sql.Row {
	return b.p.QueryRowContext(b.ctx, query, args...)
}

// rowQuerier runs a query that returns at most one row.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// finishing reports whether an update to state finishes the operation
// (and so ends its lease, as updateOp's CASE says).
func finishing(state string) bool {
	return state == string(provision.StateDone) || state == string(provision.StateFailed)
}
