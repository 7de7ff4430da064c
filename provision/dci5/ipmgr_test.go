package dci5_test

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/ipmgr"
)

// The IPmanager side of ipWorld: the racked servers' parking addresses
// (10.10.0.0/24, the DCImanager fake's parking pool) are allocated in the
// parking group; customer addresses come from the public group.
var (
	ipmParking = netip.MustParsePrefix("10.10.0.0/24")
	ipmPublic  = netip.MustParsePrefix("198.51.100.0/24")
)

// ipWorld is a world whose module is linked to a fake IPmanager with a
// parking group: Open swaps the parking address for a public one.
type ipWorld struct {
	*world
	ipm  *ipmanagertest.Server
	pool *ipmgr.Pool
}

func newIPWorld(t *testing.T, servers int) *ipWorld {
	w := &ipWorld{world: newWorld(t, servers)}
	var parked []ipmanagertest.Address
	for _, x := range w.srv.IPs(0) {
		parked = append(parked, ipmanagertest.Address{IP: netip.MustParseAddr(x.Address), Family: "ipv4", Group: "parking", Domain: provision.FreeHostname, Note: "rack"})
	}
	w.ipm = ipmanagertest.NewServer(
		ipmanagertest.WithParkingGroup("parking", ipmParking.String()),
		ipmanagertest.WithGroup("public", ipmPublic.String(), "2001:db8:100::/64"),
		ipmanagertest.WithAllocated(parked...))
	w.ipm.Strict(t)
	t.Cleanup(w.ipm.Close)
	c, err := ipmanager.NewClient(w.ipm.URL(), ipmanager.WithCredentials(ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword))
	require.NoError(t, err)
	w.pool = ipmgr.New(c)
	w.cat = billing.NewCatalog()
	require.NoError(t, w.cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dci", URL: w.srv.URL(), Username: w.admin, Password: w.pw,
		IPManager: &billing.IPManagerLink{URL: w.ipm.URL(), Username: ipmanagertest.DefaultUser, Password: ipmanagertest.DefaultPassword, ParkingGroup: "parking", PublicGroup: "public"}}))
	require.NoError(t, w.cat.AddTariff(&billing.Tariff{ID: 1, Name: "C1", ProductType: billing.ProductDedicatedServer, Modules: []string{"dci"},
		ServerConfig: "C1", OSTemplate: "ISPsystem__Debian-12-x86_64", DomainTemplate: "s@ID@.example.net"}))
	return w
}

// engine is an engine on the world's Store with the IPmanager pool; mut
// adjusts the config.
func (w *ipWorld) engine(id string, mut func(*provision.Config)) *provision.Engine {
	c, err := dcimanager5.NewClient(w.srv.URL(), dcimanager5.WithCredentials(w.admin, w.pw))
	require.NoError(w.t, err)
	cfg := provision.Config{
		Store: w.store, Catalog: w.cat, WorkerID: id, Workers: 1,
		Dedicated:     map[string]provision.DedicatedBackend{"dci": dci5.New(c, w.admin)},
		IPPools:       map[string]provision.IPPool{"dci": w.pool},
		LeaseDuration: time.Second, PollInterval: time.Millisecond, ClaimInterval: 5 * time.Millisecond,
		InstallTimeout: 5 * time.Second, PowerTimeout: 5 * time.Second,
		Reachability: func(ctx context.Context, s provision.Server) error {
			if !s.PoweredOn || s.Installing || s.InstallFailed {
				return assert.AnError
			}
			return nil
		},
	}
	if mut != nil {
		mut(&cfg)
	}
	e, err := provision.New(cfg)
	require.NoError(w.t, err)
	return e
}

// checkIPs compares both fakes: the addresses on the DCImanager servers
// are exactly those allocated in IPmanager (nothing leaked, nothing used
// twice), a free or failed server sits on a parking address, and an Active
// service's server has its public address as the main one.
func (w *ipWorld) checkIPs() { w.checkIPsIn(w.store) }

