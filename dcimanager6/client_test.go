package dcimanager6_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
	"github.com/ispkit/ispkit/internal/testctx"
	"github.com/ispkit/ispkit/internal/wait"
)

func TestNewClientValidation(t *testing.T) {
	t.Parallel()
	creds := dcimanager6.WithCredentials("a@example.com", "pw")
	tests := map[string]struct {
		url  string
		opts []dcimanager6.Option
	}{
		"not a URL":         {"::", []dcimanager6.Option{creds}},
		"ftp scheme":        {"ftp://h", []dcimanager6.Option{creds}},
		"no host":           {"https://", []dcimanager6.Option{creds}},
		"user info":         {"https://u:p@h", []dcimanager6.Option{creds}},
		"query":             {"https://h/?a=1", []dcimanager6.Option{creds}},
		"no credentials":    {"https://h", nil},
		"empty password":    {"https://h", []dcimanager6.Option{dcimanager6.WithCredentials("a@example.com", "")}},
		"empty email":       {"https://h", []dcimanager6.Option{dcimanager6.WithCredentials(" ", "pw")}},
		"bad token":         {"https://h", []dcimanager6.Option{dcimanager6.WithToken("a\r\nb")}},
		"prefix no slash":   {"https://h", []dcimanager6.Option{creds, dcimanager6.WithAPIPrefix("api")}},
		"prefix query":      {"https://h", []dcimanager6.Option{creds, dcimanager6.WithAPIPrefix("/api?x")}},
		"zero timeout":      {"https://h", []dcimanager6.Option{creds, dcimanager6.WithTimeout(0)}},
		"negative retries":  {"https://h", []dcimanager6.Option{creds, dcimanager6.WithRetry(-1, time.Millisecond, time.Second)}},
		"min above max":     {"https://h", []dcimanager6.Option{creds, dcimanager6.WithRetry(3, time.Second, time.Millisecond)}},
		"zero rate":         {"https://h", []dcimanager6.Option{creds, dcimanager6.WithRateLimit(0, 1)}},
		"zero burst":        {"https://h", []dcimanager6.Option{creds, dcimanager6.WithRateLimit(1, 0)}},
		"bad application":   {"https://h", []dcimanager6.Option{creds, dcimanager6.WithApplication("my app", "1")}},
		"bad pin":           {"https://h", []dcimanager6.Option{creds, dcimanager6.WithPinnedCertificate("abcd")}},
		"no pin":            {"https://h", []dcimanager6.Option{creds, dcimanager6.WithPinnedCertificate()}},
		"nil http client":   {"https://h", []dcimanager6.Option{creds, dcimanager6.WithHTTPClient(nil)}},
		"nil root CAs":      {"https://h", []dcimanager6.Option{creds, dcimanager6.WithRootCAs(nil)}},
		"bad poll interval": {"https://h", []dcimanager6.Option{creds, dcimanager6.WithPollInterval(0, 0)}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := dcimanager6.NewClient(tt.url, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, dcimanager6.ErrInvalidArgument)
			assert.NotContains(t, err.Error(), "u:p", "the URL's credentials must not be echoed")
		})
	}
	c, err := dcimanager6.NewClient("https://dci.example.com/", creds, dcimanager6.WithAPIPrefix("/api/"))
	require.NoError(t, err)
	assert.Equal(t, "https://dci.example.com", c.BaseURL())
	assert.Equal(t, "/api", c.APIPrefix())
	assert.NotContains(t, c.String(), "pw")
}

func TestLoginAndHeaders(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil, dcimanager6.WithApplication("billing-bridge", "2.1"))
	ctx := testCtx(t)
	_, _, err := c.Locations.List(ctx, nil)
	require.NoError(t, err)
	_, _, err = c.Locations.List(ctx, nil)
	require.NoError(t, err)
	reqs := f.Requests()
	require.Len(t, reqs, 3, "one login, then two calls on the same session")
	assert.Equal(t, "POST", reqs[0].Method)
	assert.Equal(t, "/api/auth/v4/public/token", reqs[0].Path)
	assert.Equal(t, http.StatusCreated, reqs[0].Status)
	tok := f.Tokens()
	require.Len(t, tok, 1)
	for _, r := range reqs[1:] {
		assert.Equal(t, "/api/dci/v3/location", r.Path)
		assert.Equal(t, tok[0], r.Header.Get("x-xsrf-token"))
		assert.Equal(t, "ses6="+tok[0], r.Header.Get("Cookie"))
		assert.Equal(t, "true", r.Header.Get("isp-box-instance"))
		assert.True(t, strings.HasPrefix(r.Header.Get("User-Agent"), "billing-bridge/2.1 ispkit/"), r.Header.Get("User-Agent"))
	}
	require.NoError(t, c.Login(ctx))
	assert.Equal(t, 2, f.Logins())
}

