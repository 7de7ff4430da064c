package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Batched writes on PostgreSQL.
//
// Besides the step transitions, the writes every order makes once or a few
// times (recording its service, creating its operation, reserving its
// server, releasing its lease) join the group commit's queue on
// PostgreSQL. A batch holds writes of one kind only and commits them in
// one statement over unnest(arrays), one round trip for the whole batch:
// with a thousand orders arriving at once, each of these was a round trip
// of its own, and those round trips, not the database's work, were the
// orders' wait.
//
// The batch statement writes only what it can write without an error
// (INSERT ... ON CONFLICT DO NOTHING, UPDATE ... WHERE version = ...) and
// returns the key of every row it wrote. A write whose key does not come
// back wrote nothing and then runs on its own, as it would without
// batching, so it gets exactly the outcome (ErrExists, ErrConflict,
// ErrBusy, ErrReserved, ErrLeaseLost...) its own statement earns. A batch
// refused as a whole (an error with an SQLSTATE) wrote nothing either, and
// each of its writes runs on its own. A batch never holds two writes with
// the same key, so no write meets another of its batch.

// pgKind is a kind of write PostgreSQL commits in batches.
type pgKind struct {
	name string
	// stmt takes one text array per column (every write's cols, in
	// order) and returns, for every row it wrote, the write's key and
	// then the columns scanned into the write's dest.
	stmt string
}

// pgWrite is one write of a pgKind.
type pgWrite struct {
	kind *pgKind
	key  string
	// cols are the write's values, one per array of the kind's
	// statement, as text; pgNull stands for NULL where the statement
	// says so (NULLIF).
	cols []string
	// dest receives the returned columns after the key when the batch
	// wrote the row.
	dest []any
	// single is the write on its own: it runs when the write is alone,
	// or when the batch did not write it, and on SQLite. It changes the
	// database with one statement at most (its other statements only
	// read), which SQLite's light commit relies on (see oneWrite).
	single func(q querier) error
}

// pgNull is the text a batch statement turns into NULL (NULLIF(col,
// chr(1))); it is used only in timestamp columns, whose text never holds
// it.
const pgNull = "\x01"

// pgTime encodes t for a batch statement (pgNull for the zero time).
func pgTime(t time.Time) string {
	if t.IsZero() {
		return pgNull
	}
	return t.UTC().Format("2006-01-02 15:04:05.999999Z07:00")
}

// pgFenced is fenceCond (operations.go) in a batch statement, over the
// columns fence_op, fence_worker and fence_token of its unnest v.
const pgFenced = `EXISTS (SELECT 1 FROM ispkit_operations o
	WHERE o.id = v.fence_op AND o.worker = v.fence_worker AND o.worker <> ''
		AND o.attempts = v.fence_token AND o.state IN ('pending', 'running') FOR SHARE)`

