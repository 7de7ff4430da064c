package storetest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/storetest"
)

// TestReference runs the suite against refStore, a deliberately simple
// implementation of the contract, to check the suite itself.
func TestReference(t *testing.T) {
	storetest.Run(t, func(*testing.T) provision.Store { return newRef() })
}

// bugs are deliberate contract violations the suite must notice.
var bugs = map[string]func(*refStore){
	"no version check":           func(s *refStore) { s.noVersionCheck = true },
	"shared maps":                func(s *refStore) { s.sharedMaps = true },
	"claims finished":            func(s *refStore) { s.claimFinished = true },
	"renew bumps version":        func(s *refStore) { s.renewBumps = true },
	"reserve steals":             func(s *refStore) { s.reserveSteals = true },
	"ignores lease expiry":       func(s *refStore) { s.neverExpire = true },
	"ignores fencing token":      func(s *refStore) { s.noFence = true },
	"two unfinished per service": func(s *refStore) { s.noBusy = true },
}

const bugEnv = "STORETEST_BUG"

// TestBuggy runs the suite against a store with the bug named by
// $STORETEST_BUG; TestCatchesBugs runs it in a child process and expects
// it to fail. Without the variable it does nothing.
func TestBuggy(t *testing.T) {
	name := os.Getenv(bugEnv)
	if name == "" {
		t.Skip("run by TestCatchesBugs")
	}
	storetest.Run(t, func(*testing.T) provision.Store {
		s := newRef()
		bugs[name](s)
		return s
	})
}

// TestCatchesBugs checks that the suite fails for each broken store.
func TestCatchesBugs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for name := range bugs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBuggy$", "-test.count=1")
			cmd.Env = append(os.Environ(), bugEnv+"="+name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed a store with the bug %q (err %v):\n%s", name, err, out)
			}
			if !bytes.Contains(out, []byte("--- FAIL")) {
				t.Fatalf("child failed without a test failure:\n%s", out)
			}
		})
	}
}

type refStore struct {
	mu       sync.Mutex
	ops      map[string]*provision.Operation
	order    []string
	reserved map[[2]string]provision.Reservation
	services map[string]*provision.Service

	noVersionCheck, sharedMaps, claimFinished, renewBumps, reserveSteals, neverExpire bool
	noFence, noBusy                                                                   bool
}

func newRef() *refStore {
	return &refStore{
		ops:      map[string]*provision.Operation{},
		reserved: map[[2]string]provision.Reservation{},
		services: map[string]*provision.Service{},
	}
}

func (s *refStore) clone(op *provision.Operation) *provision.Operation {
	if s.sharedMaps {
		c := *op
		return &c
	}
	return op.Clone()
}

func (s *refStore) CreateOperation(_ context.Context, op *provision.Operation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op.ID == "" {
		op.ID = rand.Text()
	}
	if _, ok := s.ops[op.ID]; ok {
		return provision.ErrExists
	}
	if op.State == "" {
		op.State = provision.StatePending
	}
	if !op.State.Finished() && s.busy(op.ServiceID, op.ID) {
		return provision.ErrBusy
	}
	op.Version, op.CreatedAt, op.UpdatedAt = 1, time.Now(), time.Now()
	s.ops[op.ID] = s.clone(op)
	s.order = append(s.order, op.ID)
	return nil
}

func (s *refStore) GetOperation(_ context.Context, id string) (*provision.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	op, ok := s.ops[id]
	if !ok {
		return nil, provision.ErrNotFound
	}
	return s.clone(op), nil
}

func (s *refStore) UpdateOperation(_ context.Context, op *provision.Operation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.ops[op.ID]
	if !ok {
		return provision.ErrNotFound
	}
	if cur.Attempts != op.Attempts && !s.noFence {
		return fmt.Errorf("stale claim: %w, %w", provision.ErrLeaseLost, provision.ErrConflict)
	}
	if cur.Version != op.Version && !s.noVersionCheck {
		return provision.ErrConflict
	}
	if !op.State.Finished() && s.busy(op.ServiceID, op.ID) {
		return provision.ErrBusy
	}
	c := s.clone(op)
	c.Worker, c.LeaseUntil, c.Attempts = cur.Worker, cur.LeaseUntil, cur.Attempts
	c.Version, c.CreatedAt, c.UpdatedAt = cur.Version+1, cur.CreatedAt, time.Now()
	s.ops[op.ID] = c
	op.Version, op.CreatedAt, op.UpdatedAt = c.Version, c.CreatedAt, c.UpdatedAt
	op.Worker, op.LeaseUntil, op.Attempts = c.Worker, c.LeaseUntil, c.Attempts
	return nil
}

