package dci6_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci6"
)

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	c, err := dcimanager6.NewClient("https://dci.example.com", dcimanager6.WithToken("ABCDEF0123456789ABCDEF01"))
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		opts []dci6.Option
		msg  string
	}{
		"no location":     {[]dci6.Option{dci6.UserDomain("example.com")}, "Location is required"},
		"no user mapping": {[]dci6.Option{dci6.Location(1)}, "UserDomain or UserEmail"},
		"bad location":    {[]dci6.Option{dci6.Location(0)}, "must be positive"},
		"bad admin":       {[]dci6.Option{dci6.AdminEmail("admin")}, "not an e-mail"},
		"bad domain":      {[]dci6.Option{dci6.UserDomain("a b")}, "not a domain"},
		"nil mapping":     {[]dci6.Option{dci6.UserEmail(nil)}, "nil function"},
		"nil sink":        {[]dci6.Option{dci6.NotesSink(nil)}, "nil function"},
	} {
		_, err := dci6.New(c, tc.opts...)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), tc.msg, name)
	}
	_, err = dci6.New(nil, dci6.Location(1), dci6.UserDomain("example.com"))
	require.Error(t, err)
	b, err := dci6.New(c, dci6.Location(1), dci6.UserDomain("@Clients.Example.com"), nil)
	require.NoError(t, err)
	email, err := b.UserEmailFor("John7")
	require.NoError(t, err)
	assert.Equal(t, "john7@clients.example.com", email)
	_, err = b.UserEmailFor("")
	require.Error(t, err)
}

// TestListServersMapsAvailability checks every seeded availability case:
// the mapped Server.Available agrees with the fake's §A6 rule, and each
// reason lands on the documented field.
func TestListServersMapsAvailability(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, 10*time.Millisecond)
	ctx := ctxFor(t)

	servers, err := e.b.ListServers(ctx)
	require.NoError(t, err)
	var ids []string
	for _, s := range servers {
		ids = append(ids, s.ID)
		assert.Equal(t, "1", s.Location, "only location 1 is listed")
		n := mustID(t, s.ID)
		assert.Equal(t, e.fake.Available(n), s.Available(""), "server %s: mapping agrees with the fake", s.ID)
	}
	assert.Equal(t, []string{"1", "2", "3", "4", "5", "6", "7"}, ids)

	byID := func(id string) provision.Server {
		i := slices.IndexFunc(servers, func(s provision.Server) bool { return s.ID == id })
		require.GreaterOrEqual(t, i, 0, id)
		return servers[i]
	}
	free := byID("1")
	assert.Equal(t, provision.Server{ID: "1", Name: "srv-ams-01", Hostname: provision.FreeHostname, Config: confE2146,
		Location: "1", SwitchPort: "sw-ams-1 GigabitEthernet1/0/1"}, free)
	assert.True(t, free.Available(confE2146))
	assert.False(t, free.Available(confI9), "other configuration")
	assert.True(t, byID("3").Available(confI9))

	owned := byID("4")
	assert.Equal(t, "2", owned.OwnerID)
	assert.Equal(t, "client1.example.com", owned.Hostname)
	assert.True(t, owned.PoweredOn)
	assert.NotEmpty(t, owned.IP)
	assert.False(t, owned.Available(""))

	fresh := byID("5")
	assert.True(t, fresh.DiagInProgress, "is_new: diagnostics not done")
	assert.False(t, fresh.Faulty)
	assert.False(t, fresh.Available(""))

	maint := byID("6")
	assert.True(t, maint.Faulty, "maintenance mode")
	assert.False(t, maint.Available(""))

	failed := byID("7")
	assert.True(t, failed.Faulty, "last operation error")
	assert.True(t, failed.InstallFailed)
	assert.False(t, failed.Available(""))

	other, err := dci6.New(e.c, dci6.Location(2), dci6.UserDomain("example.com"))
	require.NoError(t, err)
	servers, err = other.ListServers(ctx)
	require.NoError(t, err)
	require.Len(t, servers, 2)
	assert.Equal(t, "8", servers[0].ID)
	assert.Equal(t, "2", servers[0].Location)

	_, err = e.b.GetServer(ctx, "x")
	require.Error(t, err)
	_, err = e.b.GetServer(ctx, "999")
	require.True(t, dcimanager6.IsNotFound(err), "%v", err)
}

