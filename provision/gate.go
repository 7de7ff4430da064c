package provision

import (
	"context"
	"errors"
)

// Every panel call a step makes goes through the run's gates: steps never
// hold a raw backend, only the gated views below, whose writes pass
// through run.write and whose reads pass through run.read. The gates are
// the one place where a call can be made conditional on the run still
// owning the operation (checking the lease before a write, bounding the
// call by the lease) and where calls can be counted or cached per run.

// read runs a panel read for the step.
func (r *run) read(ctx context.Context, what string, call func(context.Context) error) error {
	return call(ctx)
}

// write runs a panel write (a call that changes the panel) for the step,
// only while the run provably holds the operation's lease (holdLease):
// otherwise the run is stopped and the call is not made. ctx is the run's
// context, which the lease watcher ends before the lease can end, so a
// call cut short by it is abandoned before the next holder may act.
func (r *run) write(ctx context.Context, what string, call func(context.Context) error) error {
	r.effects++
	if h := r.e.beforeWrite; h != nil {
		h(r.op.ID, what)
	}
	if err := r.holdLease(ctx); err != nil {
		return err
	}
	return call(ctx)
}

func readValue[T any](ctx context.Context, r *run, what string, call func(context.Context) (T, error)) (T, error) {
	var v T
	err := r.read(ctx, what, func(ctx context.Context) error {
		var err error
		v, err = call(ctx)
		return err
	})
	return v, err
}

func writeValue[T any](ctx context.Context, r *run, what string, call func(context.Context) (T, error)) (T, error) {
	var v T
	err := r.write(ctx, what, func(ctx context.Context) error {
		var err error
		v, err = call(ctx)
		return err
	})
	return v, err
}

// dedicatedGate is a DedicatedBackend whose calls go through the run's
// gates.
type dedicatedGate struct {
	r *run
	b DedicatedBackend
}

func (r *run) dedicated(b DedicatedBackend) dedicatedGate { return dedicatedGate{r, b} }

func (g dedicatedGate) ListServers(ctx context.Context) ([]Server, error) {
	return readValue(ctx, g.r, "ListServers", g.b.ListServers)
}

func (g dedicatedGate) GetServer(ctx context.Context, id string) (Server, error) {
	return readValue(ctx, g.r, "GetServer", func(ctx context.Context) (Server, error) { return g.b.GetServer(ctx, id) })
}

// DescribeServer is ServerDescriber.DescribeServer when the backend has it,
// else GetServer.
func (g dedicatedGate) DescribeServer(ctx context.Context, id string) (Server, error) {
	d, ok := g.b.(ServerDescriber)
	if !ok {
		return g.GetServer(ctx, id)
	}
	return readValue(ctx, g.r, "DescribeServer", func(ctx context.Context) (Server, error) { return d.DescribeServer(ctx, id) })
}

func (g dedicatedGate) SetOwner(ctx context.Context, id, user string) error {
	return g.r.write(ctx, "SetOwner", func(ctx context.Context) error { return g.b.SetOwner(ctx, id, user) })
}

func (g dedicatedGate) SetDomain(ctx context.Context, id, domain string) error {
	return g.r.write(ctx, "SetDomain", func(ctx context.Context) error { return g.b.SetDomain(ctx, id, domain) })
}

func (g dedicatedGate) SetNotes(ctx context.Context, id, notes string) error {
	return g.r.write(ctx, "SetNotes", func(ctx context.Context) error { return g.b.SetNotes(ctx, id, notes) })
}

func (g dedicatedGate) Enable(ctx context.Context, id string) error {
	return g.r.write(ctx, "Enable", func(ctx context.Context) error { return g.b.Enable(ctx, id) })
}

func (g dedicatedGate) Disable(ctx context.Context, id string) error {
	return g.r.write(ctx, "Disable", func(ctx context.Context) error { return g.b.Disable(ctx, id) })
}

