package provision

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/ispkit/ispkit/billing"
)

// Engine errors, in addition to the Store errors.
var (
	// ErrInvalidRequest: a request failed validation before anything was
	// recorded or sent. Returned wrapped in a *RequestError (or as a billing
	// typed error, which errors.Is does not map to this sentinel).
	ErrInvalidRequest = errors.New("provision: invalid request")
	// ErrServiceState: the service is not in a status that allows the
	// operation (for example Suspend of a service that is not Active).
	ErrServiceState = errors.New("provision: service status does not allow the operation")
	// ErrBusy: another operation of the same service is unfinished.
	ErrBusy = errors.New("provision: service has an unfinished operation")
	// ErrUnsupported: the operation does not exist for this kind of service
	// (for example AddIP on a hosting account).
	ErrUnsupported = errors.New("provision: operation not supported for this service kind")
	// ErrNoBackend: no backend is configured for any module of the tariff.
	ErrNoBackend = errors.New("provision: no backend configured for the tariff's modules")
	// ErrPanelUnavailable: a backend wraps it to say the panel cannot serve
	// now for a reason that is not the request's (down, maintenance,
	// license, its own limits). A hosting Open then tries the next module
	// (as it does for the ISPmanager client's transport, rate-limit,
	// protocol and access/auth/license/limit errors).
	ErrPanelUnavailable = errors.New("provision: panel unavailable")
	// ErrInterrupted: the engine stopped running the operation before it
	// finished (context cancelled, lease lost, store unreachable, or a
	// rollback step that keeps failing). The operation stays unfinished in
	// the Store and is completed by Run or Resume.
	ErrInterrupted = errors.New("provision: operation interrupted; it will be resumed")
	// ErrOperationFailed: the operation ended in StateFailed. Returned
	// wrapped in an *OperationError by Wait and the synchronous helpers.
	ErrOperationFailed = errors.New("provision: operation failed")
)

// RequestError reports a bad request field. The value is not part of the
// message (it may be a password).
type RequestError struct {
	Field  string
	Reason string
}

// Error implements error.
func (e *RequestError) Error() string {
	return "provision: invalid " + e.Field + ": " + e.Reason
}

// Unwrap returns ErrInvalidRequest.
func (e *RequestError) Unwrap() error { return ErrInvalidRequest }

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

// causeFromMessage maps a stored failure message back to a well-known
// sentinel (used when the operation ran in another process).
func causeFromMessage(msg string) error {
	for _, s := range []error{ErrNoServer, ErrTooManyFailures, ErrServiceState, ErrUnsupported, ErrNoBackend, ErrInvalidRequest} {
		if strings.Contains(msg, s.Error()) {
			return s
		}
	}
	return nil
}

// Request asks for one operation on a service. Which fields are used
// depends on Kind:
//
//	Open:           ServiceID, TariffID, Owner, Password (not for colocation),
//	                AccountID, Domain, Options (dedicated servers)
//	Suspend, Unsuspend, Close: ServiceID
//	ChangePassword: ServiceID, Password
//	AddIP:          ServiceID, Family ("ipv4" default or "ipv6"), IP (optional)
//	RemoveIP:       ServiceID, IP
//	Reinstall:      ServiceID, Password, OSTemplate and Recipe (optional:
//	                default the ones of the Open)
type Request struct {
	Kind OperationKind
	// OperationID is an optional idempotency key: submitting the same id
	// again returns the existing operation instead of creating another.
	OperationID string
	// ServiceID identifies the service. A decimal id is also used for the
	// @ID@ macro and in manual tasks.
	ServiceID string
	// TariffID is the tariff plan of a new service (Open).
	TariffID int64
	// AccountID is the billing account (@ACCOUNT_ID@).
	AccountID int64
	// Owner is the account owner's name; the panel username is derived from
	// it (@USERNAME@, billing.SanitizeUsername).
	Owner string
	// Password is the panel user's password (Open, ChangePassword) or the
	// root password (Reinstall). It is stored in Operation.Input only.
	Password string
	// Domain is the service domain (@DOMAIN@; hosting: the account's
	// domain).
	Domain string
	// Options are the customer's order options, keyed as in the billing
	// package: os/OS/ostemplate, recipe, IP, IPv6.
	Options map[string]string
	// Family is the address family of AddIP: "ipv4" (default) or "ipv6".
	Family string
	// IP is the address to add (AddIP, optional) or remove (RemoveIP).
	IP string
	// OSTemplate and Recipe override the template and recipe of a
	// Reinstall.
	OSTemplate string
	Recipe     string
}

