package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
)

var concurrencyTests = []subtest{
	{"ReserveOneServer", testRaceReserveOne},
	{"ReserveFewServers", testRaceReserveFew},
	{"Claim", testRaceClaim},
	{"Update", testRaceUpdate},
	{"Create", testRaceCreate},
	{"PutService", testRacePutService},
	{"OneUnfinishedPerService", testRaceUnfinished},
}

// 20 creators of different operations for one service: one unfinished
// operation is created, the others get ErrBusy.
func testRaceUnfinished(t *testing.T, s provision.Store) {
	const n = 20
	errs := race(n, func(i int) error {
		return s.CreateOperation(t.Context(), newOp(fmt.Sprintf("op-%02d", i), "svc", provision.OpSuspend, provision.StatePending))
	})
	w := oneWinner(t, "concurrent CreateOperation for one service", errs, provision.ErrBusy)
	ops, err := s.ListOperations(t.Context(), provision.OperationFilter{ServiceID: "svc"})
	if err != nil || len(ops) != 1 || ops[0].ID != fmt.Sprintf("op-%02d", w) {
		t.Fatalf("ListOperations = %v, %v; want only op-%02d", opIDs(ops), err, w)
	}
}

// 50 operations want the same server: exactly one gets it.
func testRaceReserveOne(t *testing.T, s provision.Store) {
	const n = 50
	errs := race(n, func(i int) error {
		return s.Reserve(t.Context(), res("dci6", "srv-1", fmt.Sprintf("op-%d", i)))
	})
	w := oneWinner(t, "50 concurrent Reserve calls", errs, provision.ErrReserved)
	rs := reservations(t, s, "dci6")
	if len(rs) != 1 || rs[0].OperationID != fmt.Sprintf("op-%d", w) {
		t.Fatalf("Reservations = %v, want only srv-1=op-%d", holders(rs), w)
	}
}

// 20 operations race for 5 servers, each trying them in order until one
// is granted: every server ends with exactly one holder, no operation
// holds two, and exactly 5 operations got one.
func testRaceReserveFew(t *testing.T, s provision.Store) {
	const ops, servers = 20, 5
	got := make([]string, ops)
	errs := race(ops, func(i int) error {
		op := fmt.Sprintf("op-%d", i)
		for j := range servers {
			srv := fmt.Sprintf("srv-%d", j)
			err := s.Reserve(t.Context(), res("dci6", srv, op))
			if err == nil {
				got[i] = srv
				return nil
			}
			if !errors.Is(err, provision.ErrReserved) {
				return err
			}
		}
		return nil
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("op-%d: %v", i, err)
		}
	}
	byServer := map[string]string{}
	for i, srv := range got {
		if srv == "" {
			continue
		}
		if prev, dup := byServer[srv]; dup {
			t.Fatalf("%s granted to both %s and op-%d", srv, prev, i)
		}
		byServer[srv] = fmt.Sprintf("op-%d", i)
	}
	if len(byServer) != servers {
		t.Fatalf("%d servers granted, want %d: %v", len(byServer), servers, byServer)
	}
	rs := reservations(t, s, "dci6")
	if len(rs) != servers {
		t.Fatalf("Reservations = %v, want %d", holders(rs), servers)
	}
	for _, r := range rs {
		if byServer[r.ServerID] != r.OperationID {
			t.Fatalf("stored %s=%s, but the call granted it to %s", r.ServerID, r.OperationID, byServer[r.ServerID])
		}
	}
}

