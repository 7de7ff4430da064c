package provision

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/ispkit/ispkit/internal/wait"
)

// Wait blocks until the operation is finished and returns it; a failed
// operation comes with an *OperationError. It wakes at once for
// operations run by this engine, and polls the Store (on the wall clock)
// for those run elsewhere: every PollInterval at first, then every 2 % of
// the time waited, at most every 5 s. While this engine itself runs the
// operation, the end of that run wakes the wait (finished or not), so the
// Store is read only every 5 s meanwhile: a thousand waiters on a
// thousand local runs do not flood it. A run here that finishes the
// operation hands the wait the operation as it stored it, and a wait that
// starts while the run is here does not read it first: waiting on a local
// run costs the Store nothing.
func (e *Engine) Wait(ctx context.Context, opID string) (*Operation, error) {
	var (
		w     *waiter
		local bool
		read  bool // the Store was read at least once
	)
	defer func() {
		if w != nil {
			e.dropWait(opID, w)
		}
	}()
	ceil := max(e.cfg.PollInterval, 5*time.Second)
	remote := wait.Shaped(e.cfg.PollInterval, ceil, nil)
	op, err := wait.Until(ctx, wait.Options{
		What: "operation " + opID,
		// A run by this engine wakes the wait when it ends; the polls are
		// for finishes elsewhere, so they thin out as the wait goes on
		// (2 % of the time waited, at most 5 s), and while the run is
		// here they only guard against a wake-up that cannot be missed.
		Schedule: func(r wait.Round) time.Duration {
			if local {
				return ceil
			}
			return remote(r)
		},
		Wake: func() <-chan struct{} { return w.ch },
	}, func(ctx context.Context) (*Operation, bool, error) {
		if w != nil {
			done := e.dropWait(opID, w)
			w = nil
			if done != nil {
				return done, true, nil
			}
		}
		// Listen before reading, so a finish in between is not missed.
		w, local = e.waitOn(opID)
		if local && !read {
			// Run here: its end wakes this wait, with the operation when
			// it finished it.
			return nil, false, nil
		}
		read = true
		op, err := e.store.GetOperation(ctx, opID)
		return op, err == nil && op.State.Finished(), err
	})
	var we *wait.Error
	switch {
	case errors.As(err, &we):
		if op == nil && !read {
			// Given up before the local run ended: the operation as
			// stored, read with a bounded context of its own.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseReleaseTimeout)
			op, _ = e.store.GetOperation(rctx, opID)
			cancel()
		}
		return op, fmt.Errorf("provision: waiting for operation %s: %w", opID, we.Err)
	case err != nil:
		return nil, err
	}
	return op, e.opError(op)
}

// waiter is one Wait's registration for an operation's wake-up: ch is
// closed when a run of the operation here ends, after op is set to the
// operation as the run stored it when the run finished it.
type waiter struct {
	ch chan struct{}
	op *Operation
}

// waitOn registers a wake-up for operation id and reports whether this
// engine is running it now (the end of that run closes the channel).
func (e *Engine) waitOn(id string) (*waiter, bool) {
	w := &waiter{ch: make(chan struct{})}
	e.waitMu.Lock()
	e.waiters[id] = append(e.waiters[id], w)
	local := e.running[id] > 0
	e.waitMu.Unlock()
	if e.waitHook != nil {
		e.waitHook(id)
	}
	return w, local
}

// runStarted records that this engine runs operation id; the returned
// func, called when the run ends however it ends, wakes the operation's
// waiters so that they read it again (finished, or now run elsewhere).
func (e *Engine) runStarted(id string) func() {
	e.waitMu.Lock()
	e.running[id]++
	e.waitMu.Unlock()
	return func() {
		e.waitMu.Lock()
		if e.running[id]--; e.running[id] <= 0 {
			delete(e.running, id)
		}
		for _, w := range e.waiters[id] {
			close(w.ch)
		}
		delete(e.waiters, id)
		e.waitMu.Unlock()
	}
}

