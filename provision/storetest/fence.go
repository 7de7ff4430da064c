package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
)

// Fenced reservation writes (provision.FencedStore): run when the store
// implements it, skipped otherwise.
var fenceTests = []subtest{
	{"CurrentClaim", fenced(testFenceCurrentClaim)},
	{"OlderClaim", fenced(testFenceOlderClaim)},
	{"ReleasedOrFinished", fenced(testFenceReleasedOrFinished)},
	{"UnknownOperation", fenced(testFenceUnknownOperation)},
	{"OtherHolder", fenced(testFenceOtherHolder)},
	{"RacesAClaim", fenced(testFenceRacesAClaim)},
	{"PutService", fenced(testFencePutService)},
}

func fenced(fn func(*testing.T, provision.FencedStore)) func(*testing.T, provision.Store) {
	return func(t *testing.T, s provision.Store) {
		fs, ok := s.(provision.FencedStore)
		if !ok {
			t.Skip("the store is not a provision.FencedStore")
		}
		fn(t, fs)
	}
}

// claimed creates operation id (of service id's own) and claims it as
// worker; it returns the claim's fence.
func claimed(t *testing.T, s provision.Store, id, worker string) provision.Fence {
	t.Helper()
	create(t, s, newOp(id, "svc-"+id, provision.OpOpen, provision.StatePending))
	op := claim(t, s, worker, longLease)
	if op.ID != id {
		t.Fatalf("ClaimOperation(%q) = %q, want %q", worker, op.ID, id)
	}
	return provision.Fence{OperationID: id, Worker: worker, Token: op.Attempts}
}

// wantHolders fails unless the dci6 reservations are want
// ("server=operation", sorted by server); what names the moment.
func wantHolders(t *testing.T, s provision.Store, what string, want ...string) {
	t.Helper()
	if got := holders(reservations(t, s, "dci6")); !slices.Equal(got, want) {
		t.Fatalf("%s: Reservations = %v, want %v", what, got, want)
	}
}

// reclaim releases f's claim and claims the operation again as worker.
func reclaim(t *testing.T, s provision.Store, f provision.Fence, worker string) provision.Fence {
	t.Helper()
	if err := s.ReleaseLease(t.Context(), f.OperationID, f.Worker, f.Token); err != nil {
		t.Fatalf("ReleaseLease(%q): %v", f.OperationID, err)
	}
	op := claim(t, s, worker, longLease)
	if op.ID != f.OperationID || op.Attempts != f.Token+1 {
		t.Fatalf("reclaim: got %q with token %d, want %q with %d", op.ID, op.Attempts, f.OperationID, f.Token+1)
	}
	return provision.Fence{OperationID: op.ID, Worker: worker, Token: op.Attempts}
}

func testFenceCurrentClaim(t *testing.T, s provision.FencedStore) {
	ctx := t.Context()
	f := claimed(t, s, "op-1", "w1")
	if err := s.ReserveFenced(ctx, f, res("dci6", "srv-1", "op-1")); err != nil {
		t.Fatalf("ReserveFenced under the current claim: %v", err)
	}
	if err := s.ReserveFenced(ctx, f, res("dci6", "srv-1", "op-1")); err != nil {
		t.Fatalf("ReserveFenced again for the same operation: %v", err)
	}
	// The fence is the writer's claim; the reservation may name another
	// operation (Close drops its Open's reservation).
	if err := s.ReserveFenced(ctx, f, res("dci6", "srv-2", "op-0")); err != nil {
		t.Fatalf("ReserveFenced naming another operation: %v", err)
	}
	wantHolders(t, s, "Reservations", "srv-1=op-1", "srv-2=op-0")
	if err := s.UnreserveFenced(ctx, f, "dci6", "srv-2", "op-0"); err != nil {
		t.Fatalf("UnreserveFenced under the current claim: %v", err)
	}
	if err := s.UnreserveFenced(ctx, f, "dci6", "srv-9", "op-1"); err != nil {
		t.Fatalf("UnreserveFenced of a free server: %v", err)
	}
	wantHolders(t, s, "Reservations after UnreserveFenced", "srv-1=op-1")
}

