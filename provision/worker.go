package provision

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// The claim path and the worker pool: Run keeps Workers goroutines
// claiming operations from the Store, Resume claims until nothing is
// left, and Submit wakes idle workers.

// wake lets one idle Run worker look for work now. Kicks do not pile up:
// one pending kick stands for any number of calls.
func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Run claims and runs operations with Workers goroutines until ctx ends,
// renewing each lease while the operation runs. Operations interrupted by
// the end of ctx stay unfinished, with their lease released, and are
// finished by the next Run or Resume, here or in another process, at once. Run returns nil after
// ctx ends and every worker has stopped, or the first Store error that is
// not ErrNoWork.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, e.cfg.Workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// One ticker for the whole engine, not one timer per worker: with
	// nothing to do the engine claims once per ClaimInterval however many
	// workers it has.
	tick := time.NewTicker(e.cfg.ClaimInterval)
	defer tick.Stop()
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				e.wake()
			}
		}
	})
	e.wake() // look once at start: work may be waiting
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
// (by Submit, by the engine's claim ticker, or by a worker that found
// work); it then claims once. A worker that finds work kicks the next
// idle one, so a burst of work spreads over the pool while an idle pool
// makes one claim per kick: idle workers never wake each other.
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
			claimed := e.clock.Now()
			op, err := e.store.ClaimOperation(ctx, e.cfg.WorkerID, e.cfg.LeaseDuration)
			if err != nil {
				<-e.slots
				if ctx.Err() != nil {
					return nil
				}
				if !errors.Is(err, ErrNoWork) {
					e.log.LogAttrs(ctx, slog.LevelError, "claim failed", slog.Any("error", err))
				}
				break
			}
			// There may be more: let another idle worker look while this
			// one runs the operation.
			e.wake()
			_, _ = e.execute(ctx, op, claimed)
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
			if _, err := e.execute(ctx, op, claimed); err != nil && errors.Is(err, ErrInterrupted) {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
}
