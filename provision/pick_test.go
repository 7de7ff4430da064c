package provision_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/provision"
)

// reserveCounter counts Reserve calls.
type reserveCounter struct {
	provision.Store
	n atomic.Int64
}

func (c *reserveCounter) Reserve(ctx context.Context, r provision.Reservation) error {
	c.n.Add(1)
	return c.Store.Reserve(ctx, r)
}

// TestConcurrentPicksShareOneRead: 64 orders that pick at once share the
// panel's server list and never collide on a server: the orders that
// joined the first round before its read began share it, those that
// arrived while it was held (its read is held until every order waits)
// share one more, so the 64 cost at most two reads, however the
// goroutines were scheduled. Every order reserves once (no Reserve
// refused) and gets its own server. The synctest bubble's Wait tells when
// every order is queued.
func TestConcurrentPicksShareOneRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 64
		v := newEnv(t, n)
		v.dc.PowerDelay, v.dc.InstallDelay = 0, 0
		rc := &reserveCounter{Store: v.store}
		release := make(chan struct{})
		var lists atomic.Int64
		v.dc.BeforeCall = func(method, _ string) error {
			if method == "ListServers" && lists.Add(1) == 1 {
				<-release
			}
			return nil
		}
		e := v.engine("w", func(c *provision.Config) {
			c.Store, c.Workers = rc, n
			c.LeaseDuration, c.InstallTimeout, c.PowerTimeout = time.Minute, time.Minute, time.Minute
		})
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = e.Open(t.Context(), openReq(strconv.Itoa(i+1), tariffDedic))
			})
		}
		synctest.Wait() // the first read is held, every other order waits to pick
		require.Equal(t, int64(1), lists.Load())
		close(release)
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		assert.LessOrEqual(t, lists.Load(), int64(2), "reads of the server list")
		assert.Equal(t, int64(n), rc.n.Load(), "Reserve calls: one per order, none refused")
		v.checkInvariants()
	})
}

// TestPickTakenElsewhere: a server another engine reserves between a
// round's read and its Reserve is not sold twice: the order joins the next
// round and gets the next server.
func TestPickTakenElsewhere(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 3)
	var once sync.Once
	v.dc.BeforeCall = func(method, _ string) error {
		if method == "ListServers" {
			once.Do(func() {
				require.NoError(t, v.store.Reserve(context.Background(), provision.Reservation{Backend: "dc1", ServerID: "1", OperationID: "elsewhere", ServiceID: "99"}))
			})
		}
		return nil
	}
	rc := &reserveCounter{Store: v.store}
	e := v.engine("w", func(c *provision.Config) { c.Store = rc })
	_, err := e.Open(context.Background(), openReq("1", tariffDedic))
	require.NoError(t, err)
	assert.Equal(t, "2", v.service("1").Properties[provision.PropServerID])
	assert.Equal(t, int64(2), rc.n.Load(), "the refused Reserve and the next")
}
