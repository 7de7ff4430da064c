package provision

import (
	"context"
	"fmt"

	"github.com/ispkit/ispkit/billing"
)

// ISPsystem licenses sold with dedicated servers (billing.Tariff.License).
//
// BILLmanager orders them from a licensing server, a processing module of
// type "BILLmanager 5" (an upstream BILLmanager), for the server's address;
// the engine does the same through Config.Licenses (the bmlicense adapter
// over the billmanager client). The license is ordered by the Open's
// license step, after the OS install and the hand-over of the server, and
// is recorded on the service (PropLicenseID); Suspend, Unsuspend and Close
// start with a step that suspends, resumes and closes it.
//
// An order is never sent twice for one server: the step first looks for
// the license an earlier attempt ordered (FindLicense, by the name the
// order gave it), and an order whose answer was lost is looked for again
// before anything else happens. A refusal by the licensing server (no
// funds, a bad tariff code) is a manual task for the module's department:
// the service stays in Processing with its server until staff complete it.

// Service.Properties keys of a server's license.
const (
	PropLicenseID        = "license_id"        // the license's id on the licensing server
	PropLicensePricelist = "license_pricelist" // its tariff code
)

// LicenseOrder is the license of one server.
type LicenseOrder struct {
	// ServiceID and ServerName identify the server; a backend names the
	// license after them so that FindLicense finds it again.
	ServiceID  string
	ServerName string
	// IP is the server's main address, the one the license is bound to.
	IP string
	// Pricelist, Period and AutoProlong come from the tariff's
	// billing.LicenseSpec (Period already defaulted).
	Pricelist   int64
	Period      int
	AutoProlong int
}

// LicenseBackend is a licensing server. The bmlicense adapter implements
// it over the billmanager client; implementations may also implement
// FaultClassifier (MayHaveHappened: an order whose answer was lost;
// IsPanelFault: a transient failure worth retrying).
type LicenseBackend interface {
	// FindLicense returns the id of the license OrderLicense(o) created,
	// if there is one.
	FindLicense(ctx context.Context, o LicenseOrder) (id string, found bool, err error)
	// OrderLicense orders the license and returns its id. It is called
	// only after FindLicense found none.
	OrderLicense(ctx context.Context, o LicenseOrder) (id string, err error)
	SuspendLicense(ctx context.Context, id string) error
	ResumeLicense(ctx context.Context, id string) error
	// CloseLicense takes the license off the server for good.
	CloseLicense(ctx context.Context, id string) error
}

// Steps of the license.
var (
	dLicense   = step{"license"}
	lSuspend   = step{"license_suspend"}
	lResume    = step{"license_resume"}
	lClose     = step{"license_close"}
	licPolicy  = &policy{by: map[faultClass]action{classInDoubt: retryLater}, otherwise: retryLater}
	licFailing = &policy{otherwise: failOp}
)

// licenseOpenStep is the Open's license step, between transfer and
// activate. Its failures interrupt the run (to resume later) rather than
// roll back a server the customer already owns; a refusal is a manual
// task (the step decides).
func licenseOpenStep() stepDef {
	return stepDef{name: dLicense, quiet: true, phase: PhaseServer, fn: on(openLicense), next: goesTo(dActivate, dManual), onError: licPolicy,
		doc: "the tariff's ISPsystem license for the main address: found again, else ordered; recorded on the service (none: skipped)"}
}

// licenseFollowStep is the first step of Suspend, Unsuspend and Close: the
// license follows the server, then the operation goes on to start.
func licenseFollowStep(name step, doc string, call func(LicenseBackend) func(context.Context, string) error) stepDef {
	return stepDef{name: name, quiet: true, phase: PhaseServer, next: goesTo(dStart), onError: licFailing, doc: doc,
		fn: on(func(ctx context.Context, r *run, _ *DedicatedState) (step, error) { return licenseFollow(ctx, r, call) })}
}