func (g dedicatedGate) PowerOn(ctx context.Context, id string) error {
	return g.r.write(ctx, "PowerOn", func(ctx context.Context) error { return g.b.PowerOn(ctx, id) })
}

func (g dedicatedGate) SetPorts(ctx context.Context, id string, on bool) error {
	return g.r.write(ctx, "SetPorts", func(ctx context.Context) error { return g.b.SetPorts(ctx, id, on) })
}

func (g dedicatedGate) Install(ctx context.Context, id string, spec InstallSpec) error {
	return g.r.write(ctx, "Install", func(ctx context.Context) error { return g.b.Install(ctx, id, spec) })
}

func (g dedicatedGate) InstallStatus(ctx context.Context, id string) (InstallStatus, error) {
	return readValue(ctx, g.r, "InstallStatus", func(ctx context.Context) (InstallStatus, error) { return g.b.InstallStatus(ctx, id) })
}

func (g dedicatedGate) ListIPs(ctx context.Context, id string) ([]ServerIP, error) {
	return readValue(ctx, g.r, "ListIPs", func(ctx context.Context) ([]ServerIP, error) { return g.b.ListIPs(ctx, id) })
}

func (g dedicatedGate) AddIP(ctx context.Context, id, family, group, ip, domain string) (ServerIP, error) {
	return writeValue(ctx, g.r, "AddIP", func(ctx context.Context) (ServerIP, error) { return g.b.AddIP(ctx, id, family, group, ip, domain) })
}

func (g dedicatedGate) RemoveIP(ctx context.Context, id, ipID string) error {
	return g.r.write(ctx, "RemoveIP", func(ctx context.Context) error { return g.b.RemoveIP(ctx, id, ipID) })
}

func (g dedicatedGate) FindUser(ctx context.Context, name string) (string, bool, error) {
	type found struct {
		id string
		ok bool
	}
	f, err := readValue(ctx, g.r, "FindUser", func(ctx context.Context) (found, error) {
		id, ok, err := g.b.FindUser(ctx, name)
		return found{id, ok}, err
	})
	return f.id, f.ok, err
}

func (g dedicatedGate) CreateUser(ctx context.Context, name, password string) (string, error) {
	return writeValue(ctx, g.r, "CreateUser", func(ctx context.Context) (string, error) { return g.b.CreateUser(ctx, name, password) })
}

func (g dedicatedGate) SetUserPassword(ctx context.Context, userID, password string) error {
	return g.r.write(ctx, "SetUserPassword", func(ctx context.Context) error { return g.b.SetUserPassword(ctx, userID, password) })
}

func (g dedicatedGate) AdminUserID(ctx context.Context) (string, error) {
	return readValue(ctx, g.r, "AdminUserID", g.b.AdminUserID)
}

// poolGate is an IPPool whose calls go through the run's gates.
type poolGate struct {
	r *run
	p IPPool
}

func (r *run) pool(p IPPool) *poolGate {
	if p == nil {
		return nil
	}
	return &poolGate{r, p}
}

func (g *poolGate) Allocate(ctx context.Context, family, group, domain, note string) (string, error) {
	return writeValue(ctx, g.r, "Allocate", func(ctx context.Context) (string, error) { return g.p.Allocate(ctx, family, group, domain, note) })
}

func (g *poolGate) FindByNote(ctx context.Context, note string) ([]string, error) {
	return readValue(ctx, g.r, "FindByNote", func(ctx context.Context) ([]string, error) { return g.p.FindByNote(ctx, note) })
}

func (g *poolGate) Release(ctx context.Context, ip string) error {
	return g.r.write(ctx, "Release", func(ctx context.Context) error { return g.p.Release(ctx, ip) })
}

// hostingGate is a HostingBackend whose calls go through the run's gates;
// b is the backend itself (its FaultClassifier and IsNameTaken classify
// errors).
type hostingGate struct {
	r *run
	b HostingBackend
}