func TestBarePrefix(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil, dcimanager6.WithAPIPrefix(""))
	locs, _, err := c.Locations.List(testCtx(t), nil)
	require.NoError(t, err)
	assert.Len(t, locs, 2)
	for _, r := range f.Requests() {
		assert.False(t, strings.HasPrefix(r.Path, "/api"), r.Path)
	}
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil, dcimanager6.WithCredentials(dcimanager6test.AdminEmail, "wrong"))
	_, _, err := c.Locations.List(testCtx(t), nil)
	require.Error(t, err)
	assert.True(t, dcimanager6.IsUnauthorized(err))
	var e *dcimanager6.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, dcimanager6.CodeBadCredentials, e.Code)
	assert.Len(t, f.Requests(), 1, "a refused login is not retried and nothing else is sent")
}

func TestWithTokenOnly(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	require.NoError(t, c.Login(ctx))
	tc, err := dcimanager6.NewClient(f.URL(), dcimanager6.WithToken(f.Tokens()[0]))
	require.NoError(t, err)
	who, err := tc.Auth.Whoami(ctx)
	require.NoError(t, err)
	assert.Equal(t, dcimanager6test.AdminEmail, who.Email)
	f.ExpireSessions()
	_, err = tc.Auth.Whoami(ctx)
	assert.True(t, dcimanager6.IsUnauthorized(err), "without credentials the session cannot be renewed")
}

func TestLocations(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, nil)
	ctx := testCtx(t)
	locs, total, err := c.Locations.List(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, total)
	assert.Equal(t, "Amsterdam", locs[0].Name)
	all := collect(t, c.Locations.All(ctx, &dcimanager6.ListOptions{Limit: dcimanager6.Limit(0, 1)}))
	assert.Len(t, all, 2)
	l, err := c.Locations.Get(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, "Frankfurt", l.Name)
	_, err = c.Locations.Get(ctx, 99)
	assert.True(t, dcimanager6.IsNotFound(err))
	_, err = c.Locations.Get(ctx, 0)
	assert.ErrorIs(t, err, dcimanager6.ErrInvalidArgument)
}

func TestServersReadAndFree(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	free, total, err := c.Servers.ListFree(ctx, 1, "E-2146G-64Gb-1920SSD", nil)
	require.NoError(t, err)
	assert.Equal(t, 2, total)
	for _, s := range free {
		assert.True(t, s.Available())
		assert.True(t, f.Available(s.ID))
	}
	all := collect(t, c.Servers.All(ctx, &dcimanager6.ListOptions{Limit: dcimanager6.Limit(0, 2)}))
	require.Len(t, all, 9)
	for _, s := range all {
		assert.Equal(t, f.Available(s.ID), s.Available(), "server %d: client and fake agree on §A6", s.ID)
	}
	s, err := c.Servers.Get(ctx, 4)
	require.NoError(t, err)
	assert.Equal(t, "client1@example.com", s.OwnerEmail)
	assert.Equal(t, int64(2), s.Owner)
	require.NotNil(t, s.OSTemplate)
	assert.Equal(t, "Ubuntu 24.04", s.OSTemplate.Name)
	require.Len(t, s.IPs, 1)
	assert.Equal(t, "ipv4", s.IPs[0].Family)
	require.Len(t, s.SwitchConnection, 1)
	assert.Equal(t, "up", s.SwitchConnection[0].AdminStatus)
	require.NotNil(t, s.Operation)
	assert.Equal(t, dcimanager6.StatusOK, s.Operation.Status)
	op, err := c.Servers.Operation(ctx, 7)
	require.NoError(t, err)
	assert.Equal(t, dcimanager6.StatusError, op.Status)
	assert.Contains(t, op.Message(), "disk not found")
	_, err = c.Servers.Get(ctx, 404)
	assert.True(t, dcimanager6.IsNotFound(err))

	counts, err := c.Servers.FreeCounts(ctx, &dcimanager6.ListOptions{Where: dcimanager6.EQ("location_id", 1)})
	require.NoError(t, err)
	assert.Equal(t, []dcimanager6.ConfigurationCount{
		{Configuration: "E-2146G-64Gb-1920SSD", FreeServerCount: 2},
		{Configuration: "i9-9900K-64Gb-2x1024NVMe", FreeServerCount: 1},
	}, counts)
	counts, err = c.Servers.FreeCounts(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, counts[1].FreeServerCount)

	var raw struct {
		List []dcimanager6.ConfigurationCount `json:"list"`
	}
	require.NoError(t, c.Do(ctx, http.MethodGet, "/dci/v3/server/configuration", nil, nil, &raw))
	assert.Len(t, raw.List, 2)
	assert.ErrorIs(t, c.Do(ctx, http.MethodGet, "dci/v3/server", nil, nil, nil), dcimanager6.ErrInvalidArgument)
}

