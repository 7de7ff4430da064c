package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// batchHolder observes a store's group commit through the test hooks and
// holds chosen batches (by number, from 1) until the test releases them.
type batchHolder struct {
	queued  chan int // queue length after each call joined it
	started chan int // size of each batch about to be committed

	mu    sync.Mutex
	n     int
	gates map[int]chan struct{}
	sizes []int
}

func holdBatches(s *sqlstore.Store, committers int) *batchHolder {
	h := &batchHolder{queued: make(chan int, 1000), started: make(chan int, 1000), gates: map[int]chan struct{}{}}
	sqlstore.BatchHooks(s, committers, func(n int) { h.queued <- n }, h.onBatch)
	return h
}

func (h *batchHolder) onBatch(size int) {
	h.mu.Lock()
	h.n++
	h.sizes = append(h.sizes, size)
	gate := h.gates[h.n]
	h.mu.Unlock()
	h.started <- size
	if gate != nil {
		<-gate
	}
}

// hold makes batch number n wait until the returned channel is closed.
func (h *batchHolder) hold(n int) chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := make(chan struct{})
	h.gates[n] = g
	return g
}

// waitQueued returns once the queue has held n calls.
func (h *batchHolder) waitQueued(t *testing.T, n int) {
	t.Helper()
	waitLength(t, h.queued, n)
}

// waitLength returns once a queue length reported on lengths is n, and
// fails the test when one passes n first.
func waitLength(t *testing.T, lengths <-chan int, n int) {
	t.Helper()
	for got := range lengths {
		if got == n {
			return
		}
		if got > n {
			t.Fatalf("queue grew to %d, want %d", got, n)
		}
	}
}

// waitStarted returns once a batch has started and checks its size.
func (h *batchHolder) waitStarted(t *testing.T, size int) {
	t.Helper()
	if got := <-h.started; got != size {
		t.Fatalf("batch of %d calls started, want %d", got, size)
	}
}

func (h *batchHolder) batchSizes() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sizes)
}

// leasedOp creates an operation already claimed by worker "w" (token 1).
func leasedOp(t *testing.T, s provision.Store, id, service string, state provision.OperationState) *provision.Operation {
	t.Helper()
	op := &provision.Operation{ID: id, ServiceID: service, Kind: provision.OpOpen, State: state,
		Step: "reserve", Worker: "w", Attempts: 1, Data: json.RawMessage(`{"v":1}`)}
	if err := s.CreateOperation(t.Context(), op); err != nil {
		t.Fatal(err)
	}
	return op
}

// update runs UpdateOperation in a goroutine; the result arrives on the
// returned channel.
func update(ctx context.Context, s provision.Store, op *provision.Operation) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- s.UpdateOperation(ctx, op) }()
	return ch
}

// forEachHeldStore runs f in parallel subtests, one per database, on a
// fresh Store whose batches f can hold (holdBatches with one committer).
func forEachHeldStore(t *testing.T, f func(t *testing.T, s *sqlstore.Store, h *batchHolder)) {
	for _, c := range dbCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, err := sqlstore.New(c.open(t)(), c.dialect)
			if err != nil {
				t.Fatal(err)
			}
			f(t, s, holdBatches(s, 1))
		})
	}
}

