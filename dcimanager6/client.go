package dcimanager6

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ispkit/ispkit/internal/clientopt"
	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/wait"
)

// Defaults. The retry budget follows the vendor's own example, which
// retries every call 10 times while the platform answers 503.
const (
	DefaultAPIPrefix    = "/api"
	DefaultTimeout      = clientopt.DefaultTimeout
	DefaultMaxRetries   = 10
	DefaultRetryWaitMin = 100 * time.Millisecond
	DefaultRetryWaitMax = 5 * time.Second
	DefaultPollMin      = time.Second
	DefaultPollMax      = 10 * time.Second
	defaultPageSize     = 100
)

type config struct {
	clientopt.Settings
	prefix string
	token  string
}

// shared re-exports one of the options every ispkit client shares (their
// rules live in one place, internal/clientopt).
func shared(o clientopt.Option) Option { return func(c *config) error { return o(&c.Settings) } }

// Option configures a Client. The options every ispkit panel client
// offers behave the same in each: they validate their input, NewClient
// returns the first refusal as an *ArgumentError naming the option (Op
// "WithTimeout", …), and a nil Option is skipped.
type Option func(*config) error

// WithCredentials sets the e-mail and password of the panel user the
// client logs in as (auth v4). The password is sent only in the body of
// the token request and never appears in logs or errors.
func WithCredentials(email, password string) Option {
	return shared(clientopt.WithCredentials(email, password))
}

// WithToken starts the client with an existing session token (for
// example from a key exchange). Without credentials the client cannot
// renew it: a 401 is then returned to the caller.
func WithToken(token string) Option {
	return func(c *config) error {
		if token == "" || strings.ContainsAny(token, "\r\n;, ") {
			return argErr("WithToken", "token", "empty or not a header-safe value")
		}
		c.token = token
		return nil
	}
}

// WithAPIPrefix sets the path put between the base URL and
// /<service>/<version>/…; the default is "/api". Use "" for instances
// (or proxies) that serve the services at the root, as VMmanager 6 does.
func WithAPIPrefix(prefix string) Option {
	return func(c *config) error {
		p := strings.TrimRight(prefix, "/")
		if p != "" && !strings.HasPrefix(p, "/") {
			return argErr("WithAPIPrefix", "prefix", "must be empty or start with /")
		}
		if strings.ContainsAny(p, "?#% \r\n") || strings.Contains(p, "..") {
			return argErr("WithAPIPrefix", "prefix", "must be a plain path")
		}
		c.prefix = p
		return nil
	}
}

// WithHTTPClient uses a copy of hc for every attempt. Its transport is
// kept (and wrapped by the rate limiter).
func WithHTTPClient(hc *http.Client) Option { return shared(clientopt.WithHTTPClient(hc)) }

// WithTimeout bounds one HTTP attempt (default 60 s). The whole call,
// retries included, is bounded by the context.
func WithTimeout(d time.Duration) Option { return shared(clientopt.WithTimeout(d)) }

// WithMaxResponseSize caps the size of one answer (default 256 MiB, four
// times a list of 100,000 servers); a larger answer fails with
// *ResponseTooLargeError and is not read on, so a broken or hostile panel
// cannot exhaust the caller's memory.
func WithMaxResponseSize(n int64) Option { return shared(clientopt.WithMaxResponseSize(n)) }

// WithInsecureSkipVerify disables TLS certificate verification. Prefer
// WithRootCAs or WithPinnedCertificate for self-signed panels.
func WithInsecureSkipVerify() Option { return shared(clientopt.WithInsecureSkipVerify()) }

// WithRootCAs verifies the panel certificate against pool.
func WithRootCAs(pool *x509.CertPool) Option { return shared(clientopt.WithRootCAs(pool)) }

// WithPinnedCertificate accepts only a leaf certificate whose SHA-256
// fingerprint of the DER bytes is one of sha256hex (hex, colons allowed),
// without chain verification. It may be given several times.
func WithPinnedCertificate(sha256hex ...string) Option {
	return shared(clientopt.WithPinnedCertificate(sha256hex...))
}

// WithRetry sets the number of retries after the first attempt (0 = none)
// and the bounds of the jittered exponential backoff between them.
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return shared(clientopt.WithRetry(maxRetries, minWait, maxWait))
}

