// Package storetest is the conformance suite of [provision.Store]. Every
// implementation (provision/memstore, provision/sqlstore on SQLite and
// PostgreSQL, or a user's own) runs it from its tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) provision.Store { return mystore.New() })
//	}
//
// It is an ordinary package taking a *testing.T, so it can be imported from
// any test (or non-test) code.
//
// The suite checks the contract written in the Store doc comment:
//
//   - CreateOperation / PutService with Version 0 store Version 1, set the
//     stored Version and timestamps on the argument, and fail with
//     ErrExists for a duplicate id; an empty operation ID gets a random one.
//   - Get* fail with ErrNotFound.
//   - UpdateOperation / PutService succeed only for the stored Version,
//     store Version+1 and set it on the argument; a stale Version returns
//     ErrConflict and changes nothing. Updating an unknown id fails with
//     ErrNotFound or ErrConflict (either is accepted).
//   - Returned values are copies, and the store keeps no reference to the
//     arguments it was given.
//   - ListOperations / ListServices apply every filter field (results are
//     compared as sets: the order is not part of the contract).
//   - ClaimOperation takes the oldest unfinished operation whose lease is
//     free or expired, sets Worker, LeaseUntil, State running, Attempts+1,
//     Version+1, never hands out a leased operation and returns ErrNoWork
//     when there is nothing to claim; an operation created already leased
//     is not claimable by another worker.
//   - RenewLease extends the lease for its holder only and does not change
//     the Version (a background renewal must not make the holder's next
//     UpdateOperation conflict); ReleaseLease clears Worker and LeaseUntil
//     so that another worker can claim at once; both return ErrLeaseLost
//     for a non-holder, also for the worker whose expired lease was taken
//     over, whose stale copy then conflicts. An UpdateOperation that
//     finishes an operation either keeps its lease (the holder releases
//     it) or ends it, both fields cleared, stored and returned.
//   - The fencing token (Attempts): after the same worker name claimed
//     the operation again, the first claim's token is refused by
//     RenewLease, ReleaseLease and UpdateOperation (ErrLeaseLost), even
//     with the current Version, and changes nothing.
//   - One unfinished operation per service: a second pending or running
//     operation is refused with ErrBusy (a duplicate id stays ErrExists);
//     finished ones are not limited; an update cannot make a second one;
//     20 concurrent creates for one service yield exactly one.
//   - Reserve is unique per (Backend, ServerID), idempotent for the same
//     OperationID and returns ErrReserved for another; Unreserve removes
//     the holder's reservation, is a no-op for a free server and returns
//     ErrReserved (removing nothing) for another operation.
//   - A store that is a [provision.FencedStore] (the Fence group is
//     skipped for one that is not): ReserveFenced, UnreserveFenced and
//     PutServiceFenced behave as Reserve, Unreserve and PutService under
//     the operation's current claim; under an older claim (the same worker name
//     claimed again, or another worker did), a released lease, a finished
//     or an unknown operation they return ErrLeaseLost and change nothing,
//     the argument included; a fenced reserve racing a takeover of its
//     claim is either refused or seen by the new holder.
//   - Under concurrency: 50 goroutines reserving one server yield exactly
//     one winner; 20 operations racing for 5 servers take each server
//     once; 20 goroutines claiming 10 operations claim each exactly once;
//     racing updates of one version, creates of one id and PutService
//     calls have exactly one winner.
//
// Time: the suite takes no clock. Leases are real durations (the
// PostgreSQL store reads lease expiry from the database's clock, which no
// injected clock could drive). Long leases (minutes) are used wherever a
// lease must not expire during a test, and the one test that needs an
// expiry uses a 200 ms lease and polls ClaimOperation until it succeeds
// (bounded by a deadline), so it never relies on a sleep being long enough.
// Timestamps are compared with a generous tolerance, so a database whose
// clock differs from the test process's by less than a minute passes.
//
// Every subtest gets a fresh store from newStore and runs in parallel with
// the others; newStore should register its cleanup with t.Cleanup.
package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ispkit/ispkit/provision"
)

const (
	// longLease never expires during a test.
	longLease = 10 * time.Minute
	// shortLease is the lease of the expiry test.
	shortLease = 200 * time.Millisecond
	// clockSlack is the tolerated difference between the store's clock and
	// the test's.
	clockSlack = time.Minute
	// waitFor bounds every poll.
	waitFor = 5 * time.Second
)

// Run runs the conformance suite against the stores newStore returns. It is
// called once per subtest and must return an empty, isolated store.
func Run(t *testing.T, newStore func(t *testing.T) provision.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []subtest
	}{
		{"Operations", operationTests},
		{"Claim", claimTests},
		{"Lease", leaseTests},
		{"Busy", busyTests},
		{"Reservations", reservationTests},
		{"Fence", fenceTests},
		{"Services", serviceTests},
		{"Concurrency", concurrencyTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, st := range g.tests {
				t.Run(st.name, func(t *testing.T) {
					t.Parallel()
					st.fn(t, newStore(t))
				})
			}
		})
	}
}

type subtest struct {
	name string
	fn   func(t *testing.T, s provision.Store)
}

// ---- helpers ----

func newOp(id, service string, kind provision.OperationKind, state provision.OperationState) *provision.Operation {
	return &provision.Operation{
		ID:        id,
		ServiceID: service,
		Kind:      kind,
		State:     state,
		Step:      "first",
		Input:     obj(map[string]string{"password": "s3cret", "template": "debian-12"}),
		Data:      obj(map[string]string{"module": "dci6"}),
	}
}