func testFenceOlderClaim(t *testing.T, s provision.FencedStore) {
	ctx := t.Context()
	old := claimed(t, s, "op-1", "w1")
	if err := s.ReserveFenced(ctx, old, res("dci6", "srv-1", "op-1")); err != nil {
		t.Fatalf("ReserveFenced: %v", err)
	}
	// The same worker name claims again (a restarted process): only the
	// token tells the claims apart.
	cur := reclaim(t, s, old, "w1")
	wantErr(t, "ReserveFenced under the older claim", s.ReserveFenced(ctx, old, res("dci6", "srv-2", "op-1")), provision.ErrLeaseLost)
	wantErr(t, "UnreserveFenced under the older claim", s.UnreserveFenced(ctx, old, "dci6", "srv-1", "op-1"), provision.ErrLeaseLost)
	wantHolders(t, s, "Reservations after the refused writes", "srv-1=op-1")
	if err := s.UnreserveFenced(ctx, cur, "dci6", "srv-1", "op-1"); err != nil {
		t.Fatalf("UnreserveFenced under the current claim: %v", err)
	}
	other := reclaim(t, s, cur, "w2")
	wantErr(t, "ReserveFenced by the worker whose claim was taken", s.ReserveFenced(ctx, cur, res("dci6", "srv-1", "op-1")), provision.ErrLeaseLost)
	if err := s.ReserveFenced(ctx, other, res("dci6", "srv-1", "op-1")); err != nil {
		t.Fatalf("ReserveFenced by the new holder: %v", err)
	}
}

func testFenceReleasedOrFinished(t *testing.T, s provision.FencedStore) {
	ctx := t.Context()
	f := claimed(t, s, "op-1", "w1")
	if err := s.ReserveFenced(ctx, f, res("dci6", "srv-1", "op-1")); err != nil {
		t.Fatalf("ReserveFenced: %v", err)
	}
	if err := s.ReleaseLease(ctx, f.OperationID, f.Worker, f.Token); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	wantErr(t, "ReserveFenced after the lease was released", s.ReserveFenced(ctx, f, res("dci6", "srv-2", "op-1")), provision.ErrLeaseLost)
	wantErr(t, "UnreserveFenced after the lease was released", s.UnreserveFenced(ctx, f, "dci6", "srv-1", "op-1"), provision.ErrLeaseLost)

	g := claim(t, s, "w1", longLease)
	if g.ID != "op-1" {
		t.Fatalf("ClaimOperation = %q, want op-1", g.ID)
	}
	// An update that finishes the operation may keep the lease (the
	// Store contract allows both): the fence fails either way.
	g.State = provision.StateDone
	if err := s.UpdateOperation(ctx, g); err != nil {
		t.Fatalf("UpdateOperation(done): %v", err)
	}
	f = provision.Fence{OperationID: "op-1", Worker: "w1", Token: g.Attempts}
	wantErr(t, "ReserveFenced under a finished operation", s.ReserveFenced(ctx, f, res("dci6", "srv-3", "op-1")), provision.ErrLeaseLost)
	wantErr(t, "UnreserveFenced under a finished operation", s.UnreserveFenced(ctx, f, "dci6", "srv-1", "op-1"), provision.ErrLeaseLost)
	wantHolders(t, s, "Reservations after the refused writes", "srv-1=op-1")
}

func testFenceUnknownOperation(t *testing.T, s provision.FencedStore) {
	f := provision.Fence{OperationID: "op-none", Worker: "w1", Token: 1}
	wantErr(t, "ReserveFenced under an unknown operation", s.ReserveFenced(t.Context(), f, res("dci6", "srv-1", "op-none")), provision.ErrLeaseLost)
	if got := reservations(t, s, ""); len(got) != 0 {
		t.Fatalf("Reservations = %v, want none", holders(got))
	}
}

func testFenceOtherHolder(t *testing.T, s provision.FencedStore) {
	ctx := t.Context()
	reserve(t, s, res("dci6", "srv-1", "op-0"))
	f := claimed(t, s, "op-1", "w1")
	wantErr(t, "ReserveFenced of a server another operation holds", s.ReserveFenced(ctx, f, res("dci6", "srv-1", "op-1")), provision.ErrReserved)
	wantErr(t, "UnreserveFenced of a server another operation holds", s.UnreserveFenced(ctx, f, "dci6", "srv-1", "op-1"), provision.ErrReserved)
	wantHolders(t, s, "Reservations", "srv-1=op-0")
}

