package provision_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/fakebackend"
)

func TestOpenDedicatedLifecycle(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 3)
	e := v.engine("w1")
	ctx := context.Background()

	req := openReq("117", tariffDedic)
	req.Options = map[string]string{"IP": "2", "IPv6": "1", "recipe": "#local__lamp"}
	op, err := e.Open(ctx, req)
	require.NoError(t, err)
	require.Equal(t, provision.StateDone, op.State)

	svc := v.service("117")
	assert.Equal(t, billing.StatusActive, svc.Status)
	assert.Equal(t, "dc1", svc.Module)
	p := svc.Properties
	assert.Equal(t, "1", p[provision.PropServerID])
	assert.Equal(t, "JohnSmith117", p[provision.PropLogin])
	assert.Equal(t, "s117.example.net", p[provision.PropDomain])
	assert.Equal(t, "sw1/1", p[provision.PropSwitchPort])
	assert.Equal(t, "192.0.2.1", p[provision.PropIPMI])
	assert.True(t, strings.HasPrefix(p[provision.PropIP], "203.0."), "public main IP, got %s", p[provision.PropIP])
	assert.Len(t, strings.Split(p[provision.PropIPs], ","), 3)
	assert.Equal(t, "1", p[provision.PropIPManaged])

	st := v.dc.Server("1")
	assert.Equal(t, v.dc.UserID("JohnSmith117"), st.OwnerID)
	assert.Equal(t, "s117.example.net", st.Hostname)
	assert.True(t, st.PoweredOn)
	assert.True(t, st.PortsOn)
	assert.Equal(t, osTemplate, st.Template)
	assert.Equal(t, "S3cret!pw", v.dc.Password(st.OwnerID))
	assert.Len(t, v.eventsOf(provision.EventWelcome), 1)
	assert.NotEmpty(t, v.eventsOf(provision.EventInstallProgress))
	assert.NotContains(t, v.pool.Used()["parking"], "10.0.0.1", "the parking address went back to IPmanager")
	v.checkInvariants()

	// Suspend / Unsuspend switch the ports.
	_, err = e.Suspend(ctx, provision.SuspendRequest{ServiceID: "117"})
	require.NoError(t, err)
	assert.False(t, v.dc.Server("1").PortsOn)
	assert.True(t, v.dc.Server("1").PoweredOn, "the server keeps running")
	assert.Equal(t, billing.StatusSuspended, v.service("117").Status)
	_, err = e.Unsuspend(ctx, provision.UnsuspendRequest{ServiceID: "117"})
	require.NoError(t, err)
	assert.True(t, v.dc.Server("1").PortsOn)
	assert.Equal(t, billing.StatusActive, v.service("117").Status)

	// Password.
	_, err = e.ChangePassword(ctx, provision.ChangePasswordRequest{ServiceID: "117", Password: "n3w"})
	require.NoError(t, err)
	assert.Equal(t, "n3w", v.dc.Password(st.OwnerID))

	// AddIP / RemoveIP.
	_, err = e.AddIP(ctx, provision.AddIPRequest{ServiceID: "117"})
	require.NoError(t, err)
	ips := strings.Split(v.service("117").Properties[provision.PropIPs], ",")
	require.Len(t, ips, 4)
	_, err = e.RemoveIP(ctx, provision.RemoveIPRequest{ServiceID: "117", IP: ips[0]})
	require.NoError(t, err)
	assert.NotContains(t, v.service("117").Properties[provision.PropIPs], ips[0]+",")
	_, err = e.RemoveIP(ctx, provision.RemoveIPRequest{ServiceID: "117", IP: p[provision.PropIP]})
	require.ErrorIs(t, err, provision.ErrInvalidRequest, "the main address cannot be removed")
	v.checkInvariants()

	// Reinstall.
	_, err = e.Reinstall(ctx, provision.ReinstallRequest{ServiceID: "117", Password: "root", OSTemplate: "ISPsystem__CentOS-7-amd64"})
	require.NoError(t, err)
	assert.Equal(t, 2, v.dc.Server("1").Installs)
	assert.Equal(t, "ISPsystem__CentOS-7-amd64", v.service("117").Properties[provision.PropOS])

	// LoginURL is direct.
	u, err := e.LoginURL(ctx, "117")
	require.NoError(t, err)
	assert.Contains(t, u, "username=JohnSmith117")

	// A second server for the same customer reuses the panel user.
	req2 := openReq("118", tariffDedic)
	req2.Owner = "John.Smith-117"
	_, err = e.Open(ctx, req2)
	require.NoError(t, err)
	assert.Equal(t, st.OwnerID, v.dc.Server("2").OwnerID)

	// Close releases everything.
	_, err = e.Close(ctx, provision.CloseRequest{ServiceID: "117"})
	require.NoError(t, err)
	st = v.dc.Server("1")
	assert.Empty(t, st.OwnerID)
	assert.Equal(t, provision.FreeHostname, st.Hostname)
	assert.True(t, st.Disabled)
	assert.Len(t, st.IPs, 1)
	assert.True(t, strings.HasPrefix(st.IPs[0].IP, "10.1."), "parked again, got %s", st.IPs[0].IP)
	assert.Equal(t, billing.StatusDeleted, v.service("117").Status)
	assert.Empty(t, v.service("117").Properties[provision.PropIPs], "the released extra addresses are not the service's any more")
	v.checkInvariants()

	// The closed server is sold again.
	_, err = e.Open(ctx, openReq("119", tariffDedic))
	require.NoError(t, err)
	assert.Equal(t, "1", v.service("119").Properties[provision.PropServerID])
	assert.False(t, v.dc.Server("1").Disabled)
	v.checkInvariants()
}

