package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ispkit/ispkit/provision"
)

// queries holds the fixed statements, expanded for the store's dialect.
type queries struct {
	createOp, getOp, updateOp, updateOpStep, updateOps, existsOp, claimOp, renewLease, releaseLease string
	opStamp, serviceBusy                                                                            string
	reserve, reservationHolder, unreserve, fence, reserveFenced, unreserveFenced                    string
	insertService, updateService, getService, existsService                                         string
	insertServiceFenced, updateServiceFenced                                                        string
}

const opCols = `id, service_id, kind, state, step, input, data, error, attempts, worker, lease_until, version, created_at, updated_at`

// fenceCond holds when the claim (id, worker, token) is the operation's
// current one; {{share}} locks the row on PostgreSQL.
const fenceCond = `id = ? AND worker = ? AND worker <> '' AND attempts = ?
	AND state IN ('pending', 'running') {{share}}`

// fenced is fenceCond as a condition of another table's write.
const fenced = `EXISTS (SELECT 1 FROM ispkit_operations WHERE ` + fenceCond + `)`

// svcUpdate is the update of a service of a given version, to which a
// condition may be added before RETURNING.
const svcUpdate = `UPDATE ispkit_services
	SET kind = ?, tariff_id = ?, account_id = ?, owner = ?, module = ?, status = ?,
		properties = ?, error = ?, version = version + 1, updated_at = {{now}}
	WHERE id = ? AND version = ?
	`

const svcCols = `id, kind, tariff_id, account_id, owner, module, status, properties, error, version, created_at, updated_at`

