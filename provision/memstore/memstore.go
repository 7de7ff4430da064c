// Package memstore is an in-memory [provision.Store] for tests, examples and
// single-process deployments that can afford to lose their state on exit.
//
// It implements every rule of the Store contract: returned values are deep
// copies, updates are version-checked (optimistic concurrency), reservations
// are unique per (backend, server id) and taken atomically, a service has
// at most one unfinished operation, and operations are claimed with leases
// that expire on the store's clock and carry a fencing token (Attempts):
// the holder of an older claim can neither renew, release nor update. The clock is
// injectable with [WithClock] so tests can expire leases without sleeping.
//
// One mutex guards everything; the store is safe for concurrent use by any
// number of engines in one process. It is not durable across a process
// restart: use provision/sqlstore for that.
package memstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ispkit/ispkit/provision"
)

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read the time from now (lease expiry, CreatedAt,
// UpdatedAt). The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// Store is the in-memory provision.Store. Create it with New; the zero value
// is not usable.
type Store struct {
	mu       sync.Mutex
	now      func() time.Time
	ops      map[string]*provision.Operation
	seq      map[string]uint64 // creation order of operations (ties in CreatedAt)
	next     uint64
	reserved map[resKey]provision.Reservation
	services map[string]*provision.Service
	// open maps a service id to its unfinished operation's id.
	open   map[string]string
	claims claimIndex
}

type resKey struct{ backend, server string }

var _ provision.FencedStore = (*Store)(nil)

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		now:      time.Now,
		ops:      make(map[string]*provision.Operation),
		seq:      make(map[string]uint64),
		reserved: make(map[resKey]provision.Reservation),
		services: make(map[string]*provision.Service),
		open:     make(map[string]string),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	return nil
}

// CreateOperation stores a copy of op as given (State, Worker, LeaseUntil
// and Attempts included; an empty State becomes pending). It sets Version
// to 1 and CreatedAt/UpdatedAt on op; an empty ID gets a random one. A
// duplicate ID is ErrExists; an unfinished operation for a service that
// has one already is ErrBusy.
func (s *Store) CreateOperation(ctx context.Context, op *provision.Operation) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if op == nil {
		return fmt.Errorf("memstore: nil operation")
	}
	if op.ID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		op.ID = hex.EncodeToString(b[:])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ops[op.ID]; ok {
		return fmt.Errorf("memstore: operation %q: %w", op.ID, provision.ErrExists)
	}
	state := op.State
	if state == "" {
		state = provision.StatePending
	}
	if !state.Finished() {
		if busy := s.unfinished(op.ServiceID, ""); busy != nil {
			return fmt.Errorf("memstore: service %q: %s operation %q: %w", op.ServiceID, busy.Kind, busy.ID, provision.ErrBusy)
		}
	}
	now := s.now()
	op.State = state
	op.Version = 1
	op.CreatedAt, op.UpdatedAt = now, now
	c := op.Clone()
	s.ops[op.ID] = c
	s.track(op)
	s.next++
	s.seq[op.ID] = s.next
	s.note(c)
	return nil
}

// unfinished returns the unfinished operation of the service unless it is
// except (nil when none). The caller holds s.mu.
func (s *Store) unfinished(serviceID, except string) *provision.Operation {
	id, ok := s.open[serviceID]
	if !ok || id == except {
		return nil
	}
	return s.ops[id]
}

// track records op as its service's unfinished operation, or forgets it
// when finished. The caller holds s.mu.
func (s *Store) track(op *provision.Operation) {
	if !op.State.Finished() {
		s.open[op.ServiceID] = op.ID
	} else if s.open[op.ServiceID] == op.ID {
		delete(s.open, op.ServiceID)
	}
}

// GetOperation returns a copy of the operation.
func (s *Store) GetOperation(ctx context.Context, id string) (*provision.Operation, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op, ok := s.ops[id]
	if !ok {
		return nil, fmt.Errorf("memstore: operation %q: %w", id, provision.ErrNotFound)
	}
	return op.Clone(), nil
}