func TestOpenFailover(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		break_ func(dc *fakebackend.DC)
		reason string
	}{
		{"install fails", func(dc *fakebackend.DC) { dc.FailInstall("1") }, "OS install failed"},
		{"power-on timeout", func(dc *fakebackend.DC) { dc.NeverPowerOn("1") }, "power on: timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, 2)
			tc.break_(v.dc)
			e := v.engine("w1", func(c *provision.Config) { c.PowerTimeout = 50 * time.Millisecond })
			_, err := e.Open(context.Background(), openReq("1", tariffDedic))
			require.NoError(t, err)
			assert.Equal(t, "2", v.service("1").Properties[provision.PropServerID])
			bad := v.dc.Server("1")
			assert.Equal(t, fakebackend.AdminID, bad.OwnerID, "the customer does not get the failed server")
			assert.True(t, bad.Disabled)
			assert.Equal(t, provision.FreeHostname, bad.Hostname)
			assert.Contains(t, bad.Notes, tc.reason)
			require.Len(t, v.eventsOf(provision.EventServerFailed), 1)
			v.checkInvariants()
		})
	}
}

func TestOpenNoServerLeft(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 2)
	v.dc.FailInstall("1")
	v.dc.NeverPowerOn("2") // two servers, two different failures: theirs, not the order's
	e := v.engine("w1", func(c *provision.Config) { c.PowerTimeout = 50 * time.Millisecond })
	op, err := e.Open(context.Background(), openReq("1", tariffDedic))
	require.Error(t, err)
	require.ErrorIs(t, err, provision.ErrNoServer)
	require.ErrorIs(t, err, provision.ErrOperationFailed)
	assert.Equal(t, provision.StateFailed, op.State)
	svc := v.service("1")
	assert.Equal(t, billing.StatusOrdered, svc.Status, "the service stays Pending")
	assert.Contains(t, svc.Error, "no server available")
	v.checkInvariants()

	// Wait from another engine (after a restart) still maps the cause.
	e2 := v.engine("w2")
	_, err = e2.Wait(context.Background(), op.ID)
	require.ErrorIs(t, err, provision.ErrNoServer)
}

func TestOpenModuleFallback(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	e := v.engine("w1")
	_, err := e.Open(context.Background(), openReq("1", tariffTwoMods))
	require.NoError(t, err)
	assert.Equal(t, "dc1", v.service("1").Module, "dc-empty (sort 1) has no server, dc1 (sort 2) serves")
	v.checkInvariants()
}

