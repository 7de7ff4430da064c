package ipmanager_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
)

func TestNewClientValidates(t *testing.T) {
	t.Parallel()
	creds := ipmanager.WithCredentials("u", "p")
	cases := map[string]struct {
		url  string
		opts []ipmanager.Option
	}{
		"relative url":     {"host:1500/ipmgr", []ipmanager.Option{creds}},
		"ftp scheme":       {"ftp://host/ipmgr", []ipmanager.Option{creds}},
		"user info":        {"https://u:p@host/ipmgr", []ipmanager.Option{creds}},
		"query":            {"https://host/ipmgr?func=ip", []ipmanager.Option{creds}},
		"no credentials":   {"https://host/ipmgr", nil},
		"empty user":       {"https://host/ipmgr", []ipmanager.Option{ipmanager.WithCredentials("", "p")}},
		"colon in user":    {"https://host/ipmgr", []ipmanager.Option{ipmanager.WithCredentials("a:b", "p")}},
		"empty password":   {"https://host/ipmgr", []ipmanager.Option{ipmanager.WithCredentials("u", "")}},
		"nil http client":  {"https://host/ipmgr", []ipmanager.Option{creds, ipmanager.WithHTTPClient(nil)}},
		"zero timeout":     {"https://host/ipmgr", []ipmanager.Option{creds, ipmanager.WithTimeout(0)}},
		"nil pool":         {"https://host/ipmgr", []ipmanager.Option{creds, ipmanager.WithRootCAs(nil)}},
		"negative retries": {"https://host/ipmgr", []ipmanager.Option{creds, ipmanager.WithRetry(-1, time.Millisecond, time.Second)}},
		"bad waits":        {"https://host/ipmgr", []ipmanager.Option{creds, ipmanager.WithRetry(1, time.Second, time.Millisecond)}},
		"bad rate":         {"https://host/ipmgr", []ipmanager.Option{creds, ipmanager.WithRateLimit(0, 1)}},
		"bad app":          {"https://host/ipmgr", []ipmanager.Option{creds, ipmanager.WithApplication("my app", "1")}},
		"nil logger":       {"https://host/ipmgr", []ipmanager.Option{creds, ipmanager.WithLogger(nil)}},
		"bad lang":         {"https://host/ipmgr", []ipmanager.Option{creds, ipmanager.WithLang("")}},
	}
	for name, tc := range cases {
		_, err := ipmanager.NewClient(tc.url, tc.opts...)
		var ae *ipmanager.ArgumentError
		assert.ErrorAs(t, err, &ae, name)
	}
	// A nil option is skipped, as by every ispkit client.
	_, err := ipmanager.NewClient("https://host/ipmgr", creds, nil)
	assert.NoError(t, err)
	c, err := ipmanager.NewClient("https://panel.example.com:1500/ipmgr", creds,
		ipmanager.WithTimeout(time.Second), ipmanager.WithRateLimit(10, 2), ipmanager.WithApplication("billing", "2.1"),
		ipmanager.WithLang("en"), ipmanager.WithSessionAuth(), ipmanager.WithHTTPClient(&http.Client{}))
	require.NoError(t, err)
	assert.Equal(t, "https://panel.example.com:1500/ipmgr", c.Endpoint())
}

func TestTLSWithRootCAs(t *testing.T) {
	t.Parallel()
	s := ipmanagertest.NewServer(ipmanagertest.WithTLS())
	s.Strict(t)
	t.Cleanup(s.Close)
	ctx := context.Background()
	creds := ipmanager.WithCredentials(ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword)

	c, err := ipmanager.NewClient(s.URL(), creds, ipmanager.WithRootCAs(s.CertPool()))
	require.NoError(t, err)
	_, err = c.Groups(ctx)
	require.NoError(t, err)

	insecure, err := ipmanager.NewClient(s.URL(), creds, ipmanager.WithInsecureSkipVerify())
	require.NoError(t, err)
	_, err = insecure.Groups(ctx)
	require.NoError(t, err)

	strict, err := ipmanager.NewClient(s.URL(), creds, ipmanager.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	_, err = strict.Groups(ctx)
	require.Error(t, err, "a self-signed certificate is refused by default")
}

func TestSessionAuthRenewsExpiredSession(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, nil, ipmanager.WithSessionAuth())
	ctx := context.Background()
	_, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	require.NoError(t, err)
	s.ExpireSessions()
	list, err := c.List(ctx, ipmanager.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, list, 1)
	assert.Equal(t, 2, s.CallCount("auth"))
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
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

func TestPasswordNeverInLogsOrErrors(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, c := newEnv(t, nil, ipmanager.WithLogger(logger))
	ctx := context.Background()

	var errs []error
	_, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public", Domain: "a.example.com"})
	require.NoError(t, err)
	s.Inject(ipmanagertest.Fault{Match: "ip.edit", Kind: ipmanagertest.FaultDropAfter, Times: 1})
	_, err = c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	errs = append(errs, err)
	s.Inject(ipmanagertest.Fault{Kind: ipmanagertest.FaultStatus, Status: 500, Times: 1})
	_, err = c.Groups(ctx)
	require.NoError(t, err)

	wrong, err := ipmanager.NewClient(s.URL(), ipmanager.WithCredentials(ipmanagertest.DefaultUser, "Wrong-Secret-Pw"),
		ipmanager.WithLogger(logger))
	require.NoError(t, err)
	_, err = wrong.List(ctx, ipmanager.ListOptions{})
	require.True(t, ipmanager.IsAuth(err), "%v", err)
	errs = append(errs, err)

	sess, err := ipmanager.NewClient(s.URL(), ipmanager.WithCredentials(ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword),
		ipmanager.WithLogger(logger), ipmanager.WithSessionAuth())
	require.NoError(t, err)
	_, err = sess.Groups(ctx)
	require.NoError(t, err)

	logs := buf.String()
	require.NotEmpty(t, logs)
	assert.Contains(t, logs, "REDACTED", "authinfo is logged redacted")
	for _, secret := range []string{ipmanagertest.DefaultPassword, "Wrong-Secret-Pw"} {
		assert.False(t, strings.Contains(logs, secret), "secret in logs")
		for _, e := range errs {
			require.Error(t, e)
			assert.NotContains(t, e.Error(), secret)
		}
	}
}
