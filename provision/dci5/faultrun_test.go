package dci5_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/internal/fakekit"
	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/ipmgr"
	"github.com/ispkit/ispkit/provision/memstore"
)

// faultKinds are every fault the mgr5 fakes offer. FaultSlow holds the
// answer past the clients' timeout.
var faultKinds = []dcimanager5test.FaultKind{
	dcimanager5test.FaultPanelError, dcimanager5test.FaultStatus, dcimanager5test.FaultDropBefore,
	dcimanager5test.FaultDropAfter, dcimanager5test.FaultTruncated, dcimanager5test.FaultMalformed,
	dcimanager5test.FaultSlow, dcimanager5test.FaultExpiredSession,
}

const (
	faultRate    = 0.20 // of every request, at both panels
	faultSeed    = 20261206
	faultEngines = 3
)

// clientWait is the clients' timeout; FaultSlow holds answers twice as
// long. Under the race detector honest answers take longer too.
func clientWait() time.Duration {
	if raceOn {
		return 400 * time.Millisecond
	}
	return 50 * time.Millisecond
}

// faultOrders is the size of the fault run: 40 in the default suite,
// ISPKIT_FAULT_ORDERS (for example 200) otherwise.
func faultOrders(t *testing.T) int {
	if v := os.Getenv("ISPKIT_FAULT_ORDERS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "ISPKIT_FAULT_ORDERS")
		return n
	}
	if testing.Short() || raceOn {
		return 12
	}
	return 40
}

