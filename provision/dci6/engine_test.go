package dci6_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci6"
	"github.com/ispkit/ispkit/provision/memstore"
)

// TestOpenThroughEngine runs Open, Suspend, Unsuspend, LoginURL and Close
// through the provision engine (memstore) against the DCImanager 6 fake
// over HTTP. The first server's install fails, so it is rolled back (its
// notes go to the NotesSink, it stays with the admin, ports off) and the
// next server is sold.
func TestOpenThroughEngine(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	notes := map[string]string{}
	reach := func(_ context.Context, s provision.Server) error {
		if !s.PoweredOn || s.IP == "" {
			return assert.AnError
		}
		return nil
	}
	fake, e := newEngine(t, reach, dci6.NotesSink(func(_ context.Context, id, n string) error {
		mu.Lock()
		defer mu.Unlock()
		notes[id] = n
		return nil
	}))
	ctx := ctxFor(t)

	fake.FailNextOperation("os_install", "disk not found")
	_, err := e.Open(ctx, provision.OpenRequest{ServiceID: "117", TariffID: 1, Owner: "client.two", Password: "Secret-pw-1"})
	require.NoError(t, err)
	svc, err := e.Store().GetService(ctx, "117")
	require.NoError(t, err)
	require.Equal(t, billing.StatusActive, svc.Status, svc.Error)
	assert.Equal(t, "2", svc.Properties[provision.PropServerID], "srv-ams-01's install failed: srv-ams-02 serves")
	assert.Equal(t, "clienttwo", svc.Properties[provision.PropLogin])
	assert.Equal(t, "s117.example.net", svc.Properties[provision.PropDomain])

	// The admin hold passes straight to the customer, so the address the
	// install allocated stays on the server and is what the service shows.
	var addrs []string
	for _, ip := range fake.IPs() {
		if ip.ServerID == 2 {
			addrs = append(addrs, ip.Name)
		}
	}
	require.NotEmpty(t, addrs, "the sold server keeps its address")
	assert.Equal(t, addrs[0], svc.Properties[provision.PropIP])

	var user dcimanager6test.User
	for _, u := range fake.Users() {
		if u.Email == "clienttwo@clients.example.com" {
			user = u
		}
	}
	require.NotZero(t, user.ID, "the customer's DCImanager 6 user was created")
	assert.Equal(t, strconv.FormatInt(user.ID, 10), svc.Properties[provision.PropUserID])

	good := machine(t, fake, 2)
	assert.Equal(t, user.ID, good.Owner)
	assert.Equal(t, "s117.example.net", good.Domain)
	assert.Equal(t, int64(1), good.OSTemplateID, "Ubuntu 24.04 of location 1")
	assert.Equal(t, "on", good.PowerStatus)
	assert.Equal(t, "up", portOf(t, fake, 2).AdminStatus)

	bad := machine(t, fake, 1)
	assert.Equal(t, int64(1), bad.Owner, "the failed server stays with the admin, out of sale")
	assert.Equal(t, provision.FreeHostname, bad.Domain)
	assert.Equal(t, "down", portOf(t, fake, 1).AdminStatus, "disabled = ports off")
	mu.Lock()
	assert.Contains(t, notes["1"], "disk not found")
	mu.Unlock()

	_, err = e.Suspend(ctx, provision.SuspendRequest{ServiceID: "117"})
	require.NoError(t, err)
	assert.Equal(t, "down", portOf(t, fake, 2).AdminStatus)
	_, err = e.Unsuspend(ctx, provision.UnsuspendRequest{ServiceID: "117"})
	require.NoError(t, err)
	assert.Equal(t, "up", portOf(t, fake, 2).AdminStatus)

	link, err := e.LoginURL(ctx, "117")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(link, fake.URL()+"/auth/key-v4/"), link)

	_, err = e.Close(ctx, provision.CloseRequest{ServiceID: "117"})
	require.NoError(t, err)
	good = machine(t, fake, 2)
	assert.Zero(t, good.Owner)
	assert.Equal(t, provision.FreeHostname, good.Domain)
	assert.Equal(t, "down", portOf(t, fake, 2).AdminStatus, "a closed server stays disabled until the next Open")
	assert.True(t, fake.Available(2))
	res, err := e.Store().Reservations(ctx, "")
	require.NoError(t, err)
	assert.Empty(t, res)
}

