package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
)

// Reserve records that r.OperationID holds server (r.Backend, r.ServerID).
// The primary key on (backend, server_id) decides between concurrent
// callers (an INSERT ... ON CONFLICT DO NOTHING, never check-then-insert).
// It succeeds when the server is free or already held by r.OperationID
// (the existing reservation is kept as it is) and returns ErrReserved when
// another operation holds it.
func (s *Store) Reserve(ctx context.Context, r provision.Reservation) error {
	return s.reserve(ctx, nil, r)
}

// ReserveFenced is Reserve made only while f's claim is the operation's
// current one, in the same statement as the write: it returns ErrLeaseLost
// and writes nothing otherwise. On PostgreSQL the statement holds the
// operation's row FOR SHARE, so a claim committing meanwhile waits for it
// or makes it fail. See provision.FencedStore.
func (s *Store) ReserveFenced(ctx context.Context, f provision.Fence, r provision.Reservation) error {
	return s.reserve(ctx, &f, r)
}

// reserve is Reserve, fenced by f unless f is nil.
func (s *Store) reserve(ctx context.Context, f *provision.Fence, r provision.Reservation) error {
	if r.Backend == "" || r.ServerID == "" || r.OperationID == "" {
		return errors.New("sqlstore: Reserve: Backend, ServerID and OperationID are required")
	}
	var (
		holder string
		lost   bool
	)
	w := &pgWrite{kind: pgReserve, key: r.Backend + "\x01" + r.ServerID,
		cols: []string{r.Backend, r.ServerID, r.OperationID, r.ServiceID, pgTime(r.CreatedAt)}}
	query, args := s.q.reserve, []any{r.Backend, r.ServerID, r.OperationID, r.ServiceID, s.createdArg(r.CreatedAt)}
	if f != nil {
		w.kind = pgReserveFenced
		w.cols = append(w.cols, f.OperationID, f.Worker, pgInt(f.Token))
		query, args = s.q.reserveFenced, append(args, f.OperationID, f.Worker, f.Token)
	}
	w.single = func(q querier) error {
		holder, lost = "", false // this run's outcome alone
		// A holder may unreserve between our INSERT and SELECT; then the
		// server is free again and we try once more.
		for range 10 {
			res, err := q.ExecContext(ctx, query, args...)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				holder = r.OperationID
				return nil
			}
			// Nothing written: first whether the fence failed (a failed
			// fence never holds again).
			if lost, err = s.fenceLost(ctx, q, f); err != nil || lost {
				return err
			}
			err = q.QueryRowContext(ctx, s.q.reservationHolder, r.Backend, r.ServerID).Scan(&holder)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			return err
		}
		return errors.New("reservation keeps changing")
	}
	err := s.runWrite(ctx, w)
	if err == nil && holder == "" && !lost {
		holder = r.OperationID // reserved by the batch statement
	}
	switch {
	case err != nil:
		return fmt.Errorf("sqlstore: Reserve %s/%s: %w", r.Backend, r.ServerID, err)
	case lost:
		return fenceError("Reserve", *f)
	case holder != r.OperationID:
		return fmt.Errorf("sqlstore: server %s/%s held by operation %s: %w", r.Backend, r.ServerID, holder, provision.ErrReserved)
	}
	return nil
}

// fenceLost reports whether f's claim is no longer the operation's
// current one (or the operation is finished or gone); never for a nil f
// (an unfenced write).
func (s *Store) fenceLost(ctx context.Context, q querier, f *provision.Fence) (bool, error) {
	if f == nil {
		return false, nil
	}
	var one int
	err := q.QueryRowContext(ctx, s.q.fence, f.OperationID, f.Worker, f.Token).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	return false, err
}

func fenceError(call string, f provision.Fence) error {
	return fmt.Errorf("sqlstore: %s under operation %s, worker %q, claim %d: %w", call, f.OperationID, f.Worker, f.Token, provision.ErrLeaseLost)
}

// Unreserve removes the reservation of (backend, serverID) held by
// operationID. It is a no-op when the server is not reserved and returns
// ErrReserved (changing nothing) when another operation holds it.
func (s *Store) Unreserve(ctx context.Context, backend, serverID, operationID string) error {
	return s.unreserve(ctx, nil, backend, serverID, operationID)
}

