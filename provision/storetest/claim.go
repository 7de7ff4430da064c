package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ispkit/ispkit/provision"
)

var claimTests = []subtest{
	{"Empty", testClaimEmpty},
	{"Fields", testClaimFields},
	{"OldestFirst", testClaimOldestFirst},
	{"OnlyUnfinished", testClaimOnlyUnfinished},
	{"LeaseHeld", testClaimLeaseHeld},
	{"CreatedLeased", testClaimCreatedLeased},
	{"ExpiredLeaseTakenOver", testClaimExpired},
	{"AfterRelease", testClaimAfterRelease},
}

var leaseTests = []subtest{
	{"Renew", testRenew},
	{"Release", testRelease},
	{"NonHolder", testLeaseNonHolder},
	{"Missing", testLeaseMissing},
	{"StaleToken", testLeaseStaleToken},
}

var busyTests = []subtest{
	{"SecondUnfinished", testBusySecond},
	{"FinishedDoNotCount", testBusyFinished},
	{"UpdateToUnfinished", testBusyUpdate},
}

// The same worker name claims again after its own lease expired (a
// restarted process with a fixed WorkerID, or a second goroutine of one
// engine): the first claim's token is stale for every lease call and for
// UpdateOperation, although the worker name matches.
func testLeaseStaleToken(t *testing.T, s provision.Store) {
	create(t, s, newOp("op-1", "svc", provision.OpOpen, provision.StatePending))
	old := claim(t, s, "w1", shortLease)
	taken := claimAfterExpiry(t, s, "w1")
	if taken.Attempts != old.Attempts+1 || taken.Worker != "w1" {
		t.Fatalf("second claim: worker %q token %d, want w1 and %d", taken.Worker, taken.Attempts, old.Attempts+1)
	}
	wantErr(t, "RenewLease with the first claim's token", s.RenewLease(t.Context(), "op-1", "w1", old.Attempts, longLease), provision.ErrLeaseLost)
	wantErr(t, "ReleaseLease with the first claim's token", s.ReleaseLease(t.Context(), "op-1", "w1", old.Attempts), provision.ErrLeaseLost)
	// The stale copy, brought to the current version (as a writer that
	// re-read the version but kept its token would), is still refused.
	stale := old.Clone()
	stale.Version, stale.Step = taken.Version, "stale write"
	wantErr(t, "UpdateOperation with the first claim's token", s.UpdateOperation(t.Context(), stale), provision.ErrLeaseLost)
	got := get(t, s, "op-1")
	sameOp(t, "after the stale claim's calls", got, taken)
	if got.Worker != "w1" || !got.LeaseUntil.Equal(taken.LeaseUntil) {
		t.Fatalf("a stale claim changed the lease: worker %q until %v, want w1 until %v", got.Worker, got.LeaseUntil, taken.LeaseUntil)
	}
	// The current claim works.
	if err := s.RenewLease(t.Context(), "op-1", "w1", taken.Attempts, longLease); err != nil {
		t.Fatalf("RenewLease with the current token: %v", err)
	}
	taken.Step = "current write"
	if err := s.UpdateOperation(t.Context(), taken); err != nil {
		t.Fatalf("UpdateOperation with the current token: %v", err)
	}
	if err := s.ReleaseLease(t.Context(), "op-1", "w1", taken.Attempts); err != nil {
		t.Fatalf("ReleaseLease with the current token: %v", err)
	}
}

