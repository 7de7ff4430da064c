package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ispkit/ispkit/billing"
)

// stepRollback starts the roll-back of a failed server during Open.
const stepRollback = "rb_ips"

// serverPhase lists the Open steps that work on the picked server: a
// failure there rolls the server back and tries the next one.
var serverPhase = map[string]bool{
	"claim": true, "domain": true, "ip_swap": true, "extra_ips": true, "ports_on": true,
	"power_on": true, "wait_power": true, "install": true, "wait_install": true,
	"reachable": true, "transfer": true,
}

var dedicatedSteps = map[OperationKind]map[string]stepFunc{
	OpOpen: {
		firstStep:      openStart,
		"user":         openUser,
		"pick":         openPick,
		"claim":        openClaim,
		"domain":       openDomain,
		"ip_swap":      openIPSwap,
		"extra_ips":    openExtraIPs,
		"ports_on":     openPortsOn,
		"power_on":     openPowerOn,
		"wait_power":   openWaitPower,
		"install":      openInstall,
		"wait_install": openWaitInstall,
		"reachable":    openReachable,
		"transfer":     openTransfer,
		"activate":     openActivate,
		"rb_ips":       rbIPs,
		"rb_parking":   rbParking,
		"rb_domain":    rbDomain,
		"rb_notes":     rbNotes,
		"rb_disable":   rbDisable,
		"rb_release":   rbRelease,
		"manual":       openManual,
	},
	OpClose: {
		firstStep:       closeStart,
		"close_disable": closeDisable,
		"close_ips":     closeIPs,
		"close_parking": closeParking,
		"close_domain":  closeDomain,
		"close_owner":   closeOwner,
		"close_release": closeRelease,
		"close_finish":  closeFinish,
	},
	OpSuspend: {
		firstStep: func(ctx context.Context, r *run) (string, error) { return "ports_off", nil },
		"ports_off": func(ctx context.Context, r *run) (string, error) {
			return setPorts(ctx, r, false, billing.StatusSuspended)
		},
	},
	OpUnsuspend: {
		firstStep:  func(ctx context.Context, r *run) (string, error) { return "ports_on", nil },
		"ports_on": func(ctx context.Context, r *run) (string, error) { return setPorts(ctx, r, true, billing.StatusActive) },
	},
	OpChangePassword: {
		firstStep: dedicatedPassword,
	},
	OpAddIP: {
		firstStep:  addIP,
		"save_ips": saveIPs,
	},
	OpRemoveIP: {
		firstStep:  removeIP,
		"save_ips": saveIPs,
	},
	OpReinstall: {
		firstStep:          reinstallStart,
		"reinstall_wait":   reinstallWait,
		"reinstall_finish": reinstallFinish,
	},
}

// ServerDescriber is optionally implemented by a DedicatedBackend whose
// GetServer leaves out details that cost extra panel calls (switch port,
// IPMI address, MAC): the engine calls DescribeServer once, when it saves
// the server's properties on the service, instead of GetServer.
type ServerDescriber interface {
	DescribeServer(ctx context.Context, id string) (Server, error)
}

// target is the module, backend and pool an operation works with.
type target struct {
	mod  *billing.Module
	b    DedicatedBackend
	pool IPPool // nil without an IPmanager link
}

// swaps reports whether Open swaps the parking address for a public one.
func (t target) swaps() bool {
	l := t.mod.IPManager
	return t.pool != nil && l != nil && !l.NeverChangeIPs && l.ParkingGroup != ""
}

// dedicatedModules are the tariff's modules with a dedicated backend, in
// Catalog.SelectModules order.
func (e *Engine) dedicatedModules(t *billing.Tariff) []*billing.Module {
	return e.modulesWith(t, KindDedicated)
}

func (e *Engine) target(m *billing.Module) target {
	tg := target{mod: m, b: e.cfg.Dedicated[m.Name]}
	if m.IPManager != nil {
		tg.pool = e.cfg.IPPools[m.Name]
	}
	return tg
}

// openTarget is the module Open currently works with (Data[module_index]).
func (r *run) openTarget(ctx context.Context) (target, *billing.Tariff, *Service, error) {
	t, svc, err := r.loadTariff(ctx)
	if err != nil {
		return target{}, nil, nil, err
	}
	mods := r.e.dedicatedModules(t)
	idx, _ := strconv.Atoi(r.op.Data[dModIdx])
	if idx >= len(mods) {
		return target{}, t, svc, permanent(fmt.Errorf("module index %d out of range", idx))
	}
	return r.e.target(mods[idx]), t, svc, nil
}

// openOrder is openTarget with the order resolved against the tariff (OS,
// recipe, extra addresses).
func (r *run) openOrder(ctx context.Context) (target, billing.ResolvedOrder, error) {
	tg, t, _, err := r.openTarget(ctx)
	if err != nil {
		return target{}, billing.ResolvedOrder{}, err
	}
	ro, err := r.resolved(t)
	return tg, ro, err
}

