package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// The lease as the run sees it. The Store ends a lease LeaseDuration after
// it granted or renewed it; the run counts the same duration from the
// moment, on the engine's clock, it sent the claim or the renewal (before
// the Store acted), so its leaseTill is never later than the Store's end
// as long as the two clocks run at the same rate. From that:
//
//   - the watcher renews every third of LeaseDuration; a renewal that
//     fails for any reason (lost, refused, store unreachable, too slow)
//     stops the run at once: the lease is in doubt;
//   - the watcher also stops the run when leaseTill minus the safety
//     margin comes without a renewal, so the run's context, under which
//     every panel call is made, ends before the lease can;
//   - run.write renews synchronously first when less than half the lease
//     is left (the background renewal is late), and writes nothing when
//     the run is stopped.

// leaseError is why a run stopped for its lease; it matches ErrLeaseLost.
type leaseError struct {
	reason string
	err    error
}

func (e *leaseError) Error() string {
	if e.err == nil {
		return "provision: " + e.reason
	}
	return "provision: " + e.reason + ": " + e.err.Error()
}

func (e *leaseError) Unwrap() []error {
	if e.err == nil {
		return []error{ErrLeaseLost}
	}
	return []error{ErrLeaseLost, e.err}
}

// leaseMargins: how often the watcher renews, how much lease a write
// needs left before it goes out without renewing first, and how long
// before leaseTill the run is stopped.
func (e *Engine) leaseMargins() (every, writeMin, safety time.Duration) {
	d := e.cfg.LeaseDuration
	return d / 3, d / 2, d / 5
}

// stop ends the run because its lease is lost or in doubt.
func (r *run) stop(err error) {
	r.log.LogAttrs(context.Background(), slog.LevelWarn, "lease lost or in doubt: run stopped", slog.Any("error", err))
	r.stopRun(err)
}

// renew renews the lease for the run's claim. On success leaseTill moves
// to the time read before the call plus LeaseDuration. The call is bounded
// by what is left of the lease (less the safety margin): a renewal still
// unanswered then is in doubt.
func (r *run) renew(ctx context.Context) error {
	_, _, safety := r.e.leaseMargins()
	t0 := r.now()
	r.mu.Lock()
	left := r.leaseTill.Add(-safety).Sub(t0)
	r.mu.Unlock()
	if left <= 0 {
		// Past the point where the lease may be gone: only a renewal the
		// Store accepts (nobody claimed since, the token proves it) lets
		// the run go on. Give it one lease's margin to answer.
		left = safety
	}
	rctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	err := r.e.store.RenewLease(rctx, r.op.ID, r.worker, r.token, r.e.cfg.LeaseDuration)
	if r.e.leaseHook != nil {
		r.e.leaseHook(r.op.ID, err)
	}
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return &leaseError{reason: fmt.Sprintf("lease of operation %s not renewed", r.op.ID), err: err}
	}
	r.mu.Lock()
	if till := t0.Add(r.e.cfg.LeaseDuration); till.After(r.leaseTill) {
		r.leaseTill = till
	}
	if t0.After(r.renewed) {
		r.renewed = t0
	}
	r.mu.Unlock()
	return nil
}

// watchLease renews the lease in the background and stops the run when a
// renewal fails or the lease runs out (see above) until stop is called.
func (r *run) watchLease(parent context.Context) (stop func()) {
	every, _, safety := r.e.leaseMargins()
	// The watcher's own context: stop also aborts a renewal in flight.
	ctx, cancel := context.WithCancel(parent)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			r.mu.Lock()
			next, cutoff := r.renewed.Add(every), r.leaseTill.Add(-safety)
			r.mu.Unlock()
			now := r.now()
			if !now.Before(next) {
				if err := r.renew(ctx); err != nil {
					select {
					case <-done:
					default:
						if ctx.Err() == nil {
							r.stop(err)
						}
					}
					return
				}
				continue
			}
			if !now.Before(cutoff) {
				r.stop(&leaseError{reason: fmt.Sprintf("lease of operation %s ran out", r.op.ID)})
				return
			}
			wake := next
			if cutoff.Before(wake) {
				wake = cutoff
			}
			// Counted to wake from the clock as the timer is set, not
			// from now: time that passed in between (a stalled process)
			// must not push the renewal or the cutoff later.
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-r.e.clock.After(wake.Sub(r.now())):
			}
		}
	}()
	return func() { close(done); cancel(); <-exited }
}

// holdLease is run.write's check: the run is not stopped, and at least
// half the lease is left (renewing first when not). An error means no
// write may be made; the run is stopped.
func (r *run) holdLease(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	_, writeMin, _ := r.e.leaseMargins()
	r.mu.Lock()
	left := r.leaseTill.Sub(r.now())
	r.mu.Unlock()
	if left >= writeMin {
		return nil
	}
	if err := r.renew(ctx); err != nil {
		var le *leaseError
		if errors.As(err, &le) {
			r.stop(err)
		}
		return err
	}
	return nil
}