func TestUsers(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	id, err := c.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: "new@example.com", Password: "pw-1", FullName: "New"})
	require.NoError(t, err)
	u, err := c.Users.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "new@example.com", u.Email)
	assert.Equal(t, dcimanager6.Roles{"@user"}, u.Roles)
	u, err = c.Users.GetByEmail(ctx, "new@example.com")
	require.NoError(t, err)
	assert.Equal(t, id, u.ID)
	_, err = c.Users.GetByEmail(ctx, "nobody@example.com")
	assert.True(t, dcimanager6.IsNotFound(err))

	_, err = c.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: "new@example.com", Password: "pw-2"})
	assert.True(t, dcimanager6.IsConflict(err), "%v", err)

	users, total, err := c.Users.List(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, total)
	assert.Len(t, users, 3)
	assert.Len(t, collect(t, c.Users.All(ctx, &dcimanager6.ListOptions{Limit: dcimanager6.Limit(0, 2)})), 3)

	require.NoError(t, c.Users.Delete(ctx, id))
	assert.True(t, dcimanager6.IsNotFound(c.Users.Delete(ctx, id)))
	assert.Len(t, f.Users(), 2)

	n := len(f.Requests())
	for name, req := range map[string]dcimanager6.UserCreateRequest{
		"no email":    {Password: "x"},
		"bad email":   {Email: "nope", Password: "x"},
		"no password": {Email: "a@example.com"},
		"bad role":    {Email: "a@example.com", Password: "x", Role: "admin"},
	} {
		_, err := c.Users.Create(ctx, req)
		assert.ErrorIs(t, err, dcimanager6.ErrInvalidArgument, name)
	}
	assert.ErrorIs(t, c.Users.Delete(ctx, -1), dcimanager6.ErrInvalidArgument)
	assert.Equal(t, n, len(f.Requests()))
}

func TestOwnerAssignment(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	uid, err := c.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: "owner@example.com", Password: "pw"})
	require.NoError(t, err)
	require.NoError(t, c.Servers.SetOwner(ctx, 1, uid))
	require.NoError(t, c.Servers.SetOwner(ctx, 1, uid), "setting the same owner again is idempotent")
	s, err := c.Servers.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "owner@example.com", s.OwnerEmail)
	assert.False(t, s.Available())
	m, _ := f.Machine(1)
	assert.Equal(t, uid, m.Owner)

	free, _, err := c.Servers.ListFree(ctx, 1, "", nil)
	require.NoError(t, err)
	for _, s := range free {
		assert.NotEqual(t, int64(1), s.ID)
	}
	mine, _, err := c.Servers.List(ctx, &dcimanager6.ListOptions{Where: dcimanager6.EQ("owner_email", "owner@example.com")})
	require.NoError(t, err)
	require.Len(t, mine, 1)

	assert.True(t, dcimanager6.IsConflict(c.Servers.SetOwner(ctx, 1, 2)), "another owner")
	assert.True(t, dcimanager6.IsNotFound(c.Servers.SetOwner(ctx, 2, 999)), "unknown user")
	assert.True(t, dcimanager6.IsConflict(c.Users.Delete(ctx, uid)), "user owns a server")

	require.NoError(t, c.Servers.ClearOwner(ctx, 1))
	require.NoError(t, c.Servers.SetDomain(ctx, 1, dcimanager6.FreeDomain))
	s, err = c.Servers.Get(ctx, 1)
	require.NoError(t, err)
	assert.Empty(t, s.OwnerEmail)
	assert.Equal(t, "free.ds", s.Domain)
	assert.True(t, s.Available())
	require.NoError(t, c.Users.Delete(ctx, uid))
	assert.ErrorIs(t, c.Servers.SetDomain(ctx, 1, "bad_host!"), dcimanager6.ErrInvalidArgument)
}

