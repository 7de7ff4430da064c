package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ispkit/ispkit/billing"
)

// Open of a dedicated server: the steps up to the activation. Each reads
// the panel's state before it acts; a step with several unsafe calls
// records a checkpoint after each (it goes to itself), so at most one call
// is in doubt after a crash, and that call is resolved by re-reading the
// panel.

func openStart(ctx context.Context, r *run, _ *DedicatedState) (step, error) {
	return r.startOpen(ctx, dCheck)
}

// openCheck checks the order against every module Open may use before any
// server is touched, with reads only: the panel has the OS template (a
// backend that is an OSTemplateChecker), and the IPmanager pool can hand
// out the public and additional addresses (a pool that is a PoolCapacity;
// the parking swap takes one IPv4 address). A failed check fails the
// operation with an *ArgumentError naming the field; the service goes back
// to Ordered with the reason. A check that cannot be read now is retried.
func openCheck(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	t, _, err := r.loadTariff(ctx)
	if err != nil {
		return step{}, err
	}
	ro, err := r.resolved(t)
	if err != nil {
		return step{}, err
	}
	opts, _ := billing.ParseOrderOptions(r.openRequest().Options)
	osField := "Options[" + billing.OptionOS + "]"
	if opts.OSTemplate == "" {
		osField = "Tariff.OSTemplate"
	}
	req := r.openRequest()
	for _, m := range r.e.modulesFor(t, r.prod) {
		tg := r.target(m)
		has, ok, err := tg.b.HasOSTemplate(ctx, m.Name, ro.OSTemplate)
		if err != nil {
			return step{}, fmt.Errorf("check OS template: %w", err)
		}
		if ok && !has {
			return step{}, permanent(reqArg(req, osField, fmt.Sprintf("the panel of module %s has no such OS template", m.Name)))
		}
		if tg.pool == nil {
			continue
		}
		need := map[string]int64{"ipv4": int64(ro.ExtraIPv4), "ipv6": int64(ro.ExtraIPv6)}
		if tg.swaps() {
			need["ipv4"]++
		}
		for _, fam := range []string{"ipv4", "ipv6"} {
			if need[fam] == 0 {
				continue
			}
			free, ok, err := tg.pool.FreeCount(ctx, fam, m.IPManager.IPGroup())
			if err != nil {
				return step{}, fmt.Errorf("check IP pool: %w", err)
			}
			if ok && free < need[fam] {
				field := "Options[" + billing.OptionIPv4 + "]"
				if fam == "ipv6" {
					field = "Options[" + billing.OptionIPv6 + "]"
				}
				return step{}, permanent(reqArg(req, field, fmt.Sprintf("module %s: IPmanager group %q has %d free addresses, the order needs %d",
					m.Name, m.IPManager.IPGroup(), free, need[fam])))
			}
		}
	}
	return dUser, nil
}

func openUser(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, _, svc, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	name := billing.SanitizeUsername(svc.Owner)
	id, found, err := tg.b.FindUser(ctx, name)
	if err != nil {
		return step{}, err
	}
	if !found {
		id, err = tg.b.CreateUser(ctx, name, r.openRequest().Password)
		if err != nil {
			// Created meanwhile by a concurrent order of the same customer?
			if id2, found2, err2 := tg.b.FindUser(ctx, name); err2 == nil && found2 {
				id, err = id2, nil
			} else {
				return step{}, fmt.Errorf("create panel user: %w", err)
			}
		}
	}
	admin, err := tg.b.AdminUserID(ctx)
	if err != nil {
		return step{}, err
	}
	d.Module, d.UserName, d.UserID, d.AdminID = tg.mod.Name, name, id, admin
	return dPick, nil
}

