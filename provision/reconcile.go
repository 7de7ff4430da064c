package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ispkit/ispkit/billing"
)

// Engine.Reconcile: the Store against the panels, after the fact. The
// engine keeps the two in step as it goes; Reconcile finds what a crash
// outside its reach, a hand edit in a panel or a release older than
// this one left behind, and repairs what is provably orphaned.

// FindingKind is the kind of inconsistency Reconcile found.
type FindingKind string

// Finding kinds.
const (
	// FindingStrayAddress: an IPmanager address whose note names an
	// operation of this Store that is finished, and which is not on the
	// server the note names. Nothing will use it: it is released.
	FindingStrayAddress FindingKind = "stray_address"
	// FindingHeldServer: a server owned by the integration's admin user
	// and enabled (as Open leaves a server it prepares) with no
	// unfinished operation holding it. With only one address (its
	// parking address) it goes back to sale (domain free.ds, no owner);
	// with more it is reported, for an operator.
	FindingHeldServer FindingKind = "held_server"
	// FindingOutOfSale: a server owned by the admin user and disabled,
	// with no operation holding it: a server a roll-back took out of sale
	// on purpose (its notes say why). Reported; an operator clears it.
	FindingOutOfSale FindingKind = "out_of_sale"
	// FindingStaleReservation: a reservation whose operation is finished
	// (or unknown) and is not the reservation of the service's sold
	// server. It is removed.
	FindingStaleReservation FindingKind = "stale_reservation"
	// FindingUnknownCustomer: a server owned by a panel user that no
	// service of this Store holds (sold outside the engine, or a service
	// record lost). Reported only.
	FindingUnknownCustomer FindingKind = "unknown_customer"
)

// ReconcileAction is what Reconcile did about a finding.
type ReconcileAction string

// Reconcile actions.
const (
	// ActionReported: nothing was changed (the finding needs an operator,
	// or Reconcile ran with ReconcileReportOnly).
	ActionReported ReconcileAction = "reported"
	// ActionReleased: the address went back to IPmanager.
	ActionReleased ReconcileAction = "released"
	// ActionReturnedToSale: the server's domain is free.ds and its owner
	// cleared.
	ActionReturnedToSale ReconcileAction = "returned_to_sale"
	// ActionUnreserved: the reservation was removed from the Store.
	ActionUnreserved ReconcileAction = "unreserved"
	// ActionFailed: the repair failed (Finding.Error says why).
	ActionFailed ReconcileAction = "failed"
)

// Finding is one inconsistency between the Store and a panel.
type Finding struct {
	Kind   FindingKind
	Module string
	// ServerID and Address name what is inconsistent (either may be
	// empty).
	ServerID string
	Address  string
	// OperationID and ServiceID are the operation and service involved,
	// when known.
	OperationID string
	ServiceID   string
	// Detail says what was found, in words.
	Detail string
	Action ReconcileAction
	// Error is why the repair failed (Action ActionFailed).
	Error string
}

// ReconcileReport lists what Reconcile found, one Finding per
// inconsistency, in the order found (reservations, then per module its
// servers and its addresses).
type ReconcileReport struct {
	Findings []Finding
}

// Repaired counts the findings that were repaired.
func (r *ReconcileReport) Repaired() int {
	n := 0
	for _, f := range r.Findings {
		switch f.Action {
		case ActionReleased, ActionReturnedToSale, ActionUnreserved:
			n++
		}
	}
	return n
}

// ReconcileOption adjusts Reconcile.
type ReconcileOption func(*reconcileConfig)

type reconcileConfig struct{ reportOnly bool }

// ReconcileReportOnly makes Reconcile change nothing: every finding is
// reported with ActionReported.
func ReconcileReportOnly() ReconcileOption { return func(c *reconcileConfig) { c.reportOnly = true } }

// reconcileHold is the prefix of the operation id under which Reconcile
// reserves a server while it repairs it, so that no order picks it
// meanwhile.
const reconcileHold = "reconcile-"

