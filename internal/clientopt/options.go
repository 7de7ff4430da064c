package clientopt

import (
	"crypto/x509"
	"log/slog"
	"net/http"
	"time"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/wait"
)

// Settings is the part of a panel client's configuration that the shared
// options set. Each panel package embeds it in its own config, fills in
// Package, UserArg and its defaults, and re-exports every option below as
// its own With… function (one line: the package's Option wrapping the
// shared one), so the rules, the error shape and the handling of a nil
// option exist once.
type Settings struct {
	// Package names the client package in errors, e.g. "dcimanager5".
	Package string
	// UserArg names the login argument of WithCredentials in errors:
	// "user", "email" or "username", as the package's signature does.
	UserArg string

	HTTP           httpx.Config
	User, Password string
	// Session selects session authentication (mgr5 panels).
	Session bool
	// Lang is the panel language (mgr5 panels); empty sends none.
	Lang string
	// PollMin and PollMax bound the waiters' backoff (panels with waiters).
	PollMin, PollMax time.Duration
	// WaitClock paces the waiters' pauses between polls (panels with
	// waiters); nil is the wall clock. Only WithClock sets it.
	WaitClock wait.Clock
}

// Clock is the time source of every pause of a client: the HTTP core's
// (rate limiter, backoff, Retry-After) and its waiters'. *wait.Fake is
// one.
type Clock interface {
	httpx.Clock
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// WithClock makes a client pause on c instead of the wall clock, so that
// a test observes the waits the client asks for (and moves time on
// itself) instead of timing them. It is not offered to users: each
// client package hands it to its own tests in export_test.go.
func WithClock(c Clock) Option {
	return func(s *Settings) error {
		if c == nil {
			return s.Fail("WithClock", problem("clock", "nil"))
		}
		s.HTTP.Clock, s.WaitClock = c, c
		return nil
	}
}

// Option is one shared option. It changes the Settings only when it
// returns nil; otherwise it returns an *ispkit.ArgumentError naming the
// package (Settings.Package) and the option (Op "WithTimeout", …).
type Option func(*Settings) error

// Fail turns p into the *ispkit.ArgumentError of the package for op; nil
// stays nil.
func (s *Settings) Fail(op string, p *Problem) error {
	if p == nil {
		return nil
	}
	return &ispkit.ArgumentError{Package: s.Package, Op: op, Arg: p.Arg, Reason: p.Reason}
}

// Apply runs opts against cfg in order through settings (the adapter of
// the package's own Option type), skipping nil options, and returns the
// first error. Every panel package's NewClient runs its options this
// way, so a nil option means the same everywhere: nothing.
func Apply[C any, O ~func(*C) error](cfg *C, opts []O) error {
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(cfg); err != nil {
			return err
		}
	}
	return nil
}

// WithCredentials sets the login: user must not be blank nor contain ':'
// or a line break, password must not be empty.
func WithCredentials(user, password string) Option {
	return func(s *Settings) error {
		if err := s.Fail("WithCredentials", Credentials(s.UserArg, user, password)); err != nil {
			return err
		}
		s.User, s.Password = user, password
		return nil
	}
}

// WithSessionAuth selects session authentication.
func WithSessionAuth() Option {
	return func(s *Settings) error { s.Session = true; return nil }
}

// WithLang sets the panel language (see Lang for the rule).
func WithLang(lang string) Option {
	return func(s *Settings) error {
		l, p := Lang(lang)
		if err := s.Fail("WithLang", p); err != nil {
			return err
		}
		s.Lang = l
		return nil
	}
}

// WithHTTPClient uses a copy of hc (not nil) for every attempt.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *Settings) error { return s.Fail("WithHTTPClient", HTTPClient(&s.HTTP, hc)) }
}

// WithTransport sets the base transport (not nil).
func WithTransport(rt http.RoundTripper) Option {
	return func(s *Settings) error { return s.Fail("WithTransport", Transport(&s.HTTP, rt)) }
}

// WithTimeout bounds one HTTP attempt to d > 0.
func WithTimeout(d time.Duration) Option {
	return func(s *Settings) error { return s.Fail("WithTimeout", Timeout(&s.HTTP, d)) }
}

// WithMaxResponseSize caps one answer at n > 0 bytes.
func WithMaxResponseSize(n int64) Option {
	return func(s *Settings) error { return s.Fail("WithMaxResponseSize", MaxResponseSize(&s.HTTP, n)) }
}

// WithInsecureSkipVerify turns TLS verification off.
func WithInsecureSkipVerify() Option {
	return func(s *Settings) error { InsecureSkipVerify(&s.HTTP); return nil }
}

// WithRootCAs verifies panel certificates against pool (not nil).
func WithRootCAs(pool *x509.CertPool) Option {
	return func(s *Settings) error { return s.Fail("WithRootCAs", RootCAs(&s.HTTP, pool)) }
}

// WithPinnedCertificate pins leaf certificates by SHA-256 fingerprint.
func WithPinnedCertificate(sha256hex ...string) Option {
	return func(s *Settings) error {
		return s.Fail("WithPinnedCertificate", PinnedCertificate(&s.HTTP, sha256hex...))
	}
}

// WithRetry sets the retries and the backoff bounds (see Retry).
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return func(s *Settings) error { return s.Fail("WithRetry", Retry(&s.HTTP, maxRetries, minWait, maxWait)) }
}

// WithMaxRetryAfter caps the Retry-After a panel may ask for (d > 0).
func WithMaxRetryAfter(d time.Duration) Option {
	return func(s *Settings) error { return s.Fail("WithMaxRetryAfter", MaxRetryAfter(&s.HTTP, d)) }
}

// WithRateLimit limits the attempts per second (see RateLimit).
func WithRateLimit(perSecond float64, burst int) Option {
	return func(s *Settings) error { return s.Fail("WithRateLimit", RateLimit(&s.HTTP, perSecond, burst)) }
}

// WithLogger logs every call to l (not nil).
func WithLogger(l *slog.Logger) Option {
	return func(s *Settings) error { return s.Fail("WithLogger", Logger(&s.HTTP, l)) }
}

// WithApplication prepends name/version to the User-Agent.
func WithApplication(name, version string) Option {
	return func(s *Settings) error { return s.Fail("WithApplication", Application(&s.HTTP, name, version)) }
}

// WithPollInterval sets the waiters' backoff bounds, 0 < min <= max.
func WithPollInterval(min, max time.Duration) Option {
	return func(s *Settings) error {
		if err := s.Fail("WithPollInterval", PollInterval(min, max)); err != nil {
			return err
		}
		s.PollMin, s.PollMax = min, max
		return nil
	}
}

// NewClientError reports a configuration the HTTP core refused at
// construction (Op "NewClient").
func (s *Settings) NewClientError(err error) error {
	return s.Fail("NewClient", Construction(err))
}