// WithRateLimit allows at most perSecond HTTP attempts per second (retries
// and waiter polls included) with the given burst.
func WithRateLimit(perSecond float64, burst int) Option {
	return shared(clientopt.WithRateLimit(perSecond, burst))
}

// WithLogger logs one record per call (and one per retry at debug level)
// to l. Secrets are redacted. Without it the client is silent.
func WithLogger(l *slog.Logger) Option { return shared(clientopt.WithLogger(l)) }

// WithApplication prepends "name/version" to the User-Agent.
func WithApplication(name, version string) Option {
	return shared(clientopt.WithApplication(name, version))
}

// WithPollInterval sets the bounds of the jittered exponential backoff
// the waiters use between polls (default 1 s to 10 s).
func WithPollInterval(min, max time.Duration) Option {
	return shared(clientopt.WithPollInterval(min, max))
}

// WithTransport sets the base HTTP transport (ignored with WithHTTPClient);
// the rate limiter wraps it.
func WithTransport(rt http.RoundTripper) Option { return shared(clientopt.WithTransport(rt)) }

// WithMaxRetryAfter caps the Retry-After a panel (or a proxy) may ask for
// (default 30 s); a longer demand surfaces as *RateLimitError.
func WithMaxRetryAfter(d time.Duration) Option { return shared(clientopt.WithMaxRetryAfter(d)) }

// Client talks to one DCImanager 6 instance. It is safe for concurrent
// use. Services are exposed as fields.
type Client struct {
	base    string // scheme://host[:port][/path] without trailing slash
	prefix  string
	email   string
	pass    string
	h       *httpx.Client
	pollMin time.Duration
	pollMax time.Duration
	clock   wait.Clock // paces the waiters; nil is the wall clock
	retries int
	waitMin time.Duration
	waitMax time.Duration

	mu      sync.Mutex // guards token
	token   string
	loginMu sync.Mutex // one login at a time

	Auth        *AuthService
	Servers     *ServersService
	Users       *UsersService
	Locations   *LocationsService
	OSTemplates *OSTemplatesService
	Operations  *OperationsService
	Switches    *SwitchesService
	IPs         *IPsService
}

type service struct{ c *Client }

// NewClient builds a client for the panel at baseURL (for example
// "https://dci.example.com"). WithCredentials (or WithToken) is required.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{prefix: DefaultAPIPrefix, Settings: clientopt.Settings{Package: "dcimanager6", UserArg: "email",
		PollMin: DefaultPollMin, PollMax: DefaultPollMax}}
	cfg.HTTP.Timeout = DefaultTimeout
	cfg.HTTP.RetryWaitMin, cfg.HTTP.RetryWaitMax = DefaultRetryWaitMin, DefaultRetryWaitMax
	cfg.HTTP.MaxRetries = DefaultMaxRetries // WithRetry overrides; 0 is stored as -1
	u, p := clientopt.BaseURL(baseURL)
	if p != nil {
		return nil, cfg.Fail("NewClient", p)
	}
	if err := clientopt.Apply(&cfg, opts); err != nil {
		return nil, err
	}
	if cfg.Password == "" && cfg.token == "" {
		return nil, argErr("NewClient", "credentials", "use WithCredentials or WithToken")
	}
	retries := clientopt.Retries(&cfg.HTTP)
	cfg.HTTP.Panel = "dcimanager6"
	h, err := httpx.New(cfg.HTTP)
	if err != nil {
		return nil, cfg.NewClientError(err)
	}
	c := &Client{
		base: strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), prefix: cfg.prefix,
		email: cfg.User, pass: cfg.Password, token: cfg.token, h: h,
		pollMin: cfg.PollMin, pollMax: cfg.PollMax, clock: cfg.WaitClock,
		retries: retries, waitMin: cfg.HTTP.RetryWaitMin, waitMax: cfg.HTTP.RetryWaitMax,
	}
	s := &service{c: c}
	c.Auth = (*AuthService)(s)
	c.Servers = (*ServersService)(s)
	c.Users = (*UsersService)(s)
	c.Locations = (*LocationsService)(s)
	c.OSTemplates = (*OSTemplatesService)(s)
	c.Operations = (*OperationsService)(s)
	c.Switches = (*SwitchesService)(s)
	c.IPs = (*IPsService)(s)
	return c, nil
}

// BaseURL returns the panel URL the client was built with (no prefix).
func (c *Client) BaseURL() string { return c.base }

