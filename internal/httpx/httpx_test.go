package httpx_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/testctx"
	"github.com/ispkit/ispkit/internal/wait"
)

// ---------------------------------------------------------------------------
// helpers

// panel is a per-test HTTP server that counts the requests it receives and
// records their User-Agent.
type panel struct {
	*httptest.Server
	hits    atomic.Int32
	mu      sync.Mutex
	ua      []string
	release chan struct{}
}

// handlerFunc answers the n-th request (1-based).
type handlerFunc func(n int, w http.ResponseWriter, r *http.Request)

func newPanel(t *testing.T, h handlerFunc) *panel {
	t.Helper()
	p := &panel{release: make(chan struct{})}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(p.hits.Add(1))
		p.mu.Lock()
		p.ua = append(p.ua, r.UserAgent())
		p.mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		h(n, w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	p.Server = srv
	t.Cleanup(srv.Close)
	// Runs before srv.Close (cleanups are LIFO): unblock slow handlers.
	t.Cleanup(func() { close(p.release) })
	return p
}

// hang blocks the handler until the client goes away or the test ends.
func (p *panel) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-p.release:
	}
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func ok(w http.ResponseWriter) {
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
}

// failThenOK answers the first `fails` requests with fail and then "ok".
func failThenOK(fails int, fail func(w http.ResponseWriter)) handlerFunc {
	return func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= fails {
			fail(w)
			return
		}
		ok(w)
	}
}

func status(code int) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.WriteHeader(code) }
}

// fast returns a config whose backoff is 1-2 ms.
func fast(cfg httpx.Config) httpx.Config {
	if cfg.RetryWaitMin == 0 {
		cfg.RetryWaitMin = time.Millisecond
	}
	if cfg.RetryWaitMax == 0 {
		cfg.RetryWaitMax = 2 * time.Millisecond
	}
	return cfg
}

func newClient(t *testing.T, cfg httpx.Config) *httpx.Client {
	t.Helper()
	c, err := httpx.New(cfg)
	require.NoError(t, err)
	return c
}

func classPtr(c httpx.Class) *httpx.Class { return &c }

func post(url string, class httpx.Class) *httpx.Request {
	return &httpx.Request{Method: http.MethodPost, URL: url, Body: []byte("func=x"), Op: "x", Class: classPtr(class)}
}

// closedURL returns a URL on a port nobody listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr + "/mgr"
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ---------------------------------------------------------------------------
// (1) a non-idempotent call is sent exactly once

func TestNonIdempotentIsSentOnceOnErrorStatus(t *testing.T) {
	t.Parallel()
	for _, code := range []int{500, 502, 503, 504, 429} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			t.Parallel()
			p := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(code)
			})
			c := newClient(t, fast(httpx.Config{}))
			resp, err := c.Do(testCtx(t), post(p.URL, httpx.NonIdempotent))
			require.NoError(t, err, "an HTTP status is returned, not an error")
			assert.Equal(t, code, resp.StatusCode)
			assert.Equal(t, 1, resp.Attempts)
			assert.Equal(t, int32(1), p.hits.Load(), "sent exactly once")
		})
	}
}

func TestNonIdempotentIsSentOnceOnDroppedConnection(t *testing.T) {
	t.Parallel()
	// The first request warms up a keep-alive connection so the dropped one
	// travels on a reused connection, where net/http itself may replay
	// requests it considers idempotent.
	p := newPanel(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			ok(w)
			return
		}
		drop(w)
	})
	c := newClient(t, fast(httpx.Config{}))
	ctx := testCtx(t)
	_, err := c.Do(ctx, post(p.URL, httpx.SafeRead))
	require.NoError(t, err)

	resp, err := c.Do(ctx, post(p.URL+"?func=user.edit", httpx.NonIdempotent))
	require.Error(t, err)
	assert.Nil(t, resp)
	var te *httpx.TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.MayHaveHappened, "the panel may have executed the dropped call")
	assert.Equal(t, 1, te.Attempts)
	assert.Equal(t, "x", te.Op)
	assert.Contains(t, err.Error(), "may have been executed")
	assert.Equal(t, int32(2), p.hits.Load(), "warm-up + exactly one send")
}

