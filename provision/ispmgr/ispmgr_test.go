package ispmgr_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/ispmgr"
	"github.com/ispkit/ispkit/provision/memstore"
)

// TestHostingThroughFake runs every hosting operation through the engine
// against the ISPmanager fake over HTTP.
func TestHostingThroughFake(t *testing.T) {
	t.Parallel()
	srv := ispmanagertest.NewServer(ispmanagertest.WithPreset("basic", ispmanager.Limits{Databases: ispmanager.Int(25), Domains: ispmanager.Int(25)}))
	srv.Strict(t)
	t.Cleanup(srv.Close)
	admin, pw := srv.Admin()
	c, err := ispmanager.NewClient(srv.URL(), ispmanager.WithCredentials(admin, pw))
	require.NoError(t, err)
	ctx := context.Background()
	_, err = c.Users.Create(ctx, &ispmanager.UserCreateRequest{Name: "ann", Password: "Existing-pw1"})
	require.NoError(t, err)

	cat := billing.NewCatalog()
	require.NoError(t, cat.AddModule(&billing.Module{Kind: billing.KindISPmanager, Name: "isp", URL: srv.URL(), Username: admin, Password: pw}))
	limits, err := billing.LimitsFrom(map[string]string{"db": "10"})
	require.NoError(t, err)
	require.NoError(t, cat.AddTariff(&billing.Tariff{ID: 1, Name: "Hosting", ProductType: billing.ProductSharedHosting, Modules: []string{"isp"}, AccountTemplate: "basic", Limits: limits}))
	e, err := provision.New(provision.Config{
		Store: memstore.New(), Catalog: cat, WorkerID: "w",
		Hosting:      map[string]provision.HostingBackend{"isp": ispmgr.New(c)},
		PollInterval: time.Millisecond,
	})
	require.NoError(t, err)

	_, err = e.Open(ctx, provision.OpenRequest{ServiceID: "117", TariffID: 1, Owner: "Ann", Password: "Secret-pw1", Domain: "ann.example.com"})
	require.NoError(t, err)
	u, ok := srv.User("ann1")
	require.True(t, ok, "ann is taken: the suffix resolves the collision")
	assert.Equal(t, "basic", u.Preset)
	v := u.Limits.Values()
	assert.Equal(t, "10", v["db"], "billing wins")
	assert.Equal(t, "25", v["domains"], "the template fills the rest")
	assert.Equal(t, "ann.example.com", u.Domain)

	_, err = e.Suspend(ctx, provision.SuspendRequest{ServiceID: "117"})
	require.NoError(t, err)
	u, _ = srv.User("ann1")
	assert.False(t, u.Active)
	_, err = e.Unsuspend(ctx, provision.UnsuspendRequest{ServiceID: "117"})
	require.NoError(t, err)
	u, _ = srv.User("ann1")
	assert.True(t, u.Active)
	_, err = e.ChangePassword(ctx, provision.ChangePasswordRequest{ServiceID: "117", Password: "Other-pw2"})
	require.NoError(t, err)
	link, err := e.LoginURL(ctx, "117")
	require.NoError(t, err)
	assert.Contains(t, link, "username=ann1")
	_, err = e.Close(ctx, provision.CloseRequest{ServiceID: "117"})
	require.NoError(t, err)
	_, ok = srv.User("ann1")
	assert.False(t, ok)
	s, err := e.Store().GetService(ctx, "117")
	require.NoError(t, err)
	assert.Equal(t, billing.StatusDeleted, s.Status)
}

// TestLiteNeedsDiskQuotas: on ISPmanager Lite with disk quotas off an Open
// fails with ErrDiskQuotasOff before any account is created; with quotas
// on (or on Business) it goes through.
func TestLiteNeedsDiskQuotas(t *testing.T) {
	t.Parallel()
	srv, c := quotasOff(t, ispmanager.EditionLite)
	admin, pw := srv.Admin()
	ctx := context.Background()
	cat := billing.NewCatalog()
	require.NoError(t, cat.AddModule(&billing.Module{Kind: billing.KindISPmanager, Name: "isp", URL: srv.URL(), Username: admin, Password: pw}))
	limits, err := billing.LimitsFrom(map[string]string{"quota": "1024"})
	require.NoError(t, err)
	require.NoError(t, cat.AddTariff(&billing.Tariff{ID: 1, Name: "Lite", ProductType: billing.ProductSharedHosting, Modules: []string{"isp"}, Limits: limits}))
	e, err := provision.New(provision.Config{
		Store: memstore.New(), Catalog: cat, WorkerID: "w",
		Hosting:      map[string]provision.HostingBackend{"isp": ispmgr.New(c)},
		PollInterval: time.Millisecond,
	})
	require.NoError(t, err)
	before := len(srv.Users())

	_, err = e.Open(ctx, provision.OpenRequest{ServiceID: "1", TariffID: 1, Owner: "Ann", Password: "Secret-pw1"})
	require.ErrorIs(t, err, provision.ErrDiskQuotasOff)
	require.ErrorIs(t, err, provision.ErrOperationFailed)
	var qe *ispmgr.DiskQuotasOffError
	assert.True(t, errors.As(err, &qe), "the adapter's error is the cause: %v", err)
	assert.Contains(t, err.Error(), "disk quotas off")
	assert.Len(t, srv.Users(), before, "nothing created")
	_, ok := srv.User("ann")
	assert.False(t, ok)
	svc, err := e.Store().GetService(ctx, "1")
	require.NoError(t, err)
	assert.NotEqual(t, billing.StatusActive, svc.Status)

	srv.SetDiskQuotas(true)
	_, err = e.Open(ctx, provision.OpenRequest{ServiceID: "2", TariffID: 1, Owner: "Ann", Password: "Secret-pw1"})
	require.NoError(t, err, "quotas on: the same Lite panel sells")
	u, ok := srv.User("ann")
	require.True(t, ok)
	q, _ := u.Limits.Get("quota")
	assert.Equal(t, "1024", q, "the quota reached the panel")
}

// quotasOff starts an ISPmanager fake of edition ed with disk quotas off
// and returns an administrator's client of it.
func quotasOff(t *testing.T, ed ispmanager.Edition) (*ispmanagertest.Server, *ispmanager.Client) {
	t.Helper()
	srv := ispmanagertest.NewServer(ispmanagertest.WithEdition(ed))
	t.Cleanup(srv.Close)
	srv.SetDiskQuotas(false)
	admin, pw := srv.Admin()
	c, err := ispmanager.NewClient(srv.URL(), ispmanager.WithCredentials(admin, pw))
	require.NoError(t, err)
	return srv, c
}

// TestCheckCreate: the quotas are read on every call; Business is never
// refused.
func TestCheckCreate(t *testing.T) {
	t.Parallel()
	_, c := quotasOff(t, ispmanager.EditionBusiness)
	b := ispmgr.New(c)
	require.NoError(t, b.CheckCreate(context.Background()), "Business with quotas off is not refused")

	lite, lc := quotasOff(t, ispmanager.EditionLite)
	lb := ispmgr.New(lc)
	err := lb.CheckCreate(context.Background())
	var qe *ispmgr.DiskQuotasOffError
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, ispmanager.EditionLite, qe.Edition)
	assert.ErrorIs(t, err, provision.ErrDiskQuotasOff)
	lite.SetDiskQuotas(true)
	assert.NoError(t, lb.CheckCreate(context.Background()), "quotas are read again")
}
