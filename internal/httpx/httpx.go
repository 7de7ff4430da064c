// Package httpx is the one HTTP core shared by every ispkit panel client.
//
// It wraps go-retryablehttp with a retry policy that knows the class of each
// call, an x/time/rate limiter that sits under the retry loop (every attempt
// costs a token), capped Retry-After handling, TLS options, a User-Agent and
// opt-in, redacted log/slog logging.
//
// Retry table:
//
//	class            transport error   429 / 503        other 5xx (not 501)   4xx
//	SafeRead         retried           retried          retried               never
//	IdempotentWrite  retried           retried          retried               never
//	NonIdempotent    never (sent once) never            never                 never
//
// A non-idempotent call that fails in transport returns a *TransportError
// whose MayHaveHappened is true: the caller must re-read the panel's state
// before deciding to send it again.
//
// Retry-After on 429 and 503 is honoured up to Config.MaxRetryAfter; a
// longer demand stops the retries and surfaces as *RateLimitError.
// Every wait (backoff, Retry-After, limiter) runs on Config.Clock and
// selects on ctx.Done().
package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"

	"github.com/ispkit/ispkit"
)

// Class tells the retry policy whether a call may be repeated.
type Class int

const (
	// SafeRead is a call that changes nothing; it is retried.
	SafeRead Class = iota
	// IdempotentWrite is a write whose repetition has the same effect as one
	// call (set a field to a value, power on a powered server); it is retried.
	IdempotentWrite
	// NonIdempotent is a write that must not happen twice (create a user,
	// allocate an IP, start an install); it is sent exactly once.
	NonIdempotent
)

// String returns the class name used in logs.
func (c Class) String() string {
	switch c {
	case SafeRead:
		return "safe"
	case IdempotentWrite:
		return "idempotent"
	case NonIdempotent:
		return "non-idempotent"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

type classKey struct{}

// WithClass returns a context that carries the retry class of a call.
func WithClass(ctx context.Context, c Class) context.Context {
	return context.WithValue(ctx, classKey{}, c)
}

// ClassFrom returns the retry class stored in ctx; SafeRead when none is.
func ClassFrom(ctx context.Context) Class {
	if c, ok := ctx.Value(classKey{}).(Class); ok {
		return c
	}
	return SafeRead
}

type attemptsKey struct{}

// sentKey holds an *atomic.Bool set once an attempt got past the limiter
// and was handed to the base transport: from then on its bytes may have
// reached the panel.
type sentKey struct{}

// pauseKey holds a *time.Duration: the pause before the next attempt,
// chosen by the retry check (Retry-After or backoff) and waited on the
// client's Clock before the attempt is sent.
type pauseKey struct{}

// Config configures a Client. The zero value is usable: defaults are applied
// by New.
type Config struct {
	// Panel names the panel in logs and errors, e.g. "dcimanager5".
	Panel string
	// HTTPClient is used for every attempt; its Transport is wrapped by the
	// limiter. Nil means a fresh client with TLS verification on.
	HTTPClient *http.Client
	// Transport replaces the base transport (ignored when HTTPClient is set).
	Transport http.RoundTripper
	// Timeout bounds one attempt. Zero means 60 s.
	Timeout time.Duration
	// RootCAs verifies panel certificates against this pool instead of the
	// system roots.
	RootCAs *x509.CertPool
	// PinnedSHA256 accepts exactly the leaf certificates whose SHA-256 DER
	// fingerprint (hex, colons allowed) is listed, without chain checks.
	PinnedSHA256 []string
	// InsecureSkipVerify disables TLS verification. It must be asked for
	// explicitly; panels on :1500 often run self-signed certificates.
	InsecureSkipVerify bool
	// MaxRetries is the number of retries after the first attempt. Negative
	// means none; zero means the default of 4.
	MaxRetries int
	// RetryWaitMin and RetryWaitMax bound the full-jitter exponential backoff.
	// Zero means 200 ms and 10 s.
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxRetryAfter caps the Retry-After a panel may ask for. Zero means 30 s.
	MaxRetryAfter time.Duration
	// RateLimit is the number of attempts per second allowed; zero means
	// unlimited. Burst defaults to 1 when RateLimit is set.
	RateLimit float64
	Burst     int
	// Logger receives one record per call and one per retried attempt. Nil
	// means silent.
	Logger *slog.Logger
	// Application is prepended to the User-Agent ("app/1.0 ispkit/0.1.0").
	Application string
	// MaxResponseBytes caps the body of one answer. Zero means
	// DefaultMaxResponseBytes; a longer answer is not read past the cap and
	// fails with *ResponseTooLargeError.
	MaxResponseBytes int64
	// Clock paces the rate limiter and the pauses between attempts
	// (backoff and Retry-After), and dates in Retry-After are read
	// against it; nil means the real clock. Tests give a fake one to
	// observe the waits the client asks for instead of timing them.
	Clock Clock
}

// DefaultMaxResponseBytes is the default cap of one answer: 256 MiB, four
// times the size of a DCImanager 5 list of 100,000 servers as the panels
// render it (about 600 bytes a row).
const DefaultMaxResponseBytes = 256 << 20

// Clock is the time source of the rate limiter and of the pauses between
// attempts.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits d or until ctx is done (then it returns ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time                                   { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error { return Sleep(ctx, d) }

// Client sends requests with retries, rate limiting and logging.
type Client struct {
	rc        *retryablehttp.Client
	panel     string
	logger    *slog.Logger
	userAgent string
	maxBody   int64
	clock     Clock
}

// Request is one HTTP call. Body is replayed on retries.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// Op names the call in logs and errors (a panel function or endpoint).
	Op string
	// Params are logged at debug level with secrets redacted; they are not
	// sent (the caller encodes them into URL or Body).
	Params url.Values
	// Class overrides the class stored in the context when non-nil.
	Class *Class
}

// Response is a fully read HTTP response.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// Attempts is how many times the request was sent.
	Attempts int
}

