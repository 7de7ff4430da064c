package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/internal/wait"
)

// The runner walks an operation's graph. It knows no product: the product
// gives it the graph (steps, their successors and phases), the state and
// the failure policy; the runner runs each step, retries it in place when
// the class of its error allows, checks the transition against the graph,
// records the step's result before the next one starts (a quiet step that
// only read, and an idempotent one, are carried by the next record:
// stepDef.quiet, stepDef.idempotent), and applies the policy when a step
// fails.

// run is one execution of an operation by this engine.
type run struct {
	e      *Engine
	op     *Operation
	prod   *product
	g      *graph
	st     ProductState
	req    Request
	worker string
	log    *slog.Logger
	cause  error

	// legacyInput: Input is in the version 1 format; the next save
	// rewrites it.
	legacyInput bool

	savedStep string
	savedData json.RawMessage

	// The lease, on the engine's clock (see lease.go): token is the
	// claim's fencing token; leaseTill the earliest moment the Store may
	// end the lease, counted from before the claim or the last renewal
	// that succeeded (renewed); stopRun cancels the run.
	token     int
	mu        sync.Mutex
	leaseTill time.Time
	renewed   time.Time
	stopRun   context.CancelCauseFunc

	// afterSave runs after updateService stored the service.
	afterSave []func()

	// effects counts the run's writes through the gates and its updates
	// of the service (see stepDef.quiet).
	effects int

	// caches, loaded lazily
	tariff *billing.Tariff
	svc    *Service // see service

	// progress is the percentage the running wait's check last reported
	// (-1: none); it shapes the wait's schedule.
	progress int

	// rows are the server rows this run read last (rows.go).
	rows rowMemo

	// allocated are the notes this run asked an IPPool to allocate an
	// address with (poolGate.mayHold).
	allocated map[string]bool

	// started names the wait (awaitPower, awaitInstall) whose operation
	// this run has just started on a RowReader's panel (see await).
	started string
}

// leaseReleaseTimeout bounds the release of a lease after the run's own
// context ended (a fresh context: the run's is cancelled).
const leaseReleaseTimeout = 5 * time.Second

// execute runs op, which this engine claimed (or created leased to
// itself): claimed is the engine clock's time read before the claim was
// sent, from which the lease is counted. svc, when not nil, is the
// operation's service as its Open just recorded it (see Engine.create);
// the run reads the service itself otherwise.
func (e *Engine) execute(parent context.Context, op *Operation, svc *Service, claimed time.Time) (*Operation, error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	defer e.runStarted(op.ID)()
	r := &run{
		e: e, op: op, worker: e.cfg.WorkerID,
		log:       e.log.With(slog.String("op", op.ID), slog.String("service", op.ServiceID), slog.String("kind", string(op.Kind))),
		savedStep: op.Step, savedData: bytes.Clone(op.Data),
		token:     op.Attempts,
		leaseTill: claimed.Add(e.cfg.LeaseDuration), renewed: claimed,
		stopRun: cancel,
		svc:     svc,
	}
	stop := r.watchLease(ctx)
	err := r.load(ctx)
	if err == nil {
		err = r.loop(ctx)
	}
	stop()
	if err != nil {
		r.log.LogAttrs(context.Background(), slog.LevelWarn, "operation interrupted", slog.String("step", r.op.Step), slog.Any("error", err))
		if parent.Err() != nil && !errors.Is(err, ErrLeaseLost) && !errors.Is(context.Cause(ctx), ErrLeaseLost) {
			// Stopped by its own context (shutdown), not taken over: give
			// the lease back so that Run or Resume, here or elsewhere,
			// continues at once instead of after LeaseDuration.
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(parent), leaseReleaseTimeout)
			if rerr := e.store.ReleaseLease(rctx, op.ID, r.worker, r.token); rerr != nil {
				r.log.LogAttrs(rctx, slog.LevelWarn, "lease release failed", slog.Any("error", rerr))
			}
			rcancel()
		}
		return r.op, fmt.Errorf("%w: %s at step %s: %w", ErrInterrupted, op.Kind, r.op.Step, err)
	}
	// The operation as the Store now holds it: the run's last write,
	// without the lease. The Store may have ended the lease with that
	// write (see Store); otherwise the run releases it.
	stored := r.op.Clone()
	if r.op.Worker != "" {
		if err := e.store.ReleaseLease(context.WithoutCancel(ctx), op.ID, r.worker, r.token); err == nil {
			stored.Worker, stored.LeaseUntil = "", time.Time{}
		} else {
			stored = nil
		}
	}
	e.finished(r.op, r.cause, stored)
	ev := r.event(EventOperationDone, "")
	if r.op.State == StateFailed {
		ev.Type, ev.Error = EventOperationFailed, r.op.Error
		r.log.LogAttrs(context.Background(), slog.LevelWarn, "operation failed", slog.String("error", r.op.Error))
	} else {
		r.log.LogAttrs(context.Background(), slog.LevelInfo, "operation done")
	}
	e.emit(ev)
	return r.op, e.opError(r.op)
}

