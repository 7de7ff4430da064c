package main

// This file is the only one that knows provision.Engine's operation API:
// it implements the bridge's Engine interface over it. When the engine's
// API changes, rewrite this file; nothing else in the bridge needs to.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
)

// provisionEngine adapts a *provision.Engine (and the catalog it was
// built with) to Engine.
type provisionEngine struct {
	e   *provision.Engine
	cat *billing.Catalog
}

func newProvisionEngine(e *provision.Engine, cat *billing.Catalog) *provisionEngine {
	return &provisionEngine{e: e, cat: cat}
}

func (p *provisionEngine) Plans(context.Context) ([]Plan, error) {
	var out []Plan
	for _, t := range p.cat.Tariffs() {
		kind := "dedicated"
		switch t.ProductType {
		case billing.ProductSharedHosting, billing.ProductExternalFTPStorage:
			kind = "hosting"
		case billing.ProductColocation:
			kind = "colocation"
		}
		out = append(out, Plan{ID: t.ID, Name: t.Name, Kind: kind})
	}
	return out, nil
}

func (p *provisionEngine) submit(ctx context.Context, op string, req provision.Request) (Operation, error) {
	o, err := p.e.Submit(ctx, req)
	if err != nil {
		return Operation{}, engineError(op, err)
	}
	return fromOperation(o), nil
}

func (p *provisionEngine) Create(ctx context.Context, opID string, r CreateRequest) (Operation, error) {
	return p.submit(ctx, KindCreate, provision.OpenRequest{OperationID: opID, ServiceID: r.ServiceID,
		TariffID: r.Plan, AccountID: r.AccountID, Owner: r.Owner, Password: r.Password, Domain: r.Domain, Options: r.Options})
}

func (p *provisionEngine) Suspend(ctx context.Context, opID, serviceID string) (Operation, error) {
	return p.submit(ctx, KindSuspend, provision.SuspendRequest{OperationID: opID, ServiceID: serviceID})
}

func (p *provisionEngine) Unsuspend(ctx context.Context, opID, serviceID string) (Operation, error) {
	return p.submit(ctx, KindUnsuspend, provision.UnsuspendRequest{OperationID: opID, ServiceID: serviceID})
}

func (p *provisionEngine) Terminate(ctx context.Context, opID, serviceID string) (Operation, error) {
	return p.submit(ctx, KindTerminate, provision.CloseRequest{OperationID: opID, ServiceID: serviceID})
}

func (p *provisionEngine) ChangePassword(ctx context.Context, opID, serviceID, password string) (Operation, error) {
	return p.submit(ctx, KindChangePassword, provision.ChangePasswordRequest{OperationID: opID, ServiceID: serviceID, Password: password})
}

func (p *provisionEngine) LoginLink(ctx context.Context, serviceID string) (string, error) {
	u, err := p.e.LoginURL(ctx, serviceID)
	if errors.Is(err, provision.ErrNotFound) {
		return "", fmt.Errorf("service %s: %w", serviceID, ErrNotFound)
	}
	return u, engineError("login_link", err)
}

func (p *provisionEngine) Service(ctx context.Context, serviceID string) (Service, error) {
	s, err := p.e.Store().GetService(ctx, serviceID)
	if errors.Is(err, provision.ErrNotFound) {
		return Service{}, fmt.Errorf("service %s: %w", serviceID, ErrNotFound)
	}
	if err != nil {
		return Service{}, engineError("service", err)
	}
	props := make(map[string]string, len(s.Properties))
	for k, v := range s.Properties {
		props[k] = v
	}
	return Service{ID: s.ID, Plan: s.TariffID, Kind: string(s.Kind), Status: fromStatus(s.Status),
		Properties: props, Error: s.Error, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}, nil
}

func (p *provisionEngine) Operations(ctx context.Context, serviceID string) ([]Operation, error) {
	ops, err := p.e.Store().ListOperations(ctx, provision.OperationFilter{ServiceID: serviceID})
	if err != nil {
		return nil, engineError("operations", err)
	}
	out := make([]Operation, len(ops))
	for i, o := range ops {
		out[i] = fromOperation(o)
	}
	return out, nil
}

func (p *provisionEngine) Operation(ctx context.Context, opID string) (Operation, error) {
	o, err := p.e.Store().GetOperation(ctx, opID)
	if errors.Is(err, provision.ErrNotFound) {
		return Operation{}, fmt.Errorf("operation %s: %w", opID, ErrNotFound)
	}
	if err != nil {
		return Operation{}, engineError("operation", err)
	}
	return fromOperation(o), nil
}

