package main

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The idempotency rules. Every action names the service; the bridge
// derives the engine operation id from the service id, the action and a
// sequence number, so two identical calls, also concurrent ones, end on one
// operation:
//
//   - while an operation of the same action runs, the call returns it;
//   - while another action runs, the call fails with ErrBusy;
//   - when the service is already where the action would take it (create
//     of an active service, suspend of a suspended one, unsuspend of an
//     active one, terminate of a terminated one) nothing is recorded and the
//     call returns the last operation of that action, if any;
//   - otherwise a new operation "<service>.<action>.<n>" is recorded, n
//     being one more than the number of earlier operations of that action
//     (a create that failed is retried as attempt n+1).
//
// A change of password is an action whose outcome is not a status, so its
// operation id also carries a keyed digest of the new password: repeating
// the same change while it runs returns the running operation, a different
// password while one runs is ErrBusy.

// serviceIDPattern is what the bridge accepts as a service id: WHMCS's
// numeric ids and other short tokens. No '.', which separates the parts
// of operation ids.
var serviceIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func checkServiceID(op, id string) error {
	if !serviceIDPattern.MatchString(id) {
		return argErr(op, "service_id", "must be 1 to 64 letters, digits, '_' or '-'")
	}
	return nil
}

// action is one call of the bridge on a service.
type action struct {
	kind    string
	service string
	// plan is the plan of a create (a service of another plan is a
	// conflict).
	plan int64
	// tag, when set, is the last part of the operation id; a running
	// operation of the same kind with another tag makes the call busy.
	tag string
	// submit records the operation under id.
	submit func(ctx context.Context, id string) (Operation, error)
}

// busyError is ErrBusy with the operation that makes the service busy.
type busyError struct {
	op Operation
}

func (e *busyError) Error() string {
	return fmt.Sprintf("service %s: a %s operation (%s) is running", e.op.ServiceID, e.op.Kind, e.op.ID)
}

func (e *busyError) Unwrap() error { return ErrBusy }

// stateError is ErrState with the status that refused the action.
func stateError(a *action, status string) error {
	return fmt.Errorf("service %s is %s: cannot %s: %w", a.service, status, strings.ReplaceAll(a.kind, "_", " "), ErrState)
}

// do applies the idempotency rules and returns the operation to report:
// nil when the service already was where the action takes it and no
// earlier operation of the action is known.
func do(ctx context.Context, eng Engine, a *action) (*Operation, error) {
	for attempt := 0; ; attempt++ {
		svc, err := eng.Service(ctx, a.service)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if exists && a.kind == KindCreate && svc.Plan != a.plan {
			return nil, fmt.Errorf("service %s exists with plan %d: %w", a.service, svc.Plan, ErrConflict)
		}
		ops, err := eng.Operations(ctx, a.service)
		if err != nil {
			return nil, err
		}
		if run := unfinished(ops); run != nil {
			if run.Kind == a.kind && (a.tag == "" || strings.HasSuffix(run.ID, "."+a.tag)) {
				return run, nil
			}
			return nil, &busyError{op: *run}
		}
		settled, err := a.settled(svc, exists)
		if err != nil {
			return nil, err
		}
		if settled {
			return latest(ops, a.kind), nil
		}
		id := a.service + "." + a.kind + "." + strconv.Itoa(count(ops, a.kind)+1)
		if a.tag != "" {
			id += "." + a.tag
		}
		op, err := a.submit(ctx, id)
		if err == nil {
			return &op, nil
		}
		// The service changed between the look and the submit (another call
		// won the race): look again, a few times.
		if attempt < 3 && (errors.Is(err, ErrBusy) || errors.Is(err, ErrState)) {
			continue
		}
		return nil, err
	}
}

// settled reports whether the service already is where the action takes
// it, or refuses the action for the service's status.
func (a *action) settled(svc Service, exists bool) (bool, error) {
	if !exists {
		if a.kind == KindCreate {
			return false, nil
		}
		return false, fmt.Errorf("service %s: %w", a.service, ErrNotFound)
	}
	st := svc.Status
	switch a.kind {
	case KindCreate:
		switch st {
		case StatusPending:
			return false, nil // never opened, or the last attempt failed: try again
		case StatusTerminated:
			return false, stateError(a, st)
		}
		return true, nil // provisioning (staff finish it), active or suspended
	case KindSuspend:
		switch st {
		case StatusSuspended:
			return true, nil
		case StatusActive:
			return false, nil
		}
	case KindUnsuspend:
		switch st {
		case StatusActive:
			return true, nil
		case StatusSuspended:
			return false, nil
		}
	case KindTerminate:
		switch st {
		case StatusTerminated:
			return true, nil
		case StatusProvisioning:
			return false, stateError(a, st)
		}
		return false, nil
	case KindChangePassword:
		if st == StatusActive || st == StatusSuspended {
			return false, nil
		}
	}
	return false, stateError(a, st)
}

func unfinished(ops []Operation) *Operation {
	for i := range ops {
		if !ops[i].Finished() {
			return &ops[i]
		}
	}
	return nil
}

func count(ops []Operation, kind string) int {
	n := 0
	for _, o := range ops {
		if o.Kind == kind {
			n++
		}
	}
	return n
}

// latest is the most recent operation of kind, or nil.
func latest(ops []Operation, kind string) *Operation {
	var of []Operation
	for _, o := range ops {
		if o.Kind == kind {
			of = append(of, o)
		}
	}
	return newest(of)
}

// newest is the most recent operation (by creation, then id), or nil.
func newest(ops []Operation) *Operation {
	if len(ops) == 0 {
		return nil
	}
	last := slices.MaxFunc(ops, func(a, b Operation) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return &last
}

// passwordTag is the keyed digest that makes a password change's
// operation id: 12 hex digits of HMAC-SHA256(key, service id, password).
// It tells repeated changes apart without revealing the password.
func passwordTag(key []byte, serviceID, password string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(serviceID))
	m.Write([]byte{0})
	m.Write([]byte(password))
	return hex.EncodeToString(m.Sum(nil))[:12]
}
