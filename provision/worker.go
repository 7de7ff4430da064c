package provision

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// The claim path and the worker pool: Run keeps Workers goroutines
// claiming operations from the Store, Resume claims until nothing is
// left, and Submit wakes idle workers.
//
// Claims follow hints, so that a claim is made where one can succeed:
//
//   - an operation Submit recorded is one submitted hint: one claim;
//   - the claim ticker, the start of Run and anything else that may have
//     made work claimable without this engine knowing how much (another
//     engine's submits, leases released or expired) set the search hint:
//     a claim that succeeds on it sets it again, so a worker looks for
//     the next one while this one runs, until a claim finds nothing.
//
// Every operation recorded is followed by one hint, and a claim that
// finds nothing finds every recorded operation claimed, so no operation
// waits without a hint; a burst of 1,000 submits costs 1,000 claims, not
// one more per operation to find out there is nothing left.

// activeRun is a Run in progress: the context its workers run under and
// the group Run waits for before it returns.
type activeRun struct {
	ctx context.Context
	wg  *sync.WaitGroup
}

// handOff prepares to run a new operation directly in a Run of this
// engine: when a Run is active and one of the Workers slots is free, it
// takes the slot, joins the Run's group and returns the Run. The caller
// then creates the operation already leased to this engine (no claim: no
// Store round trip, no wait for a worker to find it) and either runs it
// with runHandedOff or gives the slot back with handBack.
func (e *Engine) handOff() *activeRun {
	select {
	case e.slots <- struct{}{}:
	default:
		return nil // every worker is busy: the operation waits for a claim
	}
	e.runMu.Lock()
	defer e.runMu.Unlock()
	if len(e.runs) == 0 {
		<-e.slots
		return nil
	}
	ar := e.runs[len(e.runs)-1]
	ar.wg.Add(1)
	return ar
}

// handBack returns what handOff took, for an operation not run.
func (e *Engine) handBack(ar *activeRun) {
	<-e.slots
	ar.wg.Done()
}

// runHandedOff runs op, created leased at claimed, in ar; svc is its
// service as Submit recorded it, or nil (see Engine.create).
// It is counted as running here before runHandedOff returns, so a Wait
// that starts at once already waits on this run's end.
func (e *Engine) runHandedOff(ar *activeRun, op *Operation, svc *Service, claimed time.Time) {
	ended := e.runStarted(op.ID)
	go func() {
		defer e.handBack(ar)
		defer ended()
		_, _ = e.execute(ar.ctx, op, svc, claimed)
	}()
}

// wake lets one idle Run worker look for work now. Kicks do not pile up:
// one pending kick stands for any number of calls.
func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// search sets the search hint and wakes a worker.
func (e *Engine) search() {
	e.searching.Store(true)
	e.wake()
}

// submitted adds a submitted hint and wakes a worker.
func (e *Engine) submitted() {
	e.hints.Add(1)
	e.wake()
}

// takeHint takes one hint: submitted ones first. ok is false when there
// is none.
func (e *Engine) takeHint() (search, ok bool) {
	for {
		n := e.hints.Load()
		if n <= 0 {
			break
		}
		if e.hints.CompareAndSwap(n, n-1) {
			return false, true
		}
	}
	if e.searching.CompareAndSwap(true, false) {
		return true, true
	}
	return false, false
}

// hinted reports whether a hint is left.
func (e *Engine) hinted() bool { return e.hints.Load() > 0 || e.searching.Load() }

