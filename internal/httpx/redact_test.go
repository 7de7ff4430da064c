package httpx_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/testctx"
)

// The secret values used below; none may reach a log record, an error
// string or a redacted URL.
var secretValues = []string{
	"Pa55-word", "passwd-Val", "s3cr3t-authinfo", "SID-5e55i0n", "KEY-0neT1me",
	"TOKEN-xyz", "urlPW-9", "QueryPW-7", "QuerySID-8", "Ses5-Cookie",
}

func assertNoSecret(t *testing.T, where, s string) {
	t.Helper()
	for _, v := range secretValues {
		assert.NotContains(t, s, v, "secret %q leaked into %s", v, where)
	}
}

func secretParams() url.Values {
	return url.Values{
		"func":         {"user.edit"},
		"username":     {"alice"},
		"password":     {"Pa55-word"},
		"passwd":       {"passwd-Val"},
		"authinfo":     {"admin:s3cr3t-authinfo"},
		"auth":         {"SID-5e55i0n"},
		"key":          {"KEY-0neT1me"},
		"token":        {"TOKEN-xyz"},
		"dcimgrses5":   {"Ses5-Cookie"},
		"newpassword2": {"Pa55-word"},
	}
}

// secretURL puts credentials in the user info and in the query string.
func secretURL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.User = url.UserPassword("u", "urlPW-9")
	u.Path = "/dcimgr"
	u.RawQuery = "func=user.edit&authinfo=user:QueryPW-7&auth=QuerySID-8&elid=42"
	return u.String()
}

func TestNoSecretInLogsOrErrors(t *testing.T) {
	t.Parallel()
	buf := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := testCtx(t)
	var errs []error

	// 1. Success after one retry: the call record and the retry record.
	p := newPanel(t, failThenOK(1, status(503)))
	c := newClient(t, fast(httpx.Config{Panel: "dcimanager5", Logger: logger}))
	resp, err := c.Do(ctx, &httpx.Request{URL: secretURL(p.URL), Op: "user.edit", Params: secretParams(),
		Body: []byte(secretParams().Encode())})
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)

	// 2. A refused connection, retried then failed.
	c2 := newClient(t, fast(httpx.Config{Panel: "dcimanager5", Logger: logger, MaxRetries: 1}))
	_, err = c2.Do(ctx, &httpx.Request{URL: secretURL(closedURL(t)), Op: "server", Params: secretParams()})
	require.Error(t, err)
	errs = append(errs, err)
	var te *httpx.TransportError
	require.ErrorAs(t, err, &te)
	assert.Contains(t, te.URL, "REDACTED")
	assert.Contains(t, te.URL, "elid=42", "non-secret parameters stay readable")

	// 3. A dropped non-idempotent call.
	pd := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) { drop(w) })
	_, err = c.Do(ctx, &httpx.Request{URL: secretURL(pd.URL), Op: "user.edit", Params: secretParams(),
		Class: classPtr(httpx.NonIdempotent)})
	require.Error(t, err)
	errs = append(errs, err)

	// 4. A rate limit past the cap.
	pr := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(429)
	})
	_, err = c.Do(ctx, &httpx.Request{URL: secretURL(pr.URL), Op: "server", Params: secretParams()})
	require.Error(t, err)
	errs = append(errs, err)

	// 5. A deadline while the panel is slow.
	var ps *panel
	reached := make(chan struct{}, 1)
	ps = newPanel(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		reached <- struct{}{}
		ps.hang(r)
	})
	dctx := testctx.NewExpiring(context.Background(), time.Now().Add(time.Hour))
	res := doAsync(dctx, c, &httpx.Request{URL: secretURL(ps.URL), Op: "server", Params: secretParams()})
	<-reached
	dctx.Expire()
	err = outcome(t, res).err
	require.ErrorIs(t, err, context.DeadlineExceeded)
	errs = append(errs, err)

	// 6. A URL that cannot be parsed at all.
	_, err = c.Do(ctx, &httpx.Request{URL: "http://127.0.0.1:1/dcimgr?authinfo=user:QueryPW-7&x=\x7f", Op: "bad",
		Params: secretParams()})
	require.Error(t, err)
	errs = append(errs, err)

	for _, e := range errs {
		assertNoSecret(t, "error "+e.Error(), e.Error())
	}

	logs := buf.String()
	assertNoSecret(t, "logs", logs)

	// The records are there and informative, so the checks above mean something.
	assert.Contains(t, logs, "ispkit call")
	assert.Contains(t, logs, "ispkit retry")
	assert.Contains(t, logs, "username=alice", "params are logged at debug level")
	assert.Contains(t, logs, "REDACTED")
	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		records = append(records, m)
	}
	var first map[string]any
	for _, r := range records {
		if r["msg"] == "ispkit call" {
			first = r
			break
		}
	}
	require.NotNil(t, first)
	assert.Equal(t, "dcimanager5", first["panel"])
	assert.Equal(t, "user.edit", first["op"])
	assert.Equal(t, "safe", first["class"])
	assert.EqualValues(t, 2, first["attempts"])
	assert.EqualValues(t, 200, first["status"])
	assert.Equal(t, "INFO", first["level"])
	assert.Contains(t, first, "duration")
}

