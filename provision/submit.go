package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ispkit/ispkit/billing"
)

// Submit validates req, records the operation (and, for Open, the service
// in status Ordered) and queues it for Run workers; it does not wait. With a
// known OperationID it returns the existing operation (idempotent
// resubmission); the same id for a different service or kind is an
// ErrExists error. Nothing is recorded for a refused request: an
// *ArgumentError, billing's typed errors, ErrServiceState, ErrBusy,
// ErrUnsupported, ErrNoBackend or ErrNotFound (no such service).
//
// While Run is running and one of its Workers is free, the operation is
// recorded already leased to this engine and handed to that worker at
// once, as Do would run it but in Run's context: no claim, no wait for a
// worker to find it. Otherwise it waits, pending, for the next claim here
// or in another engine.
func (e *Engine) Submit(ctx context.Context, req Request) (*Operation, error) {
	ar := e.handOff()
	claimed := e.clock.Now() // before the operation may be created leased
	op, svc, created, err := e.prepare(ctx, req, ar != nil)
	if ar != nil && (err != nil || !created) {
		e.handBack(ar)
		ar = nil
	}
	switch {
	case err != nil:
		return nil, err
	case !created:
		e.search() // an existing operation: maybe unclaimed, maybe not
	case ar != nil:
		ret := op.Clone() // the caller's copy: the run changes its own
		e.runHandedOff(ar, op, svc, claimed)
		return ret, nil
	default:
		e.submitted()
	}
	return op, nil
}

// Do runs req to its end in the calling goroutine (the operation is leased
// to this engine as it is created) and returns the finished operation. A
// failed operation returns it with an *OperationError. When ctx ends first
// the operation stays unfinished, is finished by Run or Resume later, and
// the error wraps ErrInterrupted.
//
// With the OperationID of an operation that exists and is not finished, Do
// waits for it instead of running it a second time. Whoever holds its lease
// finishes it; if that process died, the operation is taken over only by an
// engine that claims work (Run or Resume), so a process that re-submits
// after a crash should call Resume first or keep Run going.
func (e *Engine) Do(ctx context.Context, req Request) (*Operation, error) {
	claimed := e.clock.Now() // before the operation is created leased
	op, svc, created, err := e.prepare(ctx, req, true)
	if err != nil {
		return nil, err
	}
	if op.State.Finished() {
		return op, e.opError(op)
	}
	if !created {
		// An existing operation (idempotent resubmission) that someone
		// else runs or will run: wait for it.
		e.search()
		return e.Wait(ctx, op.ID)
	}
	select {
	case e.slots <- struct{}{}:
	case <-ctx.Done():
		return op, fmt.Errorf("%w: %w", ErrInterrupted, ctx.Err())
	}
	defer func() { <-e.slots }()
	return e.execute(ctx, op, svc, claimed)
}

// Open opens a service (Do with an OpenRequest).
func (e *Engine) Open(ctx context.Context, req OpenRequest) (*Operation, error) {
	return e.Do(ctx, req)
}

// Suspend suspends a service.
func (e *Engine) Suspend(ctx context.Context, req SuspendRequest) (*Operation, error) {
	return e.Do(ctx, req)
}

// Unsuspend resumes a suspended service.
func (e *Engine) Unsuspend(ctx context.Context, req UnsuspendRequest) (*Operation, error) {
	return e.Do(ctx, req)
}

// Close closes a service and releases its server or account.
func (e *Engine) Close(ctx context.Context, req CloseRequest) (*Operation, error) {
	return e.Do(ctx, req)
}

// ChangePassword changes the panel user's password.
func (e *Engine) ChangePassword(ctx context.Context, req ChangePasswordRequest) (*Operation, error) {
	return e.Do(ctx, req)
}

// AddIP adds an address to a dedicated server.
func (e *Engine) AddIP(ctx context.Context, req AddIPRequest) (*Operation, error) {
	return e.Do(ctx, req)
}

// RemoveIP removes an additional address from a dedicated server.
func (e *Engine) RemoveIP(ctx context.Context, req RemoveIPRequest) (*Operation, error) {
	return e.Do(ctx, req)
}

// Reinstall reinstalls a dedicated server's OS.
func (e *Engine) Reinstall(ctx context.Context, req ReinstallRequest) (*Operation, error) {
	return e.Do(ctx, req)
}

// prepare validates and records a request. With leased, the new operation
// is created already claimed by this engine (running, Attempts 1). svc is
// the service an Open recorded anew (see create), or nil.
func (e *Engine) prepare(ctx context.Context, req Request, leased bool) (op *Operation, svc *Service, created bool, err error) {
	if err := checkRequest(req); err != nil {
		return nil, nil, false, err
	}
	req = deref(req)
	opID, svcID := req.ids()
	if opID != "" {
		if op, err := e.store.GetOperation(ctx, opID); err == nil {
			if op.ServiceID != svcID || op.Kind != req.Kind() {
				return nil, nil, false, fmt.Errorf("provision: operation id %q is used by a %s of service %s: %w", opID, op.Kind, op.ServiceID, ErrExists)
			}
			return op, nil, false, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, nil, false, err
		}
	}
	op, svc, err = e.create(ctx, req, leased)
	if errors.Is(err, ErrExists) && opID != "" {
		return e.prepare(ctx, req, leased)
	}
	return op, svc, err == nil, err
}

