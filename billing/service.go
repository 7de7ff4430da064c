package billing

import (
	"maps"
	"time"
)

// Status is the lifecycle status of a service, named as BILLmanager shows it
// in the list of services.
type Status string

// Service statuses.
const (
	// StatusOrdered: ordered (and usually paid) but not set up yet. WHMCS
	// calls this "Pending".
	StatusOrdered Status = "Ordered"
	// StatusProcessing: a processing module is working on the service (a
	// running operation: open, suspend, resume, close, reopen).
	StatusProcessing Status = "Processing"
	// StatusActive: set up and usable.
	StatusActive Status = "Active"
	// StatusSuspended: blocked (for a dedicated server the switch port is
	// disabled).
	StatusSuspended Status = "Suspended"
	// StatusDeleted: closed; the resources were released.
	StatusDeleted Status = "Deleted"
)

// StatusPending is the WHMCS name of [StatusOrdered].
const StatusPending = StatusOrdered

// Valid reports whether s is one of the declared statuses.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// transitions is the transition table, see Status.CanTransition.
var transitions = map[Status][]Status{
	StatusOrdered:    {StatusProcessing, StatusActive, StatusDeleted},
	StatusProcessing: {StatusOrdered, StatusActive, StatusSuspended, StatusDeleted},
	StatusActive:     {StatusProcessing, StatusSuspended, StatusDeleted},
	StatusSuspended:  {StatusProcessing, StatusActive, StatusDeleted},
	StatusDeleted:    {StatusProcessing},
}

// CanTransition reports whether a service may move from s to to. The table:
//
//	from \ to    Ordered  Processing  Active  Suspended  Deleted
//	Ordered         -         yes       yes       -        yes
//	Processing     yes         -        yes      yes       yes
//	Active          -         yes        -       yes       yes
//	Suspended       -         yes       yes       -        yes
//	Deleted         -         yes        -        -         -
//
// Reasons: Ordered → Processing/Active is opening (synchronously or through
// a running operation), Ordered → Deleted is a cancelled order; Processing
// ends in the status its operation aimed at, or back in Ordered when an open
// is given up (the WHMCS module leaves the service Pending); Active and
// Suspended move between each other directly or through Processing and can
// be closed; Deleted → Processing is BILLmanager's "reopen". A status never
// transitions to itself, and unknown statuses transition nowhere.
func (s Status) CanTransition(to Status) bool {
	for _, t := range transitions[s] {
		if t == to {
			return true
		}
	}
	return false
}

// Code returns BILLmanager's numeric item status for s (1 ordered, 2 active,
// 3 suspended, 4 deleted, 5 processing; inferred from public module code, not
// documented), or 0 for an unknown status.
func (s Status) Code() int {
	switch s {
	case StatusOrdered:
		return 1
	case StatusActive:
		return 2
	case StatusSuspended:
		return 3
	case StatusDeleted:
		return 4
	case StatusProcessing:
		return 5
	}
	return 0
}

// StatusFromCode is the inverse of [Status.Code]; ok is false for an unknown
// code.
func StatusFromCode(code int) (s Status, ok bool) {
	for _, st := range []Status{StatusOrdered, StatusActive, StatusSuspended, StatusDeleted, StatusProcessing} {
		if st.Code() == code {
			return st, true
		}
	}
	return "", false
}

// Well-known Service.Properties keys.
const (
	PropServerID = "server_id" // panel ID of the dedicated server
	PropIP       = "ip"        // main IP address
	PropIPs      = "ips"       // additional IP addresses, comma-separated
	PropLogin    = "login"     // panel account name created for the service
)