func TestNonIdempotentSentOnceHTTPMock(t *testing.T) {
	t.Parallel()
	const url = "http://panel.test/dcimgr"
	cases := map[string]httpmock.Responder{
		"503":   httpmock.NewStringResponder(503, "busy").HeaderSet(http.Header{"Retry-After": {"0"}}),
		"500":   httpmock.NewStringResponder(500, "boom"),
		"reset": httpmock.NewErrorResponder(errors.New("read tcp: connection reset by peer")),
	}
	for name, responder := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			mt.RegisterResponder(http.MethodPost, url, responder)
			c := newClient(t, fast(httpx.Config{Transport: mt}))
			resp, err := c.Do(testCtx(t), post(url, httpx.NonIdempotent))
			assert.Equal(t, 1, mt.GetCallCountInfo()["POST "+url], "sent exactly once")
			assert.Equal(t, 1, mt.GetTotalCallCount())
			if name == "reset" {
				var te *httpx.TransportError
				require.ErrorAs(t, err, &te)
				assert.True(t, te.MayHaveHappened)
				assert.Equal(t, 1, te.Attempts)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, 1, resp.Attempts)
		})
	}
}

func TestDialErrorHasNotHappened(t *testing.T) {
	t.Parallel()
	url := closedURL(t)
	c := newClient(t, fast(httpx.Config{MaxRetries: 2}))

	_, err := c.Do(testCtx(t), post(url, httpx.NonIdempotent))
	var te *httpx.TransportError
	require.ErrorAs(t, err, &te)
	assert.False(t, te.MayHaveHappened, "a refused connection never reached the panel")
	assert.Equal(t, 1, te.Attempts, "not retried: non-idempotent")
	var op *net.OpError
	require.ErrorAs(t, err, &op)
	assert.Equal(t, "dial", op.Op)

	// A safe read is retried on the same error.
	_, err = c.Do(testCtx(t), post(url, httpx.SafeRead))
	require.ErrorAs(t, err, &te)
	assert.False(t, te.MayHaveHappened)
	assert.Equal(t, 3, te.Attempts, "first attempt + MaxRetries")
}

// ---------------------------------------------------------------------------
// (2) safe reads and idempotent writes are retried; 4xx and 501 never

func TestRetriedUntilSuccess(t *testing.T) {
	t.Parallel()
	failures := map[string]func(w http.ResponseWriter){
		"500":  status(500),
		"502":  status(502),
		"503":  status(503),
		"504":  status(504),
		"429":  status(429),
		"drop": drop,
	}
	for _, class := range []httpx.Class{httpx.SafeRead, httpx.IdempotentWrite} {
		for name, fail := range failures {
			t.Run(class.String()+"/"+name, func(t *testing.T) {
				t.Parallel()
				p := newPanel(t, failThenOK(3, fail))
				c := newClient(t, fast(httpx.Config{}))
				resp, err := c.Do(testCtx(t), post(p.URL, class))
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, "ok", string(resp.Body))
				assert.Equal(t, 4, resp.Attempts)
				assert.Equal(t, int32(4), p.hits.Load())
			})
		}
	}
}

func TestRetriedOnTransportErrorHTTPMock(t *testing.T) {
	t.Parallel()
	const url = "http://panel.test/ispmgr"
	for _, class := range []httpx.Class{httpx.SafeRead, httpx.IdempotentWrite} {
		t.Run(class.String(), func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			reset := httpmock.NewErrorResponder(errors.New("connection reset by peer"))
			mt.RegisterResponder(http.MethodPost, url,
				reset.Then(reset).Then(httpmock.NewStringResponder(200, "ok")))
			c := newClient(t, fast(httpx.Config{Transport: mt}))
			resp, err := c.Do(testCtx(t), post(url, class))
			require.NoError(t, err)
			assert.Equal(t, "ok", string(resp.Body))
			assert.Equal(t, 3, resp.Attempts)
			assert.Equal(t, 3, mt.GetCallCountInfo()["POST "+url])
		})
	}
}

func TestBodyReplayedOnRetry(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		n := len(bodies)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(502)
			return
		}
		ok(w)
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, fast(httpx.Config{}))
	resp, err := c.Do(testCtx(t), &httpx.Request{URL: srv.URL, Body: []byte("func=server&out=json"), Op: "server"})
	require.NoError(t, err)
	assert.Equal(t, 3, resp.Attempts)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"func=server&out=json", "func=server&out=json", "func=server&out=json"}, bodies)
}

func TestNeverRetried(t *testing.T) {
	t.Parallel()
	for _, code := range []int{400, 401, 403, 404, 405, 409, 422, 501} {
		for _, class := range []httpx.Class{httpx.SafeRead, httpx.IdempotentWrite} {
			t.Run(class.String()+"/"+http.StatusText(code), func(t *testing.T) {
				t.Parallel()
				p := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) })
				c := newClient(t, fast(httpx.Config{}))
				resp, err := c.Do(testCtx(t), post(p.URL, class))
				require.NoError(t, err)
				assert.Equal(t, code, resp.StatusCode)
				assert.Equal(t, 1, resp.Attempts)
				assert.Equal(t, int32(1), p.hits.Load())
			})
		}
	}
}