func buildQueries(d Dialect) queries {
	return queries{
		createOp: d.expand(`INSERT INTO ispkit_operations (` + opCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, {{now}}, {{now}})
			ON CONFLICT DO NOTHING
			RETURNING version, created_at, updated_at`),
		// Which unfinished operation makes a service busy (for the error
		// of a refused create).
		serviceBusy: d.expand(`SELECT id, kind FROM ispkit_operations
			WHERE service_id = ? AND state IN ('pending', 'running')`),
		getOp: d.expand(`SELECT ` + opCols + ` FROM ispkit_operations WHERE id = ?`),
		// The lease fields and Attempts belong to Claim/Renew/Release: an
		// update never moves a lease (a background RenewLease is not undone
		// by the holder's next step), it only reports the stored values.
		// attempts is the fencing token: a copy from an older claim
		// matches no row.
		// The one exception: an update that finishes the operation ends its
		// lease too (provision.Store allows it; it saves ReleaseLease).
		updateOp: d.expand(`UPDATE ispkit_operations
			SET service_id = ?, kind = ?, state = ?, step = ?, input = ?, data = ?, error = ?,
				worker = CASE WHEN CAST(? AS TEXT) IN ('done', 'failed') THEN '' ELSE worker END,
				lease_until = CASE WHEN CAST(? AS TEXT) IN ('done', 'failed') THEN NULL ELSE lease_until END,
				version = version + 1, updated_at = {{now}}
			WHERE id = ? AND version = ? AND attempts = ?
			RETURNING attempts, worker, lease_until, version, created_at, updated_at`),
		// updateOp for a step that keeps the state, service and kind
		// (SQLite, see updateRow): the same version check and fencing
		// token, and the stored state, service and kind must be the new
		// ones already.
		updateOpStep: d.expand(`UPDATE ispkit_operations
			SET step = ?, input = ?, data = ?, error = ?, version = version + 1, updated_at = {{now}}
			WHERE id = ? AND version = ? AND attempts = ? AND state = ? AND service_id = ? AND kind = ?
			RETURNING attempts, worker, lease_until, version, created_at, updated_at`),
		// The same update for a batch of operations (PostgreSQL group
		// commit, see groupcommit.go): each array is one column of the
		// batch, sent as an array literal in text; every row keeps its own
		// version check and fencing token. SQLite batches run updateOp.
		updateOps: pgOnly(d, `UPDATE ispkit_operations AS o
			SET service_id = v.service_id, kind = v.kind, state = v.state, step = v.step,
				input = v.input, data = v.data, error = v.error,
				worker = CASE WHEN v.state IN ('done', 'failed') THEN '' ELSE o.worker END,
				lease_until = CASE WHEN v.state IN ('done', 'failed') THEN NULL ELSE o.lease_until END,
				version = o.version + 1, updated_at = {{now}}
			FROM unnest(?::text::text[], ?::text::text[], ?::text::text[], ?::text::text[],
				?::text::text[], ?::text::text[], ?::text::text[], ?::text::text[],
				?::text::bigint[], ?::text::integer[])
				AS v(id, service_id, kind, state, step, input, data, error, version, attempts)
			WHERE o.id = v.id AND o.version = v.version AND o.attempts = v.attempts
			RETURNING o.id, o.attempts, o.worker, o.lease_until, o.version, o.created_at, o.updated_at`),
		existsOp: d.expand(`SELECT 1 FROM ispkit_operations WHERE id = ?`),
		opStamp:  d.expand(`SELECT attempts, version FROM ispkit_operations WHERE id = ?`),
		// One statement picks and takes the oldest claimable operation:
		// the oldest free one (index ispkit_operations_free), the oldest
		// whose lease has expired (a range of ispkit_operations_lease) and
		// the oldest held without a lease end, whichever is older. No arm
		// walks the operations that are held. On PostgreSQL each arm locks
		// its row and skips rows other workers are claiming; on SQLite the
		// statement runs under the database's single write lock.
		claimOp: d.expand(`WITH
			f AS (SELECT seq, created_at FROM ispkit_operations
				WHERE state IN ('pending', 'running') AND worker = ''
				ORDER BY created_at, seq LIMIT 1 {{skiplocked}}),
			x AS (SELECT seq, created_at FROM ispkit_operations
				WHERE state IN ('pending', 'running') AND worker <> '' AND lease_until <= {{now}}
				ORDER BY created_at, seq LIMIT 1 {{skiplocked}}),
			n AS (SELECT seq, created_at FROM ispkit_operations
				WHERE state IN ('pending', 'running') AND worker <> '' AND lease_until IS NULL
				ORDER BY created_at, seq LIMIT 1 {{skiplocked}})
			UPDATE ispkit_operations
			SET worker = ?, lease_until = {{lease}}, state = 'running',
				attempts = attempts + 1, version = version + 1, updated_at = {{now}}
			WHERE seq = (SELECT seq FROM (
				SELECT seq, created_at FROM f UNION ALL SELECT seq, created_at FROM x
				UNION ALL SELECT seq, created_at FROM n) c
				ORDER BY created_at, seq LIMIT 1)
			RETURNING ` + opCols),
		renewLease: d.expand(`UPDATE ispkit_operations SET lease_until = {{lease}}
			WHERE id = ? AND worker = ? AND worker <> '' AND attempts = ?
				AND state IN ('pending', 'running')`),
		releaseLease: d.expand(`UPDATE ispkit_operations SET worker = '', lease_until = NULL
			WHERE id = ? AND worker = ? AND worker <> '' AND attempts = ?`),

		reserve: d.expand(`INSERT INTO ispkit_reservations (backend, server_id, operation_id, service_id, created_at)
			VALUES (?, ?, ?, ?, {{now}})
			ON CONFLICT (backend, server_id) DO NOTHING`),
		reservationHolder: d.expand(`SELECT operation_id FROM ispkit_reservations WHERE backend = ? AND server_id = ?`),
		unreserve:         d.expand(`DELETE FROM ispkit_reservations WHERE backend = ? AND server_id = ? AND operation_id = ?`),
		// A fenced write holds (on PostgreSQL, FOR SHARE) the operation's
		// row while it checks the claim, so a claim committing meanwhile
		// waits for the write or fails it; RenewLease's condition.
		fence: d.expand(`SELECT 1 FROM ispkit_operations WHERE ` + fenceCond),
		reserveFenced: d.expand(`INSERT INTO ispkit_reservations (backend, server_id, operation_id, service_id, created_at)
			SELECT ?, ?, ?, ?, {{now}}
			WHERE ` + fenced + `
			ON CONFLICT (backend, server_id) DO NOTHING`),
		unreserveFenced: d.expand(`DELETE FROM ispkit_reservations WHERE backend = ? AND server_id = ? AND operation_id = ?
			AND ` + fenced),

		insertService: d.expand(`INSERT INTO ispkit_services (` + svcCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, {{now}}, {{now}})
			ON CONFLICT (id) DO NOTHING
			RETURNING version, created_at, updated_at`),
		updateService: d.expand(svcUpdate + `RETURNING version, created_at, updated_at`),
		insertServiceFenced: d.expand(`INSERT INTO ispkit_services (` + svcCols + `)
			SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, {{now}}, {{now}}
			WHERE ` + fenced + `
			ON CONFLICT (id) DO NOTHING
			RETURNING version, created_at, updated_at`),
		updateServiceFenced: d.expand(svcUpdate + `AND ` + fenced + `
			RETURNING version, created_at, updated_at`),
		getService:    d.expand(`SELECT ` + svcCols + ` FROM ispkit_services WHERE id = ?`),
		existsService: d.expand(`SELECT 1 FROM ispkit_services WHERE id = ?`),
	}
}

