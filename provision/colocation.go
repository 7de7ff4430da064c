package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/ispkit/ispkit/billing"
)

// The colocation product: every operation is a manual task for the
// department of the tariff's first module; the service waits in its
// status (an Open's in Processing) until staff report back with
// Engine.CompleteManualTask or Engine.FailManualTask.
//
// Suspend and Unsuspend go through the panel instead when the customer's
// server is in DCImanager: staff name it when they complete the Open
// (CompleteManualTask with PropServerID, the server's DCImanager id) and
// the service's module has a dedicated-server backend. Then its switch
// ports are turned off and on, as for a dedicated server (seed 002:
// "Suspending the service … switch off network switches of that server");
// otherwise the operation is a manual task.

// ColocationState is what an operation on a colocation service records
// (Operation.Data of the colocation product).
type ColocationState struct {
	CommonState
}

var (
	cManual = step{"manual"}
	cPorts  = step{"ports"}
)

func colocationProduct() *product {
	k := KindColocation
	graphs := map[OperationKind]*graph{}
	for _, kind := range operationKinds {
		if kind == OpSuspend || kind == OpUnsuspend {
			graphs[kind] = newGraph(k, kind, map[Phase]policy{},
				stepDef{name: dStart, phase: PhasePrepare, fn: on(colocationPanelStart), next: goesTo(cPorts, cManual),
					doc: "the server in DCImanager (its id on the service, a backend for its module): its ports; else a manual task"},
				stepDef{name: cPorts, phase: PhaseServer, fn: on(colocationPorts), next: goesTo(stepDone),
					doc: "switch ports off (Suspend) or on (Unsuspend), service Suspended or Active"},
				stepDef{name: cManual, phase: PhaseRecord, fn: on(colocationManual), next: goesTo(stepDone),
					doc: "the task recorded on the service"},
			)
			continue
		}
		graphs[kind] = newGraph(k, kind, map[Phase]policy{},
			stepDef{name: dStart, phase: PhasePrepare, fn: on(colocationStart), next: goesTo(cManual),
				doc: "a manual task for the department of the tariff's first module"},
			stepDef{name: cManual, phase: PhaseRecord, fn: on(colocationManual), next: goesTo(stepDone),
				doc: "the task recorded on the service (an Open's service Processing)"},
		)
	}
	return &product{
		kind:         k,
		productTypes: []billing.ProductType{billing.ProductColocation},
		newState:     func() ProductState { return &ColocationState{} },
		fromV1:       func(ProductState, map[string]string) {},
		graphs:       graphs,
		usable:       func(*Engine, *billing.Module) bool { return true },
		checkOpen:    func(*Engine, OpenRequest, *billing.Tariff) error { return nil },
		check:        func(*Engine, Request, *Service) error { return nil },
	}
}

func colocationStart(ctx context.Context, r *run, _ *ColocationState) (step, error) {
	t, _, err := r.loadTariff(ctx)
	if err != nil {
		return step{}, err
	}
	mods := r.e.cfg.Catalog.SelectModules(t)
	if len(mods) == 0 {
		return step{}, permanent(fmt.Errorf("tariff %d: %w", t.ID, ErrNoBackend))
	}
	r.manualTask(mods[0], billing.ReasonColocation+": "+string(r.op.Kind))
	return cManual, nil
}

func colocationManual(ctx context.Context, r *run, _ *ColocationState) (step, error) {
	if err := r.recordManualTask(ctx); err != nil && !errors.Is(err, ErrServiceState) {
		return step{}, err
	}
	return stepDone, nil
}

// colocationBackend is the panel of a colocation service's server: the
// dedicated-server backend of its module, when the service names a server.
func (r *run) colocationBackend(svc *Service) (DedicatedBackend, string) {
	id := svc.Properties[PropServerID]
	if id == "" || svc.Module == "" {
		return nil, ""
	}
	b := r.e.cfg.Dedicated[svc.Module]
	if b == nil {
		return nil, ""
	}
	return b, id
}

// colocationPanelStart sends a Suspend or Unsuspend to the panel when the
// server is in DCImanager, else to the department.
func colocationPanelStart(ctx context.Context, r *run, st *ColocationState) (step, error) {
	svc, err := r.service(ctx)
	if err != nil {
		return step{}, err
	}
	if b, _ := r.colocationBackend(svc); b != nil {
		st.Module = svc.Module
		return cPorts, nil
	}
	return colocationStart(ctx, r, st)
}

// colocationPorts switches the server's ports and records the status.
func colocationPorts(ctx context.Context, r *run, _ *ColocationState) (step, error) {
	svc, err := r.service(ctx)
	if err != nil {
		return step{}, err
	}
	b, id := r.colocationBackend(svc)
	if b == nil {
		return step{}, permanent(fmt.Errorf("colocation service %s: no server in a configured panel: %w", svc.ID, ErrNoBackend))
	}
	on, status := false, billing.StatusSuspended
	if r.op.Kind == OpUnsuspend {
		on, status = true, billing.StatusActive
	}
	if err := r.dedicated(b).SetPorts(ctx, id, on); err != nil {
		return step{}, err
	}
	if _, err := r.updateService(ctx, func(s *Service) error { return r.transition(s, status) }); err != nil {
		return step{}, err
	}
	return stepDone, nil
}
