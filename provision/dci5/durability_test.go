package dci5_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/memstore"
)

type world struct {
	t     *testing.T
	srv   *dcimanager5test.Server
	cat   *billing.Catalog
	store *memstore.Store
	off   atomic.Int64 // memstore clock offset
	admin string
	pw    string
}

func newWorld(t *testing.T, servers int) *world {
	w := &world{t: t}
	w.srv = dcimanager5test.NewServer(dcimanager5test.WithoutSeed(),
		dcimanager5test.WithPowerDuration(time.Millisecond),
		dcimanager5test.WithInstallDuration(2*time.Millisecond),
		dcimanager5test.WithConnectionDuration(0))
	w.srv.Strict(t)
	t.Cleanup(w.srv.Close)
	require.NoError(t, w.srv.AddPool("parking", "ipv4", "10.10.0.0/24"))
	require.NoError(t, w.srv.AddPool("public", "ipv4", "203.0.113.0/24"))
	w.srv.AddOSTemplate("ISPsystem", "Debian-12-x86_64", "linux")
	for i := range servers {
		_, err := w.srv.AddServer(dcimanager5test.ServerSpec{Name: fmt.Sprintf("s%03d", i+1), ChassisTemplate: "C1", Type: "1U"})
		require.NoError(t, err)
	}
	w.admin, w.pw = w.srv.Admin()
	w.store = memstore.New(memstore.WithClock(func() time.Time { return time.Now().Add(time.Duration(w.off.Load())) }))
	w.cat = billing.NewCatalog()
	require.NoError(t, w.cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dci", URL: w.srv.URL(), Username: w.admin, Password: w.pw}))
	require.NoError(t, w.cat.AddTariff(&billing.Tariff{ID: 1, Name: "C1", ProductType: billing.ProductDedicatedServer, Modules: []string{"dci"},
		ServerConfig: "C1", OSTemplate: "ISPsystem__Debian-12-x86_64"}))
	return w
}

func (w *world) engine(id string, workers int) *provision.Engine {
	c, err := dcimanager5.NewClient(w.srv.URL(), dcimanager5.WithCredentials(w.admin, w.pw))
	require.NoError(w.t, err)
	e, err := provision.New(provision.Config{
		Store: w.store, Catalog: w.cat, WorkerID: id, Workers: workers,
		Dedicated:     map[string]provision.DedicatedBackend{"dci": dci5.New(c, w.admin)},
		LeaseDuration: time.Second, PollInterval: time.Millisecond, ClaimInterval: 5 * time.Millisecond,
		InstallTimeout: 5 * time.Second, PowerTimeout: 5 * time.Second,
		Reachability: func(ctx context.Context, s provision.Server) error {
			if !s.PoweredOn || s.Installing || s.InstallFailed {
				return fmt.Errorf("not up")
			}
			return nil
		},
	})
	require.NoError(w.t, err)
	return e
}

// check compares the Store with the fake panel: every customer-owned
// server belongs to exactly one Active service, every reservation to an
// Active service, every other server is free or a disabled failed one.
func (w *world) check() (active int) {
	t := w.t
	ctx := context.Background()
	unfinished, err := w.store.ListOperations(ctx, provision.OperationFilter{States: []provision.OperationState{provision.StatePending, provision.StateRunning}})
	require.NoError(t, err)
	require.Empty(t, unfinished)
	svcs, err := w.store.ListServices(ctx, provision.ServiceFilter{Statuses: []billing.Status{billing.StatusActive}})
	require.NoError(t, err)
	byServer := map[string]*provision.Service{}
	for _, s := range svcs {
		id := s.Properties[provision.PropServerID]
		require.Nil(t, byServer[id], "server %s sold twice", id)
		byServer[id] = s
	}
	res, err := w.store.Reservations(ctx, "dci")
	require.NoError(t, err)
	require.Len(t, res, len(svcs), "reservations = active services")
	for _, r := range res {
		require.NotNil(t, byServer[r.ServerID], "leaked reservation of %s", r.ServerID)
	}
	var adminID int64
	for _, u := range w.srv.Users() {
		if u.Name == w.admin {
			adminID = u.ID
		}
	}
	for _, st := range w.srv.Servers() {
		id := strconv.FormatInt(st.ID, 10)
		switch s := byServer[id]; {
		case s != nil:
			require.Equal(t, s.Properties[provision.PropUserID], strconv.FormatInt(st.Owner, 10))
			require.NotEqual(t, provision.FreeHostname, st.Hostname)
		case st.Owner == adminID && st.Owner != 0:
			require.True(t, st.Disabled, "server %s held by admin but not disabled", id)
			require.NotEmpty(t, st.Notes)
		default:
			require.Zero(t, st.Owner, "server %s owned without a service", id)
			require.Equal(t, provision.FreeHostname, st.Hostname, "server %s", id)
		}
	}
	return len(svcs)
}

// TestConcurrentOrdersThroughFake: more orders than servers, three engines
// sharing one Store, all over HTTP.
func TestConcurrentOrdersThroughFake(t *testing.T) {
	t.Parallel()
	const servers, orders = 30, 40
	w := newWorld(t, servers)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var engines []*provision.Engine
	var wg sync.WaitGroup
	for i := range 3 {
		e := w.engine(fmt.Sprintf("e%d", i), 4)
		engines = append(engines, e)
		wg.Go(func() { assert.NoError(t, e.Run(ctx)) })
	}
	ids := make([]string, orders)
	for i := range ids {
		op, err := engines[i%3].Submit(ctx, provision.OpenRequest{ServiceID: strconv.Itoa(500 + i), TariffID: 1, Owner: fmt.Sprintf("cust%d", i), Password: "Secret-pw-1"})
		require.NoError(t, err)
		ids[i] = op.ID
	}
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	pending := 0
	for _, id := range ids {
		if _, err := engines[0].Wait(wctx, id); err != nil {
			require.ErrorIs(t, err, provision.ErrNoServer)
			pending++
		}
	}
	cancel()
	wg.Wait()
	assert.Equal(t, orders-servers, pending)
	assert.Equal(t, servers, w.check())
}

// TestCrashAtEveryStepThroughFake stops the engine at each step boundary of
// an Open whose first server fails, and resumes with a new engine.
func TestCrashAtEveryStepThroughFake(t *testing.T) {
	t.Parallel()
	for k := 1; k <= 24; k++ {
		t.Run(strconv.Itoa(k), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, 2)
			require.NoError(t, w.srv.FailNextInstall(1))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a := w.engine("A", 1)
			var n atomic.Int64
			a.Subscribe(func(ev provision.Event) {
				if ev.Type == provision.EventStepStarted && n.Add(1) == int64(k) {
					cancel()
				}
			})
			_, err := a.Open(ctx, provision.OpenRequest{ServiceID: "1", TariffID: 1, Owner: "cust", Password: "Secret-pw-1", OperationID: "op-1"})
			if err != nil {
				require.ErrorIs(t, err, provision.ErrInterrupted)
			}
			w.off.Add(int64(2 * time.Second))
			require.NoError(t, w.engine("B", 1).Resume(context.Background()))
			svc, err := w.store.GetService(context.Background(), "1")
			require.NoError(t, err)
			require.Equal(t, billing.StatusActive, svc.Status)
			require.Equal(t, "2", svc.Properties[provision.PropServerID])
			require.Equal(t, 1, w.check())
		})
	}
}
