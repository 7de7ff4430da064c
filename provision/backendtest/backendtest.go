// Package backendtest is the contract suite of the engine's backends:
// what provision.Engine assumes of a provision.DedicatedBackend, a
// provision.IPPool and a provision.HostingBackend, checked against a real
// implementation. Run it from the tests of your own backend:
//
//	func TestContract(t *testing.T) {
//		backendtest.RunDedicated(t, func(t *testing.T) backendtest.Dedicated {
//			return backendtest.Dedicated{Backend: mybackend.New(...), Servers: []string{"7", "8"}, ...}
//		})
//	}
//
// The adapters provision/dci5, provision/dci6, provision/ipmgr and
// provision/ispmgr run it over their panels' HTTP fakes, and
// provision/fakebackend over its in-memory fakes.
//
// What is checked (the engine's steps read the panel and act only on a
// difference, and repeat a call whose answer was lost):
//
//   - a read after a write sees the write: owner, domain, enabled or
//     disabled, addresses, power, a started install, a created user;
//   - writes are harmless when repeated: the same owner or domain set
//     twice, enable or disable twice, power on twice, ports switched the
//     same way twice;
//   - removing an address that is no longer there is not an error;
//   - an install requested while one runs does not start a second one: it
//     fails or leaves the first one running;
//   - a server's owner moves from nobody to the admin, to a customer, back
//     to the admin and to nobody;
//   - an IPmanager allocation is found again by its note (as after a lost
//     answer), two notes get two addresses, and releasing twice is not an
//     error;
//   - the optional reads agree with the panel: an OSTemplateChecker knows
//     the suite's template and not a made-up one; a SwitchPortReader reads
//     the ports off after SetPorts(false) and on after SetPorts(true); a
//     NotedLister lists exactly the allocations whose note has the prefix;
//     a PoolCapacity counts at least the free addresses the suite uses;
//   - a hosting account created is seen, a second create of its name is a
//     collision (IsNameTaken), suspend and resume are repeatable, a
//     deleted account is gone.
//
// Each Run function calls its constructor once per subtest, which run in
// parallel; the constructor should register its cleanup with t.Cleanup.
package backendtest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ispkit/ispkit/provision"
)

// settle bounds the polls for an asynchronous change (power-on, an
// install's end) to show.
const settle = 10 * time.Second

// Dedicated is a DedicatedBackend under test and what the suite may use.
type Dedicated struct {
	Backend provision.DedicatedBackend
	// Servers are at least two servers that are free (no owner, hostname
	// free.ds, not faulty) and match Config. The suite changes them.
	Servers []string
	// Config is the server configuration (a tariff's ServerConfig) they
	// match.
	Config string
	// OSTemplate and Recipe are an install the panel accepts. Installs
	// must last long enough (a minute or more) for the suite to see them
	// running.
	OSTemplate, Recipe string
	// IPGroup is the group the panel allocates an address from when AddIP
	// gets none, and IPFamily its family ("ipv4" when empty).
	IPGroup, IPFamily string
	// FinishInstall, when set, makes the running install of a server end
	// (successfully); the suite then checks that InstallStatus shows it.
	FinishInstall func(t *testing.T, serverID string)
	// NoNotes: SetNotes returns an error wrapping provision.ErrUnsupported
	// (a panel without server notes); the engine tolerates it.
	NoNotes bool
}

// RunDedicated runs the DedicatedBackend contract.
func RunDedicated(t *testing.T, newBackend func(t *testing.T) Dedicated) {
	t.Helper()
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, d Dedicated)
	}{
		{"Inventory", testInventory},
		{"Owner", testOwner},
		{"Domain", testDomain},
		{"EnableDisablePorts", testEnableDisable},
		{"Notes", testNotes},
		{"Users", testUsers},
		{"Addresses", testAddresses},
		{"PowerAndInstall", testPowerInstall},
		{"OptionalReads", testOptionalReads},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d := newBackend(t)
			if len(d.Servers) < 2 {
				t.Fatalf("backendtest: Dedicated.Servers needs two free servers, got %d", len(d.Servers))
			}
			c.fn(t, d)
		})
	}
}

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func server(t *testing.T, ctx context.Context, b provision.DedicatedBackend, id string) provision.Server {
	t.Helper()
	s, err := b.GetServer(ctx, id)
	must(t, "GetServer("+id+")", err)
	return s
}

