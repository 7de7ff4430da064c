package dcimanager5

import (
	"context"
	"crypto/x509"
	"errors"

	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ispkit/ispkit/internal/clientopt"
	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/internal/wait"
)

// Defaults used when no option overrides them.
const (
	// DefaultTimeout bounds one HTTP attempt. The WHMCS module uses 60 s
	//.
	DefaultTimeout = clientopt.DefaultTimeout
	// DefaultPollInterval and DefaultMaxPollInterval bound the jittered
	// exponential backoff of the waiters.
	DefaultPollInterval    = 2 * time.Second
	DefaultMaxPollInterval = 30 * time.Second
	// FreeHostname is the hostname that marks a free (released) server.
	FreeHostname = "free.ds"
	// NoOwner is the literal server.edit owner value that clears the owner.
	NoOwner = "no_owner"
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

// WithCredentials sets the DCImanager login (an administrator for billing
// integrations). The password travels only in POST bodies and never appears
// in logs, errors or URLs.
func WithCredentials(user, password string) Option {
	return shared(clientopt.WithCredentials(user, password))
}

// WithSessionAuth logs in once with func=auth and sends the session id
// (auth=) instead of authinfo on every call. An expired session (one hour
// idle on a real panel) is renewed once, transparently, and the call
// replayed. The default is authinfo on every call.
func WithSessionAuth() Option { return shared(clientopt.WithSessionAuth()) }

// WithLang sets the language of panel messages (lang=), e.g. "en" or "ru".
func WithLang(lang string) Option { return shared(clientopt.WithLang(lang)) }

// WithHTTPClient uses a copy of hc for every attempt; its transport is kept
// and wrapped by the rate limiter.
func WithHTTPClient(hc *http.Client) Option { return shared(clientopt.WithHTTPClient(hc)) }

// WithTransport sets the base HTTP transport (ignored with WithHTTPClient).
func WithTransport(rt http.RoundTripper) Option { return shared(clientopt.WithTransport(rt)) }

// WithTimeout bounds one HTTP attempt (default 60 s). The whole call,
// retries included, is bounded by the context.
func WithTimeout(d time.Duration) Option { return shared(clientopt.WithTimeout(d)) }

// WithMaxResponseSize caps the size of one answer (default 256 MiB, four
// times a list of 100,000 servers); a larger answer fails with
// *ResponseTooLargeError and is not read on, so a broken or hostile panel
// cannot exhaust the caller's memory.
func WithMaxResponseSize(n int64) Option { return shared(clientopt.WithMaxResponseSize(n)) }

// WithInsecureSkipVerify disables TLS certificate verification. Panels on
// :1500 usually run self-signed certificates; prefer WithRootCAs or
// WithPinnedCertificate.
func WithInsecureSkipVerify() Option { return shared(clientopt.WithInsecureSkipVerify()) }

// WithRootCAs verifies the panel certificate against pool instead of the
// system roots.
func WithRootCAs(pool *x509.CertPool) Option { return shared(clientopt.WithRootCAs(pool)) }

// WithPinnedCertificate accepts only a leaf certificate whose SHA-256
// fingerprint of the DER bytes is one of sha256hex (hex, colons allowed),
// without chain verification. It may be given several times.
func WithPinnedCertificate(sha256hex ...string) Option {
	return shared(clientopt.WithPinnedCertificate(sha256hex...))
}

// WithRetry sets the number of retries after the first attempt (0 = none;
// the default is 4; at most 100) and the bounds of the full-jitter
// exponential backoff. Only safe reads and idempotent writes are retried;
// see the package doc.
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return shared(clientopt.WithRetry(maxRetries, minWait, maxWait))
}

// WithMaxRetryAfter caps the Retry-After a panel (or a proxy) may ask for
// (default 30 s); a longer demand surfaces as *RateLimitError.
func WithMaxRetryAfter(d time.Duration) Option { return shared(clientopt.WithMaxRetryAfter(d)) }

// WithRateLimit allows at most perSecond HTTP attempts per second, retries
// and waiter polls included, with the given burst.
func WithRateLimit(perSecond float64, burst int) Option {
	return shared(clientopt.WithRateLimit(perSecond, burst))
}

// WithLogger logs one record per call (function, duration, attempts,
// outcome) and one per retry to l. Passwords, authinfo, session ids and
// keys are redacted. Without it the client is silent.
func WithLogger(l *slog.Logger) Option { return shared(clientopt.WithLogger(l)) }

// WithApplication prepends "name/version" to the User-Agent.
func WithApplication(name, version string) Option {
	return shared(clientopt.WithApplication(name, version))
}

// WithPollInterval sets the bounds of the jittered exponential backoff the
// waiters use between polls (default 2 s to 30 s). WaitOptions override it
// per call.
func WithPollInterval(min, max time.Duration) Option {
	return shared(clientopt.WithPollInterval(min, max))
}