// The batch statements. The text arrays are cast column by column; now()
// is the database's clock, which PostgreSQL stores always use.
var (
	pgInsertService = &pgKind{name: "insert service", stmt: `INSERT INTO ispkit_services (` + svcCols + `)
		SELECT v.id, v.kind, v.tariff_id, v.account_id, v.owner, v.module, v.status, v.properties, v.error, 1, now(), now()
		FROM unnest($1::text::text[], $2::text::text[], $3::text::bigint[], $4::text::bigint[], $5::text::text[],
			$6::text::text[], $7::text::text[], $8::text::text[], $9::text::text[])
			AS v(id, kind, tariff_id, account_id, owner, module, status, properties, error)
		ON CONFLICT (id) DO NOTHING
		RETURNING id, version, created_at, updated_at`}
	pgUpdateService = &pgKind{name: "update service", stmt: `UPDATE ispkit_services AS s
		SET kind = v.kind, tariff_id = v.tariff_id, account_id = v.account_id, owner = v.owner, module = v.module,
			status = v.status, properties = v.properties, error = v.error, version = s.version + 1, updated_at = now()
		FROM unnest($1::text::text[], $2::text::text[], $3::text::bigint[], $4::text::bigint[], $5::text::text[],
			$6::text::text[], $7::text::text[], $8::text::text[], $9::text::text[], $10::text::bigint[])
			AS v(id, kind, tariff_id, account_id, owner, module, status, properties, error, version)
		WHERE s.id = v.id AND s.version = v.version
		RETURNING s.id, s.version, s.created_at, s.updated_at`}
	// pgUpdateServiceFenced is pgUpdateService under a fence
	// (PutServiceFenced), as pgReserveFenced is pgReserve.
	pgUpdateServiceFenced = &pgKind{name: "update service fenced", stmt: `UPDATE ispkit_services AS s
		SET kind = v.kind, tariff_id = v.tariff_id, account_id = v.account_id, owner = v.owner, module = v.module,
			status = v.status, properties = v.properties, error = v.error, version = s.version + 1, updated_at = now()
		FROM unnest($1::text::text[], $2::text::text[], $3::text::bigint[], $4::text::bigint[], $5::text::text[],
			$6::text::text[], $7::text::text[], $8::text::text[], $9::text::text[], $10::text::bigint[],
			$11::text::text[], $12::text::text[], $13::text::integer[])
			AS v(id, kind, tariff_id, account_id, owner, module, status, properties, error, version,
				fence_op, fence_worker, fence_token)
		WHERE s.id = v.id AND s.version = v.version
			AND ` + pgFenced + `
		RETURNING s.id, s.version, s.created_at, s.updated_at`}
	pgCreateOp = &pgKind{name: "create operation", stmt: `INSERT INTO ispkit_operations (` + opCols + `)
		SELECT v.id, v.service_id, v.kind, v.state, v.step, v.input, v.data, v.error, v.attempts, v.worker,
			NULLIF(v.lease_until, chr(1))::timestamptz, 1, now(), now()
		FROM unnest($1::text::text[], $2::text::text[], $3::text::text[], $4::text::text[], $5::text::text[],
			$6::text::text[], $7::text::text[], $8::text::text[], $9::text::integer[], $10::text::text[],
			$11::text::text[])
			AS v(id, service_id, kind, state, step, input, data, error, attempts, worker, lease_until)
		ON CONFLICT DO NOTHING
		RETURNING id, version, created_at, updated_at`}
	pgReleaseLease = &pgKind{name: "release lease", stmt: `UPDATE ispkit_operations AS o SET worker = '', lease_until = NULL
		FROM unnest($1::text::text[], $2::text::text[], $3::text::integer[]) AS v(id, worker, attempts)
		WHERE o.id = v.id AND o.worker = v.worker AND o.worker <> '' AND o.attempts = v.attempts
		RETURNING o.id`}
	pgReserve = &pgKind{name: "reserve", stmt: `INSERT INTO ispkit_reservations (backend, server_id, operation_id, service_id, created_at)
		SELECT v.backend, v.server_id, v.operation_id, v.service_id,
			COALESCE(NULLIF(v.created_at, chr(1))::timestamptz, now())
		FROM unnest($1::text::text[], $2::text::text[], $3::text::text[], $4::text::text[], $5::text::text[])
			AS v(backend, server_id, operation_id, service_id, created_at)
		ON CONFLICT (backend, server_id) DO NOTHING
		RETURNING backend || chr(1) || server_id`}
	// pgReserveFenced is pgReserve under a fence (ReserveFenced): a row
	// is written only while its claim is the operation's current one, and
	// the operation's row is held FOR SHARE meanwhile.
	pgReserveFenced = &pgKind{name: "reserve-fenced", stmt: `INSERT INTO ispkit_reservations (backend, server_id, operation_id, service_id, created_at)
		SELECT v.backend, v.server_id, v.operation_id, v.service_id,
			COALESCE(NULLIF(v.created_at, chr(1))::timestamptz, now())
		FROM unnest($1::text::text[], $2::text::text[], $3::text::text[], $4::text::text[], $5::text::text[],
			$6::text::text[], $7::text::text[], $8::text::integer[])
			AS v(backend, server_id, operation_id, service_id, created_at, fence_op, fence_worker, fence_token)
		WHERE ` + pgFenced + `
		ON CONFLICT (backend, server_id) DO NOTHING
		RETURNING backend || chr(1) || server_id`}
)

