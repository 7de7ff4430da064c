package provision

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strconv"
	"strings"
)

// Request asks for one operation on a service. It is one of OpenRequest,
// SuspendRequest, UnsuspendRequest, CloseRequest, ChangePasswordRequest,
// AddIPRequest, RemoveIPRequest and ReinstallRequest (or a pointer to
// one): each carries only the fields its operation uses, so a tariff on an
// AddIP cannot be written. [Engine.Submit] and [Engine.Do] take any of
// them; the helpers (Engine.Open, Engine.AddIP, …) take their own.
//
// Every request has an optional OperationID, an idempotency key:
// submitting the same id again returns the existing operation instead of
// creating another. ServiceID identifies the service; a decimal id is also
// used for the @ID@ macro and in manual tasks.
//
// Requests that hold a password (Open, ChangePassword, Reinstall) print
// and log it as "[REDACTED]"; the Store keeps it in Operation.Input.
type Request interface {
	// Kind is the operation the request asks for.
	Kind() OperationKind
	ids() (operationID, serviceID string)
	// check validates what can be checked without the Store or the
	// catalog.
	check() error
}

// OpenRequest opens a service: a dedicated server, a hosting account or a
// colocation (a manual task).
type OpenRequest struct {
	OperationID string `json:"-"`
	ServiceID   string `json:"-"`
	// TariffID is the tariff plan of the new service.
	TariffID int64 `json:"tariff_id"`
	// AccountID is the billing account (@ACCOUNT_ID@).
	AccountID int64 `json:"account_id,omitempty"`
	// Owner is the account owner's name; the panel username is derived from
	// it (@USERNAME@, billing.SanitizeUsername).
	Owner string `json:"owner,omitempty"`
	// Password is the panel user's password (not for colocation).
	Password string `json:"password,omitempty"`
	// Domain is the service domain (@DOMAIN@; hosting: the account's
	// domain).
	Domain string `json:"domain,omitempty"`
	// Options are the customer's order options (dedicated servers), keyed
	// as in the billing package: os/OS/ostemplate, recipe, IP, IPv6.
	Options map[string]string `json:"options,omitempty"`
}

// SuspendRequest suspends a service: a dedicated server's switch ports go
// off (it keeps running), a hosting account is suspended.
type SuspendRequest struct {
	OperationID string `json:"-"`
	ServiceID   string `json:"-"`
}

// UnsuspendRequest resumes a suspended service.
type UnsuspendRequest struct {
	OperationID string `json:"-"`
	ServiceID   string `json:"-"`
}

// CloseRequest closes a service and releases its server or account.
type CloseRequest struct {
	OperationID string `json:"-"`
	ServiceID   string `json:"-"`
}

// ChangePasswordRequest changes the panel user's password.
type ChangePasswordRequest struct {
	OperationID string `json:"-"`
	ServiceID   string `json:"-"`
	Password    string `json:"password"`
}

// AddIPRequest adds an address to a dedicated server.
type AddIPRequest struct {
	OperationID string `json:"-"`
	ServiceID   string `json:"-"`
	// Family is "ipv4" (the default) or "ipv6".
	Family string `json:"family,omitempty"`
	// IP is the address to add; empty lets IPmanager (or the panel) choose.
	IP string `json:"ip,omitempty"`
}

// RemoveIPRequest removes an additional address from a dedicated server.
type RemoveIPRequest struct {
	OperationID string `json:"-"`
	ServiceID   string `json:"-"`
	IP          string `json:"ip"`
}

// ReinstallRequest reinstalls a dedicated server's OS.
type ReinstallRequest struct {
	OperationID string `json:"-"`
	ServiceID   string `json:"-"`
	// Password is the new root password.
	Password string `json:"password"`
	// OSTemplate and Recipe override the template and recipe of the Open
	// (empty: the ones recorded on the service).
	OSTemplate string `json:"os_template,omitempty"`
	Recipe     string `json:"recipe,omitempty"`
}

// Kind implements Request.
func (OpenRequest) Kind() OperationKind { return OpOpen }

// Kind implements Request.
func (SuspendRequest) Kind() OperationKind { return OpSuspend }

// Kind implements Request.
func (UnsuspendRequest) Kind() OperationKind { return OpUnsuspend }

// Kind implements Request.
func (CloseRequest) Kind() OperationKind { return OpClose }

// Kind implements Request.
func (ChangePasswordRequest) Kind() OperationKind { return OpChangePassword }

// Kind implements Request.
func (AddIPRequest) Kind() OperationKind { return OpAddIP }

// Kind implements Request.
func (RemoveIPRequest) Kind() OperationKind { return OpRemoveIP }

// Kind implements Request.
func (ReinstallRequest) Kind() OperationKind { return OpReinstall }