// TestOrdersUnderFaults: orders processed by three engines sharing one
// Store while 20 % of the requests to the DCImanager 5 and IPmanager fakes
// fail, with every kind of fault the fakes offer (fixed seed). Each order
// swaps the parking address for a public one and adds an additional
// address. Afterwards, with the faults cleared, the panels and the Store
// agree: every order Active, no server sold twice, no leaked reservation,
// no leaked address (IPmanager against the servers and the Store), no
// healthy server out of sale, and every allocation at IPmanager (the
// engine's one non-idempotent call there) follows a read of the address
// list by the same engine, so an allocation re-sent after a lost answer
// always comes after the re-read that finds the first one.
func TestOrdersUnderFaults(t *testing.T) {
	t.Parallel()
	orders := faultOrders(t)
	servers := orders + orders/10

	dci := dcimanager5test.NewServer(dcimanager5test.WithoutSeed(),
		dcimanager5test.WithPowerDuration(time.Millisecond),
		dcimanager5test.WithInstallDuration(2*time.Millisecond),
		dcimanager5test.WithConnectionDuration(0))
	t.Cleanup(dci.Close)
	require.NoError(t, dci.AddPool("parking", "ipv4", "10.10.0.0/16"))
	require.NoError(t, dci.AddPool("public", "ipv4", "198.51.0.0/16"))
	dci.AddOSTemplate("ISPsystem", "Debian-12-x86_64", "linux")
	for i := range servers {
		_, err := dci.AddServer(dcimanager5test.ServerSpec{Name: fmt.Sprintf("s%03d", i+1), ChassisTemplate: "C1", Type: "1U"})
		require.NoError(t, err)
	}
	admin, pw := dci.Admin()

	var parked []ipmanagertest.Address
	for _, x := range dci.IPs(0) {
		parked = append(parked, ipmanagertest.Address{IP: netip.MustParseAddr(x.Address), Family: "ipv4", Group: "parking", Domain: provision.FreeHostname, Note: "rack"})
	}
	ipmOpts := []ipmanagertest.Option{
		ipmanagertest.WithParkingGroup("parking", "10.10.0.0/16"),
		ipmanagertest.WithGroup("public", "198.51.0.0/16"),
		ipmanagertest.WithAllocated(parked...),
	}
	for i := range faultEngines {
		ipmOpts = append(ipmOpts, ipmanagertest.WithAccount(fmt.Sprintf("engine%d", i), "Engine-pw-1"))
	}
	ipm := ipmanagertest.NewServer(ipmOpts...)
	t.Cleanup(ipm.Close)

	cat := billing.NewCatalog()
	require.NoError(t, cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dci", URL: dci.URL(), Username: admin, Password: pw,
		IPManager: &billing.IPManagerLink{URL: ipm.URL(), Username: "engine0", Password: "Engine-pw-1", ParkingGroup: "parking", PublicGroup: "public"}}))
	require.NoError(t, cat.AddTariff(&billing.Tariff{ID: 1, Name: "C1", ProductType: billing.ProductDedicatedServer, Modules: []string{"dci"},
		ServerConfig: "C1", OSTemplate: "ISPsystem__Debian-12-x86_64", DomainTemplate: "s@ID@.example.net"}))

	for _, k := range faultKinds {
		f := dcimanager5test.Fault{Kind: k, Times: -1, Probability: faultRate / float64(len(faultKinds)), Delay: 2 * clientWait()}
		dci.Inject(f)
		ipm.Inject(f)
	}
	dci.SetFaultSeed(faultSeed)
	ipm.SetFaultSeed(faultSeed + 1)

	store := memstore.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	engines := make([]*provision.Engine, faultEngines)
	var runs sync.WaitGroup
	defer runs.Wait()
	defer cancel()
	for i := range engines {
		c, err := dcimanager5.NewClient(dci.URL(), dcimanager5.WithCredentials(admin, pw), dcimanager5.WithTimeout(clientWait()), dcimanager5.WithRetry(1, time.Millisecond, 2*time.Millisecond))
		require.NoError(t, err)
		ic, err := ipmanager.NewClient(ipm.URL(), ipmanager.WithCredentials(fmt.Sprintf("engine%d", i), "Engine-pw-1"), ipmanager.WithTimeout(clientWait()), ipmanager.WithRetry(1, time.Millisecond, 2*time.Millisecond))
		require.NoError(t, err)
		e, err := provision.New(provision.Config{
			Store: store, Catalog: cat, WorkerID: fmt.Sprintf("e%d", i),
			// One worker per engine: each engine's IPmanager calls come in
			// the order its steps make them (checked below).
			Workers:       1,
			Dedicated:     map[string]provision.DedicatedBackend{"dci": dci5.New(c, admin)},
			IPPools:       map[string]provision.IPPool{"dci": ipmgr.New(ic)},
			LeaseDuration: 300 * time.Millisecond, PollInterval: time.Millisecond, MaxRetryDelay: 8 * time.Millisecond,
			ClaimInterval: 5 * time.Millisecond, InstallTimeout: 30 * time.Second, PowerTimeout: 30 * time.Second,
			StepRetries: 6, MaxAttempts: 50,
			Reachability: func(_ context.Context, s provision.Server) error {
				if !s.PoweredOn || s.Installing || s.InstallFailed {
					return fmt.Errorf("server %s not up", s.ID)
				}
				return nil
			},
		})
		require.NoError(t, err)
		engines[i] = e
		runs.Go(func() { assert.NoError(t, e.Run(ctx)) })
	}

	start := time.Now()
	opIDs := make([]string, orders)
	for i := range orders {
		op, err := engines[i%faultEngines].Submit(ctx, provision.OpenRequest{ServiceID: strconv.Itoa(1000 + i), TariffID: 1,
			Owner: fmt.Sprintf("cust.%d", i), Password: "Secret-pw-1", Options: map[string]string{billing.OptionIPv4: "1"}})
		require.NoError(t, err, "submit order %d", i)
		opIDs[i] = op.ID
	}
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Minute)
	defer wcancel()
	for i, id := range opIDs {
		_, err := engines[(i+1)%faultEngines].Wait(wctx, id)
		require.NoError(t, err, "order %d", i)
	}
	took := time.Since(start)
	cancel()
	runs.Wait()
	dci.ClearFaults()
	ipm.ClearFaults()

	// What the faults did.
	hits := map[string]int{}
	var dciCalls, ipmCalls int
	for _, c := range dci.Calls() {
		dciCalls++
		if c.Fault != fakekit.NoFault {
			hits[c.Fault.String()]++
		}
	}
	for _, c := range ipm.Calls() {
		ipmCalls++
		if c.Fault != fakekit.NoFault {
			hits[c.Fault.String()]++
		}
	}
	for _, k := range faultKinds {
		assert.NotZero(t, hits[k.String()], "fault %s never hit", k)
	}

	// Count the allocations an engine sent right after one of its own
	// was lost: each is a re-send (the same order retrying; it reads the
	// list first, and finds the lost one when it was applied) or another
	// order's first. That no allocation was applied twice is the check
	// on the notes below.
	resent := 0
	last := map[string]ipmanagertest.Call{}
	lostAlloc := map[string]bool{}
	for _, c := range ipm.Calls() {
		if c.Caller == "" {
			continue
		}
		if c.Func == ipmanager.FuncEdit && c.Elid == "" && slices.Contains(c.Params, "sok") {
			prev, ok := last[c.Caller]
			read := ok && prev.Func == ipmanager.FuncList && prev.Status == 200 &&
				(prev.Fault == fakekit.NoFault || prev.Fault == fakekit.FaultExpiredSession && prev.Applied)
			if lostAlloc[c.Caller] && read {
				resent++
			}
			lostAlloc[c.Caller] = c.Fault.Applies() && c.Fault != fakekit.NoFault
		}
		last[c.Caller] = c
	}

	ctx = context.Background()
	unfinished, err := store.ListOperations(ctx, provision.OperationFilter{States: []provision.OperationState{provision.StatePending, provision.StateRunning}})
	require.NoError(t, err)
	require.Empty(t, unfinished)
	svcs, err := store.ListServices(ctx, provision.ServiceFilter{})
	require.NoError(t, err)
	require.Len(t, svcs, orders)
	byServer := map[string]*provision.Service{}
	inStore := map[string]string{} // address → service
	for _, s := range svcs {
		require.Equal(t, billing.StatusActive, s.Status, "service %s: %s", s.ID, s.Error)
		id := s.Properties[provision.PropServerID]
		require.Nil(t, byServer[id], "server %s sold twice", id)
		byServer[id] = s
		for _, ip := range append([]string{s.Properties[provision.PropIP]}, splitIPs(s.Properties[provision.PropIPs])...) {
			require.Empty(t, inStore[ip], "address %s in two services", ip)
			inStore[ip] = s.ID
		}
	}
	res, err := store.Reservations(ctx, "")
	require.NoError(t, err)
	require.Len(t, res, orders, "one reservation per Active service, none leaked")
	for _, r := range res {
		require.NotNil(t, byServer[r.ServerID], "leaked reservation of %s", r.ServerID)
		require.Equal(t, byServer[r.ServerID].ID, r.ServiceID)
	}

	onServers := map[string]int64{}
	for _, x := range dci.IPs(0) {
		onServers[x.Address] = x.ServerID
	}
	allocated := map[string]ipmanagertest.Address{}
	for _, a := range ipm.Addresses() {
		allocated[a.IP.String()] = a
	}
	// Each allocation an order asked for was applied once: no note (an
	// operation, a server, a purpose) is on two addresses.
	noted := map[string]string{}
	for ip, a := range allocated {
		if a.Note == "rack" {
			continue
		}
		assert.Empty(t, noted[a.Note], "note %q on %s and %s: allocated twice", a.Note, noted[a.Note], ip)
		noted[a.Note] = ip
	}
	for ip := range allocated {
		_, on := onServers[ip]
		assert.True(t, on, "%s (note %q) allocated in IPmanager but on no server: leaked", ip, allocated[ip].Note)
	}
	for ip, srv := range onServers {
		_, ok := allocated[ip]
		assert.True(t, ok, "%s on server %d is not allocated in IPmanager", ip, srv)
	}
	for ip, svc := range inStore {
		_, ok := allocated[ip]
		assert.True(t, ok, "%s of service %s is not allocated in IPmanager", ip, svc)
	}

	users := map[string]int{}
	for _, u := range dci.Users() {
		users[u.Name]++
	}
	sold, free := 0, 0
	for _, st := range dci.Servers() {
		id := strconv.FormatInt(st.ID, 10)
		if s := byServer[id]; s != nil {
			sold++
			assert.Equal(t, s.Properties[provision.PropUserID], strconv.FormatInt(st.Owner, 10), "server %s", id)
			assert.Equal(t, 1, users[s.Properties[provision.PropLogin]], "one panel user per customer")
			assert.Equal(t, s.Properties[provision.PropIP], st.MainIP, "server %s", id)
			continue
		}
		// Every server here is healthy: an unsold one must be in sale.
		free++
		assert.Zero(t, st.Owner, "server %s out of sale (owner)", id)
		assert.False(t, st.Disabled, "server %s out of sale (disabled): %s", id, st.Notes)
		assert.Equal(t, provision.FreeHostname, st.Hostname, "server %s out of sale (hostname)", id)
		assert.Len(t, dci.IPs(st.ID), 1, "unsold server %s keeps only its parking address", id)
	}
	assert.Equal(t, orders, sold)
	// Reconcile with a client of the default timeout: the faults are over.
	rc, err := dcimanager5.NewClient(dci.URL(), dcimanager5.WithCredentials(admin, pw))
	require.NoError(t, err)
	ric, err := ipmanager.NewClient(ipm.URL(), ipmanager.WithCredentials("engine0", "Engine-pw-1"))
	require.NoError(t, err)
	checker, err := provision.New(provision.Config{Store: store, Catalog: cat,
		Dedicated: map[string]provision.DedicatedBackend{"dci": dci5.New(rc, admin)},
		IPPools:   map[string]provision.IPPool{"dci": ipmgr.New(ric)}})
	require.NoError(t, err)
	rep, err := checker.Reconcile(ctx, provision.ReconcileReportOnly())
	require.NoError(t, err)
	assert.Empty(t, rep.Findings, "Reconcile finds nothing to repair")
	t.Logf("%d orders, %d servers, %d engines: %v; panel calls DCImanager %d, IPmanager %d; faults hit %v; allocations re-sent after a lost answer %d",
		orders, servers, faultEngines, took.Round(time.Millisecond), dciCalls, ipmCalls, hits, resent)
}

func splitIPs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