func openPick(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	if d.Server != "" {
		return dClaim, nil
	}
	tg, t, _, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	// The engine's orders of the module that pick now share one read of
	// the reservations and the server list, and each gets its own
	// candidate in the panel's order (pick.go).
	req := &pickRequest{ctx: ctx, opID: r.op.ID, svcID: r.op.ServiceID, tried: d.Tried,
		eligible: func(s Server) bool { return s.Available(t.ServerConfig) },
		list:     tg.b.ListServers, reserve: r.reserve}
	for {
		res := r.e.picker(tg.mod.Name).pick(req)
		switch {
		case res.err != nil:
			return step{}, res.err
		case res.again:
			continue
		case len(res.own) > 0:
			// Reserved by this operation before a crash, not recorded yet.
			d.Server = res.own[0].ServerID
			for _, rv := range res.own[1:] {
				if err := r.unreserve(ctx, tg.mod.Name, rv.ServerID, r.op.ID); err != nil {
					return step{}, err
				}
			}
			return dClaim, nil
		case res.server != "":
			d.Server = res.server
			return dClaim, nil
		}
		break
	}
	// No server left in this module: the next module, else give up.
	mods := r.e.modulesFor(t, r.prod)
	next := d.ModuleIndex + 1
	if i := slices.IndexFunc(mods, func(m *billing.Module) bool { return m.Name == d.Module }); i >= 0 {
		next = i + 1 // the catalog's order may have changed since
	}
	if next < len(mods) {
		d.ModuleIndex = next
		d.Module, d.UserName, d.UserID, d.AdminID, d.Tried = "", "", "", "", nil
		return dUser, nil
	}
	for _, m := range mods {
		if ok, reason := billing.OnConfigUnavailable(t, m); ok {
			r.manualTask(m, reason)
			return dManual, nil
		}
	}
	return r.fail(fmt.Errorf("tariff %d (%s): %w", t.ID, t.ServerConfig, ErrNoServer)), nil
}

// openManual leaves the service in Processing for the department.
func openManual(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	if err := r.recordManualTask(ctx); err != nil {
		return step{}, err
	}
	return stepDone, nil
}

// abandonServer forgets a server that turned out to be taken outside the
// engine (no roll-back: it is not ours).
func abandonServer(ctx context.Context, r *run, d *DedicatedState, tg target) (step, error) {
	if err := r.unreserve(ctx, tg.mod.Name, d.Server, r.op.ID); err != nil {
		return step{}, err
	}
	d.Tried = append(d.Tried, d.Server)
	d.clearServer()
	return dPick, nil
}

func openClaim(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, s, err := r.openServer(ctx, d)
	if err != nil {
		return step{}, err
	}
	if s.OwnerID != d.AdminID && (s.OwnerID != "" || s.Hostname != FreeHostname) {
		return abandonServer(ctx, r, d, tg) // taken outside the engine
	}
	if err := ensureOwner(ctx, tg.b, s, d.AdminID); err != nil {
		return step{}, err
	}
	return dDomain, ensureEnabled(ctx, tg.b, s, true)
}

func openDomain(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, t, svc, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	if d.Domain == "" {
		if d.Domain, err = serverDomain(t, svc.ID, svc.Owner, r.openRequest().Domain, svc.AccountID); err != nil {
			return step{}, permanent(err)
		}
	}
	if tg.swaps() && d.Swap.Public == "" {
		// The main address is the parking one the swap replaces, and the
		// public address gets the domain as it is added: only the
		// server's other addresses (usually none) need it now.
		if err := tg.b.SetDomainOthers(ctx, d.Server, d.Domain); err != nil {
			return step{}, err
		}
		return dIPSwap, nil
	}
	s, err := tg.server(ctx, d.Server)
	if err != nil {
		return step{}, err
	}
	if err := ensureDomain(ctx, tg.b, s, d.Domain); err != nil {
		return step{}, err
	}
	if tg.swaps() {
		return dIPSwap, nil
	}
	return dExtraIPs, nil
}

