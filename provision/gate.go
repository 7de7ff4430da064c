package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
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

// ListServers reads every server; the answer becomes the run's rows
// (rows.go).
func (g dedicatedGate) ListServers(ctx context.Context) ([]Server, error) {
	list, err := readValue(ctx, g.r, "ListServers", g.b.ListServers)
	if err == nil {
		g.r.rows.keepList(list)
	}
	return list, err
}

// GetServer reads server id from the panel (never a kept row) and keeps
// the row; its ID is id as asked.
func (g dedicatedGate) GetServer(ctx context.Context, id string) (Server, error) {
	s, err := readValue(ctx, g.r, "GetServer", func(ctx context.Context) (Server, error) { return g.b.GetServer(ctx, id) })
	if err == nil {
		s.ID = id
		g.r.rows.keep(s)
	}
	return s, err
}

// Server is, for a RowReader, the row of server id this run read last,
// after its last write to the server (rows.go); else (and for other
// backends always) GetServer.
func (g dedicatedGate) Server(ctx context.Context, id string) (Server, error) {
	if g.reusesRows() {
		if s, ok := g.r.rows.get(id); ok {
			return s, nil
		}
	}
	return g.GetServer(ctx, id)
}

// reusesRows reports whether the backend is a RowReader: only then do
// steps take the run's rows instead of reading the panel.
func (g dedicatedGate) reusesRows() bool {
	_, ok := g.b.(RowReader)
	return ok
}

// DescribeServer is ServerDescriber.DescribeServer when the backend has it
// (RowReader.DescribeRow from the run's row when it has that), else
// Server.
func (g dedicatedGate) DescribeServer(ctx context.Context, id string) (Server, error) {
	if rr, ok := g.b.(RowReader); ok {
		s, err := g.Server(ctx, id)
		if err != nil {
			return s, err
		}
		return readValue(ctx, g.r, "DescribeServer", func(ctx context.Context) (Server, error) { return rr.DescribeRow(ctx, s) })
	}
	d, ok := g.b.(ServerDescriber)
	if !ok {
		return g.Server(ctx, id)
	}
	return readValue(ctx, g.r, "DescribeServer", func(ctx context.Context) (Server, error) { return d.DescribeServer(ctx, id) })
}

// writeServer is run.write for a write to server id: the run's row of the
// server is forgotten before the call, and comes back with effect applied
// when the panel accepted the write and effect is not nil (rows.go).
func (g dedicatedGate) writeServer(ctx context.Context, what, id string, effect func(*Server), call func(context.Context) error) error {
	return g.writeServerIPs(ctx, what, id, effect, keepIPs, call)
}

// writeServerIPs is writeServer that also keeps the run's address list of
// the server with ipEffect applied (nil, or an effect that returns false:
// the list is forgotten).
func (g dedicatedGate) writeServerIPs(ctx context.Context, what, id string, effect func(*Server), ipEffect func([]ServerIP) ([]ServerIP, bool),
	call func(context.Context) error) error {
	old, had, ips, hadIPs := g.r.rows.forget(id)
	err := g.r.write(ctx, what, call)
	if err != nil {
		return err
	}
	if had && effect != nil {
		effect(&old)
		g.r.rows.keep(old)
	}
	if hadIPs && ipEffect != nil {
		if l, ok := ipEffect(ips); ok {
			g.r.rows.keepIPs(id, l)
		}
	}
	return nil
}

// ipAdded is the effect on a kept address list l of the panel adding got;
// false (read the list again) when what was added is not known or when l
// has no main address (the new one may become it).
func ipAdded(l []ServerIP, got ServerIP) ([]ServerIP, bool) {
	if got.IP == "" {
		return nil, false
	}
	// Added to a list without a main address, got may become it: the
	// list keeps no main address then (ListIPs asks the server's row).
	got.Main = false
	return append(l, got), true
}

// ipRemoved is the effect on a kept address list l of the panel removing
// address id. When it was the main one the panel makes another address
// the main one: the list keeps no main address then (ListIPs asks the
// server's row).
func ipRemoved(l []ServerIP, id string) ([]ServerIP, bool) {
	i := slices.IndexFunc(l, func(x ServerIP) bool { return x.ID == id })
	if i >= 0 && l[i].Main {
		for j := range l {
			l[j].Main = false
		}
	}
	return slices.DeleteFunc(l, func(x ServerIP) bool { return x.ID == id }), true
}