func TestPower(t *testing.T) {
	t.Parallel()
	// The operations run on the fake's manual clock: one is still running
	// until the test advances it, however slow the machine.
	clock := dcimanager5test.NewManualClock()
	f, c := newEnv(t, []dcimanager6test.Option{dcimanager6test.WithClock(clock.Now)})
	ctx := testCtx(t)
	res, err := c.Servers.PowerOn(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, int64(1), res.ServerID)
	require.NotZero(t, res.OperationID)
	_, err = c.Servers.PowerOff(ctx, 1)
	assert.True(t, dcimanager6.IsConflict(err), "busy while the operation runs: %v", err)
	clock.Advance(time.Minute)
	op, err := c.Operations.Wait(ctx, res.OperationID)
	require.NoError(t, err)
	assert.Equal(t, "power_on", op.Name)
	m, _ := f.Machine(1)
	assert.Equal(t, "on", m.PowerStatus)

	_, err = c.Servers.PowerOn(ctx, 1)
	assert.True(t, dcimanager6.IsConflict(err), "power_on needs off or unknown")
	var e *dcimanager6.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, dcimanager6.CodeStateConflict, e.Code)

	res, err = c.Servers.PowerReset(ctx, 1)
	require.NoError(t, err)
	clock.Advance(time.Minute)
	_, err = c.Operations.Wait(ctx, res.OperationID)
	require.NoError(t, err)

	res, err = c.Servers.PowerOff(ctx, 1)
	require.NoError(t, err)
	clock.Advance(time.Minute)
	_, err = c.Operations.Wait(ctx, res.OperationID)
	require.NoError(t, err)
	m, _ = f.Machine(1)
	assert.Equal(t, "off", m.PowerStatus)
	_, err = c.Servers.PowerOff(ctx, 1)
	assert.True(t, dcimanager6.IsConflict(err), "power_off needs on")

	res, err = c.Servers.PowerOn(ctx, 5) // status unknown
	require.NoError(t, err)
	clock.Advance(time.Minute)
	_, err = c.Operations.Wait(ctx, res.OperationID)
	require.NoError(t, err)
	_, err = c.Servers.PowerReset(ctx, 999)
	assert.True(t, dcimanager6.IsNotFound(err))
}

func TestInstallAndWait(t *testing.T) {
	t.Parallel()
	// The panel and the client's waiter share a fake clock: the install
	// advances only through the waiter's pauses, and stands still
	// elsewhere (the second install on server 8 below meets the first
	// one running, however slow the machine).
	clock := wait.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f, c := newEnv(t, []dcimanager6test.Option{dcimanager6test.WithClock(clock.Now)}, dcimanager6.WithClock(clock))
	ctx := testCtx(t)
	req := dcimanager6.InstallRequest{TemplateID: 2, Password: "Root-Pass-1", Hostname: "web1.example.com",
		ScriptID: 12, ScriptParams: map[string]string{"PANEL": "none"}}
	res, err := c.Servers.Install(ctx, 3, req)
	require.NoError(t, err)
	var seen []int
	var mu sync.Mutex
	var srv *dcimanager6.Server
	_, err = clock.Drive(ctx, func() error {
		var err error
		srv, err = c.Servers.WaitInstalled(ctx, 3, dcimanager6.ForOperation(res.OperationID),
			dcimanager6.WithProgress(func(op *dcimanager6.Operation) {
				done, total := op.Progress()
				assert.Equal(t, 6, total, "script stage included")
				mu.Lock()
				seen = append(seen, done)
				mu.Unlock()
			}))
		return err
	})
	require.NoError(t, err)
	require.NotEmpty(t, seen)
	assert.Equal(t, 6, seen[len(seen)-1])
	for i := 1; i < len(seen); i++ {
		assert.GreaterOrEqual(t, seen[i], seen[i-1], "progress never goes back")
	}
	assert.Equal(t, "web1.example.com", srv.Domain)
	require.NotNil(t, srv.OSTemplate)
	assert.Equal(t, int64(2), srv.OSTemplate.ID)
	assert.Equal(t, dcimanager6.PowerOn, srv.PowerStatus)
	require.Len(t, srv.IPs, 1)
	assert.Equal(t, "web1.example.com", srv.IPs[0].Domain)
	m, _ := f.Machine(3)
	require.NotNil(t, m.LastInstall)
	assert.Equal(t, "Root-Pass-1", m.LastInstall.Password, "the password reached the panel in the body")
	assert.Equal(t, []int64{12}, m.LastInstall.Recipes)
	assert.Equal(t, map[string]string{"PANEL": "none"}, m.LastInstall.Params)

	ops, total, err := c.Operations.List(ctx, 3, &dcimanager6.ListOptions{OrderBy: dcimanager6.Desc("id")})
	require.NoError(t, err)
	assert.Equal(t, 2, total)
	assert.Equal(t, "os_install", ops[0].Name)
	assert.Len(t, collect(t, c.Operations.All(ctx, 0, nil)), len(f.Operations()))
	op, err := c.Operations.Get(ctx, res.OperationID)
	require.NoError(t, err)
	assert.True(t, op.Done())

	tmpls, total, err := c.OSTemplates.List(ctx, 2, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, total)
	assert.Equal(t, int64(2), tmpls[0].LocationID)
	linux := collect(t, c.OSTemplates.All(ctx, 1, &dcimanager6.ListOptions{Where: dcimanager6.EQ("tags", "linux")}))
	assert.Len(t, linux, 2)

	// Template of another location and a busy server are refused.
	_, err = c.Servers.Install(ctx, 8, dcimanager6.InstallRequest{TemplateID: 1, Password: "x"})
	assert.ErrorIs(t, err, dcimanager6.ErrInvalidInput)
	_, err = c.Servers.Install(ctx, 8, dcimanager6.InstallRequest{TemplateID: 4, Password: "x"})
	require.NoError(t, err)
	_, err = c.Servers.Install(ctx, 8, dcimanager6.InstallRequest{TemplateID: 4, Password: "x"})
	assert.True(t, dcimanager6.IsConflict(err))
}

