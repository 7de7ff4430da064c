package dcimanager5_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

// Whether a panel sends a one-row list as an object or as a one-item
// array is not settled by any public source: every list the client reads
// is read in both shapes.
func TestOneRowListsInBothShapes(t *testing.T) {
	t.Parallel()
	for _, arrays := range []bool{false, true} {
		srv, c := newEnv(t, []dcimanager5test.Option{dcimanager5test.WithoutSeed()})
		srv.SetOneRowArray(arrays)
		require.NoError(t, srv.AddPool("parking", "ipv4", "10.10.0.0/24"))
		srv.AddOSTemplate("ISPsystem", "Debian-12-x86_64", "linux")
		id, err := srv.AddServer(dcimanager5test.ServerSpec{Name: "only", ChassisTemplate: "E3"})
		require.NoError(t, err)
		ctx := ctxT(t)

		servers, err := c.Servers.List(ctx)
		require.NoError(t, err)
		require.Len(t, servers, 1, "arrays=%v", arrays)
		assert.Equal(t, id, servers[0].ID)
		free, err := c.Servers.ListAvailable(ctx, "E3")
		require.NoError(t, err)
		assert.Len(t, free, 1)
		ips, err := c.IPs.List(ctx, id)
		require.NoError(t, err)
		assert.Len(t, ips, 1)
		ts, err := c.OSTemplates.List(ctx)
		require.NoError(t, err)
		assert.Len(t, ts, 1)
		users, err := c.Users.List(ctx)
		require.NoError(t, err)
		assert.Len(t, users, 1, "the administrator")
		nets, err := c.Networks.List(ctx)
		require.NoError(t, err)
		assert.Len(t, nets, 1)
		form, err := c.Servers.InstallForm(ctx, id)
		require.NoError(t, err)
		assert.Len(t, form.Templates, 1, "a one-value select list")
	}
}

func TestNetworksList(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, nil)
	nets, err := c.Networks.List(ctxT(t))
	require.NoError(t, err)
	require.Len(t, nets, 3)
	assert.Equal(t, dcimanager5.Network{ID: 1, Prefix: netip.MustParsePrefix("203.0.113.0/24"), Group: "public", Family: "ipv4"}, nets[0])
	assert.Equal(t, "ipv6", nets[1].Family)
	assert.Equal(t, "parking", nets[2].Group)
}

// The key-login link is opened by a browser: the panel answers with a
// session cookie and a redirect into the panel, not with an API document.
func TestLoginURLOpensThePanelInABrowser(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, nil)
	link, err := c.Users.LoginURL(ctxT(t), "client1")
	require.NoError(t, err)
	jar, _ := cookiejar.New(nil)
	var hops []int
	browser := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		hops = append(hops, r.Response.StatusCode)
		return nil
	}}
	resp, err := browser.Get(link)
	require.NoError(t, err)
	body := readAll(t, resp)
	assert.Equal(t, []int{http.StatusFound}, hops)
	assert.Contains(t, body, "panel of client1")
	assert.NotContains(t, body, `"doc"`)

	// The key is single-use: a second visit gets the login form.
	resp, err = http.Get(link)
	require.NoError(t, err)
	body = readAll(t, resp)
	assert.Contains(t, body, `name="password"`)
}

func TestIPMIRedirectInABrowser(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	id := serverByName(t, srv, "srv-02").ID
	target, err := c.Servers.IPMIRedirect(ctxT(t), id)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(target, "https://"), target)
	// A browser sent to the same function (no out=) is redirected there.
	admin, pw := srv.Admin()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(srv.URL() + "?func=ipmiredirect&newwindow=yes&elid=" + itoa(id) + "&authinfo=" + admin + ":" + pw)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, target, resp.Header.Get("Location"))
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
