package provision_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// observedStore counts claims and reads of operations and reports each on
// a channel, so a test can wait for them instead of for time.
type observedStore struct {
	provision.Store
	claims, reads atomic.Int64
	claimed, read chan struct{}
}

func newObservedStore(s provision.Store) *observedStore {
	return &observedStore{Store: s, claimed: make(chan struct{}, 100), read: make(chan struct{}, 100)}
}

func (o *observedStore) ClaimOperation(ctx context.Context, worker string, lease time.Duration) (*provision.Operation, error) {
	o.claims.Add(1)
	defer func() { o.claimed <- struct{}{} }()
	return o.Store.ClaimOperation(ctx, worker, lease)
}

func (o *observedStore) GetOperation(ctx context.Context, id string) (*provision.Operation, error) {
	o.reads.Add(1)
	defer func() { o.read <- struct{}{} }()
	return o.Store.GetOperation(ctx, id)
}

// blockPowerOn makes the fake data center's first PowerOn wait until the
// returned release is called; reached is closed when it is waiting.
func blockPowerOn(v *env) (reached <-chan struct{}, release func()) {
	r, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	v.dc.BeforeCall = func(method, _ string) error {
		if method == "PowerOn" {
			first := false
			once.Do(func() { first = true })
			if first {
				close(r)
				<-gate
			}
		}
		return nil
	}
	var rel sync.Once
	return r, func() { rel.Do(func() { close(gate) }) }
}

// oneWorker is an engine with one Run worker over an observed Store, whose
// claim ticker never fires (only the look at start claims) and whose
// data center holds its first power-on until release is called.
type oneWorker struct {
	v       *env
	obs     *observedStore
	e       *provision.Engine
	reached <-chan struct{}
	release func()
}

func newOneWorker(t *testing.T, servers int) *oneWorker {
	return newOneWorkerOn(t, servers, nil)
}

// newOneWorkerOn is newOneWorker over store (nil: the test env's memstore).
func newOneWorkerOn(t *testing.T, servers int, store provision.Store) *oneWorker {
	w := &oneWorker{v: newEnv(t, servers)}
	if store != nil {
		w.v.store = store
	}
	w.obs = newObservedStore(w.v.store)
	w.reached, w.release = blockPowerOn(w.v)
	t.Cleanup(w.release)
	w.e = w.v.engine("one", func(c *provision.Config) {
		c.Store, c.Workers, c.ClaimInterval, c.PollInterval = w.obs, 1, time.Hour, time.Millisecond
		c.LeaseDuration = time.Minute
	})
	return w
}

// TestSubmitHandsOffToAFreeWorker: with Run going and a worker free, a
// submitted order is created leased to this engine and run at once, with
// no claim; with every worker busy it waits, pending, for a claim. Run
// returns only after the handed-off run has stopped, and that run, stopped
// by Run's end, gives its lease back.
func TestSubmitHandsOffToAFreeWorker(t *testing.T) {
	t.Parallel()
	w := newOneWorker(t, 2)
	v, obs, e, reached, release := w.v, w.obs, w.e, w.reached, w.release
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- e.Run(ctx) }()
	<-obs.claimed // the look at start: Run is going
	require.Equal(t, int64(1), obs.claims.Load())

	a, err := e.Submit(ctx, openReq("1", tariffDedic))
	require.NoError(t, err)
	<-reached // a runs, held at its power-on
	assert.Equal(t, int64(1), obs.claims.Load(), "a was claimed")
	got := mustOp(t, v, a.ID)
	assert.Equal(t, provision.StateRunning, got.State)
	assert.Equal(t, "one", got.Worker)
	assert.Equal(t, 1, got.Attempts, "fencing token of the hand-off")

	b, err := e.Submit(ctx, openReq("2", tariffDedic))
	require.NoError(t, err)
	got = mustOp(t, v, b.ID)
	assert.Equal(t, provision.StatePending, got.State, "b with the only worker busy")
	assert.Equal(t, 0, got.Attempts)

	cancel()
	select {
	case err := <-runDone:
		t.Fatalf("Run returned (%v) while a handed-off run was still going", err)
	default:
	}
	release()
	require.NoError(t, <-runDone)
	got = mustOp(t, v, a.ID)
	assert.False(t, got.State.Finished(), "a finished after Run's end: %s", got.State)
	assert.Empty(t, got.Worker, "a's lease after Run's end")
}

// TestWaitOnALocalRunReadsNothing: Wait on an order this engine runs
// registers for the run's end without reading the Store, sleeps until the
// run ends (not polling meanwhile), and returns the operation as the run
// stored it, again without reading: equal to what the Store holds.
func TestWaitOnALocalRunReadsNothing(t *testing.T) {
	t.Parallel()
	t.Run("memstore", func(t *testing.T) {
		t.Parallel()
		waitOnALocalRun(t, newOneWorker(t, 1))
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		store, err := sqlstore.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "s.db"), sqlstore.SQLite)
		require.NoError(t, err)
		t.Cleanup(func() { store.Close() })
		waitOnALocalRun(t, newOneWorkerOn(t, 1, store))
	})
}

func waitOnALocalRun(t *testing.T, w *oneWorker) {
	obs, e, reached, release := w.obs, w.e, w.reached, w.release
	registered := make(chan string, 10)
	provision.OnWaitRegistered(e, func(id string) { registered <- id })
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Go(func() { _ = e.Run(ctx) })
	<-obs.claimed

	op, err := e.Submit(ctx, openReq("1", tariffDedic))
	require.NoError(t, err)
	<-reached
	// A wait given up before the run ends returns the operation as
	// stored: it reads it then, once.
	reads := obs.reads.Load()
	gaveUp, giveUp := context.WithCancel(ctx)
	early := make(chan *provision.Operation, 1)
	go func() {
		got, err := e.Wait(gaveUp, op.ID)
		assert.ErrorIs(t, err, context.Canceled)
		early <- got
	}()
	require.Equal(t, op.ID, <-registered)
	giveUp()
	got := <-early
	require.NotNil(t, got, "the operation a given-up wait returns")
	assert.Equal(t, provision.StateRunning, got.State)
	assert.Equal(t, int64(1), obs.reads.Load()-reads, "reads of a given-up wait")

	reads = obs.reads.Load()
	waited := make(chan *provision.Operation, 1)
	go func() {
		done, err := e.Wait(ctx, op.ID)
		assert.NoError(t, err)
		waited <- done
	}()
	require.Equal(t, op.ID, <-registered)
	release()
	done := <-waited
	require.Equal(t, provision.StateDone, done.State)
	assert.Equal(t, int64(0), obs.reads.Load()-reads, "reads of the order while waiting")
	stored, err := w.obs.Store.GetOperation(ctx, op.ID)
	require.NoError(t, err)
	assert.Equal(t, stored, done, "the operation Wait returned and the stored one")
}
