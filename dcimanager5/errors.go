package dcimanager5

import (
	"errors"
	"fmt"
	"github.com/ispkit/ispkit"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// Error is an error reported by the panel in doc.error (the panels answer
// HTTP 200 with an error body): Type (auth, exists, missed, value,
// access, …), Object, Value and the localised Message. Match it with
// errors.As or the Is… predicates.
type Error = mgr5.Error

// ProtocolError is an answer the client cannot interpret: not JSON, no doc
// element, a non-200 status without doc.error (a proxy error page), or a
// command without "ok".
type ProtocolError = mgr5.ProtocolError

// TransportError is a failure below the panel protocol (connection refused
// or reset, timeout, TLS, cancelled context). For a non-idempotent call
// (IP allocation, OS install, user creation, reboot) MayHaveHappened tells
// that the panel may have executed it: re-read state before resending.
type TransportError = httpx.TransportError

// RateLimitError is returned when the panel or a proxy asks to wait longer
// than WithMaxRetryAfter allows.
type RateLimitError = httpx.RateLimitError

// Error types reported in Error.Type.
const (
	TypeAuth   = mgr5.TypeAuth
	TypeExists = mgr5.TypeExists
	TypeMissed = mgr5.TypeMissed
	TypeValue  = mgr5.TypeValue
	TypeAccess = mgr5.TypeAccess
)

// Sentinel categories matched by errors.Is. Panel errors (*Error) match by
// type; errors synthesised by this package (a user not found by name, a
// server missing from the list) wrap ErrNotFound.
var (
	ErrAuth     = mgr5.ErrAuth
	ErrExists   = mgr5.ErrExists
	ErrNotFound = mgr5.ErrNotFound
	ErrValue    = mgr5.ErrValue
	ErrAccess   = mgr5.ErrAccess
	// ErrInvalidArgument is matched by *ArgumentError.
	ErrInvalidArgument = ispkit.ErrInvalidArgument
)

// IsAuth reports whether err is an authentication failure (bad password,
// expired key or session that could not be renewed).
func IsAuth(err error) bool { return errors.Is(err, ErrAuth) }

// IsExists reports whether the panel said the object already exists.
func IsExists(err error) bool { return errors.Is(err, ErrExists) }

// IsNotFound reports whether the object does not exist (panel type
// "missed", or not found by this package).
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsValue reports whether the panel rejected a field value.
func IsValue(err error) bool { return errors.Is(err, ErrValue) }

// IsAccess reports whether the panel denied access.
func IsAccess(err error) bool { return errors.Is(err, ErrAccess) }

// MayHaveHappened reports whether err is a transport failure of a
// non-idempotent call that may nevertheless have been executed by the
// panel. Re-read the panel's state before trying again.
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
	return &ArgumentError{Package: "dcimanager5", Op: op, Arg: arg, Reason: reason}
}

// InstallFailedError is returned by WaitInstalled when the server shows
// operation_failed: the OS installation failed on the panel.
type InstallFailedError struct {
	ServerID int64
	// Server is the list row that showed the failure.
	Server Server
}

// Error implements error.
func (e *InstallFailedError) Error() string {
	return fmt.Sprintf("dcimanager5: server %d: OS installation failed (operation_failed)", e.ServerID)
}

// PowerError is returned by the power waiters when the server shows
// powererror.
type PowerError struct {
	ServerID int64
	// Server is the list row that showed the failure.
	Server Server
}

// Error implements error.
func (e *PowerError) Error() string {
	return fmt.Sprintf("dcimanager5: server %d: power operation failed (powererror)", e.ServerID)
}

// WaitError is returned when a waiter stops before its condition holds:
// the context was cancelled or its deadline passed (Err wraps the context
// error), or polling failed too many times in a row (Err is the last poll
// error). Pending says what was still awaited.
type WaitError struct {
	// What names the wait, e.g. "install" or "power on".
	What string
	// ServerID is the server waited for.
	ServerID int64
	// Pending describes the unmet condition, e.g. "install_in_progress set".
	Pending string
	// Polls is the number of polls made.
	Polls int
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *WaitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dcimanager5: server %d: waiting for %s", e.ServerID, e.What)
	if e.Pending != "" {
		fmt.Fprintf(&b, " (still pending: %s)", e.Pending)
	}
	fmt.Fprintf(&b, " after %d poll(s): %v", e.Polls, e.Err)
	return b.String()
}

// Unwrap returns the cause (a context error or the last poll error).
func (e *WaitError) Unwrap() error { return e.Err }

// RedirectError is a redirect the client refused to follow: to another
// scheme or host (the request carries the login or the session, which
// must never reach another host), or one redirect too many. Redirects on
// the same scheme and host are followed.
type RedirectError = httpx.RedirectError

// ResponseTooLargeError is an answer larger than the cap set with
// WithMaxResponseSize; the rest of it was not read.
type ResponseTooLargeError = httpx.ResponseTooLargeError