// serviceTarget is the module of an opened service.
func (r *run) serviceTarget(ctx context.Context) (target, *Service, error) {
	svc, err := r.e.store.GetService(ctx, r.op.ServiceID)
	if err != nil {
		return target{}, nil, err
	}
	m, err := r.e.cfg.Catalog.Module(svc.Module)
	if err != nil {
		return target{}, nil, permanent(fmt.Errorf("module %q: %w", svc.Module, err))
	}
	tg := r.e.target(m)
	if tg.b == nil {
		return target{}, nil, permanent(fmt.Errorf("module %q: %w", svc.Module, ErrNoBackend))
	}
	if svc.Properties[PropServerID] == "" {
		return target{}, nil, permanent(fmt.Errorf("service %s has no server: %w", svc.ID, ErrServiceState))
	}
	return tg, svc, nil
}

// server reads server id from the target's panel (the id is kept as asked).
func (tg target) server(ctx context.Context, id string) (Server, error) {
	s, err := tg.b.GetServer(ctx, id)
	if err != nil {
		return Server{}, err
	}
	s.ID = id
	return s, nil
}

// openServer loads the Open target and reads the server the operation
// works on (Data[server]).
func (r *run) openServer(ctx context.Context) (target, Server, error) {
	tg, _, _, err := r.openTarget(ctx)
	if err != nil {
		return target{}, Server{}, err
	}
	s, err := tg.server(ctx, r.op.Data[dServer])
	return tg, s, err
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

// The ensure* helpers act only when the server's state (as just read)
// differs from the wanted one, which keeps the steps idempotent.

// ensureOwner makes user (empty: nobody) the server's owner.
func ensureOwner(ctx context.Context, b DedicatedBackend, s Server, user string) error {
	if s.OwnerID == user {
		return nil
	}
	return b.SetOwner(ctx, s.ID, user)
}

// ensureDomain sets the server's domain (hostname).
func ensureDomain(ctx context.Context, b DedicatedBackend, s Server, domain string) error {
	if s.Hostname == domain {
		return nil
	}
	return b.SetDomain(ctx, s.ID, domain)
}

// ensureEnabled enables (on) or disables the server.
func ensureEnabled(ctx context.Context, b DedicatedBackend, s Server, on bool) error {
	switch {
	case on && s.Disabled:
		return b.Enable(ctx, s.ID)
	case !on && !s.Disabled:
		return b.Disable(ctx, s.ID)
	}
	return nil
}

// ensurePowered switches the server on.
func ensurePowered(ctx context.Context, b DedicatedBackend, s Server) error {
	if s.PoweredOn {
		return nil
	}
	return b.PowerOn(ctx, s.ID)
}

// allocate returns the address of pool carrying note, or allocates one
// with that note (a retry after a crash finds its earlier allocation).
func allocate(ctx context.Context, pool IPPool, family, group, domain, note, what string) (string, error) {
	found, err := pool.FindByNote(ctx, note)
	if err != nil {
		return "", err
	}
	if len(found) > 0 {
		return found[0], nil
	}
	ip, err := pool.Allocate(ctx, family, group, domain, note)
	if err != nil {
		return "", fmt.Errorf("allocate %s address: %w", what, err)
	}
	return ip, nil
}

// snapshotIPs lists the addresses of ips.
func snapshotIPs(ips []ServerIP) string {
	var base []string
	for _, x := range ips {
		base = append(base, x.IP)
	}
	return strings.Join(base, ",")
}

func (r *run) resolved(t *billing.Tariff) (billing.ResolvedOrder, error) {
	opts, err := billing.ParseOrderOptions(optionsFromInput(r.op.Input))
	if err != nil {
		return billing.ResolvedOrder{}, permanent(err)
	}
	ro, err := t.Resolve(opts)
	if err != nil {
		return billing.ResolvedOrder{}, permanent(err)
	}
	return ro, nil
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
		return "", reqErr("Domain", "required: the service id cannot form a domain")
	}
	return b.String() + ".domain", nil
}

func (r *run) inputInt(key string) int64 {
	n, _ := strconv.ParseInt(r.op.Input[key], 10, 64)
	return n
}

// ---- Open ----

func openStart(ctx context.Context, r *run) (string, error) { return r.startOpen(ctx, "user") }