func TestRetriesExhaustedReturnLastResponse(t *testing.T) {
	t.Parallel()
	p := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(503)
		_, _ = w.Write([]byte("still busy"))
	})
	c := newClient(t, fast(httpx.Config{MaxRetries: 2}))
	resp, err := c.Do(testCtx(t), post(p.URL, httpx.SafeRead))
	require.NoError(t, err, "the last response is returned for the caller to decode")
	assert.Equal(t, 503, resp.StatusCode)
	assert.Equal(t, "still busy", string(resp.Body))
	assert.Equal(t, 3, resp.Attempts)
	assert.Equal(t, int32(3), p.hits.Load())

	p2 := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) })
	c = newClient(t, fast(httpx.Config{MaxRetries: -1}))
	resp, err = c.Do(testCtx(t), post(p2.URL, httpx.SafeRead))
	require.NoError(t, err)
	assert.Equal(t, 1, resp.Attempts, "negative MaxRetries disables retries")
	assert.Equal(t, int32(1), p2.hits.Load())

	p3 := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) })
	c = newClient(t, fast(httpx.Config{}))
	resp, err = c.Do(testCtx(t), post(p3.URL, httpx.SafeRead))
	require.NoError(t, err)
	assert.Equal(t, 5, resp.Attempts, "default: 4 retries")
	assert.Equal(t, int32(5), p3.hits.Load())
}

func TestPerAttemptTimeoutIsRetriedForSafeCalls(t *testing.T) {
	t.Parallel()
	p := newPanel(t, nil)
	p.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.hits.Add(1) == 1 {
			p.hang(r)
			return
		}
		ok(w)
	})
	c := newClient(t, fast(httpx.Config{Timeout: 100 * time.Millisecond}))
	resp, err := c.Do(testCtx(t), post(p.URL, httpx.SafeRead))
	require.NoError(t, err, "Timeout bounds one attempt; the next attempt succeeds")
	assert.Equal(t, 2, resp.Attempts)

	// The same hang on a non-idempotent call: one attempt, may have happened.
	p2 := newPanel(t, func(_ int, _ http.ResponseWriter, r *http.Request) { p.hang(r) })
	_, err = c.Do(testCtx(t), post(p2.URL, httpx.NonIdempotent))
	var te *httpx.TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.MayHaveHappened)
	assert.Equal(t, 1, te.Attempts)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, int32(1), p2.hits.Load())
}

func TestClassFromContextAndOverride(t *testing.T) {
	t.Parallel()
	assert.Equal(t, httpx.SafeRead, httpx.ClassFrom(context.Background()))
	ctx := httpx.WithClass(context.Background(), httpx.NonIdempotent)
	assert.Equal(t, httpx.NonIdempotent, httpx.ClassFrom(ctx))
	assert.Equal(t, "safe", httpx.SafeRead.String())
	assert.Equal(t, "idempotent", httpx.IdempotentWrite.String())
	assert.Equal(t, "non-idempotent", httpx.NonIdempotent.String())
	assert.Equal(t, "class(7)", httpx.Class(7).String())

	c := newClient(t, fast(httpx.Config{}))
	// Class from the context: sent once.
	p := newPanel(t, failThenOK(1, status(503)))
	resp, err := c.Do(ctx, &httpx.Request{URL: p.URL, Op: "x"})
	require.NoError(t, err)
	assert.Equal(t, 503, resp.StatusCode)
	assert.Equal(t, int32(1), p.hits.Load())
	// Request.Class overrides the context.
	p2 := newPanel(t, failThenOK(1, status(503)))
	resp, err = c.Do(ctx, &httpx.Request{URL: p2.URL, Op: "x", Class: classPtr(httpx.SafeRead)})
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, 2, resp.Attempts)
}

// ---------------------------------------------------------------------------
// (3) Retry-After honoured and capped
//
// The client pauses on its Clock: a fakeClock records each pause it asks
// for, so the tests read the waits themselves instead of timing them.