// New builds a Client from cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Timeout < 0 {
		return nil, errors.New("httpx: negative timeout")
	}
	if cfg.RateLimit < 0 || cfg.Burst < 0 {
		return nil, errors.New("httpx: negative rate limit")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 4
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.RetryWaitMin <= 0 {
		cfg.RetryWaitMin = 200 * time.Millisecond
	}
	if cfg.RetryWaitMax <= 0 {
		cfg.RetryWaitMax = 10 * time.Second
	}
	if cfg.RetryWaitMax < cfg.RetryWaitMin {
		cfg.RetryWaitMax = cfg.RetryWaitMin
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 30 * time.Second
	}
	if cfg.Panel == "" {
		cfg.Panel = "panel"
	}
	if cfg.MaxResponseBytes < 0 {
		return nil, errors.New("httpx: negative response size cap")
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}

	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	base := hc.Transport
	if base == nil {
		base = cfg.Transport
	}
	if base == nil {
		tlsCfg, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsCfg
		t.MaxIdleConnsPerHost = 32
		base = t
	} else if cfg.RootCAs != nil || len(cfg.PinnedSHA256) > 0 || cfg.InsecureSkipVerify {
		if t, ok := base.(*http.Transport); ok {
			tlsCfg, err := tlsConfig(cfg)
			if err != nil {
				return nil, err
			}
			t = t.Clone()
			t.TLSClientConfig = tlsCfg
			base = t
		} else {
			return nil, errors.New("httpx: TLS options need an *http.Transport or no custom transport")
		}
	}
	var lim *rate.Limiter
	if cfg.RateLimit > 0 {
		b := cfg.Burst
		if b == 0 {
			b = 1
		}
		lim = rate.NewLimiter(rate.Limit(cfg.RateLimit), b)
	}
	hc.Transport = &limitTransport{base: base, lim: lim, clock: cfg.Clock}
	if hc.Timeout == 0 {
		hc.Timeout = cfg.Timeout
	}
	// Whatever the caller's client does, a redirect is followed only to
	// the same scheme and host: a form body carries authinfo and a
	// DCImanager 6 request its token, and neither may reach another host.
	hc.CheckRedirect = sameOriginRedirect

	c := &Client{panel: cfg.Panel, logger: cfg.Logger, maxBody: cfg.MaxResponseBytes, clock: cfg.Clock}
	c.userAgent = "ispkit/" + ispkit.Version
	if cfg.Application != "" {
		if strings.ContainsAny(cfg.Application, "\r\n") {
			return nil, errors.New("httpx: application name contains a line break")
		}
		c.userAgent = cfg.Application + " " + c.userAgent
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &hc
	rc.Logger = nil
	rc.RetryMax = cfg.MaxRetries
	rc.RetryWaitMin = cfg.RetryWaitMin
	rc.RetryWaitMax = cfg.RetryWaitMax
	maxRA, clock := cfg.MaxRetryAfter, cfg.Clock
	waitMin, waitMax := cfg.RetryWaitMin, cfg.RetryWaitMax
	// The retry loop of go-retryablehttp waits on its own timer; it is
	// given no pause (Backoff 0) and the pause happens in PrepareRetry on
	// the client's Clock instead, as chosen by the retry check.
	rc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		now := clock.Now()
		retry, err := checkRetry(ctx, resp, err, maxRA, now)
		if p, ok := ctx.Value(pauseKey{}).(*time.Duration); ok && retry {
			if d, ok := retryAfter(resp, now); ok {
				*p = d
			} else {
				attempt := 0
				if n, ok := ctx.Value(attemptsKey{}).(*atomic.Int32); ok {
					attempt = max(int(n.Load())-1, 0)
				}
				*p = fullJitter(waitMin, waitMax, attempt)
			}
		}
		return retry, err
	}
	rc.Backoff = func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 }
	rc.PrepareRetry = func(req *http.Request) error {
		ctx := req.Context()
		var d time.Duration
		if p, ok := ctx.Value(pauseKey{}).(*time.Duration); ok {
			d = *p
		}
		return clock.Sleep(ctx, d)
	}
	rc.RequestLogHook = func(_ retryablehttp.Logger, req *http.Request, attempt int) {
		if p, ok := req.Context().Value(attemptsKey{}).(*atomic.Int32); ok {
			p.Store(int32(attempt + 1))
		}
		if attempt > 0 && c.logger != nil {
			c.logger.LogAttrs(req.Context(), slog.LevelDebug, "ispkit retry",
				slog.String("panel", c.panel), slog.String("url", RedactURL(req.URL)), slog.Int("attempt", attempt+1))
		}
	}
	rc.ErrorHandler = func(resp *http.Response, err error, _ int) (*http.Response, error) {
		return resp, err
	}
	c.rc = rc
	return c, nil
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs}
	if cfg.InsecureSkipVerify {
		t.InsecureSkipVerify = true
	}
	if len(cfg.PinnedSHA256) > 0 {
		pins := make(map[string]bool, len(cfg.PinnedSHA256))
		for _, p := range cfg.PinnedSHA256 {
			h := strings.ToLower(strings.ReplaceAll(p, ":", ""))
			if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("httpx: pinned certificate fingerprint %q is not a SHA-256 hex digest", p)
			}
			pins[h] = true
		}
		t.InsecureSkipVerify = true // the pin replaces chain verification
		t.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("httpx: panel sent no certificate")
			}
			sum := sha256.Sum256(raw[0])
			if !pins[hex.EncodeToString(sum[:])] {
				return errPinMismatch
			}
			return nil
		}
	}
	return t, nil
}