// 20 workers claim 10 operations: each is claimed exactly once.
func testRaceClaim(t *testing.T, s provision.Store) {
	const workers, ops = 20, 10
	for i := range ops {
		create(t, s, newOp(fmt.Sprintf("op-%02d", i), fmt.Sprintf("svc-%02d", i), provision.OpOpen, provision.StatePending))
	}
	var (
		mu      sync.Mutex
		claimed = map[string]string{}
		dups    []string
	)
	errs := race(workers, func(i int) error {
		worker := fmt.Sprintf("w%d", i)
		for {
			op, err := s.ClaimOperation(t.Context(), worker, longLease)
			if errors.Is(err, provision.ErrNoWork) {
				return nil
			}
			if err != nil {
				return err
			}
			if op.Worker != worker || op.Attempts != 1 {
				return fmt.Errorf("claimed %s with worker %q attempts %d", op.ID, op.Worker, op.Attempts)
			}
			mu.Lock()
			if prev, ok := claimed[op.ID]; ok {
				dups = append(dups, fmt.Sprintf("%s by %s and %s", op.ID, prev, worker))
			}
			claimed[op.ID] = worker
			mu.Unlock()
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker w%d: %v", i, err)
		}
	}
	if len(dups) > 0 {
		t.Fatalf("operations claimed twice: %v", dups)
	}
	if len(claimed) != ops {
		t.Fatalf("%d operations claimed, want %d", len(claimed), ops)
	}
	for id, worker := range claimed {
		if got := get(t, s, id); got.Worker != worker || got.Attempts != 1 || got.Version != 2 {
			t.Fatalf("%s stored with worker %q attempts %d version %d; claimed by %s", id, got.Worker, got.Attempts, got.Version, worker)
		}
	}
	noWork(t, s, "late")
}

// 10 writers update the same version: one wins, the others conflict.
func testRaceUpdate(t *testing.T, s provision.Store) {
	const n = 10
	base := create(t, s, newOp("op-1", "svc", provision.OpOpen, provision.StatePending))
	copies := make([]*provision.Operation, n)
	for i := range copies {
		copies[i] = base.Clone()
		copies[i].Step = fmt.Sprintf("writer-%d", i)
		setField(&copies[i].Data, "writer", fmt.Sprint(i))
	}
	errs := race(n, func(i int) error { return s.UpdateOperation(t.Context(), copies[i]) })
	w := oneWinner(t, "concurrent UpdateOperation", errs, provision.ErrConflict)
	got := get(t, s, "op-1")
	if got.Version != 2 || got.Step != copies[w].Step || field(got.Data, "writer") != fmt.Sprint(w) {
		t.Fatalf("stored step %q writer %q version %d; want the winner's (writer-%d, version 2)", got.Step, field(got.Data, "writer"), got.Version, w)
	}
}

// 20 creators of the same id: one wins, the others get ErrExists.
func testRaceCreate(t *testing.T, s provision.Store) {
	const n = 20
	errs := race(n, func(i int) error {
		op := newOp("op-1", "svc", provision.OpOpen, provision.StatePending)
		op.Step = fmt.Sprintf("creator-%d", i)
		return s.CreateOperation(t.Context(), op)
	})
	w := oneWinner(t, "concurrent CreateOperation", errs, provision.ErrExists)
	ops, err := s.ListOperations(t.Context(), provision.OperationFilter{})
	if err != nil || len(ops) != 1 || ops[0].Step != fmt.Sprintf("creator-%d", w) {
		t.Fatalf("ListOperations = %v, %v; want only creator-%d's", opIDs(ops), err, w)
	}
}

// Concurrent creates, then concurrent updates of one service.
func testRacePutService(t *testing.T, s provision.Store) {
	const n = 20
	errs := race(n, func(i int) error {
		return s.PutService(t.Context(), newService("svc-1", billing.StatusProcessing, "dci6", fmt.Sprintf("owner-%d", i)))
	})
	w := oneWinner(t, "concurrent PutService(Version 0)", errs, provision.ErrExists)
	base := getService(t, s, "svc-1")
	if base.Owner != fmt.Sprintf("owner-%d", w) || base.Version != 1 {
		t.Fatalf("stored owner %q version %d, want owner-%d version 1", base.Owner, base.Version, w)
	}
	errs = race(n, func(i int) error {
		sv := base.Clone()
		sv.Error = fmt.Sprintf("writer-%d", i)
		return s.PutService(t.Context(), sv)
	})
	w = oneWinner(t, "concurrent PutService(Version 1)", errs, provision.ErrConflict)
	if got := getService(t, s, "svc-1"); got.Error != fmt.Sprintf("writer-%d", w) || got.Version != 2 {
		t.Fatalf("stored error %q version %d, want writer-%d version 2", got.Error, got.Version, w)
	}
}
