package clientopt_test

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/internal/clientopt"
	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/wait"
)

func TestSetters(t *testing.T) {
	t.Parallel()
	hc := &http.Client{}
	rt := http.DefaultTransport
	pool := x509.NewCertPool()
	logger := slog.New(slog.DiscardHandler)
	pin := strings.Repeat("ab", 32)
	pinColons := strings.TrimSuffix(strings.Repeat("AB:", 32), ":") // as openssl prints it

	tests := map[string]struct {
		set func(h *httpx.Config) *clientopt.Problem
		// want is the configuration after a successful call; ignored when
		// arg is set.
		want httpx.Config
		// arg is the argument the expected Problem names ("" = success).
		arg string
	}{
		"http client":        {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.HTTPClient(h, hc) }, want: httpx.Config{HTTPClient: hc}},
		"nil http client":    {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.HTTPClient(h, nil) }, arg: "client"},
		"transport":          {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Transport(h, rt) }, want: httpx.Config{Transport: rt}},
		"nil transport":      {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Transport(h, nil) }, arg: "transport"},
		"timeout":            {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Timeout(h, time.Second) }, want: httpx.Config{Timeout: time.Second}},
		"zero timeout":       {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Timeout(h, 0) }, arg: "timeout"},
		"negative timeout":   {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Timeout(h, -time.Second) }, arg: "timeout"},
		"insecure":           {set: func(h *httpx.Config) *clientopt.Problem { clientopt.InsecureSkipVerify(h); return nil }, want: httpx.Config{InsecureSkipVerify: true}},
		"root CAs":           {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.RootCAs(h, pool) }, want: httpx.Config{RootCAs: pool}},
		"nil root CAs":       {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.RootCAs(h, nil) }, arg: "pool"},
		"pin":                {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.PinnedCertificate(h, pin) }, want: httpx.Config{PinnedSHA256: []string{pin}}},
		"pin normalised":     {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.PinnedCertificate(h, " "+pinColons+"\n") }, want: httpx.Config{PinnedSHA256: []string{pin}}},
		"two pins":           {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.PinnedCertificate(h, pin, pinColons) }, want: httpx.Config{PinnedSHA256: []string{pin, pin}}},
		"no pin":             {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.PinnedCertificate(h) }, arg: "fingerprint"},
		"short pin":          {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.PinnedCertificate(h, "abcd") }, arg: "fingerprint"},
		"not hex pin":        {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.PinnedCertificate(h, "xyz") }, arg: "fingerprint"},
		"one bad pin of two": {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.PinnedCertificate(h, pin, "zz") }, arg: "fingerprint"},
		"retry":              {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Retry(h, 3, time.Millisecond, time.Second) }, want: httpx.Config{MaxRetries: 3, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Second}},
		"no retry":           {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Retry(h, 0, time.Second, time.Second) }, want: httpx.Config{MaxRetries: -1, RetryWaitMin: time.Second, RetryWaitMax: time.Second}},
		"max retries":        {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Retry(h, 100, time.Second, time.Second) }, want: httpx.Config{MaxRetries: 100, RetryWaitMin: time.Second, RetryWaitMax: time.Second}},
		"negative retries":   {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Retry(h, -1, time.Second, time.Second) }, arg: "maxRetries"},
		"too many retries":   {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Retry(h, 101, time.Second, time.Second) }, arg: "maxRetries"},
		"zero min wait":      {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Retry(h, 1, 0, time.Second) }, arg: "wait"},
		"min above max":      {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Retry(h, 1, time.Second, time.Millisecond) }, arg: "wait"},
		"max retry after":    {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.MaxRetryAfter(h, time.Minute) }, want: httpx.Config{MaxRetryAfter: time.Minute}},
		"zero retry after":   {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.MaxRetryAfter(h, 0) }, arg: "d"},
		"rate":               {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.RateLimit(h, 2.5, 3) }, want: httpx.Config{RateLimit: 2.5, Burst: 3}},
		"zero rate":          {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.RateLimit(h, 0, 1) }, arg: "perSecond"},
		"NaN rate":           {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.RateLimit(h, math.NaN(), 1) }, arg: "perSecond"},
		"zero burst":         {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.RateLimit(h, 1, 0) }, arg: "burst"},
		"logger":             {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Logger(h, logger) }, want: httpx.Config{Logger: logger}},
		"nil logger":         {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Logger(h, nil) }, arg: "logger"},
		"application":        {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Application(h, "billing", "2.1") }, want: httpx.Config{Application: "billing/2.1"}},
		"application only":   {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Application(h, "billing", "") }, want: httpx.Config{Application: "billing"}},
		"empty application":  {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Application(h, "", "1") }, arg: "name"},
		"application space":  {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Application(h, "my app", "1") }, arg: "name"},
		"version slash":      {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Application(h, "app", "1/2") }, arg: "name"},
		"version line break": {set: func(h *httpx.Config) *clientopt.Problem { return clientopt.Application(h, "app", "1\r\nX: y") }, arg: "name"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var h httpx.Config
			p := tt.set(&h)
			if tt.arg != "" {
				require.NotNil(t, p)
				assert.Equal(t, tt.arg, p.Arg)
				assert.NotEmpty(t, p.Reason)
				assert.Equal(t, httpx.Config{}, h, "a rejected value must leave the configuration alone")
				return
			}
			require.Nil(t, p)
			assert.Equal(t, tt.want, h)
		})
	}
}