// TestAvailabilityCases changes single fields of free servers and checks
// the mapping of each.
func TestAvailabilityCases(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, 400*time.Millisecond)
	ctx := ctxFor(t)
	get := func(id int64) provision.Server {
		s, err := e.b.GetServer(ctx, sid(id))
		require.NoError(t, err)
		assert.Equal(t, e.fake.Available(id) && s.Hostname == provision.FreeHostname, s.Available(""), "server %d", id)
		return s
	}

	e.fake.UpdateMachine(1, func(m *dcimanager6test.Machine) { m.MaintenanceMode = true })
	s := get(1)
	assert.True(t, s.Faulty)
	assert.False(t, s.Available(""), "in maintenance")

	e.fake.UpdateMachine(2, func(m *dcimanager6test.Machine) { m.Owner = 1 })
	s = get(2)
	assert.Equal(t, "1", s.OwnerID)
	assert.Equal(t, provision.FreeHostname, s.Hostname, "an owned server keeps the domain free.ds")
	assert.False(t, s.Available(""), "owned")

	e.fake.UpdateMachine(3, func(m *dcimanager6test.Machine) { m.Domain = "" })
	s = get(3)
	assert.Equal(t, provision.FreeHostname, s.Hostname, "no owner and no domain counts as free.ds")
	assert.True(t, s.Available(confI9))

	e.fake.UpdateMachine(3, func(m *dcimanager6test.Machine) { m.Domain = "half.example.net" })
	s = get(3)
	assert.Equal(t, "half.example.net", s.Hostname)
	assert.False(t, s.Available(""), "no owner but a customer domain: not offered")

	e.fake.UpdateMachine(5, func(m *dcimanager6test.Machine) { m.Configuration = ""; m.IsNew = false })
	s = get(5)
	assert.True(t, s.Faulty, "no configuration")

	// A running operation makes the server busy; a canceled one leaves it
	// sellable.
	require.NoError(t, e.b.PowerOn(ctx, "2"))
	e.fake.UpdateMachine(2, func(m *dcimanager6test.Machine) { m.Owner = 0 })
	s = get(2)
	assert.True(t, s.DiagInProgress, "operation running")
	assert.False(t, s.Installing, "a power operation is not an install")
	assert.False(t, s.Available(""))
	op := machine(t, e.fake, 2).OperationID
	require.True(t, e.fake.CancelOperation(op))
	s = get(2)
	assert.False(t, s.DiagInProgress)
	assert.False(t, s.Faulty)
	assert.True(t, s.Available(confE2146), "last operation canceled")
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		require.True(t, c >= '0' && c <= '9', s)
		n = n*10 + int64(c-'0')
	}
	return n
}