// TestFailoverWithoutNotesSink: a panel without server notes must not stop
// the rollback of a failed server (the reason stays in the operation), and
// the next server is sold.
func TestFailoverWithoutNotesSink(t *testing.T) {
	t.Parallel()
	fake, e := newEngine(t, nil)
	ctx := ctxFor(t)

	fake.FailNextOperation("os_install", "disk not found")
	op, err := e.Open(ctx, provision.OpenRequest{ServiceID: "118", TariffID: 1, Owner: "client.three", Password: "Secret-pw-1"})
	require.NoError(t, err)
	require.Equal(t, provision.StateDone, op.State)
	svc, err := e.Store().GetService(ctx, "118")
	require.NoError(t, err)
	require.Equal(t, billing.StatusActive, svc.Status, svc.Error)
	assert.Equal(t, "2", svc.Properties[provision.PropServerID], "the first server failed and was rolled back")
}

// TestOpenExtraIPAndChangePassword: an order with one additional IPv4
// address (order option IP=1) is opened through the engine, then the
// customer's password is changed; both succeed over HTTP and the fake's
// state agrees (two addresses of location 1's pool on the server, the
// user's new password).
func TestOpenExtraIPAndChangePassword(t *testing.T) {
	t.Parallel()
	fake, e := newEngine(t, nil)
	ctx := ctxFor(t)

	op, err := e.Open(ctx, provision.OpenRequest{ServiceID: "201", TariffID: 1, Owner: "client.four", Password: "Secret-pw-1",
		Options: map[string]string{"IP": "1"}})
	require.NoError(t, err)
	require.Equal(t, provision.StateDone, op.State, op.Error)
	svc, err := e.Store().GetService(ctx, "201")
	require.NoError(t, err)
	require.Equal(t, billing.StatusActive, svc.Status, svc.Error)
	srv, err := strconv.ParseInt(svc.Properties[provision.PropServerID], 10, 64)
	require.NoError(t, err)

	var onServer []dcimanager6test.IP
	for _, ip := range fake.IPs() {
		if ip.ServerID == srv {
			onServer = append(onServer, ip)
		}
	}
	require.Len(t, onServer, 2, "the main address and one additional address")
	for _, ip := range onServer {
		assert.Equal(t, "allocated", ip.Status)
		assert.True(t, strings.HasPrefix(ip.Name, "192.0.2."), "location 1's pool: %s", ip.Name)
		if ip.Main {
			assert.Equal(t, svc.Properties[provision.PropIP], ip.Name, "the install's address is the main one")
		} else {
			assert.Equal(t, svc.Properties[provision.PropIPs], ip.Name, "the additional address")
			assert.NotEmpty(t, ip.Note, "assigned through POST /ip/v3/ip with a note")
		}
	}
	assert.NotEqual(t, onServer[0].Main, onServer[1].Main, "one main, one additional address")
	m := machine(t, fake, srv)
	require.NotZero(t, m.Owner)
	assert.Equal(t, svc.Properties[provision.PropUserID], strconv.FormatInt(m.Owner, 10))

	op, err = e.ChangePassword(ctx, provision.ChangePasswordRequest{ServiceID: "201", Password: "N3w-secret-pw"})
	require.NoError(t, err)
	require.Equal(t, provision.StateDone, op.State, op.Error)
	var user dcimanager6test.User
	for _, u := range fake.Users() {
		if u.ID == m.Owner {
			user = u
		}
	}
	assert.Equal(t, "clientfour@clients.example.com", user.Email)
	assert.Equal(t, "N3w-secret-pw", user.Password)
	assert.Equal(t, dcimanager6test.AdminPassword, fake.Users()[0].Password, "the admin keeps its password")

	// The customer logs in with the new password.
	cc, err := dcimanager6.NewClient(fake.URL(), dcimanager6.WithCredentials(user.Email, "N3w-secret-pw"))
	require.NoError(t, err)
	require.NoError(t, cc.Login(ctx))
}

