// Package clientopt holds the validation and the settings behind the
// With… options that every ispkit panel client offers (timeouts, TLS,
// retries, rate limit, logging, User-Agent, language, credentials, poll
// intervals, base URL).
//
// The options themselves are defined once, here (options.go): each is a
// func(*Settings) error that validates its input through the setters
// below and reports a refusal as an *ispkit.ArgumentError naming the
// package and the option. Each panel package embeds Settings in its own
// config, keeps its own exported Option type (so that its docs and
// signatures stay its own) and re-exports every shared option in one line;
// Apply runs them, skipping nil ones. Per-package defaults (timeouts,
// retry budgets, poll intervals) are stored in the Settings before the
// options run. A test at the module root checks, option by option and
// package by package, that the four clients accept, refuse and apply the
// options alike.
//
// Where the packages used to differ, the strictest rule is kept: a
// language is 1 to 8 lowercase ASCII letters, retries are bounded to
// 0..100, a nil logger is rejected and a user name may contain neither
// ':' nor a line break.
package clientopt

import (
	"crypto/x509"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ispkit/ispkit/internal/httpx"
)

// MaxRetries is the largest number of retries Retry accepts.
const MaxRetries = 100

// DefaultTimeout bounds one HTTP attempt of every panel client unless an
// option says otherwise: 60 s, the timeout of the vendor's own WHMCS
// modules.
const DefaultTimeout = 60 * time.Second

// MaxResponseSize caps the size of one answer at n bytes (n > 0).
func MaxResponseSize(h *httpx.Config, n int64) *Problem {
	if n <= 0 {
		return problem("n", "must be positive")
	}
	h.MaxResponseBytes = n
	return nil
}

// Construction reports a configuration the HTTP core refused (for example
// TLS options with a custom RoundTripper that is not an *http.Transport).
func Construction(err error) *Problem {
	if err == nil {
		return nil
	}
	return problem("configuration", err.Error())
}

// Problem describes an invalid option argument. It never contains the
// offending value, which may be a secret.
type Problem struct {
	// Arg names the argument, e.g. "timeout".
	Arg string
	// Reason says what is wrong, e.g. "must be positive".
	Reason string
}

// Err turns p into a panel package's error for the option (or call) op:
// nil when p is nil, else newErr(op, p.Arg, p.Reason). newErr is the
// package's constructor of its *ArgumentError.
func (p *Problem) Err(op string, newErr func(op, arg, reason string) error) error {
	if p == nil {
		return nil
	}
	return newErr(op, p.Arg, p.Reason)
}

func problem(arg, reason string) *Problem { return &Problem{Arg: arg, Reason: reason} }

// HTTPClient makes h use a copy of hc for every attempt. hc must not be nil.
func HTTPClient(h *httpx.Config, hc *http.Client) *Problem {
	if hc == nil {
		return problem("client", "nil")
	}
	h.HTTPClient = hc
	return nil
}

// Transport sets the base transport of h (ignored when an HTTP client is
// set). rt must not be nil.
func Transport(h *httpx.Config, rt http.RoundTripper) *Problem {
	if rt == nil {
		return problem("transport", "nil")
	}
	h.Transport = rt
	return nil
}

// Timeout bounds one HTTP attempt of h to d, which must be positive.
func Timeout(h *httpx.Config, d time.Duration) *Problem {
	if d <= 0 {
		return problem("timeout", "must be positive")
	}
	h.Timeout = d
	return nil
}

// InsecureSkipVerify turns TLS certificate verification off in h.
func InsecureSkipVerify(h *httpx.Config) { h.InsecureSkipVerify = true }

// RootCAs makes h verify panel certificates against pool, which must not
// be nil.
func RootCAs(h *httpx.Config, pool *x509.CertPool) *Problem {
	if pool == nil {
		return problem("pool", "nil")
	}
	h.RootCAs = pool
	return nil
}

// PinnedCertificate adds the SHA-256 leaf certificate fingerprints (hex,
// colons and surrounding spaces allowed, any case) to the pins of h. At
// least one is required; when any is malformed none is added. The pins
// are stored normalised: lowercase hex without colons.
func PinnedCertificate(h *httpx.Config, sha256hex ...string) *Problem {
	if len(sha256hex) == 0 {
		return problem("fingerprint", "none given")
	}
	pins := make([]string, 0, len(sha256hex))
	for _, f := range sha256hex {
		p := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(f), ":", ""))
		if b, err := hex.DecodeString(p); err != nil || len(b) != 32 {
			return problem("fingerprint", "not a SHA-256 hex fingerprint")
		}
		pins = append(pins, p)
	}
	h.PinnedSHA256 = append(h.PinnedSHA256, pins...)
	return nil
}

