package provision_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/memstore"
)

// stuckClock is the env's clock whose timers never fire: a run's lease
// watcher, which wakes on such a timer, never notices on its own that the
// lease ran out. That is the moment a paused worker wakes in: its clock
// has jumped, its goroutines run again, and the watcher has not run yet.
type stuckClock struct{ *clock }

func (c stuckClock) After(time.Duration) <-chan time.Time { return nil }

// A worker paused past its lease, whose operation another worker has
// claimed since, wakes before its lease watcher does and goes on with the
// step it was in. The Store writes that step would make belong to an
// operation it no longer runs and must not be made. The run finds out from
// the clock, not from its context.
//
//   - pick: paused while it read the server list, its reservation would
//     keep a server out of sale (the new worker runs the pick again and
//     reserves its own);
//   - claim: paused while it read its server, which meanwhile looks taken
//     outside the engine, it would drop the reservation the new worker
//     holds under the same operation, and another order could take the
//     server before the new worker looked at it.
func TestStaleRunWritesNoReservation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		method string // where the worker is paused
		during func(v *env)
		want   func(t *testing.T, res []provision.Reservation, opID string)
	}{
		{name: "pick", method: "ListServers",
			want: func(t *testing.T, res []provision.Reservation, _ string) {
				assert.Empty(t, res, "the stale run reserved a server for an operation it no longer runs")
			}},
		{name: "claim", method: "GetServer",
			during: func(v *env) { v.dc.SetOwnerDirect("1", "999") },
			want: func(t *testing.T, res []provision.Reservation, opID string) {
				require.Len(t, res, 1, "the stale run dropped the reservation the new claim holds")
				assert.Equal(t, "1", res[0].ServerID)
				assert.Equal(t, opID, res[0].OperationID)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			staleRun(t, tc.method, tc.during, tc.want)
		})
	}
}

func staleRun(t *testing.T, method string, during func(*env), want func(*testing.T, []provision.Reservation, string)) {
	v := newEnv(t, 3)
	var (
		once           sync.Once
		paused, resume = make(chan struct{}), make(chan struct{})
	)
	v.dc.BeforeCall = func(m, _ string) error {
		if m == method {
			once.Do(func() { close(paused); <-resume })
		}
		return nil
	}
	claimed := pastItsLease(t, v, nil, paused, resume, func() {
		if during != nil {
			during(v)
		}
	})
	ctx := t.Context()
	res, err := v.store.Reservations(ctx, "")
	require.NoError(t, err)
	want(t, res, claimed.ID)
	op, err := v.store.GetOperation(ctx, claimed.ID)
	require.NoError(t, err)
	assert.Equal(t, claimed.Version, op.Version, "the stale run recorded nothing")
	assert.Equal(t, "B", op.Worker)
}

// pastItsLease opens an order on engine A (one worker, the stuck clock,
// mod's changes) and, once the order is paused (paused closed), lets its
// lease run out on the Store's clock and worker B claim the operation, so
// that A's claim is no longer the current one; then it runs during, lets
// A go on (closes resume) and checks that A stops for its lease. It
// returns B's claim.
func pastItsLease(t *testing.T, v *env, mod func(*provision.Config), paused, resume chan struct{}, during func()) *provision.Operation {
	t.Helper()
	a := v.engine("A", func(c *provision.Config) {
		c.Workers = 1
		c.Clock = stuckClock{v.clock}
		if mod != nil {
			mod(c)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := a.Open(ctx, openReq("41", tariffDedic))
		done <- err
	}()
	select {
	case <-paused:
	case err := <-done:
		t.Fatalf("the order finished (%v) before the pause", err)
	}
	v.clock.Advance(3 * time.Second)
	claimed, err := v.store.ClaimOperation(ctx, "B", time.Minute)
	require.NoError(t, err)
	require.Equal(t, "41", claimed.ServiceID)
	require.Equal(t, 2, claimed.Attempts)
	during()
	close(resume)
	select {
	case err := <-done:
		require.ErrorIs(t, err, provision.ErrLeaseLost)
	case <-ctx.Done():
		t.Fatal("A did not stop")
	}
	return claimed
}

// pausingStore pauses the first call of one fenced write (method) before
// it reaches the Store: the run has checked its lease, and is paused right
// before the write.
type pausingStore struct {
	*memstore.Store
	method         string
	once           sync.Once
	paused, resume chan struct{}
}

func (p *pausingStore) pause(method string) {
	if method == p.method {
		p.once.Do(func() { close(p.paused); <-p.resume })
	}
}

func (p *pausingStore) ReserveFenced(ctx context.Context, f provision.Fence, r provision.Reservation) error {
	p.pause("ReserveFenced")
	return p.Store.ReserveFenced(ctx, f, r)
}

func (p *pausingStore) PutServiceFenced(ctx context.Context, f provision.Fence, s *provision.Service) error {
	p.pause("PutServiceFenced")
	return p.Store.PutServiceFenced(ctx, f, s)
}

// A worker paused between its lease check and a Store write itself, past
// its lease, while another worker claims the operation: only the Store can
// refuse the write then, by the claim it is made under
// (provision.FencedStore). The first reservation of the order, and its
// first record on the service (Ordered → Processing): neither, nor
// anything after it, reaches the Store.
func TestStaleWriteRefusedByTheStore(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"ReserveFenced", "PutServiceFenced"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, 3)
			ps := &pausingStore{Store: v.store.(*memstore.Store), method: method, paused: make(chan struct{}), resume: make(chan struct{})}
			var atPause *provision.Service
			pastItsLease(t, v, func(c *provision.Config) { c.Store = ps }, ps.paused, ps.resume, func() { atPause = v.service("41") })
			res, err := v.store.Reservations(t.Context(), "")
			require.NoError(t, err)
			assert.Empty(t, res, "a reservation of a run whose claim was taken reached the Store")
			svc := v.service("41")
			assert.Equal(t, atPause.Version, svc.Version, "a record on the service of a run whose claim was taken reached the Store")
			assert.Equal(t, atPause.Status, svc.Status)
		})
	}
}