// Reconcile compares the Store with the dedicated-server panels and their
// IPmanager pools and repairs what is provably orphaned (see the
// FindingKind constants): stale reservations are removed; addresses noted
// for finished operations and not on their server are released (pools
// that implement NotedLister); servers the admin user holds for no
// unfinished operation, still enabled and on their parking address only,
// go back to sale. Servers taken out of sale by a roll-back and servers of
// customers the Store does not know are reported. A server is repaired
// under a reservation of its own, after a fresh read, so an order running
// at the same time never has it changed under it. Run it from one place
// at a time; engines may keep running.
//
// It returns the report and the first error that stopped a whole check
// (a Store or panel read); a failed repair is a finding with ActionFailed.
func (e *Engine) Reconcile(ctx context.Context, opts ...ReconcileOption) (*ReconcileReport, error) {
	var cfg reconcileConfig
	for _, o := range opts {
		o(&cfg)
	}
	rc := &reconciler{e: e, cfg: cfg, rep: &ReconcileReport{}, ops: map[string]*Operation{}}
	if err := rc.reservations(ctx); err != nil {
		return rc.rep, err
	}
	names := make([]string, 0, len(e.cfg.Dedicated))
	for name := range e.cfg.Dedicated {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := rc.servers(ctx, name); err != nil {
			return rc.rep, err
		}
		if err := rc.addresses(ctx, name); err != nil {
			return rc.rep, err
		}
	}
	return rc.rep, nil
}

type reconciler struct {
	e   *Engine
	cfg reconcileConfig
	rep *ReconcileReport
	ops map[string]*Operation // read once per run; nil value: not found
}

func (rc *reconciler) add(f Finding, repair func() error, done ReconcileAction) {
	switch {
	case rc.cfg.reportOnly || repair == nil:
		f.Action = ActionReported
	default:
		if err := repair(); err != nil {
			f.Action, f.Error = ActionFailed, err.Error()
		} else {
			f.Action = done
		}
	}
	rc.rep.Findings = append(rc.rep.Findings, f)
}