func openUser(ctx context.Context, r *run) (string, error) {
	tg, _, svc, err := r.openTarget(ctx)
	if err != nil {
		return "", err
	}
	name := billing.SanitizeUsername(svc.Owner)
	id, found, err := tg.b.FindUser(ctx, name)
	if err != nil {
		return "", err
	}
	if !found {
		id, err = tg.b.CreateUser(ctx, name, r.op.Input[inPassword])
		if err != nil {
			// Created meanwhile by a concurrent order of the same customer?
			if id2, found2, err2 := tg.b.FindUser(ctx, name); err2 == nil && found2 {
				id, err = id2, nil
			} else {
				return "", fmt.Errorf("create panel user: %w", err)
			}
		}
	}
	admin, err := tg.b.AdminUserID(ctx)
	if err != nil {
		return "", err
	}
	r.op.Data[dModule] = tg.mod.Name
	r.op.Data[dUserName] = name
	r.op.Data[dUserID] = id
	r.op.Data[dAdminID] = admin
	return "pick", nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func openPick(ctx context.Context, r *run) (string, error) {
	if r.op.Data[dServer] != "" {
		return "claim", nil
	}
	tg, t, _, err := r.openTarget(ctx)
	if err != nil {
		return "", err
	}
	tried := splitList(r.op.Data[dTried])
	res, err := r.e.store.Reservations(ctx, tg.mod.Name)
	if err != nil {
		return "", err
	}
	reserved := map[string]bool{}
	for _, rv := range res {
		if rv.OperationID == r.op.ID && !slices.Contains(tried, rv.ServerID) {
			// Reserved by this operation before a crash, not recorded yet.
			if r.op.Data[dServer] == "" {
				r.op.Data[dServer] = rv.ServerID
				continue
			}
			if err := r.e.store.Unreserve(ctx, tg.mod.Name, rv.ServerID, r.op.ID); err != nil {
				return "", err
			}
			continue
		}
		reserved[rv.ServerID] = true
	}
	if r.op.Data[dServer] != "" {
		return "claim", nil
	}
	servers, err := tg.b.ListServers(ctx)
	if err != nil {
		return "", err
	}
	for _, s := range servers {
		if !s.Available(t.ServerConfig) || reserved[s.ID] || slices.Contains(tried, s.ID) {
			continue
		}
		err := r.e.store.Reserve(ctx, Reservation{Backend: tg.mod.Name, ServerID: s.ID, OperationID: r.op.ID, ServiceID: r.op.ServiceID, CreatedAt: time.Now()})
		if errors.Is(err, ErrReserved) {
			continue
		}
		if err != nil {
			return "", err
		}
		r.op.Data[dServer] = s.ID
		return "claim", nil
	}
	// No server left in this module: the next module, else give up.
	mods := r.e.dedicatedModules(t)
	idx, _ := strconv.Atoi(r.op.Data[dModIdx])
	if idx+1 < len(mods) {
		r.op.Data[dModIdx] = strconv.Itoa(idx + 1)
		for _, k := range []string{dModule, dUserName, dUserID, dAdminID, dTried} {
			delete(r.op.Data, k)
		}
		return "user", nil
	}
	for _, m := range mods {
		if ok, reason := billing.OnConfigUnavailable(t, m); ok {
			r.op.Data[dModule] = m.Name
			r.manualTask(m, reason)
			return "manual", nil
		}
	}
	r.cause = fmt.Errorf("tariff %d (%s): %w", t.ID, t.ServerConfig, ErrNoServer)
	r.op.Data[dError] = r.cause.Error()
	return stepFail, nil
}

// openManual leaves the service in Processing for the department.
func openManual(ctx context.Context, r *run) (string, error) {
	_, err := r.updateService(ctx, func(s *Service) error {
		s.Module = r.op.Data[dModule]
		s.Properties[PropManualTask] = r.op.Data[dManual]
		return r.transition(s, billing.StatusProcessing)
	})
	if err != nil {
		return "", err
	}
	return stepDone, nil
}

// abandonServer forgets a server that turned out to be taken outside the
// engine (no roll-back: it is not ours).
func (r *run) abandonServer(ctx context.Context, tg target) (string, error) {
	srv := r.op.Data[dServer]
	if err := r.e.store.Unreserve(ctx, tg.mod.Name, srv, r.op.ID); err != nil {
		return "", err
	}
	r.op.Data[dTried] = strings.Join(append(splitList(r.op.Data[dTried]), srv), ",")
	clearServerData(r.op.Data)
	return "pick", nil
}

func clearServerData(d map[string]string) {
	for _, k := range []string{dServer, dDomain, dBaseIPs, dExtraIPs, dPublicIP, dParkingIP, dPubAdded, dParkRemoved, dParkDone, dInstalling, dFailReason, "park_new", "install_percent"} {
		delete(d, k)
	}
}

func openClaim(ctx context.Context, r *run) (string, error) {
	tg, s, err := r.openServer(ctx)
	if err != nil {
		return "", err
	}
	admin := r.op.Data[dAdminID]
	if s.OwnerID != admin && (s.OwnerID != "" || s.Hostname != FreeHostname) {
		return r.abandonServer(ctx, tg) // taken outside the engine
	}
	if err := ensureOwner(ctx, tg.b, s, admin); err != nil {
		return "", err
	}
	return "domain", ensureEnabled(ctx, tg.b, s, true)
}

func openDomain(ctx context.Context, r *run) (string, error) {
	tg, t, svc, err := r.openTarget(ctx)
	if err != nil {
		return "", err
	}
	domain := r.op.Data[dDomain]
	if domain == "" {
		domain, err = serverDomain(t, svc.ID, svc.Owner, r.op.Input[inDomain], svc.AccountID)
		if err != nil {
			return "", permanent(err)
		}
		r.op.Data[dDomain] = domain
	}
	s, err := tg.server(ctx, r.op.Data[dServer])
	if err != nil {
		return "", err
	}
	if err := ensureDomain(ctx, tg.b, s, domain); err != nil {
		return "", err
	}
	if tg.swaps() {
		return "ip_swap", nil
	}
	return "extra_ips", nil
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

// openIPSwap replaces the parking address by a public one from IPmanager.
// The parking address is the server's main address, and a panel keeps a
// server's only address, so the public address is added first and the
// parking one removed after it (the panel then makes the public address
// the main one). Each sub-step is checkpointed in Data: the allocation
// (found again by its note after a crash), the public address on the
// server, the parking address off the server, the parking address's
// release to IPmanager.
func openIPSwap(ctx context.Context, r *run) (string, error) {
	tg, _, _, err := r.openTarget(ctx)
	if err != nil {
		return "", err
	}
	srv, domain := r.op.Data[dServer], r.op.Data[dDomain]
	if r.op.Data[dPublicIP] == "" {
		ips, err := tg.b.ListIPs(ctx, srv)
		if err != nil {
			return "", err
		}
		pub, err := allocate(ctx, tg.pool, "ipv4", tg.mod.IPManager.IPGroup(), domain, r.op.ID+"/"+srv+"/main", "public")
		if err != nil {
			return "", err
		}
		r.op.Data[dPublicIP] = pub
		if m, ok := mainIP(ips); ok && m.IP != pub {
			r.op.Data[dParkingIP] = m.IP
		}
		return "ip_swap", nil // checkpoint the allocation
	}
	if r.op.Data[dParkDone] != "" {
		return "extra_ips", nil
	}
	pub, park := r.op.Data[dPublicIP], r.op.Data[dParkingIP]
	switch {
	case r.op.Data[dPubAdded] == "":
		ips, err := tg.b.ListIPs(ctx, srv)
		if err != nil {
			return "", err
		}
		if _, ok := findIP(ips, pub); !ok {
			if _, err := tg.b.AddIP(ctx, srv, "ipv4", tg.mod.IPManager.IPGroup(), pub, domain); err != nil {
				return "", fmt.Errorf("add public address %s: %w", pub, err)
			}
		}
		r.op.Data[dPubAdded] = "1"
		return "ip_swap", nil // checkpoint: the public address is on the server
	case r.op.Data[dParkRemoved] == "":
		if park != "" {
			ips, err := tg.b.ListIPs(ctx, srv)
			if err != nil {
				return "", err
			}
			if p, ok := findIP(ips, park); ok {
				// The panel, not the checkpoint, says whether the public
				// address is there: if it went missing since it was
				// recorded, put it back before the parking one goes.
				if _, ok := findIP(ips, pub); !ok {
					if _, err := tg.b.AddIP(ctx, srv, "ipv4", tg.mod.IPManager.IPGroup(), pub, domain); err != nil {
						return "", fmt.Errorf("add public address %s: %w", pub, err)
					}
				}
				if err := tg.b.RemoveIP(ctx, srv, p.ID); err != nil {
					return "", fmt.Errorf("remove parking address %s: %w", park, err)
				}
			}
		}
		r.op.Data[dParkRemoved] = "1"
		return "ip_swap", nil // checkpoint: the parking address is off the server
	}
	if park != "" {
		if err := tg.pool.Release(ctx, park); err != nil {
			return "", err
		}
	}
	r.op.Data[dParkDone] = "1"
	return "extra_ips", nil
}

// openExtraIPs adds the ordered additional IPv4 and IPv6 addresses, one
// checkpoint per address. Without IPmanager the panel allocates them, and
// addresses not in the snapshot taken first are counted as already added.
func openExtraIPs(ctx context.Context, r *run) (string, error) {
	tg, ro, err := r.openOrder(ctx)
	if err != nil {
		return "", err
	}
	if ro.ExtraIPv4+ro.ExtraIPv6 == 0 {
		return "ports_on", nil
	}
	srv, domain := r.op.Data[dServer], r.op.Data[dDomain]
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return "", err
	}
	if _, ok := r.op.Data[dBaseIPs]; !ok {
		r.op.Data[dBaseIPs] = snapshotIPs(ips)
		return "extra_ips", nil // checkpoint the snapshot
	}
	base := splitList(r.op.Data[dBaseIPs])
	var added []string
	count := map[string]int{}
	for _, x := range ips {
		if !slices.Contains(base, x.IP) {
			added = append(added, x.IP)
			count[familyOf(x.IP)]++
		}
	}
	r.op.Data[dExtraIPs] = strings.Join(added, ",")
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
			if ip, err = allocate(ctx, tg.pool, want.family, tg.mod.IPManager.IPGroup(), domain, note, want.family); err != nil {
				return "", err
			}
		}
		got, err := tg.b.AddIP(ctx, srv, want.family, ro.IPGroup, ip, domain)
		if err != nil {
			return "", fmt.Errorf("add %s address: %w", want.family, err)
		}
		r.op.Data[dExtraIPs] = strings.Join(append(added, got.IP), ",")
		return "extra_ips", nil // checkpoint each address
	}
	return "ports_on", nil
}