// newEngine starts a fake and an engine selling confE2146 servers of
// location 1 through one DCImanager 6 module; reach nil means every server
// answers.
func newEngine(t *testing.T, reach provision.Reachability, opts ...dci6.Option) (*dcimanager6test.Server, *provision.Engine) {
	t.Helper()
	fake, c := newFakeClient(t, 40*time.Millisecond)
	opts = append([]dci6.Option{dci6.Location(1), dci6.AdminEmail(dcimanager6test.AdminEmail), dci6.UserDomain("clients.example.com")}, opts...)
	b, err := dci6.New(c, opts...)
	require.NoError(t, err)
	cat := billing.NewCatalog()
	require.NoError(t, cat.AddDataCenter(&billing.DataCenter{Name: "1", DCImanager6: true, LocationID: 1}))
	require.NoError(t, cat.AddModule(&billing.Module{Kind: billing.KindDCImanager6, Name: "dci6", URL: fake.URL(),
		Username: dcimanager6test.AdminEmail, Password: dcimanager6test.AdminPassword, DataCenter: "1", Department: "DC"}))
	require.NoError(t, cat.AddTariff(&billing.Tariff{ID: 1, Name: "E-2146G", ProductType: billing.ProductDedicatedServer, Modules: []string{"dci6"},
		ServerConfig: confE2146, OSTemplate: "Ubuntu 24.04", DomainTemplate: "s@ID@.example.net"}))
	if reach == nil {
		reach = func(context.Context, provision.Server) error { return nil }
	}
	e, err := provision.New(provision.Config{
		Store: memstore.New(), Catalog: cat, WorkerID: "w",
		Dedicated:    map[string]provision.DedicatedBackend{"dci6": b},
		PollInterval: time.Millisecond, InstallTimeout: 5 * time.Second, PowerTimeout: 5 * time.Second, ReachTimeout: 5 * time.Second,
		Reachability: reach,
	})
	require.NoError(t, err)
	return fake, e
}

