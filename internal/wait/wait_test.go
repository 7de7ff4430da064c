package wait_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/wait"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// drive runs fn through its pauses on the fake clock (Fake.Drive); it
// returns fn's error and the pauses it saw.
func drive(t *testing.T, clk *wait.Fake, fn func() error) (error, []time.Duration) {
	t.Helper()
	pauses, err := clk.Drive(t.Context(), fn)
	return err, pauses
}

func TestUntilDone(t *testing.T) {
	t.Parallel()
	clk := wait.NewFake(t0)
	polls := 0
	var got int
	err, pauses := drive(t, clk, func() error {
		v, err := wait.Until(t.Context(), wait.Options{Clock: clk, Schedule: wait.Constant(5 * time.Second)},
			func(context.Context) (int, bool, error) {
				polls++
				return polls * 10, polls == 3, nil
			})
		got = v
		return err
	})
	require.NoError(t, err)
	assert.Equal(t, 30, got)
	assert.Equal(t, []time.Duration{5 * time.Second, 5 * time.Second}, pauses)
	assert.Equal(t, t0.Add(10*time.Second), clk.Now())
}

// The deadline counts from Start: a wait that began 50 s ago with a 60 s
// timeout ends 10 s from now, with the last pause cut to the deadline.
func TestUntilDeadlineFromStart(t *testing.T) {
	t.Parallel()
	clk := wait.NewFake(t0)
	polls := 0
	err, pauses := drive(t, clk, func() error {
		_, err := wait.Until(t.Context(), wait.Options{What: "OS install", Clock: clk, Start: t0.Add(-50 * time.Second),
			Timeout: time.Minute, Schedule: wait.Constant(4 * time.Second)},
			func(context.Context) (struct{}, bool, error) { polls++; return struct{}{}, false, nil })
		return err
	})
	var we *wait.Error
	require.ErrorAs(t, err, &we)
	assert.Equal(t, wait.TimedOut, we.Reason)
	assert.ErrorIs(t, err, wait.ErrTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, time.Minute, we.Elapsed)
	assert.Equal(t, []time.Duration{4 * time.Second, 4 * time.Second, 2 * time.Second}, pauses)
	assert.Equal(t, 4, polls)
	assert.Equal(t, t0.Add(10*time.Second), clk.Now(), "the wait ends at the original deadline")
	assert.Contains(t, err.Error(), "OS install: timed out after 1m0s")
}

func TestUntilPastDeadlineChecksOnce(t *testing.T) {
	t.Parallel()
	clk := wait.NewFake(t0)
	polls := 0
	_, err := wait.Until(t.Context(), wait.Options{Clock: clk, Start: t0.Add(-time.Hour), Timeout: time.Minute},
		func(context.Context) (int, bool, error) { polls++; return 0, polls > 1, nil })
	require.ErrorIs(t, err, wait.ErrTimeout)
	assert.Equal(t, 1, polls)

	// Done on that one check is success.
	_, err = wait.Until(t.Context(), wait.Options{Clock: clk, Start: t0.Add(-time.Hour), Timeout: time.Minute},
		func(context.Context) (int, bool, error) { return 0, true, nil })
	require.NoError(t, err)
}

// A check that began before the deadline and answered after it (a slow
// answer, a paused process) saw the state from before the deadline: the
// wait looks once more, at once, before it gives up, and succeeds when
// that look sees it done.
func TestUntilLooksOnceMoreWhenTheDeadlinePassedDuringACheck(t *testing.T) {
	t.Parallel()
	for _, doneOnSecond := range []bool{false, true} {
		clk := wait.NewFake(t0)
		polls := 0
		_, err := wait.Until(t.Context(), wait.Options{Clock: clk, Timeout: time.Minute},
			func(context.Context) (int, bool, error) {
				polls++
				if polls == 1 {
					clk.Set(t0.Add(2 * time.Minute)) // the answer comes after the deadline
					return 0, false, nil
				}
				return 0, doneOnSecond, nil
			})
		assert.Equal(t, 2, polls, "one look after the deadline")
		assert.Equal(t, t0.Add(2*time.Minute), clk.Now(), "no pause before the last look")
		if doneOnSecond {
			assert.NoError(t, err)
			continue
		}
		var we *wait.Error
		require.ErrorAs(t, err, &we)
		assert.Equal(t, wait.TimedOut, we.Reason)
		assert.Equal(t, 2, we.Polls)
	}
}