func (s *refStore) ListOperations(_ context.Context, f provision.OperationFilter) ([]*provision.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*provision.Operation
	for _, id := range s.order {
		op := s.ops[id]
		if (f.ServiceID == "" || op.ServiceID == f.ServiceID) &&
			(len(f.States) == 0 || slices.Contains(f.States, op.State)) &&
			(len(f.Kinds) == 0 || slices.Contains(f.Kinds, op.Kind)) {
			out = append(out, s.clone(op))
		}
	}
	return out, nil
}

func (s *refStore) ClaimOperation(_ context.Context, worker string, lease time.Duration) (*provision.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, id := range s.order {
		op := s.ops[id]
		if op.State.Finished() && !s.claimFinished {
			continue
		}
		if op.Worker != "" && (now.Before(op.LeaseUntil) || s.neverExpire) {
			continue
		}
		op.Worker, op.LeaseUntil, op.State = worker, now.Add(lease), provision.StateRunning
		op.Attempts++
		op.Version++
		return s.clone(op), nil
	}
	return nil, provision.ErrNoWork
}

// busy reports whether the service has an unfinished operation other than
// except.
func (s *refStore) busy(service, except string) bool {
	if s.noBusy {
		return false
	}
	for id, op := range s.ops {
		if id != except && op.ServiceID == service && !op.State.Finished() {
			return true
		}
	}
	return false
}

func (s *refStore) holder(opID, worker string, token int) (*provision.Operation, error) {
	op, ok := s.ops[opID]
	if !ok {
		return nil, provision.ErrNotFound
	}
	if op.Worker == "" || op.Worker != worker || (op.Attempts != token && !s.noFence) {
		return nil, provision.ErrLeaseLost
	}
	return op, nil
}

func (s *refStore) RenewLease(_ context.Context, opID, worker string, token int, lease time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	op, err := s.holder(opID, worker, token)
	if err != nil {
		return err
	}
	op.LeaseUntil = time.Now().Add(lease)
	if s.renewBumps {
		op.Version++
	}
	return nil
}

func (s *refStore) ReleaseLease(_ context.Context, opID, worker string, token int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	op, err := s.holder(opID, worker, token)
	if err != nil {
		return err
	}
	op.Worker, op.LeaseUntil = "", time.Time{}
	return nil
}

func (s *refStore) Reserve(_ context.Context, r provision.Reservation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{r.Backend, r.ServerID}
	if cur, ok := s.reserved[k]; ok && !s.reserveSteals {
		if cur.OperationID == r.OperationID {
			return nil
		}
		return fmt.Errorf("held by %s: %w", cur.OperationID, provision.ErrReserved)
	}
	r.CreatedAt = time.Now()
	s.reserved[k] = r
	return nil
}

func (s *refStore) Unreserve(_ context.Context, backend, serverID, operationID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{backend, serverID}
	cur, ok := s.reserved[k]
	if !ok {
		return nil
	}
	if cur.OperationID != operationID {
		return provision.ErrReserved
	}
	delete(s.reserved, k)
	return nil
}

func (s *refStore) Reservations(_ context.Context, backend string) ([]provision.Reservation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []provision.Reservation
	for k, r := range s.reserved {
		if backend == "" || k[0] == backend {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *refStore) PutService(_ context.Context, sv *provision.Service) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.services[sv.ID]
	switch {
	case sv.Version == 0 && ok:
		return provision.ErrExists
	case sv.Version == 0:
		sv.CreatedAt = time.Now()
	case !ok:
		return provision.ErrNotFound
	case cur.Version != sv.Version && !s.noVersionCheck:
		return provision.ErrConflict
	default:
		sv.CreatedAt = cur.CreatedAt
		sv.Version = cur.Version
	}
	sv.Version++
	sv.UpdatedAt = time.Now()
	c := sv.Clone()
	if s.sharedMaps {
		c.Properties = sv.Properties
	}
	s.services[sv.ID] = c
	return nil
}

func (s *refStore) GetService(_ context.Context, id string) (*provision.Service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, ok := s.services[id]
	if !ok {
		return nil, provision.ErrNotFound
	}
	return sv.Clone(), nil
}

func (s *refStore) ListServices(_ context.Context, f provision.ServiceFilter) ([]*provision.Service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*provision.Service
	for _, sv := range s.services {
		if (len(f.Statuses) == 0 || slices.Contains(f.Statuses, sv.Status)) &&
			(f.Module == "" || sv.Module == f.Module) && (f.Owner == "" || sv.Owner == f.Owner) {
			out = append(out, sv.Clone())
		}
	}
	return out, nil
}
