package fakekit_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ispkit/ispkit/internal/fakekit"
)

// Hold runs in a synctest bubble, whose clock is fake and moves only when
// every goroutine of the bubble waits: the time it held is exact.
func TestHold(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		fakekit.Hold(30*time.Millisecond, nil, nil)
		assert.Equal(t, 30*time.Millisecond, time.Since(start), "held for the delay")

		// The client giving up ends the hold at once.
		gone := make(chan struct{})
		close(gone)
		start = time.Now()
		fakekit.Hold(time.Hour, gone, nil)
		fakekit.Hold(0, gone, nil)
		assert.Zero(t, time.Since(start))

		// Without a delay, the hold lasts until the fake closes.
		closing := make(chan struct{})
		go func() {
			time.Sleep(time.Minute)
			close(closing)
		}()
		start = time.Now()
		fakekit.Hold(0, nil, closing)
		assert.Equal(t, time.Minute, time.Since(start))
	})
}