func TestSetOwnerAndClear(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, 10*time.Millisecond)
	ctx := ctxFor(t)

	admin, err := e.b.AdminUserID(ctx)
	require.NoError(t, err)
	assert.Equal(t, "1", admin)

	require.NoError(t, e.b.SetOwner(ctx, "1", admin))
	assert.Equal(t, int64(1), machine(t, e.fake, 1).Owner)
	s, err := e.b.GetServer(ctx, "1")
	require.NoError(t, err)
	assert.Equal(t, admin, s.OwnerID)
	assert.False(t, s.Available(""))
	require.NoError(t, e.b.SetOwner(ctx, "1", admin), "idempotent")

	// Hold → customer: the fake refuses a direct change, the adapter
	// clears and sets.
	require.NoError(t, e.b.SetOwner(ctx, "1", "2"))
	assert.Equal(t, int64(2), machine(t, e.fake, 1).Owner)

	// A customer's server is never taken over by another customer.
	uid := e.fake.AddUser("other@example.com", "pw-other-1", "@user")
	err = e.b.SetOwner(ctx, "1", sid(uid))
	require.True(t, dcimanager6.IsConflict(err), "%v", err)
	assert.Equal(t, int64(2), machine(t, e.fake, 1).Owner)

	// ... but the integration may take it back (roll-back).
	require.NoError(t, e.b.SetOwner(ctx, "1", admin))
	assert.Equal(t, int64(1), machine(t, e.fake, 1).Owner)

	require.NoError(t, e.b.SetOwner(ctx, "1", ""))
	assert.Zero(t, machine(t, e.fake, 1).Owner)
	s, err = e.b.GetServer(ctx, "1")
	require.NoError(t, err)
	assert.Empty(t, s.OwnerID)
	assert.True(t, s.Available(confE2146))

	require.Error(t, e.b.SetOwner(ctx, "1", "bob"))
	require.Error(t, e.b.SetOwner(ctx, "1", "999"), "unknown user")
}

func TestSetDomain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, 10*time.Millisecond)
	ctx := ctxFor(t)
	require.NoError(t, e.b.SetOwner(ctx, "2", "1"))
	require.NoError(t, e.b.SetDomain(ctx, "2", "s117.example.net"))
	assert.Equal(t, "s117.example.net", machine(t, e.fake, 2).Domain)
	s, err := e.b.GetServer(ctx, "2")
	require.NoError(t, err)
	assert.Equal(t, "s117.example.net", s.Hostname)

	require.NoError(t, e.b.SetDomain(ctx, "2", provision.FreeHostname))
	require.NoError(t, e.b.SetOwner(ctx, "2", ""))
	s, err = e.b.GetServer(ctx, "2")
	require.NoError(t, err)
	assert.Equal(t, provision.FreeHostname, s.Hostname)
	assert.True(t, s.Available(confE2146))

	require.ErrorIs(t, e.b.SetDomain(ctx, "2", "bad domain"), dcimanager6.ErrInvalidArgument)
}

func portOf(t *testing.T, f *dcimanager6test.Server, server int64) dcimanager6test.Port {
	t.Helper()
	for _, p := range f.Ports() {
		if p.ServerID == server {
			return p
		}
	}
	t.Fatalf("server %d has no port", server)
	return dcimanager6test.Port{}
}

func TestPortsAndEnableDisable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, 10*time.Millisecond)
	ctx := ctxFor(t)

	require.NoError(t, e.b.SetPorts(ctx, "4", false))
	assert.Equal(t, "down", portOf(t, e.fake, 4).AdminStatus)
	s, err := e.b.GetServer(ctx, "4")
	require.NoError(t, err)
	assert.True(t, s.Disabled, "all ports down")

	require.NoError(t, e.b.SetPorts(ctx, "4", true))
	assert.Equal(t, "up", portOf(t, e.fake, 4).AdminStatus)
	s, err = e.b.GetServer(ctx, "4")
	require.NoError(t, err)
	assert.False(t, s.Disabled)

	require.NoError(t, e.b.Disable(ctx, "4"))
	assert.Equal(t, "down", portOf(t, e.fake, 4).AdminStatus)
	require.NoError(t, e.b.Enable(ctx, "4"))
	assert.Equal(t, "up", portOf(t, e.fake, 4).AdminStatus)

	off, err := dci6.New(e.c, dci6.Location(1), dci6.UserDomain("example.com"), dci6.PortToggle(false))
	require.NoError(t, err)
	before := len(e.fake.Requests())
	require.NoError(t, off.SetPorts(ctx, "4", false))
	require.NoError(t, off.Disable(ctx, "4"))
	assert.Len(t, e.fake.Requests(), before, "PortToggle(false): no panel call")
	assert.Equal(t, "up", portOf(t, e.fake, 4).AdminStatus)
	require.NoError(t, e.b.SetPorts(ctx, "4", false))
	s, err = off.GetServer(ctx, "4")
	require.NoError(t, err)
	assert.False(t, s.Disabled, "ports are not reported with PortToggle(false)")
}