func testBusySecond(t *testing.T, s provision.Store) {
	create(t, s, newOp("op-1", "svc", provision.OpOpen, provision.StatePending))
	for _, st := range []provision.OperationState{provision.StatePending, provision.StateRunning, ""} {
		err := s.CreateOperation(t.Context(), newOp("op-2", "svc", provision.OpSuspend, st))
		wantErr(t, fmt.Sprintf("second unfinished operation (state %q)", st), err, provision.ErrBusy)
	}
	if _, err := s.GetOperation(t.Context(), "op-2"); !errors.Is(err, provision.ErrNotFound) {
		t.Fatalf("refused operation stored: %v", err)
	}
	// A claimed (running) operation keeps the service busy; other
	// services are free.
	claim(t, s, "w1", longLease)
	wantErr(t, "second operation while the first runs", s.CreateOperation(t.Context(), newOp("op-3", "svc", provision.OpSuspend, provision.StatePending)), provision.ErrBusy)
	create(t, s, newOp("op-4", "svc-other", provision.OpOpen, provision.StatePending))
	// A duplicate id is still ErrExists, not ErrBusy.
	wantErr(t, "duplicate id", s.CreateOperation(t.Context(), newOp("op-1", "svc", provision.OpOpen, provision.StatePending)), provision.ErrExists)
}

func testBusyFinished(t *testing.T, s provision.Store) {
	create(t, s, newOp("done", "svc", provision.OpOpen, provision.StateDone))
	create(t, s, newOp("failed", "svc", provision.OpSuspend, provision.StateFailed))
	op := create(t, s, newOp("op-1", "svc", provision.OpSuspend, provision.StatePending))
	// Finished operations may be recorded beside an unfinished one.
	create(t, s, newOp("done-2", "svc", provision.OpClose, provision.StateDone))
	// Once it finishes, the service takes a new one.
	c := claim(t, s, "w1", longLease)
	if c.ID != op.ID {
		t.Fatalf("claimed %q, want %q", c.ID, op.ID)
	}
	c.State = provision.StateDone
	if err := s.UpdateOperation(t.Context(), c); err != nil {
		t.Fatalf("UpdateOperation(done): %v", err)
	}
	create(t, s, newOp("op-2", "svc", provision.OpUnsuspend, provision.StatePending))
}

func testBusyUpdate(t *testing.T, s provision.Store) {
	create(t, s, newOp("op-1", "svc", provision.OpOpen, provision.StatePending))
	failed := create(t, s, newOp("failed", "svc", provision.OpSuspend, provision.StateFailed))
	failed.State = provision.StatePending
	if err := s.UpdateOperation(t.Context(), failed); err == nil {
		t.Fatal("UpdateOperation made a second unfinished operation of the service")
	}
	if got := get(t, s, "failed"); got.State != provision.StateFailed || got.Version != 1 {
		t.Fatalf("refused update changed the operation: state %s version %d", got.State, got.Version)
	}
}

func testClaimEmpty(t *testing.T, s provision.Store) {
	noWork(t, s, "w1")
}

func testClaimFields(t *testing.T, s provision.Store) {
	op := create(t, s, newOp("op-1", "svc-1", provision.OpOpen, provision.StatePending))
	before := time.Now()
	c := claim(t, s, "w1", longLease)
	want := op.Clone()
	want.State, want.Worker, want.Attempts, want.Version = provision.StateRunning, "w1", 1, 2
	sameOp(t, "claimed operation", c, want)
	if !near(c.LeaseUntil, before.Add(longLease)) {
		t.Fatalf("LeaseUntil = %v, want about now+%v = %v", c.LeaseUntil, longLease, before.Add(longLease))
	}
	got := get(t, s, "op-1")
	sameOp(t, "stored after claim", got, c)
	if !got.LeaseUntil.Equal(c.LeaseUntil) {
		t.Fatalf("stored LeaseUntil %v differs from the returned %v", got.LeaseUntil, c.LeaseUntil)
	}
	// The claimed copy is current: the holder can update with it.
	c.Step = "next"
	if err := s.UpdateOperation(t.Context(), c); err != nil {
		t.Fatalf("UpdateOperation with the claimed copy: %v", err)
	}
	if c.Version != 3 {
		t.Fatalf("Version = %d, want 3", c.Version)
	}
}