// A pause ends at the moment the schedule meant (the look's time plus the
// pause), also when time passed between the look and the sleep (a stalled
// process; here the schedule itself takes 2 minutes): the next look is
// not pushed later, and never past the deadline.
func TestUntilPauseEndsWhenPlanned(t *testing.T) {
	t.Parallel()
	clk := wait.NewFake(t0)
	var looks []time.Time
	stall := func(r wait.Round) time.Duration {
		clk.Advance(2 * time.Minute)
		return 5 * time.Minute
	}
	done := make(chan error, 1)
	go func() {
		_, err := wait.Until(t.Context(), wait.Options{Clock: clk, Timeout: 6 * time.Minute, Schedule: stall},
			func(context.Context) (int, bool, error) {
				looks = append(looks, clk.Now())
				return 0, false, nil
			})
		done <- err
	}()
	// The first pause was planned at t0 to end at t0+5m; the stall moved
	// the clock to t0+2m before the sleep began.
	p, err := clk.WaitPending(t.Context(), 1)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(5*time.Minute), p[0], "the pause ends when it was planned to")
	clk.Set(p[0])
	// The second pause, planned at t0+5m, is cut to the deadline (t0+6m);
	// the stall moved the clock to t0+7m already: no sleep, one more look.
	err = <-done
	require.ErrorIs(t, err, wait.ErrTimeout)
	assert.Equal(t, []time.Time{t0, t0.Add(5 * time.Minute), t0.Add(7 * time.Minute)}, looks)
}

func TestUntilErrors(t *testing.T) {
	t.Parallel()
	transient := errors.New("connection reset")
	final := errors.New("operation failed")
	clk := wait.NewFake(t0)
	opts := wait.Options{Clock: clk, Schedule: wait.Constant(time.Second), MaxTransient: 2,
		Transient: func(err error) bool { return errors.Is(err, transient) }}

	// Two transient errors in a row are tolerated, the third ends it.
	polls := 0
	err, _ := drive(t, clk, func() error {
		_, err := wait.Until(t.Context(), opts, func(context.Context) (int, bool, error) { polls++; return 0, false, transient })
		return err
	})
	var we *wait.Error
	require.ErrorAs(t, err, &we)
	assert.Equal(t, wait.Failing, we.Reason)
	assert.ErrorIs(t, err, transient)
	assert.Equal(t, 3, polls)

	// A success resets the count.
	polls = 0
	err, _ = drive(t, clk, func() error {
		_, err := wait.Until(t.Context(), opts, func(context.Context) (int, bool, error) {
			polls++
			switch polls {
			case 1, 2, 4, 5:
				return 0, false, transient
			case 3:
				return 0, false, nil
			}
			return 0, true, nil
		})
		return err
	})
	require.NoError(t, err)
	assert.Equal(t, 6, polls)

	// A final error is returned as it is, with the value.
	v, err := wait.Until(t.Context(), opts, func(context.Context) (int, bool, error) { return 7, false, final })
	assert.Same(t, final, err)
	assert.Equal(t, 7, v)
}

func TestUntilCanceled(t *testing.T) {
	t.Parallel()
	clk := wait.NewFake(t0)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := wait.Until(ctx, wait.Options{Clock: clk, Schedule: wait.Constant(time.Hour)},
			func(context.Context) (int, bool, error) { return 0, false, nil })
		done <- err
	}()
	_, err := clk.WaitPending(t.Context(), 1)
	require.NoError(t, err)
	cancel()
	err = <-done
	var we *wait.Error
	require.ErrorAs(t, err, &we)
	assert.Equal(t, wait.Canceled, we.Reason)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, wait.ErrTimeout)

	// A check that fails because ctx ended is a cancellation too.
	_, err = wait.Until(ctx, wait.Options{Clock: clk}, func(ctx context.Context) (int, bool, error) { return 0, false, ctx.Err() })
	require.ErrorAs(t, err, &we)
	assert.Equal(t, wait.Canceled, we.Reason)
}