// openIPSwap replaces the parking address by a public one from IPmanager.
// The parking address is the server's main address, and a panel keeps a
// server's only address, so the public address is added first and the
// parking one removed after it (the panel then makes the public address
// the main one). Each sub-step is a checkpoint: the allocation (found
// again by its note after a crash), the public address on the server, the
// parking address off the server, the parking address's release to
// IPmanager.
func openIPSwap(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, _, _, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	srv, sw, group := d.Server, &d.Swap, tg.mod.IPManager.IPGroup()
	if sw.Public == "" {
		ips, err := tg.b.ListIPs(ctx, srv)
		if err != nil {
			return step{}, err
		}
		pub, err := allocate(ctx, tg.pool, "ipv4", group, d.Domain, r.op.ID+"/"+srv+"/main", "public")
		if err != nil {
			return step{}, err
		}
		sw.Public = pub
		if m, ok := mainIP(ips); ok && m.IP != pub {
			sw.Parking = m.IP
		}
		return dIPSwap, nil // checkpoint the allocation
	}
	if sw.ParkingReleased {
		return dExtraIPs, nil
	}
	switch {
	case !sw.PublicAdded:
		ips, err := tg.b.ListIPs(ctx, srv)
		if err != nil {
			return step{}, err
		}
		if _, ok := findIP(ips, sw.Public); !ok {
			if _, err := tg.b.AddIP(ctx, srv, "ipv4", group, sw.Public, d.Domain); err != nil {
				return step{}, fmt.Errorf("add public address %s: %w", sw.Public, err)
			}
		}
		sw.PublicAdded = true
		return dIPSwap, nil // checkpoint: the public address is on the server
	case !sw.ParkingRemoved:
		if sw.Parking != "" {
			ips, err := tg.b.ListIPs(ctx, srv)
			if err != nil {
				return step{}, err
			}
			if p, ok := findIP(ips, sw.Parking); ok {
				// The panel, not the checkpoint, says whether the public
				// address is there: if it went missing since it was
				// recorded, put it back before the parking one goes.
				if _, ok := findIP(ips, sw.Public); !ok {
					if _, err := tg.b.AddIP(ctx, srv, "ipv4", group, sw.Public, d.Domain); err != nil {
						return step{}, fmt.Errorf("add public address %s: %w", sw.Public, err)
					}
				}
				if err := tg.b.RemoveIP(ctx, srv, p.ID); err != nil {
					return step{}, fmt.Errorf("remove parking address %s: %w", sw.Parking, err)
				}
			}
		}
		sw.ParkingRemoved = true
		return dIPSwap, nil // checkpoint: the parking address is off the server
	}
	if sw.Parking != "" {
		if err := tg.pool.Release(ctx, sw.Parking); err != nil {
			return step{}, err
		}
	}
	sw.ParkingReleased = true
	return dExtraIPs, nil
}

// openExtraIPs adds the ordered additional IPv4 and IPv6 addresses, one
// checkpoint per address. Without IPmanager the panel allocates them, and
// addresses not in the snapshot taken first are counted as already added.
func openExtraIPs(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, ro, err := r.openOrder(ctx, d)
	if err != nil {
		return step{}, err
	}
	if ro.ExtraIPv4+ro.ExtraIPv6 == 0 {
		return dPortsOn, nil
	}
	srv := d.Server
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return step{}, err
	}
	if !d.BaseTaken {
		d.BaseIPs, d.BaseTaken = addresses(ips), true
		return dExtraIPs, nil // checkpoint the snapshot
	}
	var added []string
	count := map[string]int{}
	for _, x := range ips {
		if !slices.Contains(d.BaseIPs, x.IP) {
			added = append(added, x.IP)
			count[familyOf(x.IP)]++
		}
	}
	d.ExtraIPs = added
	for _, want := range []struct {
		family string
		n      int
	}{{"ipv4", ro.ExtraIPv4}, {"ipv6", ro.ExtraIPv6}} {
		if count[want.family] >= want.n {
			continue
		}
		ip := ""
		if tg.pool != nil {
			note := fmt.Sprintf("%s/%s/%s/%d", r.op.ID, srv, want.family, count[want.family])
			if ip, err = allocate(ctx, tg.pool, want.family, tg.mod.IPManager.IPGroup(), d.Domain, note, want.family); err != nil {
				return step{}, err
			}
		}
		got, err := tg.b.AddIP(ctx, srv, want.family, ro.IPGroup, ip, d.Domain)
		if err != nil {
			return step{}, fmt.Errorf("add %s address: %w", want.family, err)
		}
		d.ExtraIPs = append(slices.Clone(added), got.IP)
		return dExtraIPs, nil // checkpoint each address
	}
	return dPortsOn, nil
}