// Service is one ordered product (BILLmanager "item"). It is a plain value
// and not safe for concurrent use.
type Service struct {
	// ID is the service ID (used by the @ID@ macro).
	ID int64
	// AccountID is the ID of the owning billing account (@ACCOUNT_ID@).
	AccountID int64
	// Username is the account owner's username (@USERNAME@).
	Username string
	// Domain is the service's domain (@DOMAIN@).
	Domain string
	// TariffID is the tariff the service was ordered on.
	TariffID int64
	// Status is the current lifecycle status; the zero value is not a valid
	// status, new services start in StatusOrdered.
	Status Status
	// Properties holds module-specific values such as the server ID and IP
	// addresses (see the Prop… keys).
	Properties map[string]string
	// ActivatedAt is when the service first became Active; zero until then.
	// It decides whether entering Active sends the welcome message.
	ActivatedAt time.Time
	// UpdatedAt is when Status last changed.
	UpdatedAt time.Time
}

// Prop returns property key ("" when unset).
func (s *Service) Prop(key string) string { return s.Properties[key] }

// SetProp sets property key, allocating Properties if needed.
func (s *Service) SetProp(key, value string) {
	if s.Properties == nil {
		s.Properties = make(map[string]string)
	}
	s.Properties[key] = value
}

// MacroVars returns the macro values of the service (Type is left empty; set
// it to the product type if a template uses @TYPE@).
func (s *Service) MacroVars() MacroVars {
	return MacroVars{Username: s.Username, Domain: s.Domain, ID: s.ID, AccountID: s.AccountID}
}

// Clone returns a deep copy of s.
func (s *Service) Clone() *Service {
	c := *s
	c.Properties = maps.Clone(s.Properties)
	return &c
}

// EventType says what a status transition means for the customer and for
// notifications.
type EventType string

// Event types, one per kind of transition.
const (
	// EventWelcome: the service became Active for the first time (from
	// Ordered or Processing); send the welcome message with its properties.
	EventWelcome EventType = "welcome"
	// EventActivated: the service became Active again (resumed or
	// reopened), not for the first time.
	EventActivated EventType = "activated"
	// EventProcessing: a running operation started.
	EventProcessing EventType = "processing"
	// EventSuspended: the service was suspended.
	EventSuspended EventType = "suspended"
	// EventDeleted: the service was closed or the order cancelled.
	EventDeleted EventType = "deleted"
	// EventReturnedToOrdered: an open was given up and the service waits
	// again in Ordered.
	EventReturnedToOrdered EventType = "returned_to_ordered"
)

// Event records one status transition.
type Event struct {
	// Type classifies the transition.
	Type EventType
	// ServiceID is the service's ID.
	ServiceID int64
	// From is the status before the transition.
	From Status
	// To is the status after it.
	To Status
	// At is the time passed to Transition.
	At time.Time
}

// Transition moves s to status to at time now, following the table of
// [Status.CanTransition], and returns the Event describing it. An illegal
// move (including to the current status) returns a *TransitionError and
// leaves s unchanged.
//
// Entering Active from Ordered or Processing while ActivatedAt is zero is the
// first activation: ActivatedAt is set to now and the event is EventWelcome.
// Any other entry into Active is EventActivated. UpdatedAt is set to now on
// every successful transition.
func (s *Service) Transition(to Status, now time.Time) (Event, error) {
	from := s.Status
	if !from.CanTransition(to) {
		return Event{}, &TransitionError{ServiceID: s.ID, From: from, To: to}
	}
	ev := Event{ServiceID: s.ID, From: from, To: to, At: now}
	switch to {
	case StatusActive:
		if (from == StatusOrdered || from == StatusProcessing) && s.ActivatedAt.IsZero() {
			ev.Type = EventWelcome
			s.ActivatedAt = now
		} else {
			ev.Type = EventActivated
		}
	case StatusProcessing:
		ev.Type = EventProcessing
	case StatusSuspended:
		ev.Type = EventSuspended
	case StatusDeleted:
		ev.Type = EventDeleted
	case StatusOrdered:
		ev.Type = EventReturnedToOrdered
	}
	s.Status = to
	s.UpdatedAt = now
	return ev, nil
}
