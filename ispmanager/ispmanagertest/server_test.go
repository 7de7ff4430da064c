package ispmanagertest_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

func raw(t *testing.T, srv *ispmanagertest.Server, path string, v url.Values) string {
	t.Helper()
	admin, pw := srv.Admin()
	v.Set("authinfo", admin+":"+pw)
	u := strings.TrimSuffix(srv.URL(), ispmanagertest.Path) + path
	resp, err := http.PostForm(u, v)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func adminClient(t *testing.T, srv *ispmanagertest.Server) *mgr5.Client {
	t.Helper()
	admin, pw := srv.Admin()
	c, err := mgr5.NewClient(mgr5.Config{Panel: "ispmanager", Endpoint: srv.URL(), Credentials: mgr5.Credentials{Username: admin, Password: pw}})
	require.NoError(t, err)
	return c
}

func TestOutputFormatsAndManagerPath(t *testing.T) {
	t.Parallel()
	srv := ispmanagertest.NewServer(ispmanagertest.WithPreset("p1", ispmanager.Limits{Databases: ispmanager.Int(1)}))
	// Not strict: this test probes the answers to calls nobody models.
	t.Cleanup(srv.Close)
	xml := raw(t, srv, "/manager/ispmgr", url.Values{"func": {"preset"}, "out": {"xml"}})
	assert.Contains(t, xml, "<elem><name>p1</name></elem>")
	sjson := raw(t, srv, "/ispmgr", url.Values{"func": {"preset"}, "out": {"sjson"}})
	assert.Contains(t, sjson, `"elem":[{"name":{"$":"p1"}}]`)
	data := raw(t, srv, "/ispmgr", url.Values{"func": {"preset"}, "out": {"JSONdata"}})
	assert.JSONEq(t, `[{"name":"p1"}]`, data)
}

func TestUserEditCreatesWithoutElidAndUsrparamChangesPassword(t *testing.T) {
	t.Parallel()
	srv := ispmanagertest.NewServer()
	srv.SetStrict(true)
	t.Cleanup(srv.Close)
	c := adminClient(t, srv)
	ctx := context.Background()
	d, err := c.Exec(ctx, mgr5.Request{Func: "user.edit", Sok: true, Params: url.Values{
		"name": {"viaedit"}, "passwd": {"pw-one-1"}, "confirm": {"pw-one-1"}, "limit_db": {"3"},
	}})
	require.NoError(t, err)
	assert.Equal(t, "viaedit", d.ID())
	u, ok := srv.User("viaedit")
	require.True(t, ok)
	assert.Equal(t, 3, *u.Limits.Databases)

	// usrparam as the user (su), the WHMCS/JBS way.
	_, err = c.Exec(ctx, mgr5.Request{Func: "usrparam", Su: "viaedit", Sok: true, Params: url.Values{
		"passwd": {"pw-two-2"}, "confirm": {"pw-two-2"}, "atype": {"atany"}, "clicked_button": {"ok"},
	}})
	require.NoError(t, err)
	assert.True(t, srv.CheckPassword("viaedit", "pw-two-2"))

	// Mismatched confirmation.
	_, err = c.Exec(ctx, mgr5.Request{Func: "user.edit", Elid: []string{"viaedit"}, Sok: true, Params: url.Values{
		"passwd": {"a-1234567"}, "confirm": {"b-1234567"},
	}})
	assert.True(t, mgr5.IsValue(err), "%v", err)
	assert.True(t, srv.CheckPassword("viaedit", "pw-two-2"))

	// Bad names and limit values are value errors.
	_, err = c.Exec(ctx, mgr5.Request{Func: "user.add.finish", Sok: true, Params: url.Values{"name": {"9x"}, "passwd": {"p"}}})
	assert.True(t, mgr5.IsValue(err), "%v", err)
	_, err = c.Exec(ctx, mgr5.Request{Func: "user.add.finish", Sok: true, Params: url.Values{"name": {"okname"}, "passwd": {"p"}, "limit_db": {"many"}}})
	var e *mgr5.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "limit_db", e.Object)
}

func TestGroupOperationsAndAccess(t *testing.T) {
	t.Parallel()
	srv := ispmanagertest.NewServer()
	// Not strict: this test probes the answers to calls nobody models.
	t.Cleanup(srv.Close)
	require.NoError(t, srv.AddUser(ispmanagertest.User{Name: "a1", Active: true}, "pw-a1-xx"))
	require.NoError(t, srv.AddUser(ispmanagertest.User{Name: "a2", Active: true}, "pw-a2-xx"))
	require.Error(t, srv.AddUser(ispmanagertest.User{Name: "a2"}, "x"))
	c := adminClient(t, srv)
	ctx := context.Background()
	_, err := c.Exec(ctx, mgr5.Request{Func: "user.suspend", Elid: []string{"a1", "a2"}})
	require.NoError(t, err)
	for _, u := range srv.Users() {
		assert.False(t, u.Active, u.Name)
	}
	// One unknown name: nothing changes.
	_, err = c.Exec(ctx, mgr5.Request{Func: "user.resume", Elid: []string{"a1", "nope"}})
	assert.True(t, mgr5.IsNotFound(err))
	u, _ := srv.User("a1")
	assert.False(t, u.Active)

	_, err = c.Exec(ctx, mgr5.Request{Func: "user.resume", Elid: []string{"a1"}})
	require.NoError(t, err)
	// A user-level login may not call admin functions.
	uc, err := mgr5.NewClient(mgr5.Config{Endpoint: srv.URL(), Credentials: mgr5.Credentials{Username: "a1", Password: "pw-a1-xx"}})
	require.NoError(t, err)
	_, err = uc.List(ctx, mgr5.Request{Func: "user"})
	assert.True(t, mgr5.IsAccess(err), "%v", err)
	d, err := uc.Call(ctx, mgr5.Request{Func: "license.info"})
	require.NoError(t, err)
	assert.Equal(t, "ISPmanager Business", d.Text("panel_name"))

	assert.Error(t, srv.SetUsage("nope", "db", 1))
	_, err = c.Call(ctx, mgr5.Request{Func: "no.such.func"})
	assert.True(t, mgr5.IsNotFound(err))
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	srv := ispmanagertest.NewServer()
	srv.SetStrict(true)
	t.Cleanup(srv.Close)
	c := adminClient(t, srv)
	ctx := context.Background()
	srv.Inject(ispmanagertest.Fault{Match: "preset", Kind: ispmanagertest.FaultPanelError, Times: 1,
		Err: &mgr5.Error{Type: mgr5.TypeAccess, Object: "preset"}})
	_, err := c.List(ctx, mgr5.Request{Func: "preset"})
	assert.True(t, mgr5.IsAccess(err))
	_, err = c.List(ctx, mgr5.Request{Func: "preset"})
	require.NoError(t, err)

	srv.SetFaultSeed(7)
	srv.Inject(ispmanagertest.Fault{Kind: ispmanagertest.FaultStatus, Status: 503, Times: -1})
	before := srv.Requests()
	resp, err := http.Get(srv.URL() + "?func=preset&out=json")
	require.NoError(t, err)
	resp.Body.Close()
	assert.GreaterOrEqual(t, resp.StatusCode, 500)
	assert.Equal(t, before+1, srv.Requests())
	srv.ClearFaults()
	_, err = c.List(ctx, mgr5.Request{Func: "preset"})
	require.NoError(t, err)
	assert.Positive(t, srv.CallCount("preset"))
}