// errPinMismatch is a TLS failure that no retry can fix.
var errPinMismatch = errors.New("httpx: panel certificate does not match the pinned fingerprint")

// errLimiterDeadline is returned when the limiter cannot hand out a token
// before the request's deadline; the request was not sent. It matches
// context.DeadlineExceeded.
var errLimiterDeadline error = limiterDeadlineError{}

type limiterDeadlineError struct{}

func (limiterDeadlineError) Error() string {
	return "httpx: rate limiter wait would exceed the context deadline"
}

func (limiterDeadlineError) Is(target error) bool { return target == context.DeadlineExceeded }

// limitTransport waits for a limiter token before every attempt.
type limitTransport struct {
	base  http.RoundTripper
	lim   *rate.Limiter
	clock Clock
}

// wait takes one token of the limiter, waiting on the clock for it.
func (t *limitTransport) wait(ctx context.Context) error {
	now := t.clock.Now()
	r := t.lim.ReserveN(now, 1)
	if !r.OK() {
		return errLimiterDeadline
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && now.Add(d).After(dl) {
		r.CancelAt(now)
		return errLimiterDeadline
	}
	if err := t.clock.Sleep(ctx, d); err != nil {
		r.CancelAt(t.clock.Now())
		return err
	}
	return nil
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.lim != nil {
		if err := t.wait(req.Context()); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			if errors.Is(req.Context().Err(), context.Canceled) {
				return nil, context.Canceled
			}
			// The wait would outlast (or was cut by) the deadline.
			return nil, errLimiterDeadline
		}
	}
	if p, ok := req.Context().Value(sentKey{}).(*atomic.Bool); ok {
		p.Store(true)
	}
	return t.base.RoundTrip(req)
}