// APIPrefix returns the configured API prefix.
func (c *Client) APIPrefix() string { return c.prefix }

// String describes the client without secrets.
func (c *Client) String() string {
	return "dcimanager6.Client{" + c.base + c.prefix + ", user " + c.email + "}"
}

// call is one API request.
type call struct {
	op     string
	method string
	path   string // below the prefix
	query  string // raw, already encoded
	body   any
	class  httpx.Class
	// expect lists the success statuses; nil means any 2xx.
	expect []int
}

// do sends cl with the session, renews the session once on 401 and
// decodes the JSON answer into out (nil to discard).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var body []byte
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return argErr(cl.op, "body", err.Error())
		}
		body = b
	}
	tok, err := c.session(ctx)
	if err != nil {
		return err
	}
	resp, err := c.send(ctx, cl, body, tok)
	if err != nil {
		return err
	}
	if isSessionError(resp) && c.pass != "" {
		tok, err = c.relogin(ctx, tok)
		if err != nil {
			return err
		}
		resp, err = c.send(ctx, cl, body, tok)
		if err != nil {
			return err
		}
	}
	return c.decode(cl, resp, out)
}

func (c *Client) url(path, query string) string {
	u := c.base + c.prefix + path
	if query != "" {
		u += "?" + query
	}
	return u
}

// send performs the HTTP exchange. httpx retries safe and idempotent
// calls; a non-idempotent call that gets 503 is retried here as well,
// because a suspended platform answers 503 without executing anything
// .
func (c *Client) send(ctx context.Context, cl call, body []byte, tok string) (*httpx.Response, error) {
	h := http.Header{}
	h.Set("Accept", "application/json")
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	if tok != "" {
		h.Set("x-xsrf-token", tok)
		h.Set("Cookie", "ses6="+tok)
	}
	h.Set("isp-box-instance", "true")
	class := cl.class
	req := &httpx.Request{Method: cl.method, URL: c.url(cl.path, cl.query), Header: h, Body: body,
		Op: cl.op, Class: &class}
	if cl.query != "" {
		req.Params = queryParams(cl.query)
	}
	attempts := 0
	for try := 0; ; try++ {
		resp, err := c.h.Do(ctx, req)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
				return nil, fmt.Errorf("%w (%v)", ctxErr, err)
			}
			return nil, err
		}
		attempts += resp.Attempts
		resp.Attempts = attempts
		if resp.StatusCode != http.StatusServiceUnavailable || class != httpx.NonIdempotent || try >= c.retries {
			return resp, nil
		}
		if err := c.h.Sleep(ctx, httpx.Backoff(c.waitMin, c.waitMax, try)); err != nil {
			return nil, err
		}
	}
}

func isSessionError(resp *httpx.Response) bool {
	if resp.StatusCode == http.StatusUnauthorized {
		return true
	}
	if resp.StatusCode >= 400 && resp.StatusCode < 500 {
		var w wireError
		return json.Unmarshal(resp.Body, &w) == nil && w.Error != nil && w.Error.Code == CodeUnauthorized
	}
	return false
}

func (c *Client) decode(cl call, resp *httpx.Response, out any) error {
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if cl.expect != nil {
		ok = false
		for _, s := range cl.expect {
			ok = ok || resp.StatusCode == s
		}
	}
	if !ok {
		return decodeError(cl.op, cl.method, c.prefix+cl.path, resp)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return &ProtocolError{Op: cl.op, Path: c.prefix + cl.path, StatusCode: resp.StatusCode, Err: err, Size: len(resp.Body)}
	}
	return nil
}

// session returns the current token, logging in first when there is none.
func (c *Client) session(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	return c.relogin(ctx, "")
}

