package dci5_test

import (
	"context"
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

// suspendWorld is one DCImanager 5 fake whose switch commands take conn to
// complete, with a module that blocks servers on suspend.
func suspendWorld(t *testing.T, conn, wait time.Duration, block bool) (*dcimanager5test.Server, *provision.Engine, provision.Store) {
	srv := dcimanager5test.NewServer(dcimanager5test.WithoutSeed(),
		dcimanager5test.WithPowerDuration(time.Millisecond),
		dcimanager5test.WithInstallDuration(2*time.Millisecond),
		dcimanager5test.WithConnectionDuration(conn))
	t.Cleanup(srv.Close)
	require.NoError(t, srv.AddPool("parking", "ipv4", "10.10.0.0/24"))
	srv.AddOSTemplate("ISPsystem", "Debian-12-x86_64", "linux")
	_, err := srv.AddServer(dcimanager5test.ServerSpec{Name: "s1", ChassisTemplate: "C1", Type: "1U"})
	require.NoError(t, err)
	admin, pw := srv.Admin()
	cat := billing.NewCatalog()
	require.NoError(t, cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dci", URL: srv.URL(), Username: admin, Password: pw,
		BlockOnSuspend: block}))
	require.NoError(t, cat.AddTariff(&billing.Tariff{ID: 1, Name: "C1", ProductType: billing.ProductDedicatedServer, Modules: []string{"dci"},
		ServerConfig: "C1", OSTemplate: "ISPsystem__Debian-12-x86_64"}))
	c, err := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials(admin, pw))
	require.NoError(t, err)
	store := memstore.New()
	e, err := provision.New(provision.Config{
		Store: store, Catalog: cat, Dedicated: map[string]provision.DedicatedBackend{"dci": dci5.New(c, admin)},
		PollInterval: time.Millisecond, PowerTimeout: wait, InstallTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	return srv, e, store
}

func switchStates(srv *dcimanager5test.Server) (on, off int) {
	for _, c := range srv.Connections(1) {
		if c.Type != dcimanager5.ConnectionSwitch {
			continue
		}
		if c.On {
			on++
		} else {
			off++
		}
	}
	return on, off
}

// TestSuspendIsTrue: Suspend with BlockOnSuspend switches the ports off,
// reads them back off, blocks the server, and only then marks the service
// Suspended; Unsuspend undoes each.
func TestSuspendIsTrue(t *testing.T) {
	t.Parallel()
	srv, e, store := suspendWorld(t, 3*time.Millisecond, 5*time.Second, true)
	ctx := context.Background()
	_, err := e.Open(ctx, provision.OpenRequest{ServiceID: "1", TariffID: 1, Owner: "cust", Password: "Secret-pw-1"})
	require.NoError(t, err)

	var suspendedAt []string // the step at which the service read Suspended
	e.Subscribe(func(ev provision.Event) {
		if ev.Type != provision.EventStepFinished || ev.Kind != provision.OpSuspend {
			return
		}
		svc, err := store.GetService(ctx, "1")
		if err == nil && svc.Status == billing.StatusSuspended {
			suspendedAt = append(suspendedAt, ev.Step)
		}
	})
	_, err = e.Suspend(ctx, provision.SuspendRequest{ServiceID: "1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"suspended"}, suspendedAt, "Suspended only at the last step")
	on, off := switchStates(srv)
	assert.Zero(t, on)
	assert.NotZero(t, off)
	st, _ := srv.Server(1)
	assert.True(t, st.Disabled, "blocked")
	assert.NotZero(t, st.Owner, "still the customer's")

	_, err = e.Unsuspend(ctx, provision.UnsuspendRequest{ServiceID: "1"})
	require.NoError(t, err)
	on, off = switchStates(srv)
	assert.NotZero(t, on)
	assert.Zero(t, off)
	st, _ = srv.Server(1)
	assert.False(t, st.Disabled)
	svc, err := store.GetService(ctx, "1")
	require.NoError(t, err)
	assert.Equal(t, billing.StatusActive, svc.Status)
}

// TestSuspendWaitsForThePorts: switch commands that never complete within
// the wait leave the service Active with the error: it is never marked
// Suspended while its ports may still be on. Without BlockOnSuspend the
// server is not blocked.
func TestSuspendWaitsForThePorts(t *testing.T) {
	t.Parallel()
	// Switch commands stay in progress far beyond the 200 ms wait.
	srv, e, store := suspendWorld(t, time.Hour, 200*time.Millisecond, false)
	ctx := context.Background()
	_, err := e.Open(ctx, provision.OpenRequest{ServiceID: "1", TariffID: 1, Owner: "cust", Password: "Secret-pw-1"})
	require.NoError(t, err)
	_, err = e.Suspend(ctx, provision.SuspendRequest{ServiceID: "1"})
	require.ErrorIs(t, err, provision.ErrOperationFailed)
	svc, err := store.GetService(ctx, "1")
	require.NoError(t, err)
	assert.Equal(t, billing.StatusActive, svc.Status)
	assert.Contains(t, svc.Error, "switch ports off")
	st, _ := srv.Server(1)
	assert.False(t, st.Disabled)
}
