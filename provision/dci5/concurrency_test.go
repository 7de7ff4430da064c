package dci5_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/memstore"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// The figures of issue 5: more orders than matching servers.
const (
	scaleServers = 150
	scaleOrders  = 200
	// scaleEngines engines, each with its own panel client and Run pool
	// of scaleWorkers, share one Store. Two, not three: the run is CPU
	// bound (every Servers.Get lists all servers and the fake renders the
	// whole list), so more engines only add lease and claim traffic.
	scaleEngines = 2
	scaleWorkers = 8
)

// TestConcurrentOrdersAtScale submits 200 orders at once against 150
// matching free servers of the DCImanager 5 fake (among non-matching,
// faulty and taken ones that must never be sold), processed over HTTP by
// several engines sharing one Store: 150 services become Active on 150
// distinct servers, 50 stay Pending with ErrNoServer, and the panel and
// the Store agree. The subtests run one after the other: each keeps both
// cores busy.
func TestConcurrentOrdersAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("200 orders over HTTP: skipped with -short")
	}
	t.Parallel()
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) provision.Store
	}{
		{"memstore", func(*testing.T) provision.Store { return memstore.New() }},
		{"sqlite", func(t *testing.T) provision.Store {
			db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "store.db"))
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			s, err := sqlstore.New(db, sqlstore.SQLite)
			require.NoError(t, err)
			return s
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runOrdersAtScale(t, tc.store(t))
		})
	}
}

// scaleFake is the fake panel of the scale test with the ids of the
// servers that may be sold and a snapshot of those that may not.
type scaleFake struct {
	srv      *dcimanager5test.Server
	matching map[int64]bool
	// untouched are the servers no order may touch, as seeded.
	untouched map[int64]dcimanager5test.ServerState
	otherUser int64
}

// newScaleFake seeds 150 free servers of configuration C1 interleaved with
// servers that are not for sale: another configuration, blocked, with a
// hardware problem, running diagnostics, or already owned.
func newScaleFake(t *testing.T) *scaleFake {
	f := &scaleFake{matching: map[int64]bool{}, untouched: map[int64]dcimanager5test.ServerState{}}
	f.srv = dcimanager5test.NewServer(dcimanager5test.WithoutSeed(),
		dcimanager5test.WithPowerDuration(time.Millisecond),
		dcimanager5test.WithInstallDuration(2*time.Millisecond),
		dcimanager5test.WithConnectionDuration(0))
	f.srv.Strict(t)
	t.Cleanup(f.srv.Close)
	require.NoError(t, f.srv.AddPool("parking", "ipv4", "10.10.0.0/16"))
	require.NoError(t, f.srv.AddPool("public", "ipv4", "198.18.0.0/16"))
	f.srv.AddOSTemplate("ISPsystem", "Debian-12-x86_64", "linux")
	f.otherUser = f.srv.AddUser("someone", "Someone-pw-1")
	notForSale := []dcimanager5test.ServerSpec{
		{ChassisTemplate: "C2", Type: "2U"},                // another configuration
		{ChassisTemplate: "C1", Type: "1U", Blocked: true}, // faulty
		{ChassisTemplate: "C1", Type: "1U", HWProblem: true},
		{ChassisTemplate: "C1", Type: "1U", DiagInProgress: true},
		{ChassisTemplate: "C1", Type: "1U", Owner: f.otherUser, IPGroup: "public", Domain: "taken.example.org", PoweredOn: true}, // sold
		{ChassisTemplate: "C1", Type: "1U", Domain: "staging.example.org"},                                                       // not free.ds
		{ChassisTemplate: "", Type: "C2"},
	}
	n := 0
	for i := range scaleServers {
		if i%22 == 0 { // one not-for-sale server of each kind, spread out
			sp := notForSale[n%len(notForSale)]
			sp.Name = fmt.Sprintf("x%03d", n)
			n++
			id, err := f.srv.AddServer(sp)
			require.NoError(t, err)
			f.untouched[id], _ = f.srv.Server(id)
		}
		id, err := f.srv.AddServer(dcimanager5test.ServerSpec{Name: fmt.Sprintf("s%03d", i+1), ChassisTemplate: "C1", Type: "1U"})
		require.NoError(t, err)
		f.matching[id] = true
	}
	return f
}

