package dcimanager5

import "github.com/ispkit/ispkit/internal/clientopt"

// WithClock makes the client pause on clock (rate limiter, retries,
// waiters) instead of the wall clock; for this package's tests only.
func WithClock(clock clientopt.Clock) Option { return shared(clientopt.WithClock(clock)) }