func TestPower(t *testing.T) {
	t.Parallel()
	clock := newClock()
	e := newEnvOn(t, clock, time.Second, 20*time.Millisecond)
	ctx := ctxFor(t)
	powered := func(want bool) bool {
		s, err := e.b.GetServer(ctx, "1")
		require.NoError(t, err)
		return s.PoweredOn == want && !s.DiagInProgress
	}
	require.NoError(t, e.b.PowerOn(ctx, "1"))
	clock.Advance(20 * time.Millisecond) // the power operation's duration
	require.True(t, powered(true), "powered on")
	require.NoError(t, e.b.PowerOn(ctx, "1"), "already on: success")
	require.NoError(t, e.b.PowerOff(ctx, "1"))
	clock.Advance(20 * time.Millisecond)
	require.True(t, powered(false), "powered off")
	require.NoError(t, e.b.PowerOff(ctx, "1"), "already off: success")

	// A server busy with a power operation that lasts an hour (so it is
	// still running whatever the machine's load): the opposite command is
	// the panel's conflict.
	busy := newEnv(t, time.Second, time.Hour)
	s, err := busy.b.GetServer(ctx, "1")
	require.NoError(t, err)
	toggle := func(on bool) error {
		if on {
			return busy.b.PowerOn(ctx, "1")
		}
		return busy.b.PowerOff(ctx, "1")
	}
	require.NoError(t, toggle(!s.PoweredOn))
	err = toggle(s.PoweredOn)
	require.True(t, dcimanager6.IsConflict(err), "busy server: the conflict is returned: %v", err)
}

// A power command repeated while the first one runs (its answer was lost)
// is success: the wanted change is under way.
func TestPowerRepeatedWhileRunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, time.Hour)
	ctx := ctxFor(t)
	require.NoError(t, e.b.PowerOn(ctx, "1"))
	require.NoError(t, e.b.PowerOn(ctx, "1"), "the same command runs")
	s, err := e.b.GetServer(ctx, "1")
	require.NoError(t, err)
	require.False(t, s.PoweredOn)
	err = e.b.PowerOff(ctx, "1")
	require.True(t, dcimanager6.IsConflict(err), "another command runs: the conflict is returned: %v", err)
}

func TestInstallRunsToDone(t *testing.T) {
	t.Parallel()
	clock := newClock()
	e := newEnvOn(t, clock, 10*time.Minute, 10*time.Millisecond)
	ctx := ctxFor(t)

	st, err := e.b.InstallStatus(ctx, "1")
	require.NoError(t, err)
	assert.Equal(t, provision.InstallStatus{Percent: -1}, st, "only diagnostics ran so far")

	require.NoError(t, e.b.Install(ctx, "1", provision.InstallSpec{Template: "debian 12", Recipe: "null", Password: "Root-pw-1", Hostname: "s1.example.net"}))
	in := machine(t, e.fake, 1).LastInstall
	require.NotNil(t, in)
	assert.Equal(t, int64(2), in.TemplateID, "Debian 12 of location 1")
	assert.Equal(t, "Root-pw-1", in.Password)
	assert.Equal(t, "s1.example.net", in.Hostname)
	assert.Empty(t, in.Recipes)

	st, err = e.b.InstallStatus(ctx, "1")
	require.NoError(t, err)
	assert.True(t, st.Running)
	assert.False(t, st.Failed)
	assert.GreaterOrEqual(t, st.Percent, 0)
	assert.Less(t, st.Percent, 100)
	s, err := e.b.GetServer(ctx, "1")
	require.NoError(t, err)
	assert.True(t, s.Installing)

	// Minute by minute through the 10-minute install.
	var seen []int
	for range 10 {
		clock.Advance(time.Minute)
		st, err = e.b.InstallStatus(ctx, "1")
		require.NoError(t, err)
		seen = append(seen, st.Percent)
	}
	assert.False(t, st.Running, "the install is done at its end")
	assert.False(t, st.Failed)
	assert.Equal(t, 100, st.Percent)
	assert.True(t, slices.IsSorted(seen), "progress only grows: %v", seen)
	m := machine(t, e.fake, 1)
	assert.Equal(t, int64(2), m.OSTemplateID)
	assert.Equal(t, "s1.example.net", m.Domain)
	s, err = e.b.GetServer(ctx, "1")
	require.NoError(t, err)
	assert.True(t, s.PoweredOn)
	assert.False(t, s.Installing)
	assert.NotEmpty(t, s.IP)
}

