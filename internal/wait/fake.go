package wait

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Fake is a Clock for tests: time stands still until Advance or Set moves
// it, and the pauses of waits (After) fire when it passes their end. A
// test observes the waits through Pending and WaitPending instead of
// sleeping.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
	change chan struct{} // closed and replaced whenever a timer is added
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

// NewFake returns a fake clock showing start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, change: make(chan struct{})}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// After returns a channel that receives when the fake time reaches
// Now()+d; d ≤ 0 receives at once.
func (f *Fake) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if d <= 0 {
		ch <- f.now
		return ch
	}
	f.timers = append(f.timers, fakeTimer{at: f.now.Add(d), ch: ch})
	close(f.change)
	f.change = make(chan struct{})
	return ch
}

// Advance moves the time forward by d and fires the timers that are due.
func (f *Fake) Advance(d time.Duration) { f.Set(f.Now().Add(d)) }

// Set moves the time to t (never backwards) and fires the timers that are
// due.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.After(f.now) {
		f.now = t
	}
	f.timers = slices.DeleteFunc(f.timers, func(x fakeTimer) bool {
		if x.at.After(f.now) {
			return false
		}
		x.ch <- f.now
		return true
	})
}

// Pending returns the end times of the timers not fired yet, earliest
// first.
func (f *Fake) Pending() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]time.Time, 0, len(f.timers))
	for _, x := range f.timers {
		out = append(out, x.at)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// WaitPending blocks until at least n timers are pending (someone is
// pausing on the clock) or ctx ends, and returns Pending().
func (f *Fake) WaitPending(ctx context.Context, n int) ([]time.Time, error) {
	for {
		f.mu.Lock()
		ch := f.change
		k := len(f.timers)
		f.mu.Unlock()
		if k >= n {
			return f.Pending(), nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		}
	}
}

// Sleep pauses d on the fake time, or until ctx ends (then it returns
// ctx.Err()), like the package's Sleep; with it a Fake also paces an
// HTTP client (internal/httpx's Clock).
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	return Sleep(ctx, f, d)
}

// Drive runs call in a goroutine and, until it returns, moves the time to
// the end of the earliest pause as soon as one is pending, so that call
// runs through its waits at once. It returns call's error and the length
// of every pause it moved through, in order. ctx bounds the whole drive:
// when it ends first, Drive returns ctx.Err() (call is left running). A
// pause abandoned by its caller (its context ended) stays pending on a
// Fake, and Drive moves through it like any other.
func (f *Fake) Drive(ctx context.Context, call func() error) ([]time.Duration, error) {
	done := make(chan error, 1)
	go func() { done <- call() }()
	var pauses []time.Duration
	for {
		wctx, cancel := context.WithCancel(ctx)
		pending := make(chan []time.Time, 1)
		go func() {
			if p, err := f.WaitPending(wctx, 1); err == nil {
				pending <- p
			}
		}()
		select {
		case err := <-done:
			cancel()
			return pauses, err
		case p := <-pending:
			cancel()
			pauses = append(pauses, p[0].Sub(f.Now()))
			f.Set(p[0])
		case <-ctx.Done():
			cancel()
			return pauses, ctx.Err()
		}
	}
}
