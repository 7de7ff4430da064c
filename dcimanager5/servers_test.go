package dcimanager5_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/internal/wait"
)

func TestServersListAndAvailable(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := ctxT(t)
	list, err := c.Servers.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 6)
	byName := map[string]dcimanager5.Server{}
	for _, s := range list {
		byName[s.Name] = s
	}
	owned := byName["srv-05"]
	assert.Equal(t, userID(t, srv, "client1"), owned.Owner)
	assert.Equal(t, "client1.example.com", owned.Hostname)
	assert.True(t, owned.PowerOn)
	assert.True(t, byName["srv-04"].HWProblem)
	assert.Equal(t, "IPMI S1", byName["srv-01"].IPMI)

	free, err := c.Servers.ListAvailable(ctx, "E3-16GB")
	require.NoError(t, err)
	require.Len(t, free, 2)
	assert.Equal(t, "srv-01", free[0].Name)
	assert.Equal(t, "srv-02", free[1].Name)

	legacy, err := c.Servers.ListAvailable(ctx, "legacy-atom")
	require.NoError(t, err)
	require.Len(t, legacy, 1, "matched on type")

	require.NoError(t, srv.SetHardware(free[0].ID, dcimanager5test.HardwareFlags{DiagInProgress: true}))
	free, err = c.Servers.ListAvailable(ctx, "E3-16GB")
	require.NoError(t, err)
	require.Len(t, free, 1)

	got, err := c.Servers.Get(ctx, owned.ID)
	require.NoError(t, err)
	assert.Equal(t, owned, *got)
	_, err = c.Servers.Get(ctx, 999)
	assert.True(t, dcimanager5.IsNotFound(err), "%v", err)
}

func TestServerFormReadModifyWrite(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := ctxT(t)
	s1 := serverByName(t, srv, "srv-01")

	f, err := c.Servers.Form(ctx, s1.ID)
	require.NoError(t, err)
	assert.Equal(t, "srv-01", f.Name)
	assert.Equal(t, "0c:c4:7a:00:00:01", f.MAC)
	assert.Equal(t, "1U", f.Type)
	assert.Zero(t, f.Owner)
	assert.False(t, f.Disabled)

	notes := "reserved for order 42"
	_, err = c.Servers.Update(ctx, s1.ID, dcimanager5.ServerUpdate{Notes: &notes})
	require.NoError(t, err)
	st, _ := srv.Server(s1.ID)
	assert.Equal(t, notes, st.Notes)
	assert.Equal(t, "srv-01", st.Name, "untouched fields are resent")
	assert.Equal(t, "0c:c4:7a:00:00:01", st.MAC)
	assert.Equal(t, "1U", st.Type)

	admin := userID(t, srv, dcimanager5test.DefaultAdmin)
	require.NoError(t, c.Servers.SetOwner(ctx, s1.ID, admin))
	st, _ = srv.Server(s1.ID)
	assert.Equal(t, admin, st.Owner)
	assert.Equal(t, notes, st.Notes, "SetOwner keeps the notes")
	f, err = c.Servers.Form(ctx, s1.ID)
	require.NoError(t, err)
	assert.Equal(t, admin, f.Owner)

	require.NoError(t, c.Servers.ClearOwner(ctx, s1.ID))
	st, _ = srv.Server(s1.ID)
	assert.Zero(t, st.Owner)
	assert.Equal(t, "srv-01", st.Name)

	err = c.Servers.SetOwner(ctx, s1.ID, 4242)
	assert.True(t, dcimanager5.IsValue(err), "unknown owner: %v", err)
	err = c.Servers.SetOwner(ctx, 999, admin)
	assert.True(t, dcimanager5.IsNotFound(err), "unknown server: %v", err)

	err = c.Servers.SetOwner(ctx, 0, admin)
	var ae *dcimanager5.ArgumentError
	assert.ErrorAs(t, err, &ae)
	assert.ErrorIs(t, err, dcimanager5.ErrInvalidArgument)
}

