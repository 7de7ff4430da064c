package bmlicense_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/billmanager"
	"github.com/ispkit/ispkit/billmanager/billmanagertest"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/bmlicense"
	"github.com/ispkit/ispkit/provision/fakebackend"
	"github.com/ispkit/ispkit/provision/memstore"
)

const lite = 55227

type env struct {
	fake  *billmanagertest.Server
	dc    *fakebackend.DC
	cat   *billing.Catalog
	e     *provision.Engine
	tasks []billing.ManualTask
}

// newEnv: a fake licensing server over HTTP, an in-process data center of
// two servers and a tariff that sells an ISPmanager Lite license.
func newEnv(t *testing.T) *env {
	t.Helper()
	v := &env{fake: billmanagertest.NewServer(), dc: fakebackend.NewDC()}
	t.Cleanup(v.fake.Close)
	v.dc.AddServers(2, "X", func(i int) string { return fmt.Sprintf("203.0.113.%d", i+10) })
	c, err := billmanager.NewClient(v.fake.URL(), billmanager.WithCredentials(billmanagertest.DefaultUser, billmanagertest.DefaultPassword))
	require.NoError(t, err)
	v.cat = billing.NewCatalog()
	require.NoError(t, v.cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "dc1", URL: "https://dci.example/dcimgr",
		Username: "admin", Password: "pw", Department: "Hardware"}))
	require.NoError(t, v.cat.AddTariff(&billing.Tariff{ID: 1, Name: "X + ISPmanager", ProductType: billing.ProductDedicatedServer,
		Modules: []string{"dc1"}, ServerConfig: "X", OSTemplate: "Debian-12", License: &billing.LicenseSpec{Pricelist: lite, Period: 1}}))
	v.e, err = provision.New(provision.Config{
		Store: memstore.New(), Catalog: v.cat, WorkerID: "w",
		Dedicated:    map[string]provision.DedicatedBackend{"dc1": v.dc},
		Licenses:     bmlicense.New(c),
		PollInterval: time.Millisecond, InstallTimeout: 5 * time.Second, PowerTimeout: 5 * time.Second, ReachTimeout: 5 * time.Second,
		Reachability: func(context.Context, provision.Server) error { return nil },
		OnManualTask: func(mt billing.ManualTask) { v.tasks = append(v.tasks, mt) },
	})
	require.NoError(t, err)
	return v
}

func (v *env) service(t *testing.T, id string) *provision.Service {
	t.Helper()
	s, err := v.e.Store().GetService(context.Background(), id)
	require.NoError(t, err)
	return s
}

// TestLicenseLifecycle: the order's answer is lost (the fake processes it,
// then drops the connection); the engine finds the license instead of
// buying a second one, records it, and suspends, resumes and closes it with
// the server.
func TestLicenseLifecycle(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	ctx := context.Background()
	v.fake.Inject(billmanagertest.Fault{Match: "soft.order.param", Kind: billmanagertest.FaultDropAfter})

	_, err := v.e.Open(ctx, provision.OpenRequest{ServiceID: "501", TariffID: 1, Owner: "ann", Password: "Secret-pw-1"})
	require.NoError(t, err)
	svc := v.service(t, "501")
	require.Equal(t, billing.StatusActive, svc.Status, svc.Error)

	ls := v.fake.Licenses()
	require.Len(t, ls, 1, "exactly one license although the order's answer was lost")
	l := ls[0]
	assert.Equal(t, billmanager.LicenseName("501", svc.Properties[provision.PropServerName]), l.Name)
	assert.Equal(t, netip.MustParseAddr(svc.Properties[provision.PropIP]), l.IP, "bound to the server's main address")
	assert.Equal(t, int64(lite), l.Pricelist)
	assert.Equal(t, fmt.Sprint(l.ID), svc.Properties[provision.PropLicenseID])
	assert.Equal(t, "55227", svc.Properties[provision.PropLicensePricelist])
	var calls []string
	for _, r := range v.fake.Requests() {
		calls = append(calls, r.Func)
	}
	// Find (none), the order (answer lost), Find again (there it is).
	assert.Equal(t, []string{"soft", "soft.order.param", "soft"}, calls, "the order was sent once, then looked for")

	status := func() int {
		got, ok := v.fake.License(l.ID)
		require.True(t, ok)
		return got.Status
	}
	_, err = v.e.Suspend(ctx, provision.SuspendRequest{ServiceID: "501"})
	require.NoError(t, err)
	assert.Equal(t, billmanagertest.StatusSuspended, status())
	_, err = v.e.Unsuspend(ctx, provision.UnsuspendRequest{ServiceID: "501"})
	require.NoError(t, err)
	assert.Equal(t, billmanagertest.StatusActive, status())
	_, err = v.e.Close(ctx, provision.CloseRequest{ServiceID: "501"})
	require.NoError(t, err)
	got, _ := v.fake.License(l.ID)
	assert.Equal(t, billmanagertest.StatusSuspended, got.Status)
	assert.Equal(t, "free.lic", got.Name, "back in the account's pool")
	assert.Equal(t, billing.StatusDeleted, v.service(t, "501").Status)
	assert.Len(t, v.fake.Licenses(), 1)
}

