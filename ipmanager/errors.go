package ipmanager

import (
	"errors"
	"fmt"
	"github.com/ispkit/ispkit"
	"net/http"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// Error is an error answered by the panel (doc.error): Type (auth, exists,
// missed, value, access, limit…), Object, Value and Message. It matches the
// sentinels below with errors.Is.
type Error = mgr5.Error

// Sentinel categories matched with errors.Is.
var (
	// ErrAuth: bad credentials or an expired session (type "auth").
	ErrAuth = mgr5.ErrAuth
	// ErrExists: the object already exists (type "exists"), e.g. a fixed
	// address that is already allocated.
	ErrExists = mgr5.ErrExists
	// ErrNotFound: the object does not exist (type "missed").
	ErrNotFound = mgr5.ErrNotFound
	// ErrValue: the panel rejected a field value (type "value").
	ErrValue = mgr5.ErrValue
	// ErrAccess: the account may not do this (type "access").
	ErrAccess = mgr5.ErrAccess
	// ErrPoolExhausted: the group has no free address of the family left.
	ErrPoolExhausted = errors.New("ipmanager: no free address left in the group")
	// ErrInvalidArgument: bad input detected before anything was sent.
	ErrInvalidArgument = ispkit.ErrInvalidArgument
	// ErrMayHaveHappened: a non-idempotent call (Allocate) may have been
	// executed by the panel although no answer was read.
	ErrMayHaveHappened = errors.New("ipmanager: the call may have been executed by the panel")
)

// IsAuth reports whether err is an authentication error.
func IsAuth(err error) bool { return errors.Is(err, ErrAuth) }

// IsExists reports whether err says the object already exists.
func IsExists(err error) bool { return errors.Is(err, ErrExists) }

// IsNotFound reports whether err says the address (or group) does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsValue reports whether the panel rejected a field value.
func IsValue(err error) bool { return errors.Is(err, ErrValue) }

// IsAccess reports whether err is an access-denied error.
func IsAccess(err error) bool { return errors.Is(err, ErrAccess) }

// IsPoolExhausted reports whether err says a group has no free address.
func IsPoolExhausted(err error) bool { return errors.Is(err, ErrPoolExhausted) }

// IsUncertain reports whether a non-idempotent call may have been executed
// although it failed (see [ErrMayHaveHappened]).
func IsUncertain(err error) bool { return errors.Is(err, ErrMayHaveHappened) }

// ArgumentError reports input refused before anything was sent: a bad
// option, a malformed name, a field out of range. It is the one type every
// ispkit package returns for refused input (its Package field says which
// package refused it), so one errors.As handles them all; it matches
// ErrInvalidArgument. The offending value is never part of the message: it
// may be a password.
type ArgumentError = ispkit.ArgumentError

func argErr(op, arg, reason string) error {
	return &ArgumentError{Package: "ipmanager", Op: op, Arg: arg, Reason: reason}
}

// PoolExhaustedError is returned by Allocate when the group has no free
// address of the requested family (panel answer: type "limit", object
// "iptype"). It matches ErrPoolExhausted and, through Unwrap, the panel's
// *Error.
type PoolExhaustedError struct {
	// Group and Family are those of the allocation request.
	Group  string
	Family Family
	// Err is the panel's answer.
	Err *Error
}

// Error implements error.
func (e *PoolExhaustedError) Error() string {
	s := fmt.Sprintf("ipmanager: Allocate: no free %s address left in the group %q", e.Family, e.Group)
	if e.Err != nil && e.Err.Message != "" {
		s += ": " + e.Err.Message
	}
	return s
}

// Is matches ErrPoolExhausted.
func (e *PoolExhaustedError) Is(target error) bool { return target == ErrPoolExhausted }

// Unwrap returns the panel error.
func (e *PoolExhaustedError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// UncertainError is returned by a non-idempotent call (Allocate) that failed
// after its request may have reached the panel: the connection dropped, the
// deadline passed, or the answer could not be read. The call was not
// repeated. Check with FindByDomainNote whether the address was allocated
// before trying again. It matches ErrMayHaveHappened and wraps the cause.
type UncertainError struct {
	// Op names the call, e.g. "Allocate".
	Op string
	// Err is the underlying transport or protocol error.
	Err error
}

// Error implements error.
func (e *UncertainError) Error() string {
	return fmt.Sprintf("ipmanager: %s: the panel may have executed the call (it was not resent; check before retrying): %v", e.Op, e.Err)
}

// Is matches ErrMayHaveHappened.
func (e *UncertainError) Is(target error) bool { return target == ErrMayHaveHappened }

// Unwrap returns the cause.
func (e *UncertainError) Unwrap() error { return e.Err }

// classifyAllocate turns the error of an allocation into the package's
// typed errors.
func classifyAllocate(err error, group string, family Family) error {
	var pe *Error
	if errors.As(err, &pe) {
		if pe.Type == mgr5.TypeLimit || strings.Contains(strings.ToLower(pe.Message), "no free") {
			return &PoolExhaustedError{Group: group, Family: family, Err: pe}
		}
		return err
	}
	var te *httpx.TransportError
	if errors.As(err, &te) {
		if te.MayHaveHappened {
			return &UncertainError{Op: "Allocate", Err: err}
		}
		return err
	}
	var pr *mgr5.ProtocolError
	if errors.As(err, &pr) && pr.StatusCode != http.StatusTooManyRequests {
		// The panel (or a proxy) answered something unreadable: the
		// allocation may have been done before the answer went wrong.
		return &UncertainError{Op: "Allocate", Err: err}
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