func TestRetryAfterSecondsHonoured(t *testing.T) {
	t.Parallel()
	for _, code := range []int{429, 503} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			t.Parallel()
			p := newPanel(t, failThenOK(1, func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(code)
			}))
			// The cap equals the demand: allowed.
			clock := newFakeClock()
			c := newClient(t, fast(httpx.Config{MaxRetryAfter: time.Second, Clock: clock}))
			resp, err := c.Do(testCtx(t), post(p.URL, httpx.SafeRead))
			require.NoError(t, err)
			assert.Equal(t, 2, resp.Attempts)
			assert.Equal(t, int32(2), p.hits.Load())
			assert.Equal(t, []time.Duration{time.Second}, clock.sortedWaits(), "waited Retry-After, not the 1 ms backoff")
		})
	}
}

func TestRetryAfterHTTPDateHonoured(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	p := newPanel(t, failThenOK(1, func(w http.ResponseWriter) {
		// Two seconds after the client's clock, which stands on a whole
		// second (HTTP dates have one-second resolution).
		w.Header().Set("Retry-After", clock.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
		w.WriteHeader(503)
	}))
	c := newClient(t, fast(httpx.Config{Clock: clock}))
	resp, err := c.Do(testCtx(t), post(p.URL, httpx.SafeRead))
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)
	assert.Equal(t, []time.Duration{2 * time.Second}, clock.sortedWaits(), "the date is read against the client's clock")
}

func TestRetryAfterPastDateRetriesAtOnce(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	p := newPanel(t, failThenOK(2, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", clock.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
		w.WriteHeader(429)
	}))
	// A large backoff that a past Retry-After date must override.
	c := newClient(t, httpx.Config{RetryWaitMin: 5 * time.Second, RetryWaitMax: 5 * time.Second, Clock: clock})
	resp, err := c.Do(testCtx(t), post(p.URL, httpx.SafeRead))
	require.NoError(t, err)
	assert.Equal(t, 3, resp.Attempts)
	assert.Equal(t, []time.Duration{0, 0}, clock.sortedWaits(), "no pause before either retry")
}

func TestBackoffBetweenRetries(t *testing.T) {
	t.Parallel()
	// Without Retry-After the pauses are the full-jitter backoff: attempt
	// n (0-based) waits within [min, min·2^n], capped at max.
	clock := newFakeClock()
	p := newPanel(t, failThenOK(4, status(502)))
	c := newClient(t, httpx.Config{RetryWaitMin: time.Second, RetryWaitMax: 3 * time.Second, Clock: clock})
	resp, err := c.Do(testCtx(t), post(p.URL, httpx.IdempotentWrite))
	require.NoError(t, err)
	assert.Equal(t, 5, resp.Attempts)
	waits := clock.waitsInOrder()
	require.Len(t, waits, 4, "one pause before each retry")
	for i, ceil := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
		assert.GreaterOrEqual(t, waits[i], time.Second, "pause %d", i)
		assert.LessOrEqual(t, waits[i], ceil, "pause %d", i)
	}
}

func fixed(s string) func(time.Time) string { return func(time.Time) string { return s } }

func TestRetryAfterAboveCapIsRateLimitError(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		header func(now time.Time) string // computed when the panel answers
		cap    time.Duration
		want   time.Duration
	}{
		"seconds over default cap": {fixed("3600"), 0, time.Hour},
		"seconds over small cap":   {fixed("3"), 2 * time.Second, 3 * time.Second},
		"just over default cap":    {fixed("31"), 0, 31 * time.Second},
		"http date": {func(now time.Time) string { return now.Add(time.Hour).UTC().Format(http.TimeFormat) },
			0, time.Hour},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			p := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", tc.header(clock.Now()))
				w.WriteHeader(429)
			})
			c := newClient(t, fast(httpx.Config{Panel: "dcimanager5", MaxRetryAfter: tc.cap, Clock: clock}))
			resp, err := c.Do(testCtx(t), &httpx.Request{URL: p.URL, Op: "server", Class: classPtr(httpx.SafeRead)})
			assert.Empty(t, clock.sortedWaits(), "no waiting")
			assert.Nil(t, resp)
			var rl *httpx.RateLimitError
			require.ErrorAs(t, err, &rl)
			assert.Equal(t, 429, rl.StatusCode)
			assert.Equal(t, "server", rl.Op)
			assert.Equal(t, "dcimanager5", rl.Panel)
			assert.Equal(t, tc.want, rl.RetryAfter)
			assert.Contains(t, err.Error(), "dcimanager5: server")
			assert.Equal(t, int32(1), p.hits.Load())
			var te *httpx.TransportError
			assert.False(t, errors.As(err, &te), "a rate limit is not a transport error")
		})
	}
}