// pgOnly expands a PostgreSQL-only statement ("" on SQLite).
func pgOnly(d Dialect, q string) string {
	if d != Postgres {
		return ""
	}
	return d.expand(q)
}

// encodeMap stores a map as JSON text ("null" for a nil map, so nil and
// empty maps round-trip as they were).
func encodeMap(m map[string]string) (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeMap(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("sqlstore: decode map: %w", err)
	}
	return m, nil
}

// encodeRaw stores an operation's Input or Data (JSON) as text: "null"
// when empty, so that nil round-trips; anything else must be valid JSON.
func encodeRaw(field string, raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "null", nil
	}
	if !json.Valid(raw) {
		return "", fmt.Errorf("sqlstore: operation %s is not valid JSON", field)
	}
	return string(raw), nil
}

func decodeRaw(s string) json.RawMessage {
	if s == "null" || s == "" {
		return nil
	}
	return json.RawMessage(s)
}

type scanner interface{ Scan(dest ...any) error }

func scanOp(r scanner) (*provision.Operation, error) {
	var (
		op          provision.Operation
		kind, state string
		input, data string
	)
	err := r.Scan(&op.ID, &op.ServiceID, &kind, &state, &op.Step, &input, &data, &op.Error,
		&op.Attempts, &op.Worker, dbTime{&op.LeaseUntil}, &op.Version,
		dbTime{&op.CreatedAt}, dbTime{&op.UpdatedAt})
	if err != nil {
		return nil, err
	}
	op.Kind = provision.OperationKind(kind)
	op.State = provision.OperationState(state)
	op.Input, op.Data = decodeRaw(input), decodeRaw(data)
	return &op, nil
}

func newID() string { return strings.ToLower(rand.Text()) }

func leaseMicros(lease time.Duration) (int64, error) {
	if lease <= 0 {
		return 0, fmt.Errorf("sqlstore: lease must be positive, got %v", lease)
	}
	return max(lease.Microseconds(), 1), nil
}

// CreateOperation stores a new operation as given (State, Worker,
// LeaseUntil and Attempts included, so a caller may create an operation
// already leased to itself). An empty ID gets a random one and an empty
// State becomes StatePending; the stored ID, State, Version (1) and
// timestamps (CreatedAt = UpdatedAt = now) are set on op. A duplicate ID
// fails with ErrExists; an unfinished operation for a service that has one
// already fails with ErrBusy (a unique index on the unfinished operations'
// service id decides, so concurrent creates in several processes cannot
// both succeed).
func (s *Store) CreateOperation(ctx context.Context, op *provision.Operation) error {
	if op == nil {
		return errors.New("sqlstore: CreateOperation: nil operation")
	}
	id := op.ID
	if id == "" {
		id = newID()
	}
	state := op.State
	if state == "" {
		state = provision.StatePending
	}
	input, err := encodeRaw("Input", op.Input)
	if err != nil {
		return fmt.Errorf("sqlstore: CreateOperation %s: %w", id, err)
	}
	data, err := encodeRaw("Data", op.Data)
	if err != nil {
		return fmt.Errorf("sqlstore: CreateOperation %s: %w", id, err)
	}
	var (
		version          int64
		created, updated time.Time
		exists           bool
		busyID, busyKind string
	)
	w := &pgWrite{kind: pgCreateOp, key: id, dest: []any{&version, dbTime{&created}, dbTime{&updated}},
		cols: []string{id, op.ServiceID, string(op.Kind), string(state), op.Step, input, data, op.Error,
			pgInt(op.Attempts), op.Worker, pgTime(op.LeaseUntil)}}
	w.single = func(q querier) error {
		// It may run twice (SQLite reruns a rolled-back batch): the
		// outcome is this run's alone.
		exists, busyID, busyKind = false, "", ""
		err := q.QueryRowContext(ctx, s.q.createOp,
			id, op.ServiceID, string(op.Kind), string(state), op.Step, input, data, op.Error,
			op.Attempts, op.Worker, s.timeArg(op.LeaseUntil),
			s.nowArg(), s.nowArg(),
		).Scan(&version, dbTime{&created}, dbTime{&updated})
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Nothing inserted: the id exists, or the service is busy.
		var one int
		switch err := q.QueryRowContext(ctx, s.q.existsOp, id).Scan(&one); {
		case err == nil:
			exists = true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		err = q.QueryRowContext(ctx, s.q.serviceBusy, op.ServiceID).Scan(&busyID, &busyKind)
		if errors.Is(err, sql.ErrNoRows) {
			// The other operation finished in between: report busy all
			// the same (the caller may retry).
			return nil
		}
		return err
	}
	err = s.runWrite(ctx, w)
	switch {
	case err != nil:
	case exists:
		return fmt.Errorf("sqlstore: operation %s: %w", id, provision.ErrExists)
	case version == 0:
		return fmt.Errorf("sqlstore: service %s: %s operation %s: %w", op.ServiceID, busyKind, busyID, provision.ErrBusy)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: CreateOperation %s: %w", id, err)
	}
	op.ID, op.State, op.Version, op.CreatedAt, op.UpdatedAt = id, state, version, created, updated
	op.LeaseUntil = truncLease(op.LeaseUntil)
	return nil
}

// truncLease matches the stored precision (microseconds, UTC).
func truncLease(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Microsecond).UTC()
}