func openPortsOn(ctx context.Context, r *run) (string, error) {
	tg, _, _, err := r.openTarget(ctx)
	if err != nil {
		return "", err
	}
	if err := tg.b.SetPorts(ctx, r.op.Data[dServer], true); err != nil {
		return "", err
	}
	return "power_on", nil
}

func openPowerOn(ctx context.Context, r *run) (string, error) {
	tg, s, err := r.openServer(ctx)
	if err != nil {
		return "", err
	}
	return "wait_power", ensurePowered(ctx, tg.b, s)
}

func openWaitPower(ctx context.Context, r *run) (string, error) {
	tg, _, _, err := r.openTarget(ctx)
	if err != nil {
		return "", err
	}
	err = r.pollUntil(ctx, r.e.cfg.PowerTimeout, "power on", func(ctx context.Context) (bool, error) {
		s, err := tg.b.GetServer(ctx, r.op.Data[dServer])
		return err == nil && s.PoweredOn, err
	})
	if err != nil {
		return "", err
	}
	return "install", nil
}

func openInstall(ctx context.Context, r *run) (string, error) {
	tg, ro, err := r.openOrder(ctx)
	if err != nil {
		return "", err
	}
	if err := startInstall(ctx, r, tg.b, r.op.Data[dServer], InstallSpec{
		Template: ro.OSTemplate, Recipe: ro.Recipe, Password: r.op.Input[inPassword], Hostname: r.op.Data[dDomain],
	}); err != nil {
		return "", err
	}
	return "wait_install", nil
}

