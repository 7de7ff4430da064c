package billmanager

import (
	"errors"
	"fmt"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// Error is an error answered by the upstream BILLmanager (doc.error): Type
// (auth, exists, missed, value, access, …), Object, Value and Message. It
// matches the sentinels below with errors.Is.
type Error = mgr5.Error

// ProtocolError is an answer that is not a readable BILLmanager document.
type ProtocolError = mgr5.ProtocolError

// ArgumentError reports input refused before anything was sent. It is
// ispkit's shared type: errors.Is(err, ispkit.ErrInvalidArgument) matches
// it. The offending value is never part of the message.
type ArgumentError = ispkit.ArgumentError

// Sentinel categories matched with errors.Is.
var (
	// ErrAuth: bad credentials or an expired session (type "auth").
	ErrAuth = mgr5.ErrAuth
	// ErrNotFound: the license does not exist, or is not the account's
	// (type "missed").
	ErrNotFound = mgr5.ErrNotFound
	// ErrValue: BILLmanager rejected a field value (type "value").
	ErrValue = mgr5.ErrValue
	// ErrAccess: the account may not do this (type "access").
	ErrAccess = mgr5.ErrAccess
	// ErrMayHaveHappened: an order (or renewal) may have been executed
	// although no answer was read. Look for it with [Client.Find] before
	// ordering again.
	ErrMayHaveHappened = errors.New("billmanager: the call may have been executed")
)

func argErr(op, arg, reason string) error {
	return &ArgumentError{Package: "billmanager", Op: op, Arg: arg, Reason: reason}
}

// UncertainError is returned by Order (and Prolong) when the request may
// have reached BILLmanager but no answer was read (connection dropped,
// deadline passed, unreadable answer). The call was not resent: a second
// order could buy a second license, a second renewal pay twice. Look for the
// license with [Client.Find] (by the name and IP you ordered it with), or
// read its expiry with [Client.Get], before trying again. It matches
// [ErrMayHaveHappened] and wraps the cause.
type UncertainError struct {
	// Op names the call: "Order".
	Op string
	// Err is the underlying transport or protocol error.
	Err error
}

// Error implements error.
func (e *UncertainError) Error() string {
	return fmt.Sprintf("billmanager: %s: BILLmanager may have executed the call (it was not resent; check before retrying): %v", e.Op, e.Err)
}

// Is matches ErrMayHaveHappened.
func (e *UncertainError) Is(target error) bool { return target == ErrMayHaveHappened }

// Unwrap returns the cause.
func (e *UncertainError) Unwrap() error { return e.Err }

// uncertain turns the failure of a non-idempotent call into an
// *UncertainError when the call may have been executed.
func uncertain(op string, err error) error {
	var te *httpx.TransportError
	if errors.As(err, &te) && te.MayHaveHappened {
		return &UncertainError{Op: op, Err: err}
	}
	var pe *ProtocolError
	if errors.As(err, &pe) {
		// An answer arrived but could not be read: the order may exist.
		return &UncertainError{Op: op, Err: err}
	}
	return err
}

// IsAuth reports whether err is an authentication error.
func IsAuth(err error) bool { return errors.Is(err, ErrAuth) }

// IsNotFound reports whether err says the license does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsUncertain reports whether an order may have been placed although it
// failed (see [UncertainError]).
func IsUncertain(err error) bool { return errors.Is(err, ErrMayHaveHappened) }