func TestInstallSpecResolution(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Millisecond, 10*time.Millisecond)
	ctx := ctxFor(t)

	// By id with a script id.
	require.NoError(t, e.b.Install(ctx, "2", provision.InstallSpec{Template: "1", Recipe: "7", Password: "Root-pw-1"}))
	in := machine(t, e.fake, 2).LastInstall
	assert.Equal(t, int64(1), in.TemplateID)
	assert.Equal(t, []int64{7}, in.Recipes)

	err := e.b.Install(ctx, "3", provision.InstallSpec{Template: "Ubuntu 24.04", Recipe: "#local__lamp", Password: "Root-pw-1"})
	require.ErrorIs(t, err, provision.ErrUnsupported)
	var ue *dci6.UnsupportedError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "Install", ue.Op)

	err = e.b.Install(ctx, "3", provision.InstallSpec{Template: "AlmaLinux 9", Password: "Root-pw-1"})
	require.ErrorContains(t, err, `no OS template "AlmaLinux 9" in location 1`, "templates are per location")
	err = e.b.Install(ctx, "3", provision.InstallSpec{Template: "Diagnostics", Password: "Root-pw-1"})
	require.ErrorContains(t, err, "no OS template", "only os templates")
	require.Error(t, e.b.Install(ctx, "3", provision.InstallSpec{Password: "Root-pw-1"}))
	require.ErrorIs(t, e.b.Install(ctx, "3", provision.InstallSpec{Template: "1"}), dcimanager6.ErrInvalidArgument, "no password")
	assert.Nil(t, machine(t, e.fake, 3).LastInstall, "nothing was sent")
}

func TestInstallFailure(t *testing.T) {
	t.Parallel()
	clock := newClock()
	e := newEnvOn(t, clock, 40*time.Millisecond, 10*time.Millisecond)
	ctx := ctxFor(t)

	e.fake.FailNextOperation("os_install", "disk not found")
	require.NoError(t, e.b.Install(ctx, "1", provision.InstallSpec{Template: "1", Password: "Root-pw-1"}))
	clock.Advance(40 * time.Millisecond) // the install's duration
	st, err := e.b.InstallStatus(ctx, "1")
	require.NoError(t, err)
	require.False(t, st.Running, "install failed")
	assert.True(t, st.Failed)
	assert.Equal(t, "disk not found", st.Message)
	assert.GreaterOrEqual(t, st.Percent, 0)
	s, err := e.b.GetServer(ctx, "1")
	require.NoError(t, err)
	assert.True(t, s.InstallFailed)
	assert.True(t, s.Faulty)
	assert.False(t, s.Available(""), "failed last operation")

	// A canceled install is a failure too.
	slow := newEnv(t, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, slow.b.Install(ctx, "2", provision.InstallSpec{Template: "1", Password: "Root-pw-1"}))
	require.True(t, slow.fake.CancelOperation(machine(t, slow.fake, 2).OperationID))
	st, err = slow.b.InstallStatus(ctx, "2")
	require.NoError(t, err)
	assert.False(t, st.Running)
	assert.True(t, st.Failed)
	assert.Contains(t, st.Message, "canceled")

	// The seeded server 7 shows its old failed install until a new one.
	st, err = e.b.InstallStatus(ctx, "7")
	require.NoError(t, err)
	assert.True(t, st.Failed)
	assert.Equal(t, "installation failed: disk not found", st.Message)
}