// UpdateOperation replaces the operation when op.Version equals the stored
// version; it then stores Version+1 and sets Version and UpdatedAt on op.
// The lease (Worker, LeaseUntil) and Attempts are kept as stored and set
// on op. An op whose Attempts differs from the stored one comes from an
// older claim: ErrLeaseLost (and ErrConflict).
func (s *Store) UpdateOperation(ctx context.Context, op *provision.Operation) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.ops[op.ID]
	if !ok {
		return fmt.Errorf("memstore: operation %q: %w", op.ID, provision.ErrNotFound)
	}
	if cur.Attempts != op.Attempts {
		return fmt.Errorf("memstore: operation %q (claim %d, stored %d): %w, %w", op.ID, op.Attempts, cur.Attempts, provision.ErrLeaseLost, provision.ErrConflict)
	}
	if cur.Version != op.Version {
		return fmt.Errorf("memstore: operation %q (version %d, stored %d): %w", op.ID, op.Version, cur.Version, provision.ErrConflict)
	}
	state := op.State
	if state == "" {
		state = provision.StatePending
	}
	if !state.Finished() && (op.ServiceID != cur.ServiceID || cur.State.Finished()) {
		if busy := s.unfinished(op.ServiceID, op.ID); busy != nil {
			return fmt.Errorf("memstore: service %q: %s operation %q: %w", op.ServiceID, busy.Kind, busy.ID, provision.ErrBusy)
		}
	}
	c := op.Clone()
	c.State = state
	c.Worker, c.LeaseUntil = cur.Worker, cur.LeaseUntil
	if state.Finished() {
		// The lease ends with the operation (no ReleaseLease needed).
		c.Worker, c.LeaseUntil = "", time.Time{}
	}
	c.Version = cur.Version + 1
	c.CreatedAt = cur.CreatedAt
	c.UpdatedAt = s.now()
	s.ops[op.ID] = c
	if cur.ServiceID != c.ServiceID && s.open[cur.ServiceID] == c.ID {
		delete(s.open, cur.ServiceID)
	}
	s.track(c)
	s.note(c)
	op.State, op.Worker, op.LeaseUntil = c.State, c.Worker, c.LeaseUntil
	op.Version, op.UpdatedAt, op.CreatedAt = c.Version, c.UpdatedAt, c.CreatedAt
	return nil
}

// ListOperations returns copies of the matching operations, oldest first.
func (s *Store) ListOperations(ctx context.Context, f provision.OperationFilter) ([]*provision.Operation, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*provision.Operation
	for _, op := range s.ops {
		if f.ServiceID != "" && op.ServiceID != f.ServiceID {
			continue
		}
		if len(f.States) > 0 && !slices.Contains(f.States, op.State) {
			continue
		}
		if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, op.Kind) {
			continue
		}
		out = append(out, op.Clone())
	}
	s.sortOps(out)
	return out, nil
}

func (s *Store) sortOps(ops []*provision.Operation) {
	slices.SortFunc(ops, func(a, b *provision.Operation) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(s.seq[a.ID], s.seq[b.ID]))
	})
}

// ClaimOperation picks the oldest unfinished operation whose lease is free
// or expired, leases it to worker for lease and returns a copy; ErrNoWork
// when there is none. It does not scan the operations: an index keeps the
// unheld ones oldest first and the held ones by lease end.
func (s *Store) ClaimOperation(ctx context.Context, worker string, lease time.Duration) (*provision.Operation, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	best := s.oldestClaimable(now)
	if best == nil {
		return nil, provision.ErrNoWork
	}
	best.Worker = worker
	best.LeaseUntil = now.Add(lease)
	best.State = provision.StateRunning
	best.Attempts++
	best.Version++
	best.UpdatedAt = now
	s.claimed(best)
	return best.Clone(), nil
}

// RenewLease extends the lease of opID to now+lease when worker holds the
// claim whose fencing token (Attempts) is token, also when the lease has
// expired but nobody claimed the operation since. It does not change
// Version: a lease is not part of the operation's data.
func (s *Store) RenewLease(ctx context.Context, opID, worker string, token int, lease time.Duration) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op, ok := s.ops[opID]
	if !ok {
		return fmt.Errorf("memstore: operation %q: %w", opID, provision.ErrNotFound)
	}
	if op.Worker == "" || op.Worker != worker || op.Attempts != token || op.State.Finished() {
		return fmt.Errorf("memstore: operation %q, worker %q, claim %d: %w", opID, worker, token, provision.ErrLeaseLost)
	}
	op.LeaseUntil = s.now().Add(lease)
	s.note(op)
	return nil
}

// ReleaseLease clears the lease of opID when worker holds the claim whose
// fencing token is token (ErrLeaseLost otherwise). It does not change
// Version.
func (s *Store) ReleaseLease(ctx context.Context, opID, worker string, token int) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op, ok := s.ops[opID]
	if !ok {
		return fmt.Errorf("memstore: operation %q: %w", opID, provision.ErrNotFound)
	}
	if op.Worker == "" || op.Worker != worker || op.Attempts != token {
		return fmt.Errorf("memstore: operation %q, worker %q, claim %d: %w", opID, worker, token, provision.ErrLeaseLost)
	}
	op.Worker = ""
	op.LeaseUntil = time.Time{}
	s.note(op)
	return nil
}

// Reserve takes the server for r.OperationID, atomically: it succeeds when
// the server is free or already reserved by the same operation, and returns
// ErrReserved otherwise.
func (s *Store) Reserve(ctx context.Context, r provision.Reservation) error {
	return s.reserve(ctx, nil, r)
}

