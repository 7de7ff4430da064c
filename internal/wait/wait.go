// Package wait is ispkit's one polling loop: the DCImanager 5 and 6
// waiters and the provisioning engine's waits (power-on, OS install,
// reachability) all run [Until].
//
// A wait polls a check until it reports done, fails, runs past its
// deadline or its context ends. Between polls it pauses for what the
// [Schedule] says: capped exponential backoff with full jitter
// ([Backoff]), a constant interval ([Constant]), or any function of the
// [Round] — how many polls were made, how long the wait has lasted, how
// much is left, the progress the check last reported — so a caller can
// shape the interval by the expected duration without another loop.
//
// The deadline is measured from [Options.Start], not from the call: a
// caller that records when a wait began (the engine keeps it in its
// Store) continues the same deadline after a crash or a retry. Time comes
// from a [Clock], so tests drive waits with [Fake] instead of sleeping.
//
// Every way a wait gives up is one error type, [*Error], whose Reason
// says which: the context ended ([Canceled]), the deadline passed
// ([TimedOut]) or the check kept failing ([Failing]). A check error that
// is not transient is returned as it is.
package wait

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Clock is the time source of a wait.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// System is the wall clock.
var System Clock = systemClock{}

// Round is what a Schedule knows when it picks the next pause.
type Round struct {
	// N is the number of polls made so far (1 after the first).
	N int
	// Elapsed is the time since the wait began (Options.Start).
	Elapsed time.Duration
	// Remaining is the time left before the deadline; negative when the
	// wait has no deadline.
	Remaining time.Duration
	// Progress is what Options.Progress last reported (0..100), or -1.
	Progress int
}

// Schedule returns the pause before the next poll. Until never pauses past
// the deadline, whatever the schedule says.
type Schedule func(Round) time.Duration

// Constant pauses d between polls.
func Constant(d time.Duration) Schedule {
	return func(Round) time.Duration { return d }
}

// Backoff is capped exponential backoff with full jitter: the pause after
// poll n is a random duration between min and min·2^(n-1), never more than
// max (the first pause is min).
func Backoff(min, max time.Duration) Schedule {
	return func(r Round) time.Duration { return Jitter(min, max, r.N-1) }
}

// Jitter is the pause of Backoff before retry attempt (0-based).
func Jitter(min, max time.Duration, attempt int) time.Duration {
	ceil := min
	for i := 0; i < attempt && ceil < max; i++ {
		ceil *= 2
	}
	ceil = minDur(ceil, max)
	if ceil <= min {
		return min
	}
	return min + rand.N(ceil-min)
}

