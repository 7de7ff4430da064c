package mgr5

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
)

// Error types reported by the panels in doc.error/$type.
const (
	TypeAuth    = "auth"
	TypeExists  = "exists"
	TypeMissed  = "missed"
	TypeValue   = "value"
	TypeAccess  = "access"
	TypeXML     = "xml"
	TypeLimit   = "limit"   // (assumed) guessed name of the mgr4 "limit exceeded" code
	TypeLicense = "license" // (assumed) guessed name of the mgr4 "license" code
)

// Sentinel categories matched by errors.Is against an *Error.
var (
	ErrAuth     = errors.New("mgr5: authentication failed")
	ErrExists   = errors.New("mgr5: object already exists")
	ErrNotFound = errors.New("mgr5: object not found")
	ErrValue    = errors.New("mgr5: invalid value")
	ErrAccess   = errors.New("mgr5: access denied")
	ErrLimit    = errors.New("mgr5: limit exceeded")
)

// Error is a doc.error returned by a panel (HTTP 200 with an error body).
type Error struct {
	// Panel and Func name the call that failed.
	Panel string
	Func  string
	// Type is the error kind: auth, exists, missed, value, access, ...
	Type string
	// Object is what the error is about: a field name, "user", "elid", ...
	Object string
	// Value is the offending value (redacted when Object names a secret).
	Value string
	// Message is the panel's text with __name__ placeholders filled in.
	Message string
	// Params are the error's param children by name.
	Params map[string]string
}

// Error renders "panel: func: type/object (value): message".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s", e.Panel, e.Func, e.Type)
	if e.Object != "" {
		b.WriteString("/" + e.Object)
	}
	if e.Value != "" {
		fmt.Fprintf(&b, " (%s)", e.Value)
	}
	if e.Message != "" {
		b.WriteString(": " + strings.TrimSpace(e.Message))
	}
	return b.String()
}

// Is maps the error onto the package's sentinel categories.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrAuth:
		return e.Type == TypeAuth
	case ErrExists:
		return e.Type == TypeExists
	case ErrNotFound:
		return e.Type == TypeMissed
	case ErrValue:
		return e.Type == TypeValue
	case ErrAccess:
		return e.Type == TypeAccess
	case ErrLimit:
		return e.Type == TypeLimit
	}
	return false
}

// LogValue renders the error for log/slog.
func (e *Error) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("panel", e.Panel), slog.String("func", e.Func),
		slog.String("type", e.Type), slog.String("object", e.Object),
		slog.String("value", e.Value), slog.String("msg", e.Message))
}

// IsAuth reports whether err is a panel authentication error.
func IsAuth(err error) bool { return errors.Is(err, ErrAuth) }

// IsExists reports whether err says the object already exists.
func IsExists(err error) bool { return errors.Is(err, ErrExists) }

// IsNotFound reports whether err says the object does not exist (missed).
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsValue reports whether err is an invalid-value error.
func IsValue(err error) bool { return errors.Is(err, ErrValue) }

// IsAccess reports whether err is an access-denied error.
func IsAccess(err error) bool { return errors.Is(err, ErrAccess) }

// ProtocolError is a response the client cannot interpret: not JSON, no
// doc element, or a non-200 HTTP status without a doc.error.
type ProtocolError struct {
	Panel      string
	Func       string
	StatusCode int
	Reason     string
	// Size is the length of the body that could not be read.
	Size int
}

// Error says what could not be read; it never includes the body.
func (e *ProtocolError) Error() string {
	s := fmt.Sprintf("%s: %s: unexpected response", e.Panel, e.Func)
	if e.StatusCode != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.StatusCode)
	}
	return s + fmt.Sprintf(": %s (%d bytes)", e.Reason, e.Size)
}

type wireParam struct {
	Name string `json:"$name"`
	Text string `json:"$"`
}

type wireError struct {
	Type   string          `json:"$type"`
	Object string          `json:"$object"`
	Value  string          `json:"$value"`
	Msg    Value           `json:"msg"`
	Detail Value           `json:"detail"`
	Param  json.RawMessage `json:"param"`
}

func decodeError(panel, fn string, raw json.RawMessage) error {
	var w wireError
	if err := json.Unmarshal(raw, &w); err != nil {
		return &ProtocolError{Panel: panel, Func: fn, Reason: "malformed doc.error: " + err.Error(), Size: len(raw)}
	}
	e := &Error{Panel: panel, Func: fn, Type: w.Type, Object: w.Object, Value: w.Value, Params: map[string]string{}}
	var params []wireParam
	_ = unmarshalOneOrMany(w.Param, &params)
	for _, p := range params {
		e.Params[p.Name] = p.Text
	}
	if e.Object == "" {
		e.Object = e.Params["object"]
	}
	if e.Value == "" {
		e.Value = e.Params["value"]
	}
	msg := w.Msg.Text
	if msg == "" {
		msg = w.Detail.Text
	}
	// The object names the field the value belongs to; a secret field's
	// value is never kept. "badpassword" on an auth error is not a field:
	// its value is the caller's remote_addr, which is
	// what an admin needs to fix an authinfo whitelist.
	secretObject := httpx.IsSecret(e.Object) && !(e.Type == TypeAuth && e.Object == "badpassword")
	for k, v := range e.Params {
		if httpx.IsSecret(k) || (k == "value" && secretObject) {
			v = "REDACTED"
		}
		msg = strings.ReplaceAll(msg, "__"+k+"__", v)
	}
	if secretObject {
		if e.Value != "" {
			e.Value = "REDACTED"
		}
		if _, ok := e.Params["value"]; ok {
			e.Params["value"] = "REDACTED"
		}
	}
	e.Message = strings.TrimSpace(msg)
	return e
}
