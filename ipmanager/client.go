package ipmanager

import (
	"crypto/x509"
	"log/slog"
	"net/http"
	"time"

	"github.com/ispkit/ispkit/internal/clientopt"
	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// Panel function names used by the client (see the package doc for which
// of them are the project's assumptions).
const (
	FuncList   = "ip"        // list of addresses
	FuncEdit   = "ip.edit"   // view, allocate (create) and change an address
	FuncDelete = "ip.delete" // release addresses
	FuncGroups = "iptype"    // list of IP address groups
)

// Defaults.
const (
	// DefaultTimeout bounds one HTTP attempt.
	DefaultTimeout = clientopt.DefaultTimeout
)

type config struct {
	creds   mgr5.Credentials
	session bool
	lang    string
	http    httpx.Config
}

// Option configures a Client. Options validate their input; NewClient
// returns the first error as an *ArgumentError.
type Option func(*config) error

// WithCredentials sets the panel login. IPmanager integrations should use a
// user-level account with rights on the pools they allocate from. The
// password travels only in POST bodies and is never logged.
func WithCredentials(username, password string) Option {
	return func(c *config) error {
		if p := clientopt.Credentials("username", username, password); p != nil {
			return p.Err("WithCredentials", argErr)
		}
		c.creds = mgr5.Credentials{Username: username, Password: password}
		return nil
	}
}

// WithSessionAuth logs in once with func=auth and sends the session id
// (auth=) instead of authinfo on every call; an expired session is renewed
// once automatically. Use it when the panel restricts authinfo.
func WithSessionAuth() Option {
	return func(c *config) error { c.session = true; return nil }
}

// WithLang sets the language of the panel's error messages ("en", "ru").
func WithLang(lang string) Option {
	return func(c *config) error {
		var p *clientopt.Problem
		c.lang, p = clientopt.Lang(lang)
		return p.Err("WithLang", argErr)
	}
}

// WithHTTPClient uses a copy of hc for every attempt; its transport is kept
// (and wrapped by the rate limiter).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { return clientopt.HTTPClient(&c.http, hc).Err("WithHTTPClient", argErr) }
}

// WithTimeout bounds one HTTP attempt (default 60 s). The whole call,
// retries included, is bounded by the context.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error { return clientopt.Timeout(&c.http, d).Err("WithTimeout", argErr) }
}

// WithMaxResponseSize caps the size of one answer (default 256 MiB, four
// times a list of 100,000 servers); a larger answer fails with
// *ResponseTooLargeError and is not read on, so a broken or hostile panel
// cannot exhaust the caller's memory.
func WithMaxResponseSize(n int64) Option {
	return func(c *config) error {
		return clientopt.MaxResponseSize(&c.http, n).Err("WithMaxResponseSize", argErr)
	}
}

// WithInsecureSkipVerify disables TLS certificate verification. Panels on
// :1500 often run self-signed certificates; prefer WithRootCAs.
func WithInsecureSkipVerify() Option {
	return func(c *config) error { clientopt.InsecureSkipVerify(&c.http); return nil }
}

// WithRootCAs verifies the panel certificate against pool instead of the
// system roots.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) error { return clientopt.RootCAs(&c.http, pool).Err("WithRootCAs", argErr) }
}

// WithRetry sets the number of retries after the first attempt (0 = none)
// and the bounds of the jittered exponential backoff between them. Allocate
// is never retried, whatever this says. The default is 4 retries between
// 200 ms and 10 s.
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return func(c *config) error {
		return clientopt.Retry(&c.http, maxRetries, minWait, maxWait).Err("WithRetry", argErr)
	}
}

// WithRateLimit allows at most perSecond HTTP attempts per second (retries
// included) with the given burst.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) error {
		return clientopt.RateLimit(&c.http, perSecond, burst).Err("WithRateLimit", argErr)
	}
}

// WithLogger logs one record per call (and one per retry) to l; parameters
// are logged at debug level with secrets redacted. Without it the client is
// silent.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return clientopt.Logger(&c.http, l).Err("WithLogger", argErr) }
}

// WithApplication prepends "name/version" to the User-Agent.
func WithApplication(name, version string) Option {
	return func(c *config) error {
		return clientopt.Application(&c.http, name, version).Err("WithApplication", argErr)
	}
}

// Client is an IPmanager 5 client. It is safe for concurrent use.
type Client struct {
	m *mgr5.Client
}

// NewClient returns a client for the panel entry point baseURL, the full URL
// including the panel path, e.g. https://host:1500/ipmgr or
// https://host/manager/ipmgr. WithCredentials is required.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	u, p := clientopt.BaseURL(baseURL)
	if p != nil {
		return nil, p.Err("NewClient", argErr)
	}
	cfg := &config{}
	cfg.http.Timeout = DefaultTimeout
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	if cfg.creds.Username == "" {
		return nil, argErr("NewClient", "credentials", "WithCredentials is required")
	}
	mode := mgr5.AuthInfo
	if cfg.session {
		mode = mgr5.AuthSession
	}
	m, err := mgr5.NewClient(mgr5.Config{
		Panel: "ipmanager", Endpoint: u.String(), Credentials: cfg.creds,
		Mode: mode, Lang: cfg.lang, HTTP: cfg.http,
	})
	if err != nil {
		return nil, clientopt.Construction(err).Err("NewClient", argErr)
	}
	return &Client{m: m}, nil
}

// Endpoint returns the panel entry point URL.
func (c *Client) Endpoint() string { return c.m.Endpoint() }