func TestPinsAccumulate(t *testing.T) {
	t.Parallel()
	var h httpx.Config
	a, b := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	require.Nil(t, clientopt.PinnedCertificate(&h, a))
	require.Nil(t, clientopt.PinnedCertificate(&h, b))
	require.NotNil(t, clientopt.PinnedCertificate(&h, "bad"))
	assert.Equal(t, []string{a, b}, h.PinnedSHA256)
}

func TestRetries(t *testing.T) {
	t.Parallel()
	h := httpx.Config{MaxRetries: 10}
	assert.Equal(t, 10, clientopt.Retries(&h))
	require.Nil(t, clientopt.Retry(&h, 0, time.Millisecond, time.Millisecond))
	assert.Equal(t, -1, h.MaxRetries)
	assert.Equal(t, 0, clientopt.Retries(&h))
	require.Nil(t, clientopt.Retry(&h, 7, time.Millisecond, time.Millisecond))
	assert.Equal(t, 7, clientopt.Retries(&h))
}

func TestLang(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"en", "ru", "de", "abcdefgh"} {
		got, p := clientopt.Lang(ok)
		assert.Nil(t, p, ok)
		assert.Equal(t, ok, got)
	}
	for _, bad := range []string{"", "EN", "en-us", "e n", "en&x=1", "ru\n", "abcdefghi", "ёж", "en1"} {
		got, p := clientopt.Lang(bad)
		if assert.NotNil(t, p, "%q", bad) {
			assert.Equal(t, "lang", p.Arg)
		}
		assert.Empty(t, got)
	}
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		user, password string
		arg            string
	}{
		"ok":            {"root", "pw", ""},
		"email":         {"a@example.com", "pw", ""},
		"empty user":    {"", "pw", "username"},
		"blank user":    {" \t", "pw", "username"},
		"colon":         {"a:b", "pw", "username"},
		"line break":    {"a\nb", "pw", "username"},
		"return":        {"a\rb", "pw", "username"},
		"no password":   {"root", "", "password"},
		"user reported": {"", "", "username"},
	}
	for name, tt := range tests {
		p := clientopt.Credentials("username", tt.user, tt.password)
		if tt.arg == "" {
			assert.Nil(t, p, name)
			continue
		}
		if assert.NotNil(t, p, name) {
			assert.Equal(t, tt.arg, p.Arg, name)
			if tt.password != "" {
				assert.NotContains(t, p.Reason, tt.password, name)
			}
		}
	}
	p := clientopt.Credentials("email", "", "pw")
	require.NotNil(t, p)
	assert.Equal(t, "email", p.Arg)
}

func TestPollInterval(t *testing.T) {
	t.Parallel()
	assert.Nil(t, clientopt.PollInterval(time.Second, time.Second))
	assert.Nil(t, clientopt.PollInterval(time.Millisecond, time.Second))
	for _, bad := range [][2]time.Duration{{0, 0}, {0, time.Second}, {-time.Second, time.Second}, {time.Second, time.Millisecond}} {
		p := clientopt.PollInterval(bad[0], bad[1])
		if assert.NotNil(t, p, "%v", bad) {
			assert.Equal(t, "interval", p.Arg)
		}
	}
}

func TestBaseURL(t *testing.T) {
	t.Parallel()
	u, p := clientopt.BaseURL("https://dci.example.com:1500/dcimgr")
	require.Nil(t, p)
	assert.Equal(t, "dci.example.com:1500", u.Host)
	assert.Equal(t, "/dcimgr", u.Path)
	_, p = clientopt.BaseURL("http://h")
	assert.Nil(t, p)

	for _, bad := range []string{"", "::", "ftp://h", "https://", "/ispmgr", "h:1500",
		"https://u:secret@h", "https://h/?a=1", "https://h/?", "https://h/#frag"} {
		u, p := clientopt.BaseURL(bad)
		if assert.NotNil(t, p, "%q", bad) {
			assert.Equal(t, "baseURL", p.Arg)
			assert.NotContains(t, p.Reason, "secret")
		}
		assert.Nil(t, u)
	}
}

func TestProblemErr(t *testing.T) {
	t.Parallel()
	newErr := func(op, arg, reason string) error {
		return fmt.Errorf("%s: invalid %s: %s", op, arg, reason)
	}
	var none *clientopt.Problem
	assert.NoError(t, none.Err("WithTimeout", newErr), "a nil Problem must give an untyped nil error")
	var h httpx.Config
	err := clientopt.Timeout(&h, 0).Err("WithTimeout", newErr)
	require.Error(t, err)
	assert.Equal(t, "WithTimeout: invalid timeout: must be positive", err.Error())
	assert.Nil(t, clientopt.Timeout(&h, time.Second).Err("WithTimeout", newErr))
}

func TestWithClock(t *testing.T) {
	t.Parallel()
	clock := wait.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := clientopt.Settings{Package: "dcimanager5"}
	require.NoError(t, clientopt.WithClock(clock)(&s))
	assert.Same(t, clock, s.HTTP.Clock, "the HTTP core pauses on it")
	assert.Same(t, clock, s.WaitClock, "the waiters pause on it")

	err := clientopt.WithClock(nil)(&s)
	var ae *ispkit.ArgumentError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "WithClock", ae.Op)
	assert.Same(t, clock, s.WaitClock, "a refused option changes nothing")
}
