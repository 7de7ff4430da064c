package ispmgr_test

import (
	"context"
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
