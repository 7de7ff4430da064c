package ispmanager

import (
	"context"
	"crypto/x509"

	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ispkit/ispkit/internal/clientopt"
	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// Defaults.
const (
	// DefaultPath is the entry point appended to a base URL that has no
	// path ("https://host:1500" → "https://host:1500/ispmgr").
	DefaultPath = "/ispmgr"
	// DefaultTimeout bounds one HTTP attempt; the WHMCS ISPmanager module
	// uses 60 s.
	DefaultTimeout = clientopt.DefaultTimeout
	// DefaultMaxRetries is the number of retries of safe and idempotent
	// calls after the first attempt.
	DefaultMaxRetries = 4
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

// WithCredentials sets the administrator login the client uses (required).
// ISPmanager Business needs an Admin account, not a reseller (the vendor's
// BILLmanager page "Settings in ISPmanager"). The password is sent only in POST bodies and
// never appears in logs or errors.
func WithCredentials(username, password string) Option {
	return shared(clientopt.WithCredentials(username, password))
}

// WithSessionAuth logs in once with func=auth and sends the session id
// (auth=) instead of authinfo=user:password on every call. An expired
// session is renewed once and the call replayed. Use it where the panel
// restricts authinfo to a whitelist.
func WithSessionAuth() Option { return shared(clientopt.WithSessionAuth()) }

// WithLang sets the language of the panel's error messages ("en", "ru").
func WithLang(lang string) Option { return shared(clientopt.WithLang(lang)) }

// WithHTTPClient uses a copy of hc for every attempt; its transport is
// kept and wrapped by the rate limiter.
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
// :1500 usually run self-signed certificates; prefer WithRootCAs.
func WithInsecureSkipVerify() Option { return shared(clientopt.WithInsecureSkipVerify()) }

// WithRootCAs verifies the panel certificate against pool.
func WithRootCAs(pool *x509.CertPool) Option { return shared(clientopt.WithRootCAs(pool)) }

// WithRetry sets the number of retries after the first attempt (0 = none)
// and the bounds of the jittered exponential backoff between them. Only
// safe reads and idempotent writes are retried; user and preset creation
// are sent once (see the package documentation).
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return shared(clientopt.WithRetry(maxRetries, minWait, maxWait))
}

// WithRateLimit allows at most perSecond HTTP attempts per second (retries
// included) with the given burst.
func WithRateLimit(perSecond float64, burst int) Option {
	return shared(clientopt.WithRateLimit(perSecond, burst))
}

// WithLogger logs one record per call (parameters at debug level, retries
// at debug level) to l. Passwords, authinfo, session ids and login keys
// are redacted. Without it the client is silent.
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

// Client talks to one ISPmanager 5 panel as an administrator. It is safe
// for concurrent use. Services are exposed as fields.
type Client struct {
	m        *mgr5.Client
	username string

	// Users manages hosting accounts (user, user.add.finish, user.edit, …).
	Users *UsersService
	// Presets manages user templates (preset, preset.edit).
	Presets *PresetsService
	// Domains lists the WWW, mail and DNS domains of accounts.
	Domains *DomainsService
	// Addresses lists and adds the IP addresses of accounts.
	Addresses *AddressesService
}

type service struct{ c *Client }

// NewClient builds a client for the panel entry point baseURL, for example
// "https://host:1500/ispmgr" or "https://host/manager/ispmgr". A URL with
// no path gets [DefaultPath]. WithCredentials is required.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	u, p := clientopt.BaseURL(baseURL)
	if p != nil {
		return nil, p.Err("NewClient", argErr)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if u.Path == "" {
		u.Path = DefaultPath
	}
	cfg := config{Settings: clientopt.Settings{Package: "ispmanager", UserArg: "username"}}
	cfg.HTTP.Timeout = DefaultTimeout
	cfg.HTTP.MaxRetries = DefaultMaxRetries // WithRetry overrides; 0 is stored as -1
	if err := clientopt.Apply(&cfg, opts); err != nil {
		return nil, err
	}
	if cfg.User == "" {
		return nil, argErr("NewClient", "credentials", "use WithCredentials")
	}
	mode := mgr5.AuthInfo
	if cfg.Session {
		mode = mgr5.AuthSession
	}
	m, err := mgr5.NewClient(mgr5.Config{
		Panel: "ispmanager", Endpoint: u.String(), Credentials: mgr5.Credentials{Username: cfg.User, Password: cfg.Password},
		Mode: mode, Lang: cfg.Lang, HTTP: cfg.HTTP,
	})
	if err != nil {
		return nil, cfg.NewClientError(err)
	}
	c := &Client{m: m, username: cfg.User}
	s := &service{c: c}
	c.Users = (*UsersService)(s)
	c.Presets = (*PresetsService)(s)
	c.Domains = (*DomainsService)(s)
	c.Addresses = (*AddressesService)(s)
	return c, nil
}

// Endpoint returns the panel entry point URL.
func (c *Client) Endpoint() string { return c.m.Endpoint() }

// String describes the client without secrets.
func (c *Client) String() string {
	return "ispmanager.Client{" + c.m.Endpoint() + ", user " + c.username + "}"
}

// LoginURL returns a one-time browser link that logs username in to the
// panel without a password (the "log in to control panel" button): it
// creates a key with session.newkey (as administrator) and returns
// <endpoint>?func=auth&username=…&key=…&checkcookie=no.
// The URL is a credential: do not log it. (assumed) The fake keeps keys for one
// hour and accepts each once.
func (c *Client) LoginURL(ctx context.Context, username string) (string, error) {
	if err := validateUserName("LoginURL", username); err != nil {
		return "", err
	}
	return c.m.LoginURL(ctx, username)
}

// Edition is the ISPmanager product edition.
type Edition string

// Editions told apart by license.info.
const (
	EditionUnknown  Edition = ""
	EditionLite     Edition = "Lite"
	EditionBusiness Edition = "Business"
)

// License is the answer of license.info.
type License struct {
	// PanelName is the panel_name field, e.g. "ISPmanager Business".
	PanelName string
	// Mgr is the mgr field.
	Mgr string
	// Edition is Business when mgr or panel_name contains "Business"
	// (as JBS decides, the wire ledger), Lite when either names Lite or
	// the answer names a panel without saying Business, Unknown when
	// both are empty.
	Edition Edition
	// Fields holds every field of the answer by name.
	Fields map[string]string
}

// License reads the panel licence with license.info.
func (c *Client) License(ctx context.Context) (*License, error) {
	d, err := c.m.Call(ctx, mgr5.Request{Func: "license.info", Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	l := &License{Fields: map[string]string{}}
	for k, v := range d.Form() {
		l.Fields[k] = v.Text
	}
	l.PanelName, l.Mgr = l.Fields["panel_name"], l.Fields["mgr"]
	both := strings.ToLower(l.PanelName + " " + l.Mgr)
	switch {
	case strings.Contains(both, "business"):
		l.Edition = EditionBusiness
	case strings.TrimSpace(both) != "":
		l.Edition = EditionLite
	}
	return l, nil
}

// Edition tells ISPmanager Lite from Business with license.info. Lite has
// no resellers and no IP address management.
func (c *Client) Edition(ctx context.Context) (Edition, error) {
	l, err := c.License(ctx)
	if err != nil {
		return EditionUnknown, err
	}
	return l.Edition, nil
}

// Access levels the panel answers at log-in (see Client.AccessLevel).
// LevelUser (an ordinary hosting account) is confirmed by the vendor's
// own modules. (assumed) LevelAdmin: the vendor's API guide says the
// answer carries the caller's access level and advises checking it, but
// does not list the numbers; an administrator is taken to be 28 or above
// and a reseller to lie between the two.
const (
	LevelUser  = 16
	LevelAdmin = 28
)

// AccessLevel logs in with the client's credentials (func=auth with the
// password) and returns the access level the panel answers. BILLmanager
// needs an administrator on ISPmanager Business: a level below LevelAdmin
// (a reseller or a user) cannot create accounts from presets. It returns
// 0 when the panel names no level.
func (c *Client) AccessLevel(ctx context.Context) (int, error) {
	r, err := c.m.Login(ctx)
	if err != nil {
		return 0, err
	}
	n, _ := strconv.Atoi(r.Level)
	return n, nil
}