func TestLoggingIsOptIn(t *testing.T) {
	t.Parallel()
	buf := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	p := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(404) })
	c := newClient(t, httpx.Config{Logger: logger})
	_, err := c.Do(testCtx(t), &httpx.Request{URL: p.URL, Op: "server", Params: secretParams()})
	require.NoError(t, err)
	logs := buf.String()
	assert.Contains(t, logs, `"level":"WARN"`, "4xx is a warning")
	assert.NotContains(t, logs, "params", "params only at debug level")

	// No logger: nothing breaks.
	c = newClient(t, httpx.Config{})
	_, err = c.Do(testCtx(t), &httpx.Request{URL: p.URL, Op: "server", Params: secretParams()})
	require.NoError(t, err)
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"https://admin:pw@host:1500/dcimgr?func=auth&authinfo=admin:pw&out=json",
			"https://host:1500/dcimgr?authinfo=REDACTED&func=auth&out=json"},
		{"http://h/p?auth=SID&elid=1", "http://h/p?auth=REDACTED&elid=1"},
		{"http://h/p?func=auth&username=bob&key=abc&checkcookie=no",
			"http://h/p?checkcookie=no&func=auth&key=REDACTED&username=bob"},
		{"http://h/p?password=a&password=b", "http://h/p?password=REDACTED"},
		{"http://h/p?access_token=t&Session=s&ses6=x", "http://h/p?Session=REDACTED&access_token=REDACTED&ses6=REDACTED"},
		{"http://h/p", "http://h/p"},
		{"http://h/p?func=server", "http://h/p?func=server"},
		{"http://h/p?authinfo=a:b&bad=%zz", "http://h/p?REDACTED"},
	}
	for _, tc := range cases {
		u, err := url.Parse(tc.in)
		require.NoError(t, err)
		assert.Equal(t, tc.want, httpx.RedactURL(u), tc.in)
	}
	assert.Equal(t, "", httpx.RedactURL(nil))

	u, _ := url.Parse("https://admin:pw@host/p?authinfo=a:b")
	_ = httpx.RedactURL(u)
	assert.Equal(t, "authinfo=a:b", u.RawQuery, "the input URL is not modified")
	assert.NotNil(t, u.User)
}

