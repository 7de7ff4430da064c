package provision

import (
	"context"
	"slices"

	"github.com/ispkit/ispkit/billing"
)

// Close of a dedicated server: disabled, additional addresses removed and
// released, parked again when its address was swapped (a new parking
// address is added before the public one is removed), domain free.ds,
// owner cleared, reservation released, service Deleted. The server stays
// disabled; the next Open enables it.

func closeStart(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	svc, err := r.service(ctx)
	if err != nil {
		return step{}, err
	}
	if svc.Status == billing.StatusDeleted {
		return stepDone, nil
	}
	if svc.Properties[PropServerID] == "" {
		return cFinish, nil
	}
	return cDisable, nil
}

func closeDisable(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, s, err := r.serviceServer(ctx)
	if err != nil {
		return step{}, err
	}
	return cIPs, ensureEnabled(ctx, tg.b, s, false)
}

func closeIPs(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return step{}, err
	}
	srv := svc.Properties[PropServerID]
	ips, err := tg.b.ListIPs(ctx, srv)
	if err != nil {
		return step{}, err
	}
	// The recorded extras are released too: one may have left the server
	// before a crash hid its release.
	release := splitList(svc.Properties[PropIPs])
	for _, x := range ips {
		if x.Main {
			continue
		}
		if err := tg.b.RemoveIP(ctx, srv, x.ID); err != nil {
			return step{}, err
		}
		if !slices.Contains(release, x.IP) {
			release = append(release, x.IP)
		}
	}
	if tg.pool != nil {
		for _, ip := range release {
			if err := tg.pool.Release(ctx, ip); err != nil {
				return step{}, err
			}
		}
	}
	return cParking, nil
}

func closeParking(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return step{}, err
	}
	if svc.Properties[PropIPManaged] == "" || tg.pool == nil || tg.mod.IPManager == nil || tg.mod.IPManager.ParkingGroup == "" {
		return cAddrs, nil
	}
	return parkBack(ctx, r, tg, d, svc.Properties[PropServerID], svc.Properties[PropIP], false, "", cParking, cAddrs)
}

// closeAddrs returns to IPmanager every address the service's Open (and
// this Close) allocated for the server that is not on it any more.
func closeAddrs(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return step{}, err
	}
	srv := svc.Properties[PropServerID]
	// Without a NotedLister the notes are looked up one by one: as many
	// additional ones per family as the service recorded.
	n := map[string]int{}
	for _, ip := range splitList(svc.Properties[PropIPs]) {
		n[familyOf(ip)]++
	}
	roles := extraRoles(n["ipv4"], n["ipv6"])
	for _, opID := range []string{svc.Properties[PropReservation], r.op.ID} {
		if opID == "" {
			continue
		}
		if err := releaseStray(ctx, tg, opID, srv, roles); err != nil {
			return step{}, err
		}
	}
	return cDomain, nil
}

func closeDomain(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, s, err := r.serviceServer(ctx)
	if err != nil {
		return step{}, err
	}
	return cOwner, ensureDomain(ctx, tg.b, s, FreeHostname)
}

func closeOwner(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, s, err := r.serviceServer(ctx)
	if err != nil {
		return step{}, err
	}
	return cRelease, ensureOwner(ctx, tg.b, s, "")
}

func closeRelease(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	tg, svc, err := r.serviceTarget(ctx)
	if err != nil {
		return step{}, err
	}
	if err := r.unreserve(ctx, tg.mod.Name, svc.Properties[PropServerID], svc.Properties[PropReservation]); err != nil {
		return step{}, err
	}
	return cFinish, nil
}

func closeFinish(ctx context.Context, r *run, d *DedicatedState) (step, error) {
	_, err := r.updateService(ctx, func(s *Service) error {
		// The extra addresses went back to the panel / IPmanager.
		delete(s.Properties, PropIPs)
		return r.transition(s, billing.StatusDeleted)
	})
	if err != nil {
		return step{}, err
	}
	return stepDone, nil
}