// Run claims and runs operations with Workers goroutines until ctx ends,
// renewing each lease while the operation runs; operations Submit hands
// to a free worker of this engine count against Workers too and run under
// ctx. Operations interrupted by the end of ctx stay unfinished, with
// their lease released, and are finished by the next Run or Resume, here
// or in another process, at once. Run returns nil after ctx ends and every
// worker (and every handed-off run) has stopped, or the first Store error
// that is not ErrNoWork.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, e.cfg.Workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Submit hands its operations straight to this Run while it lasts
	// (handOff); they are part of wg like the workers.
	ar := &activeRun{ctx: ctx, wg: &wg}
	// The ticker's goroutine joins the group before ar is listed: a
	// hand-off's Add never finds the group empty, so it never races
	// with the Wait below (a WaitGroup's first Add must happen before
	// its Wait).
	wg.Add(1)
	e.runMu.Lock()
	e.runs = append(e.runs, ar)
	e.runMu.Unlock()
	// One ticker for the whole engine, not one timer per worker: with
	// nothing to do the engine claims once per ClaimInterval however many
	// workers it has.
	tick := time.NewTicker(e.cfg.ClaimInterval)
	defer tick.Stop()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				// No hand-off joins wg after this (handOff adds under
				// runMu while ar is listed), and this goroutine keeps wg
				// from reaching zero until then.
				e.runMu.Lock()
				e.runs = slices.DeleteFunc(e.runs, func(r *activeRun) bool { return r == ar })
				e.runMu.Unlock()
				return
			case <-tick.C:
				e.search()
			}
		}
	}()
	e.search() // look once at start: work may be waiting
	for range e.cfg.Workers {
		wg.Go(func() {
			if err := e.workerLoop(ctx); err != nil {
				errc <- err
				cancel()
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// workerLoop is one Run worker. An idle worker blocks until it is kicked
// (by Submit, by the engine's claim ticker, or by a worker that took a
// hint while more were left); it then claims once per hint it takes. A
// worker that takes a hint kicks the next idle one when hints are left,
// so a burst of work spreads over the pool while an idle pool makes one
// claim per tick: idle workers never wake each other.
func (e *Engine) workerLoop(ctx context.Context) error {
	for {
		select {
		case <-e.kick:
		case <-ctx.Done():
			return nil
		}
		for {
			select {
			case e.slots <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			search, ok := e.takeHint()
			if !ok {
				<-e.slots
				break
			}
			if e.hinted() {
				e.wake() // the next hint for another idle worker
			}
			claimed := e.clock.Now()
			op, err := e.store.ClaimOperation(ctx, e.cfg.WorkerID, e.cfg.LeaseDuration)
			if err != nil {
				<-e.slots
				if ctx.Err() != nil {
					return nil
				}
				if errors.Is(err, ErrNoWork) {
					continue // the next hint, if any
				}
				// The Store failed: keep the hint for the next kick (at the
				// latest the next tick) rather than retry at once.
				e.log.LogAttrs(ctx, slog.LevelError, "claim failed", slog.Any("error", err))
				if search {
					e.searching.Store(true)
				} else {
					e.hints.Add(1)
				}
				break
			}
			if search {
				// There may be more: let another idle worker look while
				// this one runs the operation.
				e.search()
			}
			_, _ = e.execute(ctx, op, nil, claimed)
			<-e.slots
		}
	}
}

// Resume claims and finishes every operation that is unfinished and
// claimable now: operations submitted but never run, and those whose lease
// expired because their worker died. It runs up to Workers at once, returns
// when none is left, and reports Store errors (failed operations are
// recorded in the Store, not returned). Operations that are interrupted
// again stay unfinished.
func (e *Engine) Resume(ctx context.Context) error {
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	seen := map[string]bool{}
	for {
		select {
		case e.slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		claimed := e.clock.Now()
		op, err := e.store.ClaimOperation(ctx, e.cfg.WorkerID, e.cfg.LeaseDuration)
		if err != nil {
			<-e.slots
			wg.Wait()
			if errors.Is(err, ErrNoWork) {
				mu.Lock()
				defer mu.Unlock()
				return firstErr
			}
			return err
		}
		if seen[op.ID] {
			// Interrupted in this Resume and claimable again at once (lease
			// released): stop rather than spin.
			<-e.slots
			_ = e.store.ReleaseLease(ctx, op.ID, e.cfg.WorkerID, op.Attempts)
			wg.Wait()
			return firstErr
		}
		seen[op.ID] = true
		wg.Go(func() {
			defer func() { <-e.slots }()
			if _, err := e.execute(ctx, op, nil, claimed); err != nil && errors.Is(err, ErrInterrupted) {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
}