// create records the operation of req. For an Open that recorded its
// service anew it also returns that service as stored (its run starts from
// this copy instead of reading it: no one else has seen it yet, and the
// Store's version check guards every write made from it); otherwise the
// service is nil, and a run reads it after the operation exists.
func (e *Engine) create(ctx context.Context, req Request, leased bool) (*Operation, *Service, error) {
	opID, svcID := req.ids()
	var (
		p     *product
		fresh *Service
	)
	if open, ok := req.(OpenRequest); ok {
		var err error
		if p, fresh, err = e.createService(ctx, open); err != nil {
			return nil, nil, err
		}
	} else {
		svc, err := e.store.GetService(ctx, svcID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, nil, err
		}
		if svc == nil {
			return nil, nil, fmt.Errorf("provision: service %q: %w", svcID, ErrNotFound)
		}
		p = productOf(svc.Kind)
		if p == nil {
			return nil, nil, fmt.Errorf("provision: service %s of kind %q: %w", svc.ID, svc.Kind, ErrUnsupported)
		}
		if p.graphs[req.Kind()] == nil {
			return nil, nil, fmt.Errorf("provision: %s on a %s service: %w", req.Kind(), svc.Kind, ErrUnsupported)
		}
		if err := p.check(e, req, svc); err != nil {
			return nil, nil, err
		}
	}
	input, err := encodeInput(req)
	if err != nil {
		return nil, nil, err
	}
	data, err := encodeData(p, p.newState())
	if err != nil {
		return nil, nil, err
	}
	op := &Operation{
		ID:        opID,
		ServiceID: svcID,
		Kind:      req.Kind(),
		State:     StatePending,
		Step:      p.graphs[req.Kind()].first().name,
		Input:     input,
		Data:      data,
	}
	if op.ID == "" {
		op.ID = randomID()
	}
	if leased {
		op.State = StateRunning
		op.Worker = e.cfg.WorkerID
		op.LeaseUntil = time.Now().Add(e.cfg.LeaseDuration)
		op.Attempts = 1
	}
	// The Store refuses a second unfinished operation of the service
	// (ErrBusy), atomically: two engines submitting at once cannot both
	// create one.
	if err := e.store.CreateOperation(ctx, op); err != nil {
		return nil, nil, err
	}
	e.log.LogAttrs(ctx, slog.LevelInfo, "operation submitted", slog.String("op", op.ID), slog.String("service", op.ServiceID), slog.String("kind", string(op.Kind)))
	return op, fresh, nil
}

// createService records the service of an Open in status Ordered, or
// checks the Open against the service recorded already. It returns the
// service it recorded, or nil when the service existed. A new service,
// the usual case, costs one write and no read: the write is tried first,
// and the recorded service read only when it exists.
func (e *Engine) createService(ctx context.Context, open OpenRequest) (*product, *Service, error) {
	p, newSvc, err := e.checkOpen(open, nil)
	if err != nil {
		return nil, nil, err
	}
	switch err := e.store.PutService(ctx, newSvc); {
	case err == nil:
		return p, newSvc.Clone(), nil
	case !errors.Is(err, ErrExists):
		return nil, nil, err
	}
	svc, err := e.store.GetService(ctx, open.ServiceID)
	if errors.Is(err, ErrNotFound) {
		return p, nil, nil // deleted in between: as before, the operation finds out
	}
	if err != nil {
		return nil, nil, err
	}
	p, _, err = e.checkOpen(open, svc)
	return p, nil, err
}

// checkOpen checks an Open against the catalog and the existing service
// (nil when new) and returns the product and the service to record.
func (e *Engine) checkOpen(req OpenRequest, svc *Service) (*product, *Service, error) {
	t, err := e.cfg.Catalog.Tariff(req.TariffID)
	if err != nil {
		return nil, nil, fmt.Errorf("provision: tariff %d: %w", req.TariffID, err)
	}
	p := productFor(t.ProductType)
	if svc != nil {
		if svc.Status != billing.StatusOrdered {
			return nil, nil, fmt.Errorf("provision: open service %s in status %s: %w", svc.ID, svc.Status, ErrServiceState)
		}
		if svc.TariffID != req.TariffID {
			return nil, nil, reqArg(req, "TariffID", "differs from the existing service's tariff")
		}
	}
	opts, err := billing.ParseOrderOptions(req.Options)
	if err != nil {
		return nil, nil, err
	}
	if _, err := t.Resolve(opts); err != nil {
		return nil, nil, err
	}
	if len(e.modulesFor(t, p)) == 0 {
		return nil, nil, fmt.Errorf("provision: tariff %d: %w", t.ID, ErrNoBackend)
	}
	if err := p.checkOpen(e, req, t); err != nil {
		return nil, nil, err
	}
	return p, &Service{
		ID:         req.ServiceID,
		Kind:       p.kind,
		TariffID:   req.TariffID,
		AccountID:  req.AccountID,
		Owner:      req.Owner,
		Status:     billing.StatusOrdered,
		Properties: map[string]string{},
	}, nil
}

// checkStatus refuses an operation the service's status does not allow:
// Suspend, Unsuspend, ChangePassword and the address and reinstall
// operations need an Active or Suspended service, Close one that is not
// being opened.
func checkStatus(req Request, svc *Service) error {
	st := svc.Status
	switch req.Kind() {
	case OpSuspend, OpUnsuspend, OpChangePassword, OpAddIP, OpRemoveIP, OpReinstall:
		if st == billing.StatusActive || st == billing.StatusSuspended {
			return nil
		}
	case OpClose:
		if st != billing.StatusProcessing {
			return nil
		}
	default:
		return nil
	}
	return fmt.Errorf("provision: %s of service %s in status %s: %w", req.Kind(), svc.ID, st, ErrServiceState)
}
