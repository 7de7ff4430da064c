package dci5

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Concurrent callers share requests, and nobody gets an answer from a
// request that started before its call.
func TestListerFreshAndShared(t *testing.T) {
	t.Parallel()
	var l lister[int64]
	var version, fetches atomic.Int64
	gate := make(chan struct{})
	fetch := func(ctx context.Context) (int64, error) {
		fetches.Add(1)
		v := version.Load() // the state as of the request's start
		<-gate
		return v, nil
	}
	const callers = 50
	var wg sync.WaitGroup
	errs := make(chan string, callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := version.Add(1) // a write the caller made before reading
			got, err := l.get(context.Background(), fetch)
			if err != nil || got < seen {
				errs <- "stale or failed read"
			}
		}()
	}
	// Let the requests finish one after another.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		select {
		case gate <- struct{}{}:
			continue
		case <-done:
		}
		break
	}
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	assert.Less(t, fetches.Load(), int64(callers), "callers that overlap share a request")
}

// A leader whose context ends does not fail the callers that wait with it.
func TestListerLeaderCancelled(t *testing.T) {
	t.Parallel()
	var l lister[string]
	started := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	fetch := func(ctx context.Context) (string, error) {
		if calls.Add(1) == 1 {
			close(started)
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-release:
			}
		}
		return "fresh", nil
	}
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderDone := make(chan error, 1)
	go func() { _, err := l.get(leaderCtx, fetch); leaderDone <- err }()
	<-started
	res := make(chan string, 1)
	go func() {
		v, err := l.get(context.Background(), fetch)
		if err != nil {
			v = err.Error()
		}
		res <- v
	}()
	// The second caller is queued behind the running request.
	require.Eventually(t, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.pending != nil
	}, 5*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-leaderDone, context.Canceled)
	select {
	case v := <-res:
		assert.Equal(t, "fresh", v)
	case <-time.After(5 * time.Second):
		t.Fatal("waiting caller never answered")
	}
}