// The catalog is edited while an order that moved to its second module
// runs: once the claim on dc1 is sent, dc-empty is re-sorted after dc1, so
// dc1 becomes the tariff's first module and dc-empty the second, the
// position the order chose dc1 at. The order's later steps must stay on
// dc1, where its server is: the same server id on dc-empty's panel would
// be another server.
func TestOpenStaysOnItsModuleWhenTheCatalogChanges(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	v.empty.AddServers(1, "other", nil) // a server with dc1's server id, on the other panel
	var once sync.Once
	var emptyBefore int64
	v.dc.AfterCall = func(method, _ string) {
		if method != "SetOwner" {
			return
		}
		once.Do(func() {
			m, err := v.cat.Module("dc-empty")
			require.NoError(t, err)
			m.SortOrder = 9
			require.NoError(t, v.cat.UpdateModule(m))
			emptyBefore = v.empty.Calls()
		})
	}
	e := v.engine("w1")
	_, err := e.Open(context.Background(), openReq("1", tariffTwoMods))
	require.NoError(t, err)
	svc := v.service("1")
	assert.Equal(t, "dc1", svc.Module)
	assert.Equal(t, billing.StatusActive, svc.Status)
	assert.Equal(t, emptyBefore, v.empty.Calls(), "no call reached dc-empty after the catalog changed")
	v.checkInvariants()
}

func TestManualTasks(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	e := v.engine("w1")
	ctx := context.Background()
	op, err := e.Open(ctx, provision.OpenRequest{ServiceID: "5", TariffID: tariffColo, Owner: "x"})
	require.NoError(t, err, "colocation is a manual task, not an error")
	assert.Equal(t, provision.StateDone, op.State)
	assert.Equal(t, billing.StatusProcessing, v.service("5").Status)

	_, err = e.Open(ctx, openReq("6", tariffCustom))
	require.NoError(t, err, "an unavailable custom configuration is a manual task")
	v.mu.Lock()
	tasks := append([]billing.ManualTask(nil), v.tasks...)
	v.mu.Unlock()
	require.Len(t, tasks, 2)
	assert.Equal(t, billing.ManualTask{Department: "Hardware", ServiceID: 5, Reason: billing.ReasonColocation + ": open"}, tasks[0])
	assert.Equal(t, billing.ManualTask{Department: "Assembly", ServiceID: 6, Reason: billing.ReasonConfigUnavailable}, tasks[1])
	assert.Len(t, v.eventsOf(provision.EventManualTask), 2)
	assert.Equal(t, 1, len(v.dc.State())-0, "no server touched")
	assert.Empty(t, v.dc.Server("1").OwnerID)
}

func TestDontWaitInstall(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	v.dc.InstallDelay = time.Hour
	e := v.engine("w1")
	_, err := e.Open(context.Background(), openReq("1", tariffDontWait))
	require.NoError(t, err)
	assert.Equal(t, billing.StatusActive, v.service("1").Status)
	assert.True(t, v.dc.Server("1").Installing, "activated while the OS installs")
	assert.Equal(t, "1.domain", v.service("1").Properties[provision.PropDomain], "WHMCS default domain @ID@.domain")
}

func TestInstallTimeout(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	v.dc.InstallDelay = time.Hour
	e := v.engine("w1", func(c *provision.Config) { c.InstallTimeout = 30 * time.Millisecond })
	_, err := e.Open(context.Background(), openReq("1", tariffDedic))
	require.ErrorIs(t, err, provision.ErrNoServer)
	assert.Contains(t, v.dc.Server("1").Notes, "OS install: timed out")
	v.checkInvariants()
}

