package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"time"

	"github.com/ispkit/ispkit/billing"
)

// Store errors. Implementations return these (possibly wrapped) so callers
// can branch with errors.Is.
var (
	// ErrNotFound: no record with that id.
	ErrNotFound = errors.New("provision: not found")
	// ErrExists: a record with that id already exists.
	ErrExists = errors.New("provision: already exists")
	// ErrConflict: the record changed since it was read (optimistic
	// concurrency: the Version did not match).
	ErrConflict = errors.New("provision: version conflict")
	// ErrReserved: the server is reserved by another operation.
	ErrReserved = errors.New("provision: server already reserved")
	// ErrNoWork: no operation is waiting to be claimed.
	ErrNoWork = errors.New("provision: no claimable operation")
	// ErrLeaseLost: the worker no longer holds the operation's lease:
	// another worker claimed it since (the caller's fencing token is
	// stale), it was released, or the operation is finished. An engine
	// also reports it, wrapped, when it stopped a run because it could not
	// prove it still held the lease (a failed or late renewal).
	ErrLeaseLost = errors.New("provision: lease lost")
)

// OperationKind is what an operation does to a service.
type OperationKind string

// Operation kinds.
const (
	OpOpen           OperationKind = "open"
	OpSuspend        OperationKind = "suspend"
	OpUnsuspend      OperationKind = "unsuspend"
	OpClose          OperationKind = "close"
	OpChangePassword OperationKind = "change_password"
	OpAddIP          OperationKind = "add_ip"
	OpRemoveIP       OperationKind = "remove_ip"
	OpReinstall      OperationKind = "reinstall"
)

// OperationState is where an operation is in its life.
type OperationState string

// Operation states. Pending and Running operations are unfinished: a worker
// claims them (Store.ClaimOperation) and finishes or rolls them back.
const (
	StatePending OperationState = "pending"
	StateRunning OperationState = "running"
	StateDone    OperationState = "done"
	StateFailed  OperationState = "failed"
)

// Finished reports whether the state is final.
func (s OperationState) Finished() bool { return s == StateDone || s == StateFailed }