func TestInstallValidation(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	require.NoError(t, c.Login(ctx))
	n := len(f.Requests())
	for name, req := range map[string]dcimanager6.InstallRequest{
		"no template":        {Password: "x"},
		"empty password":     {TemplateID: 1},
		"bad hostname":       {TemplateID: 1, Password: "x", Hostname: "-bad-.example.com"},
		"params no script":   {TemplateID: 1, Password: "x", ScriptParams: map[string]string{"a": "b"}},
		"hostname too long":  {TemplateID: 1, Password: "x", Hostname: strings.Repeat("a", 64) + ".com"},
		"hostname has space": {TemplateID: 1, Password: "x", Hostname: "a b.com"},
	} {
		_, err := c.Servers.Install(ctx, 1, req)
		var ae *dcimanager6.ArgumentError
		require.ErrorAs(t, err, &ae, name)
	}
	_, err := c.Servers.Install(ctx, 0, dcimanager6.InstallRequest{TemplateID: 1, Password: "x"})
	assert.ErrorIs(t, err, dcimanager6.ErrInvalidArgument)
	assert.Equal(t, n, len(f.Requests()), "nothing was sent")
	s := dcimanager6.InstallRequest{TemplateID: 1, Password: "Hunter2-Secret"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		assert.NotContains(t, sprintf(format, s), "Hunter2-Secret")
	}
}

func TestWaitFailsFast(t *testing.T) {
	t.Parallel()
	// A 10-minute install on a fake clock that the panel and the client's
	// waiter share; it fails at its middle stage.
	clock := wait.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f, c := newEnv(t, []dcimanager6test.Option{dcimanager6test.WithDurations(10*time.Minute, 10*time.Millisecond), dcimanager6test.WithClock(clock.Now)},
		dcimanager6.WithClock(clock))
	ctx := testCtx(t)
	f.FailNextOperation("os_install", "no bootable disk")
	res, err := c.Servers.Install(ctx, 1, dcimanager6.InstallRequest{TemplateID: 1, Password: "x"})
	require.NoError(t, err)
	start := clock.Now()
	slow := dcimanager6.WithPollBackoff(10*time.Second, 30*time.Second)
	_, err = clock.Drive(ctx, func() error { _, err := c.Operations.Wait(ctx, res.OperationID, slow); return err })
	elapsed := clock.Now().Sub(start)
	var oe *dcimanager6.OperationError
	require.ErrorAs(t, err, &oe)
	assert.ErrorIs(t, err, dcimanager6.ErrOperationFailed)
	assert.Equal(t, dcimanager6.StatusError, oe.Operation.Status)
	assert.Contains(t, err.Error(), "no bootable disk")
	assert.Less(t, elapsed, 10*time.Minute, "the waiter returns at the failure, not at the planned end")
	_, err = clock.Drive(ctx, func() error { _, err := c.Servers.WaitInstalled(ctx, 1, slow); return err })
	assert.ErrorIs(t, err, dcimanager6.ErrOperationFailed)

	// A canceled operation.
	res, err = c.Servers.Install(ctx, 2, dcimanager6.InstallRequest{TemplateID: 1, Password: "x"})
	require.NoError(t, err)
	require.True(t, f.CancelOperation(res.OperationID))
	_, err = clock.Drive(ctx, func() error {
		_, err := c.Servers.WaitInstalled(ctx, 2, dcimanager6.ForOperation(res.OperationID), slow)
		return err
	})
	assert.ErrorIs(t, err, dcimanager6.ErrOperationCanceled)
	assert.NotErrorIs(t, err, dcimanager6.ErrOperationFailed)
}