func TestRedactValues(t *testing.T) {
	t.Parallel()
	in := url.Values{
		"func": {"user.edit"}, "name": {"bob"}, "passwd": {"x", "y"}, "confirm": {"x"},
		"Authorization": {"Basic Zm9vOmJhcg=="}, "elid": {"1, 2"},
	}
	out := httpx.RedactValues(in)
	assert.Equal(t, url.Values{
		"func": {"user.edit"}, "name": {"bob"}, "passwd": {"REDACTED"}, "confirm": {"REDACTED"},
		"Authorization": {"REDACTED"}, "elid": {"1, 2"},
	}, out)
	assert.Equal(t, []string{"x", "y"}, in["passwd"], "the input is not modified")
	out["name"][0] = "changed"
	assert.Equal(t, "bob", in.Get("name"), "the copy is deep")
	assert.Empty(t, httpx.RedactValues(nil))
}

func TestIsSecret(t *testing.T) {
	t.Parallel()
	secret := []string{
		"password", "Password", "PASSWD", "passwd", "confirm", "checkpasswd", "authinfo", "auth",
		"key", "token", "access_token", "X-Auth-Token", "ses6", "dcimgrses5", "billmgrses5",
		"x-xsrf-token", "cookie", "Set-Cookie", "Authorization", "secret", "client_secret",
		"adminpassword", "session", "sessionid", "newpass", "user_password",
	}
	for _, n := range secret {
		assert.True(t, httpx.IsSecret(n), n)
	}
	public := []string{
		"func", "out", "elid", "plid", "sok", "su", "lang", "username", "name", "owner",
		"hostname", "ip", "authorname", "keyboard", "monkey", "level", "", "email",
	}
	for _, n := range public {
		assert.False(t, httpx.IsSecret(n), n)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	minD, maxD := 10*time.Millisecond, 100*time.Millisecond
	assert.Equal(t, minD, httpx.Backoff(minD, maxD, 0), "attempt 0 waits min")
	for attempt := 0; attempt < 8; attempt++ {
		ceil := minD << attempt
		if ceil > maxD {
			ceil = maxD
		}
		var seenAbove bool
		for range 300 {
			d := httpx.Backoff(minD, maxD, attempt)
			require.GreaterOrEqual(t, d, minD)
			require.LessOrEqual(t, d, ceil, "attempt %d", attempt)
			if d > minD+(ceil-minD)/2 {
				seenAbove = true
			}
		}
		if attempt > 0 {
			assert.True(t, seenAbove, "attempt %d: jitter spreads the waits", attempt)
		}
	}
	assert.LessOrEqual(t, httpx.Backoff(time.Second, 10*time.Second, 1000), 10*time.Second, "no overflow")
	assert.Equal(t, time.Second, httpx.Backoff(time.Second, time.Second, 5))
}

func TestSleep(t *testing.T) {
	t.Parallel()
	// In a synctest bubble the clock is fake: it moves only when every
	// goroutine of the bubble waits, straight to the next timer, so the
	// time a Sleep took is exact whatever the machine's load.
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		start := time.Now()
		assert.NoError(t, httpx.Sleep(ctx, 0))
		assert.NoError(t, httpx.Sleep(ctx, -time.Second))
		assert.Zero(t, time.Since(start), "no wait for d <= 0")
		assert.NoError(t, httpx.Sleep(ctx, 20*time.Millisecond))
		assert.Equal(t, 20*time.Millisecond, time.Since(start))

		cctx, cancel := context.WithCancel(ctx)
		cancel()
		start = time.Now()
		assert.ErrorIs(t, httpx.Sleep(cctx, 0), context.Canceled)
		assert.ErrorIs(t, httpx.Sleep(cctx, time.Hour), context.Canceled)
		assert.Zero(t, time.Since(start), "a cancelled context ends the sleep at once")

		dctx, dcancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer dcancel()
		assert.ErrorIs(t, httpx.Sleep(dctx, time.Hour), context.DeadlineExceeded)
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "an hour's sleep cut at the deadline")
	})
}

func TestFormBody(t *testing.T) {
	t.Parallel()
	b, h := httpx.FormBody(url.Values{"b": {"2"}, "a": {"x y"}})
	assert.Equal(t, "a=x+y&b=2", string(b))
	assert.Equal(t, "application/x-www-form-urlencoded", h.Get("Content-Type"))
}