// op reads an operation (cached); nil when the Store has none.
func (rc *reconciler) op(ctx context.Context, id string) (*Operation, error) {
	if op, ok := rc.ops[id]; ok {
		return op, nil
	}
	op, err := rc.e.store.GetOperation(ctx, id)
	if errors.Is(err, ErrNotFound) {
		op, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	rc.ops[id] = op
	return op, nil
}

// live reports whether operation id is unfinished, read now (not from the
// cache: it may have started since).
func (rc *reconciler) live(ctx context.Context, id string) (bool, error) {
	op, err := rc.e.store.GetOperation(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !op.State.Finished(), nil
}

// reservations removes reservations whose operation is finished and that
// do not hold a sold server.
func (rc *reconciler) reservations(ctx context.Context) error {
	res, err := rc.e.store.Reservations(ctx, "")
	if err != nil {
		return err
	}
	for _, rv := range res {
		if strings.HasPrefix(rv.OperationID, reconcileHold) && rc.e.clock.Now().Sub(rv.CreatedAt) < rc.e.cfg.LeaseDuration {
			continue // another Reconcile repairing the server now
		}
		live, err := rc.live(ctx, rv.OperationID)
		if err != nil {
			return err
		}
		if live {
			continue
		}
		svc, err := rc.e.store.GetService(ctx, rv.ServiceID)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		case svc.Status != billing.StatusDeleted && svc.Properties[PropReservation] == rv.OperationID &&
			svc.Properties[PropServerID] == rv.ServerID && svc.Module == rv.Backend:
			continue // the sold server's reservation
		}
		rc.add(Finding{Kind: FindingStaleReservation, Module: rv.Backend, ServerID: rv.ServerID, OperationID: rv.OperationID,
			ServiceID: rv.ServiceID, Detail: "reserved by a finished operation for no sold service"},
			func() error { return rc.e.store.Unreserve(ctx, rv.Backend, rv.ServerID, rv.OperationID) }, ActionUnreserved)
	}
	return nil
}

// servers checks the servers of module name against the Store.
func (rc *reconciler) servers(ctx context.Context, name string) error {
	b := rc.e.cfg.Dedicated[name]
	admin, err := b.AdminUserID(ctx)
	if err != nil {
		return fmt.Errorf("provision: reconcile module %s: %w", name, err)
	}
	list, err := b.ListServers(ctx)
	if err != nil {
		return fmt.Errorf("provision: reconcile module %s: %w", name, err)
	}
	res, err := rc.e.store.Reservations(ctx, name)
	if err != nil {
		return err
	}
	held := map[string]Reservation{}
	for _, rv := range res {
		held[rv.ServerID] = rv
	}
	svcs, err := rc.e.store.ListServices(ctx, ServiceFilter{Module: name})
	if err != nil {
		return err
	}
	sold := map[string]*Service{}
	for _, s := range svcs {
		if s.Status != billing.StatusDeleted && s.Properties[PropServerID] != "" {
			sold[s.Properties[PropServerID]] = s
		}
	}
	for _, s := range list {
		switch {
		case s.OwnerID == "":
			continue
		case s.OwnerID == admin:
			if _, ok := held[s.ID]; ok {
				continue // an operation (or a sold service) holds it
			}
			if s.Disabled {
				rc.add(Finding{Kind: FindingOutOfSale, Module: name, ServerID: s.ID,
					Detail: "disabled and kept by the admin user (a roll-back took it out of sale; its notes say why)"}, nil, ActionReported)
				continue
			}
			rc.heldServer(ctx, name, b, admin, s)
		default:
			if svc := sold[s.ID]; svc != nil {
				continue
			}
			rc.add(Finding{Kind: FindingUnknownCustomer, Module: name, ServerID: s.ID,
				Detail: fmt.Sprintf("owned by panel user %s, which no service of the Store holds", s.OwnerID)}, nil, ActionReported)
		}
	}
	return nil
}

// heldServer returns to sale a server the admin user holds for no
// operation, under a reservation of its own and after a fresh read.
func (rc *reconciler) heldServer(ctx context.Context, name string, b DedicatedBackend, admin string, s Server) {
	f := Finding{Kind: FindingHeldServer, Module: name, ServerID: s.ID,
		Detail: "owned by the admin user and enabled, with no unfinished operation"}
	ips, err := b.ListIPs(ctx, s.ID)
	if err != nil {
		f.Action, f.Error = ActionFailed, err.Error()
		rc.rep.Findings = append(rc.rep.Findings, f)
		return
	}
	if len(ips) > 1 {
		f.Detail += fmt.Sprintf("; it has %d addresses, not only a parking one: left to an operator", len(ips))
		rc.add(f, nil, ActionReported)
		return
	}
	rc.add(f, func() error {
		hold := reconcileHold + randomID()[:12]
		err := rc.e.store.Reserve(ctx, Reservation{Backend: name, ServerID: s.ID, OperationID: hold, CreatedAt: rc.e.clock.Now()})
		if err != nil {
			return err // ErrReserved: an order took it meanwhile
		}
		defer func() {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_ = rc.e.store.Unreserve(uctx, name, s.ID, hold)
			cancel()
		}()
		cur, err := b.GetServer(ctx, s.ID)
		if err != nil {
			return err
		}
		if cur.OwnerID != admin || cur.Disabled {
			return fmt.Errorf("server changed meanwhile (owner %q, disabled %v): left alone", cur.OwnerID, cur.Disabled)
		}
		if cur.Hostname != FreeHostname {
			if err := b.SetDomain(ctx, s.ID, FreeHostname); err != nil {
				return err
			}
		}
		return b.SetOwner(ctx, s.ID, "")
	}, ActionReturnedToSale)
}

// addresses releases the addresses of module name's pool that are noted
// for a finished operation of this Store and are not on the server their
// note names.
func (rc *reconciler) addresses(ctx context.Context, name string) error {
	p := rc.e.cfg.IPPools[name]
	nl, ok := p.(NotedLister)
	if !ok {
		return nil
	}
	b := rc.e.cfg.Dedicated[name]
	noted, err := nl.ListNoted(ctx, "")
	if err != nil {
		return fmt.Errorf("provision: reconcile module %s addresses: %w", name, err)
	}
	onServer := map[string][]ServerIP{}
	for _, a := range noted {
		opID, srv, ok := parseNote(a.Note)
		if !ok {
			continue
		}
		op, err := rc.op(ctx, opID)
		if err != nil {
			return err
		}
		if op == nil || !op.State.Finished() {
			continue // not ours, or still at work
		}
		ips, seen := onServer[srv]
		if !seen {
			if ips, err = b.ListIPs(ctx, srv); err != nil {
				return fmt.Errorf("provision: reconcile module %s server %s: %w", name, srv, err)
			}
			onServer[srv] = ips
		}
		if _, on := findIP(ips, a.IP); on {
			continue
		}
		ip := a.IP
		rc.add(Finding{Kind: FindingStrayAddress, Module: name, ServerID: srv, Address: ip, OperationID: opID, ServiceID: op.ServiceID,
			Detail: fmt.Sprintf("noted %q for a %s operation, not on the server", a.Note, op.State)},
			func() error { return p.Release(ctx, ip) }, ActionReleased)
	}
	return nil
}

// parseNote reads the engine's "<operation id>/<server id>/<role>" notes.
func parseNote(note string) (opID, srv string, ok bool) {
	parts := strings.SplitN(note, "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}
