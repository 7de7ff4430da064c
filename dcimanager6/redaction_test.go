package dcimanager6_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
)

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

// TestSecretsNeverLeak drives logins, renewals, failures, installs and
// key logins with a debug logger, then checks that no password, token or
// key appears in the logs, in any error text, or in any URL sent.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const (
		adminPW   = "Adm1n-S3cret-Pw"
		wrongPW   = "Wr0ng-S3cret-Pw"
		rootPW    = "R00t-S3cret-Pw"
		newUserPW = "N3wUser-S3cret-Pw"
	)
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f, c := newEnv(t, []dcimanager6test.Option{dcimanager6test.WithAdmin("root@example.com", adminPW), dcimanager6test.WithWakeUp(2)},
		dcimanager6.WithCredentials("root@example.com", adminPW), dcimanager6.WithLogger(logger))
	ctx := testCtx(t)
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	_, _, err := c.Servers.List(ctx, nil)
	require.NoError(t, err)
	f.ExpireSessions()
	_, err = c.Servers.Get(ctx, 1)
	require.NoError(t, err)
	uid, err := c.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: "s@example.com", Password: newUserPW})
	require.NoError(t, err)
	_, err = c.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: "s@example.com", Password: newUserPW})
	note(err)
	_, err = c.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: "bad", Password: newUserPW})
	note(err)
	note(c.Servers.SetOwner(ctx, 1, uid))
	f.Inject(dcimanager6test.Fault{Match: "/dci/v3/server/2/reinstall", Kind: dcimanager6test.FaultPanelError, Status: 500, Code: 5000, Msg: "install failed"})
	_, err = c.Servers.Install(ctx, 2, dcimanager6.InstallRequest{TemplateID: 1, Password: rootPW})
	note(err)
	res, err := c.Servers.Install(ctx, 1, dcimanager6.InstallRequest{TemplateID: 1, Password: rootPW, Hostname: "h.example.com"})
	require.NoError(t, err)
	_, err = c.Operations.Wait(ctx, res.OperationID)
	require.NoError(t, err)
	f.FailNextOperation("os_install", "")
	res, err = c.Servers.Install(ctx, 3, dcimanager6.InstallRequest{TemplateID: 1, Password: rootPW})
	require.NoError(t, err)
	_, err = c.Operations.Wait(ctx, res.OperationID)
	note(err)
	f.Inject(dcimanager6test.Fault{Match: "POST /dci/v3/user", Kind: dcimanager6test.FaultDropBefore})
	_, err = c.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: "d@example.com", Password: newUserPW})
	note(err)
	key, err := c.Auth.Key(ctx, "s@example.com")
	require.NoError(t, err)
	note(fmt.Errorf("%v %+v", key, key))

	bad, err := dcimanager6.NewClient(f.URL(), dcimanager6.WithCredentials("root@example.com", wrongPW),
		dcimanager6.WithLogger(logger), dcimanager6.WithRetry(1, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	_, _, err = bad.Locations.List(ctx, nil)
	note(err)
	_, err = dcimanager6.NewClient("https://root:"+adminPW+"@dci.example.com", dcimanager6.WithCredentials("a@b.c", adminPW))
	note(err)
	require.GreaterOrEqual(t, len(errs), 8)

	secrets := []string{adminPW, wrongPW, rootPW, newUserPW, key.Key}
	tokens := f.IssuedTokens()
	require.GreaterOrEqual(t, len(tokens), 2, "first login and renewal")
	secrets = append(secrets, tokens...)
	logText := logs.String()
	require.Contains(t, logText, "ispkit call", "the logger did receive records")
	var urls strings.Builder
	for _, r := range f.Requests() {
		urls.WriteString(r.Path + "?" + r.RawQuery + "\n")
	}
	for _, s := range secrets {
		assert.NotContains(t, logText, s, "log")
		assert.NotContains(t, urls.String(), s, "URL")
		assert.NotContains(t, c.String(), s)
		for _, e := range errs {
			assert.NotContains(t, e.Error(), s, "error %T", e)
			assert.NotContains(t, fmt.Sprintf("%+v", e), s)
		}
	}
}
