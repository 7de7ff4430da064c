package ispmanager

import (
	"errors"
	"fmt"
	"github.com/ispkit/ispkit"
	"strconv"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// Error is an error answered by the panel (doc.error in an HTTP 200 body):
// Type ("exists", "missed", "value", "access", "auth", …), Object (what it
// is about: "user", "name", a field name), Value and the panel's Message.
// Secret values (passwords) are replaced by "REDACTED".
type Error = mgr5.Error

// ProtocolError is an answer the client cannot read: not JSON, no doc
// element, or an HTTP error status without doc.error (a proxy page).
type ProtocolError = mgr5.ProtocolError

// TransportError is a failure below the panel protocol (connection refused
// or reset, timeout, TLS, cancelled context). For a non-idempotent call
// (user.add.finish, preset creation) MayHaveHappened says the panel may
// have executed it: re-read state before sending it again.
type TransportError = httpx.TransportError

// RateLimitError is returned when the panel (or a proxy) asks to wait
// longer than the client allows before a retry.
type RateLimitError = httpx.RateLimitError

// Error categories matched by errors.Is against an *Error.
var (
	ErrAuth     = mgr5.ErrAuth     // type "auth": bad credentials or expired session
	ErrExists   = mgr5.ErrExists   // type "exists": object already exists
	ErrNotFound = mgr5.ErrNotFound // type "missed": object not found
	ErrValue    = mgr5.ErrValue    // type "value": invalid field value
	ErrAccess   = mgr5.ErrAccess   // type "access": insufficient rights
	// ErrInvalidArgument is matched by *ArgumentError (input refused
	// before anything was sent).
	ErrInvalidArgument = ispkit.ErrInvalidArgument
)

// IsAuth reports whether err is a panel authentication error.
func IsAuth(err error) bool { return mgr5.IsAuth(err) }

// IsExists reports whether err says an object already exists (any
// object: a user, a WWW domain, a preset).
func IsExists(err error) bool { return mgr5.IsExists(err) }

// IsNotFound reports whether err says the object does not exist (type
// "missed"), e.g. user.edit or preset.edit with an unknown name.
func IsNotFound(err error) bool { return mgr5.IsNotFound(err) }

// IsValue reports whether the panel rejected a field value (type "value").
func IsValue(err error) bool { return mgr5.IsValue(err) }

// IsAccess reports whether the panel refused the call for lack of rights.
func IsAccess(err error) bool { return mgr5.IsAccess(err) }

// IsUserExists reports whether err is user.add.finish's "exists"/"user"
// error: the user name is taken. The provision engine retries with the
// next candidate name (user_665 → user_6651 → …, the wire ledger).
func IsUserExists(err error) bool { return isExistsOf(err, "user") }

// IsDomainExists reports whether err is user.add.finish's "exists"/"name"
// error: the WWW domain sent with the user already exists. BILLmanager
// retries without the domain.
func IsDomainExists(err error) bool { return isExistsOf(err, "name") }

func isExistsOf(err error, object string) bool {
	var e *Error
	return errors.As(err, &e) && e.Type == mgr5.TypeExists && e.Object == object
}

// MayHaveHappened reports whether err is a transport failure of a
// non-idempotent call that may have reached the panel (for example the
// connection dropped after user.add.finish was sent). Check with Get
// before creating again.
func MayHaveHappened(err error) bool {
	var te *TransportError
	return errors.As(err, &te) && te.MayHaveHappened
}

// ArgumentError reports input refused before anything was sent: a bad
// option, a malformed name, a field out of range. It is the one type every
// ispkit package returns for refused input (its Package field says which
// package refused it), so one errors.As handles them all; it matches
// ErrInvalidArgument. The offending value is never part of the message: it
// may be a password.
type ArgumentError = ispkit.ArgumentError

func argErr(op, arg, reason string) error {
	return &ArgumentError{Package: "ispmanager", Op: op, Arg: arg, Reason: reason}
}

// LimitBelowUsageError is user.edit's refusal to set a limit lower than
// what the user already uses (the wire ledger: ISPmanager 5 refuses to lower
// a limit below current usage, e.g. a 50 MiB quota with 100 MiB in use).
//
// (inferred) The panel reports it as a doc.error of type "value" (or "limit")
// whose object is a numeric limit_* field; the client turns such an answer
// to a well-formed number in Users.Update into this type, reading the
// usage from the error's "usage" param when present. Err is the panel's
// error, so IsValue also matches.
type LimitBelowUsageError struct {
	// User is the user whose limit was being changed.
	User string
	// Limit is the limit name without the prefix ("db").
	Limit string
	// Requested is the refused value as sent.
	Requested string
	// Usage is the current usage the panel reported; 0 when it did not say.
	Usage int
	// Err is the panel's error.
	Err *Error
}

// Error implements error.
func (e *LimitBelowUsageError) Error() string {
	s := fmt.Sprintf("ispmanager: user %s: limit %s cannot be set to %s: below current usage", e.User, e.Limit, e.Requested)
	if e.Usage > 0 {
		s += " (" + strconv.Itoa(e.Usage) + ")"
	}
	if e.Err != nil && e.Err.Message != "" {
		s += ": " + e.Err.Message
	}
	return s
}

// Unwrap returns the panel's error.
func (e *LimitBelowUsageError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// IsLimitBelowUsage reports whether err is the panel refusing to lower a
// limit below the user's current usage.
func IsLimitBelowUsage(err error) bool {
	var e *LimitBelowUsageError
	return errors.As(err, &e)
}

// asLimitBelowUsage converts the panel's refusal of a limit_* value in
// user.edit into *LimitBelowUsageError; other errors pass unchanged.
func asLimitBelowUsage(err error, user string, sent map[string][]string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	if e.Type != mgr5.TypeValue && e.Type != mgr5.TypeLimit {
		return err
	}
	if !strings.HasPrefix(e.Object, LimitPrefix) || !IsNumericLimit(e.Object) {
		return err
	}
	requested := e.Value
	if vs := sent[e.Object]; len(vs) > 0 {
		requested = vs[0]
	}
	usage, uerr := strconv.Atoi(e.Params["usage"])
	if _, nerr := strconv.Atoi(requested); uerr != nil && nerr != nil {
		// Neither a usage nor a number that could be below one: some
		// other complaint about the value.
		return err
	}
	return &LimitBelowUsageError{User: user, Limit: strings.TrimPrefix(e.Object, LimitPrefix), Requested: requested, Usage: usage, Err: e}
}

// scrubSecrets removes the secrets the client sent (passwords) from a
// panel error's message and params, in case the panel quotes them in its
// text; the protocol layer already redacts the value of a secret field.
func scrubSecrets(err error, secrets ...string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		e.Message = strings.ReplaceAll(e.Message, s, "REDACTED")
		e.Value = strings.ReplaceAll(e.Value, s, "REDACTED")
		for k, v := range e.Params {
			e.Params[k] = strings.ReplaceAll(v, s, "REDACTED")
		}
	}
	return err
}

// RedirectError is a redirect the client refused to follow: to another
// scheme or host (the request carries the login or the session, which
// must never reach another host), or one redirect too many. Redirects on
// the same scheme and host are followed.
type RedirectError = httpx.RedirectError

// ResponseTooLargeError is an answer larger than the cap set with
// WithMaxResponseSize; the rest of it was not read.
type ResponseTooLargeError = httpx.ResponseTooLargeError