func minDur(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

// Reason says why a wait gave up.
type Reason int

// Reasons of an *Error.
const (
	// Canceled: the context ended; Err is its error.
	Canceled Reason = iota + 1
	// TimedOut: the deadline (Options.Start + Options.Timeout) passed.
	TimedOut
	// Failing: more consecutive transient check errors than
	// Options.MaxTransient; Err is the last one.
	Failing
)

// ErrTimeout is matched by an *Error whose Reason is TimedOut (which also
// matches context.DeadlineExceeded).
var ErrTimeout = errors.New("wait: timed out")

// Error is a wait that gave up.
type Error struct {
	// What names the wait ("OS install").
	What   string
	Reason Reason
	// Polls is the number of checks made.
	Polls int
	// Elapsed is the time since the wait began.
	Elapsed time.Duration
	// Err is the context's error (Canceled) or the last check error
	// (Failing); nil for TimedOut.
	Err error
	// Last is the error of the check that ended the wait (nil when the
	// wait ended during a pause or after a successful check).
	Last error
}

// Error implements error.
func (e *Error) Error() string {
	what := e.What
	if what == "" {
		what = "wait"
	}
	switch e.Reason {
	case TimedOut:
		return fmt.Sprintf("%s: timed out after %s (%d polls)", what, e.Elapsed.Round(time.Millisecond), e.Polls)
	case Failing:
		return fmt.Sprintf("%s: %d polls, the last ones failed: %v", what, e.Polls, e.Err)
	}
	return fmt.Sprintf("%s: %v (%d polls)", what, e.Err, e.Polls)
}

// Unwrap returns ErrTimeout and context.DeadlineExceeded for a timeout,
// else Err.
func (e *Error) Unwrap() []error {
	if e.Reason == TimedOut {
		return []error{ErrTimeout, context.DeadlineExceeded}
	}
	if e.Err == nil {
		return nil
	}
	return []error{e.Err}
}

// Options tune Until. The zero value polls with Backoff(time.Second,
// 30*time.Second) on the wall clock, without a deadline of its own, and
// returns the first check error.
type Options struct {
	// What names the wait in errors.
	What string
	// Clock is the time source; nil is System.
	Clock Clock
	// Start is when the wait began; zero is now. The deadline and
	// Round.Elapsed count from it.
	Start time.Time
	// Timeout, when positive, sets the deadline Start + Timeout. The
	// check runs at least once, also when the deadline has already
	// passed, and the wait gives up only after a check that began at or
	// after the deadline: when the deadline passes during a check (or
	// before the pause after it), the wait checks once more, at once.
	Timeout time.Duration
	// Schedule picks the pauses; nil is Backoff(time.Second, 30*time.Second).
	Schedule Schedule
	// Transient reports whether a check error is worth another poll; nil
	// treats every error as final.
	Transient func(error) bool
	// MaxTransient is how many transient errors in a row are tolerated;
	// the next one ends the wait with Reason Failing.
	MaxTransient int
	// Progress, when set, is read after every successful check for
	// Round.Progress (0..100, or -1 when unknown).
	Progress func() int
	// Wake, when set, is asked before every pause for a channel that ends
	// the pause early when it is closed (something changed: poll now).
	Wake func() <-chan struct{}
}

// Until calls check until it reports done (returning its value and nil),
// returns a final error (returned as it is, with the value), or the wait
// gives up with an *Error (returned with the last value).
func Until[T any](ctx context.Context, o Options, check func(context.Context) (T, bool, error)) (T, error) {
	clock := o.Clock
	if clock == nil {
		clock = System
	}
	sched := o.Schedule
	if sched == nil {
		sched = Backoff(time.Second, 30*time.Second)
	}
	start := o.Start
	if start.IsZero() {
		start = clock.Now()
	}
	var deadline time.Time
	if o.Timeout > 0 {
		deadline = start.Add(o.Timeout)
	}
	progress := -1
	fails := 0
	var last T
	var lastErr error
	for n := 1; ; n++ {
		looked := clock.Now()
		v, done, err := check(ctx)
		last = v
		switch {
		case err == nil:
			fails, lastErr = 0, nil
			if done {
				return v, nil
			}
			if o.Progress != nil {
				progress = o.Progress()
			}
		case ctx.Err() != nil:
			return v, &Error{What: o.What, Reason: Canceled, Polls: n, Elapsed: clock.Now().Sub(start), Err: ctx.Err(), Last: err}
		case o.Transient == nil || !o.Transient(err):
			return v, err
		default:
			fails++
			lastErr = err
			if fails > o.MaxTransient {
				return v, &Error{What: o.What, Reason: Failing, Polls: n, Elapsed: clock.Now().Sub(start), Err: err, Last: err}
			}
		}
		now := clock.Now()
		r := Round{N: n, Elapsed: now.Sub(start), Remaining: -1, Progress: progress}
		if !deadline.IsZero() {
			if !now.Before(deadline) {
				if looked.Before(deadline) {
					// The deadline passed during the check or right
					// after it (a slow answer, a paused process): what
					// it saw is from before the deadline, so the wait
					// looks once more before it gives up.
					continue
				}
				return last, &Error{What: o.What, Reason: TimedOut, Polls: n, Elapsed: r.Elapsed, Last: lastErr}
			}
			r.Remaining = deadline.Sub(now)
		}
		pause := max(sched(r), 0)
		if r.Remaining >= 0 {
			pause = minDur(pause, r.Remaining)
		}
		var wake <-chan struct{}
		if o.Wake != nil {
			wake = o.Wake()
		}
		// The pause ends at a moment, now + pause, not after pause from
		// whenever the sleep begins: time that passed since now (a stalled
		// process, a schedule or Wake that took long) is not added to it,
		// so the next look is never later than planned, nor past the
		// deadline.
		if err := sleepWake(ctx, clock, now.Add(pause).Sub(clock.Now()), wake); err != nil {
			return last, &Error{What: o.What, Reason: Canceled, Polls: n, Elapsed: clock.Now().Sub(start), Err: err}
		}
	}
}

// Sleep pauses d on clock, or until ctx ends (then it returns ctx.Err()).
func Sleep(ctx context.Context, clock Clock, d time.Duration) error {
	return sleepWake(ctx, clock, d, nil)
}

// sleepWake is Sleep that also ends when wake is closed.
func sleepWake(ctx context.Context, clock Clock, d time.Duration, wake <-chan struct{}) error {
	if clock == nil {
		clock = System
	}
	if d <= 0 {
		return ctx.Err()
	}
	var fire <-chan time.Time
	if clock == System {
		t := time.NewTimer(d)
		defer t.Stop()
		fire = t.C
	} else {
		fire = clock.After(d)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-fire:
	case <-wake:
	}
	return nil
}