// GetOperation returns a copy of the operation, or ErrNotFound.
func (s *Store) GetOperation(ctx context.Context, id string) (*provision.Operation, error) {
	var op *provision.Operation
	err := s.run(ctx, false, func(q querier) error {
		var err error
		op, err = scanOp(q.QueryRowContext(ctx, s.q.getOp, id))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: operation %s: %w", id, provision.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: GetOperation %s: %w", id, err)
	}
	return op, nil
}

// UpdateOperation stores op if op.Version equals the stored version, then
// sets the new Version (and UpdatedAt) on op. It writes ServiceID, Kind,
// State, Step, Input, Data and Error; the lease (Worker, LeaseUntil) and
// Attempts are changed only by ClaimOperation, RenewLease and ReleaseLease,
// and their stored values are copied back into op. A stale version returns
// ErrConflict and changes nothing; an op whose Attempts (the fencing token)
// is not the stored one comes from an older claim and returns ErrLeaseLost
// (and ErrConflict); an unknown id returns ErrNotFound.
//
// Concurrent calls are committed together (group commit, [WithMaxBatch]),
// each with its own version and fencing check and its own result; a call
// returns once the commit carrying it has returned. If ctx ends while the
// call still waits for a commit, nothing is written and the context's
// error is returned.
func (s *Store) UpdateOperation(ctx context.Context, op *provision.Operation) error {
	if op == nil {
		return errors.New("sqlstore: UpdateOperation: nil operation")
	}
	input, err := encodeRaw("Input", op.Input)
	if err != nil {
		return fmt.Errorf("sqlstore: UpdateOperation %s: %w", op.ID, err)
	}
	data, err := encodeRaw("Data", op.Data)
	if err != nil {
		return fmt.Errorf("sqlstore: UpdateOperation %s: %w", op.ID, err)
	}
	u := &opUpdate{ctx: ctx, id: op.ID, serviceID: op.ServiceID, kind: string(op.Kind), state: string(op.State),
		step: op.Step, input: input, data: data, errText: op.Error, version: op.Version, attempts: op.Attempts}
	s.submit(u)
	r := u.res
	switch {
	case u.err != nil:
		return fmt.Errorf("sqlstore: UpdateOperation %s: %w", op.ID, u.err)
	case r.missing:
		return fmt.Errorf("sqlstore: operation %s: %w", op.ID, provision.ErrNotFound)
	case r.stale:
		return fmt.Errorf("sqlstore: operation %s (claim %d, stored %d): %w, %w", op.ID, op.Attempts, r.storedAttempts, provision.ErrLeaseLost, provision.ErrConflict)
	case r.noMatch:
		return fmt.Errorf("sqlstore: operation %s version %d: %w", op.ID, op.Version, provision.ErrConflict)
	}
	op.Attempts, op.Worker, op.LeaseUntil = r.attempts, r.worker, r.lease
	op.Version, op.CreatedAt, op.UpdatedAt = r.version, r.cre, r.upd
	return nil
}

