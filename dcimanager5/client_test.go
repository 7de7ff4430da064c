package dcimanager5_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/internal/wait"
)

func TestUsersAndSSO(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := ctxT(t)

	users, err := c.Users.List(ctx)
	require.NoError(t, err)
	require.Len(t, users, 2)
	assert.Equal(t, dcimanager5test.LevelAdmin, users[0].Level)
	assert.Equal(t, dcimanager5.LevelUser, users[1].Level)

	u, err := c.Users.FindByName(ctx, "client1")
	require.NoError(t, err)
	assert.Equal(t, userID(t, srv, "client1"), u.ID)
	_, err = c.Users.FindByName(ctx, "nobody")
	assert.True(t, dcimanager5.IsNotFound(err))

	nu, err := c.Users.Create(ctx, dcimanager5.UserCreateRequest{Name: "whmcs_17", Password: "New-user-pw-1"})
	require.NoError(t, err)
	assert.Equal(t, dcimanager5.LevelUser, nu.Level)
	assert.Equal(t, userID(t, srv, "whmcs_17"), nu.ID)
	_, err = c.Users.Create(ctx, dcimanager5.UserCreateRequest{Name: "whmcs_17", Password: "x"})
	assert.True(t, dcimanager5.IsExists(err), "%v", err)
	_, err = c.Users.Create(ctx, dcimanager5.UserCreateRequest{Name: "bad name", Password: "x"})
	assert.ErrorIs(t, err, dcimanager5.ErrInvalidArgument)

	// The new user can log in with its password.
	uc, err := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials("whmcs_17", "New-user-pw-1"))
	require.NoError(t, err)
	require.NoError(t, uc.CheckConnection(ctx))

	// LoginURL: a browser URL with a one-time key.
	link, err := c.Users.LoginURL(ctx, "client1")
	require.NoError(t, err)
	pu, err := url.Parse(link)
	require.NoError(t, err)
	assert.Equal(t, "auth", pu.Query().Get("func"))
	assert.Equal(t, "client1", pu.Query().Get("username"))
	assert.Len(t, pu.Query().Get("key"), 32)
	resp, err := http.Get(link + "&out=json")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), `"auth"`, "the key logs the user in")
	resp, err = http.Get(link + "&out=json")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), `badpassword`, "keys are single-use in the fake")

	// AsUser: act as client1 without its password.
	as, err := c.Users.AsUser(ctx, "client1")
	require.NoError(t, err)
	who, err := as.WhoAmI(ctx)
	require.NoError(t, err)
	assert.Equal(t, &dcimanager5.Identity{Name: "client1", Level: dcimanager5.LevelUser}, who)
	mine, err := as.Servers.List(ctx)
	require.NoError(t, err)
	require.Len(t, mine, 1)
	assert.Equal(t, "srv-05", mine[0].Name)
	require.NoError(t, as.Servers.Reboot(ctx, mine[0].ID))
	_, err = as.Servers.WaitPoweredOn(ctx, mine[0].ID, nil)
	require.NoError(t, err)
	other := serverByName(t, srv, "srv-01").ID
	err = as.Servers.PowerOn(ctx, other)
	assert.True(t, dcimanager5.IsAccess(err), "%v", err)
	_, err = as.Users.List(ctx)
	assert.True(t, dcimanager5.IsAccess(err), "%v", err)
	srv.ExpireSessions()
	mine, err = as.Servers.List(ctx)
	require.NoError(t, err, "the key exchange is repeated after expiry")
	assert.Len(t, mine, 1)

	// Su: the admin acting as client1.
	mine, err = c.Su("client1").Servers.List(ctx)
	require.NoError(t, err)
	assert.Len(t, mine, 1)

	// Delete (unconfirmed on real panels) clears ownership in the fake.
	require.NoError(t, c.Servers.SetOwner(ctx, other, nu.ID))
	require.NoError(t, c.Users.Delete(ctx, nu.ID))
	st, _ := srv.Server(other)
	assert.Zero(t, st.Owner)
	assert.True(t, dcimanager5.IsAuth(uc.CheckConnection(ctx)), "deleted user cannot log in")
}