// The schedule sees the round: polls, elapsed and remaining time, and the
// progress the check reported.
func TestScheduleRound(t *testing.T) {
	t.Parallel()
	clk := wait.NewFake(t0)
	var rounds []wait.Round
	pct := -1
	err, _ := drive(t, clk, func() error {
		_, err := wait.Until(t.Context(), wait.Options{Clock: clk, Start: t0.Add(-10 * time.Second), Timeout: time.Minute,
			Progress: func() int { return pct },
			Schedule: func(r wait.Round) time.Duration { rounds = append(rounds, r); return 20 * time.Second }},
			func(context.Context) (int, bool, error) { pct += 40; return 0, pct > 100, nil })
		return err
	})
	require.NoError(t, err)
	require.Len(t, rounds, 2)
	assert.Equal(t, wait.Round{N: 1, Elapsed: 10 * time.Second, Remaining: 50 * time.Second, Progress: 39}, rounds[0])
	assert.Equal(t, wait.Round{N: 2, Elapsed: 30 * time.Second, Remaining: 30 * time.Second, Progress: 79}, rounds[1])
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	min, max := 100*time.Millisecond, time.Second
	b := wait.Backoff(min, max)
	assert.Equal(t, min, b(wait.Round{N: 1}), "the first pause is min")
	for n := 2; n < 12; n++ {
		ceil := min << (n - 1)
		if ceil > max {
			ceil = max
		}
		for range 50 {
			d := b(wait.Round{N: n})
			require.GreaterOrEqual(t, d, min)
			require.LessOrEqual(t, d, ceil, "round %d", n)
		}
	}
	assert.Equal(t, 5*time.Second, wait.Constant(5*time.Second)(wait.Round{N: 9}))
}

func TestSleep(t *testing.T) {
	t.Parallel()
	clk := wait.NewFake(t0)
	done := make(chan error, 1)
	go func() { done <- wait.Sleep(t.Context(), clk, time.Minute) }()
	p, err := clk.WaitPending(t.Context(), 1)
	require.NoError(t, err)
	assert.Equal(t, []time.Time{t0.Add(time.Minute)}, p)
	clk.Advance(59 * time.Second)
	select {
	case <-done:
		t.Fatal("woke early")
	default:
	}
	clk.Advance(time.Second)
	require.NoError(t, <-done)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, wait.Sleep(ctx, wait.System, time.Hour), context.Canceled)
	require.NoError(t, wait.Sleep(t.Context(), wait.System, 0))

	// The Fake's own Sleep pauses on it the same way.
	go func() { done <- clk.Sleep(t.Context(), time.Hour) }()
	p, err = clk.WaitPending(t.Context(), 1)
	require.NoError(t, err)
	assert.Equal(t, []time.Time{t0.Add(time.Minute + time.Hour)}, p)
	clk.Advance(time.Hour)
	require.NoError(t, <-done)
	require.ErrorIs(t, clk.Sleep(ctx, time.Hour), context.Canceled)
}

// Drive moves the clock through every pause of the call, in order, and
// stops when the call returns or its context ends.
func TestFakeDrive(t *testing.T) {
	t.Parallel()
	clk := wait.NewFake(t0)
	pauses, err := clk.Drive(t.Context(), func() error {
		for _, d := range []time.Duration{time.Second, time.Minute, 0, time.Hour} {
			if err := clk.Sleep(t.Context(), d); err != nil {
				return err
			}
		}
		return errors.New("done")
	})
	require.EqualError(t, err, "done")
	assert.Equal(t, []time.Duration{time.Second, time.Minute, time.Hour}, pauses, "a zero pause is no pause")
	assert.Equal(t, t0.Add(time.Hour+time.Minute+time.Second), clk.Now())

	ctx, cancel := context.WithCancel(t.Context())
	block := make(chan struct{})
	defer close(block)
	cancel()
	_, err = clk.Drive(ctx, func() error { <-block; return nil })
	require.ErrorIs(t, err, context.Canceled)
}