func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, []dcimanager6test.Option{dcimanager6test.WithDurations(time.Minute, time.Minute)})
	ctx := testCtx(t)
	res, err := c.Servers.Install(ctx, 1, dcimanager6.InstallRequest{TemplateID: 1, Password: "x"})
	require.NoError(t, err)
	// The deadline passes once the waiter has seen the operation running
	// (observed through its progress hook, not timed).
	dctx := testctx.NewExpiring(ctx, time.Time{})
	_, err = c.Operations.Wait(dctx, res.OperationID, dcimanager6.WithProgress(func(*dcimanager6.Operation) {
		dctx.Expire()
	}))
	require.Error(t, err, "a timed-out wait is never a success")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), `last status "running"`)
}

func TestPorts(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	require.NoError(t, c.Servers.DisablePorts(ctx, 4))
	ports, total, err := c.Switches.ListPorts(ctx, 1, &dcimanager6.ListOptions{Where: dcimanager6.EQ("server.id", 4)})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	assert.Equal(t, "down", ports[0].AdminStatus)
	s, err := c.Servers.Get(ctx, 4)
	require.NoError(t, err)
	assert.Equal(t, "down", s.SwitchConnection[0].AdminStatus)
	m, _ := f.Machine(4)
	assert.Equal(t, "on", m.PowerStatus, "suspending disables the port, it does not power off")
	require.NoError(t, c.Servers.EnablePorts(ctx, 4))
	for _, p := range f.Ports() {
		if p.ServerID == 4 {
			assert.Equal(t, "up", p.AdminStatus)
		}
	}
	all, total, err := c.Switches.ListPorts(ctx, 1, &dcimanager6.ListOptions{OrderBy: dcimanager6.Desc("id"), Limit: dcimanager6.Limit(0, 1000)})
	require.NoError(t, err)
	assert.Equal(t, 9, total)
	assert.Len(t, all, 9)
	assert.True(t, dcimanager6.IsNotFound(c.Switches.EnablePort(ctx, 2, 1)), "port of another switch")
	_, _, err = c.Switches.ListPorts(ctx, 77, nil)
	assert.True(t, dcimanager6.IsNotFound(err))
}

func TestIPs(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, nil)
	ctx := testCtx(t)
	ips, total, err := c.IPs.List(ctx, &dcimanager6.ListOptions{
		Where: dcimanager6.And(dcimanager6.EQ("ipnet", 1), dcimanager6.NE("status", "extended")), OrderBy: dcimanager6.Asc("name"), Limit: dcimanager6.Limit(0, 300)})
	require.NoError(t, err)
	assert.Equal(t, 10, total)
	assert.Equal(t, "192.0.2.10", ips[0].Name)
	assert.Equal(t, "allocated", ips[0].Status)
	assert.Equal(t, int64(4), ips[0].ServerID)
	free := collect(t, c.IPs.All(ctx, &dcimanager6.ListOptions{Where: dcimanager6.EQ("status", "free"), Limit: dcimanager6.Limit(0, 4)}))
	assert.Len(t, free, 19)
	ip, err := c.IPs.Get(ctx, ips[0].ID)
	require.NoError(t, err)
	assert.Equal(t, "192.0.2.0/24", ip.IPNetName)
	pools, total, err := c.IPs.ListPools(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, total)
	assert.Equal(t, "public-ams", pools[0].Name)
	assert.Len(t, collect(t, c.IPs.AllPools(ctx, &dcimanager6.ListOptions{Where: dcimanager6.Contains("name", "public")})), 2)
	p, err := c.IPs.GetPool(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, int64(2), p.LocationID)
	_, err = c.IPs.GetPool(ctx, 9)
	assert.True(t, dcimanager6.IsNotFound(err))
}

func TestAuthKey(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	for _, ref := range []string{"2", "client1@example.com"} {
		k, err := c.Auth.Key(ctx, ref)
		require.NoError(t, err)
		assert.Equal(t, "2", k.UserID)
		assert.True(t, strings.HasPrefix(k.Key, "2-"))
		assert.Equal(t, f.URL()+"/auth/key-v4/"+k.Key, k.URL)
		assert.NotContains(t, sprintf("%v %+v %#v", k, k, k), k.Key)
	}
	_, err := c.Auth.Key(ctx, "nobody@example.com")
	assert.True(t, dcimanager6.IsNotFound(err))
	_, err = c.Auth.Key(ctx, "a/b")
	assert.ErrorIs(t, err, dcimanager6.ErrInvalidArgument)
	who, err := c.Auth.Whoami(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), who.ID)
}

