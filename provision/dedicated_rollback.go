package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
)

// The roll-back of a server that failed during Open: its addresses back,
// parked again, domain free.ds, the reason in its notes, disabled and kept
// by the admin (out of sale until an operator clears it), its reservation
// released; then the next server, unless the operation is aborting or
// MaxServerFailures is reached.

// rollbackIPs removes the additional addresses this operation added and
// returns them (and what was allocated for them but never, or no longer,
// on the server: found by their notes) to IPmanager.
func rollbackIPs(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, _, _, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	if !d.BaseTaken {
		return rbParking, nil
	}
	srv := d.Server
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return step{}, err
	}
	release := slices.Clone(d.ExtraIPs)
	for _, x := range ips {
		if slices.Contains(d.BaseIPs, x.IP) || x.Main {
			continue
		}
		if err := tg.b.RemoveIP(ctx, srv, x.ID); err != nil {
			return step{}, err
		}
		release = append(release, x.IP)
	}
	if tg.pool != nil {
		ro, err := r.resolved(r.tariff)
		if err != nil {
			return step{}, err
		}
		for _, f := range []struct {
			family string
			n      int
		}{{"ipv4", ro.ExtraIPv4}, {"ipv6", ro.ExtraIPv6}} {
			for i := range f.n {
				found, err := tg.pool.FindByNote(ctx, fmt.Sprintf("%s/%s/%s/%d", r.op.ID, srv, f.family, i))
				if err != nil {
					return step{}, err
				}
				release = append(release, found...)
			}
		}
		for _, ip := range release {
			if err := tg.pool.Release(ctx, ip); err != nil {
				return step{}, err
			}
		}
	}
	return rbParking, nil
}

// rollbackParking parks the server again when its parking address was
// swapped for a public one.
func rollbackParking(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, _, _, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	sw := &d.Swap
	if sw.Public == "" || tg.pool == nil {
		// No public address recorded: one allocated with a lost answer is
		// released by rbAddrs (found by its note).
		return rbAddrs, nil
	}
	if sw.Parking != "" && !sw.ParkingReleased {
		ips, err := tg.b.ListIPs(ctx, d.Server)
		if err != nil {
			return step{}, err
		}
		if _, on := findIP(ips, sw.Parking); !on {
			// The parking address left the server but its release is not
			// recorded: finish it; the server gets a new parking address.
			if err := tg.pool.Release(ctx, sw.Parking); err != nil {
				return step{}, err
			}
			sw.ParkingReleased = true
			return rbParking, nil // checkpoint the release
		}
	}
	return parkBack(ctx, r, tg, d, d.Server, sw.Public, !sw.ParkingReleased, sw.Parking, rbParking, rbAddrs)
}

// parkBack gives the server a parking address again and returns its
// public one to IPmanager. When the original parking address is still on
// the server (keepOld) only the public address is removed. The new parking
// address is recorded in d.Swap.NewParking (a checkpoint, self).
func parkBack(ctx context.Context, r *run, tg target, d *DedicatedState, srv, public string, keepOld bool, oldParking string, self, next step) (step, error) {
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return step{}, err
	}
	_, oldThere := findIP(ips, oldParking)
	if !(keepOld && oldThere && oldParking != "") {
		park := d.Swap.NewParking
		if park == "" {
			park, err = allocate(ctx, tg.pool, "ipv4", tg.mod.IPManager.ParkingGroup, FreeHostname, r.op.ID+"/"+srv+"/parking", "parking")
			if err != nil {
				return step{}, err
			}
			d.Swap.NewParking = park
			return self, nil // checkpoint the allocation
		}
		if _, ok := findIP(ips, park); !ok {
			if _, err := tg.b.AddIP(ctx, srv, "ipv4", tg.mod.IPManager.ParkingGroup, park, FreeHostname); err != nil {
				return step{}, err
			}
		}
	}
	if x, ok := findIP(ips, public); ok {
		if err := tg.b.RemoveIP(ctx, srv, x.ID); err != nil {
			return step{}, err
		}
	}
	if err := tg.pool.Release(ctx, public); err != nil {
		return step{}, err
	}
	return next, nil
}

func rollbackDomain(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, s, err := r.openServer(ctx, d)
	if err != nil {
		return step{}, err
	}
	return rbNotes, ensureDomain(ctx, tg.b, s, FreeHostname)
}

func rollbackNotes(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, _, _, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	if d.KeepInSale {
		return rbDisable, nil // not the server's fault: nothing to tell its operator
	}
	note := fmt.Sprintf("ispkit: not sold (operation %s, service %s): %s", r.op.ID, r.op.ServiceID, d.FailReason)
	if err := tg.b.SetNotes(ctx, d.Server, note); err != nil {
		// A panel without server notes (DCImanager 6 without a notes sink)
		// must not stop the rollback: the reason stays in the operation.
		if !errors.Is(err, ErrUnsupported) {
			return step{}, err
		}
		r.log.LogAttrs(ctx, slog.LevelWarn, "server notes not supported; reason kept in the operation",
			slog.String("op", r.op.ID), slog.String("server", d.Server))
	}
	return rbDisable, nil
}