func TestEnableDisableAndConnections(t *testing.T) {
	t.Parallel()
	// The switch ports change on the fake's clock, which moves only when
	// the test says: "in progress" is seen for certain, and each wait ends
	// once the clock is advanced past the port's delay.
	clock := dcimanager5test.NewManualClock()
	srv, c := newEnv(t, []dcimanager5test.Option{dcimanager5test.WithClock(clock)})
	ctx := ctxT(t)
	settle := func() { clock.Advance(time.Hour) }
	id := serverByName(t, srv, "srv-02").ID

	conns, err := c.Connections.List(ctx, id)
	require.NoError(t, err)
	require.Len(t, conns, 2)
	assert.Equal(t, dcimanager5.ConnectionSwitch, conns[0].Type)
	assert.Equal(t, dcimanager5.ConnectionIPMI, conns[1].Type)
	assert.Equal(t, "on", conns[0].Status)

	sw, err := c.Connections.Get(ctx, id, conns[0].ID)
	require.NoError(t, err)
	assert.Equal(t, "Gi1/0/2", sw.Port)
	ipmi, err := c.Connections.Get(ctx, id, conns[1].ID)
	require.NoError(t, err)
	assert.Equal(t, "10.20.0.3", ipmi.IP)
	sum, err := c.Connections.Summary(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, &dcimanager5.Summary{SwitchPort: "Gi1/0/2", IPMIAddress: "10.20.0.3"}, sum)

	require.NoError(t, c.Servers.Disable(ctx, id))
	s, err := c.Servers.Get(ctx, id)
	require.NoError(t, err)
	assert.True(t, s.Disabled)
	f, err := c.Servers.Form(ctx, id)
	require.NoError(t, err)
	assert.True(t, f.Disabled)
	conns, err = c.Connections.List(ctx, id)
	require.NoError(t, err)
	assert.True(t, conns[0].InProgress, "disable switches the port off asynchronously")
	settle()
	require.NoError(t, c.Connections.WaitConnectionsIdle(ctx, id, nil))
	assert.False(t, srv.Connections(id)[0].On)

	require.NoError(t, c.Servers.Enable(ctx, id))
	settle()
	_, err = c.Servers.WaitEnabled(ctx, id, nil)
	require.NoError(t, err)
	require.NoError(t, c.Connections.WaitConnectionsIdle(ctx, id, nil))
	assert.True(t, srv.Connections(id)[0].On)

	require.NoError(t, c.Connections.Off(ctx, id, conns[0].ID))
	settle()
	require.NoError(t, c.Connections.WaitConnectionsIdle(ctx, id, nil))
	assert.False(t, srv.Connections(id)[0].On)
	require.NoError(t, c.Connections.On(ctx, id, conns[0].ID))
	settle()
	require.NoError(t, c.Connections.WaitConnectionsIdle(ctx, id, nil))
	assert.True(t, srv.Connections(id)[0].On)

	require.NoError(t, c.Connections.SetNetwork(ctx, id, false))
	settle()
	require.NoError(t, c.Connections.WaitConnectionsIdle(ctx, id, nil))
	st := srv.Connections(id)
	assert.False(t, st[0].On)
	assert.True(t, st[1].On, "IPMI is left alone")

	err = c.Connections.On(ctx, id, 999)
	assert.True(t, dcimanager5.IsNotFound(err), "%v", err)
}

func TestPowerAndWaiters(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := ctxT(t)
	id := serverByName(t, srv, "srv-03").ID

	require.NoError(t, c.Servers.PowerOn(ctx, id))
	var seen int
	s, err := c.Servers.WaitPoweredOn(ctx, id, &dcimanager5.WaitOptions{OnProgress: func(dcimanager5.Server) { seen++ }})
	require.NoError(t, err)
	assert.True(t, s.PowerOn)
	assert.GreaterOrEqual(t, seen, 1)

	require.NoError(t, c.Servers.Reboot(ctx, id))
	_, err = c.Servers.WaitPoweredOn(ctx, id, nil)
	require.NoError(t, err)

	require.NoError(t, c.Servers.PowerOff(ctx, id))
	s, err = c.Servers.WaitPoweredOff(ctx, id, nil)
	require.NoError(t, err)
	assert.True(t, s.PowerOff)

	require.NoError(t, srv.FailNextPower(id))
	require.NoError(t, c.Servers.PowerOn(ctx, id))
	_, err = c.Servers.WaitPoweredOn(ctx, id, nil)
	var pe *dcimanager5.PowerError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, id, pe.ServerID)
	assert.True(t, pe.Server.PowerError)
}