// Operation is one durable unit of work on a service: the walk of its
// product's step graph, whose progress and results are recorded in the
// Store before the next step starts.
type Operation struct {
	// ID is unique; callers may choose it (an idempotency key) or leave it
	// empty to get a random one.
	ID        string
	ServiceID string
	Kind      OperationKind
	State     OperationState
	// Step is the name of the step to run next (or running now).
	Step string
	// Input is the request (OpenRequest, AddIPRequest, …) as versioned
	// JSON. It may hold secrets: stores keep it as given, logs and errors
	// never show it.
	Input json.RawMessage
	// Data is what the steps recorded — the product's state
	// (*DedicatedState, *HostingState, *ColocationState) — as versioned
	// JSON; read it with DecodeData. Operations recorded by earlier
	// releases (a JSON object of strings) are read too.
	Data json.RawMessage
	// Error is the reason of a failure (final or of the last attempt).
	Error string
	// Attempts counts how many times the operation was claimed. It is
	// also the claim's fencing token: every ClaimOperation adds one and
	// nothing else changes it after creation, so the holder of an older
	// claim carries a smaller value than the stored one, and the Store
	// refuses its RenewLease, ReleaseLease and UpdateOperation with
	// ErrLeaseLost, even when the new holder has the same Worker name.
	Attempts int

	// The lease: Worker holds the operation until LeaseUntil. Claim,
	// RenewLease and ReleaseLease change these fields; UpdateOperation
	// does not (it returns the stored values), except that a Store may end
	// the lease of an operation the update finishes (see Store).
	Worker     string
	LeaseUntil time.Time

	// Version increases by one on every successful update.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Clone returns a deep copy.
func (o *Operation) Clone() *Operation {
	c := *o
	c.Input = bytes.Clone(o.Input)
	c.Data = bytes.Clone(o.Data)
	return &c
}

// OperationFilter selects operations in ListOperations. Empty fields match
// everything.
type OperationFilter struct {
	ServiceID string
	States    []OperationState
	Kinds     []OperationKind
}

// Reservation marks a server as taken by an operation. A server has at most
// one reservation (a uniqueness rule the Store enforces atomically).
type Reservation struct {
	// Backend names the panel the server belongs to (the module name).
	Backend     string
	ServerID    string
	OperationID string
	ServiceID   string
	CreatedAt   time.Time
}

// ServiceKind is the kind of product a service is.
type ServiceKind string

// Service kinds.
const (
	KindDedicated  ServiceKind = "dedicated"
	KindHosting    ServiceKind = "hosting"
	KindColocation ServiceKind = "colocation"
)

// Service is the engine's record of a billing service.
type Service struct {
	ID        string
	Kind      ServiceKind
	TariffID  int64
	AccountID int64
	// Owner is the account owner's name (the source of panel usernames).
	Owner string
	// Module is the processing module that serves the service.
	Module string
	Status billing.Status
	// Properties are what the service got: server id, main IP, extra IPs,
	// panel username, ... (see the Prop* constants).
	Properties map[string]string
	// Error is the last failure reason shown to the operator.
	Error     string
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Clone returns a deep copy.
func (s *Service) Clone() *Service {
	c := *s
	c.Properties = maps.Clone(s.Properties)
	return &c
}

// ServiceFilter selects services in ListServices.
type ServiceFilter struct {
	Statuses []billing.Status
	Module   string
	// Owner matches services of one account owner.
	Owner string
}

// Fence names the claim a Store write is made under: the operation, the
// worker that claimed it, and the claim's fencing token (the Attempts that
// ClaimOperation returned). The engine passes the fence of the operation
// it runs, which is not always the operation a reservation names: Close
// drops the reservation its Open made.
type Fence struct {
	OperationID string
	Worker      string
	Token       int
}

// FencedStore is a Store that makes reservation and service writes only
// under a claim that is still the operation's current one, checked in the
// same atomic step as the write. The engine uses it when its Store
// implements it (a wrapper that embeds a FencedStore as a Store hides it),
// and otherwise relies on its own lease check before each write (see the
// package doc, "Fenced panel writes"). A wrapper that embeds a concrete
// store (say *memstore.Store) and overrides Reserve, Unreserve or
// PutService should override the fenced method too: the engine calls that
// one instead.
//
// The fence holds when the stored operation is unfinished, its Worker is
// Fence.Worker and its Attempts is Fence.Token; a lease that expired with
// nobody claiming since still holds, as for RenewLease. Otherwise the call
// returns an error matching ErrLeaseLost and changes nothing (also when the
// operation does not exist). A claim of the operation made at the same
// time as a fenced write is ordered before it (the write is refused) or
// after it (the claim's holder reads the write). With the fence holding,
// ReserveFenced, UnreserveFenced and PutServiceFenced behave as Reserve,
// Unreserve and PutService.
//
// A worker paused past its lease can then neither keep a server reserved
// for an operation another worker runs (the server would stay out of
// sale), nor drop the reservation that worker relies on (the server could
// be sold twice), nor record on the service after the new holder has
// taken over, however long the pause between its last check of the lease
// and the write. With the Store's check of the token on every record of
// the operation itself (UpdateOperation), every Store write a run makes
// is then fenced by its claim.
type FencedStore interface {
	Store
	ReserveFenced(ctx context.Context, f Fence, r Reservation) error
	UnreserveFenced(ctx context.Context, f Fence, backend, serverID, operationID string) error
	PutServiceFenced(ctx context.Context, f Fence, s *Service) error
}

// Store keeps operations, reservations and services durably. Every method
// is safe for concurrent use, also from several processes when the
// implementation is shared (sqlstore on PostgreSQL).
//
// The contract (checked by provision/storetest):
//   - Create* fail with ErrExists for a duplicate id.
//   - CreateOperation of an unfinished operation (pending or running)
//     fails with an error matching ErrBusy when the service already has an
//     unfinished operation, atomically: of any number of concurrent
//     creates for one service, across processes, at most one succeeds.
//     Finished operations (done, failed) are not limited.
//   - Get* fail with ErrNotFound.
//   - Update*/PutService succeed only when the passed Version equals the
//     stored one, store Version+1 and set it on the argument; otherwise they
//     return ErrConflict and change nothing. PutService with Version 0
//     creates (ErrExists if present).
//   - UpdateOperation writes neither the lease (Worker, LeaseUntil) nor
//     Attempts; it sets their stored values on the argument. One
//     exception is allowed: an update that finishes the operation (State
//     done or failed) may also end its lease (Worker "", LeaseUntil
//     zero), as ReleaseLease would; memstore and sqlstore do, and save the
//     engine a ReleaseLease per operation. The engine releases the lease
//     itself when the Store kept it. An argument
//     whose Attempts differs from the stored one is from an older claim (a
//     stale fencing token): it is refused with an error matching both
//     ErrLeaseLost and ErrConflict, and nothing changes. An update that
//     would give a service a second unfinished operation fails and
//     changes nothing.
//   - ClaimOperation atomically picks one unfinished operation whose lease
//     is free or expired (oldest first), sets Worker, LeaseUntil = now+lease,
//     State = running, Attempts+1, Version+1, and returns it; ErrNoWork when
//     there is none.
//   - RenewLease extends a lease, and ReleaseLease clears it, only for the
//     holder of the current claim: the stored Worker equals worker and the
//     stored Attempts equals token (the Attempts the claim returned).
//     Anyone else gets ErrLeaseLost. RenewLease of an expired lease that
//     nobody claimed since succeeds (the token proves nobody did); of a
//     finished operation it is ErrLeaseLost. Neither changes Version.
//   - Reservations lists one backend's reservations, every backend's for
//     an empty name.
//   - Reserve is atomic and unique per (Backend, ServerID): it succeeds when
//     the server is free or already reserved by the same OperationID, and
//     returns ErrReserved otherwise. Unreserve removes a reservation held
//     by operationID, is a no-op when there is none, and returns ErrReserved
//     when another operation holds it.
//   - Returned values are copies: changing them does not change the store.
type Store interface {
	CreateOperation(ctx context.Context, op *Operation) error
	GetOperation(ctx context.Context, id string) (*Operation, error)
	UpdateOperation(ctx context.Context, op *Operation) error
	ListOperations(ctx context.Context, f OperationFilter) ([]*Operation, error)
	ClaimOperation(ctx context.Context, worker string, lease time.Duration) (*Operation, error)
	RenewLease(ctx context.Context, opID, worker string, token int, lease time.Duration) error
	ReleaseLease(ctx context.Context, opID, worker string, token int) error

	Reserve(ctx context.Context, r Reservation) error
	Unreserve(ctx context.Context, backend, serverID, operationID string) error
	Reservations(ctx context.Context, backend string) ([]Reservation, error)

	PutService(ctx context.Context, s *Service) error
	GetService(ctx context.Context, id string) (*Service, error)
	ListServices(ctx context.Context, f ServiceFilter) ([]*Service, error)
}
