package dcimanager6

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/validate"
)

// This file holds the write calls that fill two gaps of the public API
//: binding an address of the IP
// service to a server and freeing it, and changing a user's password.
// Every path and field is an assumption of assumptions.go.

// IPAssignRequest asks the IP service for an address for a server [G
// shape, see assumptions.go].
type IPAssignRequest struct {
	// ServerID is the server the address is bound to (required).
	ServerID int64
	// PoolID is the pool to take the first free address from. Required
	// unless Address is given; with Address it must be the address's pool
	// (or 0).
	PoolID int64
	// Address asks for this exact address instead of any free one.
	Address string
	// Domain is the address's domain (PTR name), optional.
	Domain string
	// Note is written on the assignment so that FindAssignment can find it
	// again after an uncertain failure. Use a value unique per intended
	// assignment (e.g. an operation ID); optional but recommended when
	// Address is empty.
	Note string
}

// Validate checks the request before it is sent.
func (r *IPAssignRequest) Validate() error {
	const op = "IPs.Assign"
	if err := checkID(op, "ServerID", r.ServerID); err != nil {
		return err
	}
	if r.PoolID < 0 {
		return argErr(op, "PoolID", "negative")
	}
	if r.Address == "" && r.PoolID == 0 {
		return argErr(op, "PoolID", "required when no Address is given")
	}
	if r.Address != "" {
		if _, err := netip.ParseAddr(r.Address); err != nil {
			return argErr(op, "Address", "not an IP address")
		}
	}
	if r.Domain != "" {
		if err := checkHostname(op, r.Domain); err != nil {
			return err
		}
	}
	if len(r.Note) > 255 || strings.ContainsAny(r.Note, "\x00\r\n") {
		return argErr(op, "Note", "longer than 255 bytes or contains a control character")
	}
	return nil
}

func (r *IPAssignRequest) body() map[string]any {
	b := map[string]any{fieldAssignServer: r.ServerID}
	if r.PoolID > 0 {
		b[fieldAssignPool] = r.PoolID
	}
	if r.Address != "" {
		b[fieldAssignName] = r.Address
	}
	if r.Domain != "" {
		b[fieldAssignDomain] = r.Domain
	}
	if r.Note != "" {
		b[fieldAssignNote] = r.Note
	}
	return b
}

// Assign binds an address to a server: the first free address of
// req.PoolID, or req.Address. The answer is the address as the IP service
// now shows it (status "allocated", ServerID set). A pool without a free
// address, or an Address that is not free, is a conflict (IsConflict).
//
// Assign is non-idempotent and sent once: after a *TransportError whose
// MayHaveHappened is true, call FindAssignment with the same request
// before trying again, or the server may end up with two addresses.
//
// endpoint: POST /ip/v3/ip {"ippool","name","server_id","domain","note"} (assumed)
func (s *IPsService) Assign(ctx context.Context, req IPAssignRequest) (*IP, error) {
	const op = "IPs.Assign"
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out IP
	if err := s.c.do(ctx, call{op: op, method: http.MethodPost, path: pathIPAssign, body: req.body(),
		class: httpx.NonIdempotent}, &out); err != nil {
		return nil, err
	}
	if out.ID <= 0 {
		return nil, &ProtocolError{Op: op, Path: s.c.prefix + pathIPAssign, StatusCode: http.StatusOK,
			Err: errors.New("the answer names no address")}
	}
	return &out, nil
}

// FindAssignment looks for the address an earlier Assign with the same
// request bound to the server: by Note when it is set, else by Address.
// It returns an *Error matching ErrNotFound when there is none (the
// assignment did not happen). A request with neither Note nor Address
// cannot be found again; that is an *ArgumentError.
//
// endpoint: GET /ip/v3/ip?where=server_id EQ {id} AND (note EQ … | name EQ …)
func (s *IPsService) FindAssignment(ctx context.Context, req IPAssignRequest) (*IP, error) {
	const op = "IPs.FindAssignment"
	if err := checkID(op, "ServerID", req.ServerID); err != nil {
		return nil, err
	}
	w := EQ(filterServerID, req.ServerID)
	switch {
	case req.Note != "":
		w = w.And(EQ(filterIPNote, req.Note))
	case req.Address != "":
		a, err := netip.ParseAddr(req.Address)
		if err != nil {
			return nil, argErr(op, "Address", "not an IP address")
		}
		w = w.And(EQ(filterIPName, a.String()))
	default:
		return nil, argErr(op, "Note", "neither Note nor Address is set: the assignment cannot be identified")
	}
	ips, _, err := list[IP](ctx, s.c, op, pathIPs, &ListOptions{Where: w, Limit: Limit(0, 1)}, Where{})
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, &Error{StatusCode: http.StatusNotFound, Code: CodeNotFound, Op: op,
			Method: http.MethodGet, Path: s.c.prefix + pathIPs, Msg: "no such assignment", Attempts: 1}
	}
	return &ips[0], nil
}

// Unassign frees an address: it leaves its server and goes back to its
// pool. Retried as an idempotent write: a repeat after success (or an
// address that is not assigned) answers not found (IsNotFound), which
// callers that only want the address gone may treat as success.
//
// endpoint: DELETE /ip/v3/ip/{id} (assumed)
func (s *IPsService) Unassign(ctx context.Context, id int64) error {
	const op = "IPs.Unassign"
	if err := checkID(op, "id", id); err != nil {
		return err
	}
	return s.c.do(ctx, call{op: op, method: http.MethodDelete, path: pathf(pathIPUnassign, id),
		class: httpx.IdempotentWrite}, nil)
}

// SetPassword changes the login password of a user. The password is sent
// only in the request body. Retried as an idempotent write (setting the
// same password twice has the same effect).
//
// endpoint: POST /auth/v4/user/{id}/password {"password"} (assumed)
func (s *UsersService) SetPassword(ctx context.Context, id int64, password string) error {
	const op = "Users.SetPassword"
	if err := checkID(op, "id", id); err != nil {
		return err
	}
	if why := validate.Password(password); why != "" {
		return argErr(op, "password", why)
	}
	return s.c.do(ctx, call{op: op, method: http.MethodPost, path: pathf(pathUserPassword, id),
		body: map[string]string{fieldPassword: password}, class: httpx.IdempotentWrite}, nil)
}