func (r OpenRequest) ids() (string, string)           { return r.OperationID, r.ServiceID }
func (r SuspendRequest) ids() (string, string)        { return r.OperationID, r.ServiceID }
func (r UnsuspendRequest) ids() (string, string)      { return r.OperationID, r.ServiceID }
func (r CloseRequest) ids() (string, string)          { return r.OperationID, r.ServiceID }
func (r ChangePasswordRequest) ids() (string, string) { return r.OperationID, r.ServiceID }
func (r AddIPRequest) ids() (string, string)          { return r.OperationID, r.ServiceID }
func (r RemoveIPRequest) ids() (string, string)       { return r.OperationID, r.ServiceID }
func (r ReinstallRequest) ids() (string, string)      { return r.OperationID, r.ServiceID }

func (r OpenRequest) check() error {
	if r.TariffID <= 0 {
		return reqArg(r, "TariffID", "required")
	}
	if r.AccountID < 0 {
		return reqArg(r, "AccountID", "must not be negative")
	}
	return nil
}

func (SuspendRequest) check() error   { return nil }
func (UnsuspendRequest) check() error { return nil }
func (CloseRequest) check() error     { return nil }

func (r ChangePasswordRequest) check() error {
	if r.Password == "" {
		return reqArg(r, "Password", "required")
	}
	return nil
}

func (r AddIPRequest) check() error {
	switch r.Family {
	case "", "ipv4", "ipv6":
	default:
		return reqArg(r, "Family", `must be "ipv4" or "ipv6"`)
	}
	if r.IP != "" {
		if net.ParseIP(r.IP) == nil {
			return reqArg(r, "IP", "not an IP address")
		}
		if r.Family != "" && familyOf(r.IP) != r.Family {
			return reqArg(r, "IP", "does not match Family")
		}
	}
	return nil
}

// family is the address family to add.
func (r AddIPRequest) family() string {
	switch {
	case r.Family != "":
		return r.Family
	case r.IP != "":
		return familyOf(r.IP)
	}
	return "ipv4"
}

func (r RemoveIPRequest) check() error {
	if net.ParseIP(r.IP) == nil {
		return reqArg(r, "IP", "required: an IP address")
	}
	return nil
}

func (r ReinstallRequest) check() error {
	if r.Password == "" {
		return reqArg(r, "Password", "required")
	}
	return nil
}

// reqArg is the *ArgumentError for field of req.
func reqArg(req Request, field, reason string) error {
	return argErr(opName(req.Kind()), reqType(req.Kind())+"."+field, reason)
}

// opName is the Engine method of kind ("AddIP").
func opName(k OperationKind) string {
	switch k {
	case OpOpen:
		return "Open"
	case OpSuspend:
		return "Suspend"
	case OpUnsuspend:
		return "Unsuspend"
	case OpClose:
		return "Close"
	case OpChangePassword:
		return "ChangePassword"
	case OpAddIP:
		return "AddIP"
	case OpRemoveIP:
		return "RemoveIP"
	case OpReinstall:
		return "Reinstall"
	}
	return string(k)
}

func reqType(k OperationKind) string { return opName(k) + "Request" }

// checkRequest validates req before anything is read or recorded.
func checkRequest(req Request) error {
	if req == nil {
		return argErr("Submit", "Request", "nil")
	}
	if v := reflect.ValueOf(req); v.Kind() == reflect.Pointer && v.IsNil() {
		return argErr("Submit", "Request", "nil "+v.Type().String())
	}
	opID, svcID := req.ids()
	if strings.TrimSpace(svcID) == "" {
		return reqArg(req, "ServiceID", "required")
	}
	if len(svcID) > 200 || strings.ContainsAny(svcID, "/\n\r") {
		return reqArg(req, "ServiceID", "must be at most 200 characters without '/' or line breaks")
	}
	if len(opID) > 200 || strings.ContainsAny(opID, "/\n\r") {
		return reqArg(req, "OperationID", "must be at most 200 characters without '/' or line breaks")
	}
	return req.check()
}

// deref returns the request value behind a pointer.
func deref(req Request) Request {
	if v := reflect.ValueOf(req); v.Kind() == reflect.Pointer {
		return v.Elem().Interface().(Request)
	}
	return req
}

// ---- Operation.Input: the request as versioned JSON ----

// inputVersion is the format of Operation.Input this release writes:
// {"v":2,"request":{…the request's fields…}}. Version 1 (the first
// release) was a flat map of strings; decodeInput reads both.
const inputVersion = 2

type inputEnvelope struct {
	V       int             `json:"v"`
	Request json.RawMessage `json:"request"`
}

func encodeInput(req Request) (json.RawMessage, error) {
	b, err := json.Marshal(deref(req))
	if err != nil {
		return nil, err
	}
	return json.Marshal(inputEnvelope{V: inputVersion, Request: b})
}

