package ispmanager_test

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

func TestNewClientValidation(t *testing.T) {
	t.Parallel()
	creds := ispmanager.WithCredentials("admin", "pw")
	bad := []struct {
		url  string
		opts []ispmanager.Option
	}{
		{"", []ispmanager.Option{creds}},
		{"ftp://host/ispmgr", []ispmanager.Option{creds}},
		{"https://", []ispmanager.Option{creds}},
		{"https://u:p@host:1500/ispmgr", []ispmanager.Option{creds}},
		{"https://host:1500/ispmgr?func=user", []ispmanager.Option{creds}},
		{"https://host:1500/ispmgr", nil},
		{"https://host:1500/ispmgr", []ispmanager.Option{ispmanager.WithCredentials("", "pw")}},
		{"https://host:1500/ispmgr", []ispmanager.Option{ispmanager.WithCredentials("a:b", "pw")}},
		{"https://host:1500/ispmgr", []ispmanager.Option{ispmanager.WithCredentials("admin", "")}},
		{"https://host:1500/ispmgr", []ispmanager.Option{creds, ispmanager.WithTimeout(0)}},
		{"https://host:1500/ispmgr", []ispmanager.Option{creds, ispmanager.WithRetry(-1, time.Millisecond, time.Second)}},
		{"https://host:1500/ispmgr", []ispmanager.Option{creds, ispmanager.WithRetry(1, time.Second, time.Millisecond)}},
		{"https://host:1500/ispmgr", []ispmanager.Option{creds, ispmanager.WithRateLimit(0, 1)}},
		{"https://host:1500/ispmgr", []ispmanager.Option{creds, ispmanager.WithHTTPClient(nil)}},
		{"https://host:1500/ispmgr", []ispmanager.Option{creds, ispmanager.WithRootCAs(nil)}},
		{"https://host:1500/ispmgr", []ispmanager.Option{creds, ispmanager.WithLogger(nil)}},
		{"https://host:1500/ispmgr", []ispmanager.Option{creds, ispmanager.WithApplication("my app", "1")}},
		{"https://host:1500/ispmgr", []ispmanager.Option{creds, ispmanager.WithLang("e n")}},
	}
	for i, b := range bad {
		_, err := ispmanager.NewClient(b.url, b.opts...)
		var ae *ispmanager.ArgumentError
		assert.ErrorAs(t, err, &ae, "case %d", i)
		if err != nil {
			assert.NotContains(t, err.Error(), "u:p")
		}
	}

	c, err := ispmanager.NewClient("https://panel.example:1500", creds,
		ispmanager.WithApplication("billing", "2.0"), ispmanager.WithLang("en"),
		ispmanager.WithRateLimit(10, 2), ispmanager.WithHTTPClient(&http.Client{}))
	require.NoError(t, err)
	assert.Equal(t, "https://panel.example:1500/ispmgr", c.Endpoint())
	assert.NotContains(t, c.String(), "pw")
	c, err = ispmanager.NewClient("https://panel.example/manager/ispmgr/", creds)
	require.NoError(t, err)
	assert.Equal(t, "https://panel.example/manager/ispmgr", c.Endpoint())
}

func TestEditionDetection(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, []ispmanagertest.Option{ispmanagertest.WithEdition(ispmanager.EditionLite)})
	ctx := context.Background()
	ed, err := c.Edition(ctx)
	require.NoError(t, err)
	assert.Equal(t, ispmanager.EditionLite, ed)
	lic, err := c.License(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ISPmanager Lite", lic.PanelName)
	assert.Equal(t, "ispmgr", lic.Fields["mgr"])

	srv.SetEdition(ispmanager.EditionBusiness)
	ed, err = c.Edition(ctx)
	require.NoError(t, err)
	assert.Equal(t, ispmanager.EditionBusiness, ed)
}