func runOrdersAtScale(t *testing.T, store provision.Store) {
	start := time.Now()
	f := newScaleFake(t)
	admin, pw := f.srv.Admin()
	cat := billing.NewCatalog()
	require.NoError(t, cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dci", URL: f.srv.URL(), Username: admin, Password: pw}))
	require.NoError(t, cat.AddTariff(&billing.Tariff{ID: 1, Name: "C1", ProductType: billing.ProductDedicatedServer, Modules: []string{"dci"},
		ServerConfig: "C1", OSTemplate: "ISPsystem__Debian-12-x86_64", DomainTemplate: "s@ID@.example.net"}))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	engines := make([]*provision.Engine, scaleEngines)
	var runs sync.WaitGroup
	defer runs.Wait()
	defer cancel()
	for i := range engines {
		c, err := dcimanager5.NewClient(f.srv.URL(), dcimanager5.WithCredentials(admin, pw),
			dcimanager5.WithPollInterval(time.Millisecond, 5*time.Millisecond))
		require.NoError(t, err)
		e, err := provision.New(provision.Config{
			Store: store, Catalog: cat, WorkerID: fmt.Sprintf("e%d", i), Workers: scaleWorkers,
			Dedicated:     map[string]provision.DedicatedBackend{"dci": dci5.New(c, admin)},
			LeaseDuration: 10 * time.Second, PollInterval: time.Millisecond, ClaimInterval: 5 * time.Millisecond,
			InstallTimeout: 10 * time.Second, PowerTimeout: 10 * time.Second,
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
	seeded := time.Since(start)

	// Submit every order at once, spread over the engines.
	opIDs := make([]string, scaleOrders)
	submitErr := make([]error, scaleOrders)
	var submits sync.WaitGroup
	for i := range scaleOrders {
		submits.Go(func() {
			op, err := engines[i%scaleEngines].Submit(ctx, provision.OpenRequest{ServiceID: strconv.Itoa(1000 + i),
				TariffID: 1, Owner: fmt.Sprintf("cust.%d", i), Password: "Secret-pw-1"})
			submitErr[i] = err
			if err == nil {
				opIDs[i] = op.ID
			}
		})
	}
	submits.Wait()
	for i, err := range submitErr {
		require.NoError(t, err, "submit order %d", i)
	}

	failed := map[string]bool{} // service ids
	for i, id := range opIDs {
		// No time bound of its own: how long 200 orders take depends on the
		// machine, and a hang is caught by go test's -timeout with every
		// goroutine's stack.
		op, err := engines[(i+1)%scaleEngines].Wait(ctx, id) // not always the submitter
		require.NoError(t, ctx.Err(), "operation %s of order %d", id, i)
		if err != nil {
			require.ErrorIs(t, err, provision.ErrNoServer, "order %d", i)
			failed[op.ServiceID] = true
		}
	}
	processed := time.Since(start) - seeded
	cancel()
	runs.Wait()
	calls := map[string]int{}
	for _, c := range f.srv.Calls() {
		calls[c.Func]++
	}
	t.Logf("seed %v, %d orders by %d engines x %d workers in %v; panel calls %v", seeded, scaleOrders, scaleEngines, scaleWorkers, processed, calls)
	assert.Len(t, failed, scaleOrders-scaleServers, "orders left without a server")

	checkScale(t, f, store, failed)
}

// checkScale compares the Store with the fake after the run.
func checkScale(t *testing.T, f *scaleFake, store provision.Store, failed map[string]bool) {
	ctx := context.Background()
	unfinished, err := store.ListOperations(ctx, provision.OperationFilter{States: []provision.OperationState{provision.StatePending, provision.StateRunning}})
	require.NoError(t, err)
	require.Empty(t, unfinished, "unfinished operations")

	all, err := store.ListServices(ctx, provision.ServiceFilter{})
	require.NoError(t, err)
	require.Len(t, all, scaleOrders)
	active := map[string]*provision.Service{} // by server id
	var pending int
	for _, s := range all {
		if id := s.Properties[provision.PropServerID]; id != "" {
			if prev := active[id]; prev != nil {
				t.Fatalf("server %s in services %s and %s", id, prev.ID, s.ID)
			}
			active[id] = s
		}
		switch s.Status {
		case billing.StatusActive:
			require.False(t, failed[s.ID], "service %s Active but its order failed", s.ID)
			require.NotEmpty(t, s.Properties[provision.PropServerID], "Active service %s without a server", s.ID)
		case billing.StatusOrdered:
			pending++
			require.True(t, failed[s.ID], "service %s Pending but its order succeeded", s.ID)
			require.Empty(t, s.Properties[provision.PropServerID], "Pending service %s holds a server", s.ID)
			require.Contains(t, s.Error, provision.ErrNoServer.Error(), "service %s", s.ID)
		default:
			t.Fatalf("service %s is %s", s.ID, s.Status)
		}
	}
	assert.Equal(t, scaleOrders-scaleServers, pending, "Pending services")
	require.Len(t, active, scaleServers, "distinct servers sold")

	res, err := store.Reservations(ctx, "")
	require.NoError(t, err)
	require.Len(t, res, scaleServers, "reservations")
	for _, r := range res {
		s := active[r.ServerID]
		require.NotNil(t, s, "leaked reservation of server %s by operation %s", r.ServerID, r.OperationID)
		require.Equal(t, billing.StatusActive, s.Status, "reservation of server %s", r.ServerID)
		require.Equal(t, s.ID, r.ServiceID, "reservation of server %s", r.ServerID)
	}

	users := map[string]int64{}
	for _, u := range f.srv.Users() {
		users[u.Name] = u.ID
	}
	sold := 0
	for _, st := range f.srv.Servers() {
		id := strconv.FormatInt(st.ID, 10)
		if want, ok := f.untouched[st.ID]; ok {
			require.Equal(t, want, st, "server %d (%s) is not for sale", st.ID, st.Name)
			require.Nil(t, active[id], "server %d (%s) is not for sale", st.ID, st.Name)
			continue
		}
		require.True(t, f.matching[st.ID])
		s := active[id]
		require.NotNil(t, s, "matching server %d (%s) left unsold: owner %d hostname %q", st.ID, st.Name, st.Owner, st.Hostname)
		sold++
		login := s.Properties[provision.PropLogin]
		require.NotZero(t, users[login], "service %s: no panel user %q", s.ID, login)
		require.Equal(t, users[login], st.Owner, "server %d owned by the user of service %s", st.ID, s.ID)
		require.Equal(t, strconv.FormatInt(st.Owner, 10), s.Properties[provision.PropUserID])
		require.Equal(t, "s"+s.ID+".example.net", st.Hostname, "server %d", st.ID)
		require.Equal(t, st.Hostname, s.Properties[provision.PropDomain], "server %d", st.ID)
		require.Equal(t, "ISPsystem__Debian-12-x86_64", st.OSTemplate, "server %d", st.ID)
		require.Equal(t, 1, st.Installs, "server %d installed once", st.ID)
		require.True(t, st.PowerOn, "server %d", st.ID)
		require.False(t, st.Disabled, "server %d", st.ID)
		require.NotEqual(t, f.otherUser, st.Owner)
	}
	require.Equal(t, scaleServers, sold)
	for _, st := range f.srv.Servers() {
		free := st.Owner == 0 && st.Hostname == provision.FreeHostname && !st.Blocked && !st.HWProblem && !st.DiagInProgress
		require.False(t, free && (st.ChassisTemplate == "C1" || st.Type == "C1"), "server %d (%s) of C1 still free", st.ID, st.Name)
	}
}