// Wake ends a pause early: the next poll comes at once.
func TestUntilWake(t *testing.T) {
	t.Parallel()
	clk := wait.NewFake(t0)
	wake := make(chan chan struct{}, 1)
	polls := make(chan int, 10)
	done := make(chan error, 1)
	n := 0
	go func() {
		_, err := wait.Until(t.Context(), wait.Options{Clock: clk, Schedule: wait.Constant(time.Hour),
			Wake: func() <-chan struct{} {
				ch := make(chan struct{})
				wake <- ch
				return ch
			}},
			func(context.Context) (int, bool, error) { n++; polls <- n; return n, n == 2, nil })
		done <- err
	}()
	require.Equal(t, 1, <-polls)
	close(<-wake)
	require.Equal(t, 2, <-polls)
	require.NoError(t, <-done)
	assert.Equal(t, t0, clk.Now(), "no time passed")
}

// TestShapedPolls: with the expected length known, a wait of 1 s, 30 s or
// 10 min is noticed within max(1 s, 2 %) of its end in a handful of polls;
// unknown, the pauses grow with the elapsed time and the lag stays within
// the same bound.
func TestShapedPolls(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		length, expect time.Duration
		maxPolls       int
	}{
		{time.Second, time.Second, 2},
		{30 * time.Second, 30 * time.Second, 3},
		{10 * time.Minute, 10 * time.Minute, 5},
		{2 * time.Hour, 2 * time.Hour, 5},
		{10 * time.Minute, 0, 200},              // nothing known: geometric
		{10 * time.Minute, 5 * time.Minute, 60}, // longer than expected
		{30 * time.Second, 10 * time.Minute, 4}, // shorter than expected: fewer polls, more lag
	} {
		clk := wait.NewFake(t0)
		polls := 0
		var lag time.Duration
		err, _ := drive(t, clk, func() error {
			_, err := wait.Until(t.Context(), wait.Options{Clock: clk,
				Schedule: wait.Shaped(time.Second, 2*time.Minute, func() time.Duration { return tc.expect })},
				func(context.Context) (struct{}, bool, error) {
					polls++
					el := clk.Now().Sub(t0)
					lag = el - tc.length
					return struct{}{}, el >= tc.length, nil
				})
			return err
		})
		require.NoError(t, err)
		assert.LessOrEqual(t, polls, tc.maxPolls, "%v expecting %v", tc.length, tc.expect)
		bound := max(time.Second, tc.length/wait.LagShare)
		if tc.expect > tc.length {
			bound = max(2*time.Minute, tc.expect/3) // the cap
		}
		assert.LessOrEqual(t, lag, bound, "%v expecting %v: lag", tc.length, tc.expect)
		t.Logf("%v expecting %v: %d polls, lag %v", tc.length, tc.expect, polls, lag)
	}
}

// TestShapedProgress: the reported progress stretches the expectation, so
// a long wait with progress needs few polls although nothing was expected.
func TestShapedProgress(t *testing.T) {
	t.Parallel()
	clk := wait.NewFake(t0)
	const length = 10 * time.Minute
	polls := 0
	err, _ := drive(t, clk, func() error {
		_, err := wait.Until(t.Context(), wait.Options{Clock: clk,
			Schedule: wait.Shaped(time.Second, 2*time.Minute, nil),
			Progress: func() int { return int(100 * clk.Now().Sub(t0) / length) }},
			func(context.Context) (struct{}, bool, error) {
				polls++
				return struct{}{}, clk.Now().Sub(t0) >= length, nil
			})
		return err
	})
	require.NoError(t, err)
	assert.Less(t, polls, 80)
	assert.LessOrEqual(t, clk.Now().Sub(t0)-length, length/wait.LagShare)
	t.Logf("%d polls", polls)
}