// startInstall starts an install unless one is running (started before a
// crash that hid the record).
func startInstall(ctx context.Context, r *run, b DedicatedBackend, srv string, spec InstallSpec) error {
	if r.op.Data[dInstalling] != "" {
		return nil
	}
	st, err := b.InstallStatus(ctx, srv)
	if err != nil {
		return err
	}
	if !st.Running {
		if err := b.Install(ctx, srv, spec); err != nil {
			return fmt.Errorf("start OS install: %w", err)
		}
	}
	r.op.Data[dInstalling] = time.Now().UTC().Format(time.RFC3339)
	return nil
}

// waitInstall waits for the install to finish (or, with dontWait, only
// checks that it has not failed), reporting progress.
func waitInstall(ctx context.Context, r *run, b DedicatedBackend, srv string, dontWait bool) error {
	last := -2
	return r.pollUntil(ctx, r.e.cfg.InstallTimeout, "OS install", func(ctx context.Context) (bool, error) {
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
		if pct != last {
			last = pct
			r.e.emit(Event{Type: EventInstallProgress, OperationID: r.op.ID, ServiceID: r.op.ServiceID, Kind: r.op.Kind, Step: r.op.Step, Module: r.op.Data[dModule], ServerID: srv, Percent: pct})
		}
		return dontWait || !st.Running, nil
	})
}

func openWaitInstall(ctx context.Context, r *run) (string, error) {
	tg, t, _, err := r.openTarget(ctx)
	if err != nil {
		return "", err
	}
	if err := waitInstall(ctx, r, tg.b, r.op.Data[dServer], t.DontWaitInstall); err != nil {
		return "", err
	}
	if t.DontWaitInstall {
		// The OS is still installing: nothing answers yet.
		return "transfer", nil
	}
	return "reachable", nil
}

func openReachable(ctx context.Context, r *run) (string, error) {
	tg, _, _, err := r.openTarget(ctx)
	if err != nil {
		return "", err
	}
	var last error
	err = r.pollUntil(ctx, r.e.cfg.ReachTimeout, "reachability check", func(ctx context.Context) (bool, error) {
		s, err := tg.b.GetServer(ctx, r.op.Data[dServer])
		if err != nil {
			return false, err
		}
		last = r.e.cfg.Reachability(ctx, s)
		return last == nil, nil
	})
	if err != nil {
		if last != nil {
			return "", serverFailed("server does not answer: %v", last)
		}
		return "", err
	}
	return "transfer", nil
}

func openTransfer(ctx context.Context, r *run) (string, error) {
	tg, s, err := r.openServer(ctx)
	if err != nil {
		return "", err
	}
	return "activate", ensureOwner(ctx, tg.b, s, r.op.Data[dUserID])
}

func openActivate(ctx context.Context, r *run) (string, error) {
	tg, ro, err := r.openOrder(ctx)
	if err != nil {
		return "", err
	}
	srv := r.op.Data[dServer]
	var s Server
	if d, ok := tg.b.(ServerDescriber); ok {
		s, err = d.DescribeServer(ctx, srv)
	} else {
		s, err = tg.b.GetServer(ctx, srv)
	}
	if err != nil {
		return "", err
	}
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return "", err
	}
	mainAddr, extras := s.IP, []string{}
	if m, ok := mainIP(ips); ok {
		mainAddr = m.IP
	}
	if pub := r.op.Data[dPublicIP]; pub != "" {
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
		p[PropIPs] = strings.Join(extras, ",")
		p[PropLogin] = r.op.Data[dUserName]
		p[PropUserID] = r.op.Data[dUserID]
		p[PropDomain] = r.op.Data[dDomain]
		p[PropSwitchPort] = s.SwitchPort
		p[PropIPMI] = s.IPMIAddress
		p[PropMAC] = s.MAC
		p[PropOS] = ro.OSTemplate
		p[PropRecipe] = ro.Recipe
		p[PropReservation] = r.op.ID
		if r.op.Data[dPublicIP] != "" {
			p[PropIPManaged] = "1"
		}
		return r.transition(svc, billing.StatusActive)
	})
	if err != nil {
		return "", err
	}
	return stepDone, nil
}

// ---- roll-back of a failed server (Open) ----