// TestTokenExpiresMidRun: sessions die between and during calls; every
// call keeps working and concurrent callers share one new login.
func TestTokenExpiresMidRun(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	_, _, err := c.Servers.List(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, 1, f.Logins())

	f.ExpireSessions()
	_, err = c.Servers.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, 2, f.Logins())

	f.ExpireSessions()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := c.Locations.List(ctx, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 3, f.Logins(), "one re-login shared by all callers")

	// Short TTL on the fake's own clock: the session expires before every
	// call of a series; each call renews it once and succeeds.
	clock := dcimanager5test.NewManualClock()
	f2, c2 := newEnv(t, []dcimanager6test.Option{dcimanager6test.WithTokenTTL(15 * time.Millisecond), dcimanager6test.WithClock(clock.Now)})
	for range 10 {
		clock.Advance(time.Second)
		_, _, err := c2.Users.List(ctx, nil)
		require.NoError(t, err)
	}
	assert.Equal(t, 10, f2.Logins(), "one login per expired session, none more")
}

// TestWakeUp: the platform answers 503 five times before the login
// succeeds.
func TestWakeUp(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, []dcimanager6test.Option{dcimanager6test.WithWakeUp(5)})
	ctx := testCtx(t)
	locs, _, err := c.Locations.List(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, locs, 2)
	reqs := f.Requests()
	require.Len(t, reqs, 7)
	for i := 0; i < 5; i++ {
		assert.Equal(t, "/api/auth/v4/public/token", reqs[i].Path)
		assert.Equal(t, http.StatusServiceUnavailable, reqs[i].Status)
	}
	assert.Equal(t, http.StatusCreated, reqs[5].Status)
	assert.Equal(t, 1, f.Logins())

	// A non-idempotent call that meets 503 is repeated: the platform did
	// not execute it. The user is created exactly once.
	f.Suspend(3)
	_, err = c.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: "woken@example.com", Password: "pw"})
	require.NoError(t, err)
	n := 0
	for _, u := range f.Users() {
		if u.Email == "woken@example.com" {
			n++
		}
	}
	assert.Equal(t, 1, n)

	// Past the retry budget the 503 surfaces as ErrUnavailable.
	_, c3 := newEnv(t, []dcimanager6test.Option{dcimanager6test.WithWakeUp(100)}, dcimanager6.WithRetry(2, time.Millisecond, time.Millisecond))
	_, _, err = c3.Locations.List(ctx, nil)
	assert.ErrorIs(t, err, dcimanager6.ErrUnavailable)
	var e *dcimanager6.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 3, e.Attempts)
}

// The repetition of a non-idempotent call that met 503 pauses on the
// client's clock, with the retry backoff.
func TestNonIdempotentRepeatPausesOnClientClock(t *testing.T) {
	t.Parallel()
	clock := wait.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f, c := newEnv(t, nil, dcimanager6.WithRetry(5, time.Second, time.Second), dcimanager6.WithClock(clock))
	ctx := testCtx(t)
	require.NoError(t, c.Login(ctx))
	f.Suspend(2)
	pauses, err := clock.Drive(ctx, func() error {
		_, err := c.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: "late@example.com", Password: "pw"})
		return err
	})
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{time.Second, time.Second}, pauses, "one backoff before each repetition")
}

func TestRandomFailures(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, []dcimanager6test.Option{dcimanager6test.WithSeed(42)})
	ctx := testCtx(t)
	f.Inject(dcimanager6test.Fault{Kind: dcimanager6test.FaultPanelError, Status: 500, Probability: 0.3, Times: -1})
	for i := 0; i < 30; i++ {
		_, _, err := c.Servers.List(ctx, &dcimanager6.ListOptions{Limit: dcimanager6.Limit(0, 1)})
		require.NoError(t, err)
	}
	failed := 0
	for _, r := range f.Requests() {
		if r.Status == 500 {
			failed++
		}
	}
	assert.Greater(t, failed, 0, "the seeded source injected failures that were retried")
}

func TestDroppedConnections(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	require.NoError(t, c.Login(ctx))

	f.Inject(dcimanager6test.Fault{Match: "GET /dci/v3/location", Kind: dcimanager6test.FaultDropBefore, Times: 2})
	_, _, err := c.Locations.List(ctx, nil)
	require.NoError(t, err, "a safe read is retried after a dropped connection")

	f.Inject(dcimanager6test.Fault{Match: "POST /dci/v3/user", Kind: dcimanager6test.FaultDropBefore})
	_, err = c.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: "drop1@example.com", Password: "pw"})
	var te *dcimanager6.TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.MayHaveHappened, "a non-idempotent call is not repeated blindly")
	_, err = c.Users.GetByEmail(ctx, "drop1@example.com")
	assert.True(t, dcimanager6.IsNotFound(err), "dropped before processing")

	f.Inject(dcimanager6test.Fault{Match: "POST /dci/v3/user", Kind: dcimanager6test.FaultDropAfter})
	_, err = c.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: "drop2@example.com", Password: "pw"})
	require.Error(t, err)
	u, err := c.Users.GetByEmail(ctx, "drop2@example.com")
	require.NoError(t, err, "re-reading state shows the call did happen")
	assert.Equal(t, "drop2@example.com", u.Email)
}

