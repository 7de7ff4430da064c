package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/internal/validate"
)

// The dedicated-server product (DCImanager 5 and 6): its step graphs in
// one place. The steps are in dedicated_open.go (Open), dedicated_rollback.go
// (the roll-back of a failed server), dedicated_close.go (Close) and
// dedicated_service.go (the operations on an Active server).

// Steps of Open.
var (
	dStart       = step{"start"}
	dCheck       = step{"check"}
	dUser        = step{"user"}
	dPick        = step{"pick"}
	dClaim       = step{"claim"}
	dDomain      = step{"domain"}
	dIPSwap      = step{"ip_swap"}
	dExtraIPs    = step{"extra_ips"}
	dPortsOn     = step{"ports_on"}
	dPowerOn     = step{"power_on"}
	dWaitPower   = step{"wait_power"}
	dInstall     = step{"install"}
	dWaitInstall = step{"wait_install"}
	dReachable   = step{"reachable"}
	dTransfer    = step{"transfer"}
	dActivate    = step{"activate"}
	dManual      = step{"manual"}

	rbIPs     = step{"rb_ips"}
	rbParking = step{"rb_parking"}
	rbAddrs   = step{"rb_addrs"}
	rbDomain  = step{"rb_domain"}
	rbNotes   = step{"rb_notes"}
	rbDisable = step{"rb_disable"}
	rbRelease = step{"rb_release"}
	rbRestore = step{"rb_restore"}
)

// Steps of the other operations.
var (
	cDisable = step{"close_disable"}
	cIPs     = step{"close_ips"}
	cParking = step{"close_parking"}
	cAddrs   = step{"close_addrs"}
	cDomain  = step{"close_domain"}
	cOwner   = step{"close_owner"}
	cRelease = step{"close_release"}
	cFinish  = step{"close_finish"}

	sPortsOff     = step{"ports_off"}
	sPortsOffWait = step{"ports_off_wait"}
	sBlock        = step{"block"}
	sSuspended    = step{"suspended"}
	sUnblock      = step{"unblock"}
	sPortsOn      = step{"ports_on"}
	sPortsOnWait  = step{"ports_on_wait"}
	sActive       = step{"active"}
	sAddRelease   = step{"add_release"}
	sSaveIPs      = step{"save_ips"}
	sWait         = step{"reinstall_wait"}
	sFinish       = step{"reinstall_finish"}
)