func testClaimOldestFirst(t *testing.T, s provision.Store) {
	var ids []string
	for i := range 5 {
		// Ids that do not sort in creation order.
		id := fmt.Sprintf("%c-op", 'z'-i)
		create(t, s, newOp(id, "svc-"+id, provision.OpOpen, provision.StatePending))
		ids = append(ids, id)
	}
	for i, id := range ids {
		c := claim(t, s, fmt.Sprintf("w%d", i), longLease)
		if c.ID != id {
			t.Fatalf("claim %d took %q, want the oldest unclaimed %q", i, c.ID, id)
		}
	}
	noWork(t, s, "w9")
}

func testClaimOnlyUnfinished(t *testing.T, s provision.Store) {
	create(t, s, newOp("done", "svc", provision.OpOpen, provision.StateDone))
	create(t, s, newOp("failed", "svc", provision.OpOpen, provision.StateFailed))
	create(t, s, newOp("pending", "svc", provision.OpOpen, provision.StatePending))
	// Running without a lease: a worker released it (or it was created so).
	create(t, s, newOp("running", "svc-2", provision.OpOpen, provision.StateRunning))
	if c := claim(t, s, "w1", longLease); c.ID != "pending" {
		t.Fatalf("first claim took %q, want pending", c.ID)
	}
	if c := claim(t, s, "w1", longLease); c.ID != "running" {
		t.Fatalf("second claim took %q, want running", c.ID)
	}
	noWork(t, s, "w2")
	for _, id := range []string{"done", "failed"} {
		if got := get(t, s, id); got.Worker != "" || got.Attempts != 0 || got.Version != 1 {
			t.Fatalf("finished operation %q was touched: worker %q attempts %d version %d", id, got.Worker, got.Attempts, got.Version)
		}
	}
}

func testClaimLeaseHeld(t *testing.T, s provision.Store) {
	create(t, s, newOp("op-1", "svc", provision.OpOpen, provision.StatePending))
	c := claim(t, s, "w1", longLease)
	noWork(t, s, "w2")
	noWork(t, s, "w1") // the holder does not get its own operation twice
	sameOp(t, "after refused claims", get(t, s, "op-1"), c)
}

func testClaimCreatedLeased(t *testing.T, s provision.Store) {
	// An engine may create an operation already leased to itself and run
	// it at once; nobody else may claim it meanwhile.
	op := newOp("op-1", "svc", provision.OpOpen, provision.StateRunning)
	op.Worker, op.LeaseUntil, op.Attempts = "w1", time.Now().Add(longLease), 1
	create(t, s, op)
	got := get(t, s, "op-1")
	if got.Worker != "w1" || got.Attempts != 1 || !near(got.LeaseUntil, op.LeaseUntil) {
		t.Fatalf("created lease not stored: worker %q attempts %d until %v", got.Worker, got.Attempts, got.LeaseUntil)
	}
	noWork(t, s, "w2")
	if err := s.RenewLease(t.Context(), "op-1", "w1", 1, longLease); err != nil {
		t.Fatalf("RenewLease by the creator: %v", err)
	}
	if err := s.ReleaseLease(t.Context(), "op-1", "w1", 1); err != nil {
		t.Fatalf("ReleaseLease by the creator: %v", err)
	}
	if c := claim(t, s, "w2", longLease); c.ID != "op-1" || c.Attempts != 2 {
		t.Fatalf("claim after release: %q attempts %d", c.ID, c.Attempts)
	}
}

