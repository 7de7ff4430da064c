package ispmanager

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// Defaults.
const (
	// DefaultPath is the entry point appended to a base URL that has no
	// path ("https://host:1500" → "https://host:1500/ispmgr").
	DefaultPath = "/ispmgr"
	// DefaultTimeout bounds one HTTP attempt; the WHMCS ISPmanager module
	// uses 60 s (spec mgr5 §6).
	DefaultTimeout = 60 * time.Second
	// DefaultMaxRetries is the number of retries of safe and idempotent
	// calls after the first attempt.
	DefaultMaxRetries = 4
)

type config struct {
	creds   mgr5.Credentials
	session bool
	lang    string
	http    httpx.Config
	retries *int
}

// Option configures a Client. Options validate their input; NewClient
// returns the first error as an *ArgumentError.
type Option func(*config) error

// WithCredentials sets the administrator login the client uses (required).
// ISPmanager Business needs an Admin account, not a reseller (seed
// "Settings in ISPmanager"). The password is sent only in POST bodies and
// never appears in logs or errors.
func WithCredentials(username, password string) Option {
	return func(c *config) error {
		if strings.TrimSpace(username) == "" {
			return argErr("WithCredentials", "username", "empty")
		}
		if strings.ContainsAny(username, ":\r\n") {
			return argErr("WithCredentials", "username", "contains ':' or a line break")
		}
		if password == "" {
			return argErr("WithCredentials", "password", "empty")
		}
		c.creds = mgr5.Credentials{Username: username, Password: password}
		return nil
	}
}

// WithSessionAuth logs in once with func=auth and sends the session id
// (auth=) instead of authinfo=user:password on every call. An expired
// session is renewed once and the call replayed. Use it where the panel
// restricts authinfo to a whitelist (spec mgr5 §1.5).
func WithSessionAuth() Option {
	return func(c *config) error {
		c.session = true
		return nil
	}
}

// WithLang sets the language of the panel's error messages ("en", "ru").
func WithLang(lang string) Option {
	return func(c *config) error {
		if lang == "" || !isAlnum(lang) {
			return argErr("WithLang", "lang", "must be letters and digits")
		}
		c.lang = lang
		return nil
	}
}

// WithHTTPClient uses a copy of hc for every attempt; its transport is
// kept and wrapped by the rate limiter.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return argErr("WithHTTPClient", "client", "nil")
		}
		c.http.HTTPClient = hc
		return nil
	}
}

// WithTimeout bounds one HTTP attempt (default 60 s). The whole call,
// retries included, is bounded by the context.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return argErr("WithTimeout", "timeout", "must be positive")
		}
		c.http.Timeout = d
		return nil
	}
}

// WithInsecureSkipVerify disables TLS certificate verification. Panels on
// :1500 usually run self-signed certificates; prefer WithRootCAs.
func WithInsecureSkipVerify() Option {
	return func(c *config) error {
		c.http.InsecureSkipVerify = true
		return nil
	}
}

// WithRootCAs verifies the panel certificate against pool.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) error {
		if pool == nil {
			return argErr("WithRootCAs", "pool", "nil")
		}
		c.http.RootCAs = pool
		return nil
	}
}

// WithRetry sets the number of retries after the first attempt (0 = none)
// and the bounds of the jittered exponential backoff between them. Only
// safe reads and idempotent writes are retried; user and preset creation
// are sent once (see the package documentation).
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return func(c *config) error {
		if maxRetries < 0 || maxRetries > 100 {
			return argErr("WithRetry", "maxRetries", "must be in 0..100")
		}
		if minWait <= 0 || maxWait < minWait {
			return argErr("WithRetry", "wait", "need 0 < min <= max")
		}
		c.retries = &maxRetries
		c.http.RetryWaitMin, c.http.RetryWaitMax = minWait, maxWait
		return nil
	}
}

// WithRateLimit allows at most perSecond HTTP attempts per second (retries
// included) with the given burst.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) error {
		if perSecond <= 0 || burst < 1 {
			return argErr("WithRateLimit", "rate", "need perSecond > 0 and burst >= 1")
		}
		c.http.RateLimit, c.http.Burst = perSecond, burst
		return nil
	}
}

// WithLogger logs one record per call (parameters at debug level, retries
// at debug level) to l. Passwords, authinfo, session ids and login keys
// are redacted. Without it the client is silent.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return argErr("WithLogger", "logger", "nil")
		}
		c.http.Logger = l
		return nil
	}
}

// WithApplication prepends "name/version" to the User-Agent.
func WithApplication(name, version string) Option {
	return func(c *config) error {
		if name == "" || strings.ContainsAny(name+version, " /\r\n\t") {
			return argErr("WithApplication", "name", "empty or contains spaces, slashes or line breaks")
		}
		c.http.Application = name
		if version != "" {
			c.http.Application += "/" + version
		}
		return nil
	}
}

func isAlnum(s string) bool {
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// Client talks to one ISPmanager 5 panel as an administrator. It is safe
// for concurrent use. Services are exposed as fields.
type Client struct {
	m        *mgr5.Client
	username string

	// Users manages hosting accounts (user, user.add.finish, user.edit, …).
	Users *UsersService
	// Presets manages user templates (preset, preset.edit).
	Presets *PresetsService
}

type service struct{ c *Client }

// NewClient builds a client for the panel entry point baseURL, for example
// "https://host:1500/ispmgr" or "https://host/manager/ispmgr". A URL with
// no path gets [DefaultPath]. WithCredentials is required.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, argErr("NewClient", "baseURL", "not an http(s) URL with a host")
	}
	if u.User != nil {
		return nil, argErr("NewClient", "baseURL", "must not carry credentials; use WithCredentials")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, argErr("NewClient", "baseURL", "must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if u.Path == "" {
		u.Path = DefaultPath
	}
	cfg := config{}
	cfg.http.Timeout = DefaultTimeout
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.creds.Username == "" {
		return nil, argErr("NewClient", "credentials", "use WithCredentials")
	}
	retries := DefaultMaxRetries
	if cfg.retries != nil {
		retries = *cfg.retries
	}
	cfg.http.MaxRetries = retries
	if retries == 0 {
		cfg.http.MaxRetries = -1
	}
	mode := mgr5.AuthInfo
	if cfg.session {
		mode = mgr5.AuthSession
	}
	m, err := mgr5.NewClient(mgr5.Config{
		Panel: "ispmanager", Endpoint: u.String(), Credentials: cfg.creds,
		Mode: mode, Lang: cfg.lang, HTTP: cfg.http,
	})
	if err != nil {
		return nil, fmt.Errorf("ispmanager: %w", err)
	}
	c := &Client{m: m, username: cfg.creds.Username}
	s := &service{c: c}
	c.Users = (*UsersService)(s)
	c.Presets = (*PresetsService)(s)
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
// <endpoint>?func=auth&username=…&key=…&checkcookie=no (spec mgr5 §1.5).
// The URL is a credential: do not log it. [G] The fake keeps keys for one
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
	// (as JBS decides, spec mgr5 §5.1), Lite when either names Lite or
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
// no resellers and no IP address management (spec mgr5 §6).
func (c *Client) Edition(ctx context.Context) (Edition, error) {
	l, err := c.License(ctx)
	if err != nil {
		return EditionUnknown, err
	}
	return l.Edition, nil
}