func dedicatedProduct() *product {
	k := KindDedicated
	// Only a failure of the server itself rolls it back out of sale (and
	// the next server is tried). A transient fault (transport, 5xx, 429,
	// a malformed or lost answer, an expired session, a call in doubt) is
	// retried in place with backoff and then resumed later: it never costs
	// a server. A failure of the order fails the operation, and the server
	// goes back to sale. A roll-back or the final record is never given up.
	openPolicy := map[Phase]policy{
		PhasePrepare: {by: map[faultClass]action{classInDoubt: retryLater, classTransient: retryLater, classPanel: retryLater},
			otherwise: failOp},
		PhaseServer: {by: map[faultClass]action{classServer: rollBack, classTransient: retryLater, classPanel: retryLater,
			classInDoubt: retryLater}, otherwise: failOp},
		PhaseRollback: {otherwise: retryLater},
		PhaseRecord:   {otherwise: retryLater},
	}
	// The other operations fail on a failed step (after its retries); the
	// service keeps its status and the error.
	// A transient fault is retried in place and then resumed later, as in
	// Open: it never fails the operation until MaxAttempts.
	later := map[faultClass]action{classTransient: retryLater, classPanel: retryLater, classInDoubt: retryLater}
	failing := map[Phase]policy{
		PhasePrepare: {by: later, otherwise: failOp},
		PhaseServer:  {by: later, otherwise: failOp},
		PhaseRecord:  {by: later, otherwise: failOp},
	}
	manual := &policy{otherwise: failOp}

	open := newGraph(k, OpOpen, openPolicy,
		stepDef{name: dStart, idempotent: true, phase: PhasePrepare, fn: on(openStart), next: goesTo(dCheck, stepDone),
			doc: "service Ordered → Processing (an Active one is done)"},
		stepDef{name: dCheck, quiet: true, phase: PhasePrepare, fn: on(openCheck), next: goesTo(dUser),
			doc: "the order checked against the panels, reads only: OS template exists, the IP pool can serve the addresses"},
		stepDef{name: dUser, quiet: true, phase: PhasePrepare, fn: on(openUser), next: goesTo(dPick),
			doc: "find the customer's panel user, else create it"},
		stepDef{name: dPick, idempotent: true, phase: PhasePrepare, fn: on(openPick), next: goesTo(dClaim, dUser, dManual),
			doc: "reserve the first available server not tried; none: next module, manual task or fail"},
		stepDef{name: dClaim, phase: PhaseServer, fn: on(openClaim), next: goesTo(dDomain, dPick),
			doc: "admin becomes the owner, server enabled (taken outside the engine: next server)"},
		stepDef{name: dDomain, idempotent: true, phase: PhaseServer, fn: on(openDomain), next: goesTo(dIPSwap, dExtraIPs),
			doc: "the server's domain (hostname)"},
		stepDef{name: dIPSwap, phase: PhaseServer, fn: on(openIPSwap), next: goesTo(dIPSwap, dExtraIPs),
			doc: "swap the parking address for a public one (four checkpoints)"},
		stepDef{name: dExtraIPs, quiet: true, phase: PhaseServer, fn: on(openExtraIPs), next: goesTo(dExtraIPs, dPortsOn),
			doc: "the ordered additional addresses, one checkpoint each"},
		stepDef{name: dPortsOn, idempotent: true, phase: PhaseServer, fn: on(openPortsOn), next: goesTo(dPowerOn),
			doc: "switch ports on"},
		stepDef{name: dPowerOn, idempotent: true, phase: PhaseServer, fn: on(openPowerOn), next: goesTo(dWaitPower),
			doc: "power on"},
		stepDef{name: dWaitPower, quiet: true, phase: PhaseServer, fn: on(openWaitPower), next: goesTo(dInstall),
			doc: "wait for power (PowerTimeout, durable)"},
		stepDef{name: dInstall, phase: PhaseServer, fn: on(openInstall), next: goesTo(dWaitInstall),
			doc: "start the OS install unless one runs"},
		stepDef{name: dWaitInstall, quiet: true, phase: PhaseServer, fn: on(openWaitInstall), next: goesTo(dReachable, dTransfer),
			doc: "wait for the install (InstallTimeout, durable; only its start with DontWaitInstall)"},
		stepDef{name: dReachable, quiet: true, phase: PhaseServer, fn: on(openReachable), next: goesTo(dTransfer),
			doc: "Config.Reachability or ReachPorts' port for the OS family (ReachTimeout, durable); skipped without either"},
		stepDef{name: dTransfer, idempotent: true, phase: PhaseServer, fn: on(openTransfer), next: goesTo(dLicense),
			doc: "the customer's user becomes the owner"},
		licenseOpenStep(),
		stepDef{name: dActivate, phase: PhaseRecord, fn: on(openActivate), next: goesTo(stepDone),
			doc: "properties saved on the service, service Active, welcome"},
		stepDef{name: dManual, phase: PhaseRecord, fn: on(openManual), next: goesTo(stepDone), onError: manual,
			doc: "manual task recorded, service left in Processing"},
		stepDef{name: rbIPs, phase: PhaseRollback, fn: on(rollbackIPs), next: goesTo(rbParking),
			doc: "remove and release the addresses Open added"},
		stepDef{name: rbParking, phase: PhaseRollback, fn: on(rollbackParking), next: goesTo(rbParking, rbAddrs),
			doc: "park the server again, release the public address"},
		stepDef{name: rbAddrs, phase: PhaseRollback, fn: on(rollbackAddrs), next: goesTo(rbDomain),
			doc: "every address noted for the operation and server that is not on the server back to IPmanager (lost answers included)"},
		stepDef{name: rbDomain, phase: PhaseRollback, fn: on(rollbackDomain), next: goesTo(rbNotes),
			doc: "domain free.ds"},
		stepDef{name: rbNotes, phase: PhaseRollback, fn: on(rollbackNotes), next: goesTo(rbDisable),
			doc: "the reason written into the server's notes"},
		stepDef{name: rbDisable, phase: PhaseRollback, fn: on(rollbackDisable), next: goesTo(rbRelease),
			doc: "server disabled, kept by the admin (out of sale)"},
		stepDef{name: rbRelease, phase: PhaseRollback, fn: on(rollbackRelease), next: goesTo(dPick, rbRestore),
			doc: "reservation released; next server, or fail (abort, MaxServerFailures)"},
		stepDef{name: rbRestore, phase: PhaseRollback, fn: on(rollbackRestore), next: goesTo(),
			doc: "the order is at fault (two servers failed the same way): the first one goes back to sale, the operation fails"},
	)
	open.rollBack = rollBackServer
	open.failRoute = abortServer

	close := newGraph(k, OpClose, failing,
		licenseFollowStep(lClose, "the service's license closed (none: skipped)", func(l LicenseBackend) func(context.Context, string) error { return l.CloseLicense }),
		stepDef{name: dStart, quiet: true, phase: PhasePrepare, fn: on(closeStart), next: goesTo(cDisable, cFinish, stepDone),
			doc: "nothing to do when Deleted; no server: only the record"},
		stepDef{name: cDisable, phase: PhaseServer, fn: on(closeDisable), next: goesTo(cIPs), doc: "server disabled"},
		stepDef{name: cIPs, phase: PhaseServer, fn: on(closeIPs), next: goesTo(cParking),
			doc: "additional addresses removed and released"},
		stepDef{name: cParking, phase: PhaseServer, fn: on(closeParking), next: goesTo(cParking, cAddrs),
			doc: "parked again when its address was swapped"},
		stepDef{name: cAddrs, phase: PhaseServer, fn: on(closeAddrs), next: goesTo(cDomain),
			doc: "every address noted for the service's Open and the server that is not on the server back to IPmanager"},
		stepDef{name: cDomain, phase: PhaseServer, fn: on(closeDomain), next: goesTo(cOwner), doc: "domain free.ds"},
		stepDef{name: cOwner, phase: PhaseServer, fn: on(closeOwner), next: goesTo(cRelease), doc: "owner cleared (no_owner)"},
		stepDef{name: cRelease, phase: PhaseRecord, fn: on(closeRelease), next: goesTo(cFinish), doc: "reservation released"},
		stepDef{name: cFinish, phase: PhaseRecord, fn: on(closeFinish), next: goesTo(stepDone), doc: "service Deleted"},
	)
	suspend := newGraph(k, OpSuspend, failing,
		licenseFollowStep(lSuspend, "the service's license suspended (none: skipped)", func(l LicenseBackend) func(context.Context, string) error { return l.SuspendLicense }),
		stepDef{name: dStart, quiet: true, phase: PhasePrepare, fn: on(suspendStart), next: goesTo(sPortsOff), doc: "—"},
		stepDef{name: sPortsOff, phase: PhaseServer, fn: on(suspendPortsOff), next: goesTo(sPortsOffWait),
			doc: "switch ports off (the server keeps running)"},
		stepDef{name: sPortsOffWait, quiet: true, phase: PhaseServer, fn: on(suspendPortsOffWait), next: goesTo(sBlock),
			doc: "until every switch port reads off (SwitchPortReader; PowerTimeout, durable)"},
		stepDef{name: sBlock, phase: PhaseServer, fn: on(suspendBlock), next: goesTo(sSuspended),
			doc: "server blocked (disabled) when the module has BlockOnSuspend"},
		stepDef{name: sSuspended, phase: PhaseRecord, fn: on(suspendRecord), next: goesTo(stepDone),
			doc: "service Suspended"},
	)
	unsuspend := newGraph(k, OpUnsuspend, failing,
		licenseFollowStep(lResume, "the service's license resumed (none: skipped)", func(l LicenseBackend) func(context.Context, string) error { return l.ResumeLicense }),
		stepDef{name: dStart, quiet: true, phase: PhasePrepare, fn: on(unsuspendStart), next: goesTo(sUnblock), doc: "—"},
		stepDef{name: sUnblock, phase: PhaseServer, fn: on(unsuspendUnblock), next: goesTo(sPortsOn),
			doc: "server enabled (unblocked)"},
		stepDef{name: sPortsOn, phase: PhaseServer, fn: on(unsuspendPortsOn), next: goesTo(sPortsOnWait),
			doc: "switch ports on"},
		stepDef{name: sPortsOnWait, quiet: true, phase: PhaseServer, fn: on(unsuspendPortsOnWait), next: goesTo(sActive),
			doc: "until every switch port reads on (SwitchPortReader; PowerTimeout, durable)"},
		stepDef{name: sActive, phase: PhaseRecord, fn: on(unsuspendRecord), next: goesTo(stepDone),
			doc: "service Active"},
	)
	password := newGraph(k, OpChangePassword, failing,
		stepDef{name: dStart, phase: PhaseServer, fn: on(changePassword), next: goesTo(stepDone),
			doc: "the panel user's password"},
	)
	addIP := newGraph(k, OpAddIP, failing,
		stepDef{name: dStart, phase: PhaseServer, fn: on(addIPStart), next: goesTo(dStart, sSaveIPs),
			doc: "allocate in IPmanager (found again by its note) and add to the server; checkpoints"},
		stepDef{name: sSaveIPs, phase: PhaseRecord, fn: on(saveIPs), next: goesTo(stepDone),
			doc: "the server's additional addresses saved on the service"},
		stepDef{name: sAddRelease, phase: PhaseRollback, fn: on(addIPRelease), next: goesTo(),
			doc: "a failed AddIP: the address it allocated and did not add goes back to IPmanager"},
	)
	addIP.failRoute = func(*run, ProductState) step { return sAddRelease }
	removeIP := newGraph(k, OpRemoveIP, failing,
		stepDef{name: dStart, phase: PhaseServer, fn: on(removeIPStart), next: goesTo(sSaveIPs),
			doc: "remove from the server, release in IPmanager"},
		stepDef{name: sSaveIPs, phase: PhaseRecord, fn: on(saveIPs), next: goesTo(stepDone),
			doc: "the server's additional addresses saved on the service"},
	)
	reinstall := newGraph(k, OpReinstall, failing,
		stepDef{name: dStart, phase: PhaseServer, fn: on(reinstallStart), next: goesTo(sWait),
			doc: "start the install (the Open's template and recipe unless given)"},
		stepDef{name: sWait, phase: PhaseServer, fn: on(reinstallWait), next: goesTo(sFinish),
			doc: "wait for it (InstallTimeout, durable)"},
		stepDef{name: sFinish, phase: PhaseRecord, fn: on(reinstallFinish), next: goesTo(stepDone),
			doc: "template and recipe saved on the service"},
	)
	return &product{
		kind:         k,
		productTypes: []billing.ProductType{billing.ProductDedicatedServer},
		newState:     func() ProductState { return &DedicatedState{} },
		fromV1:       dedicatedFromV1,
		graphs: map[OperationKind]*graph{OpOpen: open, OpClose: close, OpSuspend: suspend, OpUnsuspend: unsuspend,
			OpChangePassword: password, OpAddIP: addIP, OpRemoveIP: removeIP, OpReinstall: reinstall},
		usable:    func(e *Engine, m *billing.Module) bool { return e.cfg.Dedicated[m.Name] != nil },
		checkOpen: dedicatedCheckOpen,
		check:     dedicatedCheck,
		loginURL: func(ctx context.Context, e *Engine, svc *Service) (string, error) {
			b := e.cfg.Dedicated[svc.Module]
			if b == nil {
				return "", fmt.Errorf("provision: module %q: %w", svc.Module, ErrNoBackend)
			}
			return b.LoginURL(ctx, svc.Properties[PropLogin])
		},
	}
}