// TestInstallStatusFollowsItsOperation checks that a power operation
// started after the install does not hide the install's progress, and
// that a power operation alone is not an install.
func TestInstallStatusFollowsItsOperation(t *testing.T) {
	t.Parallel()
	e := newEnvOn(t, newClock(), 30*time.Millisecond, 2*time.Second) // the power operation never ends
	ctx := ctxFor(t)
	require.NoError(t, e.b.PowerOn(ctx, "3"))
	st, err := e.b.InstallStatus(ctx, "3")
	require.NoError(t, err)
	assert.Equal(t, provision.InstallStatus{Percent: -1}, st, "a running power operation is no install")

	clock := newClock()
	f := newEnvOn(t, clock, 30*time.Millisecond, 10*time.Millisecond)
	require.NoError(t, f.b.Install(ctx, "1", provision.InstallSpec{Template: "1", Password: "Root-pw-1"}))
	clock.Advance(30 * time.Millisecond) // the install's duration
	st, err = f.b.InstallStatus(ctx, "1")
	require.NoError(t, err)
	require.False(t, st.Running, "installed")
	require.NoError(t, f.b.PowerOff(ctx, "1")) // the install powered it on
	st, err = f.b.InstallStatus(ctx, "1")
	require.NoError(t, err)
	assert.Equal(t, provision.InstallStatus{Percent: 100}, st, "the install's own operation is read")
}

func TestIPs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, 10*time.Millisecond)
	ctx := ctxFor(t)

	ips, err := e.b.ListIPs(ctx, "4")
	require.NoError(t, err)
	require.Len(t, ips, 1)
	s, err := e.b.GetServer(ctx, "4")
	require.NoError(t, err)
	assert.Equal(t, provision.ServerIP{ID: ips[0].ID, IP: s.IP, Family: "ipv4", Domain: "client1.example.com", Main: true}, ips[0])
	assert.True(t, strings.HasPrefix(ips[0].IP, "192.0.2."))

	ips, err = e.b.ListIPs(ctx, "1")
	require.NoError(t, err)
	assert.Empty(t, ips)

	// Without the IP service the server's own list is used.
	e.fake.Inject(dcimanager6test.Fault{Match: "GET /ip/v3/ip", Kind: dcimanager6test.FaultPanelError, Status: 404, Code: dcimanager6test.CodeNotFound, Msg: "no such service"})
	ips2, err := e.b.ListIPs(ctx, "4")
	require.NoError(t, err)
	require.Len(t, ips2, 1)
	assert.Equal(t, s.IP, ips2[0].IP)
	assert.True(t, ips2[0].Main)

	require.NoError(t, e.b.RemoveIP(ctx, "4", "999"), "not on the server: nothing to do")
	require.Error(t, e.b.RemoveIP(ctx, "4", "x"))
}

