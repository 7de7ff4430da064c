package billmanager

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"time"

	"github.com/ispkit/ispkit/internal/clientopt"
	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// ISPsystemURL is the API address of ISPsystem's own BILLmanager, the usual
// licensing server ("If you are integrating with ISPsystem BILLmanager,
// enter https://api.ispsystem.com/manager/billmgr", VMmanager/BILLmanager
// documentation). Resellers of ISPsystem licenses run their own BILLmanager
// at https://<host>/billmgr.
const ISPsystemURL = "https://api.ispsystem.com/manager/billmgr"

// DefaultTimeout bounds one HTTP attempt.
const DefaultTimeout = 60 * time.Second

type config struct {
	creds   mgr5.Credentials
	session bool
	lang    string
	http    httpx.Config
}

// Option configures a Client. Options validate their input; NewClient
// returns the first error as an *ArgumentError.
type Option func(*config) error

// WithCredentials sets the BILLmanager login: the customer account of the
// licensing server ("the user must have permissions to order licenses").
// The password travels only in POST bodies and is never logged.
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
// instead of authinfo on every call; an expired session (one hour idle) is
// renewed once automatically.
func WithSessionAuth() Option {
	return func(c *config) error { c.session = true; return nil }
}

// WithLang sets the language of BILLmanager's error messages ("en", "ru").
func WithLang(lang string) Option {
	return func(c *config) error {
		var p *clientopt.Problem
		c.lang, p = clientopt.Lang(lang)
		return p.Err("WithLang", argErr)
	}
}

// WithHTTPClient uses a copy of hc for every attempt.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { return clientopt.HTTPClient(&c.http, hc).Err("WithHTTPClient", argErr) }
}

// WithTimeout bounds one HTTP attempt (default 60 s). The whole call,
// retries included, is bounded by the context.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error { return clientopt.Timeout(&c.http, d).Err("WithTimeout", argErr) }
}

// WithInsecureSkipVerify disables TLS certificate verification (a
// reseller's BILLmanager on a self-signed certificate); prefer WithRootCAs.
func WithInsecureSkipVerify() Option {
	return func(c *config) error { clientopt.InsecureSkipVerify(&c.http); return nil }
}

// WithRootCAs verifies the server certificate against pool.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) error { return clientopt.RootCAs(&c.http, pool).Err("WithRootCAs", argErr) }
}

// WithRetry sets the number of retries after the first attempt (0 = none)
// and the bounds of the backoff between them. Order is never retried,
// whatever this says.
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return func(c *config) error {
		return clientopt.Retry(&c.http, maxRetries, minWait, maxWait).Err("WithRetry", argErr)
	}
}

// WithLogger logs one record per call to l, secrets redacted. Without it
// the client is silent.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return clientopt.Logger(&c.http, l).Err("WithLogger", argErr) }
}

// WithApplication prepends "name/version" to the User-Agent.
func WithApplication(name, version string) Option {
	return func(c *config) error {
		return clientopt.Application(&c.http, name, version).Err("WithApplication", argErr)
	}
}

// Client is a client for an upstream BILLmanager acting as a licensing
// server. It is safe for concurrent use.
type Client struct {
	m *mgr5.Client
}

// NewClient returns a client for the BILLmanager entry point baseURL, the
// full URL including the panel path, for example [ISPsystemURL] or
// https://billing.example.com/billmgr. WithCredentials is required.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	u, p := clientopt.BaseURL(baseURL)
	if p != nil {
		return nil, p.Err("NewClient", argErr)
	}
	cfg := &config{}
	cfg.http.Timeout = DefaultTimeout
	for _, o := range opts {
		if o == nil {
			return nil, argErr("NewClient", "option", "nil")
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
		Panel: "billmanager", Endpoint: u.String(), Credentials: cfg.creds,
		Mode: mode, Lang: cfg.lang, HTTP: cfg.http,
	})
	if err != nil {
		return nil, argErr("NewClient", "configuration", err.Error())
	}
	return &Client{m: m}, nil
}

// Endpoint returns the BILLmanager entry point URL.
func (c *Client) Endpoint() string { return c.m.Endpoint() }

// CheckConnection logs in (func=auth with the credentials) and reports
// whether BILLmanager accepted them: an error matching ErrAuth when it did
// not.
func (c *Client) CheckConnection(ctx context.Context) error {
	_, err := c.m.Login(ctx)
	return err
}