// event is an event about the run, with its module and server.
func (r *run) event(t EventType, step string) Event {
	ev := Event{Type: t, OperationID: r.op.ID, ServiceID: r.op.ServiceID, Kind: r.op.Kind, Step: step, Time: r.now()}
	if r.st != nil {
		ev.Module, ev.ServerID = r.st.common().Module, r.st.serverID()
	}
	return ev
}

func (r *run) now() time.Time { return r.e.clock.Now() }

// load decodes the operation's request and state and finds its graph. A
// version 1 record that did not name its product takes it from the
// service.
//
// A record this release cannot read fails the operation, unless a newer
// release wrote it: then the run stops and leaves it to that release.
func (r *run) load(ctx context.Context) error {
	req, legacy, ierr := decodeInput(r.op)
	r.req, r.legacyInput = req, legacy
	p, st, err := decodeData(r.op, "")
	for _, e := range []error{ierr, err} {
		if errors.Is(e, errNewer) {
			return e
		}
	}
	if bad := errors.Join(ierr, err); bad != nil {
		if p == nil {
			p = products[0]
		}
		r.prod, r.st, r.legacyInput = p, p.newState(), false
		r.st.common().Error = bad.Error()
		r.op.Step = stepFail.name
		return nil
	}
	if p == nil {
		svc, err := r.service(ctx)
		switch {
		case errors.Is(err, ErrNotFound):
			p, st = products[0], products[0].newState()
			st.common().Error = err.Error()
			r.op.Step = stepFail.name
		case err != nil:
			return err
		default:
			if p, st, err = decodeData(r.op, svc.Kind); err != nil {
				return err
			}
			if p == nil {
				p, st = products[0], products[0].newState()
				st.common().Error = fmt.Sprintf("service %s of kind %q: %v", svc.ID, svc.Kind, ErrUnsupported)
				r.op.Step = stepFail.name
			}
		}
	}
	r.prod, r.st = p, st
	r.g = p.graphs[r.op.Kind]
	if r.g == nil && r.op.Step != stepFail.name && r.op.Step != stepFailed.name {
		st.common().Error = fmt.Sprintf("%s on a %s service: %v", r.op.Kind, p.kind, ErrUnsupported)
		r.op.Step = stepFail.name
	}
	return nil
}

// save records the operation (Step, State, the state as Data) with the
// version check. A conflict caused by a lease renewal that bumped the
// version is absorbed; any other change by someone else means the lease
// was lost.
func (r *run) save(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx) // a started write is finished
	data, err := encodeData(r.prod, r.st)
	if err != nil {
		return err
	}
	r.op.Data = data
	if r.legacyInput {
		if r.op.Input, err = encodeInput(r.req); err != nil {
			return err
		}
	}
	r.op.Worker, r.op.Attempts = r.worker, r.token
	for i := 0; ; i++ {
		err := r.e.store.UpdateOperation(ctx, r.op)
		if err == nil {
			r.savedStep, r.savedData = r.op.Step, bytes.Clone(r.op.Data)
			r.legacyInput = false
			return nil
		}
		if errors.Is(err, ErrLeaseLost) {
			// A newer claim exists: stop at once, nothing more is written.
			r.stopRun(err)
			return err
		}
		if !errors.Is(err, ErrConflict) || i == 3 {
			return err
		}
		cur, gerr := r.e.store.GetOperation(ctx, r.op.ID)
		if gerr != nil {
			return err
		}
		if cur.Worker != r.worker || cur.Attempts != r.token || cur.State.Finished() ||
			cur.Step != r.savedStep || !bytes.Equal(cur.Data, r.savedData) {
			err := fmt.Errorf("operation changed by another worker: %w", ErrLeaseLost)
			r.stopRun(err)
			return err
		}
		r.op.Version = cur.Version
	}
}