// rbIPs removes the additional addresses this operation added.
func rbIPs(ctx context.Context, r *run) (string, error) {
	tg, _, _, err := r.openTarget(ctx)
	if err != nil {
		return "", err
	}
	base, ok := r.op.Data[dBaseIPs]
	if !ok {
		return "rb_parking", nil
	}
	srv := r.op.Data[dServer]
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return "", err
	}
	release := splitList(r.op.Data[dExtraIPs])
	for _, x := range ips {
		if slices.Contains(splitList(base), x.IP) || x.Main {
			continue
		}
		if err := tg.b.RemoveIP(ctx, srv, x.ID); err != nil {
			return "", err
		}
		release = append(release, x.IP)
	}
	if tg.pool != nil {
		// Also what was allocated but never (or no longer) on the server:
		// the allocations are found by their notes.
		t, err := r.resolved(r.tariff)
		if err != nil {
			return "", err
		}
		for _, f := range []struct {
			family string
			n      int
		}{{"ipv4", t.ExtraIPv4}, {"ipv6", t.ExtraIPv6}} {
			for i := range f.n {
				found, err := tg.pool.FindByNote(ctx, fmt.Sprintf("%s/%s/%s/%d", r.op.ID, srv, f.family, i))
				if err != nil {
					return "", err
				}
				release = append(release, found...)
			}
		}
		for _, ip := range release {
			if err := tg.pool.Release(ctx, ip); err != nil {
				return "", err
			}
		}
	}
	return "rb_parking", nil
}

func rbParking(ctx context.Context, r *run) (string, error) {
	tg, _, _, err := r.openTarget(ctx)
	if err != nil {
		return "", err
	}
	if r.op.Data[dPublicIP] == "" || tg.pool == nil {
		return "rb_domain", nil
	}
	if park := r.op.Data[dParkingIP]; park != "" && r.op.Data[dParkDone] == "" {
		ips, err := tg.b.ListIPs(ctx, r.op.Data[dServer])
		if err != nil {
			return "", err
		}
		if _, on := findIP(ips, park); !on {
			// The parking address left the server but its release is not
			// recorded: finish it; the server gets a new parking address.
			if err := tg.pool.Release(ctx, park); err != nil {
				return "", err
			}
			r.op.Data[dParkDone] = "1"
			return "rb_parking", nil // checkpoint the release
		}
	}
	return parkBack(ctx, r, tg, r.op.Data[dServer], r.op.Data[dPublicIP], r.op.Data[dParkDone] == "", r.op.Data[dParkingIP], "rb_parking", "rb_domain")
}

// parkBack gives the server a parking address again and returns its
// public one to IPmanager. When the original parking address is still on
// the server (keepOld) only the public address is removed.
func parkBack(ctx context.Context, r *run, tg target, srv, public string, keepOld bool, oldParking, self, next string) (string, error) {
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return "", err
	}
	_, oldThere := findIP(ips, oldParking)
	if !(keepOld && oldThere && oldParking != "") {
		park := r.op.Data["park_new"]
		if park == "" {
			park, err = allocate(ctx, tg.pool, "ipv4", tg.mod.IPManager.ParkingGroup, FreeHostname, r.op.ID+"/"+srv+"/parking", "parking")
			if err != nil {
				return "", err
			}
			r.op.Data["park_new"] = park
			return self, nil // checkpoint the allocation
		}
		if _, ok := findIP(ips, park); !ok {
			if _, err := tg.b.AddIP(ctx, srv, "ipv4", tg.mod.IPManager.ParkingGroup, park, FreeHostname); err != nil {
				return "", err
			}
		}
	}
	if x, ok := findIP(ips, public); ok {
		if err := tg.b.RemoveIP(ctx, srv, x.ID); err != nil {
			return "", err
		}
	}
	if err := tg.pool.Release(ctx, public); err != nil {
		return "", err
	}
	return next, nil
}

func rbDomain(ctx context.Context, r *run) (string, error) {
	tg, s, err := r.openServer(ctx)
	if err != nil {
		return "", err
	}
	return "rb_notes", ensureDomain(ctx, tg.b, s, FreeHostname)
}

func rbNotes(ctx context.Context, r *run) (string, error) {
	tg, _, _, err := r.openTarget(ctx)
	if err != nil {
		return "", err
	}
	note := fmt.Sprintf("ispkit: not sold (operation %s, service %s): %s", r.op.ID, r.op.ServiceID, r.op.Data[dFailReason])
	if err := tg.b.SetNotes(ctx, r.op.Data[dServer], note); err != nil {
		// A panel without server notes (DCImanager 6 without a notes sink)
		// must not stop the rollback: the reason stays in the operation.
		if !errors.Is(err, ErrUnsupported) {
			return "", err
		}
		r.log.LogAttrs(ctx, slog.LevelWarn, "server notes not supported; reason kept in the operation",
			slog.String("op", r.op.ID), slog.String("server", r.op.Data[dServer]))
	}
	return "rb_disable", nil
}

// rbDisable blocks the server. Its owner stays the integration's admin
// ("the owner will not change"), so it is not offered for sale until an
// operator clears it.
func rbDisable(ctx context.Context, r *run) (string, error) {
	tg, s, err := r.openServer(ctx)
	if err != nil {
		return "", err
	}
	if s.OwnerID == r.op.Data[dUserID] || s.OwnerID == "" {
		// Ours to take back (an owner set outside the engine stays).
		if err := ensureOwner(ctx, tg.b, s, r.op.Data[dAdminID]); err != nil {
			return "", err
		}
	}
	return "rb_release", ensureEnabled(ctx, tg.b, s, false)
}