// dropWait unregisters w and returns the finished operation a run handed
// it, or nil.
func (e *Engine) dropWait(id string, w *waiter) *Operation {
	e.waitMu.Lock()
	defer e.waitMu.Unlock()
	ws := e.waiters[id]
	for i, x := range ws {
		if x == w {
			e.waiters[id] = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(e.waiters[id]) == 0 {
		delete(e.waiters, id)
	}
	if w.op == nil {
		return nil
	}
	return w.op.Clone()
}

// finished wakes the waiters of op, which has just finished. stored, when
// not nil, is op as the Store now holds it: the waiters take it instead
// of reading the Store.
func (e *Engine) finished(op *Operation, cause error, stored *Operation) {
	e.waitMu.Lock()
	if cause != nil {
		e.causes[op.ID] = cause
	}
	for _, w := range e.waiters[op.ID] {
		if stored != nil && stored.State.Finished() {
			w.op = stored
		}
		close(w.ch)
	}
	delete(e.waiters, op.ID)
	e.waitMu.Unlock()
}

func (e *Engine) opError(op *Operation) error {
	if op.State != StateFailed {
		return nil
	}
	e.waitMu.Lock()
	cause := e.causes[op.ID]
	e.waitMu.Unlock()
	if cause == nil {
		code := ""
		if st, err := DecodeData(op); err == nil && st != nil {
			code = st.common().Cause
		}
		cause = causeOf(code, op.Error)
	}
	return &OperationError{OperationID: op.ID, ServiceID: op.ServiceID, Kind: op.Kind, Message: op.Error, Cause: cause}
}

// maxWaitPause caps the pauses of a step's wait, or a third of the wait's
// expected length when that is longer (wait.Shaped): a wait that ends much
// earlier than expected is noticed at most that late.
const maxWaitPause = 2 * time.Minute

// expectations are the learned lengths of the engine's waits, per module
// and wait ("dc1/OS install"): what the last waits of that kind lasted,
// smoothed. They shape the pauses of the next wait of the kind; they live
// in memory only, so a fresh engine starts without them.
type expectations struct {
	mu sync.Mutex
	m  map[string]time.Duration
}

func (x *expectations) get(key string) time.Duration {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.m[key]
}

// learn folds a wait of length d into the expectation of key: the mean of
// the old expectation and d, so a change of the panel's speed is followed
// within a few waits.
func (x *expectations) learn(key string, d time.Duration) {
	if d <= 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.m == nil {
		x.m = map[string]time.Duration{}
	}
	if old, ok := x.m[key]; ok {
		d = (old + d) / 2
	}
	x.m[key] = d
}

// waitSchedule is the schedule of a step's wait called what on module:
// wait.Shaped with PollInterval as the shortest pause, maxWaitPause (or a
// third of the expected length) as the longest, and the length of the module's last waits of that kind (and the
// progress the panel reports) as the expected length. The panel is then
// polled a few times while the end is far and densely around its expected
// moment: the number of polls barely depends on the length of the wait,
// and the end is noticed within max(PollInterval, 2 % of the wait).
func (e *Engine) waitSchedule(module, what string) wait.Schedule {
	key := module + "/" + what
	return wait.Shaped(e.cfg.PollInterval, maxWaitPause, func() time.Duration { return e.expect.get(key) })
}

// progressAt restates progress p, read by a poll that began at elapsed
// time at and returned at end, as of end: the schedule reads a progress
// against the time elapsed when the poll returned, and a poll that was
// slow to return (a loaded engine: the answer waited for a CPU) would make
// p % look reached at end and the wait far longer than it is — 2 % read
// 8 ms into a wait and returned after 180 ms made a 1 s install look like
// a 9 s one and the wait slept through its end. The panel read p somewhere
// between at and end, so p·end/at is at least the progress it would show
// at end if the work goes on at the same pace: the wait's expected end is
// never put later than the answer supports. No progress when at is 0.
func progressAt(p int, at, end time.Duration) int {
	if p <= 0 || p >= 100 || end <= at {
		return p
	}
	if at <= 0 {
		return -1
	}
	return int(min(99, math.Round(float64(p)*float64(end)/float64(at))))
}

// pollTransient is how many failed polls in a row a wait tolerates.
const pollTransient = 5

// await polls check (on the schedule of waitSchedule) until it reports
// done, fails for good, or timeout has passed since *since — the moment the wait began,
// kept in the operation's state: when it is zero the wait begins now and
// the moment is recorded before the first poll, so after a crash, a
// restart or a step retry the deadline continues from it. A timeout is a
// failure of the server (what names the wait).
func (r *run) await(ctx context.Context, what string, since *time.Time, timeout time.Duration, check func(context.Context) (bool, error)) error {
	poll := check
	r.progress = -1
	// The wait's end lies between the last poll that saw it running and the
	// one that saw it done: its midpoint is what the wait lasted. A wait
	// resumed after a crash and done at its first poll (no poll of this run
	// saw it running) teaches nothing: its end may lie anywhere since it
	// began, and taking the midpoint taught lengths as long as the outage.
	var running, doneAt time.Duration
	sawRunning := false
	module := r.st.common().Module
	started := r.started == what
	r.started = ""
	// A wait whose start is recorded already (the step that started the
	// install recorded it with its own transition) and that this run has
	// not just started itself is resumed: it polls at once.
	if fresh := since.IsZero(); fresh || started {
		// A wait that is over at its first poll records nothing; one that
		// goes on records when it began before it pauses, unless that is
		// recorded already (and the loop starts from that first answer,
		// not a second request).
		start := r.now()
		var done bool
		var err error
		if !started || r.e.expect.get(module+"/"+what) <= 0 {
			done, err = check(ctx)
		}
		// else this run has just started what the wait waits for (the
		// power-on, the install) on a panel where a look at one server
		// reads the whole server list, and the waits of its kind have
		// lasted a while: the first look could only see it running, so
		// the wait begins with its first pause instead.
		if err == nil && done {
			return nil
		}
		if fresh {
			*since = start
			if cerr := r.checkpoint(ctx); cerr != nil {
				return cerr
			}
		}
		first := true
		poll = func(ctx context.Context) (bool, error) {
			if first {
				first = false
				// The progress of that answer was read before the
				// checkpoint, at the wait's start: reported with the time
				// since, after a slow checkpoint, it would make the wait
				// look far longer than it is (1 % after a 600 ms
				// checkpoint is a 60 s install) and the schedule would
				// pause for most of that. The next poll reads it afresh.
				r.progress = -1
				return done, err
			}
			return check(ctx)
		}
	}
	_, err := wait.Until(ctx, wait.Options{
		What:         what,
		Clock:        r.e.clock,
		Start:        *since,
		Timeout:      timeout,
		Schedule:     r.e.waitSchedule(module, what),
		Progress:     func() int { return r.progress },
		MaxTransient: pollTransient,
		Transient:    func(err error) bool { return classify(err).retried() },
	}, func(ctx context.Context) (struct{}, bool, error) {
		at := r.now().Sub(*since)
		done, err := poll(ctx)
		if err == nil {
			r.progress = progressAt(r.progress, at, r.now().Sub(*since))
		} else {
			r.progress = -1 // what the last answer said is stale now
		}
		if err == nil {
			if done {
				doneAt = at
			} else {
				running, sawRunning = at, true
			}
		}
		return struct{}{}, done, err
	})
	if err == nil && doneAt > 0 && sawRunning {
		// A wait that ended between the last poll that saw it running
		// and the first that saw it done, with the expectation in that
		// interval, agrees with the expectation, which stays: taking the
		// interval's midpoint (below the end the dense poll was aimed
		// past) would pull it lower at every wait until a wait overran
		// it and cost extra polls. One that ended outside teaches the
		// midpoint.
		key := module + "/" + what
		if e := r.e.expect.get(key); e <= running || e > doneAt {
			r.e.expect.learn(key, (running+doneAt)/2)
		}
	}
	var we *wait.Error
	if errors.As(err, &we) {
		switch we.Reason {
		case wait.TimedOut:
			return &serverFailure{reason: fmt.Sprintf("%s: timed out after %s", what, timeout), timedOut: true}
		case wait.Failing:
			return we.Err
		}
		if we.Last != nil {
			return we.Last
		}
		return context.Cause(ctx)
	}
	return err
}