// checkRetry decides whether an attempt is repeated; now is the client's
// clock, against which a Retry-After date is read.
func checkRetry(ctx context.Context, resp *http.Response, err error, maxRA time.Duration, now time.Time) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	// The caller's context is still alive here, so a DeadlineExceeded from
	// the transport is the per-attempt Timeout (http.Client.Timeout): a
	// transport error like a reset, retried for safe and idempotent calls.
	// A limiter that cannot serve before the deadline is final.
	var re *RedirectError
	if errors.Is(err, errLimiterDeadline) || errors.Is(err, context.Canceled) || errors.As(err, &re) {
		return false, err
	}
	if ClassFrom(ctx) == NonIdempotent {
		return false, err
	}
	if err != nil {
		var cve *tls.CertificateVerificationError
		if errors.Is(err, errPinMismatch) || errors.As(err, &cve) {
			return false, err
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if d, ok := retryAfter(resp, now); ok && d > maxRA {
			return false, &RateLimitError{RetryAfter: d, StatusCode: resp.StatusCode}
		}
		return true, nil
	}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
		return true, nil
	}
	return false, nil
}

// retryAfter reads the Retry-After of a 429 or 503 answer (seconds or an
// HTTP date, read against now); a date in the past is no wait.
func retryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0, false
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// fullJitter returns a random wait in [min, min*2^attempt] capped at max.
func fullJitter(min, max time.Duration, attempt int) time.Duration {
	ceil := min
	for i := 0; i < attempt && ceil < max; i++ {
		ceil *= 2
	}
	if ceil > max {
		ceil = max
	}
	if ceil <= min {
		return min
	}
	return min + rand.N(ceil-min)
}

// Backoff is the full-jitter exponential backoff used by retries and
// exported for waiters: attempt 0 waits about min, each later attempt up to
// twice as long, never more than max.
func Backoff(min, max time.Duration, attempt int) time.Duration {
	return fullJitter(min, max, attempt)
}

