package provision_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/fakebackend"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// shiftedClock is the wall clock moved forward, so that the waits recorded
// in testdata/v1 are long past whenever the test runs.
type shiftedClock struct{ by time.Duration }

func (c shiftedClock) Now() time.Time                         { return time.Now().Add(c.by) }
func (c shiftedClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// v1Catalog is the catalog provision/internal/legacygen wrote
// testdata/v1 with.
func v1Catalog(t *testing.T) *billing.Catalog {
	cat := billing.NewCatalog()
	link := &billing.IPManagerLink{URL: "https://ipmgr.example/ipmgr", Username: "ip", Password: "pw", ParkingGroup: "parking"}
	must := func(err error) {
		t.Helper()
		require.NoError(t, err)
	}
	must(cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dc1", URL: "https://dci.example/dcimgr", Username: "admin", Password: "pw", SortOrder: 2, Department: "Hardware", IPManager: link}))
	must(cat.AddModule(&billing.Module{Kind: billing.KindISPmanager, Name: "isp", URL: "https://isp.example/ispmgr", Username: "admin", Password: "pw", SortOrder: 5, Department: "Hosting"}))
	must(cat.AddModule(&billing.Module{Kind: billing.KindISPmanager, Name: "isp2", URL: "https://isp2.example/ispmgr", Username: "admin", Password: "pw", SortOrder: 1}))
	limits, err := billing.LimitsFrom(map[string]string{"db": "10"})
	must(err)
	const os = "ISPsystem__Debian-12-x86_64"
	must(cat.AddTariff(&billing.Tariff{ID: 1, Name: "Dedic X", ProductType: billing.ProductDedicatedServer, Modules: []string{"dc1"}, ServerConfig: "X", OSTemplate: os, DomainTemplate: "s@ID@.example.net"}))
	must(cat.AddTariff(&billing.Tariff{ID: 3, Name: "Colo", ProductType: billing.ProductColocation, Modules: []string{"dc1"}}))
	must(cat.AddTariff(&billing.Tariff{ID: 4, Name: "Hosting", ProductType: billing.ProductSharedHosting, Modules: []string{"isp"}, AccountTemplate: "basic", Limits: limits}))
	must(cat.AddTariff(&billing.Tariff{ID: 7, Name: "Dedic Z", ProductType: billing.ProductDedicatedServer, Modules: []string{"dc1"}, ServerConfig: "Z", OSTemplate: os}))
	must(cat.AddTariff(&billing.Tariff{ID: 40, Name: "Hosting 2", ProductType: billing.ProductSharedHosting, Modules: []string{"isp2", "isp"}, AccountTemplate: "basic"}))
	return cat
}

// TestMigrationFromV1 resumes, with this release, every operation the
// first release of the engine left in a SQLite Store (testdata/v1, made
// by provision/internal/legacygen), against the panels as they were then,
// and checks that each reaches the end it should.
func TestMigrationFromV1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := os.ReadFile(filepath.Join("testdata", "v1", "store.db"))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "store.db")
	require.NoError(t, os.WriteFile(path, db, 0o600))
	store, err := sqlstore.Open(ctx, "sqlite", path, sqlstore.SQLite)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })

	raw, err := os.ReadFile(filepath.Join("testdata", "v1", "panels.json"))
	require.NoError(t, err)
	var panels struct {
		DC   *fakebackend.DC      `json:"dc"`
		Pool *fakebackend.Pool    `json:"pool"`
		ISP  *fakebackend.Hosting `json:"isp"`
		ISP2 *fakebackend.Hosting `json:"isp2"`
	}
	require.NoError(t, json.Unmarshal(raw, &panels))
	clock := shiftedClock{by: 48 * time.Hour}
	dc, pool := panels.DC, panels.Pool
	dc.Clock = clock.Now
	// Room for the orders that still need a server.
	dc.AddServers(4, "X", func(i int) string {
		ip := fmt.Sprintf("10.0.0.%d", 13+i)
		pool.MarkUsed("parking", ip, "rack")
		return ip
	})

	v := &env{t: t, store: store, cat: v1Catalog(t), dc: dc, empty: fakebackend.NewDC(), pool: pool, host: panels.ISP}
	e := v.engine("v2", func(c *provision.Config) {
		c.Dedicated = map[string]provision.DedicatedBackend{"dc1": dc}
		c.Hosting = map[string]provision.HostingBackend{"isp": panels.ISP, "isp2": panels.ISP2}
		c.IPPools = map[string]provision.IPPool{"dc1": pool}
		c.Clock = clock
		c.LeaseDuration = 30 * time.Second
		c.InstallTimeout = 720 * time.Second
	})
	require.NoError(t, e.Resume(ctx))

	op := func(id string) *provision.Operation {
		t.Helper()
		o, err := store.GetOperation(ctx, id)
		require.NoError(t, err)
		return o
	}
	dstate := func(id string) *provision.DedicatedState {
		t.Helper()
		st, err := provision.DecodeData(op(id))
		require.NoError(t, err)
		return st.(*provision.DedicatedState)
	}
	active := func(id string) *provision.Service {
		t.Helper()
		s := v.service(id)
		require.Equal(t, billing.StatusActive, s.Status, "service %s: %s", id, s.Error)
		return s
	}
	// Resumed in the install wait: the install had finished.
	assert.Equal(t, "1", active("101").Properties[provision.PropServerID])
	// Resumed in a wait that began long ago: it times out at once, the
	// server is rolled back and the next one serves.
	assert.NotEqual(t, "2", active("102").Properties[provision.PropServerID])
	assert.Contains(t, dc.Server("2").Notes, "OS install: timed out after 12m0s")
	assert.True(t, dc.Server("2").Disabled)
	assert.Equal(t, []string{"2"}, dstate("open-102").Tried)
	// Resumed in a roll-back: it finishes, and the next server serves.
	assert.NotEqual(t, "3", active("103").Properties[provision.PropServerID])
	assert.Contains(t, dc.Server("3").Notes, "OS install failed")
	assert.True(t, dc.Server("3").Disabled)
	// An address swap whose last call was not recorded.
	s104 := active("104")
	assert.Equal(t, "203.0.113.4", s104.Properties[provision.PropIP])
	assert.Equal(t, "1", s104.Properties[provision.PropIPManaged])
	// Additional addresses, the first added before the stop.
	assert.Len(t, strings.Split(active("105").Properties[provision.PropIPs], ","), 2)
	// Hosting accounts: no second account after the unrecorded create;
	// the module given up stays given up.
	assert.Equal(t, "cust106", active("106").Properties[provision.PropLogin])
	_, dup := panels.ISP.User("cust1061")
	assert.False(t, dup)
	s107 := active("107")
	assert.Equal(t, "isp", s107.Module)
	st107, err := provision.DecodeData(op("open-107"))
	require.NoError(t, err)
	assert.Equal(t, []string{"isp2"}, st107.(*provision.HostingState).ModulesTried)
	// Submitted and never run.
	active("110")
	assert.Equal(t, billing.StatusSuspended, v.service("109").Status)
	// The Reinstall and the AddIP finish, the Close too.
	assert.Equal(t, "ISPsystem__CentOS-7-amd64", active("113").Properties[provision.PropOS])
	assert.Equal(t, billing.StatusDeleted, v.service("114").Status)
	if srv9 := dc.Server("9"); srv9.OwnerID == "" {
		assert.True(t, strings.HasPrefix(srv9.IPs[0].IP, "10.1."), "parked again: %v", srv9.IPs)
	} else {
		assert.NotEqual(t, v.service("114").Properties[provision.PropUserID], srv9.OwnerID, "closed, then sold again")
	}
	ips115 := splitIPs(active("115").Properties[provision.PropIPs])
	require.Len(t, ips115, 1, "one address added, the one allocated before the stop")
	found, err := pool.FindByNote(ctx, "addip-115/10/add")
	require.NoError(t, err)
	assert.Equal(t, ips115, found)
	// The pick after a failed server keeps its tried list and count.
	active("116")
	d116 := dstate("open-116")
	assert.Equal(t, []string{"11"}, d116.Tried)
	assert.Equal(t, 1, d116.Failures)

	// Every operation that ran now has version 2 records; the others
	// are still read.
	ops, err := store.ListOperations(ctx, provision.OperationFilter{})
	require.NoError(t, err)
	for _, o := range ops {
		_, err := provision.DecodeData(o)
		require.NoError(t, err, o.ID)
		if slices.Contains([]string{"open-108", "open-109", "open-111", "open-112", "open-113", "open-114", "open-115"}, o.ID) {
			continue
		}
		assert.True(t, strings.HasPrefix(string(o.Data), `{"v":2,`), "%s data %s", o.ID, o.Data)
		assert.True(t, strings.HasPrefix(string(o.Input), `{"v":2,`), "%s input %s", o.ID, o.Input)
	}
	v.checkInvariants()

	// The finished ones work with the new release: a failed Open's cause,
	// a manual task, a Close of a v1 Open.
	_, err = e.Wait(ctx, "open-111")
	require.ErrorIs(t, err, provision.ErrNoServer)
	assert.Equal(t, billing.StatusOrdered, v.service("111").Status)
	svc, err := e.CompleteManualTask(ctx, "112", map[string]string{"rack": "R1"})
	require.NoError(t, err)
	assert.Equal(t, billing.StatusActive, svc.Status)
	_, err = e.Close(ctx, provision.CloseRequest{ServiceID: "108"})
	require.NoError(t, err)
	assert.Equal(t, billing.StatusDeleted, v.service("108").Status)
	assert.Empty(t, dc.Server("6").OwnerID)
	v.checkInvariants()
}

func splitIPs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