func TestWaitTimeoutSaysWhatIsPending(t *testing.T) {
	t.Parallel()
	// The panel and the client's waiter share one fake clock, which moves
	// only through the waiter's pauses.
	clock := wait.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv, c := newEnv(t, []dcimanager5test.Option{dcimanager5test.WithPowerDuration(time.Hour), dcimanager5test.WithClock(clock)},
		dcimanager5.WithClock(clock))
	id := serverByName(t, srv, "srv-01").ID
	ctx := ctxT(t)
	require.NoError(t, c.Servers.PowerOn(ctx, id))
	start := clock.Now()
	pauses, err := clock.Drive(ctx, func() error {
		_, err := c.Servers.WaitPoweredOn(ctx, id, &dcimanager5.WaitOptions{Interval: time.Second, MaxInterval: 10 * time.Second, Timeout: time.Minute})
		return err
	})
	require.Error(t, err)
	assert.Equal(t, start.Add(time.Minute), clock.Now(), "the wait gave up at its deadline, on its clock")
	var we *dcimanager5.WaitError
	require.ErrorAs(t, err, &we)
	assert.ErrorIs(t, err, errors.Unwrap(we))
	assert.ErrorIs(t, err, contextDeadline)
	assert.Contains(t, err.Error(), "poweron not set")
	assert.Contains(t, err.Error(), "power on")
	assert.Greater(t, we.Polls, 1)
	assert.Len(t, pauses, we.Polls-1, "one pause between polls")
}

func TestInstallAndWait(t *testing.T) {
	t.Parallel()
	// The panel and the client's waiter share a fake clock: the install
	// advances only through the waiter's pauses, so the first poll sees
	// it running however slow the machine.
	clock := wait.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv, c := newEnv(t, []dcimanager5test.Option{dcimanager5test.WithClock(clock)}, dcimanager5.WithClock(clock))
	ctx := ctxT(t)
	id := serverByName(t, srv, "srv-01").ID

	form, err := c.Servers.InstallForm(ctx, id)
	require.NoError(t, err)
	require.Len(t, form.Templates, 4)
	assert.Equal(t, "ISPsystem__CentOS-7-amd64", form.Templates[0].Key)
	assert.Equal(t, "null", form.Recipes[0].Key)

	tpls, err := c.OSTemplates.List(ctx)
	require.NoError(t, err)
	require.Len(t, tpls, 4)
	assert.Equal(t, dcimanager5.OSTemplate{ID: "ISPsystem__Debian-12-x86_64", Name: "Debian-12-x86_64", Repository: "ISPsystem", OSType: "linux"}, tpls[1])

	err = c.Servers.Install(ctx, id, dcimanager5.InstallRequest{Template: tpls[1].ID, Password: "Root-pw-123", Recipe: "#local__lamp", Hostname: "web1.example.com"})
	require.NoError(t, err)
	var progress []dcimanager5.Server
	var s *dcimanager5.Server
	_, err = clock.Drive(ctx, func() error {
		var err error
		s, err = c.Servers.WaitInstalled(ctx, id, &dcimanager5.WaitOptions{OnProgress: func(s dcimanager5.Server) { progress = append(progress, s) }})
		return err
	})
	require.NoError(t, err)
	assert.True(t, s.Installed())
	assert.True(t, s.PowerOn, "the fake leaves an installed server powered on")
	require.NotEmpty(t, progress)
	assert.True(t, progress[0].InstallInProgress)
	st, _ := srv.Server(id)
	assert.Equal(t, "ISPsystem__Debian-12-x86_64", st.OSTemplate)
	assert.Equal(t, "#local__lamp", st.Recipe)
	assert.Equal(t, "web1.example.com", st.InstallHostname)

	// Rejected by the panel: unknown template and recipe.
	err = c.Servers.Install(ctx, id, dcimanager5.InstallRequest{Template: "ISPsystem__Nope-1", Password: "x"})
	assert.True(t, dcimanager5.IsValue(err), "%v", err)
	err = c.Servers.Install(ctx, id, dcimanager5.InstallRequest{Template: tpls[0].ID, Password: "x", Recipe: "repo__missing"})
	assert.True(t, dcimanager5.IsValue(err), "%v", err)
}