// Do sends r and reads the whole response body. A response with any status
// is returned without error; only transport failures, cancellations and rate
// limits past the cap are errors. Callers decode status and body.
func (c *Client) Do(ctx context.Context, r *Request) (*Response, error) {
	var out *Response
	_, err := c.exchange(ctx, r, func(resp *http.Response, n int) error {
		b, err := c.readBody(resp)
		if err != nil {
			return err
		}
		out = &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: b, Attempts: n}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Stream sends r like Do but does not read the body: read gets the
// status, the headers and the body as it arrives, capped like Do's (the
// reader fails with *ResponseTooLargeError past MaxResponseBytes, and an
// answer announced longer is refused before read is called). read must
// not keep body. Stream returns the attempts made and read's error, except
// that a failure of the body itself (the cap, a reset connection, the
// attempt's timeout, which also covers the reading) wins over whatever
// read made of it, as the same typed error Do would give. Retries happen
// only before read is called: a list half read is never read again.
func (c *Client) Stream(ctx context.Context, r *Request, read func(status int, header http.Header, body io.Reader) error) (int, error) {
	return c.exchange(ctx, r, func(resp *http.Response, _ int) error {
		if resp.ContentLength > c.maxBody {
			return &ResponseTooLargeError{Limit: c.maxBody, StatusCode: resp.StatusCode}
		}
		cr := &cappedReader{r: resp.Body, left: c.maxBody, limit: c.maxBody, status: resp.StatusCode}
		err := read(resp.StatusCode, resp.Header, cr)
		if cr.err != nil {
			return cr.err
		}
		if err != nil {
			return &passError{err: err}
		}
		return nil
	})
}

// cappedReader passes at most left bytes of r and remembers the first
// failure of the body (not io.EOF) so that Stream can report it typed.
type cappedReader struct {
	r      io.Reader
	left   int64
	limit  int64
	status int
	err    error
}

func (cr *cappedReader) Read(p []byte) (int, error) {
	if cr.err != nil {
		return 0, cr.err
	}
	if int64(len(p)) > cr.left+1 {
		p = p[:cr.left+1]
	}
	n, err := cr.r.Read(p)
	if int64(n) > cr.left {
		cr.err = &ResponseTooLargeError{Limit: cr.limit, StatusCode: cr.status}
		return 0, cr.err
	}
	cr.left -= int64(n)
	if err != nil && err != io.EOF {
		cr.err = err
	}
	return n, err
}

// exchange sends r with retries and, when an answer arrives, hands it to
// consume (with the number of attempts) before closing its body. It maps
// every failure, of the exchange or of consume's reading, to the typed
// errors of this package and logs the call once.
func (c *Client) exchange(ctx context.Context, r *Request, consume func(resp *http.Response, attempts int) error) (int, error) {
	if r.Class != nil {
		ctx = WithClass(ctx, *r.Class)
	}
	class := ClassFrom(ctx)
	attempts := new(atomic.Int32)
	ctx = context.WithValue(ctx, attemptsKey{}, attempts)
	sent := new(atomic.Bool)
	ctx = context.WithValue(ctx, sentKey{}, sent)
	ctx = context.WithValue(ctx, pauseKey{}, new(time.Duration))
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	var body any
	if r.Body != nil {
		body = r.Body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, r.URL, body)
	if err != nil {
		return 0, fmt.Errorf("httpx: build %s request: %s", r.Op, redactErr(err))
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("User-Agent", c.userAgent)
	start := time.Now()
	resp, err := c.rc.Do(req)
	n := int(attempts.Load())
	if n == 0 {
		n = 1
	}
	status := 0
	if err == nil && resp != nil {
		status = resp.StatusCode
		err = consume(resp, n)
		resp.Body.Close()
	} else if resp != nil {
		resp.Body.Close()
	}
	if err != nil {
		var rl *RateLimitError
		var re *RedirectError
		var big *ResponseTooLargeError
		var pass *passError
		switch {
		case errors.As(err, &pass):
			err = pass.err
		case errors.As(err, &rl):
			rl.Op = r.Op
			rl.Panel = c.panel
		case errors.As(err, &re):
			re.Op, re.Panel = r.Op, c.panel
			err = re
		case errors.As(err, &big):
			big.Op, big.Panel = r.Op, c.panel
		default:
			err = &TransportError{
				Panel:           c.panel,
				Op:              r.Op,
				URL:             redactURLString(r.URL),
				Attempts:        n,
				MayHaveHappened: class == NonIdempotent && sent.Load() && !notSent(err),
				Err:             unwrapURLError(err),
			}
		}
	}
	c.log(ctx, r, class, status, err, n, time.Since(start))
	return n, err
}

// passError carries a Stream reader's own verdict on a body that arrived
// whole (a panel error, a malformed document, the caller stopping early):
// exchange returns it unchanged instead of treating it as a failure of the
// transport.
type passError struct{ err error }

func (e *passError) Error() string { return e.err.Error() }
func (e *passError) Unwrap() error { return e.err }

// readBody reads at most c.maxBody bytes of resp's body; a longer body, or
// one announced longer, is a *ResponseTooLargeError and is not read on.
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > c.maxBody {
		return nil, &ResponseTooLargeError{Limit: c.maxBody, StatusCode: resp.StatusCode}
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, err
	}
	if n > c.maxBody {
		return nil, &ResponseTooLargeError{Limit: c.maxBody, StatusCode: resp.StatusCode}
	}
	return buf.Bytes(), nil
}

// ResponseTooLargeError is an answer longer than the client's cap
// (MaxResponseBytes). Its body was not read past the cap. A panel that
// really holds that much data needs a larger cap; a hostile or broken one
// is stopped before it exhausts the memory of the caller.
type ResponseTooLargeError struct {
	Panel      string
	Op         string
	StatusCode int
	// Limit is the cap in bytes.
	Limit int64
}

// Error says which call answered too much.
func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("%s: %s: answer (HTTP %d) is larger than the %d-byte cap", e.Panel, e.Op, e.StatusCode, e.Limit)
}

// RedirectError is a redirect the client refused to follow: to another
// scheme or host (the request carries credentials, which must never reach
// another host), or one redirect too many. Nothing was sent to Location.
type RedirectError struct {
	Panel      string
	Op         string
	StatusCode int
	// Location is the refused target without its query (it may carry a
	// secret) and without user information.
	Location string
	// Reason says why it was refused.
	Reason string
}

// Error names the refused target without secrets.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("%s: %s: refused to follow an HTTP %d redirect to %s: %s", e.Panel, e.Op, e.StatusCode, e.Location, e.Reason)
}