// TestGroupCommit holds the first batch so that the calls arriving behind
// it queue up, then checks that they were committed together and that
// each caller got exactly its own statement's outcome.
func TestGroupCommit(t *testing.T) {
	forEachHeldStore(t, func(t *testing.T, s *sqlstore.Store, h *batchHolder) {
		ctx := t.Context()

		// Values that need quoting in a PostgreSQL array literal.
		odd := []struct{ step, data, errText string }{
			{"user", `{"q":"a\"b"}`, ""},
			{`back\slash`, `{"bs":"c\\d","bs2":"\\\\"}`, `trailing \`},
			{"{x,y}", `{"br":"{1,2}","comma":","}`, "{}"},
			{"NULL", `{"n":null,"s":"NULL"}`, "NULL"},
			{"", `[]`, `"quoted"`},
			{"☃ snow", `{"u":"☃ \u0001 ü"}`, "new\nline\ttab"},
			{" spaced ", `"a string"`, " "},
			{"notify", `{"big":"` + strings.Repeat(`x\"`, 1<<16) + `"}`, "'; DROP TABLE ispkit_operations; --"},
		}
		var ops []*provision.Operation
		for i, o := range odd {
			op := leasedOp(t, s, fmt.Sprintf("op-%d", i), fmt.Sprintf("svc-%d", i), provision.StateRunning)
			op.Step, op.Data, op.Error = o.step, json.RawMessage(o.data), o.errText
			ops = append(ops, op)
		}
		lead := leasedOp(t, s, "lead", "svc-lead", provision.StateRunning)
		stale := leasedOp(t, s, "stale", "svc-stale", provision.StateRunning)
		stale.Version = 7
		token := leasedOp(t, s, "token", "svc-token", provision.StateRunning)
		token.Attempts = 0 // an older claim's copy
		missing := &provision.Operation{ID: "missing", ServiceID: "svc-missing", Kind: provision.OpOpen, Attempts: 1, Version: 1}
		dup := leasedOp(t, s, "dup", "svc-dup", provision.StateRunning)
		dup2 := *dup
		dup.Step, dup2.Step = "dup-a", "dup-b"
		cancelled := leasedOp(t, s, "cancelled", "svc-cancelled", provision.StateRunning)

		// The first call takes the only committer slot and is held.
		release := h.hold(1)
		lead.Step = "user"
		leadErr := update(ctx, s, lead)
		h.waitQueued(t, 1)
		h.waitStarted(t, 1)

		// A call whose context ends while it waits writes nothing.
		cctx, cancel := context.WithCancel(ctx)
		cancelled.Step = "never"
		cancelledErr := update(cctx, s, cancelled)
		h.waitQueued(t, 1)
		cancel()
		if err := <-cancelledErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("UpdateOperation cancelled in the queue: %v, want context.Canceled", err)
		}

		okErrs := make([]<-chan error, len(ops))
		for i, op := range ops {
			okErrs[i] = update(ctx, s, op)
		}
		staleErr, tokenErr, missingErr := update(ctx, s, stale), update(ctx, s, token), update(ctx, s, missing)
		dupErr, dup2Err := update(ctx, s, dup), update(ctx, s, &dup2)
		queued := len(ops) + 5
		h.waitQueued(t, queued)
		close(release)

		if err := <-leadErr; err != nil {
			t.Fatalf("held call: %v", err)
		}
		for i, ch := range okErrs {
			if err := <-ch; err != nil {
				t.Fatalf("update of %s: %v", ops[i].ID, err)
			}
		}
		if err := <-staleErr; !errors.Is(err, provision.ErrConflict) || errors.Is(err, provision.ErrLeaseLost) {
			t.Errorf("stale version: %v, want ErrConflict only", err)
		}
		if err := <-tokenErr; !errors.Is(err, provision.ErrLeaseLost) {
			t.Errorf("older fencing token: %v, want ErrLeaseLost", err)
		}
		if err := <-missingErr; !errors.Is(err, provision.ErrNotFound) {
			t.Errorf("unknown id: %v, want ErrNotFound", err)
		}
		e1, e2 := <-dupErr, <-dup2Err
		if (e1 == nil) == (e2 == nil) || !errors.Is(errors.Join(e1, e2), provision.ErrConflict) {
			t.Errorf("two copies of one version: %v and %v, want one success and one ErrConflict", e1, e2)
		}

		// One batch held, every other call but the second copy of
		// "dup" in the next one, that copy alone after it.
		if got, want := h.batchSizes(), []int{1, queued - 1, 1}; !slices.Equal(got, want) {
			t.Errorf("batch sizes %v, want %v", got, want)
		}
		if b, u, r := sqlstore.BatchStats(s); b != 3 || u != int64(queued+1) || r != 0 {
			t.Errorf("BatchStats = %d batches, %d calls, %d refused; want 3, %d, 0", b, u, r, queued+1)
		}

		for _, op := range append(ops, lead) {
			got, err := s.GetOperation(ctx, op.ID)
			if err != nil {
				t.Fatal(err)
			}
			if op.Version != 2 || got.Version != 2 || got.Step != op.Step || string(got.Data) != string(op.Data) ||
				got.Error != op.Error || !got.UpdatedAt.Equal(op.UpdatedAt) || got.Worker != "w" || got.Attempts != 1 {
				t.Errorf("%s stored as %+v, caller's copy %+v", op.ID, got, op)
			}
		}
		for _, id := range []string{"stale", "token", "cancelled"} {
			if got, err := s.GetOperation(ctx, id); err != nil || got.Version != 1 || got.Step != "reserve" {
				t.Errorf("%s changed by a refused or cancelled update: %+v, %v", id, got, err)
			}
		}
		want := dup.Step
		if e1 != nil {
			want = dup2.Step
		}
		if got, err := s.GetOperation(ctx, "dup"); err != nil || got.Version != 2 || got.Step != want {
			t.Errorf("dup stored as %+v, %v; want the winner's step %q", got, err, want)
		}
	})
}

// TestGroupCommitRefused: a batch with a call the database refuses (it
// would give a service a second unfinished operation) writes nothing of
// that call, and every other call of the batch gets its own outcome.
func TestGroupCommitRefused(t *testing.T) {
	forEachHeldStore(t, func(t *testing.T, s *sqlstore.Store, h *batchHolder) {
		ctx := t.Context()
		lead := leasedOp(t, s, "lead", "svc-lead", provision.StateRunning)
		done := leasedOp(t, s, "done", "shared", provision.StateDone)
		leasedOp(t, s, "running", "shared", provision.StateRunning)
		var ops []*provision.Operation
		for i := range 3 {
			op := leasedOp(t, s, fmt.Sprintf("op-%d", i), fmt.Sprintf("svc-%d", i), provision.StateRunning)
			op.Step = "user"
			ops = append(ops, op)
		}

		release := h.hold(1)
		leadErr := update(ctx, s, lead)
		h.waitStarted(t, 1)
		var errs []<-chan error
		for _, op := range ops {
			errs = append(errs, update(ctx, s, op))
		}
		done.State = provision.StateRunning
		doneErr := update(ctx, s, done)
		h.waitQueued(t, len(ops)+1)
		close(release)

		if err := <-leadErr; err != nil {
			t.Fatal(err)
		}
		for i, ch := range errs {
			if err := <-ch; err != nil {
				t.Fatalf("update of %s in the refused batch: %v", ops[i].ID, err)
			}
		}
		err := <-doneErr
		if err == nil || errors.Is(err, provision.ErrConflict) || errors.Is(err, provision.ErrNotFound) {
			t.Fatalf("second unfinished operation of a service: %v, want the database's refusal", err)
		}
		if got, want := h.batchSizes(), []int{1, len(ops) + 1}; !slices.Equal(got, want) {
			t.Errorf("batch sizes %v, want %v", got, want)
		}
		// PostgreSQL refuses the one statement of the batch and runs the
		// calls again one by one; SQLite rolls its light transaction
		// (no savepoints) back and runs the batch again with a savepoint
		// per call, rolls the failed call back to its savepoint and
		// commits the rest.
		if _, _, r := sqlstore.BatchStats(s); r != 1 {
			t.Errorf("refused batches = %d, want 1", r)
		}
		for _, op := range ops {
			if got, err := s.GetOperation(ctx, op.ID); err != nil || got.Version != 2 || op.Version != 2 || got.Step != "user" {
				t.Errorf("%s after the retry: %+v, %v", op.ID, got, err)
			}
		}
		if got, err := s.GetOperation(ctx, "done"); err != nil || got.State != provision.StateDone || got.Version != 1 {
			t.Errorf("refused update was written: %+v, %v", got, err)
		}
	})
}

// TestGroupCommitCancelInFlight: a caller whose context ends after its call
// was sent with others still gets the batch's outcome (the batch goes on
// while anyone in it waits), so it never reports a failure for a write
// that was made.
func TestGroupCommitCancelInFlight(t *testing.T) {
	forEachHeldStore(t, func(t *testing.T, s *sqlstore.Store, h *batchHolder) {
		ctx := t.Context()
		lead := leasedOp(t, s, "lead", "svc-lead", provision.StateRunning)
		a := leasedOp(t, s, "a", "svc-a", provision.StateRunning)
		b := leasedOp(t, s, "b", "svc-b", provision.StateRunning)
		a.Step, b.Step = "user", "user"

		release1, release2 := h.hold(1), h.hold(2)
		leadErr := update(ctx, s, lead)
		h.waitStarted(t, 1)
		actx, cancel := context.WithCancel(ctx)
		aErr := update(actx, s, a)
		bErr := update(ctx, s, b)
		h.waitQueued(t, 2)
		close(release1)
		h.waitStarted(t, 2) // a and b are in the held batch
		cancel()
		close(release2)

		for _, ch := range []<-chan error{leadErr, aErr, bErr} {
			if err := <-ch; err != nil {
				t.Fatalf("UpdateOperation: %v", err)
			}
		}
		if got, err := s.GetOperation(ctx, "a"); err != nil || got.Version != 2 || a.Version != 2 {
			t.Fatalf("a stored as %+v (%v), caller's version %d", got, err, a.Version)
		}
	})
}

// TestGroupCommitConcurrent runs many workers' transitions with the
// default committers (run it with -race): every call succeeds once, on
// its own operation's next version.
func TestGroupCommitConcurrent(t *testing.T) {
	for _, c := range dbCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, err := sqlstore.New(c.open(t)(), c.dialect)
			if err != nil {
				t.Fatal(err)
			}
			const workers, steps = 24, 15
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				op := leasedOp(t, s, fmt.Sprintf("op-%d", w), fmt.Sprintf("svc-%d", w), provision.StateRunning)
				wg.Go(func() {
					for i := range steps {
						op.Step = benchSteps[i%len(benchSteps)]
						op.Data = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
						if err := s.UpdateOperation(t.Context(), op); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for w := range workers {
				got, err := s.GetOperation(t.Context(), fmt.Sprintf("op-%d", w))
				if err != nil || got.Version != steps+1 || string(got.Data) != fmt.Sprintf(`{"i":%d}`, steps-1) {
					t.Fatalf("op-%d: %+v, %v", w, got, err)
				}
			}
			if _, u, _ := sqlstore.BatchStats(s); u != workers*steps {
				t.Fatalf("group commit carried %d calls, want %d", u, workers*steps)
			}
		})
	}
}

func TestTextArray(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{nil, `{}`},
		{[]string{""}, `{""}`},
		{[]string{"a", "b c"}, `{"a","b c"}`},
		{[]string{`a"b`, `c\d`, `\"`}, `{"a\"b","c\\d","\\\""}`},
		{[]string{"NULL", "{1,2}"}, `{"NULL","{1,2}"}`},
	} {
		if got := sqlstore.TextArray(c.in); got != c.want {
			t.Errorf("textArray(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestGroupCommitLimit: WithMaxBatch bounds a batch, and WithMaxBatch(1)
// sends every call on its own, bypassing the queue.
func TestGroupCommitLimit(t *testing.T) {
	if _, err := sqlstore.New(openSQLiteDB(t, sqlitePath(t)), sqlstore.SQLite, sqlstore.WithMaxBatch(0)); err == nil {
		t.Fatal("WithMaxBatch(0) accepted")
	}
	for _, c := range dbCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			open := c.open(t)
			s, err := sqlstore.New(open(), c.dialect, sqlstore.WithMaxBatch(3))
			if err != nil {
				t.Fatal(err)
			}
			h := holdBatches(s, 1)
			ctx := t.Context()
			lead := leasedOp(t, s, "lead", "svc-lead", provision.StateRunning)
			// Created first: on SQLite every write waits behind the held
			// batch.
			const n = 7
			var ops []*provision.Operation
			for i := range n {
				ops = append(ops, leasedOp(t, s, fmt.Sprintf("op-%d", i), fmt.Sprintf("svc-%d", i), provision.StateRunning))
			}
			release := h.hold(1)
			leadErr := update(ctx, s, lead)
			h.waitStarted(t, 1)
			var errs []<-chan error
			for _, op := range ops {
				errs = append(errs, update(ctx, s, op))
			}
			h.waitQueued(t, n)
			close(release)
			for _, ch := range append(errs, leadErr) {
				if err := <-ch; err != nil {
					t.Fatal(err)
				}
			}
			if got, want := h.batchSizes(), []int{1, 3, 3, 1}; !slices.Equal(got, want) {
				t.Errorf("batch sizes %v, want %v", got, want)
			}

			single, err := sqlstore.New(open(), c.dialect, sqlstore.WithMaxBatch(1))
			if err != nil {
				t.Fatal(err)
			}
			hs := holdBatches(single, 0)
			var wg sync.WaitGroup
			for i := range 4 {
				op := leasedOp(t, single, fmt.Sprintf("single-%d", i), fmt.Sprintf("svc-single-%d", i), provision.StateRunning)
				wg.Go(func() {
					if err := single.UpdateOperation(ctx, op); err != nil || op.Version != 2 {
						t.Errorf("UpdateOperation without grouping: %v, version %d", err, op.Version)
					}
				})
			}
			wg.Wait()
			if b, u, _ := sqlstore.BatchStats(single); b != 0 || u != 0 || len(hs.batchSizes()) != 0 {
				t.Errorf("WithMaxBatch(1) used the queue: %d batches, %d calls", b, u)
			}
		})
	}
}
