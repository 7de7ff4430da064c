package ispkit

import (
	"errors"
	"strings"
)

// ErrInvalidArgument is matched (with errors.Is) by every *ArgumentError,
// whichever package returned it.
var ErrInvalidArgument = errors.New("ispkit: invalid argument")

// ArgumentError reports input that was refused before anything was sent to a
// panel or recorded in a store: a bad option, a malformed name, a field an
// operation does not take. Every ispkit package returns this one type (the
// panel packages and provision re-export it under their own name), so one
// errors.As handles them all.
//
// The offending value is never part of the message: it may be a password.
type ArgumentError struct {
	// Package is the package that refused the input, e.g. "dcimanager5".
	Package string
	// Op is the call or option, e.g. "Servers.Install" or "WithTimeout".
	Op string
	// Arg names the argument or field, e.g. "timeout" or "Request.TariffID".
	Arg string
	// Reason says what is wrong, e.g. "must be positive".
	Reason string
}

// Error implements error: "package: op: invalid arg: reason".
func (e *ArgumentError) Error() string {
	var b strings.Builder
	if e.Package != "" {
		b.WriteString(e.Package)
		b.WriteString(": ")
	}
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString("invalid ")
	if e.Arg != "" {
		b.WriteString(e.Arg)
	} else {
		b.WriteString("argument")
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	return b.String()
}

// Is reports whether target is ErrInvalidArgument.
func (e *ArgumentError) Is(target error) bool { return target == ErrInvalidArgument }

// IsInvalidArgument reports whether err is (or wraps) an *ArgumentError.
func IsInvalidArgument(err error) bool { return errors.Is(err, ErrInvalidArgument) }