func TestCheckConnection(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil, dcimanager5.WithTransport(http.DefaultTransport.(*http.Transport).Clone()),
		dcimanager5.WithLang("ru"), dcimanager5.WithMaxRetryAfter(time.Second))
	ctx := ctxT(t)
	require.NoError(t, c.CheckConnection(ctx))
	who, err := c.WhoAmI(ctx)
	require.NoError(t, err)
	assert.Equal(t, dcimanager5test.DefaultAdmin, who.Name)

	bad, err := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials("admin", "wrong-password-77"))
	require.NoError(t, err)
	err = bad.CheckConnection(ctx)
	assert.True(t, dcimanager5.IsAuth(err), "%v", err)
	assert.NotContains(t, err.Error(), "wrong-password-77")

	// A panel without whoami: the check falls back to func=auth.
	srv.Inject(dcimanager5test.Fault{Match: "whoami", Kind: dcimanager5test.FaultPanelError, Times: 1,
		Err: &dcimanager5test.PanelError{Type: "missed", Object: "func", Value: "whoami"}})
	require.NoError(t, c.CheckConnection(ctx))
	assert.Equal(t, 1, srv.CallCount("auth"))
}

func TestSessionExpiryRelogin(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil, dcimanager5.WithSessionAuth())
	ctx := ctxT(t)
	_, err := c.Servers.List(ctx)
	require.NoError(t, err)
	_, err = c.Servers.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, srv.CallCount("auth"), "one login for many calls")
	srv.ExpireSessions()
	list, err := c.Servers.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 6)
	assert.Equal(t, 2, srv.CallCount("auth"), "relogin once after expiry")

	// A session that stays dead after the relogin surfaces as an auth error.
	srv.SetSessionTTL(time.Nanosecond)
	_, err = c.Servers.List(ctx)
	assert.True(t, dcimanager5.IsAuth(err), "%v", err)
	assert.NotContains(t, err.Error(), dcimanager5test.DefaultAdminPassword)
}

func TestNonIdempotentIPAddNotResent(t *testing.T) {
	t.Parallel()
	for _, kind := range []dcimanager5test.FaultKind{dcimanager5test.FaultDropAfter, dcimanager5test.FaultDropBefore} {
		srv, c := newEnv(t, nil)
		ctx := ctxT(t)
		id := serverByName(t, srv, "srv-01").ID
		before := len(srv.IPs(0))
		srv.Inject(dcimanager5test.Fault{Match: "iplist.edit", Kind: kind, Times: 1})
		_, err := c.IPs.Add(ctx, id, dcimanager5.IPAddRequest{Domain: "web1.example.com"})
		require.Error(t, err)
		assert.True(t, dcimanager5.MayHaveHappened(err), "%v", err)
		var te *dcimanager5.TransportError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 1, te.Attempts)
		assert.Contains(t, err.Error(), "may have been executed")
		assert.Equal(t, 1, srv.RequestCount("iplist.edit"), "sent exactly once")
		if kind == dcimanager5test.FaultDropAfter {
			assert.Len(t, srv.IPs(0), before+1, "the panel did allocate the address")
		} else {
			assert.Len(t, srv.IPs(0), before)
		}
	}
}

func TestInstallNotResentOnDrop(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	id := serverByName(t, srv, "srv-02").ID
	srv.Inject(dcimanager5test.Fault{Match: "server.operations", Kind: dcimanager5test.FaultDropAfter, Times: 1})
	err := c.Servers.Install(ctxT(t), id, dcimanager5.InstallRequest{Template: "ISPsystem__CentOS-7-amd64", Password: "pw-1"})
	assert.True(t, dcimanager5.MayHaveHappened(err), "%v", err)
	st, _ := srv.Server(id)
	assert.Equal(t, 1, st.Installs)
	assert.Equal(t, 1, srv.RequestCount("server.operations"))
}