// rollbackDisable blocks the server. Its owner stays the integration's
// admin ("the owner will not change"), so it is not offered for sale
// until an operator clears it.
func rollbackDisable(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, s, err := r.openServer(ctx, d)
	if err != nil {
		return step{}, err
	}
	if d.KeepInSale {
		// Back to sale: no owner (the domain is free.ds already).
		if s.OwnerID == d.UserID || s.OwnerID == d.AdminID {
			return rbRelease, ensureOwner(ctx, tg.b, s, "")
		}
		return rbRelease, nil
	}
	if s.OwnerID == d.UserID || s.OwnerID == "" {
		// Ours to take back (an owner set outside the engine stays).
		if err := ensureOwner(ctx, tg.b, s, d.AdminID); err != nil {
			return step{}, err
		}
	}
	return rbRelease, ensureEnabled(ctx, tg.b, s, false)
}

// rollbackRelease drops the reservation (the panel state now keeps the
// server out of sale) and goes on with the next server.
func rollbackRelease(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, _, _, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	srv := d.Server
	if err := r.unreserve(ctx, tg.mod.Name, srv, r.op.ID); err != nil {
		return step{}, err
	}
	reason, inSale := d.FailReason, d.KeepInSale
	d.Tried = append(d.Tried, srv)
	if d.OrderFault {
		d.clearServer()
		return rbRestore, nil
	}
	if !inSale {
		d.LastFailure = srv + ": " + reason
		d.LastReason, d.LastServer, d.LastModule = reason, srv, tg.mod.Name
		d.Failures++
	}
	d.clearServer()
	if d.Abort {
		d.Error = reason
		return stepFail, nil
	}
	if limit := r.e.cfg.MaxServerFailures; limit > 0 && d.Failures >= limit {
		return r.fail(fmt.Errorf("%w: %d servers failed (Config.MaxServerFailures %d); the last, server %s: %s",
			ErrTooManyFailures, d.Failures, limit, srv, reason)), nil
	}
	return dPick, nil
}

// rollbackRestore ends an Open whose order is at fault: the server that
// failed the same way before the current one was taken out of sale by its
// roll-back; it goes back to sale when it is still as that roll-back left
// it (owned by the admin, free.ds, disabled), under a reservation of this
// operation so that no other order picks it meanwhile. Then the operation
// fails with ErrOrderFault.
func rollbackRestore(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, _, _, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	prev := d.LastServer
	if prev != "" && d.LastModule == tg.mod.Name {
		err := r.reserve(ctx, Reservation{Backend: tg.mod.Name, ServerID: prev, OperationID: r.op.ID, ServiceID: r.op.ServiceID, CreatedAt: r.now()})
		switch {
		case errors.Is(err, ErrReserved):
			// Someone else holds it now: it is theirs.
		case err != nil:
			return step{}, err
		default:
			s, err := tg.server(ctx, prev)
			if err != nil {
				return step{}, err
			}
			if s.OwnerID == d.AdminID && s.Hostname == FreeHostname && s.Disabled {
				if err := tg.b.SetNotes(ctx, prev, ""); err != nil && !errors.Is(err, ErrUnsupported) {
					return step{}, err
				}
				if err := ensureEnabled(ctx, tg.b, s, true); err != nil {
					return step{}, err
				}
				if err := ensureOwner(ctx, tg.b, s, ""); err != nil {
					return step{}, err
				}
			}
			if err := r.unreserve(ctx, tg.mod.Name, prev, r.op.ID); err != nil {
				return step{}, err
			}
		}
	}
	reason := d.LastReason
	d.Error = ""
	return r.fail(fmt.Errorf("%w: servers %s and %s failed the same way: %s", ErrOrderFault, prev, d.Tried[len(d.Tried)-1], reason)), nil
}

// notePrefix is the beginning of the notes of every address operation
// opID allocated for server srv.
func notePrefix(opID, srv string) string { return opID + "/" + srv + "/" }

// releaseStray returns to IPmanager every address noted for operation
// opID and server srv that is not on the server now: an allocation whose
// answer was lost, one made before a crash hid it, one removed from the
// server but not released. extra are the roles to look up one by one when
// the pool cannot list by note (NotedLister).
func releaseStray(ctx context.Context, tg target, opID, srv string, extra []string) error {
	if tg.pool == nil {
		return nil
	}
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return err
	}
	prefix := notePrefix(opID, srv)
	noted, ok, err := tg.pool.ListNoted(ctx, prefix)
	if err != nil {
		return err
	}
	var stray []string
	if ok {
		for _, a := range noted {
			stray = append(stray, a.IP)
		}
	} else {
		for _, role := range append([]string{"main", "parking"}, extra...) {
			found, err := tg.pool.FindByNote(ctx, prefix+role)
			if err != nil {
				return err
			}
			stray = append(stray, found...)
		}
	}
	for _, ip := range stray {
		if _, on := findIP(ips, ip); on {
			continue
		}
		if err := tg.pool.Release(ctx, ip); err != nil {
			return err
		}
	}
	return nil
}

// extraRoles are the notes' roles of the additional addresses of an order.
func extraRoles(v4, v6 int) []string {
	var out []string
	for i := range v4 {
		out = append(out, fmt.Sprintf("ipv4/%d", i))
	}
	for i := range v6 {
		out = append(out, fmt.Sprintf("ipv6/%d", i))
	}
	return out
}

// rollbackAddrs returns every address this operation allocated for the
// server and that is not on it (after rbIPs and rbParking only the parking
// address is).
func rollbackAddrs(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, t, _, err := r.openTarget(ctx, d)
	if err != nil {
		return step{}, err
	}
	var roles []string
	if ro, err := r.resolved(t); err == nil {
		roles = extraRoles(ro.ExtraIPv4, ro.ExtraIPv6)
	}
	if err := releaseStray(ctx, tg, r.op.ID, d.Server, roles); err != nil {
		return step{}, err
	}
	return rbDomain, nil
}