// testFenceRacesAClaim: a fenced reserve and the takeover of its claim
// (release, then another worker's claim, then that worker's read of the
// reservations) run at the same time, many times. A reserve the store
// accepted must be ordered before the takeover: the new holder's read
// sees it. Otherwise it was refused and wrote nothing.
func testFenceRacesAClaim(t *testing.T, s provision.FencedStore) {
	ctx := t.Context()
	const rounds = 40
	for i := range rounds {
		id := fmt.Sprintf("op-%d", i)
		server := fmt.Sprintf("srv-%d", i)
		f := claimed(t, s, id, "w1")
		var (
			wg       sync.WaitGroup
			reserved error
			seen     bool
			takeErr  error
		)
		reserveEnded := make(chan struct{})
		wg.Go(func() {
			defer close(reserveEnded)
			reserved = s.ReserveFenced(ctx, f, res("dci6", server, id))
		})
		wg.Go(func() {
			if takeErr = s.ReleaseLease(ctx, id, "w1", f.Token); takeErr != nil {
				return
			}
			// The claim may pass over the operation while the reserve
			// holds its row (FOR UPDATE SKIP LOCKED): it finds nothing
			// and is made again, as a worker's next claim would be; once
			// the reserve has ended, nothing holds the row.
			var op *provision.Operation
			for {
				ended := false
				select {
				case <-reserveEnded:
					ended = true
				default:
				}
				var err error
				op, err = s.ClaimOperation(ctx, "w2", longLease)
				if errors.Is(err, provision.ErrNoWork) && !ended {
					continue
				}
				if err != nil {
					takeErr = fmt.Errorf("claim after the release: %w", err)
					return
				}
				break
			}
			if op.ID != id {
				takeErr = fmt.Errorf("claimed %q, want %q", op.ID, id)
				return
			}
			rs, err := s.Reservations(ctx, "dci6")
			if err != nil {
				takeErr = err
				return
			}
			seen = slices.ContainsFunc(rs, func(r provision.Reservation) bool { return r.ServerID == server })
		})
		wg.Wait()
		if takeErr != nil {
			t.Fatalf("round %d: takeover: %v", i, takeErr)
		}
		switch {
		case reserved == nil && !seen:
			t.Fatalf("round %d: the fenced reserve succeeded but the new holder did not see it", i)
		case reserved != nil:
			wantErr(t, fmt.Sprintf("round %d: ReserveFenced", i), reserved, provision.ErrLeaseLost)
			if rs := reservations(t, s, "dci6"); slices.ContainsFunc(rs, func(r provision.Reservation) bool { return r.ServerID == server }) {
				t.Fatalf("round %d: a refused fenced reserve wrote %s", i, server)
			}
		}
		// Finish the operation so that the next round claims its own.
		op := get(t, s, id)
		op.State = provision.StateDone
		if err := s.UpdateOperation(ctx, op); err != nil {
			t.Fatalf("round %d: UpdateOperation(done): %v", i, err)
		}
	}
}

func testFencePutService(t *testing.T, s provision.FencedStore) {
	ctx := t.Context()
	old := claimed(t, s, "op-1", "w1")
	// A fenced create and update under the current claim behave as
	// PutService.
	sv := newService("svc-1", billing.StatusOrdered, "dci6", "alice")
	if err := s.PutServiceFenced(ctx, old, sv); err != nil {
		t.Fatalf("PutServiceFenced (create) under the current claim: %v", err)
	}
	if sv.Version != 1 {
		t.Fatalf("Version after a fenced create = %d, want 1", sv.Version)
	}
	sv.Status = billing.StatusProcessing
	if err := s.PutServiceFenced(ctx, old, sv); err != nil {
		t.Fatalf("PutServiceFenced (update) under the current claim: %v", err)
	}
	stale := sv.Clone()
	stale.Version = 1
	wantErr(t, "PutServiceFenced of a stale version", s.PutServiceFenced(ctx, old, stale), provision.ErrConflict)
	missing := newService("svc-none", billing.StatusActive, "dci6", "alice")
	missing.Version = 3
	wantErr(t, "PutServiceFenced of an unknown service", s.PutServiceFenced(ctx, old, missing), provision.ErrNotFound)
	wantErr(t, "PutServiceFenced creating an existing service", s.PutServiceFenced(ctx, old, newService("svc-1", billing.StatusOrdered, "dci6", "bob")), provision.ErrExists)

	// Under an older claim nothing changes, the argument included.
	reclaim(t, s, old, "w2")
	sv.Status = billing.StatusActive
	wantErr(t, "PutServiceFenced (update) under an older claim", s.PutServiceFenced(ctx, old, sv), provision.ErrLeaseLost)
	if sv.Version != 2 {
		t.Fatalf("a refused PutServiceFenced changed the argument's Version to %d", sv.Version)
	}
	wantErr(t, "PutServiceFenced (create) under an older claim", s.PutServiceFenced(ctx, old, newService("svc-2", billing.StatusOrdered, "dci6", "bob")), provision.ErrLeaseLost)
	got := getService(t, s, "svc-1")
	if got.Version != 2 || got.Status != billing.StatusProcessing {
		t.Fatalf("stored service after the refused write: version %d, status %s; want 2, processing", got.Version, got.Status)
	}
	if _, err := s.GetService(ctx, "svc-2"); !errors.Is(err, provision.ErrNotFound) {
		t.Fatalf("GetService(svc-2) after a refused create: %v, want ErrNotFound", err)
	}
}
