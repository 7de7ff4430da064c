// Package testctx has contexts for the project's tests: a deadline that
// passes when the test says so, so that a test shows what a call does at
// its deadline without waiting for a wall clock to reach it.
package testctx

import (
	"context"
	"sync"
	"time"
)

// Expiring is a context whose deadline passes only when Expire is called:
// Done is closed then and Err is context.DeadlineExceeded, as for a
// deadline reached. Values come from its parent; the parent's cancellation
// does not end it.
type Expiring struct {
	context.Context
	at   time.Time
	done chan struct{}
	once sync.Once
}

// NewExpiring returns an Expiring context over parent. A non-zero at is the
// deadline it reports (Deadline); with a zero at it reports the parent's.
func NewExpiring(parent context.Context, at time.Time) *Expiring {
	return &Expiring{Context: parent, at: at, done: make(chan struct{})}
}

// Expire makes the deadline pass; later calls do nothing.
func (c *Expiring) Expire() { c.once.Do(func() { close(c.done) }) }

// Deadline reports the deadline given to NewExpiring, or the parent's.
func (c *Expiring) Deadline() (time.Time, bool) {
	if c.at.IsZero() {
		return c.Context.Deadline()
	}
	return c.at, true
}

// Done is closed by Expire.
func (c *Expiring) Done() <-chan struct{} { return c.done }

// Err is context.DeadlineExceeded once Expire was called, nil before.
func (c *Expiring) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