func (p *provisionEngine) Wait(ctx context.Context, opID string) (Operation, error) {
	o, err := p.e.Wait(ctx, opID)
	var failed *provision.OperationError
	switch {
	case o == nil:
		return Operation{}, engineError("wait", err)
	case err == nil || errors.As(err, &failed):
		return fromOperation(o), nil
	case ctx.Err() != nil:
		return fromOperation(o), ctx.Err()
	}
	return fromOperation(o), engineError("wait", err)
}

func (p *provisionEngine) Subscribe(fn func(Event)) (stop func()) {
	return p.e.Subscribe(func(ev provision.Event) {
		out := Event{Type: string(ev.Type), Time: ev.Time, OperationID: ev.OperationID, ServiceID: ev.ServiceID,
			Kind: fromKind(ev.Kind), Step: ev.Step, ServerID: ev.ServerID, Error: ev.Error}
		if ev.Type == provision.EventInstallProgress {
			pc := ev.Percent
			out.Percent = &pc
		}
		fn(out)
	})
}

func fromKind(k provision.OperationKind) string {
	switch k {
	case provision.OpOpen:
		return KindCreate
	case provision.OpClose:
		return KindTerminate
	}
	return string(k) // suspend, unsuspend, change_password, and the others as the engine names them
}

func fromStatus(s billing.Status) string {
	switch s {
	case billing.StatusOrdered:
		return StatusPending
	case billing.StatusProcessing:
		return StatusProvisioning
	case billing.StatusActive:
		return StatusActive
	case billing.StatusSuspended:
		return StatusSuspended
	case billing.StatusDeleted:
		return StatusTerminated
	}
	return strings.ToLower(string(s))
}

func fromOperation(o *provision.Operation) Operation {
	out := Operation{ID: o.ID, ServiceID: o.ServiceID, Kind: fromKind(o.Kind), State: string(o.State),
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	if !o.State.Finished() {
		out.Step = o.Step
	}
	if o.State == provision.StateFailed {
		code := CodeOperationFailed
		switch {
		case strings.Contains(o.Error, provision.ErrNoServer.Error()):
			code = CodeNoServer
		case strings.Contains(o.Error, provision.ErrTooManyFailures.Error()):
			code = CodeTooManyFailures
		}
		out.Error = &APIError{Code: code, Message: o.Error}
	}
	return out
}

// adapterError is an engine error translated to one of the bridge's
// sentinels; the message is the engine's (it never holds a secret).
type adapterError struct {
	kind error
	msg  string
}

func (e *adapterError) Error() string { return e.msg }
func (e *adapterError) Unwrap() error { return e.kind }

// requestFields maps the field names of the engine's typed requests
// (ArgumentError.Arg is "OpenRequest.Owner", "Config.Store", …) to the
// bridge's JSON names.
var requestFields = map[string]string{
	"ServiceID": "service_id", "OperationID": "operation_id", "TariffID": "plan", "AccountID": "account_id",
	"Owner": "owner", "Password": "password", "Domain": "domain", "Options": "options",
}

// engineError translates an error of provision (or billing, which the
// engine passes through) into the bridge's errors.
func engineError(op string, err error) error {
	if err == nil {
		return nil
	}
	var (
		argE   *ispkit.ArgumentError
		optErr *billing.OptionError
		macErr *billing.MacroError
	)
	wrap := func(kind error) error {
		return &adapterError{kind: kind, msg: strings.ReplaceAll(err.Error(), "provision: ", "")}
	}
	field := func(name string) string {
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		if f, ok := requestFields[name]; ok {
			return f
		}
		return strings.ToLower(name)
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &optErr):
		return argErr(op, "options."+optErr.Key, optErr.Reason)
	case errors.As(err, &argE) && argE.Package == "billing":
		// A tariff limit or option the billing package refused.
		return argErr(op, "options", argE.Arg+": "+argE.Reason)
	case errors.As(err, &argE):
		return argErr(op, field(argE.Arg), argE.Reason)
	case errors.As(err, &macErr):
		return argErr(op, "domain", macErr.Error())
	case errors.Is(err, billing.ErrNotFound):
		return argErr(op, "plan", "no such plan")
	case errors.Is(err, provision.ErrNotFound):
		return wrap(ErrNotFound)
	case errors.Is(err, provision.ErrServiceState):
		return wrap(ErrState)
	case errors.Is(err, provision.ErrBusy):
		return wrap(ErrBusy)
	case errors.Is(err, provision.ErrUnsupported):
		return wrap(ErrUnsupported)
	case errors.Is(err, provision.ErrNoBackend):
		return wrap(ErrNoBackend)
	case errors.Is(err, provision.ErrExists):
		return wrap(ErrConflict)
	}
	return err
}