// rollBackServer starts the roll-back of the server Open works on after a
// step failed there; the next server is tried after it.
func rollBackServer(r *run, st ProductState, at *stepDef, _ faultClass, err error) (step, bool) {
	d := st.(*DedicatedState)
	if d.Server == "" {
		return step{}, false
	}
	reason := err.Error()
	var sf *serverFailure
	if errors.As(err, &sf) {
		reason = sf.reason
		if sf.stop {
			// The order stops after this server (its module's policy).
			d.Abort = true
			r.fail(err)
		}
	}
	d.FailReason = fmt.Sprintf("%s: %s", at.name, reason)
	if d.LastReason == d.FailReason && d.LastServer != "" && d.LastServer != d.Server {
		// The second server in a row failing the same way: the order (its
		// OS template, recipe, a value the panel refuses) is at fault, not
		// the servers. Stop, and keep both in sale.
		d.OrderFault, d.Abort, d.KeepInSale = true, true, true
	}
	ev := r.event(EventServerFailed, at.name.name)
	ev.Error = d.FailReason
	r.e.emit(ev)
	return rbIPs, true
}

// abortServer routes a failure of Open: a server it holds is rolled back
// first (and the operation fails after it), so a failed Open never keeps
// a server.
func abortServer(r *run, st ProductState) step {
	d := st.(*DedicatedState)
	if d.Server == "" {
		return stepFail
	}
	// The operation fails for a reason that is not the server's (the
	// order's, or faults that outlived every retry): the server is rolled
	// back into sale, not disabled.
	d.Abort, d.KeepInSale = true, true
	d.FailReason = d.Error
	return rbIPs
}