// Input keys of Operation.Input.
const (
	inTariff    = "tariff_id"
	inAccount   = "account_id"
	inOwner     = "owner"
	inPassword  = "password"
	inDomain    = "domain"
	inFamily    = "family"
	inIP        = "ip"
	inOS        = "os_template"
	inRecipe    = "recipe"
	inOptPrefix = "opt:"
)

func (r Request) input() map[string]string {
	in := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			in[k] = v
		}
	}
	if r.TariffID != 0 {
		in[inTariff] = strconv.FormatInt(r.TariffID, 10)
	}
	if r.AccountID != 0 {
		in[inAccount] = strconv.FormatInt(r.AccountID, 10)
	}
	set(inOwner, r.Owner)
	set(inPassword, r.Password)
	set(inDomain, r.Domain)
	set(inFamily, r.Family)
	set(inIP, r.IP)
	set(inOS, r.OSTemplate)
	set(inRecipe, r.Recipe)
	for k, v := range r.Options {
		set(inOptPrefix+k, v)
	}
	return in
}

func optionsFromInput(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if name, ok := strings.CutPrefix(k, inOptPrefix); ok {
			out[name] = v
		}
	}
	return out
}

func reqErr(field, reason string) error { return &RequestError{Field: field, Reason: reason} }

// validateFields checks what can be checked without the Store or the
// catalog.
func (r Request) validateFields() error {
	if strings.TrimSpace(r.ServiceID) == "" {
		return reqErr("ServiceID", "required")
	}
	if len(r.ServiceID) > 200 || strings.ContainsAny(r.ServiceID, "/\n\r") {
		return reqErr("ServiceID", "must be at most 200 characters without '/' or line breaks")
	}
	if len(r.OperationID) > 200 || strings.ContainsAny(r.OperationID, "/\n\r") {
		return reqErr("OperationID", "must be at most 200 characters without '/' or line breaks")
	}
	switch r.Kind {
	case OpOpen:
		if r.TariffID <= 0 {
			return reqErr("TariffID", "required")
		}
		if r.AccountID < 0 {
			return reqErr("AccountID", "must not be negative")
		}
	case OpChangePassword:
		if r.Password == "" {
			return reqErr("Password", "required")
		}
	case OpAddIP:
		switch r.Family {
		case "", "ipv4", "ipv6":
		default:
			return reqErr("Family", `must be "ipv4" or "ipv6"`)
		}
		if r.IP != "" {
			ip := net.ParseIP(r.IP)
			if ip == nil {
				return reqErr("IP", "not an IP address")
			}
			if fam := familyOf(r.IP); r.Family != "" && fam != r.Family {
				return reqErr("IP", "does not match Family")
			}
		}
	case OpRemoveIP:
		if net.ParseIP(r.IP) == nil {
			return reqErr("IP", "required: an IP address")
		}
	case OpReinstall:
		if r.Password == "" {
			return reqErr("Password", "required")
		}
	case OpSuspend, OpUnsuspend, OpClose:
	default:
		return reqErr("Kind", "unknown operation kind "+strconv.Quote(string(r.Kind)))
	}
	return nil
}

func familyOf(ip string) string {
	if p := net.ParseIP(ip); p != nil && p.To4() == nil {
		return "ipv6"
	}
	return "ipv4"
}

// serviceKindOf maps a product type to a service kind.
func serviceKindOf(p billing.ProductType) ServiceKind {
	switch p {
	case billing.ProductColocation:
		return KindColocation
	case billing.ProductSharedHosting, billing.ProductExternalFTPStorage:
		return KindHosting
	}
	return KindDedicated
}

// numericID returns the service id as a number (0 when it is not decimal).
func numericID(id string) int64 {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