// ---------------------------------------------------------------------------
// (4) a deadline ends the call wherever it is waiting
//
// Each test brings the call to one place where it waits (the panel holds
// the answer, a pause on the client's clock), checks that it is waiting
// there, then lets the deadline pass (testctx.Expiring) and checks that the
// call returns with it. The waits are long (10 s and more, or until the
// client goes away): a call that did not watch its context would not
// return, and the fake clocks never move, so nothing ends a pause but the
// context.

type result struct {
	resp *httpx.Response
	err  error
}

// doAsync runs c.Do in a goroutine and delivers its outcome.
func doAsync(ctx context.Context, c *httpx.Client, r *httpx.Request) <-chan result {
	ch := make(chan result, 1)
	go func() {
		resp, err := c.Do(ctx, r)
		ch <- result{resp, err}
	}()
	return ch
}

// outcome returns what the call returned. It gives up after testCtx's
// guard, which only a call that does not watch its context reaches.
func outcome(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-testCtx(t).Done():
		t.Fatal("the call did not return when its context ended")
		return result{}
	}
}

// notYet fails when the call has already returned.
func notYet(t *testing.T, ch <-chan result) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("the call returned before its deadline: %v", r.err)
	default:
	}
}

func assertDeadline(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	var te *httpx.TransportError
	assert.ErrorAs(t, err, &te)
}

// newWaitClock returns a client clock on which time stands still and a
// pause lasts until its context ends: a test sees the pause (WaitPending,
// Pending) and ends it by cancelling, never by the time passing.
func newWaitClock() *wait.Fake { return wait.NewFake(time.Now()) }

// pauseOf waits until the call pauses on clock and returns the pause.
func pauseOf(t *testing.T, clock *wait.Fake) time.Duration {
	t.Helper()
	pending, err := clock.WaitPending(testCtx(t), 1)
	require.NoError(t, err, "the call never paused on the client's clock")
	require.Len(t, pending, 1)
	return pending[0].Sub(clock.Now())
}

func TestDeadlineWhileServerSleeps(t *testing.T) {
	t.Parallel()
	reached := make(chan struct{}, 2)
	var p *panel
	p = newPanel(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		reached <- struct{}{}
		p.hang(r) // until the client goes away
	})
	c := newClient(t, httpx.Config{})
	for _, class := range []httpx.Class{httpx.SafeRead, httpx.NonIdempotent} {
		ctx := testctx.NewExpiring(context.Background(), time.Now().Add(time.Hour))
		res := doAsync(ctx, c, post(p.URL, class))
		<-reached
		notYet(t, res)
		ctx.Expire()
		assertDeadline(t, outcome(t, res).err)
	}
	assert.Equal(t, int32(2), p.hits.Load(), "one attempt each: the deadline is final")
}

func TestDeadlineWhileBackoffWaits(t *testing.T) {
	t.Parallel()
	p := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(502) })
	clock := newWaitClock()
	c := newClient(t, httpx.Config{RetryWaitMin: 10 * time.Second, RetryWaitMax: 10 * time.Second, Clock: clock})
	ctx := testctx.NewExpiring(context.Background(), time.Now().Add(time.Hour))
	res := doAsync(ctx, c, post(p.URL, httpx.SafeRead))
	assert.Equal(t, 10*time.Second, pauseOf(t, clock), "the backoff before the first retry")
	notYet(t, res)
	ctx.Expire()
	assertDeadline(t, outcome(t, res).err)
	assert.Equal(t, int32(1), p.hits.Load())
}

func TestDeadlineWhileRetryAfterWaits(t *testing.T) {
	t.Parallel()
	p := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "20")
		w.WriteHeader(503)
	})
	clock := newWaitClock()
	c := newClient(t, httpx.Config{Clock: clock}) // cap 30 s: the 20 s wait is accepted
	ctx := testctx.NewExpiring(context.Background(), time.Now().Add(time.Hour))
	res := doAsync(ctx, c, post(p.URL, httpx.IdempotentWrite))
	assert.Equal(t, 20*time.Second, pauseOf(t, clock), "the Retry-After")
	notYet(t, res)
	ctx.Expire()
	assertDeadline(t, outcome(t, res).err)
	assert.Equal(t, int32(1), p.hits.Load())
}