func TestInstallValidationSendsNothing(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := ctxT(t)
	bad := []dcimanager5.InstallRequest{
		{Template: "CentOS-7", Password: "pw"},
		{Template: "__CentOS-7", Password: "pw"},
		{Template: "ISPsystem__", Password: "pw"},
		{Template: "ISPsystem__CentOS 7", Password: "pw"},
		{Template: "ISPsystem__CentOS-7-amd64", Password: ""},
		{Template: "ISPsystem__CentOS-7-amd64", Password: "pw", Recipe: "lamp"},
		{Template: "ISPsystem__CentOS-7-amd64", Password: "pw", Recipe: "#local__"},
		{Template: "ISPsystem__CentOS-7-amd64", Password: "pw", Hostname: "bad host"},
	}
	for _, r := range bad {
		err := c.Servers.Install(ctx, 1, r)
		var ae *dcimanager5.ArgumentError
		require.ErrorAs(t, err, &ae, "%+v", r)
		assert.NotContains(t, err.Error(), "pw\"")
	}
	for _, ok := range []string{"", "null", "#local__lamp", "ISPsystem__docker"} {
		require.NoError(t, dcimanager5.InstallRequest{Template: "ISPsystem__CentOS-7-amd64", Password: "pw", Recipe: ok}.Validate())
	}
	assert.Zero(t, srv.RequestCount("server.operations"))
}

func TestInstallFailureDetectedFast(t *testing.T) {
	t.Parallel()
	// A 10-minute install on the fake clock that the panel and the
	// client's waiter share.
	clock := wait.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv, c := newEnv(t, []dcimanager5test.Option{dcimanager5test.WithInstallDuration(10 * time.Minute), dcimanager5test.WithClock(clock)},
		dcimanager5.WithClock(clock))
	ctx := ctxT(t)
	id := serverByName(t, srv, "srv-02").ID
	require.NoError(t, srv.FailNextInstall(id))
	require.NoError(t, c.Servers.Install(ctx, id, dcimanager5.InstallRequest{Template: "ISPsystem__CentOS-7-amd64", Password: "pw-1"}))
	opts := &dcimanager5.WaitOptions{Interval: 30 * time.Second, MaxInterval: time.Minute, Timeout: time.Hour}
	installed := func() error { _, err := c.Servers.WaitInstalled(ctx, id, opts); return err }
	start := clock.Now()
	_, err := clock.Drive(ctx, installed)
	var ie *dcimanager5.InstallFailedError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, id, ie.ServerID)
	assert.True(t, ie.Server.OperationFailed)
	took := clock.Now().Sub(start)
	assert.GreaterOrEqual(t, took, 10*time.Minute, "the failure appears when the install ends")
	assert.LessOrEqual(t, took, 11*time.Minute,
		"failure is reported at the first poll after it appears (pauses of at most a minute), not at the one-hour timeout")

	// A new install clears operation_failed.
	require.NoError(t, c.Servers.Install(ctx, id, dcimanager5.InstallRequest{Template: "ISPsystem__CentOS-7-amd64", Password: "pw-1"}))
	_, err = clock.Drive(ctx, installed)
	require.NoError(t, err)
}

