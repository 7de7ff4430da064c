package provision_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/provision"
)

// claimCounter counts the claims made on a Store.
type claimCounter struct {
	provision.Store
	n     atomic.Int64 // claims
	empty atomic.Int64 // claims that found nothing
}

func (c *claimCounter) ClaimOperation(ctx context.Context, worker string, lease time.Duration) (*provision.Operation, error) {
	c.n.Add(1)
	op, err := c.Store.ClaimOperation(ctx, worker, lease)
	if errors.Is(err, provision.ErrNoWork) {
		c.empty.Add(1)
	}
	return op, err
}

// TestIdleEngineClaimsOncePerInterval: an engine with eight idle workers
// makes one claim at start and one per ClaimInterval, not one per worker
// and never a chain of wake-ups; between claims every goroutine is
// blocked (synctest.Wait returns only then), so an idle engine costs no
// CPU. Time is the synctest bubble's fake time.
func TestIdleEngineClaimsOncePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, 1)
		cc := &claimCounter{Store: v.store}
		e := v.engine("idle", func(c *provision.Config) {
			c.Store, c.Workers, c.ClaimInterval = cc, 8, time.Second
		})
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { _ = e.Run(ctx) })
		synctest.Wait()
		assert.Equal(t, int64(1), cc.n.Load(), "one claim at start")
		for i := range 10 {
			time.Sleep(time.Second)
			synctest.Wait()
			assert.Equal(t, int64(i+2), cc.n.Load(), "one claim per interval after %d s", i+1)
		}
		cancel()
		wg.Wait()
	})
}

// TestWaitingOrderClaimsNothing: while one order waits for a 10-minute
// install, the engine keeps claiming once per ClaimInterval (the order is
// not claimed again), every goroutine sleeps between the wait's polls,
// and the wait polls the panel a few times, not every PollInterval.
func TestWaitingOrderClaimsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, 1)
		v.dc.PowerDelay, v.dc.InstallDelay = time.Second, 10*time.Minute
		cc := &claimCounter{Store: v.store}
		e := v.engine("w", func(c *provision.Config) {
			c.Store, c.Workers, c.ClaimInterval = cc, 8, time.Minute
			c.PollInterval, c.InstallTimeout, c.PowerTimeout = time.Second, time.Hour, time.Hour
		})
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { _ = e.Run(ctx) })
		op, err := e.Submit(ctx, openReq("1", tariffDedic))
		require.NoError(t, err)
		time.Sleep(time.Minute / 2)
		synctest.Wait()
		claims, calls := cc.n.Load(), v.dc.Calls()
		require.Equal(t, "wait_install", mustOp(t, v, op.ID).Step)

		// Nine minutes into the install: the waiting order made no claim
		// (the engine's own ticks make one a minute), and the panel saw a
		// few polls.
		time.Sleep(9 * time.Minute)
		synctest.Wait()
		assert.LessOrEqual(t, cc.n.Load()-claims, int64(9), "claims while the order waits")
		assert.LessOrEqual(t, v.dc.Calls()-calls, int64(12), "panel calls while the install runs")

		done, err := e.Wait(ctx, op.ID)
		require.NoError(t, err)
		assert.Equal(t, provision.StateDone, done.State)
		cancel()
		wg.Wait()
	})
}

func mustOp(t *testing.T, v *env, id string) *provision.Operation {
	t.Helper()
	op, err := v.store.GetOperation(context.Background(), id)
	require.NoError(t, err)
	return op
}

// TestBurstClaimsOncePerOrder: a burst of submits costs at most one claim
// per order: an order submitted while a worker is free is handed to it
// without a claim, the others are claimed once each, and a worker that
// claims a submitted order does not make another claim to find out that
// nothing is left (on SQL stores a claim is a write). The one claim that
// finds nothing is the look at start. Time is the synctest bubble's fake
// time; the claim ticker (a minute) never fires.
func TestBurstClaimsOncePerOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 64
		v := newEnv(t, n)
		v.dc.PowerDelay, v.dc.InstallDelay = 0, 0
		cc := &claimCounter{Store: v.store}
		e := v.engine("burst", func(c *provision.Config) {
			c.Store, c.Workers, c.ClaimInterval = cc, 8, time.Minute
			c.LeaseDuration, c.InstallTimeout, c.PowerTimeout = time.Hour, time.Hour, time.Hour
		})
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { _ = e.Run(ctx) })
		synctest.Wait()
		require.Equal(t, int64(1), cc.n.Load(), "the look at start")
		ids := make([]string, n)
		for i := range n {
			op, err := e.Submit(ctx, openReq(fmt.Sprint(i+1), tariffDedic))
			require.NoError(t, err)
			ids[i] = op.ID
		}
		for _, id := range ids {
			op, err := e.Wait(ctx, id)
			require.NoError(t, err)
			require.Equal(t, provision.StateDone, op.State)
		}
		assert.Equal(t, int64(1), cc.empty.Load(), "claims that found nothing")
		// The first eight submits found all eight workers free.
		assert.LessOrEqual(t, cc.n.Load(), int64(1+n-8), "claims")
		for _, id := range ids {
			assert.Equal(t, 1, mustOp(t, v, id).Attempts, "claims of %s, a hand-off counted as one", id)
		}
		cancel()
		wg.Wait()
		v.checkInvariants()
	})
}