// ListOperations returns copies of the operations matching f, oldest first.
func (s *Store) ListOperations(ctx context.Context, f provision.OperationFilter) ([]*provision.Operation, error) {
	var (
		where []string
		args  []any
	)
	if f.ServiceID != "" {
		where = append(where, "service_id = ?")
		args = append(args, f.ServiceID)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if len(f.Kinds) > 0 {
		where = append(where, "kind IN ("+placeholders(len(f.Kinds))+")")
		for _, k := range f.Kinds {
			args = append(args, string(k))
		}
	}
	query := `SELECT ` + opCols + ` FROM ispkit_operations`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query = s.dialect.expand(query + ` ORDER BY created_at, seq`)
	ops, err := queryAll(ctx, s, query, args, scanOp)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: ListOperations: %w", err)
	}
	return ops, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// ClaimOperation takes the oldest unfinished operation whose lease is free
// or expired: it sets Worker, LeaseUntil = now+lease (the database's clock
// on PostgreSQL), State = running, Attempts+1 and Version+1, and returns a
// copy. It returns ErrNoWork when nothing is claimable.
func (s *Store) ClaimOperation(ctx context.Context, worker string, lease time.Duration) (*provision.Operation, error) {
	if worker == "" {
		return nil, errors.New("sqlstore: ClaimOperation: empty worker name")
	}
	us, err := leaseMicros(lease)
	if err != nil {
		return nil, err
	}
	var op *provision.Operation
	err = s.run(ctx, true, func(q querier) error {
		now := s.nowArg()
		var err error
		op, err = scanOp(q.QueryRowContext(ctx, s.q.claimOp, now, worker, now, us, now))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, provision.ErrNoWork
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: ClaimOperation: %w", err)
	}
	return op, nil
}

// RenewLease sets the lease of opID to now+lease if worker holds the claim
// whose fencing token (Attempts) is token and the operation is unfinished
// (also when the lease has expired but nobody has claimed the operation
// since). It returns ErrLeaseLost otherwise and ErrNotFound for an unknown
// id. It changes neither Version nor UpdatedAt, so the holder's copy stays
// valid for its next UpdateOperation.
func (s *Store) RenewLease(ctx context.Context, opID, worker string, token int, lease time.Duration) error {
	us, err := leaseMicros(lease)
	if err != nil {
		return err
	}
	return s.leaseChange(ctx, "RenewLease", opID, worker, nil, s.q.renewLease, s.nowArg(), us, opID, worker, token)
}

// ReleaseLease clears the lease of opID (Worker and LeaseUntil) if worker
// holds the claim whose fencing token is token, so any worker may claim
// the operation at once if it is unfinished. Like RenewLease it returns
// ErrLeaseLost or ErrNotFound and leaves Version unchanged.
func (s *Store) ReleaseLease(ctx context.Context, opID, worker string, token int) error {
	batched := &pgWrite{kind: pgReleaseLease, cols: []string{opID, worker, pgInt(token)}}
	return s.leaseChange(ctx, "ReleaseLease", opID, worker, batched, s.q.releaseLease, opID, worker, token)
}

// leaseChange runs query, a change of opID's lease held by worker. w, when
// not nil, is the change as a batched PostgreSQL write (its kind and
// columns); without it the change runs on its own.
func (s *Store) leaseChange(ctx context.Context, name, opID, worker string, w *pgWrite, query string, args ...any) error {
	var missing, lost bool
	if w == nil {
		w = &pgWrite{}
	}
	w.key = opID
	w.single = func(q querier) error {
		missing, lost = false, false // this run's outcome alone
		res, err := q.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
		lost = true
		var one int
		if err := q.QueryRowContext(ctx, s.q.existsOp, opID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			missing = true
		} else if err != nil {
			return err
		}
		return nil
	}
	err := s.runWrite(ctx, w)
	switch {
	case err != nil:
		return fmt.Errorf("sqlstore: %s %s: %w", name, opID, err)
	case missing:
		return fmt.Errorf("sqlstore: operation %s: %w", opID, provision.ErrNotFound)
	case lost:
		return fmt.Errorf("sqlstore: operation %s, worker %q: %w", opID, worker, provision.ErrLeaseLost)
	}
	return nil
}