func TestSafeCallsAreRetried(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil, dcimanager5.WithRetry(6, time.Millisecond, 2*time.Millisecond))
	ctx := ctxT(t)
	srv.Inject(dcimanager5test.Fault{Match: "server", Kind: dcimanager5test.FaultDropBefore, Times: 1})
	srv.Inject(dcimanager5test.Fault{Match: "server", Kind: dcimanager5test.FaultStatus, Status: 503, Times: 1})
	list, err := c.Servers.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 6)
	assert.Equal(t, 3, srv.RequestCount("server"))

	srv.Inject(dcimanager5test.Fault{Match: "server.poweron", Kind: dcimanager5test.FaultStatus, Status: 502, Times: 2})
	require.NoError(t, c.Servers.PowerOn(ctx, 1))
	assert.Equal(t, 3, srv.RequestCount("server.poweron"))

	srv.Inject(dcimanager5test.Fault{Match: "osmgr", Kind: dcimanager5test.FaultMalformed, Times: 1})
	_, err = c.OSTemplates.List(ctx)
	var pe *dcimanager5.ProtocolError
	assert.ErrorAs(t, err, &pe)

	srv.Inject(dcimanager5test.Fault{Match: "server", Kind: dcimanager5test.FaultStatus, Status: 500, Times: -1})
	_, err = c.Servers.List(ctx)
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 500, pe.StatusCode)
	srv.ClearFaults()

	srv.SetFaultSeed(7)
	srv.Inject(dcimanager5test.Fault{Kind: dcimanager5test.FaultStatus, Status: 503, Probability: 0.3, Times: -1})
	for i := 0; i < 10; i++ {
		_, err := c.Servers.List(ctx)
		require.NoError(t, err)
	}
	srv.ClearFaults()
}

