package provision

import (
	"context"
	"fmt"
	"slices"

	"github.com/ispkit/ispkit/billing"
)

// Phase is the part of an operation a step belongs to. A product declares
// per phase (and, where it must, per step) what a failed step means.
type Phase int

// Phases.
const (
	// PhasePrepare: before the operation is bound to a server or account
	// (the panel user, the choice of a server, of a name, of a module).
	PhasePrepare Phase = iota + 1
	// PhaseServer: working on the server (or account) the operation is
	// bound to.
	PhaseServer
	// PhaseRollback: undoing the work on a server that failed; it is
	// never given up.
	PhaseRollback
	// PhaseRecord: recording the results on the service.
	PhaseRecord
)

func (p Phase) String() string {
	switch p {
	case PhasePrepare:
		return "prepare"
	case PhaseServer:
		return "server"
	case PhaseRollback:
		return "rollback"
	case PhaseRecord:
		return "record"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// StepInfo describes one step of an operation's graph.
type StepInfo struct {
	// Name is the step's name (Operation.Step, Event.Step).
	Name  string
	Phase Phase
	// Next are the steps it may go to; "done" ends the operation. Every
	// step may also fail the operation (see the product's failure
	// policy).
	Next []string
	// Doc says what the step does.
	Doc string
}

// Graph is the declared step graph of one operation of one product.
type Graph struct {
	Product ServiceKind
	Kind    OperationKind
	// Steps are in declaration order; the first is where the operation
	// starts.
	Steps []StepInfo
}

// Graphs returns the step graphs of every product, in registration order
// and, per product, in the order of the OperationKind constants.
func Graphs() []Graph {
	var out []Graph
	for _, p := range products {
		for _, k := range operationKinds {
			g := p.graphs[k]
			if g == nil {
				continue
			}
			gr := Graph{Product: p.kind, Kind: k}
			for _, s := range g.steps {
				info := StepInfo{Name: s.name.name, Phase: s.phase, Doc: s.doc}
				for _, n := range s.next {
					info.Next = append(info.Next, n.name)
				}
				gr.Steps = append(gr.Steps, info)
			}
			out = append(out, gr)
		}
	}
	return out
}

var operationKinds = []OperationKind{OpOpen, OpSuspend, OpUnsuspend, OpClose, OpChangePassword, OpAddIP, OpRemoveIP, OpReinstall}

// step is a typed step name: steps return one of the product's step
// values, never a string.
type step struct{ name string }

func (s step) String() string { return s.name }

// The runner's own steps: every graph ends in done, or goes through fail
// (record the failure on the service) to failed.
var (
	stepDone   = step{"done"}
	stepFail   = step{"fail"}
	stepFailed = step{"failed"}
)

// stepFn runs one step on the operation's state and returns the next step.
type stepFn func(ctx context.Context, r *run, st ProductState) (step, error)

// on adapts a step function over the product's own state type.
func on[S ProductState](fn func(ctx context.Context, r *run, st S) (step, error)) stepFn {
	return func(ctx context.Context, r *run, st ProductState) (step, error) { return fn(ctx, r, st.(S)) }
}

// stepDef declares one step.
type stepDef struct {
	name  step
	phase Phase
	fn    stepFn
	next  []step
	doc   string
	// onError, when set, overrides the graph's policy for the step's
	// phase.
	onError *policy
	// quiet: the step usually only reads the panel. When a run of it made
	// no effect (no write through the gates, no update of the service; the
	// checkpoint of a wait's start is no effect) and it goes on to another
	// step, its transition is not recorded on its own: the next recorded
	// transition carries it. A crash in between resumes at the step (or
	// before it), which reads again — a wait from its recorded start; the
	// write that follows it is preceded by the record the step started
	// from, and every step already resumes after a crash that hid its own
	// write. A step that stores anything itself (Reserve, Unreserve) must
	// not be quiet.
	quiet bool
	// idempotent: every effect of the step may be made again with no
	// harm (it sets a value that it would set again, or makes a state
	// true that it checks first: a domain, switch ports on, power on, the
	// customer as the owner, the service's Processing status, the pick,
	// whose reservation a second pick finds again by the operation's id).
	// Its transition is not recorded on its own either: a crash before
	// the next record runs the step again.
	// Every panel write of the step still checks the lease first (gate),
	// and the next recorded transition carries the step's state.
	idempotent bool
}

// action is what a failed step leads to.
type action int

const (
	// retryLater interrupts the run; the operation stays unfinished and is
	// resumed by Run or Resume.
	retryLater action = iota + 1
	// failOp fails the operation (through the graph's fail route).
	failOp
	// rollBack rolls the server back (the graph's rollBack hook).
	rollBack
	// nextModule moves to the next module (the graph's nextModule hook);
	// with none left the operation fails.
	nextModule
)

// policy maps the class of a failure to an action; classes not listed get
// otherwise.
type policy struct {
	by        map[faultClass]action
	otherwise action
}

func (p policy) action(c faultClass) action {
	if a, ok := p.by[c]; ok {
		return a
	}
	return p.otherwise
}

// graph declares one operation of one product.
type graph struct {
	product ServiceKind
	kind    OperationKind
	steps   []stepDef
	byName  map[string]*stepDef
	// onError is the failure policy per phase.
	onError map[Phase]policy
	// rollBack enters the roll-back of the server after a failure of
	// class c at step at; ok false when there is nothing to roll back
	// (the operation fails instead).
	rollBack func(r *run, st ProductState, at *stepDef, c faultClass, err error) (next step, ok bool)
	// nextModule gives up the current module after err; ok false when no
	// module is left.
	nextModule func(r *run, st ProductState, err error) (next step, ok bool)
	// failRoute, when set, decides where a failure goes from a step that
	// is not rolling back: the product may first release what it holds
	// (a reserved server). Default: the fail step.
	failRoute func(r *run, st ProductState) step
}

// newGraph indexes steps and checks the declaration: unique names, every
// successor declared (or done), the runner's names not reused.
func newGraph(product ServiceKind, kind OperationKind, onError map[Phase]policy, steps ...stepDef) *graph {
	g := &graph{product: product, kind: kind, steps: steps, byName: map[string]*stepDef{}, onError: onError}
	for i := range g.steps {
		s := &g.steps[i]
		switch {
		case s.name == stepDone || s.name == stepFail || s.name == stepFailed:
			panic(fmt.Sprintf("provision: %s %s: step %q is the runner's", product, kind, s.name))
		case g.byName[s.name.name] != nil:
			panic(fmt.Sprintf("provision: %s %s: step %q declared twice", product, kind, s.name))
		case s.fn == nil || s.phase == 0:
			panic(fmt.Sprintf("provision: %s %s: step %q has no function or phase", product, kind, s.name))
		}
		g.byName[s.name.name] = s
	}
	for _, s := range g.steps {
		for _, n := range s.next {
			if n != stepDone && g.byName[n.name] == nil {
				panic(fmt.Sprintf("provision: %s %s: step %q goes to undeclared %q", product, kind, s.name, n))
			}
		}
	}
	return g
}

// first is the step an operation starts at.
func (g *graph) first() step { return g.steps[0].name }

// allows reports whether from may go to to: a declared successor, or the
// fail step (every step may fail).
func (g *graph) allows(from *stepDef, to step) bool {
	return to == stepFail || slices.Contains(from.next, to)
}

// policyFor is the failure policy of s.
func (g *graph) policyFor(s *stepDef) policy {
	if s.onError != nil {
		return *s.onError
	}
	if p, ok := g.onError[s.phase]; ok {
		return p
	}
	return policy{otherwise: failOp}
}

// product is a kind of service the engine serves: its state, the graphs
// of the operations it supports, and what it checks before an operation
// is recorded. Adding one is one file declaring a product and one line in
// products.
type product struct {
	kind ServiceKind
	// productTypes are the tariff product types it serves.
	productTypes []billing.ProductType
	newState     func() ProductState
	// fromV1 reads a version 1 Data map into st (the common keys are read
	// already).
	fromV1 func(st ProductState, m map[string]string)
	graphs map[OperationKind]*graph
	// usable reports whether module m can serve this product here (it has
	// a backend).
	usable func(e *Engine, m *billing.Module) bool
	// checkOpen checks an Open of tariff t before it is recorded.
	checkOpen func(e *Engine, req OpenRequest, t *billing.Tariff) error
	// check checks another operation on svc before it is recorded.
	check func(e *Engine, req Request, svc *Service) error
	// loginURL returns a panel login link for the service's user.
	loginURL func(ctx context.Context, e *Engine, svc *Service) (string, error)
}

// products are the registered products. A tariff's product type selects
// the first product that lists it, else the first product.
var products []*product

func init() {
	products = []*product{dedicatedProduct(), hostingProduct(), colocationProduct()}
}

func productOf(kind ServiceKind) *product {
	for _, p := range products {
		if p.kind == kind {
			return p
		}
	}
	return nil
}

func productFor(t billing.ProductType) *product {
	for _, p := range products {
		if slices.Contains(p.productTypes, t) {
			return p
		}
	}
	return products[0]
}

// goesTo lists a step's successors.
func goesTo(s ...step) []step { return s }
