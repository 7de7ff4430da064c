package dci5_test

import (
	"context"
	"strconv"
	"strings"
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

// TestDedicatedThroughFake runs the dedicated-server lifecycle through the
// engine against the DCImanager 5 fake over HTTP: an install that fails
// moves the order to the next server, then suspend, resume, addresses,
// reinstall, login, close, and an order that finds no server left.
func TestDedicatedThroughFake(t *testing.T) {
	t.Parallel()
	srv := dcimanager5test.NewServer(
		dcimanager5test.WithPowerDuration(2*time.Millisecond),
		dcimanager5test.WithInstallDuration(5*time.Millisecond),
		dcimanager5test.WithConnectionDuration(time.Millisecond))
	srv.Strict(t)
	t.Cleanup(srv.Close)
	admin, pw := srv.Admin()
	c, err := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials(admin, pw), dcimanager5.WithPollInterval(time.Millisecond, 5*time.Millisecond))
	require.NoError(t, err)

	cat := billing.NewCatalog()
	require.NoError(t, cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dci", URL: srv.URL(), Username: admin, Password: pw, Department: "DC"}))
	require.NoError(t, cat.AddTariff(&billing.Tariff{ID: 1, Name: "E3", ProductType: billing.ProductDedicatedServer, Modules: []string{"dci"},
		ServerConfig: "E3-16GB", OSTemplate: "ISPsystem__Debian-12-x86_64", Recipe: "#local__lamp", DomainTemplate: "s@ID@.example.net"}))
	reach := func(ctx context.Context, s provision.Server) error {
		id, _ := strconv.ParseInt(s.ID, 10, 64)
		st, _ := srv.Server(id)
		if !st.PowerOn || st.InstallInProgress || st.OperationFailed {
			return assert.AnError
		}
		return nil
	}
	e, err := provision.New(provision.Config{
		Store: memstore.New(), Catalog: cat, WorkerID: "w",
		Dedicated:    map[string]provision.DedicatedBackend{"dci": dci5.New(c, admin)},
		PollInterval: time.Millisecond, InstallTimeout: 5 * time.Second, PowerTimeout: 5 * time.Second,
		Reachability: reach,
	})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, srv.FailNextInstall(1))

	_, err = e.Open(ctx, provision.OpenRequest{ServiceID: "117", TariffID: 1, Owner: "client.two", Password: "Secret-pw-1",
		Options: map[string]string{"IP": "1", "IPv6": "1"}})
	require.NoError(t, err)
	svc, err := e.Store().GetService(ctx, "117")
	require.NoError(t, err)
	require.Equal(t, billing.StatusActive, svc.Status)
	assert.Equal(t, "2", svc.Properties[provision.PropServerID], "srv-01's install failed: srv-02 serves")
	assert.Equal(t, "clienttwo", svc.Properties[provision.PropLogin])
	assert.Equal(t, "0c:c4:7a:00:00:02", svc.Properties[provision.PropMAC])
	assert.NotEmpty(t, svc.Properties[provision.PropSwitchPort])
	assert.Len(t, strings.Split(svc.Properties[provision.PropIPs], ","), 2)

	bad, _ := srv.Server(1)
	assert.True(t, bad.Disabled)
	assert.Equal(t, provision.FreeHostname, bad.Hostname)
	assert.Contains(t, bad.Notes, "OS install failed")
	assert.NotZero(t, bad.Owner, "the failed server stays with the admin, out of sale")
	assert.Len(t, srv.IPs(1), 1, "its extra addresses were deleted")

	good, _ := srv.Server(2)
	assert.Equal(t, "s117.example.net", good.Hostname)
	assert.Equal(t, "ISPsystem__Debian-12-x86_64", good.OSTemplate)
	assert.Equal(t, "#local__lamp", good.Recipe)
	var userID int64
	for _, u := range srv.Users() {
		if u.Name == "clienttwo" {
			userID = u.ID
		}
	}
	assert.Equal(t, userID, good.Owner)

	switchOn := func() bool {
		for _, cn := range srv.Connections(2) {
			if cn.Type == dcimanager5.ConnectionSwitch {
				return cn.On
			}
		}
		return false
	}
	_, err = e.Suspend(ctx, provision.SuspendRequest{ServiceID: "117"})
	require.NoError(t, err)
	require.False(t, switchOn(), "switch port off (Suspend returns once the ports read off)")
	_, err = e.Unsuspend(ctx, provision.UnsuspendRequest{ServiceID: "117"})
	require.NoError(t, err)
	require.True(t, switchOn(), "switch port on (Unsuspend returns once the ports read on)")

	_, err = e.AddIP(ctx, provision.AddIPRequest{ServiceID: "117"})
	require.NoError(t, err)
	assert.Len(t, srv.IPs(2), 4)
	svc, _ = e.Store().GetService(ctx, "117")
	extra := strings.Split(svc.Properties[provision.PropIPs], ",")
	_, err = e.RemoveIP(ctx, provision.RemoveIPRequest{ServiceID: "117", IP: extra[0]})
	require.NoError(t, err)
	assert.Len(t, srv.IPs(2), 3)

	_, err = e.Reinstall(ctx, provision.ReinstallRequest{ServiceID: "117", Password: "Root-pw-2", OSTemplate: "ISPsystem__CentOS-7-amd64"})
	require.NoError(t, err)
	good, _ = srv.Server(2)
	assert.Equal(t, "ISPsystem__CentOS-7-amd64", good.OSTemplate)

	link, err := e.LoginURL(ctx, "117")
	require.NoError(t, err)
	assert.Contains(t, link, "username=clienttwo")

	_, err = e.ChangePassword(ctx, provision.ChangePasswordRequest{ServiceID: "117", Password: "Changed-pw-3"})
	require.NoError(t, err)
	uc, err := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials("clienttwo", "Changed-pw-3"))
	require.NoError(t, err)
	require.NoError(t, uc.CheckConnection(ctx), "the owner logs in with the new password")

	_, err = e.Close(ctx, provision.CloseRequest{ServiceID: "117"})
	require.NoError(t, err)
	good, _ = srv.Server(2)
	assert.Zero(t, good.Owner)
	assert.Equal(t, provision.FreeHostname, good.Hostname)
	assert.Len(t, srv.IPs(2), 1)
	svc, _ = e.Store().GetService(ctx, "117")
	assert.Equal(t, billing.StatusDeleted, svc.Status)
	assert.Empty(t, svc.Properties[provision.PropIPs], "Close clears the released extra addresses")
	res, err := e.Store().Reservations(ctx, "")
	require.NoError(t, err)
	assert.Empty(t, res)

	// srv-02 is free again; after it only unavailable servers are left.
	_, err = e.Open(ctx, provision.OpenRequest{ServiceID: "118", TariffID: 1, Owner: "client.two", Password: "Secret-pw-1"})
	require.NoError(t, err)
	good, _ = srv.Server(2)
	assert.Equal(t, userID, good.Owner, "the customer's user is reused")
	_, err = e.Open(ctx, provision.OpenRequest{ServiceID: "119", TariffID: 1, Owner: "client.three", Password: "Secret-pw-1"})
	require.ErrorIs(t, err, provision.ErrNoServer)
	svc, _ = e.Store().GetService(ctx, "119")
	assert.Equal(t, billing.StatusOrdered, svc.Status)
}
