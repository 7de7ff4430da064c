package provision_test

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/wait"
	"github.com/ispkit/ispkit/provision"
)

// countingStore counts the calls of each Store method.
type countingStore struct {
	provision.Store
	mu sync.Mutex
	n  map[string]int
}

func (c *countingStore) count(m string) {
	c.mu.Lock()
	c.n[m]++
	c.mu.Unlock()
}

func (c *countingStore) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

func (c *countingStore) CreateOperation(ctx context.Context, op *provision.Operation) error {
	c.count("CreateOperation")
	return c.Store.CreateOperation(ctx, op)
}

func (c *countingStore) GetOperation(ctx context.Context, id string) (*provision.Operation, error) {
	c.count("GetOperation")
	return c.Store.GetOperation(ctx, id)
}

func (c *countingStore) UpdateOperation(ctx context.Context, op *provision.Operation) error {
	c.count("UpdateOperation")
	return c.Store.UpdateOperation(ctx, op)
}

func (c *countingStore) ListOperations(ctx context.Context, f provision.OperationFilter) ([]*provision.Operation, error) {
	c.count("ListOperations")
	return c.Store.ListOperations(ctx, f)
}

func (c *countingStore) ClaimOperation(ctx context.Context, worker string, lease time.Duration) (*provision.Operation, error) {
	c.count("ClaimOperation")
	return c.Store.ClaimOperation(ctx, worker, lease)
}

func (c *countingStore) RenewLease(ctx context.Context, opID, worker string, token int, lease time.Duration) error {
	c.count("RenewLease")
	return c.Store.RenewLease(ctx, opID, worker, token, lease)
}

func (c *countingStore) ReleaseLease(ctx context.Context, opID, worker string, token int) error {
	c.count("ReleaseLease")
	return c.Store.ReleaseLease(ctx, opID, worker, token)
}

func (c *countingStore) Reserve(ctx context.Context, r provision.Reservation) error {
	c.count("Reserve")
	return c.Store.Reserve(ctx, r)
}

func (c *countingStore) Unreserve(ctx context.Context, backend, serverID, operationID string) error {
	c.count("Unreserve")
	return c.Store.Unreserve(ctx, backend, serverID, operationID)
}

func (c *countingStore) Reservations(ctx context.Context, backend string) ([]provision.Reservation, error) {
	c.count("Reservations")
	return c.Store.Reservations(ctx, backend)
}

func (c *countingStore) PutService(ctx context.Context, s *provision.Service) error {
	c.count("PutService")
	return c.Store.PutService(ctx, s)
}

func (c *countingStore) GetService(ctx context.Context, id string) (*provision.Service, error) {
	c.count("GetService")
	return c.Store.GetService(ctx, id)
}

func (c *countingStore) ListServices(ctx context.Context, f provision.ServiceFilter) ([]*provision.Service, error) {
	c.count("ListServices")
	return c.Store.ListServices(ctx, f)
}

