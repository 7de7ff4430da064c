package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ispkit/ispkit/billing"
)

// The operations on an opened dedicated server: Suspend and Unsuspend
// (switch ports; the server keeps running), ChangePassword, AddIP,
// RemoveIP and Reinstall.

func suspendStart(context.Context, *run, *DedicatedState) (step, error)   { return sPortsOff, nil }
func unsuspendStart(context.Context, *run, *DedicatedState) (step, error) { return sUnblock, nil }

// Suspend is true: the service becomes Suspended only once the switch
// ports read back as off (with a backend that can read them), and, with
// the module's BlockOnSuspend, the server is blocked too. Unsuspend is
// symmetric: unblocked, ports on and read back on, then Active.

func suspendPortsOff(ctx context.Context, r *run, _ *DedicatedState) (step, error) {
	return sPortsOffWait, switchPorts(ctx, r, false)
}

// switchPorts switches the service's server's ports on or off.
func switchPorts(ctx context.Context, r *run, on bool) error {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return err
	}
	return tg.b.SetPorts(ctx, svc.Properties[PropServerID], on)
}

func suspendPortsOffWait(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	return sBlock, awaitPorts(ctx, r, d, false)
}

func suspendBlock(ctx context.Context, r *run, _ *DedicatedState) (step, error) {
	tg, s, err := r.serviceServer(ctx)
	if err != nil {
		return step{}, err
	}
	if !tg.mod.BlockOnSuspend {
		return sSuspended, nil
	}
	return sSuspended, ensureEnabled(ctx, tg.b, s, false)
}

func suspendRecord(ctx context.Context, r *run, _ *DedicatedState) (step, error) {
	return recordStatus(ctx, r, billing.StatusSuspended)
}

// unsuspendUnblock enables the server whatever the module's
// BlockOnSuspend says now (it may have changed since the suspension): an
// Active customer's server is enabled.
func unsuspendUnblock(ctx context.Context, r *run, _ *DedicatedState) (step, error) {
	tg, s, err := r.serviceServer(ctx)
	if err != nil {
		return step{}, err
	}
	return sPortsOn, ensureEnabled(ctx, tg.b, s, true)
}

func unsuspendPortsOn(ctx context.Context, r *run, _ *DedicatedState) (step, error) {
	return sPortsOnWait, switchPorts(ctx, r, true)
}

func unsuspendPortsOnWait(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	return sActive, awaitPorts(ctx, r, d, true)
}

func unsuspendRecord(ctx context.Context, r *run, _ *DedicatedState) (step, error) {
	return recordStatus(ctx, r, billing.StatusActive)
}

// awaitPorts waits (PowerTimeout, durable) until every switch port of the
// service's server reads on (or off). A backend that cannot read ports is
// trusted; a server without switch ports cannot be cut off and fails the
// operation.
func awaitPorts(ctx context.Context, r *run, d *DedicatedState, on bool) error {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return err
	}
	srv := svc.Properties[PropServerID]
	if !tg.b.canReadPorts() {
		return nil
	}
	want := "off"
	if on {
		want = "on"
	}
	return r.await(ctx, "switch ports "+want, &d.Waits.Ports, r.e.cfg.PowerTimeout, func(ctx context.Context) (bool, error) {
		st, err := tg.b.SwitchPortStatus(ctx, srv)
		if err != nil {
			return false, err
		}
		if st.On+st.Off+st.Busy == 0 {
			return false, permanent(fmt.Errorf("server %s has no switch port: its network cannot be switched %s", srv, want))
		}
		if on {
			return st.Off+st.Busy == 0, nil
		}
		return st.On+st.Busy == 0, nil
	})
}

func recordStatus(ctx context.Context, r *run, status billing.Status) (step, error) {
	if _, err := r.updateService(ctx, func(s *Service) error { return r.transition(s, status) }); err != nil {
		return step{}, err
	}
	return stepDone, nil
}

func changePassword(ctx context.Context, r *run, _ *DedicatedState) (step, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return step{}, err
	}
	req, _ := r.req.(ChangePasswordRequest)
	if err := tg.b.SetUserPassword(ctx, svc.Properties[PropUserID], req.Password); err != nil {
		return step{}, err
	}
	return stepDone, nil
}

