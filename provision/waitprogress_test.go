package provision_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/provision"
)

// slowWaitStore makes the record of the install wait's start slow: the
// first UpdateOperation at wait_install (the install step's transition,
// which carries the wait's start) takes 3 s, as on a loaded database. It
// also keeps what every such record carried.
type slowWaitStore struct {
	provision.Store
	mu    sync.Mutex
	saves []json.RawMessage
}

func (s *slowWaitStore) UpdateOperation(ctx context.Context, op *provision.Operation) error {
	if op.Step == "wait_install" {
		s.mu.Lock()
		s.saves = append(s.saves, slices.Clone(op.Data))
		n := len(s.saves)
		s.mu.Unlock()
		if n == 1 {
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

// TestInstallWaitAfterSlowRecordOfItsStart: the install step records the
// install wait's start with its own transition, and the wait records
// nothing more (one write per order fewer than a checkpoint of its own).
// When that record takes 3 s, the wait's first poll reads the progress of
// a 10 s install 3 s after its start; the wait must not expect a longer
// install from it and pause through the end: the end is noticed within
// max(1 s, 2 %) as usual, and the deadline counts from the install's
// start. Time is the synctest bubble's fake time.
func TestInstallWaitAfterSlowRecordOfItsStart(t *testing.T) {
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
		st := &slowWaitStore{Store: v.store}
		e := v.engine("w", func(c *provision.Config) {
			c.Store = st
			c.PollInterval, c.InstallTimeout, c.PowerTimeout, c.LeaseDuration = 10*time.Millisecond, time.Hour, time.Hour, time.Minute
		})
		seen := openNoticed(t, e, &mu)
		mu.Lock()
		defer mu.Unlock()
		require.False(t, installed.IsZero())
		lag := seen().Sub(installed.Add(10 * time.Second))
		assert.LessOrEqual(t, lag, time.Second, "the install's end is noticed late by %v", lag)

		st.mu.Lock()
		defer st.mu.Unlock()
		require.Len(t, st.saves, 1, "the install wait records no checkpoint of its own: %s", st.saves)
		var rec struct {
			State struct {
				InstallStarted time.Time `json:"install_started"`
				Waits          struct {
					Install time.Time `json:"install"`
				} `json:"waits"`
			} `json:"state"`
		}
		require.NoError(t, json.Unmarshal(st.saves[0], &rec))
		d := rec.State
		assert.False(t, d.InstallStarted.IsZero())
		assert.True(t, d.Waits.Install.Equal(d.InstallStarted), "the wait begins with the install: %v, %v", d.Waits.Install, d.InstallStarted)
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