func (r *run) hosting(b HostingBackend) hostingGate { return hostingGate{r, b} }

func (g hostingGate) UserExists(ctx context.Context, name string) (bool, error) {
	return readValue(ctx, g.r, "UserExists", func(ctx context.Context) (bool, error) { return g.b.UserExists(ctx, name) })
}

func (g hostingGate) CreateUser(ctx context.Context, a HostingAccount) error {
	return g.r.write(ctx, "CreateUser", func(ctx context.Context) error { return g.b.CreateUser(ctx, a) })
}

func (g hostingGate) SuspendUser(ctx context.Context, name string) error {
	return g.r.write(ctx, "SuspendUser", func(ctx context.Context) error { return g.b.SuspendUser(ctx, name) })
}

func (g hostingGate) ResumeUser(ctx context.Context, name string) error {
	return g.r.write(ctx, "ResumeUser", func(ctx context.Context) error { return g.b.ResumeUser(ctx, name) })
}

func (g hostingGate) DeleteUser(ctx context.Context, name string) error {
	return g.r.write(ctx, "DeleteUser", func(ctx context.Context) error { return g.b.DeleteUser(ctx, name) })
}

func (g hostingGate) SetPassword(ctx context.Context, name, password string) error {
	return g.r.write(ctx, "SetPassword", func(ctx context.Context) error { return g.b.SetPassword(ctx, name, password) })
}

func (g hostingGate) PresetLimits(ctx context.Context, preset string) (map[string]string, error) {
	return readValue(ctx, g.r, "PresetLimits", func(ctx context.Context) (map[string]string, error) { return g.b.PresetLimits(ctx, preset) })
}

// ListNoted is NotedLister.ListNoted; ok is false when the pool has none.
func (g *poolGate) ListNoted(ctx context.Context, prefix string) (list []PoolAddress, ok bool, err error) {
	nl, ok := g.p.(NotedLister)
	if !ok {
		return nil, false, nil
	}
	list, err = readValue(ctx, g.r, "ListNoted", func(ctx context.Context) ([]PoolAddress, error) { return nl.ListNoted(ctx, prefix) })
	return list, true, err
}

// FreeCount is PoolCapacity.FreeCount; ok is false when the pool has none.
func (g *poolGate) FreeCount(ctx context.Context, family, group string) (n int64, ok bool, err error) {
	pc, ok := g.p.(PoolCapacity)
	if !ok {
		return 0, false, nil
	}
	n, err = readValue(ctx, g.r, "FreeCount", func(ctx context.Context) (int64, error) { return pc.FreeCount(ctx, family, group) })
	return n, true, err
}

// HasOSTemplate is OSTemplateChecker.HasOSTemplate; ok is false when the
// backend cannot tell.
func (g dedicatedGate) HasOSTemplate(ctx context.Context, template string) (has, ok bool, err error) {
	c, can := g.b.(OSTemplateChecker)
	if !can {
		return false, false, nil
	}
	has, err = readValue(ctx, g.r, "HasOSTemplate", func(ctx context.Context) (bool, error) { return c.HasOSTemplate(ctx, template) })
	if errors.Is(err, ErrUnsupported) {
		return false, false, nil
	}
	return has, err == nil, err
}

// canReadPorts reports whether the backend is a SwitchPortReader.
func (g dedicatedGate) canReadPorts() bool {
	_, ok := g.b.(SwitchPortReader)
	return ok
}

// SwitchPortStatus is SwitchPortReader.SwitchPortStatus (see
// canReadPorts).
func (g dedicatedGate) SwitchPortStatus(ctx context.Context, id string) (PortStatus, error) {
	pr, ok := g.b.(SwitchPortReader)
	if !ok {
		return PortStatus{}, ErrUnsupported
	}
	return readValue(ctx, g.r, "SwitchPortStatus", func(ctx context.Context) (PortStatus, error) { return pr.SwitchPortStatus(ctx, id) })
}