func TestMalformedAndErrors(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	f.Inject(dcimanager6test.Fault{Match: "/dci/v3/location", Kind: dcimanager6test.FaultMalformed})
	_, _, err := c.Locations.List(ctx, nil)
	var pe *dcimanager6.ProtocolError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 200, pe.StatusCode)

	f.Inject(dcimanager6test.Fault{Match: "/dci/v3/server/*", Kind: dcimanager6test.FaultPanelError, Status: 403, Code: 77, Msg: "forbidden\r\nInjected: header"})
	_, err = c.Servers.Get(ctx, 1)
	var e *dcimanager6.Error
	require.ErrorAs(t, err, &e)
	assert.ErrorIs(t, err, dcimanager6.ErrForbidden)
	assert.Equal(t, 77, e.Code)
	assert.NotContains(t, err.Error(), "\n", "no log injection")
	assert.Contains(t, err.Error(), "Servers.Get")

	f.Inject(dcimanager6test.Fault{Match: "/dci/v3/operation/*", Kind: dcimanager6test.FaultPanelError, Status: 500, Code: 5000, Msg: "boom", Times: -1})
	_, err = c.Operations.Get(ctx, 1)
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 11, e.Attempts, "retried up to the budget")
	f.ClearFaults()
	_, err = c.Operations.Get(ctx, 1)
	require.NoError(t, err)

	// Retry-After beyond the cap is a rate-limit error, not a long sleep.
	f.Inject(dcimanager6test.Fault{Match: "/dci/v3/location", Kind: dcimanager6test.FaultPanelError, Status: 503, RetryAfter: "3600"})
	_, _, err = c.Locations.List(ctx, nil)
	var rl *dcimanager6.RateLimitError
	require.ErrorAs(t, err, &rl)
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	f, _ := newEnv(t, nil)
	// The panel, behind a front that reports when a server list arrives,
	// holds that answer until the client goes away: a call that returns
	// at all was ended by its context (no stopwatch needed).
	arrived := make(chan struct{}, 1)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/dci/v3/server") {
			arrived <- struct{}{}
		}
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	c, err := dcimanager6.NewClient(front.URL, dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword))
	require.NoError(t, err)
	require.NoError(t, c.Login(testCtx(t)))
	f.Inject(dcimanager6test.Fault{Match: "/dci/v3/server", Kind: dcimanager6test.FaultSlow})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived // the request is at the panel
		cancel()
	}()
	_, _, err = c.Servers.List(ctx, nil)
	assert.ErrorIs(t, err, context.Canceled)

	_, _, err = c.Servers.List(ctx, nil)
	assert.ErrorIs(t, err, context.Canceled, "an already cancelled context sends nothing")
	assert.Empty(t, arrived, "nothing arrived")

	// Cancelled during the retry backoff, which the client spends on its
	// (fake) clock: the deadline passes once the pause has begun.
	f.Inject(dcimanager6test.Fault{Match: "/dci/v3/location", Kind: dcimanager6test.FaultPanelError, Status: 503, Times: -1})
	clock := wait.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c2, err := dcimanager6.NewClient(f.URL(), dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword),
		dcimanager6.WithRetry(10, 5*time.Second, 10*time.Second), dcimanager6.WithClock(clock))
	require.NoError(t, err)
	require.NoError(t, c2.Login(testCtx(t)))
	ctx2 := testctx.NewExpiring(t.Context(), time.Time{})
	done := make(chan error, 1)
	go func() {
		_, _, err := c2.Locations.List(ctx2, nil)
		done <- err
	}()
	pending, err := clock.WaitPending(testCtx(t), 1)
	require.NoError(t, err, "the client never paused before its retry")
	assert.Equal(t, []time.Time{clock.Now().Add(5 * time.Second)}, pending, "the first backoff")
	ctx2.Expire()
	err = <-done
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), clock.Now(), "the pause was cut, not waited out")
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	clock := wait.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	_, c := newEnv(t, nil, dcimanager6.WithRateLimit(50, 1), dcimanager6.WithClock(clock))
	ctx := testCtx(t)
	pauses, err := clock.Drive(ctx, func() error {
		for i := 0; i < 11; i++ {
			if _, _, err := c.Locations.List(ctx, nil); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	// 12 attempts (login included) at 50/s with burst 1: the login takes
	// the burst token, each of the 11 lists waits one 20 ms interval.
	want := make([]time.Duration, 11)
	for i := range want {
		want[i] = 20 * time.Millisecond
	}
	assert.Equal(t, want, pauses)
}