func openPortsOn(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, _, _, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	if err := tg.b.SetPorts(ctx, d.Server, true); err != nil {
		return step{}, err
	}
	return dPowerOn, nil
}

func openPowerOn(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, s, err := r.openServer(ctx, d)
	if err != nil {
		return step{}, err
	}
	return dWaitPower, ensurePowered(ctx, tg.b, s)
}

func openWaitPower(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, _, _, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	err = r.await(ctx, awaitPower, &d.Waits.Power, r.e.cfg.PowerTimeout, func(ctx context.Context) (bool, error) {
		s, err := tg.b.GetServer(ctx, d.Server)
		return err == nil && s.PoweredOn, err
	})
	if err != nil {
		return step{}, err
	}
	return dInstall, nil
}

func openInstall(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, ro, err := r.openOrder(ctx, d)
	if err != nil {
		return step{}, err
	}
	err = startInstall(ctx, r, d, tg.b, d.Server, InstallSpec{
		Template: ro.OSTemplate, Recipe: ro.Recipe, Password: r.openRequest().Password, Hostname: d.Domain,
	})
	if err != nil {
		return step{}, err
	}
	return dWaitInstall, nil
}

// startInstall starts an install unless one is running (started before a
// crash that hid the record).
func startInstall(ctx context.Context, r *run, d *DedicatedState, b dedicatedGate, srv string, spec InstallSpec) error {
	if !d.InstallStarted.IsZero() {
		return nil
	}
	// The run's row of the server, when it has one, was read after the
	// run's last write to it: a new run (the case of the crash) reads
	// the panel.
	st, err := b.installState(ctx, srv)
	if err != nil {
		return err
	}
	if !st.Running {
		if err := b.Install(ctx, srv, spec); err != nil {
			return fmt.Errorf("start OS install: %w", err)
		}
		b.startedWait(awaitInstall)
	}
	d.InstallStarted = r.now().UTC()
	// The install wait begins with the install, and the install step's
	// own transition records it: the wait then needs no checkpoint of its
	// own (one write fewer per order), and its deadline counts from the
	// install's start, as version 1 did.
	if d.Waits.Install.IsZero() {
		d.Waits.Install = d.InstallStarted
	}
	return nil
}

// waitInstall waits for the install to finish (or, with dontWait, only
// checks that it has not failed), reporting progress.
func waitInstall(ctx context.Context, r *run, d *DedicatedState, b dedicatedGate, srv string, dontWait bool) error {
	last := -2
	return r.await(ctx, awaitInstall, &d.Waits.Install, r.e.cfg.InstallTimeout, func(ctx context.Context) (bool, error) {
		st, err := b.InstallStatus(ctx, srv)
		if err != nil {
			return false, err
		}
		if st.Failed {
			msg := st.Message
			if msg == "" {
				msg = "the panel reports the operation failed"
			}
			return false, serverFailed("OS install failed: %s", msg)
		}
		pct := st.Percent
		if !st.Running {
			pct = 100
		}
		r.progress = pct
		if pct != last {
			last = pct
			ev := r.event(EventInstallProgress, r.op.Step)
			ev.ServerID, ev.Percent = srv, pct
			r.e.emit(ev)
		}
		return dontWait || !st.Running, nil
	})
}

