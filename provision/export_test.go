package provision

import (
	"context"
	"errors"
)

// KindTest is a product registered only in this package's tests: it shows
// that a product is one declaration plus one registration, and lets the
// tests break a graph on purpose.
const KindTest ServiceKind = "test"

// A test product whose steps reserve a server and then go to a step their
// graph does not declare. Suspend routes the failure through its own
// release step; Unsuspend declares no fail route, so the runner's safety
// net releases the reservation.
var (
	tReserve = step{"reserve"}
	tWork    = step{"work"}
	tRelease = step{"release"}
	tNowhere = step{"nowhere"}
)

// TestBackend is the reservation backend of the test product.
const TestBackend = "test-dc"

func init() {
	reserve := func(ctx context.Context, r *run, _ *CommonState) (step, error) {
		err := r.e.store.Reserve(ctx, Reservation{Backend: TestBackend, ServerID: "s1", OperationID: r.op.ID, ServiceID: r.op.ServiceID})
		return tWork, err
	}
	work := func(context.Context, *run, *CommonState) (step, error) { return tNowhere, nil }
	release := func(ctx context.Context, r *run, _ *CommonState) (step, error) {
		if err := r.e.store.Unreserve(ctx, TestBackend, "s1", r.op.ID); err != nil {
			return step{}, err
		}
		return stepFail, nil
	}
	pol := map[Phase]policy{PhaseServer: {by: map[faultClass]action{classBug: failOp}, otherwise: retryLater}}
	suspend := newGraph(KindTest, OpSuspend, pol,
		stepDef{name: dStart, phase: PhasePrepare, fn: on(reserve), next: goesTo(tWork), doc: "reserve"},
		stepDef{name: tWork, phase: PhaseServer, fn: on(work), next: goesTo(stepDone), doc: "goes nowhere"},
		stepDef{name: tRelease, phase: PhaseRollback, fn: on(release), next: nil, doc: "release"},
	)
	suspend.failRoute = func(*run, ProductState) step { return tRelease }
	unsuspend := newGraph(KindTest, OpUnsuspend, pol,
		stepDef{name: dStart, phase: PhasePrepare, fn: on(reserve), next: goesTo(tWork), doc: "reserve"},
		stepDef{name: tWork, phase: PhaseServer, fn: on(work), next: goesTo(stepDone), doc: "goes nowhere"},
	)
	products = append(products, &product{
		kind:     KindTest,
		newState: func() ProductState { return &CommonState{} },
		fromV1:   func(ProductState, map[string]string) {},
		graphs:   map[OperationKind]*graph{OpSuspend: suspend, OpUnsuspend: unsuspend},
		check:    func(*Engine, Request, *Service) error { return nil },
	})
}

// ProductGraphPanic reports the panic of declaring a graph whose step goes
// to an undeclared step.
func ProductGraphPanic() (msg any) {
	defer func() { msg = recover() }()
	newGraph(KindTest, OpClose, nil,
		stepDef{name: dStart, phase: PhasePrepare, fn: on(func(context.Context, *run, *CommonState) (step, error) {
			return stepDone, errors.New("unused")
		}), next: goesTo(tNowhere)})
	return nil
}

// OnWaitRegistered makes e call f each time a Wait has registered for the
// wake-up of operation opID. Set it before e is used.
func OnWaitRegistered(e *Engine, f func(opID string)) { e.waitHook = f }