// maxRedirects bounds a chain of same-origin redirects.
const maxRedirects = 5

func sameOriginRedirect(req *http.Request, via []*http.Request) error {
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	loc := *req.URL
	loc.User, loc.RawQuery, loc.ForceQuery, loc.Fragment = nil, "", false, ""
	orig := via[0].URL
	switch {
	case !strings.EqualFold(req.URL.Scheme, orig.Scheme) || !strings.EqualFold(req.URL.Host, orig.Host):
		return &RedirectError{StatusCode: status, Location: loc.String(), Reason: "another scheme or host"}
	case len(via) >= maxRedirects:
		return &RedirectError{StatusCode: status, Location: loc.String(), Reason: "too many redirects"}
	}
	return nil
}

// notSent reports whether err proves the request never reached the panel:
// the connection could not be opened, or the TLS handshake refused the
// panel's certificate.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var cve *tls.CertificateVerificationError
	return errors.As(err, &cve) || errors.Is(err, errPinMismatch)
}

func (c *Client) log(ctx context.Context, r *Request, class Class, status int, err error, attempts int, d time.Duration) {
	if c.logger == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("panel", c.panel),
		slog.String("op", r.Op),
		slog.String("method", r.Method),
		slog.String("url", redactURLString(r.URL)),
		slog.String("class", class.String()),
		slog.Int("attempts", attempts),
		slog.Duration("duration", d),
	}
	level := slog.LevelInfo
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
		if status >= 400 {
			level = slog.LevelWarn
		}
	}
	if err != nil {
		level = slog.LevelWarn
		if errors.Is(err, context.Canceled) {
			level = slog.LevelDebug
		}
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	if r.Params != nil && c.logger.Enabled(ctx, slog.LevelDebug) {
		attrs = append(attrs, slog.String("params", RedactValues(r.Params).Encode()))
	}
	c.logger.LogAttrs(ctx, level, "ispkit call", attrs...)
}