func TestHosting(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 0)
	v.host.AddUser("ann")
	v.host.Shadow = []string{"ann1"} // free in the list, taken on create
	e := v.engine("w1")
	ctx := context.Background()
	_, err := e.Open(ctx, provision.OpenRequest{ServiceID: "h1", TariffID: tariffHosting, Owner: "Ann", Password: "pw1", Domain: "ann.example"})
	require.NoError(t, err)
	svc := v.service("h1")
	assert.Equal(t, billing.StatusActive, svc.Status)
	assert.Equal(t, "ann2", svc.Properties[provision.PropLogin], "ann is taken, ann1 collides on create")
	a, ok := v.host.User("ann2")
	require.True(t, ok)
	assert.Equal(t, "basic", a.Preset)
	assert.Equal(t, map[string]string{"limit_db": "10", "limit_webdomains": "25"}, a.Limits, "billing wins, the template fills the rest")
	assert.Equal(t, "ann.example", a.Domain)
	assert.Len(t, v.eventsOf(provision.EventWelcome), 1)

	_, err = e.Suspend(ctx, provision.SuspendRequest{ServiceID: "h1"})
	require.NoError(t, err)
	a, _ = v.host.User("ann2")
	assert.True(t, a.Suspended)
	_, err = e.Unsuspend(ctx, provision.UnsuspendRequest{ServiceID: "h1"})
	require.NoError(t, err)
	a, _ = v.host.User("ann2")
	assert.False(t, a.Suspended)
	_, err = e.ChangePassword(ctx, provision.ChangePasswordRequest{ServiceID: "h1", Password: "pw2"})
	require.NoError(t, err)
	a, _ = v.host.User("ann2")
	assert.Equal(t, "pw2", a.Password)
	u, err := e.LoginURL(ctx, "h1")
	require.NoError(t, err)
	assert.Contains(t, u, "username=ann2")
	_, err = e.AddIP(ctx, provision.AddIPRequest{ServiceID: "h1"})
	require.ErrorIs(t, err, provision.ErrUnsupported)
	_, err = e.Close(ctx, provision.CloseRequest{ServiceID: "h1"})
	require.NoError(t, err)
	_, ok = v.host.User("ann2")
	assert.False(t, ok)
	assert.Equal(t, billing.StatusDeleted, v.service("h1").Status)
}

func TestValidation(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	e := v.engine("w1")
	ctx := context.Background()
	for name, tc := range map[string]struct {
		req  provision.Request
		want error
	}{
		"no service id":     {provision.OpenRequest{TariffID: 1}, provision.ErrInvalidRequest},
		"no tariff":         {provision.OpenRequest{ServiceID: "1"}, provision.ErrInvalidRequest},
		"unknown tariff":    {provision.OpenRequest{ServiceID: "1", TariffID: 99, Owner: "a", Password: "p"}, billing.ErrNotFound},
		"no password":       {provision.OpenRequest{ServiceID: "1", TariffID: 1, Owner: "a"}, provision.ErrInvalidRequest},
		"bad owner":         {provision.OpenRequest{ServiceID: "1", TariffID: 1, Owner: "---", Password: "p"}, provision.ErrInvalidRequest},
		"nil request":       {nil, provision.ErrInvalidRequest},
		"nil pointer":       {(*provision.AddIPRequest)(nil), provision.ErrInvalidRequest},
		"suspend unknown":   {provision.SuspendRequest{ServiceID: "404"}, provision.ErrNotFound},
		"remove bad ip":     {provision.RemoveIPRequest{ServiceID: "1", IP: "nope"}, provision.ErrInvalidRequest},
		"add ip bad family": {provision.AddIPRequest{ServiceID: "1", Family: "ipx"}, provision.ErrInvalidRequest},
		"domain template":   {provision.OpenRequest{ServiceID: "abc", TariffID: 1, Owner: "a", Password: "p"}, billing.ErrEmptyMacro},
	} {
		_, err := e.Do(ctx, tc.req)
		require.ErrorIs(t, err, tc.want, name)
	}
	var bad *billing.OptionError
	r := openReq("1", tariffDedic)
	r.Options = map[string]string{"IP": "-1"}
	_, err := e.Open(ctx, r)
	require.ErrorAs(t, err, &bad)
	ops, err := v.store.ListOperations(ctx, provision.OperationFilter{})
	require.NoError(t, err)
	assert.Empty(t, ops, "nothing recorded for invalid requests")
	assert.Zero(t, v.dc.Calls(), "nothing sent for invalid requests")

	// Suspend of a Pending service is refused.
	_, err = e.Submit(ctx, openReq("2", tariffDedic))
	require.NoError(t, err)
	_, err = e.Suspend(ctx, provision.SuspendRequest{ServiceID: "2"})
	require.ErrorIs(t, err, provision.ErrServiceState)
	// A second operation while one is unfinished is refused.
	_, err = e.Close(ctx, provision.CloseRequest{ServiceID: "2"})
	require.ErrorIs(t, err, provision.ErrBusy)
}