// TestStoreRoundTripsPerOpen counts the Store calls of one dedicated Open
// (and of a Suspend) whose lease is renewed on schedule: the lease checks
// before the panel writes add no round trip, and submitting no longer
// lists the service's operations first, and the run reads the service
// once (its own updates keep its copy current; an Open's run not at all:
// it starts from the service the Open recorded), and a step that only read
// is recorded with the next one. The engine's clock is a fake that
// does not move (the fakes answer at once), so no background renewal is
// due: the figures do not depend on the machine's speed.
//
//	go test ./provision -run TestStoreRoundTripsPerOpen -v
func TestStoreRoundTripsPerOpen(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 2)
	clk := wait.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	v.dc.Clock = clk.Now
	v.dc.PowerDelay, v.dc.InstallDelay = 0, 0
	cs := &countingStore{Store: v.store, n: map[string]int{}}
	var writes int
	var mu sync.Mutex
	v.dc.AfterCall = func(method, _ string) {
		switch method {
		case "ListServers", "GetServer", "InstallStatus", "ListIPs", "FindUser", "AdminUserID", "DescribeServer":
		default:
			mu.Lock()
			writes++
			mu.Unlock()
		}
	}
	e := v.engine("A", func(c *provision.Config) { c.Store, c.Clock = cs, clk })
	ctx := context.Background()

	for _, tc := range []struct {
		name string
		do   func() (*provision.Operation, error)
	}{
		{"open", func() (*provision.Operation, error) { return e.Open(ctx, openReq("1", tariffDedic)) }},
		{"suspend", func() (*provision.Operation, error) {
			return e.Suspend(ctx, provision.SuspendRequest{ServiceID: "1"})
		}},
	} {
		before := cs.counts()
		mu.Lock()
		w0 := writes
		mu.Unlock()
		steps0 := len(v.eventsOf(provision.EventStepFinished))
		op, err := tc.do()
		require.NoError(t, err)
		require.Equal(t, provision.StateDone, op.State)
		after := cs.counts()
		mu.Lock()
		w := writes - w0
		mu.Unlock()
		steps := len(v.eventsOf(provision.EventStepFinished)) - steps0
		var parts []string
		total := 0
		for m, n := range after {
			if d := n - before[m]; d > 0 {
				parts = append(parts, m+"="+strconv.Itoa(d))
				total += d
			}
		}
		sort.Strings(parts)
		t.Logf("%s: %d steps, %d panel writes, %d store calls: %s", tc.name, steps, w, total, strings.Join(parts, " "))
		require.Zero(t, after["RenewLease"]-before["RenewLease"], "%s: a lease renewed on schedule costs no round trip per write", tc.name)
		require.Zero(t, after["ReleaseLease"]-before["ReleaseLease"], "%s: the update that finishes the operation ends its lease", tc.name)
		require.Zero(t, after["ListOperations"]-before["ListOperations"], "%s: the Store enforces one unfinished operation; nothing is listed first", tc.name)
		require.Positive(t, w, "%s made panel writes", tc.name)
		if tc.name == "open" {
			require.Zero(t, after["GetService"]-before["GetService"], "open: the run starts from the service the Open recorded")
		} else {
			require.LessOrEqual(t, after["GetService"]-before["GetService"], 2, "%s: the service is read at most once to submit and once by the run", tc.name)
		}
		require.Less(t, after["UpdateOperation"]-before["UpdateOperation"], steps, "%s: steps that only read are recorded with the next one", tc.name)
	}
}

// leaseKeeper is a Store as the Store contract first had it: an update
// that finishes an operation keeps its lease (it reports the lease the
// operation had), and the holder releases it.
type leaseKeeper struct {
	provision.Store
	released atomic.Int64
}

func (k *leaseKeeper) UpdateOperation(ctx context.Context, op *provision.Operation) error {
	worker, until := op.Worker, op.LeaseUntil
	if err := k.Store.UpdateOperation(ctx, op); err != nil {
		return err
	}
	if op.State.Finished() {
		op.Worker, op.LeaseUntil = worker, until
	}
	return nil
}

func (k *leaseKeeper) ReleaseLease(ctx context.Context, opID, worker string, token int) error {
	k.released.Add(1)
	return nil // ended by the update already, in the Store underneath
}

// TestLeaseReleasedWhenTheStoreKeepsIt: with a Store that keeps the lease
// of a finished operation, the run releases it, and Wait still gets the
// operation as stored.
func TestLeaseReleasedWhenTheStoreKeepsIt(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	k := &leaseKeeper{Store: v.store}
	e := v.engine("A", func(c *provision.Config) { c.Store = k })
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Go(func() { _ = e.Run(ctx) })
	op, err := e.Submit(ctx, openReq("1", tariffDedic))
	require.NoError(t, err)
	done, err := e.Wait(ctx, op.ID)
	require.NoError(t, err)
	require.Equal(t, provision.StateDone, done.State)
	require.Equal(t, int64(1), k.released.Load(), "lease releases")
	stored, err := v.store.GetOperation(ctx, op.ID)
	require.NoError(t, err)
	require.Empty(t, stored.Worker)
	require.Equal(t, stored.Version, done.Version)
}