func TestCancelOperation(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, []dcimanager5test.Option{dcimanager5test.WithInstallDuration(time.Hour)})
	ctx := ctxT(t)
	id := serverByName(t, srv, "srv-03").ID
	require.NoError(t, c.Servers.Install(ctx, id, dcimanager5.InstallRequest{Template: "ISPsystem__CentOS-7-amd64", Password: "pw-1"}))
	err := c.Servers.Install(ctx, id, dcimanager5.InstallRequest{Template: "ISPsystem__CentOS-7-amd64", Password: "pw-1"})
	assert.True(t, dcimanager5.IsValue(err), "second install while one runs: %v", err)
	s, err := c.Servers.Get(ctx, id)
	require.NoError(t, err)
	require.True(t, s.InstallInProgress)
	require.NoError(t, c.Servers.CancelOperation(ctx, id))
	s, err = c.Servers.WaitInstalled(ctx, id, nil)
	require.NoError(t, err)
	assert.False(t, s.OperationFailed)
}

func TestIPs(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := ctxT(t)
	id := serverByName(t, srv, "srv-01").ID

	ips, err := c.IPs.List(ctx, id)
	require.NoError(t, err)
	require.Len(t, ips, 1)
	main := ips[0]
	assert.Equal(t, "free.ds", main.Domain)
	assert.Equal(t, "parking", main.Group)
	assert.Equal(t, dcimanager5.FamilyIPv4, main.Family)

	v4, err := c.IPs.Add(ctx, id, dcimanager5.IPAddRequest{Domain: "web1.example.com"})
	require.NoError(t, err)
	assert.Regexp(t, `^203\.0\.113\.\d+$`, v4.Address)
	assert.NotZero(t, v4.ID)
	assert.Equal(t, "public", v4.Group)
	v6, err := c.IPs.Add(ctx, id, dcimanager5.IPAddRequest{Family: dcimanager5.FamilyIPv6, Domain: "web1.example.com"})
	require.NoError(t, err)
	assert.Contains(t, v6.Address, "2001:db8:100::")
	fixed, err := c.IPs.Add(ctx, id, dcimanager5.IPAddRequest{Address: "198.51.100.7", Domain: "web1.example.com"})
	require.NoError(t, err)
	assert.Equal(t, "198.51.100.7", fixed.Address)
	_, err = c.IPs.Add(ctx, id, dcimanager5.IPAddRequest{Address: "198.51.100.7"})
	assert.True(t, dcimanager5.IsExists(err), "%v", err)
	_, err = c.IPs.Add(ctx, id, dcimanager5.IPAddRequest{Group: "nosuchgroup"})
	assert.True(t, dcimanager5.IsValue(err), "%v", err)

	ips, err = c.IPs.List(ctx, id)
	require.NoError(t, err)
	require.Len(t, ips, 4, "group header rows are not addresses")
	assert.Len(t, srv.IPs(id), 4)

	// The main address's domain is the hostname.
	require.NoError(t, c.IPs.SetAllDomains(ctx, id, "web1.example.com"))
	s, err := c.Servers.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "web1.example.com", s.Hostname)
	assert.False(t, s.Available(""))
	require.NoError(t, c.IPs.SetDomain(ctx, id, main.ID, dcimanager5.FreeHostname))
	s, err = c.Servers.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, dcimanager5.FreeHostname, s.Hostname)

	require.NoError(t, c.IPs.Delete(ctx, id, v4.ID))
	err = c.IPs.Delete(ctx, id, v4.ID)
	assert.True(t, dcimanager5.IsNotFound(err), "%v", err)
	// The main address may go while other addresses are left: the lowest
	// remaining id becomes the main one (dcimanager5test, [G]); the only
	// address of a server cannot be deleted.
	require.NoError(t, c.IPs.Delete(ctx, id, main.ID))
	assert.Len(t, srv.IPs(id), 2)
	s, err = c.Servers.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, v6.Address, s.IP, "the lowest remaining id is promoted")
	require.NoError(t, c.IPs.Delete(ctx, id, v6.ID))
	err = c.IPs.Delete(ctx, id, fixed.ID)
	assert.True(t, dcimanager5.IsValue(err), "the only address: %v", err)
	assert.Len(t, srv.IPs(id), 1)

	_, err = c.IPs.Add(ctx, id, dcimanager5.IPAddRequest{Family: "ipv5"})
	var ae *dcimanager5.ArgumentError
	assert.ErrorAs(t, err, &ae)
	_, err = c.IPs.Add(ctx, id, dcimanager5.IPAddRequest{Address: "10.0.0.1", Family: dcimanager5.FamilyIPv6})
	assert.ErrorAs(t, err, &ae)
}