// checkpoint records the state in the middle of a step (the step stays
// the same): what is recorded survives a crash before the step ends.
func (r *run) checkpoint(ctx context.Context) error { return r.save(ctx) }

// failStep is the runner's fail step: it records the failure on the
// service; it is retried later until it succeeds.
var failStep = &stepDef{name: stepFail, phase: PhaseRecord, fn: recordFailure,
	next: []step{stepFailed}, doc: "record the failure on the service", onError: &policy{otherwise: retryLater}}

func (r *run) loop(ctx context.Context) error {
	if r.op.Attempts > r.e.cfg.MaxAttempts && !r.finishing() {
		r.st.common().Error = fmt.Sprintf("gave up after %d attempts", r.op.Attempts-1)
		r.op.Step = r.routeFail(r.current()).name
	}
	for {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		name := r.op.Step
		if name == stepDone.name || name == stepFailed.name {
			return r.finish(ctx)
		}
		def := r.current()
		if def == nil {
			r.st.common().Error = "unknown step " + name
			r.op.Step = r.routeFail(nil).name
			continue
		}
		r.e.emit(r.event(EventStepStarted, name))
		r.log.LogAttrs(ctx, slog.LevelDebug, "step started", slog.String("step", name), slog.String("server", r.st.serverID()))
		effects := r.effects
		next, err := r.attempt(ctx, def)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if err == nil && def != failStep && !r.g.allows(def, next) {
			err = &transitionError{from: def.name, to: next}
		}
		record := true
		switch {
		case err != nil:
			r.log.LogAttrs(ctx, slog.LevelWarn, "step failed", slog.String("step", name), slog.String("server", r.st.serverID()), slog.Any("error", err))
			if next, err = r.onError(def, err); err != nil {
				return err
			}
		case next == stepFail:
			next = r.routeFail(def)
		case next == stepDone:
			// finish records the end at once, with this transition.
			record = false
		case def.quiet && r.effects == effects && next != def.name:
			// Only read: the next recorded transition carries this one
			// (stepDef.quiet).
			record = false
		case def.idempotent && next != def.name:
			// Made again after a crash with no harm: the next recorded
			// transition carries this one (stepDef.idempotent).
			record = false
		}
		r.op.Step = next.name
		if record {
			if err := r.save(ctx); err != nil {
				return err
			}
		}
		r.e.emit(r.event(EventStepFinished, name))
	}
}

// current is the declaration of the step the operation is at (nil when
// the graph has none of that name).
func (r *run) current() *stepDef {
	if r.op.Step == stepFail.name {
		return failStep
	}
	if r.g == nil {
		return nil
	}
	return r.g.byName[r.op.Step]
}

// finishing reports whether the operation is rolling back or recording
// its end: it is not given up then.
func (r *run) finishing() bool {
	switch r.op.Step {
	case stepFail.name, stepDone.name, stepFailed.name:
		return true
	}
	s := r.current()
	return s != nil && s.phase == PhaseRollback
}