// addIPStart allocates the address in IPmanager (note "<op>/<server>/add",
// found again after a crash) and adds it to the server. Without IPmanager
// the panel chooses: a snapshot of the server's addresses taken first
// tells an address added before a crash.
func addIPStart(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return step{}, err
	}
	req, _ := r.req.(AddIPRequest)
	srv, family := svc.Properties[PropServerID], req.family()
	if d.IP == "" && req.IP != "" {
		d.IP = req.IP
	}
	if d.IP == "" && tg.pool != nil {
		ip, err := allocate(ctx, tg.pool, family, tg.mod.IPManager.IPGroup(), svc.Properties[PropDomain], r.op.ID+"/"+srv+"/add", family)
		if err != nil {
			return step{}, err
		}
		d.IP = ip
		return dStart, nil // checkpoint the allocation
	}
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return step{}, err
	}
	if d.IP == "" {
		if !d.BaseTaken {
			d.BaseIPs, d.BaseTaken = addresses(ips), true
			return dStart, nil // checkpoint the snapshot
		}
		for _, x := range ips {
			if !slices.Contains(d.BaseIPs, x.IP) && familyOf(x.IP) == family {
				d.IP = x.IP // added before a crash
				return sSaveIPs, nil
			}
		}
	} else if _, ok := findIP(ips, d.IP); ok {
		return sSaveIPs, nil
	}
	group := billing.DefaultIPGroup
	if t, err := r.e.cfg.Catalog.Tariff(svc.TariffID); err == nil {
		group = t.EffectiveIPGroup()
	}
	got, err := tg.b.AddIP(ctx, srv, family, group, d.IP, svc.Properties[PropDomain])
	if err != nil {
		return step{}, err
	}
	d.IP = got.IP
	return sSaveIPs, nil
}

// addIPRelease returns the address a failed AddIP allocated (note
// "<op>/<server>/add", found by its note whatever the state recorded) when
// it is not on the server, then fails the operation.
func addIPRelease(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err == nil {
		if err := releaseStray(ctx, tg, r.op.ID, svc.Properties[PropServerID], []string{"add"}); err != nil {
			return step{}, err
		}
	}
	return stepFail, nil
}

func removeIPStart(ctx context.Context, r *run, _ *DedicatedState) (step, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return step{}, err
	}
	req, _ := r.req.(RemoveIPRequest)
	srv, ip := svc.Properties[PropServerID], req.IP
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return step{}, err
	}
	if x, ok := findIP(ips, ip); ok {
		if x.Main {
			return step{}, permanent(reqArg(req, "IP", "is the server's main address"))
		}
		if err := tg.b.RemoveIP(ctx, srv, x.ID); err != nil {
			return step{}, err
		}
	} else if !slices.Contains(splitList(svc.Properties[PropIPs]), ip) {
		return step{}, permanent(reqArg(req, "IP", "is not an address of the server"))
	}
	if tg.pool != nil {
		if err := tg.pool.Release(ctx, ip); err != nil {
			return step{}, err
		}
	}
	return sSaveIPs, nil
}

func saveIPs(ctx context.Context, r *run, _ *DedicatedState) (step, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return step{}, err
	}
	ips, err := tg.b.ListIPs(ctx, svc.Properties[PropServerID])
	if err != nil {
		return step{}, err
	}
	var extras []string
	for _, x := range ips {
		if !x.Main && x.IP != svc.Properties[PropIP] {
			extras = append(extras, x.IP)
		}
	}
	if _, err := r.updateService(ctx, func(s *Service) error {
		s.Properties[PropIPs] = joinList(extras)
		return nil
	}); err != nil {
		return step{}, err
	}
	return stepDone, nil
}

// reinstallSpec is the install of a Reinstall: the request's template and
// recipe, else the ones recorded on the service.
func (r *run) reinstallSpec(svc *Service) InstallSpec {
	req, _ := r.req.(ReinstallRequest)
	tmpl, recipe := req.OSTemplate, req.Recipe
	if tmpl == "" {
		tmpl = svc.Properties[PropOS]
		if recipe == "" {
			recipe = svc.Properties[PropRecipe]
		}
	}
	if recipe == "" {
		recipe = billing.DefaultRecipe
	}
	return InstallSpec{Template: tmpl, Recipe: recipe, Password: req.Password, Hostname: svc.Properties[PropDomain]}
}

func reinstallStart(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return step{}, err
	}
	if err := startInstall(ctx, r, d, tg.b, svc.Properties[PropServerID], r.reinstallSpec(svc)); err != nil {
		return step{}, err
	}
	return sWait, nil
}

func reinstallWait(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return step{}, err
	}
	dontWait := false
	if t, err := r.e.cfg.Catalog.Tariff(svc.TariffID); err == nil {
		dontWait = t.DontWaitInstall
	}
	if err := waitInstall(ctx, r, d, tg.b, svc.Properties[PropServerID], dontWait); err != nil {
		var sf *serverFailure
		if errors.As(err, &sf) {
			return step{}, permanent(errors.New(sf.reason))
		}
		return step{}, err
	}
	return sFinish, nil
}

func reinstallFinish(ctx context.Context, r *run, _ *DedicatedState) (step, error) {
	_, err := r.updateService(ctx, func(s *Service) error {
		spec := r.reinstallSpec(s)
		s.Properties[PropOS] = spec.Template
		s.Properties[PropRecipe] = spec.Recipe
		return nil
	})
	if err != nil {
		return step{}, err
	}
	return stepDone, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func joinList(l []string) string { return strings.Join(l, ",") }