// checkIPsIn is checkIPs against the services of store s.
func (w *ipWorld) checkIPsIn(s provision.Store) {
	t := w.t
	onServers := map[string]int64{}
	for _, x := range w.srv.IPs(0) {
		onServers[x.Address] = x.ServerID
	}
	allocated := map[string]ipmanagertest.Address{}
	for _, a := range w.ipm.Addresses() {
		allocated[a.IP.String()] = a
	}
	for ip := range onServers {
		_, ok := allocated[ip]
		assert.True(t, ok, "%s is on a server but not allocated in IPmanager", ip)
	}
	for ip := range allocated {
		_, ok := onServers[ip]
		assert.True(t, ok, "%s is allocated in IPmanager but on no server (leaked)", ip)
	}
	active := map[int64]*provision.Service{}
	svcs, err := s.ListServices(context.Background(), provision.ServiceFilter{Statuses: []billing.Status{billing.StatusActive, billing.StatusSuspended}})
	require.NoError(t, err)
	for _, s := range svcs {
		id, _ := strconv.ParseInt(s.Properties[provision.PropServerID], 10, 64)
		active[id] = s
	}
	for _, st := range w.srv.Servers() {
		main := netip.MustParseAddr(st.MainIP)
		if s := active[st.ID]; s != nil {
			assert.Equal(t, s.Properties[provision.PropIP], st.MainIP, "server %d: main address = the service's address", st.ID)
			assert.True(t, ipmPublic.Contains(main), "server %d sold on %s", st.ID, st.MainIP)
			assert.Equal(t, "public", allocated[st.MainIP].Group)
			continue
		}
		assert.True(t, ipmParking.Contains(main), "unsold server %d on %s, not a parking address", st.ID, st.MainIP)
		assert.Equal(t, "parking", allocated[st.MainIP].Group)
		assert.Len(t, w.srv.IPs(st.ID), 1, "unsold server %d keeps only its parking address", st.ID)
	}
}

// TestParkingSwapThroughFakes: DCImanager 5 and IPmanager fakes over HTTP.
// The first server's install fails (its swap is rolled back: parked again),
// the second gets a public address in place of its parking one, which goes
// back to IPmanager's parking group; Close parks it again.
func TestParkingSwapThroughFakes(t *testing.T) {
	t.Parallel()
	w := newIPWorld(t, 3)
	require.NoError(t, w.srv.FailNextInstall(1))
	park2 := w.srv.IPs(2)[0].Address
	e := w.engine("e", nil)
	ctx := context.Background()

	_, err := e.Open(ctx, provision.OpenRequest{ServiceID: "7", TariffID: 1, Owner: "cust", Password: "Secret-pw-1",
		Options: map[string]string{"IP": "1", "IPv6": "1"}})
	require.NoError(t, err)
	svc, err := w.store.GetService(ctx, "7")
	require.NoError(t, err)
	require.Equal(t, billing.StatusActive, svc.Status)
	p := svc.Properties
	require.Equal(t, "2", p[provision.PropServerID])
	pub := netip.MustParseAddr(p[provision.PropIP])
	assert.True(t, ipmPublic.Contains(pub), "PropIP %s is a public address", pub)
	assert.Len(t, strings.Split(p[provision.PropIPs], ","), 2)
	assert.NotContains(t, p[provision.PropIPs], p[provision.PropIP])

	st, _ := w.srv.Server(2)
	assert.Equal(t, pub.String(), st.MainIP, "the public address became the main one")
	assert.Equal(t, "s7.example.net", st.Hostname, "the hostname follows the new main address")
	for _, x := range w.srv.IPs(2) {
		assert.NotEqual(t, park2, x.Address, "the parking address left the server")
	}
	_, held := w.ipm.Address(netip.MustParseAddr(park2))
	assert.False(t, held, "the parking address went back to IPmanager's parking group")
	a, ok := w.ipm.Address(pub)
	require.True(t, ok)
	assert.Equal(t, "public", a.Group)
	assert.Equal(t, "s7.example.net", a.Domain)

	bad, _ := w.srv.Server(1)
	assert.True(t, bad.Disabled)
	assert.Equal(t, provision.FreeHostname, bad.Hostname)
	assert.True(t, ipmParking.Contains(netip.MustParseAddr(bad.MainIP)), "the failed server is parked again, on %s", bad.MainIP)
	assert.Equal(t, 1, w.check())
	w.checkIPs()

	_, err = e.Close(ctx, provision.CloseRequest{ServiceID: "7"})
	require.NoError(t, err)
	svc, _ = w.store.GetService(ctx, "7")
	assert.Equal(t, billing.StatusDeleted, svc.Status)
	assert.Empty(t, svc.Properties[provision.PropIPs])
	st, _ = w.srv.Server(2)
	assert.Equal(t, provision.FreeHostname, st.Hostname)
	assert.True(t, ipmParking.Contains(netip.MustParseAddr(st.MainIP)), "closed server parked on %s", st.MainIP)
	_, held = w.ipm.Address(pub)
	assert.False(t, held, "the public address went back to IPmanager")
	assert.Equal(t, 0, w.check())
	w.checkIPs()
}