func TestDeadlineWhileLimiterWaits(t *testing.T) {
	t.Parallel()
	p := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) { ok(w) })
	clock := newWaitClock()
	c := newClient(t, httpx.Config{RateLimit: 0.1, Burst: 1, Clock: clock}) // 1 request per 10 s
	_, err := c.Do(testCtx(t), post(p.URL, httpx.SafeRead))
	require.NoError(t, err, "the burst token")

	// A deadline 100 ms ahead on the client's clock is refused at once:
	// the next token comes in 10 s, and the call does not pause for it.
	for _, class := range []httpx.Class{httpx.SafeRead, httpx.NonIdempotent} {
		ctx := testctx.NewExpiring(context.Background(), clock.Now().Add(100*time.Millisecond))
		err = outcome(t, doAsync(ctx, c, post(p.URL, class))).err
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		var te *httpx.TransportError
		require.ErrorAs(t, err, &te)
		assert.False(t, te.MayHaveHappened, "held by the limiter: never sent")
		assert.Empty(t, clock.Pending(), "no pause for a token that comes after the deadline")
	}

	// Without a deadline the call pauses for the token, and a
	// cancellation cuts the pause.
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := doAsync(cctx, c, post(p.URL, httpx.NonIdempotent))
	assert.Equal(t, 10*time.Second, pauseOf(t, clock), "the wait for the next token")
	notYet(t, res)
	cancel()
	err = outcome(t, res).err
	assert.ErrorIs(t, err, context.Canceled)
	var te *httpx.TransportError
	require.ErrorAs(t, err, &te)
	assert.False(t, te.MayHaveHappened)
	assert.Equal(t, int32(1), p.hits.Load(), "only the first call reached the panel")
}

func TestCancelledInFlightMayHaveHappened(t *testing.T) {
	t.Parallel()
	reached := make(chan struct{})
	var p *panel
	p = newPanel(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		close(reached)
		p.hang(r)
	})
	c := newClient(t, httpx.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-reached: // the request is at the panel
		case <-time.After(5 * time.Second):
		}
		cancel()
	}()
	_, err := c.Do(ctx, post(p.URL, httpx.NonIdempotent))
	require.ErrorIs(t, err, context.Canceled)
	var te *httpx.TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.MayHaveHappened, "the panel got the request before the cancel")
	assert.Equal(t, int32(1), p.hits.Load())
}

// ---------------------------------------------------------------------------
// (5) the limiter sits under the retry loop

// fakeClock is a client clock that never moves: every limiter reservation
// is made at the same instant, and each pause the client asks for (for a
// token, a backoff, a Retry-After) is recorded and returns at once. The
// waits are then exactly what the client chose, whatever the machine's
// load. It stands on a whole second, so that an HTTP date (one-second
// resolution) a test derives from it is exact.
type fakeClock struct {
	now   time.Time
	mu    sync.Mutex
	waits []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	return ctx.Err()
}

// waitsInOrder returns the recorded waits in the order they were asked for.
func (c *fakeClock) waitsInOrder() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// sortedWaits returns the recorded waits, shortest first.
func (c *fakeClock) sortedWaits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]time.Duration(nil), c.waits...)
	slices.Sort(out)
	return out
}

func TestLimiterChargesEveryAttempt(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	p := newPanel(t, failThenOK(3, status(503)))
	c := newClient(t, httpx.Config{RateLimit: 20, Burst: 1, Clock: clock,
		RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	resp, err := c.Do(testCtx(t), post(p.URL, httpx.SafeRead))
	require.NoError(t, err)
	assert.Equal(t, 4, resp.Attempts)
	// 20 per second, burst 1: the first attempt takes the burst token, and
	// each retry, after its 1 ms backoff, waits for the limiter one more
	// 50 ms interval (the clock does not move). A limiter above the retry
	// loop would have charged the call once (no limiter wait at all).
	assert.Equal(t, []time.Duration{
		time.Millisecond, 50 * time.Millisecond,
		time.Millisecond, 100 * time.Millisecond,
		time.Millisecond, 150 * time.Millisecond,
	}, clock.waitsInOrder())
}

func TestLimiterIsSharedAcrossCalls(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	p := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) { ok(w) })
	c := newClient(t, httpx.Config{RateLimit: 20, Burst: 2, Clock: clock})
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Do(testCtx(t), post(p.URL, httpx.SafeRead))
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(6), p.hits.Load())
	// Two calls take the burst; the other four queue behind each other on
	// the one limiter, 50 ms apart. Separate limiters would not wait.
	assert.Equal(t, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 200 * time.Millisecond},
		clock.sortedWaits())
}

// ---------------------------------------------------------------------------
// redirects and the response size cap