func TestOwnerHiddenOnLite(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, []ispmanagertest.Option{ispmanagertest.WithEdition(ispmanager.EditionLite)})
	ctx := context.Background()
	_, err := c.Users.Create(ctx, createReq("lite1"))
	require.NoError(t, err)
	u, err := c.Users.Get(ctx, "lite1")
	require.NoError(t, err)
	assert.Empty(t, u.Owner)
}

func TestLoginURLKeyLogin(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	_, err := c.Users.Create(ctx, createReq("sso"))
	require.NoError(t, err)
	link, err := c.LoginURL(ctx, "sso")
	require.NoError(t, err)
	u, err := url.Parse(link)
	require.NoError(t, err)
	q := u.Query()
	assert.Equal(t, "auth", q.Get("func"))
	assert.Equal(t, "sso", q.Get("username"))
	assert.Equal(t, "no", q.Get("checkcookie"))
	assert.Len(t, q.Get("key"), 32)
	assert.True(t, strings.HasPrefix(link, srv.URL()+"?"))

	// The browser follows the link: the key logs the user in, once.
	login := func() map[string]any {
		resp, err := http.Get(link + "&out=json")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var doc struct {
			Doc map[string]any `json:"doc"`
		}
		require.NoError(t, json.Unmarshal(b, &doc))
		return doc.Doc
	}
	first := login()
	require.Contains(t, first, "auth")
	second := login()
	require.Contains(t, second, "error", "keys are single-use")

	// A suspended user's key does not log in.
	require.NoError(t, c.Users.Suspend(ctx, "sso"))
	link, err = c.LoginURL(ctx, "sso")
	require.NoError(t, err)
	require.Contains(t, login(), "error")

	_, err = c.LoginURL(ctx, "nobody")
	assert.True(t, ispmanager.IsNotFound(err), "%v", err)
}

func TestSessionAuthAndRelogin(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil, ispmanager.WithSessionAuth())
	ctx := context.Background()
	_, err := c.Users.List(ctx)
	require.NoError(t, err)
	srv.ExpireSessions()
	_, err = c.Users.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, srv.CallCount("auth"))
}

func TestBadCredentialsIsAuthError(t *testing.T) {
	t.Parallel()
	srv := ispmanagertest.NewServer()
	srv.Strict(t)
	t.Cleanup(srv.Close)
	c, err := ispmanager.NewClient(srv.URL(), ispmanager.WithCredentials("admin", "wrong-Passw0rd"))
	require.NoError(t, err)
	_, err = c.Users.List(context.Background())
	require.True(t, ispmanager.IsAuth(err), "%v", err)
	assert.NotContains(t, err.Error(), "wrong-Passw0rd")
}