func TestIdempotentSubmit(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 2)
	e := v.engine("w1")
	ctx := context.Background()
	r := openReq("1", tariffDedic)
	r.OperationID = "order-1"
	op1, err := e.Open(ctx, r)
	require.NoError(t, err)
	op2, err := e.Open(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, op1.ID, op2.ID)
	assert.Equal(t, "order-1", op1.ID)
	r.ServiceID = "2"
	_, err = e.Open(ctx, r)
	require.ErrorIs(t, err, provision.ErrExists)
	assert.Equal(t, 1, v.dc.Server("1").Installs)
	assert.Empty(t, v.dc.Server("2").OwnerID)
}

func TestSubmitRunWait(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 3)
	e := v.engine("w1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var ids []string
	for _, id := range []string{"1", "2", "3"} {
		op, err := e.Submit(ctx, openReq(id, tariffDedic))
		require.NoError(t, err)
		ids = append(ids, op.ID)
	}
	for _, id := range ids {
		op, err := e.Wait(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, provision.StateDone, op.State)
	}
	cancel()
	require.NoError(t, <-done)
	v.checkInvariants()
}

func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 0)
	_, err := provision.New(provision.Config{})
	require.ErrorIs(t, err, provision.ErrInvalidRequest)
	cfg := v.config("w")
	cfg.IPPools = map[string]provision.IPPool{"nope": v.pool}
	_, err = provision.New(cfg)
	require.ErrorIs(t, err, provision.ErrInvalidRequest)
	cfg = v.config("w")
	cfg.PollInterval = -1
	_, err = provision.New(cfg)
	require.True(t, errors.Is(err, provision.ErrInvalidRequest))
}

// TestTransientFaultsKeepTheServer: a panel call that fails a few times
// and then answers is retried in place; the order completes on the same
// server, which never counts as failed.
func TestTransientFaultsKeepTheServer(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 2)
	var mu sync.Mutex
	left := map[string]int{"SetPorts": 3, "Install": 2, "SetOwner": 1}
	v.dc.BeforeCall = func(method, id string) error {
		mu.Lock()
		defer mu.Unlock()
		if left[method] > 0 && id == "1" {
			left[method]--
			return fakebackend.ErrFault
		}
		return nil
	}
	e := v.engine("w1", func(c *provision.Config) { c.StepRetries = 3 })
	_, err := e.Open(context.Background(), openReq("1", tariffDedic))
	require.NoError(t, err)
	assert.Equal(t, "1", v.service("1").Properties[provision.PropServerID], "the same server, after its retries")
	assert.Empty(t, v.eventsOf(provision.EventServerFailed))
	assert.False(t, v.dc.Server("2").Disabled)
	mu.Lock()
	assert.Equal(t, map[string]int{"SetPorts": 0, "Install": 0, "SetOwner": 0}, left, "every injected fault was hit")
	mu.Unlock()
	v.checkInvariants()
}