// TestLicenseRefused: the licensing server refuses the order (a tariff it
// does not sell); the server stays with the customer, the service waits in
// Processing for staff, nothing was bought.
func TestLicenseRefused(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	ctx := context.Background()
	tr, err := v.cat.Tariff(1)
	require.NoError(t, err)
	tr.License.Pricelist = 1
	require.NoError(t, v.cat.UpdateTariff(tr))

	_, err = v.e.Open(ctx, provision.OpenRequest{ServiceID: "502", TariffID: 1, Owner: "bob", Password: "Secret-pw-1"})
	require.NoError(t, err)
	svc := v.service(t, "502")
	assert.Equal(t, billing.StatusProcessing, svc.Status)
	assert.Contains(t, svc.Properties[provision.PropManualTask], "license")
	assert.Empty(t, svc.Properties[provision.PropLicenseID])
	assert.Empty(t, v.fake.Licenses())
	require.Len(t, v.tasks, 1)
	assert.Equal(t, "Hardware", v.tasks[0].Department)
}

// TestLicenseNeedsBackend: a tariff with a license cannot be opened by an
// engine without a licensing server.
func TestLicenseNeedsBackend(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	e, err := provision.New(provision.Config{Store: memstore.New(), Catalog: v.cat, Dedicated: map[string]provision.DedicatedBackend{"dc1": v.dc}})
	require.NoError(t, err)
	_, err = e.Submit(context.Background(), provision.OpenRequest{ServiceID: "503", TariffID: 1, Owner: "cy", Password: "Secret-pw-1"})
	require.ErrorIs(t, err, provision.ErrNoBackend)
}

// crashAfterOrder is a licensing server whose process "dies" right after
// an order went through: it stops the engine before the step can record
// the license.
type crashAfterOrder struct {
	*bmlicense.Backend
	stop func()
}

func (c *crashAfterOrder) OrderLicense(ctx context.Context, o provision.LicenseOrder) (string, error) {
	id, err := c.Backend.OrderLicense(ctx, o)
	if err != nil {
		return "", err
	}
	c.stop()
	return "", fmt.Errorf("engine stopped after the order (id %s): %w", id, context.Canceled)
}

// TestLicenseCrashAfterOrder: the engine stops between the order and its
// record; another engine on the same store resumes the Open, finds the
// license by its name and records it: one order, one license.
func TestLicenseCrashAfterOrder(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	c, err := billmanager.NewClient(v.fake.URL(), billmanager.WithCredentials(billmanagertest.DefaultUser, billmanagertest.DefaultPassword))
	require.NoError(t, err)
	store := memstore.New()
	cfg := func(lb provision.LicenseBackend) provision.Config {
		return provision.Config{
			Store: store, Catalog: v.cat, WorkerID: "w" + fmt.Sprint(lb != nil), Workers: 1,
			Dedicated:    map[string]provision.DedicatedBackend{"dc1": v.dc},
			Licenses:     lb,
			PollInterval: time.Millisecond, InstallTimeout: 5 * time.Second, PowerTimeout: 5 * time.Second, ReachTimeout: 5 * time.Second,
			ClaimInterval: time.Millisecond,
			Reachability:  func(context.Context, provision.Server) error { return nil },
		}
	}
	ctx := context.Background()
	runCtx, stop := context.WithCancel(ctx)
	crash := &crashAfterOrder{Backend: bmlicense.New(c), stop: stop}
	e1, err := provision.New(cfg(crash))
	require.NoError(t, err)
	op, err := e1.Submit(ctx, provision.OpenRequest{ServiceID: "504", TariffID: 1, Owner: "dee", Password: "Secret-pw-1"})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- e1.Run(runCtx) }()
	<-done
	cur, err := store.GetOperation(ctx, op.ID)
	require.NoError(t, err)
	require.NotEqual(t, provision.StateDone, cur.State, "stopped before the end")
	require.Len(t, v.fake.Licenses(), 1)

	e2, err := provision.New(cfg(bmlicense.New(c)))
	require.NoError(t, err)
	require.NoError(t, e2.Resume(ctx))
	svc, err := store.GetService(ctx, "504")
	require.NoError(t, err)
	require.Equal(t, billing.StatusActive, svc.Status, svc.Error)
	ls := v.fake.Licenses()
	require.Len(t, ls, 1, "found again, not bought twice")
	assert.Equal(t, fmt.Sprint(ls[0].ID), svc.Properties[provision.PropLicenseID])
	orders := 0
	for _, r := range v.fake.Requests() {
		if r.Func == "soft.order.param" {
			orders++
		}
	}
	assert.Equal(t, 1, orders)
}

// TestStatusAlready: a refused suspend of a suspended license (or resume
// of an active one) is done; a refusal otherwise is returned.
func TestStatusAlready(t *testing.T) {
	t.Parallel()
	fake := billmanagertest.NewServer(billmanagertest.WithLicense(billmanagertest.License{ID: 7001, Name: "Item #9 addon srv-9",
		IP: netip.MustParseAddr("203.0.113.9"), Pricelist: lite, Status: billmanagertest.StatusSuspended}))
	t.Cleanup(fake.Close)
	c, err := billmanager.NewClient(fake.URL(), billmanager.WithCredentials(billmanagertest.DefaultUser, billmanagertest.DefaultPassword))
	require.NoError(t, err)
	b := bmlicense.New(c)
	ctx := context.Background()
	refuse := func(fn string) {
		fake.Inject(billmanagertest.Fault{Match: fn, Kind: billmanagertest.FaultPanelError, Err: &billmanagertest.PanelError{Type: "access", Message: "refused"}})
	}
	refuse("soft.suspend")
	require.NoError(t, b.SuspendLicense(ctx, "7001"), "suspended already")
	refuse("soft.resume")
	require.Error(t, b.ResumeLicense(ctx, "7001"), "still suspended: the refusal stands")
	require.NoError(t, b.ResumeLicense(ctx, "7001"))
	l, _ := fake.License(7001)
	assert.Equal(t, billmanagertest.StatusActive, l.Status)
}
