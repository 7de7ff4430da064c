package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/ispkit/ispkit/billing"
)

// Step names shared by every kind.
const (
	firstStep  = "start"
	stepFail   = "fail"   // record the failure on the service, then failed
	stepDone   = "done"   // final: operation done
	stepFailed = "failed" // final: operation failed
)

// Data keys of Operation.Data.
const (
	dModule      = "module"
	dModIdx      = "module_index"
	dUserName    = "user_name"
	dUserID      = "user_id"
	dAdminID     = "admin_id"
	dServer      = "server"
	dTried       = "tried"
	dDomain      = "domain"
	dBaseIPs     = "base_ips"
	dExtraIPs    = "extra_ips"
	dPublicIP    = "public_ip"
	dParkingIP   = "parking_ip"
	dParkDone    = "parking_released"
	dPubAdded    = "public_added"
	dParkRemoved = "parking_removed"
	dInstalling  = "install_started"
	dFailReason  = "fail_reason"
	dAbort       = "abort"
	dFailures    = "server_failures"
	dError       = "error"
	dManual      = "manual_task"
	dName        = "name"
	dNameTry     = "name_try"
	dCreateSent  = "create_sent"
	dIP          = "ip"
	dIPID        = "ip_id"
	dModsTried   = "modules_tried" // hosting Open: modules given up after a module fault
	dModFaults   = "module_faults" // and why
)

// stepFunc runs one step and returns the next step's name.
type stepFunc func(ctx context.Context, r *run) (string, error)

// permanentError marks an error that retrying the step cannot fix.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

func permanent(err error) error { return &permanentError{err} }

// serverFailure is a failure of the server being prepared: Open rolls the
// server back and tries the next one.
type serverFailure struct{ reason string }

func (s *serverFailure) Error() string { return s.reason }

func serverFailed(format string, args ...any) error {
	return &serverFailure{reason: fmt.Sprintf(format, args...)}
}

func isPermanent(err error) bool {
	var p *permanentError
	var s *serverFailure
	return errors.As(err, &p) || errors.As(err, &s) || errors.Is(err, ErrInvalidRequest)
}

// run is one execution of an operation by this engine.
type run struct {
	e      *Engine
	op     *Operation
	worker string
	log    *slog.Logger
	cause  error

	savedStep string
	savedData map[string]string

	mu        sync.Mutex
	leaseTill time.Time

	// afterSave runs after updateService stored the service.
	afterSave []func()
	// createSent: this run sent the hosting account creation.
	createSent bool

	// caches, loaded lazily
	tariff *billing.Tariff
}

// leaseReleaseTimeout bounds the release of a lease after the run's own
// context ended (a fresh context: the run's is cancelled).
const leaseReleaseTimeout = 5 * time.Second

func (e *Engine) execute(parent context.Context, op *Operation) (*Operation, error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	r := &run{
		e: e, op: op, worker: e.cfg.WorkerID,
		log:       e.log.With(slog.String("op", op.ID), slog.String("service", op.ServiceID), slog.String("kind", string(op.Kind))),
		savedStep: op.Step, savedData: maps.Clone(op.Data),
		leaseTill: op.LeaseUntil,
	}
	if r.op.Data == nil {
		r.op.Data = map[string]string{}
	}
	stop := r.renewLoop(ctx, cancel)
	err := r.loop(ctx)
	stop()
	if err != nil {
		r.log.LogAttrs(context.Background(), slog.LevelWarn, "operation interrupted", slog.String("step", r.op.Step), slog.Any("error", err))
		if parent.Err() != nil && !errors.Is(err, ErrLeaseLost) && !errors.Is(context.Cause(ctx), ErrLeaseLost) {
			// Stopped by its own context (shutdown), not taken over: give
			// the lease back so that Run or Resume, here or elsewhere,
			// continues at once instead of after LeaseDuration.
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(parent), leaseReleaseTimeout)
			if rerr := e.store.ReleaseLease(rctx, op.ID, r.worker); rerr != nil {
				r.log.LogAttrs(rctx, slog.LevelWarn, "lease release failed", slog.Any("error", rerr))
			}
			rcancel()
		}
		return r.op, fmt.Errorf("%w: %s at step %s: %w", ErrInterrupted, op.Kind, r.op.Step, err)
	}
	_ = e.store.ReleaseLease(context.WithoutCancel(ctx), op.ID, r.worker)
	e.finished(r.op, r.cause)
	ev := Event{Type: EventOperationDone, OperationID: op.ID, ServiceID: op.ServiceID, Kind: op.Kind, Module: r.op.Data[dModule], ServerID: r.op.Data[dServer]}
	if r.op.State == StateFailed {
		ev.Type, ev.Error = EventOperationFailed, r.op.Error
		r.log.LogAttrs(context.Background(), slog.LevelWarn, "operation failed", slog.String("error", r.op.Error))
	} else {
		r.log.LogAttrs(context.Background(), slog.LevelInfo, "operation done")
	}
	e.emit(ev)
	return r.op, e.opError(r.op)
}