func dedicatedCheckOpen(e *Engine, req OpenRequest, t *billing.Tariff) error {
	if billing.SanitizeUsername(req.Owner) == "" {
		return reqArg(req, "Owner", "required: a name with at least one ASCII letter or digit")
	}
	if req.Password == "" {
		return reqArg(req, "Password", "required")
	}
	if err := licenseCheckOpen(e, req, t); err != nil {
		return err
	}
	d, err := serverDomain(t, req.ServiceID, req.Owner, req.Domain, req.AccountID)
	if err != nil {
		return err
	}
	if why := validate.Domain(d); why != "" {
		// The panel would refuse it on every server the order tried.
		field := "Domain"
		if t.DomainTemplate != "" {
			return argErr("Open", "billing.Tariff.DomainTemplate", "expands to a name that is not a host name: "+why)
		}
		return reqArg(req, field, "not a host name: "+why)
	}
	return nil
}

func dedicatedCheck(e *Engine, req Request, svc *Service) error {
	if err := checkStatus(req, svc); err != nil {
		return err
	}
	switch req := req.(type) {
	case ReinstallRequest:
		if req.OSTemplate == "" && svc.Properties[PropOS] == "" {
			return reqArg(req, "OSTemplate", "required: the service has no OS template recorded")
		}
	case RemoveIPRequest:
		if req.IP == svc.Properties[PropIP] {
			return reqArg(req, "IP", "is the server's main address")
		}
	}
	return nil
}