// TestAddRemoveIP: extra addresses come from the location's pool chosen
// by group, a specific address is bound as asked, and RemoveIP frees them
// (the fake's state agrees); the main address stays first.
func TestAddRemoveIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, 10*time.Millisecond)
	ctx := ctxFor(t)

	x, err := e.b.AddIP(ctx, "4", "ipv4", "public", "", "x.example.net")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(x.IP, "192.0.2."), "a pool of location 1: %s", x.IP)
	assert.Equal(t, "ipv4", x.Family)
	assert.Equal(t, "x.example.net", x.Domain)
	y, err := e.b.AddIP(ctx, "4", "ipv4", "2", "198.51.100.15", "") // numeric group = pool id
	if err == nil {
		t.Fatalf("a pool of another location must be refused, got %+v", y)
	}
	y, err = e.b.AddIP(ctx, "4", "ipv4", "public", "192.0.2.19", "y.example.net")
	require.NoError(t, err)
	assert.Equal(t, "192.0.2.19", y.IP)
	_, err = e.b.AddIP(ctx, "4", "ipv6", "public", "", "")
	require.ErrorIs(t, err, provision.ErrNotFound, "no IPv6 pool in the seed")
	_, err = e.b.AddIP(ctx, "1", "ipv4", "public", "192.0.2.19", "")
	require.True(t, dcimanager6.IsConflict(err), "an address is never handed out twice: %v", err)

	ips, err := e.b.ListIPs(ctx, "4")
	require.NoError(t, err)
	require.Len(t, ips, 3)
	assert.True(t, ips[0].Main)
	assert.False(t, ips[1].Main)
	for _, ip := range e.fake.IPs() {
		if ip.Name == x.IP || ip.Name == y.IP {
			assert.Equal(t, int64(4), ip.ServerID)
			assert.Equal(t, "allocated", ip.Status)
		}
	}
	s, err := e.b.GetServer(ctx, "4")
	require.NoError(t, err)
	assert.Equal(t, ips[0].IP, s.IP, "the main address stays first")

	require.NoError(t, e.b.RemoveIP(ctx, "4", x.ID))
	require.NoError(t, e.b.RemoveIP(ctx, "4", x.ID), "a repeat is success")
	require.NoError(t, e.b.RemoveIP(ctx, "1", y.ID), "an address of another server is not touched")
	for _, ip := range e.fake.IPs() {
		switch ip.Name {
		case x.IP:
			assert.Equal(t, "free", ip.Status)
			assert.Zero(t, ip.ServerID)
		case y.IP:
			assert.Equal(t, int64(4), ip.ServerID)
		}
	}
}

// TestAddIPLostAnswer: the panel binds the address but the answer is
// lost; AddIP finds the assignment by its note instead of failing or
// binding a second address.
func TestAddIPLostAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, 10*time.Millisecond)
	ctx := ctxFor(t)
	e.fake.Inject(dcimanager6test.Fault{Match: "POST /ip/v3/ip", Kind: dcimanager6test.FaultDropAfter})
	x, err := e.b.AddIP(ctx, "4", "ipv4", "public", "", "")
	require.NoError(t, err)
	n := 0
	for _, ip := range e.fake.IPs() {
		if ip.ServerID == 4 {
			n++
		}
	}
	assert.Equal(t, 2, n, "main + exactly one extra")
	assert.NotEmpty(t, x.ID)
}

func TestUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, 10*time.Millisecond)
	ctx := ctxFor(t)

	id, found, err := e.b.FindUser(ctx, "client1")
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "2", id)

	_, found, err = e.b.FindUser(ctx, "newbie")
	require.NoError(t, err)
	assert.False(t, found)
	id, err = e.b.CreateUser(ctx, "newbie", "Newbie-pw-1")
	require.NoError(t, err)
	i := slices.IndexFunc(e.fake.Users(), func(u dcimanager6test.User) bool { return sid(u.ID) == id })
	require.GreaterOrEqual(t, i, 0)
	u := e.fake.Users()[i]
	assert.Equal(t, "newbie@example.com", u.Email)
	assert.Equal(t, "@user", u.Role)
	assert.Equal(t, "Newbie-pw-1", u.Password)
	got, found, err := e.b.FindUser(ctx, "NewBie")
	require.NoError(t, err)
	assert.True(t, found, "user names map case-insensitively")
	assert.Equal(t, id, got)
	_, err = e.b.CreateUser(ctx, "newbie", "Newbie-pw-2")
	require.True(t, dcimanager6.IsConflict(err), "%v", err)

	require.NoError(t, e.b.SetUserPassword(ctx, id, "New-pw-3"))
	u = e.fake.Users()[i]
	assert.Equal(t, "New-pw-3", u.Password)
	require.ErrorIs(t, e.b.SetUserPassword(ctx, "1", "x"), dci6.ErrAdminAccount, "the admin's password is never changed")
	assert.Equal(t, dcimanager6test.AdminPassword, e.fake.Users()[0].Password)
	require.Error(t, e.b.SetUserPassword(ctx, "999", "x"))

	u2, err := e.b.LoginURL(ctx, "newbie")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(u2, e.fake.URL()+"/auth/key-v4/"+id+"-"), u2)
	_, err = e.b.LoginURL(ctx, "ghost")
	require.ErrorIs(t, err, provision.ErrNotFound)
}