// poll reads until cond holds, failing after settle.
func poll(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(settle)
	for {
		ok, err := cond()
		must(t, what, err)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within %s", what, settle)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testInventory(t *testing.T, d Dedicated) {
	ctx := ctxOf(t)
	all, err := d.Backend.ListServers(ctx)
	must(t, "ListServers", err)
	for _, id := range d.Servers {
		i := slices.IndexFunc(all, func(s provision.Server) bool { return s.ID == id })
		if i < 0 {
			t.Fatalf("ListServers has no server %s", id)
		}
		if !all[i].Available(d.Config) {
			t.Fatalf("server %s is not available for %q in ListServers: %+v", id, d.Config, all[i])
		}
		s := server(t, ctx, d.Backend, id)
		if s.ID != id || s.OwnerID != all[i].OwnerID || s.Hostname != all[i].Hostname || !s.Available(d.Config) {
			t.Fatalf("GetServer(%s) = %+v, ListServers has %+v", id, s, all[i])
		}
	}
	if _, err := d.Backend.GetServer(ctx, "999999999"); err == nil {
		t.Fatalf("GetServer of a server that does not exist succeeded")
	}
}

func testOwner(t *testing.T, d Dedicated) {
	ctx := ctxOf(t)
	b, id := d.Backend, d.Servers[0]
	admin, err := b.AdminUserID(ctx)
	must(t, "AdminUserID", err)
	if admin == "" {
		t.Fatal("AdminUserID is empty")
	}
	cust, err := b.CreateUser(ctx, "contract1", "Contract-pw-1")
	must(t, "CreateUser", err)
	for _, step := range []struct{ what, to string }{
		{"nobody → admin", admin}, {"admin again", admin},
		{"admin → customer", cust}, {"customer again", cust},
		{"customer → admin", admin},
		{"admin → nobody", ""}, {"nobody again", ""},
	} {
		must(t, "SetOwner "+step.what, b.SetOwner(ctx, id, step.to))
		if got := server(t, ctx, b, id).OwnerID; got != step.to {
			t.Fatalf("SetOwner %s: GetServer shows owner %q, want %q", step.what, got, step.to)
		}
	}
}

func testDomain(t *testing.T, d Dedicated) {
	ctx := ctxOf(t)
	b, id := d.Backend, d.Servers[0]
	for _, dom := range []string{"s1.contract.example", "s1.contract.example", provision.FreeHostname} {
		must(t, "SetDomain "+dom, b.SetDomain(ctx, id, dom))
		if got := server(t, ctx, b, id).Hostname; got != dom {
			t.Fatalf("SetDomain(%q): GetServer shows hostname %q", dom, got)
		}
	}
}

func testEnableDisable(t *testing.T, d Dedicated) {
	ctx := ctxOf(t)
	b, id := d.Backend, d.Servers[0]
	for _, on := range []bool{false, false, true, true} {
		if on {
			must(t, "Enable", b.Enable(ctx, id))
		} else {
			must(t, "Disable", b.Disable(ctx, id))
		}
		if got := server(t, ctx, b, id).Disabled; got == on {
			t.Fatalf("after enable=%v GetServer shows Disabled %v", on, got)
		}
	}
	for _, on := range []bool{true, true, false, false, true} {
		must(t, "SetPorts", b.SetPorts(ctx, id, on))
	}
}

func testNotes(t *testing.T, d Dedicated) {
	err := d.Backend.SetNotes(ctxOf(t), d.Servers[0], "ispkit contract: notes")
	switch {
	case d.NoNotes && !errors.Is(err, provision.ErrUnsupported):
		t.Fatalf("SetNotes on a panel without notes = %v, want an error wrapping provision.ErrUnsupported", err)
	case !d.NoNotes:
		must(t, "SetNotes", err)
	}
}

func testUsers(t *testing.T, d Dedicated) {
	ctx := ctxOf(t)
	b := d.Backend
	if _, found, err := b.FindUser(ctx, "contract2"); err != nil || found {
		t.Fatalf("FindUser of a user that does not exist = found %v, %v", found, err)
	}
	id, err := b.CreateUser(ctx, "contract2", "Contract-pw-2")
	must(t, "CreateUser", err)
	got, found, err := b.FindUser(ctx, "contract2")
	must(t, "FindUser", err)
	if !found || got != id {
		t.Fatalf("FindUser after CreateUser = %q found %v, want %q", got, found, id)
	}
	must(t, "SetUserPassword", b.SetUserPassword(ctx, id, "Contract-pw-3"))
	must(t, "SetUserPassword again", b.SetUserPassword(ctx, id, "Contract-pw-3"))
	link, err := b.LoginURL(ctx, "contract2")
	must(t, "LoginURL", err)
	if link == "" {
		t.Fatal("LoginURL is empty")
	}
}

func testAddresses(t *testing.T, d Dedicated) {
	ctx := ctxOf(t)
	b, id := d.Backend, d.Servers[1]
	s := server(t, ctx, b, id)
	before, err := b.ListIPs(ctx, id)
	must(t, "ListIPs", err)
	if m := slices.IndexFunc(before, func(x provision.ServerIP) bool { return x.Main }); (s.IP != "" || m >= 0) && (m < 0 || before[m].IP != s.IP) {
		t.Fatalf("ListIPs %+v: the main address is not GetServer's IP %q", before, s.IP)
	}
	if d.IPGroup == "" {
		return
	}
	fam := d.IPFamily
	if fam == "" {
		fam = "ipv4"
	}
	x, err := b.AddIP(ctx, id, fam, d.IPGroup, "", provision.FreeHostname)
	must(t, "AddIP", err)
	if x.IP == "" || x.ID == "" {
		t.Fatalf("AddIP = %+v: no address or id", x)
	}
	after, err := b.ListIPs(ctx, id)
	must(t, "ListIPs after AddIP", err)
	i := slices.IndexFunc(after, func(y provision.ServerIP) bool { return y.IP == x.IP })
	if i < 0 || len(after) != len(before)+1 {
		t.Fatalf("ListIPs after AddIP %s = %+v", x.IP, after)
	}
	must(t, "RemoveIP", b.RemoveIP(ctx, id, after[i].ID))
	if err := b.RemoveIP(ctx, id, after[i].ID); err != nil {
		t.Fatalf("RemoveIP of an address no longer there = %v, want nil", err)
	}
	final, err := b.ListIPs(ctx, id)
	must(t, "ListIPs after RemoveIP", err)
	if slices.ContainsFunc(final, func(y provision.ServerIP) bool { return y.IP == x.IP }) || len(final) != len(before) {
		t.Fatalf("ListIPs after RemoveIP = %+v, want %+v", final, before)
	}
}

func testPowerInstall(t *testing.T, d Dedicated) {
	ctx := ctxOf(t)
	b, id := d.Backend, d.Servers[1]
	must(t, "Enable", b.Enable(ctx, id))
	must(t, "PowerOn", b.PowerOn(ctx, id))
	must(t, "PowerOn again", b.PowerOn(ctx, id))
	poll(t, "power on", func() (bool, error) {
		s, err := b.GetServer(ctx, id)
		return s.PoweredOn, err
	})
	must(t, "PowerOn of a powered server", b.PowerOn(ctx, id))
	st, err := b.InstallStatus(ctx, id)
	must(t, "InstallStatus", err)
	if st.Running {
		t.Fatalf("InstallStatus before any install = %+v", st)
	}
	spec := provision.InstallSpec{Template: d.OSTemplate, Recipe: d.Recipe, Password: "Contract-root-1", Hostname: "s2.contract.example"}
	must(t, "Install", b.Install(ctx, id, spec))
	st, err = b.InstallStatus(ctx, id)
	must(t, "InstallStatus after Install", err)
	if !st.Running || st.Failed {
		t.Fatalf("InstallStatus right after Install = %+v, want running", st)
	}
	// A second request while it runs: refused, or the same install.
	_ = b.Install(ctx, id, spec)
	st, err = b.InstallStatus(ctx, id)
	must(t, "InstallStatus after a second Install", err)
	if !st.Running || st.Failed {
		t.Fatalf("InstallStatus after a second Install while one runs = %+v, want the first still running", st)
	}
	if d.FinishInstall == nil {
		return
	}
	d.FinishInstall(t, id)
	poll(t, "install finished", func() (bool, error) {
		st, err := b.InstallStatus(ctx, id)
		if st.Failed {
			t.Fatalf("install failed: %+v", st)
		}
		return !st.Running, err
	})
}

// IPPool is an IPPool under test.
type IPPool struct {
	Pool provision.IPPool
	// Group has at least two free addresses of Family ("ipv4" when empty).
	Group, Family string
}

// RunIPPool runs the IPPool contract.
func RunIPPool(t *testing.T, newPool func(t *testing.T) IPPool) {
	t.Helper()
	t.Run("AllocateFindRelease", func(t *testing.T) {
		t.Parallel()
		p := newPool(t)
		ctx := ctxOf(t)
		fam := p.Family
		if fam == "" {
			fam = "ipv4"
		}
		if found, err := p.Pool.FindByNote(ctx, "contract/none"); err != nil || len(found) != 0 {
			t.Fatalf("FindByNote of an unused note = %v, %v", found, err)
		}
		a, err := p.Pool.Allocate(ctx, fam, p.Group, "a.contract.example", "contract/a")
		must(t, "Allocate", err)
		// The answer was "lost": the note finds the allocation.
		found, err := p.Pool.FindByNote(ctx, "contract/a")
		must(t, "FindByNote", err)
		if !slices.Equal(found, []string{a}) {
			t.Fatalf("FindByNote after Allocate = %v, want [%s]", found, a)
		}
		b, err := p.Pool.Allocate(ctx, fam, p.Group, "b.contract.example", "contract/b")
		must(t, "second Allocate", err)
		if b == a {
			t.Fatalf("two allocations got the same address %s", a)
		}
		must(t, "Release", p.Pool.Release(ctx, a))
		if err := p.Pool.Release(ctx, a); err != nil {
			t.Fatalf("Release of a released address = %v, want nil", err)
		}
		found, err = p.Pool.FindByNote(ctx, "contract/a")
		must(t, "FindByNote after Release", err)
		if len(found) != 0 {
			t.Fatalf("FindByNote after Release = %v, want none", found)
		}
		found, err = p.Pool.FindByNote(ctx, "contract/b")
		must(t, "FindByNote of the other", err)
		if !slices.Equal(found, []string{b}) {
			t.Fatalf("FindByNote of the other allocation = %v, want [%s]", found, b)
		}
	})
	t.Run("NotedAndCapacity", func(t *testing.T) {
		t.Parallel()
		p := newPool(t)
		ctx := ctxOf(t)
		fam := p.Family
		if fam == "" {
			fam = "ipv4"
		}
		if pc, ok := p.Pool.(provision.PoolCapacity); ok {
			n, err := pc.FreeCount(ctx, fam, p.Group)
			must(t, "FreeCount", err)
			if n < 2 {
				t.Fatalf("FreeCount(%s, %s) = %d, the group has at least two free", fam, p.Group, n)
			}
			n, err = pc.FreeCount(ctx, fam, "contract-no-such-group")
			must(t, "FreeCount of an unknown group", err)
			if n != 0 {
				t.Fatalf("FreeCount of an unknown group = %d, want 0", n)
			}
		}
		nl, ok := p.Pool.(provision.NotedLister)
		if !ok {
			return
		}
		a, err := p.Pool.Allocate(ctx, fam, p.Group, "", "contract/op1/srv/main")
		must(t, "Allocate", err)
		b, err := p.Pool.Allocate(ctx, fam, p.Group, "", "contract/op2/srv/main")
		must(t, "Allocate", err)
		list, err := nl.ListNoted(ctx, "contract/op1/")
		must(t, "ListNoted", err)
		if len(list) != 1 || list[0].IP != a || list[0].Note != "contract/op1/srv/main" {
			t.Fatalf("ListNoted(contract/op1/) = %+v, want only %s", list, a)
		}
		list, err = nl.ListNoted(ctx, "contract/")
		must(t, "ListNoted", err)
		var ips []string
		for _, x := range list {
			ips = append(ips, x.IP)
		}
		if !slices.Contains(ips, a) || !slices.Contains(ips, b) {
			t.Fatalf("ListNoted(contract/) = %v, want %s and %s", ips, a, b)
		}
		must(t, "Release", p.Pool.Release(ctx, a))
		list, err = nl.ListNoted(ctx, "contract/op1/")
		must(t, "ListNoted after Release", err)
		if len(list) != 0 {
			t.Fatalf("ListNoted after Release = %+v, want none", list)
		}
	})
}

// testOptionalReads checks the optional interfaces the backend has.
func testOptionalReads(t *testing.T, d Dedicated) {
	ctx := ctxOf(t)
	if c, ok := d.Backend.(provision.OSTemplateChecker); ok {
		has, err := c.HasOSTemplate(ctx, d.OSTemplate)
		if !errors.Is(err, provision.ErrUnsupported) {
			must(t, "HasOSTemplate", err)
			if !has {
				t.Fatalf("HasOSTemplate(%q) = false for the suite's template", d.OSTemplate)
			}
			has, err = c.HasOSTemplate(ctx, "contract__no-such-template")
			must(t, "HasOSTemplate of a made-up template", err)
			if has {
				t.Fatal("HasOSTemplate of a made-up template = true")
			}
		}
	}
	if pr, ok := d.Backend.(provision.SwitchPortReader); ok {
		srv := d.Servers[0]
		for _, on := range []bool{false, true} {
			must(t, "SetPorts", d.Backend.SetPorts(ctx, srv, on))
			poll(t, "switch ports read back", func() (bool, error) {
				st, err := pr.SwitchPortStatus(ctx, srv)
				if err != nil {
					return false, err
				}
				if st.On+st.Off+st.Busy == 0 {
					t.Fatal("SwitchPortStatus: the server has no switch port")
				}
				if on {
					return st.Off+st.Busy == 0, nil
				}
				return st.On+st.Busy == 0, nil
			})
		}
	}
}

// Hosting is a HostingBackend under test.
type Hosting struct {
	Backend provision.HostingBackend
	// Preset is an account template the panel has.
	Preset string
}

// RunHosting runs the HostingBackend contract.
func RunHosting(t *testing.T, newBackend func(t *testing.T) Hosting) {
	t.Helper()
	t.Run("Accounts", func(t *testing.T) {
		t.Parallel()
		h := newBackend(t)
		b, ctx := h.Backend, ctxOf(t)
		if ok, err := b.UserExists(ctx, "contract1"); err != nil || ok {
			t.Fatalf("UserExists of an account that does not exist = %v, %v", ok, err)
		}
		limits, err := b.PresetLimits(ctx, h.Preset)
		must(t, "PresetLimits", err)
		acct := provision.HostingAccount{Name: "contract1", Password: "Contract-pw-1", Preset: h.Preset, Limits: limits, Domain: "contract1.example"}
		must(t, "CreateUser", b.CreateUser(ctx, acct))
		if ok, err := b.UserExists(ctx, "contract1"); err != nil || !ok {
			t.Fatalf("UserExists after CreateUser = %v, %v", ok, err)
		}
		err = b.CreateUser(ctx, acct)
		if err == nil || !b.IsNameTaken(err) {
			t.Fatalf("a second CreateUser of the name = %v; want an error IsNameTaken reports", err)
		}
		if b.IsNameTaken(errors.New("some other failure")) {
			t.Fatal("IsNameTaken reports an unrelated error as a collision")
		}
		for _, step := range []struct {
			what string
			fn   func() error
		}{
			{"SuspendUser", func() error { return b.SuspendUser(ctx, "contract1") }},
			{"SuspendUser again", func() error { return b.SuspendUser(ctx, "contract1") }},
			{"ResumeUser", func() error { return b.ResumeUser(ctx, "contract1") }},
			{"ResumeUser again", func() error { return b.ResumeUser(ctx, "contract1") }},
			{"SetPassword", func() error { return b.SetPassword(ctx, "contract1", "Contract-pw-2") }},
		} {
			must(t, step.what, step.fn())
		}
		link, err := b.LoginURL(ctx, "contract1")
		must(t, "LoginURL", err)
		if link == "" {
			t.Fatal("LoginURL is empty")
		}
		must(t, "DeleteUser", b.DeleteUser(ctx, "contract1"))
		if ok, err := b.UserExists(ctx, "contract1"); err != nil || ok {
			t.Fatalf("UserExists after DeleteUser = %v, %v", ok, err)
		}
	})
}