// TestOrderFaultThroughFakes: an install that fails on every server (a
// bad configuration, not bad servers) stops at the second server failing
// the same way, with ErrOrderFault, and every server stays in sale, parked
// on its parking address.
func TestOrderFaultThroughFakes(t *testing.T) {
	t.Parallel()
	w := newIPWorld(t, 6)
	for id := int64(1); id <= 6; id++ {
		require.NoError(t, w.srv.FailNextInstall(id))
	}
	e := w.engine("e", nil)
	var failed atomic.Int64
	e.Subscribe(func(ev provision.Event) {
		if ev.Type == provision.EventServerFailed {
			failed.Add(1)
		}
	})
	ctx := context.Background()
	_, err := e.Open(ctx, provision.OpenRequest{ServiceID: "9", TariffID: 1, Owner: "cust", Password: "Secret-pw-1"})
	require.ErrorIs(t, err, provision.ErrOrderFault)
	require.ErrorIs(t, err, provision.ErrOperationFailed)
	assert.NotErrorIs(t, err, provision.ErrNoServer)
	assert.EqualValues(t, 2, failed.Load())

	svc, err := w.store.GetService(ctx, "9")
	require.NoError(t, err)
	assert.Equal(t, billing.StatusOrdered, svc.Status, "the service stays Pending")
	assert.Contains(t, svc.Error, "failed the same way")
	assert.Contains(t, svc.Error, "OS install failed", "the reason")

	for _, st := range w.srv.Servers() {
		assert.False(t, st.Disabled, "server %d in sale", st.ID)
		assert.Zero(t, st.Owner, "server %d in sale", st.ID)
		assert.Equal(t, provision.FreeHostname, st.Hostname)
	}
	assert.Equal(t, 0, w.check())
	w.checkIPs()

	// Restored from the store's record after a restart, the cause is
	// still recognised.
	ops, err := w.store.ListOperations(ctx, provision.OperationFilter{ServiceID: "9"})
	require.NoError(t, err)
	require.Len(t, ops, 1)
	_, err = w.engine("other", nil).Wait(ctx, ops[0].ID)
	require.ErrorIs(t, err, provision.ErrOrderFault)
	assert.NotErrorIs(t, err, provision.ErrNoServer)
}

// TestCleanStopReleasesLease: an engine whose context ends in the middle
// of the OS install gives its lease back, so a second engine's Resume
// finishes the order at once, without waiting LeaseDuration.
func TestCleanStopReleasesLease(t *testing.T) {
	t.Parallel()
	w := newIPWorld(t, 2)
	long := func(c *provision.Config) { c.LeaseDuration = time.Hour }
	a := w.engine("A", long)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Subscribe(func(ev provision.Event) {
		if ev.Type == provision.EventStepStarted && ev.Step == "wait_install" {
			cancel()
		}
	})
	_, err := a.Open(ctx, provision.OpenRequest{ServiceID: "5", TariffID: 1, Owner: "cust", Password: "Secret-pw-1", OperationID: "op-5"})
	require.ErrorIs(t, err, provision.ErrInterrupted)
	op, err := w.store.GetOperation(context.Background(), "op-5")
	require.NoError(t, err)
	require.False(t, op.State.Finished())
	assert.Empty(t, op.Worker, "the lease was released")
	assert.Equal(t, "wait_install", op.Step)

	// Resume claims only operations whose lease is free (it returns when
	// none is left): B finishing the order proves A's hour-long lease was
	// given back, without a stopwatch.
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	require.NoError(t, w.engine("B", long).Resume(rctx))
	op, err = w.store.GetOperation(context.Background(), "op-5")
	require.NoError(t, err)
	assert.Equal(t, provision.StateDone, op.State)
	assert.Equal(t, 2, op.Attempts, "claimed by A, then by B")
	svc, err := w.store.GetService(context.Background(), "5")
	require.NoError(t, err)
	assert.Equal(t, billing.StatusActive, svc.Status)
	assert.Equal(t, 1, w.check())
	w.checkIPs()
}

