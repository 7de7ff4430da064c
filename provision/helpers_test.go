package provision_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/fakebackend"
	"github.com/ispkit/ispkit/provision/memstore"
)

const (
	tariffDedic    = 1
	tariffDontWait = 2
	tariffColo     = 3
	tariffHosting  = 4
	tariffCustom   = 5 // module with NewServerType
	tariffTwoMods  = 6 // dc-empty (sort 1) then dc1 (sort 2)
	osTemplate     = "ISPsystem__Debian-12-x86_64"
)

// clock is the memstore clock: wall time plus an offset tests advance to
// expire leases without sleeping.
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

type env struct {
	t     testing.TB
	clock *clock
	store provision.Store
	cat   *billing.Catalog
	dc    *fakebackend.DC
	empty *fakebackend.DC
	pool  *fakebackend.Pool
	host  *fakebackend.Hosting

	mu     sync.Mutex
	events []provision.Event
	tasks  []billing.ManualTask
}

func newEnv(t testing.TB, servers int) *env {
	v := &env{t: t, clock: &clock{}, dc: fakebackend.NewDC(), empty: fakebackend.NewDC(), pool: fakebackend.NewPool(), host: fakebackend.NewHosting()}
	v.store = memstore.New(memstore.WithClock(v.clock.Now))
	v.dc.PowerDelay = 2 * time.Millisecond
	v.dc.InstallDelay = 5 * time.Millisecond
	// Parking addresses of the racked servers are allocated in IPmanager.
	v.dc.AddServers(servers, "X", func(i int) string {
		ip := fmt.Sprintf("10.0.%d.%d", i/200, i%200+1)
		v.pool.MarkUsed("parking", ip, "rack")
		return ip
	})
	for i := range servers + 60 {
		v.pool.AddRange("public", fmt.Sprintf("203.0.%d.%d", i/200, i%200+1))
		v.pool.AddRange("parking", fmt.Sprintf("10.1.%d.%d", i/200, i%200+1))
	}
	for i := range 40 {
		v.pool.AddRange("public", fmt.Sprintf("2001:db8:1::%x", i+1))
	}
	v.host.AddPreset("basic", map[string]string{"limit_db": "25", "limit_webdomains": "25"})

	cat := billing.NewCatalog()
	link := &billing.IPManagerLink{URL: "https://ipmgr.example/ipmgr", Username: "ip", Password: "pw", ParkingGroup: "parking"}
	must := func(err error) {
		t.Helper()
		require.NoError(t, err)
	}
	must(cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dc1", URL: "https://dci.example/dcimgr", Username: "admin", Password: "pw", SortOrder: 2, Department: "Hardware", IPManager: link}))
	must(cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dc-empty", URL: "https://dci2.example/dcimgr", Username: "admin", Password: "pw", SortOrder: 1}))
	must(cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dc-custom", URL: "https://dci3.example/dcimgr", Username: "admin", Password: "pw", SortOrder: 3, Department: "Assembly", NewServerType: true}))
	must(cat.AddModule(&billing.Module{Kind: billing.KindISPmanager, Name: "isp", URL: "https://isp.example/ispmgr", Username: "admin", Password: "pw", Department: "Hosting"}))
	limits, err := billing.LimitsFrom(map[string]string{"db": "10"})
	must(err)
	must(cat.AddTariff(&billing.Tariff{ID: tariffDedic, Name: "Dedic X", ProductType: billing.ProductDedicatedServer, Modules: []string{"dc1"}, ServerConfig: "X", OSTemplate: osTemplate, DomainTemplate: "s@ID@.example.net"}))
	must(cat.AddTariff(&billing.Tariff{ID: tariffDontWait, Name: "Dedic X fast", ProductType: billing.ProductDedicatedServer, Modules: []string{"dc1"}, ServerConfig: "X", OSTemplate: osTemplate, DontWaitInstall: true}))
	must(cat.AddTariff(&billing.Tariff{ID: tariffColo, Name: "Colo", ProductType: billing.ProductColocation, Modules: []string{"dc1"}}))
	must(cat.AddTariff(&billing.Tariff{ID: tariffHosting, Name: "Hosting", ProductType: billing.ProductSharedHosting, Modules: []string{"isp"}, AccountTemplate: "basic", Limits: limits, UsernameTemplate: "@USERNAME@"}))
	must(cat.AddTariff(&billing.Tariff{ID: tariffCustom, Name: "Custom", ProductType: billing.ProductDedicatedServer, Modules: []string{"dc-custom"}, ServerConfig: "Y", OSTemplate: osTemplate}))
	must(cat.AddTariff(&billing.Tariff{ID: tariffTwoMods, Name: "Two", ProductType: billing.ProductDedicatedServer, Modules: []string{"dc1", "dc-empty"}, ServerConfig: "X", OSTemplate: osTemplate}))
	v.cat = cat
	return v
}

// reach asks the fake whether the server is up.
func (v *env) reach(ctx context.Context, s provision.Server) error {
	if !s.PoweredOn || s.Installing || s.InstallFailed || s.IP == "" {
		return errors.New("no answer")
	}
	return nil
}

func (v *env) config(worker string) provision.Config {
	return provision.Config{
		Store:          v.store,
		Catalog:        v.cat,
		Dedicated:      map[string]provision.DedicatedBackend{"dc1": v.dc, "dc-empty": v.empty, "dc-custom": v.empty},
		Hosting:        map[string]provision.HostingBackend{"isp": v.host},
		IPPools:        map[string]provision.IPPool{"dc1": v.pool},
		WorkerID:       worker,
		Workers:        8,
		LeaseDuration:  time.Second,
		InstallTimeout: 2 * time.Second,
		PowerTimeout:   time.Second,
		ReachTimeout:   time.Second,
		PollInterval:   time.Millisecond,
		ClaimInterval:  5 * time.Millisecond,
		Reachability:   v.reach,
		OnManualTask: func(t billing.ManualTask) {
			v.mu.Lock()
			v.tasks = append(v.tasks, t)
			v.mu.Unlock()
		},
	}
}

func (v *env) engine(worker string, mod ...func(*provision.Config)) *provision.Engine {
	cfg := v.config(worker)
	for _, m := range mod {
		m(&cfg)
	}
	e, err := provision.New(cfg)
	require.NoError(v.t, err)
	unsub := e.Subscribe(func(ev provision.Event) {
		v.mu.Lock()
		v.events = append(v.events, ev)
		v.mu.Unlock()
	})
	v.t.Cleanup(unsub)
	return e
}

func (v *env) eventsOf(typ provision.EventType) []provision.Event {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []provision.Event
	for _, ev := range v.events {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func openReq(id string, tariff int64) provision.OpenRequest {
	return provision.OpenRequest{ServiceID: id, TariffID: tariff, AccountID: 7, Owner: "John.Smith-" + id, Password: "S3cret!pw"}
}

func (v *env) service(id string) *provision.Service {
	s, err := v.store.GetService(context.Background(), id)
	require.NoError(v.t, err)
	return s
}

// checkInvariants compares the Store with the fakes: no server sold twice,
// no leaked reservation, no half-prepared server, no leaked address.
func (v *env) checkInvariants() {
	t := v.t
	t.Helper()
	ctx := context.Background()
	unfinished, err := v.store.ListOperations(ctx, provision.OperationFilter{States: []provision.OperationState{provision.StatePending, provision.StateRunning}})
	require.NoError(t, err)
	require.Empty(t, unfinished, "unfinished operations")

	svcs, err := v.store.ListServices(ctx, provision.ServiceFilter{})
	require.NoError(t, err)
	res, err := v.store.Reservations(ctx, "dc1")
	require.NoError(t, err)
	resBy := map[string]provision.Reservation{}
	for _, r := range res {
		resBy[r.ServerID] = r
	}
	state := map[string]fakebackend.Snapshot{}
	for _, s := range v.dc.State() {
		state[s.ID] = s
	}
	held := map[string]string{}
	for _, s := range svcs {
		if s.Kind != provision.KindDedicated {
			continue
		}
		switch s.Status {
		case billing.StatusActive, billing.StatusSuspended:
			srv := s.Properties[provision.PropServerID]
			require.NotEmpty(t, srv, "service %s", s.ID)
			require.Empty(t, held[srv], "server %s sold to %s and %s", srv, held[srv], s.ID)
			held[srv] = s.ID
			st := state[srv]
			require.Equal(t, s.Properties[provision.PropUserID], st.OwnerID, "owner of server %s", srv)
			require.NotEqual(t, provision.FreeHostname, st.Hostname)
			r, ok := resBy[srv]
			require.True(t, ok, "reservation of server %s (service %s)", srv, s.ID)
			require.Equal(t, s.ID, r.ServiceID)
		case billing.StatusOrdered, billing.StatusDeleted:
			// must hold nothing
		}
	}
	for srv, r := range resBy {
		require.NotEmpty(t, held[srv], "leaked reservation of server %s by op %s (service %s)", srv, r.OperationID, r.ServiceID)
	}
	for id, st := range state {
		switch {
		case held[id] != "":
		case st.OwnerID == fakebackend.AdminID:
			// a failed server: out of sale, disabled, with the reason
			require.True(t, st.Disabled, "server %s owned by admin but not disabled", id)
			require.NotEmpty(t, st.Notes, "server %s", id)
			require.Equal(t, provision.FreeHostname, st.Hostname, "server %s", id)
		default:
			require.Empty(t, st.OwnerID, "server %s has an owner but no service", id)
			require.Equal(t, provision.FreeHostname, st.Hostname, "free server %s", id)
		}
	}
	// IPmanager: every allocated address is on exactly one server.
	onServers := map[string]string{}
	for id, st := range state {
		for _, x := range st.IPs {
			require.Empty(t, onServers[x.IP], "address %s on servers %s and %s", x.IP, onServers[x.IP], id)
			onServers[x.IP] = id
		}
	}
	for group, ips := range v.pool.Used() {
		for _, ip := range ips {
			require.NotEmpty(t, onServers[ip], "address %s of group %s allocated but on no server", ip, group)
		}
	}
	for ip := range onServers {
		if strings.HasPrefix(ip, "203.0.") || strings.HasPrefix(ip, "10.") || strings.HasPrefix(ip, "2001:db8:1::") {
			found := false
			for _, ips := range v.pool.Used() {
				found = found || slices.Contains(ips, ip)
			}
			require.True(t, found, "address %s is on a server but free in IPmanager", ip)
		}
	}
}
