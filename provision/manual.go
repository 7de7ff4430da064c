package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"

	"github.com/ispkit/ispkit/billing"
)

// CommonState.ManualResult values recording how staff resolved a manual
// task.
const (
	manualCompleted = "completed"
	manualFailed    = "failed"
)

// ErrNoManualTask: the service has no pending manual task (it wraps
// ErrServiceState, so errors.Is works with either).
var ErrNoManualTask = fmt.Errorf("provision: the service has no pending manual task (%w)", ErrServiceState)

// CompleteManualTask records that staff did the work of the service's
// pending manual task (a colocation operation, or an Open whose
// configuration was unavailable on a NewServerType module): props are
// saved on the service (they override the engine's keys of the same name,
// except PropManualTask and PropActivatedAt, which are refused), the task
// is cleared and the service moves to the status the operation implies —
// Active for Open and Unsuspend (with EventWelcome on the first
// activation), Suspended for Suspend, Deleted for Close, unchanged for the
// others. The operation that raised the task (it ended StateDone when it
// handed the work over) records the outcome in its Data
// (CommonState.ManualResult "completed").
//
// Both records are version-checked in the Store. The operation is written
// first, so a call interrupted between the two can simply be repeated.
// Errors: ErrNotFound (no such service), ErrNoManualTask (wraps
// ErrServiceState) when no task is pending, or the task was failed,
// ErrBusy while the operation raising the task is still running, an
// *ArgumentError for a bad property key, ErrConflict when concurrent
// updates keep winning.
func (e *Engine) CompleteManualTask(ctx context.Context, serviceID string, props map[string]string) (*Service, error) {
	for k := range props {
		switch k {
		case "":
			return nil, argErr("CompleteManualTask", "props", "empty key")
		case PropManualTask, PropActivatedAt:
			return nil, argErr("CompleteManualTask", "props", "key "+k+" is kept by the engine")
		}
	}
	return e.resolveManualTask(ctx, serviceID, manualCompleted, "", props)
}

// FailManualTask records that staff could not do the service's pending
// manual task and returns the service: the task is cleared and reason becomes the service's Error;
// an Open's service goes back to Ordered (Pending, so it can be ordered
// again), other operations keep the service's status. The operation that
// raised the task becomes StateFailed with reason as its Error (and
// CommonState.ManualResult "failed"); EventOperationFailed is emitted.
// Validation, version checks and errors are those of CompleteManualTask;
// an empty reason is an *ArgumentError.
func (e *Engine) FailManualTask(ctx context.Context, serviceID, reason string) (*Service, error) {
	if reason == "" {
		return nil, argErr("FailManualTask", "reason", "required")
	}
	return e.resolveManualTask(ctx, serviceID, manualFailed, reason, nil)
}

func (e *Engine) resolveManualTask(ctx context.Context, serviceID, result, reason string, props map[string]string) (*Service, error) {
	if serviceID == "" {
		return nil, argErr("CompleteManualTask", "serviceID", "required")
	}
	svc, err := e.store.GetService(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	if svc.Properties[PropManualTask] == "" {
		return nil, fmt.Errorf("provision: service %s in status %s: %w", serviceID, svc.Status, ErrNoManualTask)
	}
	ops, err := e.store.ListOperations(ctx, OperationFilter{ServiceID: serviceID})
	if err != nil {
		return nil, err
	}
	var (
		op *Operation
		p  *product
		st ProductState
	)
	for _, o := range ops {
		if !o.State.Finished() {
			return nil, fmt.Errorf("provision: service %s: %s operation %s: %w", serviceID, o.Kind, o.ID, ErrBusy)
		}
		p2, st2, err := decodeData(o, svc.Kind)
		if err != nil {
			return nil, err
		}
		if st2 != nil && st2.common().ManualTask != "" {
			op, p, st = o, p2, st2 // the newest one raising a task
		}
	}
	if op == nil {
		return nil, fmt.Errorf("provision: service %s: no operation raised its manual task: %w", serviceID, ErrNoManualTask)
	}
	c := st.common()
	if prev := c.ManualResult; prev != "" && prev != result {
		return nil, fmt.Errorf("provision: service %s: the manual task was already %s: %w", serviceID, prev, ErrNoManualTask)
	}
	if to := manualStatus(op.Kind, result); to != "" && to != svc.Status && !svc.Status.CanTransition(to) {
		return nil, fmt.Errorf("provision: service %s in status %s cannot become %s: %w", serviceID, svc.Status, to, ErrServiceState)
	}
	if c.ManualResult == "" {
		c.ManualResult = result
		if result == manualFailed {
			op.State, op.Error = StateFailed, reason
			c.Error = reason
		}
		if op.Data, err = encodeData(p, st); err != nil {
			return nil, err
		}
		if err := e.store.UpdateOperation(ctx, op); err != nil {
			return nil, err
		}
	}
	r := &run{e: e, op: op, prod: p, st: st, worker: e.cfg.WorkerID, log: e.log.With(slog.String("op", op.ID), slog.String("service", serviceID))}
	out, err := r.updateService(ctx, func(s *Service) error {
		if s.Properties[PropManualTask] == "" {
			return fmt.Errorf("provision: service %s: %w", serviceID, ErrNoManualTask)
		}
		delete(s.Properties, PropManualTask)
		if s.Module == "" {
			s.Module = c.Module
		}
		if result == manualFailed {
			s.Error = reason
		} else {
			maps.Copy(s.Properties, props)
			s.Error = ""
		}
		if to := manualStatus(op.Kind, result); to != "" {
			return r.transition(s, to)
		}
		return nil
	})
	if err != nil {
		var p *permanentError
		if errors.As(err, &p) {
			err = p.err
		}
		return nil, err
	}
	r.log.LogAttrs(ctx, slog.LevelInfo, "manual task "+result, slog.String("status", string(out.Status)))
	if result == manualFailed {
		e.finished(op, nil, nil)
		ev := r.event(EventOperationFailed, "")
		ev.Module, ev.Error = out.Module, reason
		e.emit(ev)
	}
	return out, nil
}

// manualStatus is the status a resolved manual task of kind leaves the
// service in; empty: unchanged.
func manualStatus(kind OperationKind, result string) billing.Status {
	if result == manualFailed {
		if kind == OpOpen {
			return billing.StatusOrdered
		}
		return ""
	}
	switch kind {
	case OpOpen, OpUnsuspend:
		return billing.StatusActive
	case OpSuspend:
		return billing.StatusSuspended
	case OpClose:
		return billing.StatusDeleted
	}
	return ""
}