func (s *Store) reserve(ctx context.Context, f *provision.Fence, r provision.Reservation) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if r.Backend == "" || r.ServerID == "" || r.OperationID == "" {
		return fmt.Errorf("memstore: reservation needs Backend, ServerID and OperationID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fenced(f); err != nil {
		return err
	}
	k := resKey{r.Backend, r.ServerID}
	if cur, ok := s.reserved[k]; ok {
		if cur.OperationID == r.OperationID {
			return nil
		}
		return fmt.Errorf("memstore: server %s/%s held by operation %q: %w", r.Backend, r.ServerID, cur.OperationID, provision.ErrReserved)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	s.reserved[k] = r
	return nil
}

// ReserveFenced is Reserve made only while f's claim is the operation's
// current one (ErrLeaseLost otherwise); see provision.FencedStore.
func (s *Store) ReserveFenced(ctx context.Context, f provision.Fence, r provision.Reservation) error {
	return s.reserve(ctx, &f, r)
}

// UnreserveFenced is Unreserve made only while f's claim is the
// operation's current one (ErrLeaseLost otherwise); see
// provision.FencedStore.
func (s *Store) UnreserveFenced(ctx context.Context, f provision.Fence, backend, serverID, operationID string) error {
	return s.unreserve(ctx, &f, backend, serverID, operationID)
}

// fenced checks f (nil: no fence) under s.mu.
func (s *Store) fenced(f *provision.Fence) error {
	if f == nil {
		return nil
	}
	op, ok := s.ops[f.OperationID]
	if !ok || op.Worker == "" || op.Worker != f.Worker || op.Attempts != f.Token || op.State.Finished() {
		return fmt.Errorf("memstore: operation %q, worker %q, claim %d: %w", f.OperationID, f.Worker, f.Token, provision.ErrLeaseLost)
	}
	return nil
}

// Unreserve removes the reservation held by operationID; no-op when there
// is none, ErrReserved when another operation holds it.
func (s *Store) Unreserve(ctx context.Context, backend, serverID, operationID string) error {
	return s.unreserve(ctx, nil, backend, serverID, operationID)
}

func (s *Store) unreserve(ctx context.Context, f *provision.Fence, backend, serverID, operationID string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fenced(f); err != nil {
		return err
	}
	k := resKey{backend, serverID}
	cur, ok := s.reserved[k]
	if !ok {
		return nil
	}
	if cur.OperationID != operationID {
		return fmt.Errorf("memstore: server %s/%s held by operation %q: %w", backend, serverID, cur.OperationID, provision.ErrReserved)
	}
	delete(s.reserved, k)
	return nil
}

// Reservations lists the reservations of backend (all backends when
// backend is empty), ordered by server id.
func (s *Store) Reservations(ctx context.Context, backend string) ([]provision.Reservation, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []provision.Reservation
	for k, r := range s.reserved {
		if backend == "" || k.backend == backend {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b provision.Reservation) int {
		return cmp.Or(cmp.Compare(a.Backend, b.Backend), cmp.Compare(a.ServerID, b.ServerID))
	})
	return out, nil
}

// PutService creates (Version 0) or updates (Version equal to the stored
// one) a service; it sets Version, CreatedAt and UpdatedAt on s.
func (s *Store) PutService(ctx context.Context, svc *provision.Service) error {
	return s.putService(ctx, nil, svc)
}

// PutServiceFenced is PutService made only while f's claim is the
// operation's current one (ErrLeaseLost otherwise); see
// provision.FencedStore.
func (s *Store) PutServiceFenced(ctx context.Context, f provision.Fence, svc *provision.Service) error {
	return s.putService(ctx, &f, svc)
}

func (s *Store) putService(ctx context.Context, f *provision.Fence, svc *provision.Service) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if svc == nil || svc.ID == "" {
		return fmt.Errorf("memstore: service id is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fenced(f); err != nil {
		return err
	}
	now := s.now()
	cur, ok := s.services[svc.ID]
	switch {
	case svc.Version == 0 && ok:
		return fmt.Errorf("memstore: service %q: %w", svc.ID, provision.ErrExists)
	case svc.Version == 0:
		svc.CreatedAt = now
	case !ok:
		return fmt.Errorf("memstore: service %q: %w", svc.ID, provision.ErrNotFound)
	case cur.Version != svc.Version:
		return fmt.Errorf("memstore: service %q (version %d, stored %d): %w", svc.ID, svc.Version, cur.Version, provision.ErrConflict)
	default:
		svc.CreatedAt = cur.CreatedAt
	}
	svc.Version++
	svc.UpdatedAt = now
	s.services[svc.ID] = svc.Clone()
	return nil
}

// GetService returns a copy of the service.
func (s *Store) GetService(ctx context.Context, id string) (*provision.Service, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, ok := s.services[id]
	if !ok {
		return nil, fmt.Errorf("memstore: service %q: %w", id, provision.ErrNotFound)
	}
	return svc.Clone(), nil
}

// ListServices returns copies of the matching services ordered by id.
func (s *Store) ListServices(ctx context.Context, f provision.ServiceFilter) ([]*provision.Service, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*provision.Service
	for _, svc := range s.services {
		if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, svc.Status) {
			continue
		}
		if f.Module != "" && svc.Module != f.Module {
			continue
		}
		if f.Owner != "" && svc.Owner != f.Owner {
			continue
		}
		out = append(out, svc.Clone())
	}
	slices.SortFunc(out, func(a, b *provision.Service) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