// serverDomain computes the domain of a new dedicated server: the tariff's
// domain template, else the ordered domain, else "<service id>.domain" (the
// WHMCS default "@ID@.domain").
func serverDomain(t *billing.Tariff, serviceID, owner, domain string, accountID int64) (string, error) {
	if t.DomainTemplate != "" {
		d, err := billing.ExpandTemplate(t.DomainTemplate, billing.MacroVars{
			Username: billing.SanitizeUsername(owner), Domain: domain, ID: numericID(serviceID), AccountID: accountID, Type: string(t.ProductType),
		})
		if err != nil {
			return "", err
		}
		return strings.ToLower(d), nil
	}
	if domain != "" {
		return strings.ToLower(domain), nil
	}
	var b strings.Builder
	for _, c := range strings.ToLower(serviceID) {
		if ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '-' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "", argErr("Open", "OpenRequest.Domain", "required: the service id cannot form a domain")
	}
	return b.String() + ".domain", nil
}

// ---- targets: the module, backend and pool an operation works with ----

// target is the module, backend and pool an operation works with.
type target struct {
	mod  *billing.Module
	b    dedicatedGate
	pool *poolGate // nil without an IPmanager link
}

// swaps reports whether Open swaps the parking address for a public one.
func (t target) swaps() bool {
	l := t.mod.IPManager
	return t.pool != nil && l != nil && !l.NeverChangeIPs && l.ParkingGroup != ""
}

