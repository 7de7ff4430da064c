package provision

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/ispkit/ispkit/billing"
)

// Helpers the products' steps share to read the tariff and record on the
// service.

// updateService applies fn to the current service and stores it, retrying
// on version conflicts. In a run it stores nothing once the lease is lost
// or in doubt (see holdLease).
//
// fn is first applied to the run's copy of the service (run.service),
// without reading it again; the Store's version check refuses the write
// if the service changed since, and then, as when fn refuses the copy,
// fn is applied again to a fresh read.
func (r *run) updateService(ctx context.Context, fn func(*Service) error) (*Service, error) {
	for i := 0; ; i++ {
		var s *Service
		cached := i == 0 && r.svc != nil
		if cached {
			s = r.svc.Clone()
		} else {
			var err error
			if s, err = r.e.store.GetService(ctx, r.op.ServiceID); err != nil {
				return nil, err
			}
		}
		if s.Properties == nil {
			s.Properties = map[string]string{}
		}
		r.afterSave = nil
		if err := fn(s); err != nil {
			if cached {
				continue // decide again on the stored service
			}
			return nil, err
		}
		r.effects++
		// A run records on the service only while it holds the lease (the
		// write itself is finished once started).
		if err := r.leaseForStoreWrite(ctx); err != nil {
			return nil, err
		}
		err := r.putService(context.WithoutCancel(ctx), s)
		if err == nil {
			r.svc = s.Clone()
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

// reserve and unreserve are a run's reservation writes. Like its panel
// writes and its updates of the service they go out only while the run
// provably holds the lease (holdLease): a worker paused past its lease,
// whose run has not noticed yet, must neither reserve a server for an
// operation another worker now runs (the server would stay out of sale)
// nor drop a reservation that worker relies on (the server could be sold
// twice).
//
// A Store that is a FencedStore also checks the claim itself, in the same
// atomic step as the write (here and in putService): that closes the gap
// between the run's check and the write (a pause right there).
func (r *run) reserve(ctx context.Context, rv Reservation) error {
	if err := r.leaseForStoreWrite(ctx); err != nil {
		return err
	}
	if fs, ok := r.fencedStore(); ok {
		return r.fenced(fs.ReserveFenced(ctx, r.fence(), rv))
	}
	return r.e.store.Reserve(ctx, rv)
}

func (r *run) unreserve(ctx context.Context, backend, serverID, operationID string) error {
	if err := r.leaseForStoreWrite(ctx); err != nil {
		return err
	}
	if fs, ok := r.fencedStore(); ok {
		return r.fenced(fs.UnreserveFenced(ctx, r.fence(), backend, serverID, operationID))
	}
	return r.e.store.Unreserve(ctx, backend, serverID, operationID)
}

// putService stores s, fenced by the run's claim when the Store can.
func (r *run) putService(ctx context.Context, s *Service) error {
	if fs, ok := r.fencedStore(); ok {
		return r.fenced(fs.PutServiceFenced(ctx, r.fence(), s))
	}
	return r.e.store.PutService(ctx, s)
}

// fencedStore returns the Store as a FencedStore when it is one and the
// run holds a claim (the department's manual runs hold none).
func (r *run) fencedStore() (FencedStore, bool) {
	if r.stopRun == nil {
		return nil, false
	}
	fs, ok := r.e.store.(FencedStore)
	return fs, ok
}

// fenced passes on the outcome of a fenced write; a refused fence (a newer
// claim exists) stops the run at once, as a refused record does.
func (r *run) fenced(err error) error {
	if errors.Is(err, ErrLeaseLost) {
		r.stop(err)
	}
	return err
}

// fence is the run's claim.
func (r *run) fence() Fence {
	return Fence{OperationID: r.op.ID, Worker: r.worker, Token: r.token}
}

// leaseForStoreWrite is holdLease for a run that has a lease; the
// department's manual runs (manual.go) have none and write at once.
func (r *run) leaseForStoreWrite(ctx context.Context) error {
	if r.stopRun == nil {
		return nil
	}
	return r.holdLease(ctx)
}

// service returns the operation's service, read from the Store once per
// run: while the run holds the lease, only its own updateService changes
// the service (a service has one unfinished operation at a time), and
// that keeps the copy current. Callers must not change it.
func (r *run) service(ctx context.Context) (*Service, error) {
	if r.svc == nil {
		s, err := r.e.store.GetService(ctx, r.op.ServiceID)
		if err != nil {
			return nil, err
		}
		r.svc = s
	}
	return r.svc, nil
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
	ev, err := bs.Transition(to, r.now())
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
				e := r.event(EventWelcome, "")
				e.ServiceID, e.Module, e.ServerID, e.Properties = s.ID, s.Module, props[PropServerID], props
				r.e.emit(e)
				r.notifyWelcome(s, props, bs.ActivatedAt)
			})
		}
	}
	return nil
}

// manualTask hands the service to the module's department.
func (r *run) manualTask(m *billing.Module, reason string) {
	t := billing.NewManualTask(m, numericID(r.op.ServiceID), reason)
	c := r.st.common()
	c.ManualTask, c.Module = reason, m.Name
	ev := r.event(EventManualTask, "")
	ev.Task = &t
	r.e.emit(ev)
	if r.e.cfg.OnManualTask != nil {
		r.e.cfg.OnManualTask(t)
	}
}

// recordManualTask leaves the service for the department: the task on
// the service, an Open's service Processing.
func (r *run) recordManualTask(ctx context.Context) error {
	c := r.st.common()
	_, err := r.updateService(ctx, func(s *Service) error {
		s.Module = c.Module
		s.Properties[PropManualTask] = c.ManualTask
		if r.op.Kind == OpOpen {
			return r.transition(s, billing.StatusProcessing)
		}
		return nil
	})
	return err
}

// startOpen is the first step of every Open: the service goes from Ordered
// to Processing and the Open goes on to next; an Active one means the
// Open is done already.
func (r *run) startOpen(ctx context.Context, next step) (step, error) {
	_, svc, err := r.loadTariff(ctx)
	if err != nil {
		return step{}, err
	}
	if svc.Status == billing.StatusActive {
		return stepDone, nil
	}
	_, err = r.updateService(ctx, func(s *Service) error {
		if s.Status != billing.StatusOrdered && s.Status != billing.StatusProcessing {
			return permanent(fmt.Errorf("open service in status %s: %w", s.Status, ErrServiceState))
		}
		s.Error = ""
		return r.transition(s, billing.StatusProcessing)
	})
	if err != nil {
		return step{}, err
	}
	return next, nil
}

// loadTariff returns the service and its tariff (read once per run).
func (r *run) loadTariff(ctx context.Context) (*billing.Tariff, *Service, error) {
	svc, err := r.service(ctx)
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

// openRequest is the run's request as an Open (zero for other kinds).
func (r *run) openRequest() OpenRequest {
	o, _ := r.req.(OpenRequest)
	return o
}

// numericID returns the service id as a number (0 when it is not decimal).
func numericID(id string) int64 {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