// keepIPs is the address-list effect of a write that changes no address.
func keepIPs(l []ServerIP) ([]ServerIP, bool) { return l, true }

// SetOwner sets the owner unconditionally (see swapOwner).
func (g dedicatedGate) SetOwner(ctx context.Context, id, user string) error {
	return g.writeServer(ctx, "SetOwner", id, func(s *Server) { s.OwnerID = user },
		func(ctx context.Context) error { return g.b.SetOwner(ctx, id, user) })
}

// swapOwner changes the owner of the server of row s to user, on the
// condition that the owner still is s.OwnerID: through the backend's
// OwnerSwapper when it has one; for a backend that is not a RowReader s is
// the step's fresh read and the owner is set; else after a fresh read of
// the server. A changed owner returns an error matching ErrOwnerChanged
// (the step is retried and reads the panel again).
func (g dedicatedGate) swapOwner(ctx context.Context, s Server, user string) error {
	if sw, ok := g.b.(OwnerSwapper); ok {
		var got Server
		return g.writeServer(ctx, "SetOwner", s.ID, func(s *Server) { *s = got },
			func(ctx context.Context) error {
				var err error
				got, err = sw.SwapOwner(ctx, s, user)
				return err
			})
	}
	if !g.reusesRows() {
		return g.SetOwner(ctx, s.ID, user)
	}
	cur, err := g.GetServer(ctx, s.ID)
	if err != nil {
		return err
	}
	switch cur.OwnerID {
	case user:
		return nil
	case s.OwnerID:
		return g.SetOwner(ctx, s.ID, user)
	}
	return fmt.Errorf("server %s: owner %q, read as %q: %w", s.ID, cur.OwnerID, s.OwnerID, ErrOwnerChanged)
}

// SetDomain sets the domain of the server's addresses; a RowReader's from
// the run's row and address list (ListIPs, kept for the steps after).
func (g dedicatedGate) SetDomain(ctx context.Context, id, domain string) error {
	call := func(ctx context.Context) error { return g.b.SetDomain(ctx, id, domain) }
	if rr, ok := g.b.(RowReader); ok {
		ips, err := g.ListIPs(ctx, id)
		if err != nil {
			return err
		}
		s, err := g.Server(ctx, id)
		if err != nil {
			return err
		}
		call = func(ctx context.Context) error { return rr.SetDomainOf(ctx, s, ips, domain) }
	}
	return g.writeServerIPs(ctx, "SetDomain", id, func(s *Server) { s.Hostname = domain },
		func(l []ServerIP) ([]ServerIP, bool) {
			for i := range l {
				l[i].Domain = domain
			}
			return l, true
		}, call)
}