func TestRedirectToAnotherHostIsRefused(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) { elsewhere.Add(1); ok(w) })
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		p := newPanel(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/steal?authinfo=x", code)
		})
		for _, class := range []httpx.Class{httpx.SafeRead, httpx.NonIdempotent} {
			_, err := newClient(t, fast(httpx.Config{Panel: "p"})).Do(testCtx(t), post(p.URL, class))
			var re *httpx.RedirectError
			require.ErrorAs(t, err, &re, "HTTP %d", code)
			assert.Equal(t, code, re.StatusCode)
			assert.Equal(t, "p", re.Panel)
			assert.NotContains(t, err.Error(), "authinfo")
			assert.Equal(t, int32(1), p.hits.Swap(0), "a refused redirect is not retried")
		}
	}
	assert.Zero(t, elsewhere.Load(), "nothing may reach the other host")
}

func TestRedirectOnTheSameHostIsFollowed(t *testing.T) {
	t.Parallel()
	p := newPanel(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusTemporaryRedirect)
			return
		}
		ok(w)
	})
	resp, err := newClient(t, httpx.Config{}).Do(testCtx(t), post(p.URL+"/old", httpx.SafeRead))
	require.NoError(t, err)
	assert.Equal(t, "ok", string(resp.Body))
	assert.Equal(t, int32(2), p.hits.Load())
}

func TestResponseSizeIsCapped(t *testing.T) {
	t.Parallel()
	const cap = 1 << 10
	for name, h := range map[string]handlerFunc{
		"announced": func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "1000000")
			_, _ = w.Write(bytes.Repeat([]byte("x"), 2*cap))
		},
		"streamed": func(_ int, w http.ResponseWriter, _ *http.Request) {
			for range 100 {
				_, _ = w.Write(bytes.Repeat([]byte("x"), cap))
				w.(http.Flusher).Flush()
			}
		},
	} {
		p := newPanel(t, h)
		_, err := newClient(t, httpx.Config{Panel: "p", MaxResponseBytes: cap}).Do(testCtx(t), post(p.URL, httpx.SafeRead))
		var big *httpx.ResponseTooLargeError
		require.ErrorAs(t, err, &big, name)
		assert.Equal(t, int64(cap), big.Limit)
		assert.Equal(t, "x", big.Op)
	}
	// Exactly at the cap is fine.
	p := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(bytes.Repeat([]byte("y"), cap)) })
	resp, err := newClient(t, httpx.Config{MaxResponseBytes: cap}).Do(testCtx(t), post(p.URL, httpx.SafeRead))
	require.NoError(t, err)
	assert.Len(t, resp.Body, cap)
}

// ---------------------------------------------------------------------------
// (6) TLS

func newTLSPanel(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		ok(w)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &hits
}

func fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

func TestTLSDefaultVerificationRejectsSelfSigned(t *testing.T) {
	t.Parallel()
	srv, hits := newTLSPanel(t)
	c := newClient(t, fast(httpx.Config{}))
	for _, class := range []httpx.Class{httpx.SafeRead, httpx.NonIdempotent} {
		_, err := c.Do(testCtx(t), post(srv.URL, class))
		require.Error(t, err)
		var cve *tls.CertificateVerificationError
		require.ErrorAs(t, err, &cve)
		var te *httpx.TransportError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 1, te.Attempts, "a certificate error is not retried")
		assert.False(t, te.MayHaveHappened, "the handshake failed: nothing was sent")
	}
	assert.Equal(t, int32(0), hits.Load())
}

func TestTLSAccepted(t *testing.T) {
	t.Parallel()
	srv, _ := newTLSPanel(t)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	fp := fingerprint(srv.Certificate())
	var colons []string
	for i := 0; i < len(fp); i += 2 {
		colons = append(colons, strings.ToUpper(fp[i:i+2]))
	}
	cases := map[string]httpx.Config{
		"root CAs":               {RootCAs: pool},
		"pin":                    {PinnedSHA256: []string{fp}},
		"pin with colons, upper": {PinnedSHA256: []string{strings.Repeat("00", 32), strings.Join(colons, ":")}},
		"insecure":               {InsecureSkipVerify: true},
		"insecure on custom transport": {
			InsecureSkipVerify: true, Transport: &http.Transport{},
		},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, fast(cfg))
			resp, err := c.Do(testCtx(t), post(srv.URL, httpx.SafeRead))
			require.NoError(t, err)
			assert.Equal(t, "ok", string(resp.Body))
		})
	}
}