// TestSwapCrashAtEveryStepThroughFakes stops the engine at each step
// start of an Open with a parking swap whose first server fails, and of
// the Close that follows; a second engine resumes. Both fakes must agree
// with the Store after every cut.
func TestSwapCrashAtEveryStepThroughFakes(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, cutAt int64) (steps int64) {
		w := newIPWorld(t, 2)
		require.NoError(t, w.srv.FailNextInstall(1))
		a := w.engine("A", nil)
		var n atomic.Int64
		var cancelCur atomic.Pointer[context.CancelFunc]
		a.Subscribe(func(ev provision.Event) {
			if ev.Type == provision.EventStepStarted && n.Add(1) == cutAt {
				(*cancelCur.Load())()
			}
		})
		b := w.engine("B", nil)
		for _, req := range []provision.Request{
			provision.OpenRequest{ServiceID: "1", TariffID: 1, Owner: "cust", Password: "Secret-pw-1", OperationID: "op-open", Options: map[string]string{"IP": "1"}},
			provision.CloseRequest{ServiceID: "1", OperationID: "op-close"},
		} {
			opID := "op-open"
			if req.Kind() == provision.OpClose {
				opID = "op-close"
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancelCur.Store(&cancel)
			_, err := a.Do(ctx, req)
			cancel()
			if err != nil {
				require.ErrorIs(t, err, provision.ErrInterrupted)
				require.NoError(t, b.Resume(context.Background()), "the lease was released: B resumes at once")
				op, err := w.store.GetOperation(context.Background(), opID)
				require.NoError(t, err)
				require.Equal(t, provision.StateDone, op.State, "%s resumed", req.Kind())
			}
			if req.Kind() == provision.OpOpen {
				svc, err := w.store.GetService(context.Background(), "1")
				require.NoError(t, err)
				require.Equal(t, billing.StatusActive, svc.Status)
				require.Equal(t, "2", svc.Properties[provision.PropServerID])
				require.Equal(t, 1, w.check())
			} else {
				require.Equal(t, 0, w.check())
			}
			w.checkIPs()
		}
		return n.Load()
	}
	total := run(t, -1)
	require.Greater(t, total, int64(20))
	for k := int64(1); k <= total; k++ {
		t.Run(strconv.FormatInt(k, 10), func(t *testing.T) {
			t.Parallel()
			run(t, k)
		})
	}
}

// TestLostAllocationAnswerIsReleased: IPmanager allocates the public
// address but the answer is lost (the connection drops after the change),
// and the operation is then given up (no retry in place, one attempt):
// its roll-back finds the address by its note and releases it, and the
// server goes back to sale on its parking address.
func TestLostAllocationAnswerIsReleased(t *testing.T) {
	t.Parallel()
	w := newIPWorld(t, 1)
	w.ipm.Inject(ipmanagertest.Fault{Match: ipmanager.FuncEdit, Kind: ipmanagertest.FaultDropAfter})
	e := w.engine("e", func(c *provision.Config) {
		c.StepRetries, c.MaxAttempts, c.LeaseDuration = -1, 1, 150*time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	op, err := e.Submit(ctx, provision.OpenRequest{ServiceID: "9", TariffID: 1, Owner: "cust", Password: "Secret-pw-1"})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	_, err = e.Wait(ctx, op.ID)
	require.Error(t, err, "given up after its one attempt")
	cancel()
	require.NoError(t, <-done)

	var dropped int
	for _, c := range w.ipm.Calls() {
		if c.Fault == ipmanagertest.FaultDropAfter {
			dropped++
			assert.True(t, c.Applied, "the allocation took effect")
		}
	}
	require.Equal(t, 1, dropped)
	st := w.srv.Servers()[0]
	assert.Zero(t, st.Owner, "back in sale")
	assert.False(t, st.Disabled)
	w.checkIPs() // nothing allocated that is on no server
}