// TestPersistentPanelFaultKeepsStock: a panel call that keeps failing on
// one server interrupts the operation (it is resumed later); after
// MaxAttempts the operation fails, and the server goes back to sale
// instead of being disabled.
func TestPersistentPanelFaultKeepsStock(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 2)
	v.dc.BeforeCall = func(method, id string) error {
		if method == "SetPorts" && id == "1" {
			return fakebackend.ErrFault
		}
		return nil
	}
	e := v.engine("w1", func(c *provision.Config) {
		c.MaxAttempts = 2
		c.StepRetries = 1
		c.LeaseDuration = 20 * time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	op, err := e.Submit(ctx, openReq("1", tariffDedic))
	require.NoError(t, err)
	// An interrupted run keeps its lease until it lapses; Run claims the
	// operation again then, and Wait returns when it is finished.
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	_, err = e.Wait(ctx, op.ID)
	require.Error(t, err)
	cancel()
	require.NoError(t, <-done)
	got, err := v.store.GetOperation(context.Background(), op.ID)
	require.NoError(t, err)
	require.Equal(t, provision.StateFailed, got.State)
	assert.Empty(t, v.eventsOf(provision.EventServerFailed), "a panel fault is not the server's")
	s1 := v.dc.Server("1")
	assert.Empty(t, s1.OwnerID, "back in sale")
	assert.False(t, s1.Disabled)
	assert.Equal(t, provision.FreeHostname, s1.Hostname)
	assert.Equal(t, billing.StatusOrdered, v.service("1").Status)
	v.checkInvariants()
}

// TestOrderFaultKeepsServersInSale: two servers failing the install the
// same way put the fault on the order: the Open stops with ErrOrderFault
// and both servers stay in sale.
func TestOrderFaultKeepsServersInSale(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 3)
	for _, id := range []string{"1", "2", "3"} {
		v.dc.FailInstall(id)
	}
	e := v.engine("w1")
	_, err := e.Open(context.Background(), openReq("1", tariffDedic))
	require.ErrorIs(t, err, provision.ErrOrderFault)
	require.Len(t, v.eventsOf(provision.EventServerFailed), 2, "the third server is never touched")
	for _, id := range []string{"1", "2", "3"} {
		s := v.dc.Server(id)
		assert.Empty(t, s.OwnerID, "server %s in sale", id)
		assert.False(t, s.Disabled, "server %s in sale", id)
		assert.Equal(t, provision.FreeHostname, s.Hostname)
		assert.Empty(t, s.Notes, "server %s", id)
	}
	svc := v.service("1")
	assert.Equal(t, billing.StatusOrdered, svc.Status)
	assert.Contains(t, svc.Error, "failed the same way")
	v.checkInvariants()
}

// TestInstallTimeoutPolicy: an install that outlives its wait fails over
// to the next server by default (BILLmanager); with the module's
// InstallTimeoutKeepPending (the WHMCS module) the order stops with
// ErrInstallTimeout, the service stays Pending with the error, and no
// other server is touched.
func TestInstallTimeoutPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		policy billing.InstallTimeoutPolicy
		sold   bool
	}{{"fail_over", billing.InstallTimeoutFailOver, true}, {"keep_pending", billing.InstallTimeoutKeepPending, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, 2)
			require.NoError(t, v.cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dc-wait", URL: "https://dci4.example/dcimgr",
				Username: "admin", Password: "pw", InstallTimeout: tc.policy}))
			require.NoError(t, v.cat.AddTariff(&billing.Tariff{ID: 77, Name: "Wait", ProductType: billing.ProductDedicatedServer,
				Modules: []string{"dc-wait"}, ServerConfig: "X", OSTemplate: osTemplate}))
			var mu sync.Mutex
			installs := 0
			v.dc.AfterCall = func(method, id string) {
				if method == "Install" {
					mu.Lock()
					installs++
					mu.Unlock()
					// Only the first server's install never ends in time.
					v.dc.InstallDelay = 5 * time.Millisecond
				}
			}
			v.dc.InstallDelay = time.Hour
			e := v.engine("w1", func(c *provision.Config) {
				c.Dedicated["dc-wait"] = v.dc
				c.InstallTimeout = 30 * time.Millisecond
			})
			_, err := e.Open(context.Background(), openReq("1", 77))
			svc := v.service("1")
			if tc.sold {
				require.NoError(t, err)
				assert.Equal(t, billing.StatusActive, svc.Status)
				assert.Equal(t, "2", svc.Properties[provision.PropServerID])
				return
			}
			require.ErrorIs(t, err, provision.ErrInstallTimeout)
			assert.Equal(t, billing.StatusOrdered, svc.Status, "Pending")
			assert.Contains(t, svc.Error, "timed out")
			s2 := v.dc.Server("2")
			assert.Empty(t, s2.OwnerID, "the next server is not touched")
			assert.False(t, s2.Disabled)
			s1 := v.dc.Server("1")
			assert.True(t, s1.Disabled, "a server still installing is not sold")
			assert.Contains(t, s1.Notes, "timed out")
			mu.Lock()
			assert.Equal(t, 1, installs)
			mu.Unlock()
			// Wait from another engine still recognises the cause.
			ops, err := v.store.ListOperations(context.Background(), provision.OperationFilter{ServiceID: "1"})
			require.NoError(t, err)
			_, err = v.engine("w2").Wait(context.Background(), ops[0].ID)
			require.ErrorIs(t, err, provision.ErrInstallTimeout)
		})
	}
}