// renewLoop renews the lease every third of LeaseDuration until stopped;
// a lost lease cancels the run.
func (r *run) renewLoop(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		every := r.e.cfg.LeaseDuration / 3
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			until := time.Now().Add(r.e.cfg.LeaseDuration)
			err := r.e.store.RenewLease(ctx, r.op.ID, r.worker, r.e.cfg.LeaseDuration)
			switch {
			case err == nil:
				r.mu.Lock()
				r.leaseTill = until
				r.mu.Unlock()
			case errors.Is(err, ErrLeaseLost):
				cancel(ErrLeaseLost)
				return
			case ctx.Err() == nil:
				r.log.LogAttrs(ctx, slog.LevelWarn, "lease renewal failed", slog.Any("error", err))
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// save records op (Step, Data, State) with the version check. A conflict
// caused by a lease renewal that bumped the version is absorbed; any other
// change by someone else means the lease was lost.
func (r *run) save(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx) // a started write is finished
	r.mu.Lock()
	r.op.LeaseUntil = r.leaseTill
	r.mu.Unlock()
	r.op.Worker = r.worker
	for i := 0; ; i++ {
		err := r.e.store.UpdateOperation(ctx, r.op)
		if err == nil {
			r.savedStep, r.savedData = r.op.Step, maps.Clone(r.op.Data)
			return nil
		}
		if !errors.Is(err, ErrConflict) || i == 3 {
			return err
		}
		cur, gerr := r.e.store.GetOperation(ctx, r.op.ID)
		if gerr != nil {
			return err
		}
		if cur.Worker != r.worker || cur.Attempts != r.op.Attempts || cur.State.Finished() ||
			cur.Step != r.savedStep || !maps.Equal(cur.Data, r.savedData) {
			return fmt.Errorf("operation changed by another worker: %w", ErrLeaseLost)
		}
		r.op.Version = cur.Version
	}
}

func (r *run) steps() map[string]stepFunc {
	svcKind := ServiceKind(r.op.Data["service_kind"])
	switch svcKind {
	case KindColocation:
		return colocationSteps
	case KindHosting:
		return hostingSteps[r.op.Kind]
	default:
		return dedicatedSteps[r.op.Kind]
	}
}

func (r *run) loop(ctx context.Context) error {
	if r.op.Step == firstStep || r.op.Data["service_kind"] == "" {
		svc, err := r.e.store.GetService(ctx, r.op.ServiceID)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				r.op.Data[dError] = err.Error()
				r.op.Step = stepFail
				r.op.Data["service_kind"] = string(KindDedicated)
			} else {
				return err
			}
		} else {
			r.op.Data["service_kind"] = string(svc.Kind)
		}
	}
	if r.op.Attempts > r.e.cfg.MaxAttempts && !r.inRollback() {
		reason := fmt.Sprintf("gave up after %d attempts", r.op.Attempts-1)
		if r.op.Data[dServer] != "" && r.op.Kind == OpOpen {
			r.op.Data[dFailReason] = reason
			r.op.Data[dAbort] = "1"
			r.op.Step = stepRollback
		} else {
			r.op.Data[dError] = reason
			r.op.Step = stepFail
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		step := r.op.Step
		switch step {
		case stepDone, stepFailed:
			return r.finish(ctx)
		}
		fn := r.steps()[step]
		if step == stepFail {
			fn = stepRecordFailure
		}
		if fn == nil {
			r.op.Data[dError] = "unknown step " + step
			r.op.Step = stepFail
			continue
		}
		r.e.emit(Event{Type: EventStepStarted, OperationID: r.op.ID, ServiceID: r.op.ServiceID, Kind: r.op.Kind, Step: step, Module: r.op.Data[dModule], ServerID: r.op.Data[dServer]})
		r.log.LogAttrs(ctx, slog.LevelDebug, "step started", slog.String("step", step), slog.String("server", r.op.Data[dServer]))
		var next string
		var err error
		for attempt := 0; ; attempt++ {
			next, err = fn(ctx, r)
			if err == nil || ctx.Err() != nil || isPermanent(err) || attempt >= r.e.cfg.StepRetries {
				break
			}
			r.log.LogAttrs(ctx, slog.LevelWarn, "step failed, retrying", slog.String("step", step), slog.Any("error", err))
			if serr := sleep(ctx, r.e.cfg.PollInterval); serr != nil {
				break
			}
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if err != nil {
			r.log.LogAttrs(ctx, slog.LevelWarn, "step failed", slog.String("step", step), slog.String("server", r.op.Data[dServer]), slog.Any("error", err))
			if next, err = r.onStepError(step, err); err != nil {
				return err
			}
		}
		r.op.Step = next
		if err := r.save(ctx); err != nil {
			return err
		}
		r.e.emit(Event{Type: EventStepFinished, OperationID: r.op.ID, ServiceID: r.op.ServiceID, Kind: r.op.Kind, Step: step, Module: r.op.Data[dModule], ServerID: r.op.Data[dServer]})
	}
}

func (r *run) inRollback() bool {
	s := r.op.Step
	return strings.HasPrefix(s, "rb_") || s == stepFail || s == stepDone || s == stepFailed
}

// onStepError decides what a failed step means: the next step to record,
// or an error that interrupts the run (the operation is retried later).
func (r *run) onStepError(step string, err error) (string, error) {
	var sf *serverFailure
	switch {
	case strings.HasPrefix(step, "rb_"):
		// Rolling back must finish: never give up while a server is held.
		return "", fmt.Errorf("rollback step %s: %w", step, err)
	case step == stepFail || step == "activate" || step == "h_activate":
		// The panel work is done; only the record is missing: retry later.
		return "", err
	case errors.As(err, new(*createInDoubt)):
		// The account may exist: nothing else before the panel answers.
		return "", err
	case r.op.Kind == OpOpen && errors.As(err, new(*moduleFault)):
		if next, ok := r.nextHostingModule(err); ok {
			return next, nil
		}
	case r.op.Kind == OpOpen && r.op.Data[dServer] != "" && ServiceKind(r.op.Data["service_kind"]) == KindDedicated && serverPhase[step]:
		reason := err.Error()
		if errors.As(err, &sf) {
			reason = sf.reason
		}
		r.op.Data[dFailReason] = fmt.Sprintf("%s: %s", step, reason)
		r.e.emit(Event{Type: EventServerFailed, OperationID: r.op.ID, ServiceID: r.op.ServiceID, Kind: r.op.Kind, Step: step, Module: r.op.Data[dModule], ServerID: r.op.Data[dServer], Error: r.op.Data[dFailReason]})
		return stepRollback, nil
	}
	r.cause = err
	r.op.Data[dError] = err.Error()
	return stepFail, nil
}

// finish records the final state.
func (r *run) finish(ctx context.Context) error {
	if r.op.Step == stepFailed {
		r.op.State = StateFailed
		r.op.Error = r.op.Data[dError]
	} else {
		r.op.State = StateDone
		r.op.Error = ""
	}
	return r.save(ctx)
}

// stepRecordFailure writes the failure onto the service: an Open goes back
// to (or stays in) Ordered; other operations keep the service's status.
func stepRecordFailure(ctx context.Context, r *run) (string, error) {
	msg := r.op.Data[dError]
	_, err := r.updateService(ctx, func(s *Service) error {
		s.Error = msg
		if r.op.Kind == OpOpen && s.Status == billing.StatusProcessing {
			return r.transition(s, billing.StatusOrdered)
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return stepFailed, nil
	}
	if err != nil {
		return "", err
	}
	return stepFailed, nil
}

// updateService applies fn to the current service and stores it, retrying
// on version conflicts.
func (r *run) updateService(ctx context.Context, fn func(*Service) error) (*Service, error) {
	for i := 0; ; i++ {
		s, err := r.e.store.GetService(ctx, r.op.ServiceID)
		if err != nil {
			return nil, err
		}
		if s.Properties == nil {
			s.Properties = map[string]string{}
		}
		r.afterSave = nil
		if err := fn(s); err != nil {
			return nil, err
		}
		err = r.e.store.PutService(context.WithoutCancel(ctx), s)
		if err == nil {
			for _, f := range r.afterSave {
				f()
			}
			r.afterSave = nil
			return s, nil
		}
		if !errors.Is(err, ErrConflict) || i >= 10 {
			return nil, err
		}
	}
}

// transition moves s to status to (no-op when already there) and emits the
// welcome event on first activation.
func (r *run) transition(s *Service, to billing.Status) error {
	if s.Status == to {
		return nil
	}
	bs := billing.Service{ID: numericID(s.ID), Status: s.Status}
	if at := s.Properties[PropActivatedAt]; at != "" {
		bs.ActivatedAt, _ = time.Parse(time.RFC3339Nano, at)
	}
	ev, err := bs.Transition(to, time.Now())
	if err != nil {
		return permanent(fmt.Errorf("%w (%w)", err, ErrServiceState))
	}
	s.Status = to
	if to == billing.StatusActive {
		s.Error = ""
		if ev.Type == billing.EventWelcome {
			s.Properties[PropActivatedAt] = bs.ActivatedAt.Format(time.RFC3339Nano)
			props := maps.Clone(s.Properties)
			r.afterSave = append(r.afterSave, func() {
				r.e.emit(Event{Type: EventWelcome, OperationID: r.op.ID, ServiceID: s.ID, Kind: r.op.Kind, Module: s.Module, ServerID: props[PropServerID], Properties: props})
			})
		}
	}
	return nil
}

// manualTask hands the service to the module's department.
func (r *run) manualTask(m *billing.Module, reason string) {
	t := billing.NewManualTask(m, numericID(r.op.ServiceID), reason)
	r.op.Data[dManual] = reason
	r.e.emit(Event{Type: EventManualTask, OperationID: r.op.ID, ServiceID: r.op.ServiceID, Kind: r.op.Kind, Module: m.Name, Task: &t})
	if r.e.cfg.OnManualTask != nil {
		r.e.cfg.OnManualTask(t)
	}
}

// startOpen is the first step of every Open: the service goes from Ordered
// to Processing (an Active one means the Open is already done) and the
// first module is chosen; next is the kind's second step.
func (r *run) startOpen(ctx context.Context, next string) (string, error) {
	_, svc, err := r.loadTariff(ctx)
	if err != nil {
		return "", err
	}
	if svc.Status == billing.StatusActive {
		return stepDone, nil
	}
	if _, err := r.updateService(ctx, func(s *Service) error {
		if s.Status != billing.StatusOrdered && s.Status != billing.StatusProcessing {
			return permanent(fmt.Errorf("open service in status %s: %w", s.Status, ErrServiceState))
		}
		s.Error = ""
		return r.transition(s, billing.StatusProcessing)
	}); err != nil {
		return "", err
	}
	if r.op.Data[dModIdx] == "" {
		r.op.Data[dModIdx] = "0"
	}
	return next, nil
}

// loadTariff returns the service's tariff.
func (r *run) loadTariff(ctx context.Context) (*billing.Tariff, *Service, error) {
	svc, err := r.e.store.GetService(ctx, r.op.ServiceID)
	if err != nil {
		return nil, nil, err
	}
	if r.tariff == nil {
		t, err := r.e.cfg.Catalog.Tariff(svc.TariffID)
		if err != nil {
			return nil, nil, permanent(fmt.Errorf("tariff %d: %w", svc.TariffID, err))
		}
		r.tariff = t
	}
	return r.tariff, svc, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pollUntil calls check every PollInterval until it reports done, fails, or
// timeout passes (then it returns a serverFailure with what).
func (r *run) pollUntil(ctx context.Context, timeout time.Duration, what string, check func(context.Context) (bool, error)) error {
	deadline := time.Now().Add(timeout)
	transient := 0
	for {
		done, err := check(ctx)
		if err != nil {
			if isPermanent(err) || ctx.Err() != nil {
				return err
			}
			transient++
			if transient > 5 {
				return err
			}
		} else {
			transient = 0
		}
		if done {
			return nil
		}
		if !time.Now().Before(deadline) {
			return serverFailed("%s: timed out after %s", what, timeout)
		}
		if err := sleep(ctx, min(r.e.cfg.PollInterval, max(time.Until(deadline), time.Millisecond))); err != nil {
			return err
		}
	}
}
