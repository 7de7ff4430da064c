package main

import (
	"context"
	"errors"
	"time"

	"github.com/ispkit/ispkit"
)

// Engine is everything the bridge's HTTP layer needs from a provisioning
// engine. The HTTP layer and the idempotency rules (actions.go) talk to
// the engine only through it; provision_adapter.go implements it over
// provision.Engine, and is the one file to rewrite when the engine's API
// changes.
//
// The operation methods (Create, Suspend, Unsuspend, Terminate,
// ChangePassword) record an operation under the id the bridge chose and
// return at once: the engine's workers run it. Called with the id of an
// operation that exists, they return that operation, whatever its state,
// and record nothing. Errors are the bridge's: ErrNotFound, ErrState,
// ErrBusy, ErrUnsupported, ErrNoBackend, ErrConflict, or an
// *ispkit.ArgumentError naming the request field (JSON name).
type Engine interface {
	// Plans lists what can be ordered.
	Plans(ctx context.Context) ([]Plan, error)
	Create(ctx context.Context, opID string, r CreateRequest) (Operation, error)
	Suspend(ctx context.Context, opID, serviceID string) (Operation, error)
	Unsuspend(ctx context.Context, opID, serviceID string) (Operation, error)
	Terminate(ctx context.Context, opID, serviceID string) (Operation, error)
	ChangePassword(ctx context.Context, opID, serviceID, password string) (Operation, error)
	// LoginLink returns a one-time log-in link to the service's panel.
	LoginLink(ctx context.Context, serviceID string) (string, error)
	// Service returns the service's status; ErrNotFound when unknown.
	Service(ctx context.Context, serviceID string) (Service, error)
	// Operations lists the operations of a service (any order).
	Operations(ctx context.Context, serviceID string) ([]Operation, error)
	// Operation returns one operation; ErrNotFound when unknown.
	Operation(ctx context.Context, opID string) (Operation, error)
	// Wait returns the operation once it is finished, or when ctx ends
	// (then with the operation as it is and ctx's error).
	Wait(ctx context.Context, opID string) (Operation, error)
	// Subscribe calls fn for every progress event until stop is called. fn
	// runs on the engine's goroutines and must return quickly.
	Subscribe(fn func(Event)) (stop func())
}

// Errors of the Engine interface; the HTTP layer maps each to a stable
// error code (see errorCode).
var (
	ErrNotFound    = errors.New("not found")
	ErrState       = errors.New("the service's status does not allow the operation")
	ErrBusy        = errors.New("another operation of the service is running")
	ErrUnsupported = errors.New("the operation does not exist for this kind of service")
	ErrNoBackend   = errors.New("no panel is configured for the plan")
	ErrConflict    = errors.New("conflicts with the existing service")
)

// argErr is the bridge's refusal of a request field, named as in the JSON
// request.
func argErr(op, field, reason string) error {
	return &ispkit.ArgumentError{Package: "bridge", Op: op, Arg: field, Reason: reason}
}

// Plan is something that can be ordered: a tariff plan of the engine.
type Plan struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Kind is "dedicated" or "hosting".
	Kind string `json:"kind"`
	// Choices are the order options the bridge accepts for the plan (set
	// by the HTTP layer, not the engine).
	Choices *Choices `json:"choices,omitempty"`
}

// CreateRequest orders a new service.
type CreateRequest struct {
	ServiceID string
	Plan      int64
	// Owner is the customer's name; the panel user is derived from it.
	Owner    string
	Password string
	Domain   string
	// AccountID is the customer's account number in the billing system.
	AccountID int64
	// Options are the order options: os / OS / ostemplate, recipe, IP,
	// IPv6.
	Options map[string]string
}

// Service statuses, as WHMCS names them (in lower case) plus
// "provisioning" while the first create runs.
const (
	StatusPending      = "pending"
	StatusProvisioning = "provisioning"
	StatusActive       = "active"
	StatusSuspended    = "suspended"
	StatusTerminated   = "terminated"
)

// Service is the bridge's view of a service.
type Service struct {
	ID     string `json:"id"`
	Plan   int64  `json:"plan"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	// Properties are what the service got: server id, main IP, extra IPs,
	// panel login, domain, ... Never a password.
	Properties map[string]string `json:"properties"`
	// Error is the reason of the last failure, if any.
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Operation kinds of the bridge.
const (
	KindCreate         = "create"
	KindSuspend        = "suspend"
	KindUnsuspend      = "unsuspend"
	KindTerminate      = "terminate"
	KindChangePassword = "change_password"
)

// Operation states.
const (
	StatePending = "pending"
	StateRunning = "running"
	StateDone    = "done"
	StateFailed  = "failed"
)

// Operation is one unit of work the engine runs on a service.
type Operation struct {
	ID        string `json:"id"`
	ServiceID string `json:"service_id"`
	Kind      string `json:"kind"`
	State     string `json:"state"`
	// Step is the step running now or next (empty when finished).
	Step string `json:"step,omitempty"`
	// Error says why a failed operation failed.
	Error     *APIError `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Finished reports whether the operation is done or failed.
func (o Operation) Finished() bool { return o.State == StateDone || o.State == StateFailed }

// Event is one progress notification of the engine.
type Event struct {
	Type        string    `json:"type"`
	Time        time.Time `json:"time"`
	OperationID string    `json:"operation_id,omitempty"`
	ServiceID   string    `json:"service_id,omitempty"`
	Kind        string    `json:"kind,omitempty"`
	Step        string    `json:"step,omitempty"`
	ServerID    string    `json:"server_id,omitempty"`
	// Percent is the OS install progress (install_progress; -1 when the
	// panel gives no figure).
	Percent *int `json:"percent,omitempty"`
	// Error is the failure reason (server_failed, operation_failed).
	Error string `json:"error,omitempty"`
}