// SetDomainOthers sets domain on the server's addresses other than its
// main one: for a RowReader, iplist.edit-style writes for those whose
// domain differs, and no write at all when none does; for another
// backend, SetDomain (every address: it has no per-address call).
func (g dedicatedGate) SetDomainOthers(ctx context.Context, id, domain string) error {
	rr, ok := g.b.(RowReader)
	if !ok {
		return g.SetDomain(ctx, id, domain)
	}
	ips, err := g.ListIPs(ctx, id)
	if err != nil {
		return err
	}
	var todo []ServerIP
	for _, x := range ips {
		if !x.Main && x.Domain != domain {
			todo = append(todo, x)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	s, err := g.Server(ctx, id)
	if err != nil {
		return err
	}
	return g.writeServerIPs(ctx, "SetDomain", id, func(*Server) {},
		func(l []ServerIP) ([]ServerIP, bool) {
			for i := range l {
				if !l[i].Main {
					l[i].Domain = domain
				}
			}
			return l, true
		}, func(ctx context.Context) error { return rr.SetDomainOf(ctx, s, todo, domain) })
}

func (g dedicatedGate) SetNotes(ctx context.Context, id, notes string) error {
	return g.writeServer(ctx, "SetNotes", id, func(*Server) {},
		func(ctx context.Context) error { return g.b.SetNotes(ctx, id, notes) })
}

func (g dedicatedGate) Enable(ctx context.Context, id string) error {
	return g.writeServer(ctx, "Enable", id, func(s *Server) { s.Disabled = false },
		func(ctx context.Context) error { return g.b.Enable(ctx, id) })
}

func (g dedicatedGate) Disable(ctx context.Context, id string) error {
	return g.writeServer(ctx, "Disable", id, func(s *Server) { s.Disabled = true },
		func(ctx context.Context) error { return g.b.Disable(ctx, id) })
}

func (g dedicatedGate) PowerOn(ctx context.Context, id string) error {
	return g.writeServer(ctx, "PowerOn", id, nil, func(ctx context.Context) error { return g.b.PowerOn(ctx, id) })
}

func (g dedicatedGate) SetPorts(ctx context.Context, id string, on bool) error {
	return g.writeServer(ctx, "SetPorts", id, func(*Server) {},
		func(ctx context.Context) error { return g.b.SetPorts(ctx, id, on) })
}

func (g dedicatedGate) Install(ctx context.Context, id string, spec InstallSpec) error {
	return g.writeServer(ctx, "Install", id, nil, func(ctx context.Context) error { return g.b.Install(ctx, id, spec) })
}

// InstallStatus reads the install state from the panel. A RowReader's is
// read from a fresh GetServer (kept as the run's row) unless someone
// listens to the install progress, which only InstallStatus reports.
func (g dedicatedGate) InstallStatus(ctx context.Context, id string) (InstallStatus, error) {
	if rr, ok := g.b.(RowReader); ok && !g.r.e.listening() {
		s, err := g.GetServer(ctx, id)
		if err != nil {
			return InstallStatus{}, err
		}
		return rr.InstallStatusOf(s), nil
	}
	return readValue(ctx, g.r, "InstallStatus", func(ctx context.Context) (InstallStatus, error) { return g.b.InstallStatus(ctx, id) })
}

// installState is InstallStatus from the run's row of the server when the
// backend is a RowReader and the run has one, else InstallStatus.
func (g dedicatedGate) installState(ctx context.Context, id string) (InstallStatus, error) {
	if rr, ok := g.b.(RowReader); ok {
		if s, ok := g.r.rows.get(id); ok {
			return rr.InstallStatusOf(s), nil
		}
	}
	return g.InstallStatus(ctx, id)
}

// ListIPs lists the server's addresses; a RowReader's from the run's
// address list of the server when it has one (rows.go), else from the
// run's row of the server (Server) and one list of the addresses.
func (g dedicatedGate) ListIPs(ctx context.Context, id string) ([]ServerIP, error) {
	if g.reusesRows() {
		if l, ok := g.r.rows.getIPs(id); ok {
			if len(l) == 0 || slices.ContainsFunc(l, func(x ServerIP) bool { return x.Main }) {
				return l, nil
			}
			// The run changed the addresses and the panel chose the main
			// one: the server's row (read after that change: the change
			// dropped the row's main address) names it.
			s, err := g.Server(ctx, id)
			if err == nil && s.IP == "" {
				s, err = g.GetServer(ctx, id)
			}
			if err != nil {
				return nil, err
			}
			for i := range l {
				l[i].Main = l[i].IP == s.IP
			}
			g.r.rows.keepIPs(id, l)
			return l, nil
		}
	}
	return g.listIPs(ctx, id)
}

func (g dedicatedGate) listIPs(ctx context.Context, id string) ([]ServerIP, error) {
	if rr, ok := g.b.(RowReader); ok {
		s, err := g.Server(ctx, id)
		if err == nil && s.IP == "" {
			s, err = g.GetServer(ctx, id) // main address unknown since a change
		}
		if err != nil {
			return nil, err
		}
		l, err := readValue(ctx, g.r, "ListIPs", func(ctx context.Context) ([]ServerIP, error) { return rr.ListIPsOf(ctx, s) })
		if err == nil {
			g.r.rows.keepIPs(id, l)
		}
		return l, err
	}
	return readValue(ctx, g.r, "ListIPs", func(ctx context.Context) ([]ServerIP, error) { return g.b.ListIPs(ctx, id) })
}

// AddIP and RemoveIP leave the server's row without its main address
// (IP ""): the panel may choose another one, and the next ListIPs reads
// the row again.
func (g dedicatedGate) AddIP(ctx context.Context, id, family, group, ip, domain string) (ServerIP, error) {
	var got ServerIP
	err := g.writeServerIPs(ctx, "AddIP", id, func(s *Server) { s.IP = "" },
		func(l []ServerIP) ([]ServerIP, bool) { return ipAdded(l, got) },
		func(ctx context.Context) error {
			var err error
			got, err = g.b.AddIP(ctx, id, family, group, ip, domain)
			return err
		})
	return got, err
}

func (g dedicatedGate) RemoveIP(ctx context.Context, id, ipID string) error {
	return g.writeServerIPs(ctx, "RemoveIP", id, func(s *Server) { s.IP = "" },
		func(l []ServerIP) ([]ServerIP, bool) { return ipRemoved(l, ipID) },
		func(ctx context.Context) error { return g.b.RemoveIP(ctx, id, ipID) })
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

// mayHold reports whether the pool may already hold an address allocated
// with note, so the allocation must look for it first (FindByNote): a
// note names its operation, and only a run holding the operation's lease
// allocates with it, so the pool can hold one only when an earlier claim
// of the operation ran (the run's fencing token is not 1: Submit's claim
// or the first worker claim gives 1) or this run asked for it before (an
// answer lost, a step retried).
func (g *poolGate) mayHold(note string) bool {
	return g.r.token != 1 || g.r.allocated[note]
}

// Allocate asks the pool for an address with note, recording first that
// this run asked (mayHold).
func (g *poolGate) Allocate(ctx context.Context, family, group, domain, note string) (string, error) {
	if g.r.allocated == nil {
		g.r.allocated = map[string]bool{}
	}
	g.r.allocated[note] = true
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
// backend cannot tell. A template the module's panel was seen to have
// within templateMemoTTL is taken as there without a request
// (templateMemo); a missing one is always asked again.
func (g dedicatedGate) HasOSTemplate(ctx context.Context, module, template string) (has, ok bool, err error) {
	c, can := g.b.(OSTemplateChecker)
	if !can {
		return false, false, nil
	}
	e := g.r.e
	if e.templates.seen(module, template, e.clock.Now()) {
		return true, true, nil
	}
	has, err = readValue(ctx, g.r, "HasOSTemplate", func(ctx context.Context) (bool, error) { return c.HasOSTemplate(ctx, template) })
	if errors.Is(err, ErrUnsupported) {
		return false, false, nil
	}
	if err == nil && has {
		e.templates.saw(module, template, e.clock.Now())
	}
	return has, err == nil, err
}

// templateMemoTTL is how long a panel's OS template, once seen, is taken
// as there: templates are added and removed by staff, rarely, while the
// orders that check them come by the hundred. The check only spares
// orders a mistyped template; a template removed from the panel within
// this time fails the install instead, and the order goes on as after any
// failed install.
const templateMemoTTL = 30 * time.Minute

// templateMemo remembers, per module, the OS templates its panel had and
// when that was read, so a burst of orders checks a template with one
// request. Only templates found are kept: a missing one is asked again
// at every order (it may have been added since).
type templateMemo struct {
	mu sync.Mutex
	m  map[[2]string]time.Time
}

// seen reports whether template was found on module's panel less than
// templateMemoTTL before now.
func (t *templateMemo) seen(module, template string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.m[[2]string{module, template}]
	return ok && !now.Before(at) && now.Sub(at) < templateMemoTTL
}

// saw records that template was found on module's panel at now; entries
// past templateMemoTTL are dropped, so the memo holds at most the
// templates ordered within that time.
func (t *templateMemo) saw(module, template string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[[2]string]time.Time{}
	}
	for k, at := range t.m {
		if now.Sub(at) >= templateMemoTTL || now.Before(at) {
			delete(t.m, k)
		}
	}
	t.m[[2]string{module, template}] = now
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
