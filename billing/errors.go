package billing

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ispkit/ispkit"
)

// Sentinel errors. Every typed error in this package unwraps to one of these
// where a category makes sense, so callers can branch with [errors.Is].
var (
	// ErrModuleInUse reports an operation refused because at least one
	// tariff plan is associated with the processing module (BILLmanager: "You
	// cannot change the server type if at least one tariff plan is associated
	// with this processing module"). It is returned wrapped in a
	// *ModuleInUseError.
	ErrModuleInUse = errors.New("billing: processing module is used by a tariff plan")

	// ErrDataCenterInUse reports a data-center change refused because
	// processing modules belong to the data center. It is returned wrapped
	// in a *DataCenterInUseError.
	ErrDataCenterInUse = errors.New("billing: data center has processing modules")

	// ErrNotFound reports a module, tariff or data center that is not in
	// the [Catalog].
	ErrNotFound = errors.New("billing: not found")

	// ErrExists reports an attempt to add a module, tariff or data center
	// whose key is already in the [Catalog].
	ErrExists = errors.New("billing: already exists")

	// ErrUnknownMacro reports an @NAME@ macro that [ExpandTemplate] does not
	// know. It is returned wrapped in a *MacroError.
	ErrUnknownMacro = errors.New("billing: unknown macro")

	// ErrEmptyMacro reports a known macro whose value is not set in the
	// [MacroVars] (for example @DOMAIN@ for a service without a domain). It is
	// returned wrapped in a *MacroError.
	ErrEmptyMacro = errors.New("billing: macro has no value")

	// ErrNamesExhausted reports that [UniqueName] tried its maximum number of
	// candidates, or ran out of candidates that fit the length limit, without
	// finding a free one. It is returned wrapped in an *ExhaustedError.
	ErrNamesExhausted = errors.New("billing: no free name found")

	// ErrLimitUnset reports that a limit asked for with [Limits.Int] or
	// [Limits.Bool] is not set.
	ErrLimitUnset = errors.New("billing: limit not set")
)

// ArgumentError reports a field of a model value (or an argument) that is
// missing or has a bad value. It is ispkit's shared error for refused input
// (see the root package): errors.Is(err, ispkit.ErrInvalidArgument) matches
// it whichever package returned it. In this package Package is "billing" and
// Arg is the Go field name, dotted for nested values (for example
// "IPManager.URL"). The offending value is deliberately not part of the
// error, so that a bad password never ends up in a log.
type ArgumentError = ispkit.ArgumentError

// invalid returns the *ArgumentError for field with reason.
func invalid(field, reason string) *ArgumentError {
	return &ArgumentError{Package: "billing", Arg: field, Reason: reason}
}

// ModuleInUseError is returned when a change to a processing module is
// refused because tariff plans use it. It unwraps to [ErrModuleInUse].
type ModuleInUseError struct {
	// Module is the name of the processing module.
	Module string
	// Op is the refused change, for example "change NewServerType".
	Op string
	// Tariffs holds the IDs of the tariffs that use the module, ascending.
	Tariffs []int64
}

// Error implements error.
func (e *ModuleInUseError) Error() string {
	ids := make([]string, len(e.Tariffs))
	for i, id := range e.Tariffs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	return fmt.Sprintf("billing: cannot %s: processing module %q is used by tariff(s) %s",
		e.Op, e.Module, strings.Join(ids, ", "))
}

// Unwrap returns [ErrModuleInUse].
func (e *ModuleInUseError) Unwrap() error { return ErrModuleInUse }

// TransitionError reports a service status change that the transition table
// (see [Status.CanTransition]) does not allow.
type TransitionError struct {
	// ServiceID is the ID of the service.
	ServiceID int64
	// From is the service's current status.
	From Status
	// To is the requested status.
	To Status
}

// Error implements error.
func (e *TransitionError) Error() string {
	return fmt.Sprintf("billing: service %d: illegal status transition %q -> %q", e.ServiceID, e.From, e.To)
}

// MacroError reports a problem with one macro of a template passed to
// [ExpandTemplate]. It unwraps to [ErrUnknownMacro] or [ErrEmptyMacro].
type MacroError struct {
	// Macro is the macro as written, including the @ signs ("@FOO@").
	Macro string
	// Offset is the byte offset of the macro in the template.
	Offset int
	// Err is ErrUnknownMacro or ErrEmptyMacro.
	Err error
}

// Error implements error.
func (e *MacroError) Error() string {
	return fmt.Sprintf("%v: %s at offset %d", e.Err, e.Macro, e.Offset)
}

// Unwrap returns the category sentinel.
func (e *MacroError) Unwrap() error { return e.Err }

// OptionError reports a customer order option with a bad value, see
// [ParseOrderOptions].
type OptionError struct {
	// Key is the option name as given ("IP", "IPv6", …).
	Key string
	// Value is the value as given.
	Value string
	// Reason says what is wrong with it.
	Reason string
}

// Error implements error.
func (e *OptionError) Error() string {
	return fmt.Sprintf("billing: order option %s=%q: %s", e.Key, e.Value, e.Reason)
}

// ExhaustedError is returned by [UniqueName] when no free name was found. It
// unwraps to [ErrNamesExhausted].
type ExhaustedError struct {
	// Base is the name the candidates were derived from.
	Base string
	// Attempts is the number of candidates that were checked.
	Attempts int
}

// Error implements error.
func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("billing: no free name derived from %q after %d attempts", e.Base, e.Attempts)
}

// Unwrap returns [ErrNamesExhausted].
func (e *ExhaustedError) Unwrap() error { return ErrNamesExhausted }

// LimitError reports a bad limit name or a limit value that cannot be read as
// the requested type.
type LimitError struct {
	// Name is the limit name (without the "limit_" prefix when it had one).
	Name string
	// Value is the offending value ("" for a bad name).
	Value string
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *LimitError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("billing: limit %q: %s", e.Name, e.Reason)
	}
	return fmt.Sprintf("billing: limit %q = %q: %s", e.Name, e.Value, e.Reason)
}