func testClaimExpired(t *testing.T, s provision.Store) {
	create(t, s, newOp("op-1", "svc", provision.OpOpen, provision.StatePending))
	old := claim(t, s, "w1", shortLease)
	taken := claimAfterExpiry(t, s, "w2")
	if taken.ID != "op-1" || taken.Worker != "w2" || taken.State != provision.StateRunning ||
		taken.Attempts != 2 || taken.Version != old.Version+1 {
		t.Fatalf("taken over: id %q worker %q state %s attempts %d version %d (old version %d)",
			taken.ID, taken.Worker, taken.State, taken.Attempts, taken.Version, old.Version)
	}
	if !taken.LeaseUntil.After(old.LeaseUntil) {
		t.Fatalf("new lease %v is not after the expired one %v", taken.LeaseUntil, old.LeaseUntil)
	}
	// The old holder has lost everything.
	wantErr(t, "RenewLease by the expired holder", s.RenewLease(t.Context(), "op-1", "w1", old.Attempts, longLease), provision.ErrLeaseLost)
	wantErr(t, "ReleaseLease by the expired holder", s.ReleaseLease(t.Context(), "op-1", "w1", old.Attempts), provision.ErrLeaseLost)
	old.Step = "stale write"
	wantErr(t, "UpdateOperation with the expired holder's copy", s.UpdateOperation(t.Context(), old), provision.ErrConflict)
	wantErr(t, "UpdateOperation with the expired holder's copy", s.UpdateOperation(t.Context(), old), provision.ErrLeaseLost)
	sameOp(t, "after the old holder's attempts", get(t, s, "op-1"), taken)
	noWork(t, s, "w3")
}

func testClaimAfterRelease(t *testing.T, s provision.Store) {
	create(t, s, newOp("op-1", "svc", provision.OpOpen, provision.StatePending))
	first := claim(t, s, "w1", longLease)
	if err := s.ReleaseLease(t.Context(), "op-1", "w1", first.Attempts); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	c := claim(t, s, "w2", longLease)
	if c.ID != "op-1" || c.Worker != "w2" || c.Attempts != 2 {
		t.Fatalf("claim after release: id %q worker %q attempts %d", c.ID, c.Worker, c.Attempts)
	}
	// A finished operation is never claimed, lease or not. The update
	// that finishes it may end its lease (provision.Store); then the
	// lease is gone as after a ReleaseLease, otherwise the holder
	// releases it.
	c.State = provision.StateDone
	if err := s.UpdateOperation(t.Context(), c); err != nil {
		t.Fatalf("UpdateOperation(done): %v", err)
	}
	if got := get(t, s, "op-1"); c.Worker == "" {
		if !c.LeaseUntil.IsZero() || got.Worker != "" || !got.LeaseUntil.IsZero() {
			t.Fatalf("lease ended by UpdateOperation(done): returned %q until %v, stored %q until %v; want both cleared",
				c.Worker, c.LeaseUntil, got.Worker, got.LeaseUntil)
		}
		wantErr(t, "ReleaseLease of a lease the update ended", s.ReleaseLease(t.Context(), "op-1", "w2", c.Attempts), provision.ErrLeaseLost)
	} else {
		if c.Worker != "w2" || got.Worker != "w2" || !got.LeaseUntil.Equal(c.LeaseUntil) {
			t.Fatalf("lease kept by UpdateOperation(done): returned %q until %v, stored %q until %v", c.Worker, c.LeaseUntil, got.Worker, got.LeaseUntil)
		}
		if err := s.ReleaseLease(t.Context(), "op-1", "w2", c.Attempts); err != nil {
			t.Fatalf("ReleaseLease(done): %v", err)
		}
	}
	noWork(t, s, "w3")
}

func testRenew(t *testing.T, s provision.Store) {
	create(t, s, newOp("op-1", "svc", provision.OpOpen, provision.StatePending))
	c := claim(t, s, "w1", time.Minute)
	if err := s.RenewLease(t.Context(), "op-1", "w1", c.Attempts, longLease); err != nil {
		t.Fatalf("RenewLease: %v", err)
	}
	got := get(t, s, "op-1")
	if !got.LeaseUntil.After(c.LeaseUntil) || !near(got.LeaseUntil, time.Now().Add(longLease)) {
		t.Fatalf("LeaseUntil after renewing for %v = %v (was %v)", longLease, got.LeaseUntil, c.LeaseUntil)
	}
	if got.Worker != "w1" || got.Version != c.Version || got.Attempts != 1 {
		t.Fatalf("RenewLease changed worker/version/attempts: %q %d %d", got.Worker, got.Version, got.Attempts)
	}
	// A renewal (done by a background goroutine in an engine) must not
	// make the holder's next update conflict.
	c.Step = "after renew"
	if err := s.UpdateOperation(t.Context(), c); err != nil {
		t.Fatalf("UpdateOperation after RenewLease: %v", err)
	}
	noWork(t, s, "w2")
}

