package ipmanager

import (
	"crypto/x509"
	"log/slog"
	"net/http"
	"time"

	"github.com/ispkit/ispkit/internal/clientopt"
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
	clientopt.Settings
}

// shared re-exports one of the options every ispkit client shares (their
// rules live in one place, internal/clientopt).
func shared(o clientopt.Option) Option { return func(c *config) error { return o(&c.Settings) } }

// Option configures a Client. The options every ispkit panel client
// offers behave the same in each: they validate their input, NewClient
// returns the first refusal as an *ArgumentError naming the option (Op
// "WithTimeout", …), and a nil Option is skipped.
type Option func(*config) error

// WithCredentials sets the panel login. IPmanager integrations should use a
// user-level account with rights on the pools they allocate from. The
// password travels only in POST bodies and is never logged.
func WithCredentials(username, password string) Option {
	return shared(clientopt.WithCredentials(username, password))
}

// WithSessionAuth logs in once with func=auth and sends the session id
// (auth=) instead of authinfo on every call; an expired session is renewed
// once automatically. Use it when the panel restricts authinfo.
func WithSessionAuth() Option { return shared(clientopt.WithSessionAuth()) }

// WithLang sets the language of the panel's error messages ("en", "ru").
func WithLang(lang string) Option { return shared(clientopt.WithLang(lang)) }

// WithHTTPClient uses a copy of hc for every attempt; its transport is kept
// (and wrapped by the rate limiter).
func WithHTTPClient(hc *http.Client) Option { return shared(clientopt.WithHTTPClient(hc)) }

// WithTimeout bounds one HTTP attempt (default 60 s). The whole call,
// retries included, is bounded by the context.
func WithTimeout(d time.Duration) Option { return shared(clientopt.WithTimeout(d)) }

// WithMaxResponseSize caps the size of one answer (default 256 MiB, four
// times a list of 100,000 servers); a larger answer fails with
// *ResponseTooLargeError and is not read on, so a broken or hostile panel
// cannot exhaust the caller's memory.
func WithMaxResponseSize(n int64) Option { return shared(clientopt.WithMaxResponseSize(n)) }

// WithInsecureSkipVerify disables TLS certificate verification. Panels on
// :1500 often run self-signed certificates; prefer WithRootCAs.
func WithInsecureSkipVerify() Option { return shared(clientopt.WithInsecureSkipVerify()) }

// WithRootCAs verifies the panel certificate against pool instead of the
// system roots.
func WithRootCAs(pool *x509.CertPool) Option { return shared(clientopt.WithRootCAs(pool)) }

// WithRetry sets the number of retries after the first attempt (0 = none)
// and the bounds of the jittered exponential backoff between them. Allocate
// is never retried, whatever this says. The default is 4 retries between
// 200 ms and 10 s.
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return shared(clientopt.WithRetry(maxRetries, minWait, maxWait))
}

// WithRateLimit allows at most perSecond HTTP attempts per second (retries
// included) with the given burst.
func WithRateLimit(perSecond float64, burst int) Option {
	return shared(clientopt.WithRateLimit(perSecond, burst))
}

// WithLogger logs one record per call (and one per retry) to l; parameters
// are logged at debug level with secrets redacted. Without it the client is
// silent.
func WithLogger(l *slog.Logger) Option { return shared(clientopt.WithLogger(l)) }

// WithApplication prepends "name/version" to the User-Agent.
func WithApplication(name, version string) Option {
	return shared(clientopt.WithApplication(name, version))
}

// WithTransport sets the base HTTP transport (ignored with WithHTTPClient);
// the rate limiter wraps it.
func WithTransport(rt http.RoundTripper) Option { return shared(clientopt.WithTransport(rt)) }

// WithPinnedCertificate accepts only a leaf certificate whose SHA-256
// fingerprint of the DER bytes is one of sha256hex (hex, colons allowed),
// without chain verification. It may be given several times.
func WithPinnedCertificate(sha256hex ...string) Option {
	return shared(clientopt.WithPinnedCertificate(sha256hex...))
}

// WithMaxRetryAfter caps the Retry-After a panel (or a proxy) may ask for
// (default 30 s); a longer demand surfaces as *RateLimitError.
func WithMaxRetryAfter(d time.Duration) Option { return shared(clientopt.WithMaxRetryAfter(d)) }

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
	cfg := &config{Settings: clientopt.Settings{Package: "ipmanager", UserArg: "username"}}
	cfg.HTTP.Timeout = DefaultTimeout
	if err := clientopt.Apply(cfg, opts); err != nil {
		return nil, err
	}
	if cfg.User == "" {
		return nil, argErr("NewClient", "credentials", "WithCredentials is required")
	}
	mode := mgr5.AuthInfo
	if cfg.Session {
		mode = mgr5.AuthSession
	}
	m, err := mgr5.NewClient(mgr5.Config{
		Panel: "ipmanager", Endpoint: u.String(), Credentials: mgr5.Credentials{Username: cfg.User, Password: cfg.Password},
		Mode: mode, Lang: cfg.Lang, HTTP: cfg.HTTP,
	})
	if err != nil {
		return nil, cfg.NewClientError(err)
	}
	return &Client{m: m}, nil
}

// Endpoint returns the panel entry point URL.
func (c *Client) Endpoint() string { return c.m.Endpoint() }