// newRequest returns a zero request of kind (a pointer, to decode into).
func newRequest(kind OperationKind) (Request, error) {
	switch kind {
	case OpOpen:
		return &OpenRequest{}, nil
	case OpSuspend:
		return &SuspendRequest{}, nil
	case OpUnsuspend:
		return &UnsuspendRequest{}, nil
	case OpClose:
		return &CloseRequest{}, nil
	case OpChangePassword:
		return &ChangePasswordRequest{}, nil
	case OpAddIP:
		return &AddIPRequest{}, nil
	case OpRemoveIP:
		return &RemoveIPRequest{}, nil
	case OpReinstall:
		return &ReinstallRequest{}, nil
	}
	return nil, fmt.Errorf("provision: unknown operation kind %q", kind)
}

// decodeInput reads op.Input into the request of op.Kind (a value, not a
// pointer); legacy reports a version 1 input.
func decodeInput(op *Operation) (req Request, legacy bool, err error) {
	r, err := newRequest(op.Kind)
	if err != nil {
		return nil, false, err
	}
	if isV2(op.Input) {
		var env inputEnvelope
		if err := json.Unmarshal(op.Input, &env); err != nil {
			return nil, false, fmt.Errorf("provision: operation %s: input: %w", op.ID, err)
		}
		if env.V > inputVersion {
			return nil, false, fmt.Errorf("provision: operation %s: input version %d: %w (%d)", op.ID, env.V, errNewer, inputVersion)
		}
		if err := json.Unmarshal(env.Request, r); err != nil {
			return nil, false, fmt.Errorf("provision: operation %s: input: %w", op.ID, err)
		}
	} else {
		m, err := legacyMap(op.Input)
		if err != nil {
			return nil, false, fmt.Errorf("provision: operation %s: input: %w", op.ID, err)
		}
		requestFromV1(r, m)
		legacy = true
	}
	r = deref(r)
	return withIDs(r, op.ID, op.ServiceID), legacy, nil
}

// withIDs sets the ids of a request value (every request type has the
// fields OperationID and ServiceID).
func withIDs(req Request, opID, svcID string) Request {
	v := reflect.New(reflect.TypeOf(req)).Elem()
	v.Set(reflect.ValueOf(req))
	v.FieldByName("OperationID").SetString(opID)
	v.FieldByName("ServiceID").SetString(svcID)
	return v.Interface().(Request)
}

// requestFromV1 fills r from a version 1 input map (keys tariff_id,
// account_id, owner, password, domain, family, ip, os_template, recipe and
// opt:<order option>).
func requestFromV1(r Request, m map[string]string) {
	num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
	switch r := r.(type) {
	case *OpenRequest:
		r.TariffID, r.AccountID, r.Owner, r.Password, r.Domain = num("tariff_id"), num("account_id"), m["owner"], m["password"], m["domain"]
		for k, v := range m {
			if name, ok := strings.CutPrefix(k, "opt:"); ok {
				if r.Options == nil {
					r.Options = map[string]string{}
				}
				r.Options[name] = v
			}
		}
	case *ChangePasswordRequest:
		r.Password = m["password"]
	case *AddIPRequest:
		r.Family, r.IP = m["family"], m["ip"]
	case *RemoveIPRequest:
		r.IP = m["ip"]
	case *ReinstallRequest:
		r.Password, r.OSTemplate, r.Recipe = m["password"], m["os_template"], m["recipe"]
	}
}

// ---- redaction ----

const redacted = "[REDACTED]"

// show prints a request's fields as %+v would, with Password redacted.
func show(req any) string {
	v := reflect.ValueOf(req)
	var b strings.Builder
	b.WriteString(v.Type().Name())
	b.WriteByte('{')
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if i > 0 {
			b.WriteByte(' ')
		}
		val := v.Field(i).Interface()
		if f.Name == "Password" && val != "" {
			val = redacted
		}
		fmt.Fprintf(&b, "%s:%v", f.Name, val)
	}
	b.WriteByte('}')
	return b.String()
}

// String implements fmt.Stringer without the password.
func (r OpenRequest) String() string { return show(r) }

// GoString implements fmt.GoStringer without the password.
func (r OpenRequest) GoString() string { return "provision." + show(r) }

// LogValue implements slog.LogValuer without the password.
func (r OpenRequest) LogValue() slog.Value { return slog.StringValue(show(r)) }

// String implements fmt.Stringer without the password.
func (r ChangePasswordRequest) String() string { return show(r) }

// GoString implements fmt.GoStringer without the password.
func (r ChangePasswordRequest) GoString() string { return "provision." + show(r) }

// LogValue implements slog.LogValuer without the password.
func (r ChangePasswordRequest) LogValue() slog.Value { return slog.StringValue(show(r)) }

// String implements fmt.Stringer without the password.
func (r ReinstallRequest) String() string { return show(r) }

// GoString implements fmt.GoStringer without the password.
func (r ReinstallRequest) GoString() string { return "provision." + show(r) }

// LogValue implements slog.LogValuer without the password.
func (r ReinstallRequest) LogValue() slog.Value { return slog.StringValue(show(r)) }

func familyOf(ip string) string {
	if p := net.ParseIP(ip); p != nil && p.To4() == nil {
		return "ipv6"
	}
	return "ipv4"
}