// rbRelease drops the reservation (the panel state now keeps the server
// out of sale) and goes on with the next server.
func rbRelease(ctx context.Context, r *run) (string, error) {
	tg, _, _, err := r.openTarget(ctx)
	if err != nil {
		return "", err
	}
	srv := r.op.Data[dServer]
	if err := r.e.store.Unreserve(ctx, tg.mod.Name, srv, r.op.ID); err != nil {
		return "", err
	}
	reason := r.op.Data[dFailReason]
	r.op.Data[dTried] = strings.Join(append(splitList(r.op.Data[dTried]), srv), ",")
	r.op.Data["last_failure"] = srv + ": " + reason
	failures, _ := strconv.Atoi(r.op.Data[dFailures])
	failures++
	r.op.Data[dFailures] = strconv.Itoa(failures)
	clearServerData(r.op.Data)
	if r.op.Data[dAbort] != "" {
		r.op.Data[dError] = reason
		return stepFail, nil
	}
	if limit := r.e.cfg.MaxServerFailures; limit > 0 && failures >= limit {
		r.cause = fmt.Errorf("%w: %d servers failed (Config.MaxServerFailures %d); the last, server %s: %s",
			ErrTooManyFailures, failures, limit, srv, reason)
		r.op.Data[dError] = r.cause.Error()
		return stepFail, nil
	}
	return "pick", nil
}

// ---- Close ----

func closeStart(ctx context.Context, r *run) (string, error) {
	svc, err := r.e.store.GetService(ctx, r.op.ServiceID)
	if err != nil {
		return "", err
	}
	if svc.Status == billing.StatusDeleted {
		return stepDone, nil
	}
	if svc.Properties[PropServerID] == "" {
		return "close_finish", nil
	}
	return "close_disable", nil
}

func closeDisable(ctx context.Context, r *run) (string, error) {
	tg, s, err := r.serviceServer(ctx)
	if err != nil {
		return "", err
	}
	return "close_ips", ensureEnabled(ctx, tg.b, s, false)
}

func closeIPs(ctx context.Context, r *run) (string, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return "", err
	}
	srv := svc.Properties[PropServerID]
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return "", err
	}
	// The recorded extras are released too: one may have left the server
	// before a crash hid its release.
	release := splitList(svc.Properties[PropIPs])
	for _, x := range ips {
		if x.Main {
			continue
		}
		if err := tg.b.RemoveIP(ctx, srv, x.ID); err != nil {
			return "", err
		}
		if !slices.Contains(release, x.IP) {
			release = append(release, x.IP)
		}
	}
	if tg.pool != nil {
		for _, ip := range release {
			if err := tg.pool.Release(ctx, ip); err != nil {
				return "", err
			}
		}
	}
	return "close_parking", nil
}

func closeParking(ctx context.Context, r *run) (string, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return "", err
	}
	if svc.Properties[PropIPManaged] == "" || tg.pool == nil || tg.mod.IPManager == nil || tg.mod.IPManager.ParkingGroup == "" {
		return "close_domain", nil
	}
	return parkBack(ctx, r, tg, svc.Properties[PropServerID], svc.Properties[PropIP], false, "", "close_parking", "close_domain")
}

func closeDomain(ctx context.Context, r *run) (string, error) {
	tg, s, err := r.serviceServer(ctx)
	if err != nil {
		return "", err
	}
	return "close_owner", ensureDomain(ctx, tg.b, s, FreeHostname)
}

func closeOwner(ctx context.Context, r *run) (string, error) {
	tg, s, err := r.serviceServer(ctx)
	if err != nil {
		return "", err
	}
	return "close_release", ensureOwner(ctx, tg.b, s, "")
}

func closeRelease(ctx context.Context, r *run) (string, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return "", err
	}
	if err := r.e.store.Unreserve(ctx, tg.mod.Name, svc.Properties[PropServerID], svc.Properties[PropReservation]); err != nil {
		return "", err
	}
	return "close_finish", nil
}

func closeFinish(ctx context.Context, r *run) (string, error) {
	_, err := r.updateService(ctx, func(s *Service) error {
		// The extra addresses went back to the panel / IPmanager.
		delete(s.Properties, PropIPs)
		return r.transition(s, billing.StatusDeleted)
	})
	if err != nil {
		return "", err
	}
	return stepDone, nil
}

// ---- Suspend, Unsuspend, ChangePassword ----

func setPorts(ctx context.Context, r *run, on bool, status billing.Status) (string, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return "", err
	}
	if err := tg.b.SetPorts(ctx, svc.Properties[PropServerID], on); err != nil {
		return "", err
	}
	if _, err := r.updateService(ctx, func(s *Service) error { return r.transition(s, status) }); err != nil {
		return "", err
	}
	return stepDone, nil
}

func dedicatedPassword(ctx context.Context, r *run) (string, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return "", err
	}
	if err := tg.b.SetUserPassword(ctx, svc.Properties[PropUserID], r.op.Input[inPassword]); err != nil {
		return "", err
	}
	return stepDone, nil
}