func openWaitInstall(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, t, _, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	if err := waitInstall(ctx, r, d, tg.b, d.Server, t.DontWaitInstall); err != nil {
		var sf *serverFailure
		if errors.As(err, &sf) && sf.timedOut && tg.mod.InstallTimeout == billing.InstallTimeoutKeepPending {
			// The WHMCS module's policy: the order stops with the error
			// and the service stays Pending. The server, whose install
			// may still be running, is rolled back out of sale with the
			// reason in its notes (never sold while installing).
			sf.stop, sf.cause = true, ErrInstallTimeout
			sf.reason = fmt.Sprintf("%s (%v)", sf.reason, ErrInstallTimeout)
		}
		return step{}, err
	}
	if t.DontWaitInstall {
		// The OS is still installing: nothing answers yet.
		return dTransfer, nil
	}
	ro, err := r.resolved(t)
	if err != nil {
		return step{}, err
	}
	if r.e.reachability(ro.OSTemplate) == nil {
		// The panel's "install finished" is the evidence.
		return dTransfer, nil
	}
	return dReachable, nil
}

func openReachable(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, ro, err := r.openOrder(ctx, d)
	if err != nil {
		return step{}, err
	}
	reach := r.e.reachability(ro.OSTemplate)
	if reach == nil {
		return dTransfer, nil // configuration changed since the install
	}
	var last error
	first := true
	err = r.await(ctx, "reachability check", &d.Waits.Reach, r.e.cfg.ReachTimeout, func(ctx context.Context) (bool, error) {
		// The first look may take the row the install wait just read;
		// the polls after it read the panel.
		get := tg.b.GetServer
		if first {
			first, get = false, tg.b.Server
		}
		s, err := get(ctx, d.Server)
		if err != nil {
			return false, err
		}
		last = reach(ctx, s)
		return last == nil, nil
	})
	if err != nil {
		if last != nil {
			return step{}, serverFailed("server does not answer: %v", last)
		}
		return step{}, err
	}
	return dTransfer, nil
}

func openTransfer(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, s, err := r.openServer(ctx, d)
	if err != nil {
		return step{}, err
	}
	return dLicense, ensureOwner(ctx, tg.b, s, d.UserID)
}

func openActivate(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, ro, err := r.openOrder(ctx, d)
	if err != nil {
		return step{}, err
	}
	srv := d.Server
	s, err := tg.b.DescribeServer(ctx, srv)
	if err != nil {
		return step{}, err
	}
	// The addresses saved on the service: the panel's list as this run
	// last read it with the run's own changes applied, the main one as
	// the server's row shows it (the install wait read it last); a new
	// run reads them from the panel.
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return step{}, err
	}
	mainAddr, extras := s.IP, []string{}
	if m, ok := mainIP(ips); ok {
		mainAddr = m.IP
	}
	if pub := d.Swap.Public; pub != "" {
		if _, ok := findIP(ips, pub); ok {
			mainAddr = pub // the swapped-in public address is the service's address
		}
	}
	for _, x := range ips {
		if x.IP != mainAddr {
			extras = append(extras, x.IP)
		}
	}
	_, err = r.updateService(ctx, func(svc *Service) error {
		svc.Module = tg.mod.Name
		p := svc.Properties
		p[PropServerID] = srv
		p[PropServerName] = s.Name
		p[PropIP] = mainAddr
		p[PropIPs] = joinList(extras)
		p[PropLogin] = d.UserName
		p[PropUserID] = d.UserID
		p[PropDomain] = d.Domain
		p[PropSwitchPort] = s.SwitchPort
		p[PropIPMI] = s.IPMIAddress
		p[PropMAC] = s.MAC
		p[PropOS] = ro.OSTemplate
		p[PropRecipe] = ro.Recipe
		p[PropReservation] = r.op.ID
		if d.Swap.Public != "" {
			p[PropIPManaged] = "1"
		}
		return r.transition(svc, billing.StatusActive)
	})
	if err != nil {
		return step{}, err
	}
	return stepDone, nil
}