// TestDataCenterOrder: two DCImanager 6 modules, each in its data center
// whose location the backend reads from the catalog. The engine tries the
// data center with the lowest sort order first even when its module sorts
// later, the server comes from that data center's location, and a changed
// sort order applies to the next order.
func TestDataCenterOrder(t *testing.T) {
	t.Parallel()
	fake, c := newFakeClient(t, 20*time.Millisecond)
	cat := billing.NewCatalog()
	ams := &billing.DataCenter{Name: "Amsterdam", DCImanager6: true, LocationID: 1, SortOrder: 2}
	fra := &billing.DataCenter{Name: "Frankfurt", DCImanager6: true, LocationID: 2, SortOrder: 1}
	require.NoError(t, cat.AddDataCenter(ams))
	require.NoError(t, cat.AddDataCenter(fra))
	backends := map[string]provision.DedicatedBackend{}
	for _, m := range []struct {
		name, dc string
		sort     int
	}{{"ams", "Amsterdam", 1}, {"fra", "Frankfurt", 5}} {
		require.NoError(t, cat.AddModule(&billing.Module{Kind: billing.KindDCImanager6, Name: m.name, URL: fake.URL(),
			Username: dcimanager6test.AdminEmail, Password: dcimanager6test.AdminPassword, DataCenter: m.dc, SortOrder: m.sort}))
		b, err := dci6.New(c, dci6.CatalogLocation(cat, m.name), dci6.AdminEmail(dcimanager6test.AdminEmail), dci6.UserDomain("clients.example.com"))
		require.NoError(t, err)
		backends[m.name] = b
	}
	require.NoError(t, cat.AddTariff(&billing.Tariff{ID: 1, Name: "i9", ProductType: billing.ProductDedicatedServer, Modules: []string{"ams", "fra"},
		ServerConfig: "i9-9900K-64Gb-2x1024NVMe", OSTemplate: "Ubuntu 24.04", DomainTemplate: "s@ID@.example.net"}))
	e, err := provision.New(provision.Config{
		Store: memstore.New(), Catalog: cat, WorkerID: "w", Dedicated: backends,
		PollInterval: time.Millisecond, InstallTimeout: 5 * time.Second, PowerTimeout: 5 * time.Second, ReachTimeout: 5 * time.Second,
		Reachability: func(context.Context, provision.Server) error { return nil },
	})
	require.NoError(t, err)
	ctx := ctxFor(t)

	_, err = e.Open(ctx, provision.OpenRequest{ServiceID: "1", TariffID: 1, Owner: "ann", Password: "Secret-pw-1"})
	require.NoError(t, err)
	svc, err := e.Store().GetService(ctx, "1")
	require.NoError(t, err)
	assert.Equal(t, "fra", svc.Module, "Frankfurt sorts first although its module sorts after ams")
	assert.Equal(t, "srv-fra-01", svc.Properties[provision.PropServerName])

	fra.SortOrder, ams.SortOrder = 3, 0
	require.NoError(t, cat.UpdateDataCenter(fra))
	require.NoError(t, cat.UpdateDataCenter(ams))
	_, err = e.Open(ctx, provision.OpenRequest{ServiceID: "2", TariffID: 1, Owner: "bob", Password: "Secret-pw-1"})
	require.NoError(t, err)
	svc, err = e.Store().GetService(ctx, "2")
	require.NoError(t, err)
	assert.Equal(t, "ams", svc.Module)
	assert.Equal(t, "srv-ams-03", svc.Properties[provision.PropServerName], "the server comes from Amsterdam's location")

	// The location is the data center's: moving Amsterdam to location 2
	// makes the ams module list Frankfurt's servers.
	ams.LocationID = 2
	require.NoError(t, cat.UpdateDataCenter(ams))
	servers, err := backends["ams"].ListServers(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, servers)
	for _, s := range servers {
		assert.Equal(t, "2", s.Location)
	}
}

func TestCatalogLocationRefused(t *testing.T) {
	t.Parallel()
	c, err := dcimanager6.NewClient("http://127.0.0.1:1", dcimanager6.WithCredentials("a@example.com", "x"))
	require.NoError(t, err)
	cat := billing.NewCatalog()
	require.NoError(t, cat.AddDataCenter(&billing.DataCenter{Name: "plain"}))
	require.NoError(t, cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dci5", URL: "http://127.0.0.1:1", Username: "a", Password: "x", DataCenter: "plain"}))
	_, err = dci6.New(c, dci6.CatalogLocation(cat, "dci5"), dci6.UserDomain("example.com"))
	assert.ErrorContains(t, err, "not in a DCImanager 6 managed data center")
	_, err = dci6.New(c, dci6.CatalogLocation(cat, "nope"), dci6.UserDomain("example.com"))
	assert.ErrorIs(t, err, billing.ErrNotFound)
	_, err = dci6.New(c, dci6.Location(1), dci6.CatalogLocation(cat, "dci5"), dci6.UserDomain("example.com"))
	assert.ErrorContains(t, err, "not both")
}

// newFakeClient starts the DCImanager 6 fake (installs taking install) and
// an administrator's client of it.
func newFakeClient(t *testing.T, install time.Duration) (*dcimanager6test.Server, *dcimanager6.Client) {
	t.Helper()
	fake := dcimanager6test.NewServer(dcimanager6test.WithDurations(install, 5*time.Millisecond))
	fake.Strict(t)
	t.Cleanup(fake.Close)
	c, err := dcimanager6.NewClient(fake.URL(),
		dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword),
		dcimanager6.WithRetry(3, time.Millisecond, 5*time.Millisecond))
	require.NoError(t, err)
	return fake, c
}