// TransportError is a failure below the panel protocol: connection refused,
// reset, timeout, TLS, or a cancelled context.
type TransportError struct {
	Panel    string
	Op       string
	URL      string // redacted
	Attempts int
	// MayHaveHappened is true for a non-idempotent call whose request may
	// have reached the panel: re-read state before sending it again.
	MayHaveHappened bool
	Err             error
}

// Error describes the failure without any secret.
func (e *TransportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: transport error after %d attempt(s)", e.Panel, e.Op, e.Attempts)
	if e.MayHaveHappened {
		b.WriteString(" (the call may have been executed by the panel)")
	}
	b.WriteString(": ")
	b.WriteString(redactText(e.Err.Error()))
	return b.String()
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// RateLimitError is returned when a panel asks to wait longer than the
// configured MaxRetryAfter.
type RateLimitError struct {
	Panel      string
	Op         string
	StatusCode int
	RetryAfter time.Duration
}

// Error says how long the panel asked to wait.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s: %s: panel asked to retry after %s (HTTP %d), more than allowed", e.Panel, e.Op, e.RetryAfter, e.StatusCode)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func redactErr(err error) string { return redactText(err.Error()) }

// secretNames lists parameter, header and cookie names whose values are never
// logged or put in error messages.
var secretNames = map[string]bool{
	"password": true, "passwd": true, "confirm": true, "checkpasswd": true,
	"authinfo": true, "auth": true, "key": true, "token": true, "ses6": true,
	"x-xsrf-token": true, "cookie": true, "set-cookie": true, "authorization": true,
	"secret": true, "adminpassword": true, "session": true, "sessionid": true,
}

// IsSecret reports whether a parameter, header or cookie name carries a secret.
func IsSecret(name string) bool {
	n := strings.ToLower(name)
	if secretNames[n] {
		return true
	}
	return strings.Contains(n, "pass") || strings.Contains(n, "secret") || strings.HasSuffix(n, "ses5") || strings.Contains(n, "token")
}

// RedactValues returns a copy of v with every secret value replaced.
func RedactValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		if IsSecret(k) {
			out[k] = []string{"REDACTED"}
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// RedactURL renders u without user info and with secret query values replaced.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		if q, err := url.ParseQuery(c.RawQuery); err == nil {
			c.RawQuery = RedactValues(q).Encode()
		} else {
			c.RawQuery = "REDACTED"
		}
	}
	return c.String()
}

func redactURLString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return RedactURL(u)
}

// redactText scrubs anything that looks like a URL query with secrets from a
// free-form error text (net/http errors quote the URL).
func redactText(s string) string {
	if !strings.Contains(s, "?") {
		return s
	}
	var b strings.Builder
	for _, f := range strings.Fields(s) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		trim := strings.Trim(f, `"':,`)
		if strings.Contains(trim, "://") && strings.Contains(trim, "?") {
			b.WriteString(strings.Replace(f, trim, redactURLString(trim), 1))
			continue
		}
		b.WriteString(f)
	}
	return b.String()
}

// Sleep waits d on the client's Clock, or until ctx is done (then it
// returns ctx.Err()). A caller that retries on its own above Do pauses
// with it, so that its waits run on the same clock as the client's.
func (c *Client) Sleep(ctx context.Context, d time.Duration) error {
	return c.clock.Sleep(ctx, d)
}

// Sleep waits for d or until ctx is done, whichever comes first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// FormBody encodes v as an application/x-www-form-urlencoded body.
func FormBody(v url.Values) ([]byte, http.Header) {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return []byte(v.Encode()), h
}
