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

// ColocationState is what an operation on a colocation service records
// (Operation.Data of the colocation product).
type ColocationState struct {
	CommonState
}

var cManual = step{"manual"}

func colocationProduct() *product {
	k := KindColocation
	graphs := map[OperationKind]*graph{}
	for _, kind := range operationKinds {
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