func TestIPAllocationNeverDuplicates(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, []dcimanager5test.Option{dcimanager5test.WithoutSeed()})
	require.NoError(t, srv.AddPool("public", "ipv4", "192.0.2.0/27")) // 30 usable
	var ids []int64
	for i := 0; i < 3; i++ {
		id, err := srv.AddServer(dcimanager5test.ServerSpec{})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	ctx := ctxT(t)
	var (
		mu   sync.Mutex
		got  []string
		errs int
		wg   sync.WaitGroup
	)
	for i := 0; i < 36; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ip, err := c.IPs.Add(ctx, ids[i%3], dcimanager5.IPAddRequest{})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if !dcimanager5.IsValue(err) {
					t.Errorf("unexpected error: %v", err)
				}
				errs++
				return
			}
			got = append(got, ip.Address)
		}(i)
	}
	wg.Wait()
	assert.Len(t, got, 30)
	assert.Equal(t, 6, errs, "pool exhausted")
	seen := map[string]bool{}
	for _, a := range got {
		assert.False(t, seen[a], "address %s handed out twice", a)
		seen[a] = true
		assert.NotEqual(t, "192.0.2.0", a)
		assert.NotEqual(t, "192.0.2.31", a)
	}
	assert.Zero(t, srv.FreeAddresses("public", "ipv4"))
}

func TestTrafficAndIPMI(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := ctxT(t)
	id := serverByName(t, srv, "srv-05").ID
	require.NoError(t, srv.SetTraffic(id, 123.5))
	all, err := c.Traffic.Burstable(ctx)
	require.NoError(t, err)
	require.Len(t, all, 6)
	b, err := c.Traffic.BurstFor(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, 123.5, b.Mbps)
	assert.Equal(t, "srv-05", b.Name)
	_, err = c.Traffic.BurstFor(ctx, 999)
	assert.True(t, dcimanager5.IsNotFound(err))

	u, err := c.Servers.IPMIRedirect(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "https://10.20.0.6/", u)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil, dcimanager5.WithSessionAuth())
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := int64(i%6 + 1)
			if _, err := c.Servers.List(ctx); err != nil {
				t.Error(err)
			}
			if i == 3 {
				srv.ExpireSessions()
			}
			if err := c.Servers.PowerOn(ctx, id); err != nil {
				t.Error(err)
			}
			if _, err := c.IPs.List(ctx, id); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	for i := int64(1); i <= 6; i++ {
		_, err := c.Servers.WaitPoweredOn(ctx, i, nil)
		require.NoError(t, err)
	}
}

// Update's Check sees the form as read and, by failing, stops the update
// before anything is sent.
func TestUpdateCheckStopsTheSave(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := ctxT(t)
	s1 := serverByName(t, srv, "srv-01")
	admin := userID(t, srv, dcimanager5test.DefaultAdmin)
	changed := errors.New("owner changed")
	srv.ResetCalls()
	var seen int64 = -1
	_, err := c.Servers.Update(ctx, s1.ID, dcimanager5.ServerUpdate{Owner: &admin, Check: func(f *dcimanager5.ServerForm) error {
		seen = f.Owner
		return changed
	}})
	require.ErrorIs(t, err, changed)
	assert.Equal(t, s1.Owner, seen, "Check saw the form's owner")
	st, _ := srv.Server(s1.ID)
	assert.Equal(t, s1.Owner, st.Owner, "nothing written")
	calls := srv.Calls()
	require.Len(t, calls, 1, "the form read only")
	assert.NotContains(t, calls[0].Params, "sok")

	_, err = c.Servers.Update(ctx, s1.ID, dcimanager5.ServerUpdate{Owner: &admin, Check: func(*dcimanager5.ServerForm) error { return nil }})
	require.NoError(t, err)
	st, _ = srv.Server(s1.ID)
	assert.Equal(t, admin, st.Owner)
}