func testRelease(t *testing.T, s provision.Store) {
	create(t, s, newOp("op-1", "svc", provision.OpOpen, provision.StatePending))
	c := claim(t, s, "w1", longLease)
	if err := s.ReleaseLease(t.Context(), "op-1", "w1", c.Attempts); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	got := get(t, s, "op-1")
	if got.Worker != "" || !got.LeaseUntil.IsZero() {
		t.Fatalf("after ReleaseLease: worker %q, lease until %v; want both cleared", got.Worker, got.LeaseUntil)
	}
	if got.Version != c.Version || got.Attempts != 1 || got.Step != c.Step {
		t.Fatalf("ReleaseLease changed version/attempts/step: %d %d %q", got.Version, got.Attempts, got.Step)
	}
	wantErr(t, "second ReleaseLease", s.ReleaseLease(t.Context(), "op-1", "w1", c.Attempts), provision.ErrLeaseLost)
	wantErr(t, "RenewLease after release", s.RenewLease(t.Context(), "op-1", "w1", c.Attempts, longLease), provision.ErrLeaseLost)
}

func testLeaseNonHolder(t *testing.T, s provision.Store) {
	create(t, s, newOp("op-1", "svc", provision.OpOpen, provision.StatePending))
	// Not claimed at all.
	wantErr(t, "RenewLease of an unclaimed operation", s.RenewLease(t.Context(), "op-1", "w1", 0, longLease), provision.ErrLeaseLost)
	wantErr(t, "ReleaseLease of an unclaimed operation", s.ReleaseLease(t.Context(), "op-1", "w1", 0), provision.ErrLeaseLost)
	c := claim(t, s, "w1", longLease)
	wantErr(t, "RenewLease by another worker", s.RenewLease(t.Context(), "op-1", "w2", c.Attempts, longLease), provision.ErrLeaseLost)
	wantErr(t, "ReleaseLease by another worker", s.ReleaseLease(t.Context(), "op-1", "w2", c.Attempts), provision.ErrLeaseLost)
	wantErr(t, "RenewLease by the holder with another claim's token", s.RenewLease(t.Context(), "op-1", "w1", c.Attempts-1, longLease), provision.ErrLeaseLost)
	wantErr(t, "ReleaseLease by the holder with another claim's token", s.ReleaseLease(t.Context(), "op-1", "w1", c.Attempts+1), provision.ErrLeaseLost)
	got := get(t, s, "op-1")
	sameOp(t, "after a non-holder's attempts", got, c)
	if !got.LeaseUntil.Equal(c.LeaseUntil) {
		t.Fatalf("a non-holder changed LeaseUntil from %v to %v", c.LeaseUntil, got.LeaseUntil)
	}
}

func testLeaseMissing(t *testing.T, s provision.Store) {
	wantErr(t, "RenewLease(missing)", s.RenewLease(t.Context(), "nope", "w1", 1, longLease), provision.ErrNotFound, provision.ErrLeaseLost)
	wantErr(t, "ReleaseLease(missing)", s.ReleaseLease(t.Context(), "nope", "w1", 1), provision.ErrNotFound, provision.ErrLeaseLost)
}

// claimAfterExpiry polls ClaimOperation for worker until the short lease
// held on the store's only claimable operation has expired and the claim
// succeeds (no sleep is trusted to be long enough).
func claimAfterExpiry(t *testing.T, s provision.Store, worker string) *provision.Operation {
	t.Helper()
	var taken *provision.Operation
	eventually(t, worker+" claims the operation after the lease expired", func() (bool, error) {
		op, err := s.ClaimOperation(t.Context(), worker, longLease)
		switch {
		case errors.Is(err, provision.ErrNoWork):
			return false, nil
		case err != nil:
			return false, err
		}
		taken = op
		return true, nil
	})
	return taken
}
