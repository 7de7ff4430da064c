package ispmanager_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

// The site and the mail domain are created from the parameters the
// vendor's WHMCS module and BILLmanager send, and the account's domains
// can be read back per account.
func TestCreateSendsTheRealDomainParameters(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	r := createReq("web1")
	r.Domain = "web1.example"
	_, err := c.Users.Create(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"web1.example": "web1"}, srv.WebDomains())
	assert.Equal(t, map[string]string{"web1.example": "web1"}, srv.EmailDomains())
	assert.Equal(t, map[string]string{"web1.example": "web1"}, srv.DNSDomains())
	u, _ := srv.User("web1")
	assert.Equal(t, "web1", u.FTPUser, "ftp_user_name creates the main FTP user")

	var sent []string
	for _, call := range srv.Calls() {
		if call.Func == "user.add.finish" {
			sent = call.Params
		}
	}
	assert.Contains(t, sent, "webdomain_name")
	assert.Contains(t, sent, "emaildomain_name")
	assert.Contains(t, sent, "ftp_user_name")
	assert.NotContains(t, sent, "domain", "no public client sends domain=")

	for _, list := range []func(context.Context, string) ([]ispmanager.Domain, error){c.Domains.Web, c.Domains.Mail, c.Domains.DNS} {
		ds, err := list(ctx, "web1")
		require.NoError(t, err)
		assert.Equal(t, []ispmanager.Domain{{Name: "web1.example", Owner: "web1"}}, ds)
	}
	ok, err := c.Domains.Exists(ctx, "WEB1.example.")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = c.Domains.Exists(ctx, "other.example")
	require.NoError(t, err)
	assert.False(t, ok)

	// Without a domain the client says so explicitly: none is created.
	_, err = c.Users.Create(ctx, createReq("web2"))
	require.NoError(t, err)
	ds, err := c.Domains.Web(ctx, "web2")
	require.NoError(t, err)
	assert.Empty(t, ds)
	// Another account does not see web1's domains.
	ds, err = c.Domains.Web(ctx, "web2")
	require.NoError(t, err)
	assert.Empty(t, ds)
}

// A fake in strict mode records a parameter its function does not read:
// the old "domain=" is exactly what the real panel ignores.
func TestStrictFakeRecordsIgnoredParameters(t *testing.T) {
	t.Parallel()
	srv := ispmanagertest.NewServer()
	t.Cleanup(srv.Close)
	srv.SetStrict(true)
	admin, pw := srv.Admin()
	m, err := mgr5.NewClient(mgr5.Config{Panel: "ispmanager", Endpoint: srv.URL(), Credentials: mgr5.Credentials{Username: admin, Password: pw}})
	require.NoError(t, err)
	_, err = m.Exec(context.Background(), mgr5.Request{Func: "user.add.finish", Sok: true, Params: url.Values{
		"name": {"old1"}, "passwd": {"Secr3t-old1-pw"}, "confirm": {"Secr3t-old1-pw"}, "domain": {"old1.example"},
	}})
	require.NoError(t, err, "the panel creates the user and ignores domain")
	assert.Empty(t, srv.WebDomains(), "domain= creates no site")
	assert.Equal(t, []ispmanagertest.Violation{{Func: "user.add.finish", Param: "domain"}}, srv.Violations())
}

func TestAddressesOfAnAccount(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	r := createReq("ip1")
	r.IPSource, r.IPType = ispmanager.IPAuto, ispmanager.IPv4
	_, err := c.Users.Create(ctx, r)
	require.NoError(t, err)
	extra, err := c.Addresses.Add(ctx, "ip1", ispmanager.IPv4)
	require.NoError(t, err)
	as, err := c.Addresses.List(ctx, "ip1")
	require.NoError(t, err)
	var dedicated []string
	for _, a := range as {
		if a.Dedicated() {
			dedicated = append(dedicated, a.Addr.String())
		}
	}
	assert.Len(t, dedicated, 2, "the one from ipsrc=auto and the extra one")
	assert.Contains(t, dedicated, extra.String())
	assert.Len(t, srv.Addresses(), 3, "shared + two dedicated")

	_, err = c.Addresses.Add(ctx, "ip1", "ipv5")
	assert.ErrorIs(t, err, ispmanager.ErrInvalidArgument)

	srv.SetEdition(ispmanager.EditionLite)
	_, err = c.Addresses.Add(ctx, "ip1", ispmanager.IPv4)
	assert.True(t, ispmanager.IsAccess(err), "Lite has no address management: %v", err)
}

func TestDiskQuotasEnabled(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	on, err := c.Users.DiskQuotasEnabled(ctx)
	require.NoError(t, err)
	assert.True(t, on)
	srv.SetDiskQuotas(false)
	on, err = c.Users.DiskQuotasEnabled(ctx)
	require.NoError(t, err)
	assert.False(t, on, "without quotas the user form has no limit_quota")
}

// Whether a panel sends a one-row list as an object or as a one-item array
// is not settled by any public source: the client reads both.
func TestOneRowListsInBothShapes(t *testing.T) {
	t.Parallel()
	for _, arrays := range []bool{false, true} {
		srv, c := newEnv(t, []ispmanagertest.Option{ispmanagertest.WithPreset("only", ispmanager.Limits{Databases: ispmanager.Int(3)})})
		srv.SetOneRowArray(arrays)
		ctx := context.Background()
		ps, err := c.Presets.List(ctx)
		require.NoError(t, err)
		require.Len(t, ps, 1, "arrays=%v", arrays)
		_, err = c.Users.Create(ctx, createReq("one1"))
		require.NoError(t, err)
		us, err := c.Users.List(ctx)
		require.NoError(t, err)
		require.Len(t, us, 1, "arrays=%v", arrays)
		assert.Equal(t, "one1", us[0].Name)
		u, err := c.Users.Usage(ctx, "one1")
		require.NoError(t, err)
		assert.NotEmpty(t, u)
	}
}
