package provision

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ispkit/ispkit"
)

// ArgumentError reports refused input: a request field an operation does
// not take or that is malformed, or a bad Config. It is returned before
// anything is recorded or sent; errors.Is(err, ErrInvalidRequest) (the
// same value as ispkit.ErrInvalidArgument) matches it. The offending value
// is never part of the message: it may be a password.
type ArgumentError = ispkit.ArgumentError

// Engine errors, in addition to the Store errors.
var (
	// ErrInvalidRequest is matched by every *ArgumentError (it is
	// ispkit.ErrInvalidArgument). billing's typed errors for a bad tariff
	// or order option are returned as they are.
	ErrInvalidRequest = ispkit.ErrInvalidArgument
	// ErrServiceState: the service is not in a status that allows the
	// operation (for example Suspend of a service that is not Active).
	ErrServiceState = errors.New("provision: service status does not allow the operation")
	// ErrBusy: another operation of the same service is unfinished. The
	// Store enforces it (CreateOperation), so it holds across engines and
	// processes sharing one Store.
	ErrBusy = errors.New("provision: service has an unfinished operation")
	// ErrUnsupported: the operation does not exist for this kind of service
	// (for example AddIP on a hosting account).
	ErrUnsupported = errors.New("provision: operation not supported for this service kind")
	// ErrNoBackend: no backend is configured for any module of the tariff.
	ErrNoBackend = errors.New("provision: no backend configured for the tariff's modules")
	// ErrPanelUnavailable: a backend wraps it to say the panel cannot serve
	// now for a reason that is not the request's (down, maintenance,
	// license, its own limits). A hosting Open then tries the next module
	// (as it does for what a backend's FaultClassifier calls a panel
	// fault).
	ErrPanelUnavailable = errors.New("provision: panel unavailable")
	// ErrInterrupted: the engine stopped running the operation before it
	// finished (context cancelled, lease lost, store unreachable, or a
	// step whose product says "resume later", such as a roll-back step
	// that keeps failing). The operation stays unfinished in the Store and
	// is completed by Run or Resume.
	ErrInterrupted = errors.New("provision: operation interrupted; it will be resumed")
	// ErrOperationFailed: the operation ended in StateFailed. Returned
	// wrapped in an *OperationError by Wait and the synchronous helpers.
	ErrOperationFailed = errors.New("provision: operation failed")
	// ErrNoServer is returned (wrapped) by Open when no available server
	// is left.
	ErrNoServer = errors.New("provision: no server available")
	// ErrTooManyFailures is returned (wrapped) by Open when
	// Config.MaxServerFailures servers failed for the order: it stops
	// before a fault that is not the servers' own (a wrong OS template, a
	// panel or configuration error) takes every available server out of
	// sale. It is distinct from ErrNoServer.
	ErrTooManyFailures = errors.New("provision: too many servers failed for the order")
	// ErrOrderFault is returned (wrapped) by Open when two servers in a
	// row failed in the same way (the same step, the same panel message):
	// the order is at fault (an OS template or recipe the panel cannot
	// install, a value it refuses), not the servers. Both servers go back
	// to sale and the service stays Pending with the reason.
	ErrOrderFault = errors.New("provision: the order is at fault (two servers failed the same way)")
	// ErrInstallTimeout is returned (wrapped) by Open when the OS install
	// outlived its wait on a module whose InstallTimeout is
	// billing.InstallTimeoutKeepPending: the order stops and the service
	// stays Pending with the error.
	ErrInstallTimeout = errors.New("provision: the OS install did not finish in time")
	// ErrOwnerChanged: an OwnerSwapper found the server's owner changed
	// since the caller read it, and wrote nothing. The step that asked is
	// retried after a fresh read of the server.
	ErrOwnerChanged = errors.New("provision: the server's owner changed since it was read")
)

// argErr is the engine's *ArgumentError for op (a method or "Config") and
// field.
func argErr(op, field, reason string) error {
	return &ArgumentError{Package: "provision", Op: op, Arg: field, Reason: reason}
}

// OperationError is the failure of a finished operation, as returned by Wait
// and the synchronous helpers. errors.Is(err, ErrNoServer) works for an Open
// that found no server (the cause is kept when the operation ran in this
// process; after a restart only the message is known and Cause is matched
// against the message of the well-known sentinels).
type OperationError struct {
	OperationID string
	ServiceID   string
	Kind        OperationKind
	// Message is Operation.Error.
	Message string
	// Cause is the error that failed the operation when known.
	Cause error
}

// Error implements error.
func (e *OperationError) Error() string {
	return fmt.Sprintf("provision: %s operation %s of service %s failed: %s", e.Kind, e.OperationID, e.ServiceID, e.Message)
}

// Unwrap returns ErrOperationFailed and the cause.
func (e *OperationError) Unwrap() []error {
	if e.Cause != nil {
		return []error{ErrOperationFailed, e.Cause}
	}
	return []error{ErrOperationFailed}
}

// causes are the well-known sentinels a failed operation's cause is
// recorded as (CommonState.Cause), so that Wait in another process can
// match them with errors.Is.
var causes = []struct {
	code string
	err  error
}{
	{"no_server", ErrNoServer},
	{"too_many_failures", ErrTooManyFailures},
	{"order_fault", ErrOrderFault},
	{"install_timeout", ErrInstallTimeout},
	{"service_state", ErrServiceState},
	{"unsupported", ErrUnsupported},
	{"no_backend", ErrNoBackend},
	{"disk_quotas_off", ErrDiskQuotasOff},
	{"invalid_argument", ErrInvalidRequest},
}

// causeCode is the code of the first well-known sentinel err matches.
func causeCode(err error) string {
	for _, c := range causes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ""
}

// causeOf maps a recorded cause code back to its sentinel; operations
// recorded before codes existed are matched by their message.
func causeOf(code, msg string) error {
	for _, c := range causes {
		if c.code == code {
			return c.err
		}
	}
	for _, c := range causes[:len(causes)-1] {
		if strings.Contains(msg, c.err.Error()) {
			return c.err
		}
	}
	if strings.Contains(msg, "provision: invalid request") {
		return ErrInvalidRequest
	}
	return nil
}