// attempt runs step s, retrying it in place (Config.StepRetries times)
// while its error's class allows, after pauses that begin at PollInterval
// and double up to MaxRetryDelay (on the engine's clock).
func (r *run) attempt(ctx context.Context, s *stepDef) (step, error) {
	pause := r.e.cfg.PollInterval
	for attempt := 0; ; attempt++ {
		next, err := s.fn(ctx, r, r.st)
		// A whole server list read by the step is not kept past it: only
		// the row of the operation's server is.
		r.rows.settle(r.st.serverID())
		if err != nil {
			// What the failed step read or wrote is in doubt: its retry
			// and the steps after it read the panel again.
			r.rows.reset()
			r.started = ""
		}
		if err == nil || ctx.Err() != nil || !classify(err).retried() || attempt >= r.e.cfg.StepRetries {
			return next, err
		}
		r.log.LogAttrs(ctx, slog.LevelWarn, "step failed, retrying", slog.String("step", s.name.name),
			slog.String("class", classify(err).String()), slog.Any("error", err))
		if wait.Sleep(ctx, r.e.clock, pause) != nil {
			return next, err
		}
		pause = min(2*pause, max(r.e.cfg.MaxRetryDelay, r.e.cfg.PollInterval))
	}
}

// onError applies the product's policy to a failed step: the next step to
// record, or an error that interrupts the run (the operation is resumed
// later).
func (r *run) onError(s *stepDef, err error) (step, error) {
	class := classify(err)
	switch r.policyFor(s).action(class) {
	case retryLater:
		return step{}, fmt.Errorf("step %s (%s): %w", s.name, class, err)
	case rollBack:
		if r.g.rollBack != nil {
			if next, ok := r.g.rollBack(r, r.st, s, class, err); ok {
				return next, nil
			}
		}
	case nextModule:
		if r.g.nextModule != nil {
			if next, ok := r.g.nextModule(r, r.st, err); ok {
				return next, nil
			}
		}
	}
	r.fail(err)
	return r.routeFail(s), nil
}

func (r *run) policyFor(s *stepDef) policy {
	if s == failStep || r.g == nil {
		return *failStep.onError
	}
	return r.g.policyFor(s)
}

// fail records err as the operation's failure and returns the fail step;
// a step that decides the operation fails returns r.fail(err).
func (r *run) fail(err error) step {
	r.cause = err
	c := r.st.common()
	c.Error, c.Cause = err.Error(), causeCode(err)
	return stepFail
}

// routeFail is where a failure goes from step s (nil: a step the graph
// does not know): the product's fail route, which may first release what
// the operation holds, unless s rolls back or records the failure already.
func (r *run) routeFail(s *stepDef) step {
	if r.g == nil || r.g.failRoute == nil || s == failStep || (s != nil && s.phase == PhaseRollback) {
		return stepFail
	}
	return r.g.failRoute(r, r.st)
}

// finish records the final state. A failed operation holds no
// reservation: whatever its product left is released.
func (r *run) finish(ctx context.Context) error {
	if r.op.Step == stepFailed.name {
		r.op.State = StateFailed
		r.op.Error = r.st.common().Error
		if err := r.releaseReservations(ctx); err != nil {
			return err
		}
	} else {
		r.op.State = StateDone
		r.op.Error = ""
	}
	return r.save(ctx)
}

func (r *run) releaseReservations(ctx context.Context) error {
	res, err := r.e.store.Reservations(ctx, "")
	if err != nil {
		return err
	}
	for _, rv := range res {
		if rv.OperationID != r.op.ID {
			continue
		}
		r.log.LogAttrs(ctx, slog.LevelWarn, "failed operation still held a reservation: released",
			slog.String("module", rv.Backend), slog.String("server", rv.ServerID))
		if err := r.unreserve(ctx, rv.Backend, rv.ServerID, r.op.ID); err != nil {
			return err
		}
	}
	return nil
}

// recordFailure writes the failure onto the service: an Open goes back to
// (or stays in) Ordered; other operations keep the service's status.
func recordFailure(ctx context.Context, r *run, st ProductState) (step, error) {
	msg := st.common().Error
	_, err := r.updateService(ctx, func(s *Service) error {
		s.Error = msg
		if r.op.Kind == OpOpen && s.Status == billing.StatusProcessing {
			return r.transition(s, billing.StatusOrdered)
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return step{}, err
	}
	return stepFailed, nil
}