func (r *run) target(m *billing.Module) target {
	tg := target{mod: m, b: r.dedicated(r.e.cfg.Dedicated[m.Name])}
	if m.IPManager != nil {
		tg.pool = r.pool(r.e.cfg.IPPools[m.Name])
	}
	return tg
}

// openTarget is the module Open currently works with: the one it recorded
// (Module, set once it found the customer's panel user), found by name,
// so that a catalog edited while the order runs (a module added, removed
// or sorted differently) never moves the order's later steps to another
// panel, where the same server id is somebody else's server. A module the
// tariff no longer lists is still the one the server is in; one gone from
// the catalog, or without a backend, stops the order (ErrNoBackend).
// Before Module is set, it is the tariff's module at ModuleIndex.
func (r *run) openTarget(ctx context.Context, d *DedicatedState) (target, *billing.Tariff, *Service, error) {
	t, svc, err := r.loadTariff(ctx)
	if err != nil {
		return target{}, nil, nil, err
	}
	if d.Module != "" {
		m, err := r.e.cfg.Catalog.Module(d.Module)
		if err != nil || !r.prod.usable(r.e, m) {
			return target{}, t, svc, permanent(fmt.Errorf("module %q of this operation: %w", d.Module, ErrNoBackend))
		}
		return r.target(m), t, svc, nil
	}
	mods := r.e.modulesFor(t, r.prod)
	if d.ModuleIndex >= len(mods) {
		return target{}, t, svc, permanent(fmt.Errorf("module index %d out of range", d.ModuleIndex))
	}
	return r.target(mods[d.ModuleIndex]), t, svc, nil
}

// openOrder is openTarget with the order resolved against the tariff (OS,
// recipe, extra addresses).
func (r *run) openOrder(ctx context.Context, d *DedicatedState) (target, billing.ResolvedOrder, error) {
	tg, t, _, err := r.openTarget(ctx, d)
	if err != nil {
		return target{}, billing.ResolvedOrder{}, err
	}
	ro, err := r.resolved(t)
	return tg, ro, err
}

// openServer loads the Open target and reads the server the operation
// works on.
func (r *run) openServer(ctx context.Context, d *DedicatedState) (target, Server, error) {
	tg, _, _, err := r.openTarget(ctx, d)
	if err != nil {
		return target{}, Server{}, err
	}
	s, err := tg.server(ctx, d.Server)
	return tg, s, err
}

// serviceTarget is the module of an opened service.
func (r *run) serviceTarget(ctx context.Context) (target, *Service, error) {
	svc, err := r.service(ctx)
	if err != nil {
		return target{}, nil, err
	}
	m, err := r.e.cfg.Catalog.Module(svc.Module)
	if err != nil {
		return target{}, nil, permanent(fmt.Errorf("module %q: %w", svc.Module, err))
	}
	if r.e.cfg.Dedicated[m.Name] == nil {
		return target{}, nil, permanent(fmt.Errorf("module %q: %w", svc.Module, ErrNoBackend))
	}
	if svc.Properties[PropServerID] == "" {
		return target{}, nil, permanent(fmt.Errorf("service %s has no server: %w", svc.ID, ErrServiceState))
	}
	return r.target(m), svc, nil
}