// ---- AddIP, RemoveIP ----

func addIP(ctx context.Context, r *run) (string, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return "", err
	}
	srv := svc.Properties[PropServerID]
	family := r.op.Input[inFamily]
	if family == "" {
		family = familyOf(r.op.Input[inIP])
		if r.op.Input[inIP] == "" {
			family = "ipv4"
		}
	}
	if r.op.Data[dIP] == "" && r.op.Input[inIP] != "" {
		r.op.Data[dIP] = r.op.Input[inIP]
	}
	if r.op.Data[dIP] == "" && tg.pool != nil {
		ip, err := allocate(ctx, tg.pool, family, tg.mod.IPManager.IPGroup(), svc.Properties[PropDomain], r.op.ID+"/"+srv+"/add", family)
		if err != nil {
			return "", err
		}
		r.op.Data[dIP] = ip
		return firstStep, nil // checkpoint the allocation
	}
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return "", err
	}
	if r.op.Data[dIP] == "" {
		if _, ok := r.op.Data[dBaseIPs]; !ok {
			r.op.Data[dBaseIPs] = snapshotIPs(ips)
			return firstStep, nil // checkpoint the snapshot
		}
		for _, x := range ips {
			if !slices.Contains(splitList(r.op.Data[dBaseIPs]), x.IP) && familyOf(x.IP) == family {
				r.op.Data[dIP] = x.IP // added before a crash
				return "save_ips", nil
			}
		}
	} else if _, ok := findIP(ips, r.op.Data[dIP]); ok {
		return "save_ips", nil
	}
	group := billing.DefaultIPGroup
	if t, err := r.e.cfg.Catalog.Tariff(svc.TariffID); err == nil {
		group = t.EffectiveIPGroup()
	}
	got, err := tg.b.AddIP(ctx, srv, family, group, r.op.Data[dIP], svc.Properties[PropDomain])
	if err != nil {
		return "", err
	}
	r.op.Data[dIP] = got.IP
	return "save_ips", nil
}

func removeIP(ctx context.Context, r *run) (string, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return "", err
	}
	srv, ip := svc.Properties[PropServerID], r.op.Input[inIP]
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return "", err
	}
	if x, ok := findIP(ips, ip); ok {
		if x.Main {
			return "", permanent(reqErr("IP", "is the server's main address"))
		}
		if err := tg.b.RemoveIP(ctx, srv, x.ID); err != nil {
			return "", err
		}
	} else if !slices.Contains(splitList(svc.Properties[PropIPs]), ip) {
		return "", permanent(reqErr("IP", "is not an address of the server"))
	}
	if tg.pool != nil {
		if err := tg.pool.Release(ctx, ip); err != nil {
			return "", err
		}
	}
	return "save_ips", nil
}

func saveIPs(ctx context.Context, r *run) (string, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return "", err
	}
	ips, err := tg.b.ListIPs(ctx, svc.Properties[PropServerID])
	if err != nil {
		return "", err
	}
	var extras []string
	for _, x := range ips {
		if !x.Main && x.IP != svc.Properties[PropIP] {
			extras = append(extras, x.IP)
		}
	}
	if _, err := r.updateService(ctx, func(s *Service) error {
		s.Properties[PropIPs] = strings.Join(extras, ",")
		return nil
	}); err != nil {
		return "", err
	}
	return stepDone, nil
}

// ---- Reinstall ----

func (r *run) reinstallSpec(svc *Service) InstallSpec {
	tmpl, recipe := r.op.Input[inOS], r.op.Input[inRecipe]
	if tmpl == "" {
		tmpl = svc.Properties[PropOS]
		if recipe == "" {
			recipe = svc.Properties[PropRecipe]
		}
	}
	if recipe == "" {
		recipe = billing.DefaultRecipe
	}
	return InstallSpec{Template: tmpl, Recipe: recipe, Password: r.op.Input[inPassword], Hostname: svc.Properties[PropDomain]}
}

func reinstallStart(ctx context.Context, r *run) (string, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return "", err
	}
	if err := startInstall(ctx, r, tg.b, svc.Properties[PropServerID], r.reinstallSpec(svc)); err != nil {
		return "", err
	}
	return "reinstall_wait", nil
}

func reinstallWait(ctx context.Context, r *run) (string, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return "", err
	}
	dontWait := false
	if t, err := r.e.cfg.Catalog.Tariff(svc.TariffID); err == nil {
		dontWait = t.DontWaitInstall
	}
	if err := waitInstall(ctx, r, tg.b, svc.Properties[PropServerID], dontWait); err != nil {
		var sf *serverFailure
		if errors.As(err, &sf) {
			return "", permanent(errors.New(sf.reason))
		}
		return "", err
	}
	return "reinstall_finish", nil
}

func reinstallFinish(ctx context.Context, r *run) (string, error) {
	spec := InstallSpec{}
	_, err := r.updateService(ctx, func(s *Service) error {
		spec = r.reinstallSpec(s)
		s.Properties[PropOS] = spec.Template
		s.Properties[PropRecipe] = spec.Recipe
		return nil
	})
	if err != nil {
		return "", err
	}
	return stepDone, nil
}