func TestTLSWrongPinRejected(t *testing.T) {
	t.Parallel()
	srv, hits := newTLSPanel(t)
	c := newClient(t, httpx.Config{PinnedSHA256: []string{strings.Repeat("ab", 32)}})
	_, err := c.Do(testCtx(t), post(srv.URL, httpx.NonIdempotent))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pinned fingerprint")
	var te *httpx.TransportError
	require.ErrorAs(t, err, &te)
	assert.False(t, te.MayHaveHappened)

	_, err = c.Do(testCtx(t), post(srv.URL, httpx.SafeRead))
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 1, te.Attempts, "a pin mismatch is final: no retry, hence no backoff")
	assert.Equal(t, int32(0), hits.Load())
}

func TestTLSUserHTTPClient(t *testing.T) {
	t.Parallel()
	srv, _ := newTLSPanel(t)
	hc := srv.Client() // trusts the test certificate
	orig := hc.Transport
	c := newClient(t, fast(httpx.Config{HTTPClient: hc}))
	resp, err := c.Do(testCtx(t), post(srv.URL, httpx.SafeRead))
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Same(t, orig, hc.Transport, "the user's client is not modified")
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	cases := map[string]httpx.Config{
		"pin not hex":       {PinnedSHA256: []string{"zz" + strings.Repeat("00", 31)}},
		"pin too short":     {PinnedSHA256: []string{"abcd"}},
		"pin too long":      {PinnedSHA256: []string{strings.Repeat("00", 33)}},
		"pin empty":         {PinnedSHA256: []string{""}},
		"negative timeout":  {Timeout: -time.Second},
		"negative rate":     {RateLimit: -1},
		"negative burst":    {RateLimit: 1, Burst: -1},
		"app with newline":  {Application: "app/1.0\r\nX-Evil: 1"},
		"TLS on mock":       {Transport: httpmock.NewMockTransport(), InsecureSkipVerify: true},
		"pin on mock":       {Transport: httpmock.NewMockTransport(), PinnedSHA256: []string{strings.Repeat("00", 32)}},
		"root CAs on mock":  {Transport: httpmock.NewMockTransport(), RootCAs: x509.NewCertPool()},
		"bad pin with mock": {Transport: httpmock.NewMockTransport(), PinnedSHA256: []string{"x"}},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := httpx.New(cfg)
			assert.Error(t, err)
			assert.Nil(t, c)
		})
	}
	c, err := httpx.New(httpx.Config{})
	require.NoError(t, err, "the zero config is usable")
	assert.NotNil(t, c)
}

// ---------------------------------------------------------------------------
// (7) User-Agent

func TestUserAgent(t *testing.T) {
	t.Parallel()
	p := newPanel(t, func(_ int, w http.ResponseWriter, _ *http.Request) { ok(w) })
	ctx := testCtx(t)

	c := newClient(t, httpx.Config{})
	_, err := c.Do(ctx, post(p.URL, httpx.SafeRead))
	require.NoError(t, err)

	c = newClient(t, httpx.Config{Application: "app/1.0"})
	req := post(p.URL, httpx.SafeRead)
	req.Header = http.Header{"User-Agent": {"spoofed"}}
	_, err = c.Do(ctx, req)
	require.NoError(t, err)

	p.mu.Lock()
	defer p.mu.Unlock()
	require.Len(t, p.ua, 2)
	assert.Equal(t, "ispkit/"+ispkit.Version, p.ua[0])
	assert.Equal(t, "app/1.0 ispkit/"+ispkit.Version, p.ua[1])
	assert.NotEmpty(t, ispkit.Version)
}

func TestHeadersAndMethodSent(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		gotBody, _ = io.ReadAll(r.Body)
		ok(w)
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, httpx.Config{})
	body, hdr := httpx.FormBody(map[string][]string{"func": {"auth"}, "password": {"p w&"}})
	hdr.Set("X-Test", "1")
	resp, err := c.Do(testCtx(t), &httpx.Request{URL: srv.URL + "/ispmgr", Body: body, Header: hdr, Op: "auth"})
	require.NoError(t, err)
	assert.Equal(t, 1, resp.Attempts)
	assert.Equal(t, http.MethodPost, got.Method, "POST by default")
	assert.Equal(t, "application/x-www-form-urlencoded", got.Header.Get("Content-Type"))
	assert.Equal(t, "1", got.Header.Get("X-Test"))
	assert.Equal(t, "func=auth&password=p+w%26", string(gotBody))
	assert.Equal(t, "/ispmgr", got.URL.Path)
	assert.Empty(t, got.URL.RawQuery)
}

// ---------------------------------------------------------------------------
// (8) redaction

// syncBuffer is a bytes.Buffer safe for concurrent writers.
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