// relogin replaces the token stale with a fresh one. Concurrent callers
// holding the same stale token share one login.
func (c *Client) relogin(ctx context.Context, stale string) (string, error) {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.mu.Lock()
	cur := c.token
	c.mu.Unlock()
	if cur != "" && cur != stale {
		return cur, nil
	}
	if c.pass == "" {
		return "", &Error{StatusCode: http.StatusUnauthorized, Code: CodeUnauthorized, Op: "Auth.Login",
			Method: http.MethodPost, Path: c.prefix + pathToken, Msg: "session expired and no credentials to renew it"}
	}
	tok, err := c.login(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.token = tok
	c.mu.Unlock()
	return tok, nil
}

// login performs POST /auth/v4/public/token. It is an idempotent write:
// retried on 503 ("waking up"), 5xx and transport errors.
func (c *Client) login(ctx context.Context) (string, error) {
	body, err := json.Marshal(map[string]string{"email": c.email, "password": c.pass})
	if err != nil {
		return "", err
	}
	cl := call{op: "Auth.Login", method: http.MethodPost, path: pathToken, class: httpx.IdempotentWrite,
		expect: []int{http.StatusCreated, http.StatusOK}}
	resp, err := c.send(ctx, cl, body, "")
	if err != nil {
		return "", err
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := c.decode(cl, resp, &out); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Value = nil // never echo anything the panel said about the login body
		}
		return "", err
	}
	if out.Token == "" || strings.ContainsAny(out.Token, "\r\n;, ") {
		return "", &ProtocolError{Op: cl.op, Path: c.prefix + cl.path, StatusCode: resp.StatusCode,
			Err: errors.New("no usable token in the answer"), Size: len(resp.Body)}
	}
	return out.Token, nil
}

// Login logs in now (instead of on first use) and reports the result.
func (c *Client) Login(ctx context.Context) error {
	c.mu.Lock()
	stale := c.token
	c.mu.Unlock()
	_, err := c.relogin(ctx, stale)
	return err
}

// Do calls an endpoint the client does not wrap. path is below the API
// prefix ("/dci/v3/server"), opts (may be nil) become where/orderby/limit,
// body (may be nil) is sent as JSON and the answer is decoded into out
// (may be nil). GET is retried, DELETE is retried as an idempotent write,
// anything else is sent once.
func (c *Client) Do(ctx context.Context, method, path string, opts *ListOptions, body, out any) error {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") || strings.Contains(path, "..") {
		return argErr("Do", "path", "must start with / and have no query or ..")
	}
	q, err := opts.encode("Do", Where{})
	if err != nil {
		return err
	}
	class := httpx.NonIdempotent
	switch method {
	case http.MethodGet, http.MethodHead:
		class = httpx.SafeRead
	case http.MethodDelete:
		class = httpx.IdempotentWrite
	}
	return c.do(ctx, call{op: "Do " + method + " " + path, method: method, path: path, query: q, body: body, class: class}, out)
}

// ---- generic helpers ----

type listEnvelope[T any] struct {
	List []T  `json:"list"`
	Size *int `json:"size"`
}

func get[T any](ctx context.Context, c *Client, op, path string) (*T, error) {
	var out T
	if err := c.do(ctx, call{op: op, method: http.MethodGet, path: path, class: httpx.SafeRead}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func list[T any](ctx context.Context, c *Client, op, path string, opts *ListOptions, extra Where) ([]T, int, error) {
	q, err := opts.encode(op, extra)
	if err != nil {
		return nil, 0, err
	}
	var env listEnvelope[T]
	if err := c.do(ctx, call{op: op, method: http.MethodGet, path: path, query: q, class: httpx.SafeRead}, &env); err != nil {
		return nil, 0, err
	}
	total := len(env.List)
	if env.Size != nil {
		total = *env.Size
	}
	return env.List, total, nil
}

// all pages through a list: it copies opts, uses opts.Limit.Count (or 100)
// as the page size starting at opts.Limit.Offset, and stops on a short or
// empty page, when the reported total is reached, or when ctx is done.
func all[T any](ctx context.Context, c *Client, op, path string, opts *ListOptions, extra Where) func(yield func(T, error) bool) {
	return func(yield func(T, error) bool) {
		var o ListOptions
		if opts != nil {
			o = *opts
		}
		r := Range{Count: defaultPageSize}
		if o.Limit != nil {
			r = *o.Limit
		}
		for {
			if err := ctx.Err(); err != nil {
				var zero T
				yield(zero, err)
				return
			}
			page := r
			o.Limit = &page
			items, total, err := list[T](ctx, c, op, path, &o, extra)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			r.Offset += len(items)
			if len(items) == 0 || len(items) < r.Count || r.Offset >= total {
				return
			}
		}
	}
}

func pathf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func checkID(op, arg string, id int64) error {
	if id <= 0 {
		return argErr(op, arg, "must be a positive ID")
	}
	return nil
}

// jsonNull is an explicit JSON null in a request body.
var jsonNull = json.RawMessage("null")