// licenseCheckOpen refuses an Open of a tariff with a license when the
// engine has no licensing server.
func licenseCheckOpen(e *Engine, req OpenRequest, t *billing.Tariff) error {
	if t.License != nil && e.cfg.Licenses == nil {
		return fmt.Errorf("provision: tariff %d sells a license but Config.Licenses is not set: %w", t.ID, ErrNoBackend)
	}
	return nil
}

// openLicense orders the tariff's license for the server (once).
func openLicense(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, t, svc, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	spec := t.License
	if spec == nil {
		return dActivate, nil
	}
	if svc.Properties[PropLicenseID] != "" {
		return dActivate, nil // recorded by an earlier attempt
	}
	lb := r.e.cfg.Licenses
	if lb == nil {
		r.manualTask(tg.mod, "license: no licensing server configured (Config.Licenses)")
		return dManual, nil
	}
	s, err := tg.server(ctx, d.Server)
	if err != nil {
		return step{}, err
	}
	ip := s.IP
	if ips, err := tg.b.ListIPs(ctx, d.Server); err == nil {
		if m, ok := mainIP(ips); ok {
			ip = m.IP
		}
		if pub := d.Swap.Public; pub != "" {
			if _, ok := findIP(ips, pub); ok {
				ip = pub
			}
		}
	} else {
		return step{}, err
	}
	o := LicenseOrder{ServiceID: svc.ID, ServerName: s.Name, IP: ip, Pricelist: spec.Pricelist,
		Period: spec.EffectivePeriod(), AutoProlong: spec.AutoProlong}
	id, found, err := readValue2(ctx, r, "FindLicense", func(ctx context.Context) (string, bool, error) { return lb.FindLicense(ctx, o) })
	if err != nil {
		return step{}, fmt.Errorf("licensing server: find the license of service %s: %w", svc.ID, err)
	}
	if !found {
		id, err = writeValue(ctx, r, "OrderLicense", func(ctx context.Context) (string, error) { return lb.OrderLicense(ctx, o) })
		if err != nil {
			err = fmt.Errorf("licensing server: order the license of service %s: %w", svc.ID, err)
			switch {
			case ctx.Err() != nil:
				// Stopped while ordering: the next run looks first.
				return step{}, &inDoubtError{err}
			case mayHaveHappened(lb, err):
				// Look for it before anything else (FindLicense above).
				return step{}, &inDoubtError{err}
			case isPanelFault(lb, err):
				return step{}, err
			}
			r.manualTask(tg.mod, "license: "+err.Error())
			return dManual, nil
		}
	}
	_, err = r.updateService(ctx, func(s *Service) error {
		s.Properties[PropLicenseID] = id
		s.Properties[PropLicensePricelist] = fmt.Sprint(spec.Pricelist)
		return nil
	})
	if err != nil {
		return step{}, err
	}
	return dActivate, nil
}

// licenseFollow suspends, resumes or closes the service's license, if it
// has one, and goes on to the operation's start.
func licenseFollow(ctx context.Context, r *run, call func(LicenseBackend) func(context.Context, string) error) (step, error) {
	svc, err := r.service(ctx)
	if err != nil {
		return step{}, err
	}
	id := svc.Properties[PropLicenseID]
	if id == "" || svc.Status == billing.StatusDeleted {
		return dStart, nil
	}
	lb := r.e.cfg.Licenses
	if lb == nil {
		return step{}, permanent(fmt.Errorf("service %s has license %s but Config.Licenses is not set: %w", svc.ID, id, ErrNoBackend))
	}
	if err := r.write(ctx, "License", func(ctx context.Context) error { return call(lb)(ctx, id) }); err != nil {
		return step{}, fmt.Errorf("licensing server: %s license %s: %w", r.op.Kind, id, err)
	}
	return dStart, nil
}

func readValue2[A, B any](ctx context.Context, r *run, what string, call func(context.Context) (A, B, error)) (A, B, error) {
	var a A
	var b B
	err := r.read(ctx, what, func(ctx context.Context) error {
		var err error
		a, b, err = call(ctx)
		return err
	})
	return a, b, err
}