// serviceServer loads the target of an opened service and reads its server.
func (r *run) serviceServer(ctx context.Context) (target, Server, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return target{}, Server{}, err
	}
	s, err := tg.server(ctx, svc.Properties[PropServerID])
	return tg, s, err
}

// server is server id as the run last read it from the target's panel
// (dedicatedGate.Server; the id is kept as asked).
func (tg target) server(ctx context.Context, id string) (Server, error) {
	s, err := tg.b.Server(ctx, id)
	if err != nil {
		return Server{}, err
	}
	s.ID = id
	return s, nil
}

func (r *run) resolved(t *billing.Tariff) (billing.ResolvedOrder, error) {
	opts, err := billing.ParseOrderOptions(r.openRequest().Options)
	if err != nil {
		return billing.ResolvedOrder{}, permanent(err)
	}
	ro, err := t.Resolve(opts)
	if err != nil {
		return billing.ResolvedOrder{}, permanent(err)
	}
	return ro, nil
}

// ---- the ensure* helpers act only when the server's state (as just
// read) differs from the wanted one, which keeps the steps idempotent ----

// ensureOwner makes user (empty: nobody) the server's owner.
// ensureOwner makes user the owner of the server of row s, on the
// condition that its owner still is the one s shows (dedicatedGate.swapOwner).
func ensureOwner(ctx context.Context, b dedicatedGate, s Server, user string) error {
	if s.OwnerID == user {
		return nil
	}
	return b.swapOwner(ctx, s, user)
}

// ensureDomain sets the server's domain (hostname).
func ensureDomain(ctx context.Context, b dedicatedGate, s Server, domain string) error {
	if s.Hostname == domain {
		return nil
	}
	return b.SetDomain(ctx, s.ID, domain)
}

// ensureEnabled enables (on) or disables the server.
func ensureEnabled(ctx context.Context, b dedicatedGate, s Server, on bool) error {
	switch {
	case on && s.Disabled:
		return b.Enable(ctx, s.ID)
	case !on && !s.Disabled:
		return b.Disable(ctx, s.ID)
	}
	return nil
}

// ensurePowered switches the server on.
func ensurePowered(ctx context.Context, b dedicatedGate, s Server) error {
	if s.PoweredOn {
		return nil
	}
	if err := b.PowerOn(ctx, s.ID); err != nil {
		return err
	}
	b.startedWait(awaitPower)
	return nil
}

// The waits (run.await) that follow a write starting a panel operation.
const (
	awaitPower   = "power on"
	awaitInstall = "OS install"
)

// startedWait records that the run has just started the operation wait
// what waits for, when the backend is a RowReader (every look at the
// server is then a read of the whole server list): the wait, when it
// follows in the same run, skips its first look (see run.await).
func (g dedicatedGate) startedWait(what string) {
	if g.reusesRows() {
		g.r.started = what
	}
}

// allocate returns the address of pool carrying note, or allocates one
// with that note (a retry after a crash finds its earlier allocation).
func allocate(ctx context.Context, pool *poolGate, family, group, domain, note, what string) (string, error) {
	if pool.mayHold(note) {
		found, err := pool.FindByNote(ctx, note)
		if err != nil {
			return "", err
		}
		if len(found) > 0 {
			return found[0], nil
		}
	}
	ip, err := pool.Allocate(ctx, family, group, domain, note)
	if err != nil {
		return "", fmt.Errorf("allocate %s address: %w", what, err)
	}
	return ip, nil
}

func findIP(ips []ServerIP, ip string) (ServerIP, bool) {
	for _, x := range ips {
		if x.IP == ip {
			return x, true
		}
	}
	return ServerIP{}, false
}

func mainIP(ips []ServerIP) (ServerIP, bool) {
	for _, x := range ips {
		if x.Main {
			return x, true
		}
	}
	return ServerIP{}, false
}

// addresses lists the addresses of ips.
func addresses(ips []ServerIP) []string {
	out := make([]string, 0, len(ips))
	for _, x := range ips {
		out = append(out, x.IP)
	}
	return out
}