func create(t *testing.T, s provision.Store, op *provision.Operation) *provision.Operation {
	t.Helper()
	if err := s.CreateOperation(t.Context(), op); err != nil {
		t.Fatalf("CreateOperation(%q): %v", op.ID, err)
	}
	return op
}

func get(t *testing.T, s provision.Store, id string) *provision.Operation {
	t.Helper()
	op, err := s.GetOperation(t.Context(), id)
	if err != nil {
		t.Fatalf("GetOperation(%q): %v", id, err)
	}
	return op
}

func claim(t *testing.T, s provision.Store, worker string, lease time.Duration) *provision.Operation {
	t.Helper()
	op, err := s.ClaimOperation(t.Context(), worker, lease)
	if err != nil {
		t.Fatalf("ClaimOperation(%q): %v", worker, err)
	}
	return op
}

func wantErr(t *testing.T, what string, err error, targets ...error) {
	t.Helper()
	for _, target := range targets {
		if errors.Is(err, target) {
			return
		}
	}
	t.Fatalf("%s: got error %v, want %v", what, err, targets)
}

func noWork(t *testing.T, s provision.Store, worker string) {
	t.Helper()
	op, err := s.ClaimOperation(t.Context(), worker, longLease)
	if !errors.Is(err, provision.ErrNoWork) {
		if op != nil {
			t.Fatalf("ClaimOperation(%q) = %q (state %s, worker %q), %v; want ErrNoWork", worker, op.ID, op.State, op.Worker, err)
		}
		t.Fatalf("ClaimOperation(%q): %v, want ErrNoWork", worker, err)
	}
}

// sameMap treats nil and empty maps as equal.
func sameMap(a, b map[string]string) bool { return len(a) == len(b) && maps.Equal(a, b) }

// The suite writes an operation's Input and Data as JSON objects of
// strings; a store keeps them as JSON (it may reformat them).

func obj(m map[string]string) json.RawMessage {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// fields decodes a JSON object of strings (nil for null or empty).
func fields(raw json.RawMessage) map[string]string {
	var m map[string]string
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &m)
	}
	return m
}

// field is one string of a JSON object.
func field(raw json.RawMessage, key string) string { return fields(raw)[key] }

// setField sets key in the JSON object *raw (a new slice: the old bytes
// are not changed).
func setField(raw *json.RawMessage, key, value string) {
	m := fields(*raw)
	if m == nil {
		m = map[string]string{}
	}
	m[key] = value
	*raw = obj(m)
}

// scribble overwrites b in place, to show the store kept no reference to
// it.
func scribble(b []byte) {
	for i := range b {
		b[i] = 'x'
	}
}

// sameJSON reports whether a and b hold the same JSON value (nil and null
// are the same).
func sameJSON(a, b json.RawMessage) bool {
	var va, vb any
	if len(a) > 0 && json.Unmarshal(a, &va) != nil {
		return false
	}
	if len(b) > 0 && json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// diffOp describes how got differs from want in the fields the caller
// controls or the store counts (not timestamps or the lease time).
func diffOp(got, want *provision.Operation) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s = %v, want %v", field, g, w)) }
	if got.ID != want.ID {
		add("ID", got.ID, want.ID)
	}
	if got.ServiceID != want.ServiceID {
		add("ServiceID", got.ServiceID, want.ServiceID)
	}
	if got.Kind != want.Kind {
		add("Kind", got.Kind, want.Kind)
	}
	if got.State != want.State {
		add("State", got.State, want.State)
	}
	if got.Step != want.Step {
		add("Step", got.Step, want.Step)
	}
	if !sameJSON(got.Input, want.Input) {
		add("Input", string(got.Input), string(want.Input))
	}
	if !sameJSON(got.Data, want.Data) {
		add("Data", string(got.Data), string(want.Data))
	}
	if got.Error != want.Error {
		add("Error", got.Error, want.Error)
	}
	if got.Attempts != want.Attempts {
		add("Attempts", got.Attempts, want.Attempts)
	}
	if got.Worker != want.Worker {
		add("Worker", got.Worker, want.Worker)
	}
	if got.Version != want.Version {
		add("Version", got.Version, want.Version)
	}
	return fmt.Sprint(d)
}

func sameOp(t *testing.T, what string, got, want *provision.Operation) {
	t.Helper()
	if d := diffOp(got, want); d != "[]" {
		t.Fatalf("%s: %s", what, d)
	}
}

func opIDs(ops []*provision.Operation) []string {
	ids := make([]string, len(ops))
	for i, op := range ops {
		ids[i] = op.ID
	}
	sort.Strings(ids)
	return ids
}

// near reports whether t is within clockSlack of want.
func near(t, want time.Time) bool {
	d := t.Sub(want)
	return d > -clockSlack && d < clockSlack
}

// eventually polls cond every 10 ms until it returns true or the deadline
// passes.
func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v", what, waitFor)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("%s: %v", what, t.Context().Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// race runs fn(i) for i in [0, n) in n goroutines released at once and
// returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one error is nil and all others match loser.
func oneWinner(t *testing.T, what string, errs []error, loser ...error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("%s: both %d and %d succeeded", what, winner, i)
		case err == nil:
			winner = i
		default:
			ok := false
			for _, l := range loser {
				ok = ok || errors.Is(err, l)
			}
			if !ok {
				t.Fatalf("%s: goroutine %d: unexpected error %v (want %v)", what, i, err, loser)
			}
		}
	}
	if winner < 0 {
		t.Fatalf("%s: nobody succeeded", what)
	}
	return winner
}
