package provision_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/provision"
)

// slowWaitStore makes the record of a wait's start slow: the
// UpdateOperation that checkpoints the install wait takes 3 s (a loaded
// database), the one that records the step before it 100 ms.
type slowWaitStore struct {
	provision.Store
	mu    sync.Mutex
	saves int
}

func (s *slowWaitStore) UpdateOperation(ctx context.Context, op *provision.Operation) error {
	if op.Step == "wait_install" {
		s.mu.Lock()
		s.saves++
		n := s.saves
		s.mu.Unlock()
		switch n {
		case 1:
			time.Sleep(100 * time.Millisecond)
		case 2:
			time.Sleep(3 * time.Second)
		}
	}
	return s.Store.UpdateOperation(ctx, op)
}

// openNoticed opens one dedicated order on e and returns when the engine
// finished its install wait (the time under mu, the lock the caller's hooks
// share).
func openNoticed(t *testing.T, e *provision.Engine, mu *sync.Mutex) func() time.Time {
	t.Helper()
	var seen time.Time
	e.Subscribe(func(ev provision.Event) {
		if ev.Type == provision.EventStepFinished && ev.Step == "wait_install" {
			mu.Lock()
			seen = time.Now()
			mu.Unlock()
		}
	})
	op, err := e.Open(t.Context(), openReq("1", tariffDedic))
	require.NoError(t, err)
	require.Equal(t, provision.StateDone, op.State)
	return func() time.Time { return seen }
}

// TestWaitIgnoresProgressReadBeforeCheckpoint: the install wait's first
// poll reads the panel's progress (1 % of a 10 s install) before the wait's
// start is recorded; when that record takes 3 s, the stale 1 % read with
// 3 s elapsed must not make the wait expect a 300 s install and pause for
// minutes: the end of the install is noticed within max(1 s, 2 %) as
// usual. Time is the synctest bubble's fake time.
func TestWaitIgnoresProgressReadBeforeCheckpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, 1)
		v.dc.PowerDelay, v.dc.InstallDelay = 0, 10*time.Second
		var mu sync.Mutex
		var installed time.Time
		v.dc.AfterCall = func(method, _ string) {
			if method == "Install" {
				mu.Lock()
				installed = time.Now()
				mu.Unlock()
			}
		}
		e := v.engine("w", func(c *provision.Config) {
			c.Store = &slowWaitStore{Store: v.store}
			c.PollInterval, c.InstallTimeout, c.PowerTimeout, c.LeaseDuration = 10*time.Millisecond, time.Hour, time.Hour, time.Minute
		})
		seen := openNoticed(t, e, &mu)
		mu.Lock()
		defer mu.Unlock()
		require.False(t, installed.IsZero())
		lag := seen().Sub(installed.Add(10 * time.Second))
		assert.LessOrEqual(t, lag, time.Second, "the install's end is noticed late by %v", lag)
	})
}

// TestWaitProgressOfSlowPoll: a poll whose answer comes back late (the
// panel read 1 % of a 10 s install at 100 ms, the answer took 3 s more to
// arrive, as on an engine with a thousand orders and two CPUs) must not
// make the wait expect a 310 s install and sleep through its end: the
// progress is restated as of the answer's arrival, and the end of the
// install is noticed within max(1 s, 2 %). Time is the synctest bubble's.
func TestWaitProgressOfSlowPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, 1)
		v.dc.PowerDelay, v.dc.InstallDelay = 0, 10*time.Second
		var mu sync.Mutex
		var installed time.Time
		slowed := false
		v.dc.AfterCall = func(method, _ string) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case method == "Install":
				installed = time.Now()
			case method == "InstallStatus" && !slowed && !installed.IsZero() && time.Since(installed) >= 100*time.Millisecond:
				slowed = true
				time.Sleep(3 * time.Second)
			}
		}
		e := v.engine("w", func(c *provision.Config) {
			c.PollInterval, c.InstallTimeout, c.PowerTimeout, c.LeaseDuration = 10*time.Millisecond, time.Hour, time.Hour, time.Minute
		})
		seen := openNoticed(t, e, &mu)
		mu.Lock()
		defer mu.Unlock()
		require.True(t, slowed)
		lag := seen().Sub(installed.Add(10 * time.Second))
		assert.LessOrEqual(t, lag, time.Second, "the install's end is noticed late by %v", lag)
	})
}