// Client talks to one DCImanager 5 entry point. It is safe for concurrent
// use. Services are exposed as fields.
type Client struct {
	m       *mgr5.Client
	pollMin time.Duration
	pollMax time.Duration
	// clock paces the waiters' pauses; nil is the wall clock.
	clock wait.Clock

	// Servers manages servers: list, form, owner, power, install, waiters.
	Servers *ServersService
	// Connections manages a server's switch, IPMI and PDU connections.
	Connections *ConnectionsService
	// IPs manages a server's IP addresses.
	IPs *IPsService
	// OSTemplates lists OS templates.
	OSTemplates *OSTemplatesService
	// Networks lists the networks (IP pools) of the panel.
	Networks *NetworksService
	// Users manages panel users and single sign-on.
	Users *UsersService
	// Traffic reads traffic reports.
	Traffic *TrafficService
}

type service struct{ c *Client }

// NewClient builds a client for the DCImanager 5 entry point baseURL, the
// full URL including the panel path, e.g. "https://dci.example.com:1500/dcimgr"
// or "https://dci.example.com/manager/dcimgr". WithCredentials is required.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{Settings: clientopt.Settings{Package: "dcimanager5", UserArg: "user",
		PollMin: DefaultPollInterval, PollMax: DefaultMaxPollInterval}}
	cfg.HTTP.Timeout = DefaultTimeout
	u, p := clientopt.BaseURL(baseURL)
	if p != nil {
		return nil, cfg.Fail("NewClient", p)
	}
	if err := clientopt.Apply(&cfg, opts); err != nil {
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
		Panel: "dcimanager5", Endpoint: strings.TrimRight(u.String(), "/"),
		Credentials: mgr5.Credentials{Username: cfg.User, Password: cfg.Password},
		Mode:        mode, Lang: cfg.Lang, HTTP: cfg.HTTP,
	})
	if err != nil {
		return nil, cfg.NewClientError(err)
	}
	return wrap(m, cfg.PollMin, cfg.PollMax, cfg.WaitClock), nil
}

func wrap(m *mgr5.Client, pollMin, pollMax time.Duration, clock wait.Clock) *Client {
	c := &Client{m: m, pollMin: pollMin, pollMax: pollMax, clock: clock}
	s := &service{c: c}
	c.Servers = (*ServersService)(s)
	c.Connections = (*ConnectionsService)(s)
	c.IPs = (*IPsService)(s)
	c.OSTemplates = (*OSTemplatesService)(s)
	c.Networks = (*NetworksService)(s)
	c.Users = (*UsersService)(s)
	c.Traffic = (*TrafficService)(s)
	return c
}

// Endpoint returns the panel entry point URL.
func (c *Client) Endpoint() string { return c.m.Endpoint() }

// String describes the client without secrets.
func (c *Client) String() string { return "dcimanager5.Client(" + c.m.Endpoint() + ")" }

// Su returns a client that adds su=username to every call: an administrator
// acting with the rights of username, without a new login. The services of
// the returned client see only what username may see.
func (c *Client) Su(username string) *Client {
	return wrap(c.m.Su(username), c.pollMin, c.pollMax, c.clock)
}

// Identity is the account a client is logged in as.
type Identity struct {
	// Name is the login name.
	Name string
	// Level is the numeric access level (16 = user), when the panel tells.
	Level int
}

// WhoAmI returns the account the client authenticates as.
//
// Calls func=whoami.
func (c *Client) WhoAmI(ctx context.Context) (*Identity, error) {
	d, err := c.m.Call(ctx, mgr5.Request{Func: "whoami", Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	v := d.Value("user")
	id := &Identity{Name: v.Text}
	var u struct {
		Level string `json:"$level"`
		Name  string `json:"$name"`
	}
	if d.Into("user", &u) == nil {
		if id.Name == "" {
			id.Name = u.Name
		}
		id.Level = atoiOr0(u.Level)
	}
	return id, nil
}

// CheckConnection verifies that the panel answers and accepts the
// credentials. It calls func=whoami and, on a panel that does not know that
// function, falls back to a password login (func=auth). It returns nil or
// the error to show to an operator (IsAuth for bad credentials).
//
// Calls func=whoami, then func=auth if needed.
func (c *Client) CheckConnection(ctx context.Context) error {
	_, err := c.WhoAmI(ctx)
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) && pe.Type == mgr5.TypeMissed && pe.Object == "func" {
		_, err = c.m.Login(ctx)
	}
	return err
}

// call sends a request and decodes the document.
func (c *Client) call(ctx context.Context, r mgr5.Request) (*mgr5.Doc, error) {
	return c.m.Call(ctx, r)
}

// exec sends a command that must answer "ok".
func (c *Client) exec(ctx context.Context, r mgr5.Request) (*mgr5.Doc, error) {
	return c.m.Exec(ctx, r)
}