// TestReachabilityByOSFamily: by default the panel's "install finished"
// is the evidence (no reachability step runs); the family of a template
// picks its port.
func TestReachabilityByOSFamily(t *testing.T) {
	t.Parallel()
	for tmpl, fam := range map[string]provision.OSFamily{
		"ISPsystem__Debian-12-x86_64": provision.OSLinux, "local__Windows-Server-2022": provision.OSWindows,
		"ISPsystem__FreeBSD-14-amd64": provision.OSBSD, "ISPsystem__AlmaLinux-9": provision.OSLinux,
	} {
		assert.Equal(t, fam, provision.OSFamilyOf(tmpl), tmpl)
	}
	assert.Equal(t, 3389, provision.StandardReachPorts()[provision.OSWindows])
	assert.Equal(t, 22, provision.StandardReachPorts()[provision.OSLinux])

	for _, tc := range []struct {
		name  string
		ports map[provision.OSFamily]int
	}{{"default", nil}, {"windows only", map[provision.OSFamily]int{provision.OSWindows: 3389}}} {
		v := newEnv(t, 1)
		e := v.engine("w1", func(c *provision.Config) { c.Reachability, c.ReachPorts = nil, tc.ports })
		_, err := e.Open(context.Background(), openReq("1", tariffDedic))
		require.NoError(t, err, tc.name)
		for _, ev := range v.eventsOf(provision.EventStepStarted) {
			assert.NotEqual(t, "reachable", ev.Step, "%s: a Debian server is not dialled", tc.name)
		}
		assert.Equal(t, billing.StatusActive, v.service("1").Status)
	}
	_, err := provision.New(provision.Config{Store: newEnv(t, 0).store, Catalog: billing.NewCatalog(),
		Dedicated: map[string]provision.DedicatedBackend{"x": fakebackend.NewDC()}, ReachPorts: map[provision.OSFamily]int{provision.OSLinux: 70000}})
	require.ErrorIs(t, err, provision.ErrInvalidRequest)
}

// TestFailedAddIPReleasesItsAddress: an AddIP whose panel call is refused
// for good fails, and the address it had allocated in IPmanager goes back.
func TestFailedAddIPReleasesItsAddress(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	e := v.engine("w1")
	ctx := context.Background()
	_, err := e.Open(ctx, openReq("1", tariffDedic))
	require.NoError(t, err)
	before := len(v.pool.Used()["public"])
	v.dc.BeforeCall = func(method, id string) error {
		if method == "AddIP" {
			return &provision.ArgumentError{Package: "fakebackend", Op: "AddIP", Arg: "ip", Reason: "refused by the panel"}
		}
		return nil
	}
	_, err = e.AddIP(ctx, provision.AddIPRequest{ServiceID: "1"})
	require.ErrorIs(t, err, provision.ErrOperationFailed)
	assert.Len(t, v.pool.Used()["public"], before, "the allocation went back")
	var released bool
	for _, ev := range v.eventsOf(provision.EventStepStarted) {
		released = released || ev.Step == "add_release"
	}
	assert.True(t, released)
}