// Retry sets the number of retries after the first attempt (0..MaxRetries;
// 0 means none, stored as the negative value httpx reads as "no retry")
// and the bounds of the backoff, 0 < minWait <= maxWait.
func Retry(h *httpx.Config, maxRetries int, minWait, maxWait time.Duration) *Problem {
	if maxRetries < 0 || maxRetries > MaxRetries {
		return problem("maxRetries", "must be in 0..100")
	}
	if minWait <= 0 || maxWait < minWait {
		return problem("wait", "need 0 < minWait <= maxWait")
	}
	h.MaxRetries = maxRetries
	if maxRetries == 0 {
		h.MaxRetries = -1
	}
	h.RetryWaitMin, h.RetryWaitMax = minWait, maxWait
	return nil
}

// Retries returns the number of retries after the first attempt that h
// holds, undoing the encoding of Retry: a negative MaxRetries ("none")
// gives 0. A client with its own default stores it in h.MaxRetries before
// the options run, since httpx reads 0 as "its default of 4".
func Retries(h *httpx.Config) int { return max(h.MaxRetries, 0) }

// MaxRetryAfter caps the Retry-After delay a panel may ask for in h; d
// must be positive.
func MaxRetryAfter(h *httpx.Config, d time.Duration) *Problem {
	if d <= 0 {
		return problem("d", "must be positive")
	}
	h.MaxRetryAfter = d
	return nil
}

// RateLimit allows h at most perSecond attempts per second (> 0) with the
// given burst (>= 1).
func RateLimit(h *httpx.Config, perSecond float64, burst int) *Problem {
	if !(perSecond > 0) { // also rejects NaN
		return problem("perSecond", "must be positive")
	}
	if burst < 1 {
		return problem("burst", "must be at least 1")
	}
	h.RateLimit, h.Burst = perSecond, burst
	return nil
}

// Logger makes h log to l, which must not be nil.
func Logger(h *httpx.Config, l *slog.Logger) *Problem {
	if l == nil {
		return problem("logger", "nil")
	}
	h.Logger = l
	return nil
}

// Application prepends "name/version" (or "name" when version is empty)
// to the User-Agent of h. name must not be empty; neither may contain
// spaces, slashes, tabs or line breaks.
func Application(h *httpx.Config, name, version string) *Problem {
	if name == "" || strings.ContainsAny(name+version, " /\r\n\t") {
		return problem("name", "empty or contains spaces, slashes or line breaks")
	}
	h.Application = name
	if version != "" {
		h.Application += "/" + version
	}
	return nil
}

// Lang validates a panel language code (lang=): 1 to 8 lowercase ASCII
// letters, such as "en" or "ru". It returns lang, or "" and a Problem.
func Lang(lang string) (string, *Problem) {
	if lang == "" || len(lang) > 8 || strings.IndexFunc(lang, func(r rune) bool { return r < 'a' || r > 'z' }) >= 0 {
		return "", problem("lang", "must be a short lowercase language code such as en or ru")
	}
	return lang, nil
}

// Credentials validates a login: user (named userArg in the Problem, e.g.
// "username" or "email") must not be blank nor contain ':' or a line
// break, and password must not be empty.
func Credentials(userArg, user, password string) *Problem {
	if strings.TrimSpace(user) == "" {
		return problem(userArg, "empty")
	}
	if strings.ContainsAny(user, ":\r\n") {
		return problem(userArg, "contains ':' or a line break")
	}
	if password == "" {
		return problem("password", "empty")
	}
	return nil
}

// PollInterval validates the bounds of a waiter's backoff between polls:
// 0 < min <= max.
func PollInterval(min, max time.Duration) *Problem {
	if min <= 0 || max < min {
		return problem("interval", "need 0 < min <= max")
	}
	return nil
}

// BaseURL parses a panel URL: an absolute http or https URL with a host
// and without user information, query or fragment. The Problem names the
// argument "baseURL" and never echoes the URL (it may carry a password).
func BaseURL(raw string) (*url.URL, *Problem) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, problem("baseURL", "not an http(s) URL with a host")
	}
	if u.User != nil {
		return nil, problem("baseURL", "must not carry credentials; use WithCredentials")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, problem("baseURL", "must not have a query or fragment")
	}
	return u, nil
}