// runWrite runs w: batched with other writes of its kind on PostgreSQL
// (unless batching is off or w has no kind), on its own otherwise (on
// SQLite it joins the group commit's transactions, see run).
func (s *Store) runWrite(ctx context.Context, w *pgWrite) error {
	if s.dialect == SQLite && s.gc.maxBatch != 1 {
		// w.single writes with one statement at most: see oneWrite.
		u := &opUpdate{ctx: ctx, write: w.single, oneWrite: true}
		s.submit(u)
		return u.err
	}
	if w.kind == nil || s.dialect != Postgres || s.gc.maxBatch == 1 {
		return s.run(ctx, true, w.single)
	}
	u := &opUpdate{ctx: ctx, pg: w}
	s.submit(u)
	return u.err
}

// commitPGWrites commits a batch of writes of one kind (see pgKind).
func (s *Store) commitPGWrites(ctx context.Context, batch []*opUpdate) {
	if len(batch) > 1 {
		written, err := s.batchPGWrites(ctx, batch)
		var se sqlStateError
		switch {
		case err == nil:
			for _, u := range batch {
				if !written[u] {
					u.err = u.pg.single(s.db)
				}
			}
			return
		case errors.As(err, &se) && ctx.Err() == nil:
			s.gc.refused.Add(1)
			// Refused as a whole: nothing was written; each on its own.
		default:
			// The outcome is unknown, as for a single statement.
			for _, u := range batch {
				u.err = err
			}
			return
		}
	}
	for _, u := range batch {
		u.err = u.pg.single(s.db)
	}
}

// batchPGWrites runs the batch statement and reports which writes it
// wrote (their dest filled in).
func (s *Store) batchPGWrites(ctx context.Context, batch []*opUpdate) (map[*opUpdate]bool, error) {
	k := batch[0].pg.kind
	ncols := len(batch[0].pg.cols)
	cols := make([][]string, ncols)
	byKey := make(map[string]*opUpdate, len(batch))
	for _, u := range batch {
		if u.pg.kind != k || len(u.pg.cols) != ncols {
			return nil, fmt.Errorf("sqlstore: batch of %s holds a %s", k.name, u.pg.kind.name)
		}
		for j, v := range u.pg.cols {
			cols[j] = append(cols[j], v)
		}
		byKey[u.pg.key] = u
	}
	args := make([]any, ncols)
	for j, col := range cols {
		args[j] = textArray(col)
	}
	rows, err := s.db.QueryContext(ctx, k.stmt, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	written := make(map[*opUpdate]bool, len(batch))
	for rows.Next() {
		var key string
		vals := make([]any, len(batch[0].pg.dest))
		ptrs := make([]any, 1, 1+len(vals))
		ptrs[0] = &key
		for i := range vals {
			ptrs = append(ptrs, &vals[i])
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		u := byKey[key]
		if u == nil {
			return nil, fmt.Errorf("sqlstore: batch of %s returned an unknown row %q", k.name, key)
		}
		for i, v := range vals {
			if err := assign(u.pg.dest[i], v); err != nil {
				return nil, fmt.Errorf("sqlstore: batch of %s: %w", k.name, err)
			}
		}
		written[u] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Close reads the statement's end: an error there is the statement's
	// too.
	return written, rows.Close()
}

// assign stores a value scanned into an any in dest, a destination the
// write's own statement would have scanned into.
func assign(dest, v any) error {
	switch d := dest.(type) {
	case sql.Scanner:
		return d.Scan(v)
	case *int64:
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("column of type %T into int64", v)
		}
		*d = n
	case *string:
		switch x := v.(type) {
		case string:
			*d = x
		case []byte:
			*d = string(x)
		default:
			return fmt.Errorf("column of type %T into string", v)
		}
	default:
		return fmt.Errorf("destination of type %T", dest)
	}
	return nil
}

// pgInt formats n for a batch statement's integer arrays.
func pgInt[T int | int64](n T) string { return strconv.FormatInt(int64(n), 10) }