// TestAdministratorsAreRefused: no user name may reach an administrator
// account (a login link for it would hand out the panel).
func TestAdministratorsAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, 10*time.Millisecond)
	ctx := ctxFor(t)
	e.fake.AddUser("boss@example.com", "Boss-pw-1", "@admin")

	for _, name := range []string{"admin", "boss"} {
		_, _, err := e.b.FindUser(ctx, name)
		require.ErrorIs(t, err, dci6.ErrAdminAccount, name)
		_, err = e.b.LoginURL(ctx, name)
		require.ErrorIs(t, err, dci6.ErrAdminAccount, name)
	}
	_, err := e.b.CreateUser(ctx, "admin", "pw-Admin-2")
	require.ErrorIs(t, err, dci6.ErrAdminAccount)
}

func TestUserEmailAndAdminLookup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, 10*time.Millisecond)
	ctx := ctxFor(t)
	b, err := dci6.New(e.c, dci6.Location(1), dci6.UserEmail(func(n string) string { return "bm+" + n + "@clients.example.org" }))
	require.NoError(t, err)
	id, err := b.CreateUser(ctx, "alice", "Alice-pw-1")
	require.NoError(t, err)
	got, found, err := b.FindUser(ctx, "alice")
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, id, got)
	assert.True(t, slices.ContainsFunc(e.fake.Users(), func(u dcimanager6test.User) bool { return u.Email == "bm+alice@clients.example.org" }))

	bad, err := dci6.New(e.c, dci6.Location(1), dci6.UserEmail(func(n string) string { return n }))
	require.NoError(t, err)
	_, _, err = bad.FindUser(ctx, "alice")
	require.ErrorContains(t, err, "not an e-mail address")

	// Without AdminEmail the session's user is the admin.
	admin, err := b.AdminUserID(ctx)
	require.NoError(t, err)
	assert.Equal(t, "1", admin)
	wrong, err := dci6.New(e.c, dci6.Location(1), dci6.UserDomain("example.com"), dci6.AdminEmail("nobody@example.com"))
	require.NoError(t, err)
	_, err = wrong.AdminUserID(ctx)
	require.True(t, dcimanager6.IsNotFound(err), "%v", err)
}

func TestNotes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, 10*time.Millisecond)
	ctx := ctxFor(t)
	err := e.b.SetNotes(ctx, "1", "install failed")
	require.ErrorIs(t, err, provision.ErrUnsupported)
	var ue *dci6.UnsupportedError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "SetNotes", ue.Op)

	var mu sync.Mutex
	got := map[string]string{}
	b, err := dci6.New(e.c, dci6.Location(1), dci6.UserDomain("example.com"), dci6.NotesSink(func(_ context.Context, id, notes string) error {
		mu.Lock()
		defer mu.Unlock()
		got[id] = notes
		return nil
	}))
	require.NoError(t, err)
	require.NoError(t, b.SetNotes(ctx, "1", "install failed"))
	assert.Equal(t, map[string]string{"1": "install failed"}, got)
	sinkErr := errors.New("sink down")
	b, err = dci6.New(e.c, dci6.Location(1), dci6.UserDomain("example.com"), dci6.NotesSink(func(context.Context, string, string) error { return sinkErr }))
	require.NoError(t, err)
	require.ErrorIs(t, b.SetNotes(ctx, "1", "x"), sinkErr)
}