func TestTLS(t *testing.T) {
	t.Parallel()
	srv := ispmanagertest.NewServer(ispmanagertest.WithTLS())
	srv.Strict(t)
	t.Cleanup(srv.Close)
	admin, pw := srv.Admin()
	ctx := context.Background()

	// Verification is on by default: the self-signed certificate fails.
	c, err := ispmanager.NewClient(srv.URL(), ispmanager.WithCredentials(admin, pw), ispmanager.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	_, err = c.Edition(ctx)
	require.Error(t, err)

	for _, opt := range []ispmanager.Option{ispmanager.WithRootCAs(srv.RootCAs()), ispmanager.WithInsecureSkipVerify(), ispmanager.WithHTTPClient(srv.HTTPClient())} {
		c, err := ispmanager.NewClient(srv.URL(), ispmanager.WithCredentials(admin, pw), opt)
		require.NoError(t, err)
		ed, err := c.Edition(ctx)
		require.NoError(t, err)
		assert.Equal(t, ispmanager.EditionBusiness, ed)
	}
}

func TestPresetsCRUD(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	p := &ispmanager.Preset{Name: "Site hosting", Limits: ispmanager.Limits{
		Databases: ispmanager.Int(25), Domains: ispmanager.Int(25), Shell: ispmanager.Bool(false),
		Extra: map[string]string{"php_mode": "php_mode_mod"},
	}}
	require.NoError(t, c.Presets.Create(ctx, p))
	err := c.Presets.Create(ctx, p)
	assert.True(t, ispmanager.IsExists(err), "%v", err)
	assert.False(t, ispmanager.IsUserExists(err))

	got, err := c.Presets.Get(ctx, "Site hosting")
	require.NoError(t, err)
	assert.Equal(t, 25, *got.Limits.Databases)
	assert.False(t, *got.Limits.Shell)
	assert.Equal(t, "php_mode_mod", got.Limits.Extra["php_mode"])
	assert.Equal(t, ispmanager.Unlimited, *got.Limits.QuotaMiB, "limits not sent are unlimited")

	require.NoError(t, c.Presets.Update(ctx, "Site hosting", ispmanager.Limits{Databases: ispmanager.Int(30), QuotaMiB: ispmanager.Int(2048)}))
	got, err = c.Presets.Get(ctx, "Site hosting")
	require.NoError(t, err)
	assert.Equal(t, 30, *got.Limits.Databases)
	assert.Equal(t, 25, *got.Limits.Domains)
	assert.Equal(t, 2048, *got.Limits.QuotaMiB)
	fp, ok := srv.Preset("Site hosting")
	require.True(t, ok)
	assert.Equal(t, got.Limits.Values(), fp.Limits.Values())

	require.NoError(t, c.Presets.Create(ctx, &ispmanager.Preset{Name: "#custom"}))
	names, err := c.Presets.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"#custom", "Site hosting"}, names)
	assert.Len(t, srv.Presets(), 2)

	err = c.Presets.Update(ctx, "ghost", ispmanager.Limits{Databases: ispmanager.Int(1)})
	assert.True(t, ispmanager.IsNotFound(err), "%v", err)
	_, err = c.Presets.Get(ctx, "ghost")
	assert.True(t, ispmanager.IsNotFound(err), "%v", err)
}

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
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

// Passwords, the admin's authinfo and login keys never reach logs or
// error messages.
func TestRedaction(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, c := newEnv(t, nil, ispmanager.WithLogger(logger))
	_, adminPW := srv.Admin()
	ctx := context.Background()
	const userPW = "Very-Secret-Pw-42"
	r := createReq("redact")
	r.Password = userPW
	_, err := c.Users.Create(ctx, r)
	require.NoError(t, err)
	require.NoError(t, c.Users.SetPassword(ctx, "redact", userPW+"-2"))
	link, err := c.LoginURL(ctx, "redact")
	require.NoError(t, err)
	key := mustQuery(t, link).Get("key")

	// A panel error that quotes the password is redacted by the client.
	srv.Inject(ispmanagertest.Fault{Match: "user.edit", Kind: ispmanagertest.FaultPanelError, Times: 1,
		Err: &ispmanager.Error{Type: "value", Object: "passwd", Value: userPW, Message: "weak password " + userPW}})
	err = c.Users.SetPassword(ctx, "redact", userPW)
	require.Error(t, err)
	assert.True(t, ispmanager.IsValue(err))
	assert.NotContains(t, err.Error(), userPW)

	// A refused create: the argument error does not echo the password.
	_, err = c.Users.Create(ctx, &ispmanager.UserCreateRequest{Name: "x", Password: userPW + "\n"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), userPW)

	logs := buf.String()
	require.Contains(t, logs, "op=user.add.finish")
	require.Contains(t, logs, "out=json", "calls use out=json")
	for _, secret := range []string{userPW, adminPW, key} {
		assert.NotContains(t, logs, secret)
	}
	assert.Contains(t, logs, "REDACTED")
}

func mustQuery(t *testing.T, link string) url.Values {
	t.Helper()
	u, err := url.Parse(link)
	require.NoError(t, err)
	return u.Query()
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	// The panel holds the answer 10 s: a call that fails with the 50 ms
	// deadline was ended by it, not by the answer (no stopwatch needed).
	srv.Inject(ispmanagertest.Fault{Kind: ispmanagertest.FaultSlow, Delay: 10 * time.Second, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Users.List(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}
