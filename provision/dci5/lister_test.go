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
	// How many requests overlapped above depends on scheduling; that they
	// are shared is shown by TestListerSharesOneRequest.
	assert.LessOrEqual(t, fetches.Load(), int64(callers))
}

// waitingCtx tells when its caller first waits on it: the lister selects
// on ctx.Done() only once it has joined a batch.
type waitingCtx struct {
	context.Context
	once    sync.Once
	waiting chan<- struct{}
}

func (c *waitingCtx) Done() <-chan struct{} {
	c.once.Do(func() { c.waiting <- struct{}{} })
	return c.Context.Done()
}

// Callers that arrive while a request runs wait for it to end and then
// share one fresh request: two requests for eleven callers.
func TestListerSharesOneRequest(t *testing.T) {
	t.Parallel()
	var l lister[int]
	var fetches atomic.Int32
	started := make(chan struct{})
	release := make(chan struct{})
	fetch := func(context.Context) (int, error) {
		n := int(fetches.Add(1))
		started <- struct{}{}
		<-release
		return n, nil
	}
	first := make(chan int, 1)
	go func() { v, _ := l.get(context.Background(), fetch); first <- v }()
	<-started // the first request runs
	const callers = 10
	waiting := make(chan struct{}, callers)
	results := make(chan int, callers)
	for range callers {
		go func() {
			v, err := l.get(&waitingCtx{Context: context.Background(), waiting: waiting}, fetch)
			assert.NoError(t, err)
			results <- v
		}()
	}
	for range callers {
		<-waiting // each caller has joined the next batch and waits
	}
	release <- struct{}{}
	assert.Equal(t, 1, <-first)
	<-started // one request for the ten
	release <- struct{}{}
	for range callers {
		assert.Equal(t, 2, <-results, "every waiting caller gets the request that started after it")
	}
	assert.Equal(t, int32(2), fetches.Load())
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
	waiting := make(chan struct{}, 1)
	go func() {
		v, err := l.get(&waitingCtx{Context: context.Background(), waiting: waiting}, fetch)
		if err != nil {
			v = err.Error()
		}
		res <- v
	}()
	<-waiting // the second caller waits behind the running request
	cancel()
	require.ErrorIs(t, <-leaderDone, context.Canceled)
	select {
	case v := <-res:
		assert.Equal(t, "fresh", v)
	case <-time.After(5 * time.Second):
		t.Fatal("waiting caller never answered")
	}
}
