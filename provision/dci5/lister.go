package dci5

import (
	"context"
	"errors"
	"sync"
)

// lister lets concurrent readers of the server list share one request
// without ever handing a caller a list whose request began before the
// caller asked: DCImanager 5 has no call that reads one server, so every
// GetServer reads the whole list, and with many orders in flight most of
// those reads overlap.
//
// A caller joins the batch that is waiting to start (or opens one); the
// batch starts when no request is running, so its answer is at least as
// new as every member's call and a read after a write sees the write.
type lister[T any] struct {
	mu      sync.Mutex
	running bool
	pending *listBatch[T]
	free    chan struct{} // closed when the running request ends
}

type listBatch[T any] struct {
	done    chan struct{}
	started bool
	res     T
	err     error
}

// get returns the result of a fetch that started after get was called.
func (l *lister[T]) get(ctx context.Context, fetch func(context.Context) (T, error)) (T, error) {
	var zero T
	l.mu.Lock()
	b := l.join()
	for {
		switch {
		case !b.started && !l.running:
			// Lead the batch: its request starts now, after every member
			// joined.
			b.started = true
			l.pending = nil
			l.running = true
			l.free = make(chan struct{})
			l.mu.Unlock()
			b.res, b.err = fetch(ctx)
			close(b.done)
			l.mu.Lock()
			l.running = false
			close(l.free)
			l.mu.Unlock()
			return b.res, b.err
		case b.started:
			l.mu.Unlock()
			select {
			case <-b.done:
			case <-ctx.Done():
				return zero, ctx.Err()
			}
			// The leader's own deadline is not this caller's failure.
			if isCtxErr(b.err) && ctx.Err() == nil {
				l.mu.Lock()
				b = l.join()
				continue
			}
			return b.res, b.err
		default:
			free := l.free
			l.mu.Unlock()
			select {
			case <-free:
			case <-ctx.Done():
				return zero, ctx.Err()
			}
			l.mu.Lock()
		}
	}
}

// join returns the batch waiting to start, opening one if there is none.
// l.mu is held.
func (l *lister[T]) join() *listBatch[T] {
	if l.pending == nil {
		l.pending = &listBatch[T]{done: make(chan struct{})}
	}
	return l.pending
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