// UnreserveFenced is Unreserve made only while f's claim is the
// operation's current one, in the same statement as the write (ErrLeaseLost
// otherwise). See ReserveFenced and provision.FencedStore.
func (s *Store) UnreserveFenced(ctx context.Context, f provision.Fence, backend, serverID, operationID string) error {
	return s.unreserve(ctx, &f, backend, serverID, operationID)
}

// unreserve is Unreserve, fenced by f unless f is nil.
func (s *Store) unreserve(ctx context.Context, f *provision.Fence, backend, serverID, operationID string) error {
	var (
		holder string
		lost   bool
	)
	query, args := s.q.unreserve, []any{backend, serverID, operationID}
	if f != nil {
		query, args = s.q.unreserveFenced, append(args, f.OperationID, f.Worker, f.Token)
	}
	err := s.run(ctx, true, func(q querier) error {
		holder, lost = "", false // this run's outcome alone
		res, err := q.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		if lost, err = s.fenceLost(ctx, q, f); err != nil || lost {
			return err
		}
		err = q.QueryRowContext(ctx, s.q.reservationHolder, backend, serverID).Scan(&holder)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("sqlstore: Unreserve %s/%s: %w", backend, serverID, err)
	case lost:
		return fenceError("Unreserve", *f)
	case holder != "" && holder != operationID:
		return fmt.Errorf("sqlstore: server %s/%s held by operation %s: %w", backend, serverID, holder, provision.ErrReserved)
	}
	return nil
}

// Reservations lists the reservations of one backend (all backends for
// ""), oldest first.
func (s *Store) Reservations(ctx context.Context, backend string) ([]provision.Reservation, error) {
	query := `SELECT backend, server_id, operation_id, service_id, created_at FROM ispkit_reservations`
	var args []any
	if backend != "" {
		query += ` WHERE backend = ?`
		args = append(args, backend)
	}
	query = s.dialect.expand(query + ` ORDER BY created_at, backend, server_id`)
	out, err := queryAll(ctx, s, query, args, func(r scanner) (provision.Reservation, error) {
		var res provision.Reservation
		err := r.Scan(&res.Backend, &res.ServerID, &res.OperationID, &res.ServiceID, dbTime{&res.CreatedAt})
		return res, err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: Reservations: %w", err)
	}
	return out, nil
}

// PutService creates (Version 0; ErrExists when the id is taken) or updates
// (Version equal to the stored one; ErrConflict otherwise, ErrNotFound for
// an unknown id) a service, then sets the new Version and timestamps on sv.
func (s *Store) PutService(ctx context.Context, sv *provision.Service) error {
	return s.putService(ctx, nil, sv)
}

// PutServiceFenced is PutService made only while f's claim is the
// operation's current one, in the same statement as the write: it returns
// ErrLeaseLost and changes nothing otherwise. See ReserveFenced and
// provision.FencedStore.
func (s *Store) PutServiceFenced(ctx context.Context, f provision.Fence, sv *provision.Service) error {
	return s.putService(ctx, &f, sv)
}

// putService is PutService, fenced by f unless f is nil.
func (s *Store) putService(ctx context.Context, f *provision.Fence, sv *provision.Service) error {
	if sv == nil {
		return errors.New("sqlstore: PutService: nil service")
	}
	if sv.ID == "" {
		return errors.New("sqlstore: PutService: empty service id")
	}
	props, err := encodeMap(sv.Properties)
	if err != nil {
		return fmt.Errorf("sqlstore: PutService %s: %w", sv.ID, err)
	}
	var (
		version             int64
		created, upd        time.Time
		missing, none, lost bool
	)
	w := &pgWrite{key: sv.ID, dest: []any{&version, dbTime{&created}, dbTime{&upd}},
		cols: []string{sv.ID, string(sv.Kind), pgInt(sv.TariffID), pgInt(sv.AccountID), sv.Owner, sv.Module,
			string(sv.Status), props, sv.Error}}
	var query string
	var args []any
	switch {
	case sv.Version == 0:
		w.kind, query = pgInsertService, s.q.insertService
		args = []any{sv.ID, string(sv.Kind), sv.TariffID, sv.AccountID, sv.Owner, sv.Module, string(sv.Status),
			props, sv.Error, s.nowArg(), s.nowArg()}
	default:
		w.kind, query = pgUpdateService, s.q.updateService
		w.cols = append(w.cols, pgInt(sv.Version))
		args = []any{string(sv.Kind), sv.TariffID, sv.AccountID, sv.Owner, sv.Module, string(sv.Status),
			props, sv.Error, s.nowArg(), sv.ID, sv.Version}
	}
	if f != nil {
		args = append(args, f.OperationID, f.Worker, f.Token)
		if sv.Version == 0 {
			// A run updates the service its operation was made for; a
			// fenced create is rare and runs on its own.
			w.kind, query = nil, s.q.insertServiceFenced
		} else {
			w.kind, query = pgUpdateServiceFenced, s.q.updateServiceFenced
			w.cols = append(w.cols, f.OperationID, f.Worker, pgInt(f.Token))
		}
	}
	w.single = func(q querier) error {
		none, missing, lost = false, false, false // this run's outcome alone
		err := q.QueryRowContext(ctx, query, args...).Scan(&version, dbTime{&created}, dbTime{&upd})
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		none = true
		if lost, err = s.fenceLost(ctx, q, f); err != nil || lost {
			return err
		}
		if sv.Version != 0 {
			var one int
			if err := q.QueryRowContext(ctx, s.q.existsService, sv.ID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				missing = true
			} else if err != nil {
				return err
			}
		}
		return nil
	}
	err = s.runWrite(ctx, w)
	switch {
	case err != nil:
		return fmt.Errorf("sqlstore: PutService %s: %w", sv.ID, err)
	case lost:
		return fenceError("PutService "+sv.ID, *f)
	case none && sv.Version == 0:
		return fmt.Errorf("sqlstore: service %s: %w", sv.ID, provision.ErrExists)
	case missing:
		return fmt.Errorf("sqlstore: service %s: %w", sv.ID, provision.ErrNotFound)
	case none:
		return fmt.Errorf("sqlstore: service %s version %d: %w", sv.ID, sv.Version, provision.ErrConflict)
	}
	sv.Version, sv.CreatedAt, sv.UpdatedAt = version, created, upd
	return nil
}

func scanService(r scanner) (*provision.Service, error) {
	var (
		sv           provision.Service
		kind, status string
		props        string
	)
	err := r.Scan(&sv.ID, &kind, &sv.TariffID, &sv.AccountID, &sv.Owner, &sv.Module, &status,
		&props, &sv.Error, &sv.Version, dbTime{&sv.CreatedAt}, dbTime{&sv.UpdatedAt})
	if err != nil {
		return nil, err
	}
	sv.Kind = provision.ServiceKind(kind)
	sv.Status = billing.Status(status)
	if sv.Properties, err = decodeMap(props); err != nil {
		return nil, err
	}
	return &sv, nil
}

// GetService returns a copy of the service, or ErrNotFound.
func (s *Store) GetService(ctx context.Context, id string) (*provision.Service, error) {
	var sv *provision.Service
	err := s.run(ctx, false, func(q querier) error {
		var err error
		sv, err = scanService(q.QueryRowContext(ctx, s.q.getService, id))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: service %s: %w", id, provision.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: GetService %s: %w", id, err)
	}
	return sv, nil
}

// ListServices returns copies of the services matching f, ordered by id.
func (s *Store) ListServices(ctx context.Context, f provision.ServiceFilter) ([]*provision.Service, error) {
	var (
		where []string
		args  []any
	)
	if len(f.Statuses) > 0 {
		where = append(where, "status IN ("+placeholders(len(f.Statuses))+")")
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	}
	if f.Module != "" {
		where = append(where, "module = ?")
		args = append(args, f.Module)
	}
	if f.Owner != "" {
		where = append(where, "owner = ?")
		args = append(args, f.Owner)
	}
	query := `SELECT ` + svcCols + ` FROM ispkit_services`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query = s.dialect.expand(query + ` ORDER BY id`)
	out, err := queryAll(ctx, s, query, args, scanService)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: ListServices: %w", err)
	}
	return out, nil
}