func TestCancelledContextReturnsPromptly(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	// The panel holds the answer until the client goes away: a call that
	// returns at all was ended by its context (no stopwatch needed).
	srv.Inject(dcimanager5test.Fault{Match: "server", Kind: dcimanager5test.FaultSlow})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Servers.List(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.LessOrEqual(t, srv.RequestCount("server"), 1, "the deadline is final: no retry")
	srv.ClearFaults()
	sent := srv.RequestCount("server")

	// An already cancelled context ends a wait before its first poll
	// reaches the panel.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = c.Servers.WaitInstalled(ctx2, 1, nil)
	assert.ErrorIs(t, err, context.Canceled)
	var we *dcimanager5.WaitError
	require.ErrorAs(t, err, &we)
	assert.Equal(t, 1, we.Polls)
	assert.Equal(t, sent, srv.RequestCount("server"), "the cancelled poll was not sent")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	const (
		adminPW   = "Adm1n-Sup3r-S3cret"
		installPW = "R00t-Install-S3cret"
		userPW    = "Us3r-Cr3ate-S3cret"
		wrongPW   = "Wr0ng-Passw0rd-S3cret"
	)
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := dcimanager5test.NewServer(append(fastFake, dcimanager5test.WithAdmin("root", adminPW))...)
	srv.Strict(t)
	defer srv.Close()
	var errs []error
	for i, session := range []bool{false, true} {
		sid := int64(1 + i)
		opts := []dcimanager5.Option{dcimanager5.WithCredentials("root", adminPW), dcimanager5.WithLogger(logger),
			dcimanager5.WithRetry(2, time.Millisecond, 2*time.Millisecond), dcimanager5.WithPollInterval(5*time.Millisecond, 10*time.Millisecond)}
		if session {
			opts = append(opts, dcimanager5.WithSessionAuth())
		}
		c, err := dcimanager5.NewClient(srv.URL(), opts...)
		require.NoError(t, err)
		assert.NotContains(t, c.String(), adminPW)
		ctx := ctxT(t)
		_, err = c.Servers.List(ctx)
		require.NoError(t, err)
		require.NoError(t, c.Servers.Install(ctx, sid, dcimanager5.InstallRequest{Template: "ISPsystem__CentOS-7-amd64", Password: installPW}))
		_, err = c.Servers.WaitInstalled(ctx, sid, nil)
		require.NoError(t, err)
		name := "u" + strings.Repeat("s", 1+len(errs))
		_, err = c.Users.Create(ctx, dcimanager5.UserCreateRequest{Name: name, Password: userPW})
		require.NoError(t, err)
		// Failures whose requests carried secrets.
		errs = append(errs, c.Servers.Install(ctx, sid, dcimanager5.InstallRequest{Template: "ISPsystem__Nope", Password: installPW}))
		errs = append(errs, c.Servers.Install(ctx, sid, dcimanager5.InstallRequest{Template: "ISPsystem__CentOS-7-amd64", Password: installPW, Recipe: "x__missing"}))
		srv.Inject(dcimanager5test.Fault{Match: "server.operations", Kind: dcimanager5test.FaultDropBefore, Times: 1})
		errs = append(errs, c.Servers.Install(ctx, sid, dcimanager5.InstallRequest{Template: "ISPsystem__CentOS-7-amd64", Password: installPW}))
		srv.Inject(dcimanager5test.Fault{Match: "server.operations", Kind: dcimanager5test.FaultPanelError, Times: 1,
			Err: &dcimanager5test.PanelError{Type: "value", Object: "passwd", Value: installPW, Message: "Weak password '__value__'"}})
		errs = append(errs, c.Servers.Install(ctx, sid, dcimanager5.InstallRequest{Template: "ISPsystem__CentOS-7-amd64", Password: installPW}))
		srv.Inject(dcimanager5test.Fault{Match: "user.edit", Kind: dcimanager5test.FaultStatus, Status: 500, Times: 1})
		_, err = c.Users.Create(ctx, dcimanager5.UserCreateRequest{Name: name + "x", Password: userPW})
		errs = append(errs, err)
		link, err := c.Users.LoginURL(ctx, "client1")
		require.NoError(t, err)
		key, _ := url.Parse(link)
		assert.NotContains(t, logs.String(), key.Query().Get("key"), "SSO keys are not logged")
		_, err = c.Users.AsUser(ctx, "client1")
		require.NoError(t, err)

		bad, err := dcimanager5.NewClient(srv.URL(), append(opts, dcimanager5.WithCredentials("root", wrongPW))...)
		require.NoError(t, err)
		_, err = bad.Servers.List(ctx)
		errs = append(errs, err)
		errs = append(errs, bad.CheckConnection(ctx))
	}
	out := logs.String()
	require.Contains(t, out, "server.operations", "calls are logged")
	require.Contains(t, out, "REDACTED")
	for _, pw := range []string{adminPW, installPW, userPW, wrongPW} {
		assert.NotContains(t, out, pw, "secret in logs")
		for _, e := range errs {
			require.Error(t, e)
			assert.NotContains(t, e.Error(), pw)
			assert.NotContains(t, strings.ReplaceAll(e.Error(), "%", ""), pw)
		}
	}
}

func TestTLSOptions(t *testing.T) {
	t.Parallel()
	srv := dcimanager5test.NewServer(dcimanager5test.WithTLS())
	srv.Strict(t)
	defer srv.Close()
	user, pass := srv.Admin()
	ctx := ctxT(t)
	check := func(opts ...dcimanager5.Option) error {
		c, err := dcimanager5.NewClient(srv.URL(), append([]dcimanager5.Option{dcimanager5.WithCredentials(user, pass), dcimanager5.WithRetry(0, time.Millisecond, time.Millisecond)}, opts...)...)
		require.NoError(t, err)
		return c.CheckConnection(ctx)
	}
	err := check()
	require.Error(t, err, "verification is on by default")
	var ue x509.UnknownAuthorityError
	assert.True(t, errors.As(err, &ue) || strings.Contains(err.Error(), "certificate"), "%v", err)
	require.NoError(t, check(dcimanager5.WithRootCAs(srv.CertPool())))
	require.NoError(t, check(dcimanager5.WithPinnedCertificate(srv.CertificateSHA256())))
	require.NoError(t, check(dcimanager5.WithInsecureSkipVerify()))
	require.Error(t, check(dcimanager5.WithPinnedCertificate(strings.Repeat("ab", 32))))
	require.NoError(t, check(dcimanager5.WithHTTPClient(srv.HTTPClient())))
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	cred := dcimanager5.WithCredentials("admin", "pw")
	bad := map[string][]dcimanager5.Option{
		"no credentials": nil,
		"empty user":     {dcimanager5.WithCredentials("", "pw")},
		"colon user":     {dcimanager5.WithCredentials("a:b", "pw")},
		"empty password": {dcimanager5.WithCredentials("a", "")},
		"lang":           {cred, dcimanager5.WithLang("EN-us")},
		"timeout":        {cred, dcimanager5.WithTimeout(0)},
		"retry":          {cred, dcimanager5.WithRetry(-1, time.Second, time.Second)},
		"retry wait":     {cred, dcimanager5.WithRetry(2, time.Second, time.Millisecond)},
		"rate":           {cred, dcimanager5.WithRateLimit(0, 1)},
		"burst":          {cred, dcimanager5.WithRateLimit(1, 0)},
		"pin":            {cred, dcimanager5.WithPinnedCertificate("xyz")},
		"nil http":       {cred, dcimanager5.WithHTTPClient(nil)},
		"nil logger":     {cred, dcimanager5.WithLogger(nil)},
		"nil pool":       {cred, dcimanager5.WithRootCAs(nil)},
		"app":            {cred, dcimanager5.WithApplication("my app", "1")},
		"poll":           {cred, dcimanager5.WithPollInterval(time.Second, time.Millisecond)},
	}
	for name, opts := range bad {
		_, err := dcimanager5.NewClient("https://dci.example.com:1500/dcimgr", opts...)
		assert.ErrorIs(t, err, dcimanager5.ErrInvalidArgument, name)
	}
	for _, u := range []string{"", "dci.example.com", "ftp://x/dcimgr", "https://u:p@x/dcimgr", "https://x/dcimgr?func=server"} {
		_, err := dcimanager5.NewClient(u, cred)
		assert.ErrorIs(t, err, dcimanager5.ErrInvalidArgument, u)
	}
	c, err := dcimanager5.NewClient("https://dci.example.com/manager/dcimgr/", cred, dcimanager5.WithLang("ru"),
		dcimanager5.WithApplication("billing", "2.1"), dcimanager5.WithRateLimit(5, 2))
	require.NoError(t, err)
	assert.Equal(t, "https://dci.example.com/manager/dcimgr", c.Endpoint())
}

func TestRateLimitAndUserAgent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var agents []string
	clock := wait.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	_, c := newEnv(t, nil, dcimanager5.WithClock(clock), dcimanager5.WithRateLimit(20, 1), dcimanager5.WithApplication("billing", "2.1"),
		dcimanager5.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			agents = append(agents, r.UserAgent())
			mu.Unlock()
			return http.DefaultTransport.RoundTrip(r)
		})}))
	ctx := ctxT(t)
	pauses, err := clock.Drive(ctx, func() error {
		for i := 0; i < 5; i++ {
			if _, err := c.Servers.List(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	// 5 calls at 20/s with burst 1: the first takes the burst token, each
	// of the others waits one 50 ms interval for its own.
	assert.Equal(t, []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}, pauses)
	mu.Lock()
	defer mu.Unlock()
	assert.True(t, strings.HasPrefix(agents[0], "billing/2.1 ispkit/"), agents[0])
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
