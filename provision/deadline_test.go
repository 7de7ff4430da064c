package provision_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/internal/wait"
	"github.com/ispkit/ispkit/provision"
)

// tick fires the fake clock's pauses one after the other (jumping to the
// earliest) until stop is closed or the next one is after until. It
// advances only while at least n pauses are pending: the engines' lease
// watchers keep one pause each on the clock (also after their run ended:
// a fake's timer stays until it fires), so n counts those besides the
// wait being driven; with a lease of a day they never fire here.
func tick(t *testing.T, clk *wait.Fake, until time.Time, stop <-chan struct{}, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		select {
		case <-stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	for {
		p, err := clk.WaitPending(ctx, n)
		if err != nil {
			return
		}
		if p[0].After(until) {
			return
		}
		clk.Set(p[0])
	}
}

// TestInstallWaitSurvivesRestart stops an engine in the middle of an
// install wait and resumes the operation with another: the wait ends at
// the deadline counted from when it began, not from the restart.
func TestInstallWaitSurvivesRestart(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	clk := wait.NewFake(t0)
	v := newEnv(t, 1)
	v.dc.Clock = clk.Now
	v.dc.PowerDelay, v.dc.InstallDelay = 0, time.Hour // the install never ends in time
	const timeout, poll = 10 * time.Minute, 30 * time.Second
	cfg := func(c *provision.Config) {
		c.Clock, c.InstallTimeout, c.PollInterval = clk, timeout, poll
		c.LeaseDuration = 24 * time.Hour
	}

	// Engine A starts the Open and waits 4 minutes (fake time) for the
	// install, then stops.
	a := v.engine("A", cfg)
	ctx, stopA := context.WithCancel(context.Background())
	doneA := make(chan error, 1)
	go func() {
		_, err := a.Open(ctx, provision.OpenRequest{ServiceID: "1", TariffID: tariffDedic, OperationID: "op-1", Owner: "ann", Password: "pw"})
		doneA <- err
	}()
	tick(t, clk, t0.Add(4*time.Minute), whenDone(doneA), 2) // A's watcher and A's wait
	clk.Set(t0.Add(4 * time.Minute))                        // the schedule's pauses need not end there
	stopA()
	require.ErrorIs(t, <-doneA, provision.ErrInterrupted)
	op, err := v.store.GetOperation(context.Background(), "op-1")
	require.NoError(t, err)
	require.Equal(t, "wait_install", op.Step)
	st, err := provision.DecodeData(op)
	require.NoError(t, err)
	assert.True(t, st.(*provision.DedicatedState).Waits.Install.Equal(t0), "the wait's start is recorded: %v", st.(*provision.DedicatedState).Waits)
	require.Equal(t, t0.Add(4*time.Minute), clk.Now())

	// Engine B resumes; the install still runs. Its wait ends when the
	// original deadline passes.
	b := v.engine("B", cfg)
	var mu sync.Mutex
	var failedAt time.Time
	var polls int
	firstPoll := make(chan time.Time, 1)
	b.Subscribe(func(ev provision.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch ev.Type {
		case provision.EventServerFailed:
			failedAt = ev.Time
			assert.Contains(t, ev.Error, "OS install: timed out after 10m0s")
		case provision.EventInstallProgress:
			if polls++; polls == 1 {
				firstPoll <- ev.Time
			}
		}
	})
	resumed := make(chan error, 1)
	go func() { resumed <- b.Resume(context.Background()) }()
	// B looks at the install as soon as it resumes. Until then the clock
	// must not move: A's stopped wait left its pause on the fake clock,
	// and ticking past it first would skip B's first look.
	require.Equal(t, t0.Add(4*time.Minute), <-firstPoll, "B's first look at the install is at once")
	tick(t, clk, t0.Add(time.Hour), whenDone(resumed), 3) // the watchers of A and B, and B's wait or A's stale one
	require.NoError(t, <-resumed)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, t0.Add(timeout), failedAt, "the deadline is the original one (t0 + 10 min), not the restart's (t0 + 14 min)")
	assert.GreaterOrEqual(t, polls, 2, "B polled the running install until the deadline")
	op, err = v.store.GetOperation(context.Background(), "op-1")
	require.NoError(t, err)
	assert.Equal(t, provision.StateFailed, op.State)
	assert.True(t, errors.Is(causeOf(t, b, op), provision.ErrNoServer), op.Error)
	bad := v.dc.Server("1")
	assert.True(t, strings.Contains(bad.Notes, "OS install: timed out"), bad.Notes)
	assert.Equal(t, billing.StatusOrdered, v.service("1").Status)
	v.checkInvariants()
}

// doneA2 closes the returned channel when done receives (and puts the
// value back for the caller).
func whenDone(done chan error) <-chan struct{} {
	stop := make(chan struct{})
	go func() {
		err := <-done
		close(stop)
		done <- err
	}()
	return stop
}

func causeOf(t *testing.T, e *provision.Engine, op *provision.Operation) error {
	t.Helper()
	_, err := e.Wait(context.Background(), op.ID)
	return err
}
