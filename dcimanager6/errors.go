package dcimanager6

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ispkit/ispkit"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
)

// Sentinel categories. An *Error matches them with errors.Is according to
// its HTTP status (and, for ErrUnauthorized, the session error code);
// *ArgumentError matches ErrInvalidArgument; *OperationError matches
// ErrOperationFailed or ErrOperationCanceled.
var (
	ErrNotFound          = errors.New("dcimanager6: not found")
	ErrUnauthorized      = errors.New("dcimanager6: unauthorized")
	ErrForbidden         = errors.New("dcimanager6: forbidden")
	ErrConflict          = errors.New("dcimanager6: conflict or already exists")
	ErrInvalidInput      = errors.New("dcimanager6: rejected as invalid by the panel")
	ErrUnavailable       = errors.New("dcimanager6: panel unavailable")
	ErrInvalidArgument   = ispkit.ErrInvalidArgument
	ErrOperationFailed   = errors.New("dcimanager6: operation failed")
	ErrOperationCanceled = errors.New("dcimanager6: operation canceled")
)

// Error is an error answered by the panel: a non-2xx status, usually with a
// {"error":{"code","msg","value"}} body.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the panel's internal error code (0 when the body had none).
	Code int
	// Msg is the panel's message, or the HTTP status text when the body was
	// not an error document.
	Msg string
	// Value carries the panel's extra information (a JSON object). Values
	// under secret-looking keys are replaced by "REDACTED".
	Value json.RawMessage
	// Op names the client call, e.g. "Servers.Get".
	Op string
	// Method and Path locate the request (path without query).
	Method, Path string
	// Attempts is how many times the request was sent.
	Attempts int
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dcimanager6: %s: %s %s: HTTP %d", e.Op, e.Method, e.Path, e.StatusCode)
	if e.Code != 0 {
		fmt.Fprintf(&b, " code %d", e.Code)
	}
	if e.Msg != "" {
		b.WriteString(": " + e.Msg)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Is maps the error onto the sentinel categories.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.Code == CodeUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrConflict:
		return e.StatusCode == http.StatusConflict || e.Code == CodeExists
	case ErrInvalidInput:
		return e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnprocessableEntity
	case ErrUnavailable:
		return e.StatusCode == http.StatusServiceUnavailable
	}
	return false
}

// LogValue renders the error for log/slog.
func (e *Error) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("op", e.Op), slog.String("method", e.Method), slog.String("path", e.Path),
		slog.Int("status", e.StatusCode), slog.Int("code", e.Code), slog.String("msg", e.Msg),
		slog.Int("attempts", e.Attempts))
}

// IsNotFound reports whether err says the object does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsUnauthorized reports whether err is an authentication failure (bad
// credentials, or a session the client could not renew).
func IsUnauthorized(err error) bool { return errors.Is(err, ErrUnauthorized) }

// IsConflict reports whether err says the object already exists or the
// action is not allowed in the object's current state (HTTP 409).
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// ArgumentError reports input refused before anything was sent: a bad
// option, a malformed name, a field out of range. It is the one type every
// ispkit package returns for refused input (its Package field says which
// package refused it), so one errors.As handles them all; it matches
// ErrInvalidArgument. The offending value is never part of the message: it
// may be a password.
type ArgumentError = ispkit.ArgumentError

func argErr(op, arg, reason string) error {
	return &ArgumentError{Package: "dcimanager6", Op: op, Arg: arg, Reason: reason}
}

// ProtocolError is a successful-looking response the client cannot read:
// a body that is not the JSON it expects.
type ProtocolError struct {
	Op         string
	Path       string
	StatusCode int
	// Err is the decoding error.
	Err error
	// Size is the body length.
	Size int
}

// Error implements error.
func (e *ProtocolError) Error() string {
	return fmt.Sprintf("dcimanager6: %s: %s: HTTP %d: unreadable response (%d bytes): %v", e.Op, e.Path, e.StatusCode, e.Size, e.Err)
}

// Unwrap returns the decoding error.
func (e *ProtocolError) Unwrap() error { return e.Err }

// OperationError is returned by the waiters when an operation ends with
// the error or canceled status.
type OperationError struct {
	Operation *Operation
}

// Error implements error.
func (e *OperationError) Error() string {
	o := e.Operation
	s := fmt.Sprintf("dcimanager6: operation %d", o.ID)
	if o.Name != "" {
		s += " (" + o.Name + ")"
	}
	s += " ended with status " + o.Status
	if m := o.Message(); m != "" {
		s += ": " + m
	}
	return s
}

// Is matches ErrOperationFailed or ErrOperationCanceled.
func (e *OperationError) Is(target error) bool {
	switch target {
	case ErrOperationFailed:
		return e.Operation.Status != StatusCanceled
	case ErrOperationCanceled:
		return e.Operation.Status == StatusCanceled
	}
	return false
}

type wireError struct {
	Error *struct {
		Code  int             `json:"code"`
		Msg   string          `json:"msg"`
		Value json.RawMessage `json:"value"`
	} `json:"error"`
}

// decodeError builds an *Error from a non-2xx response.
func decodeError(op, method, path string, resp *httpx.Response) *Error {
	e := &Error{StatusCode: resp.StatusCode, Op: op, Method: method, Path: path, Attempts: resp.Attempts}
	var w wireError
	if json.Unmarshal(resp.Body, &w) == nil && w.Error != nil {
		e.Code = w.Error.Code
		e.Msg = sanitizeText(w.Error.Msg)
		e.Value = redactJSON(w.Error.Value)
	}
	if e.Msg == "" {
		e.Msg = http.StatusText(resp.StatusCode)
	}
	return e
}

// sanitizeText strips line breaks (log injection) and bounds the length.
func sanitizeText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return strings.TrimSpace(s)
}

// redactJSON replaces values under secret-looking keys, at any depth.
func redactJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	out, err := json.Marshal(redactAny(v))
	if err != nil {
		return nil
	}
	return out
}

func redactAny(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if httpx.IsSecret(k) {
				t[k] = "REDACTED"
			} else {
				t[k] = redactAny(x)
			}
		}
	case []any:
		for i, x := range t {
			t[i] = redactAny(x)
		}
	}
	return v
}

// TransportError is a failure below the API (connection refused or reset,
// timeout, TLS, cancelled context) after the retries the call's class
// allows. MayHaveHappened is true for a non-idempotent call that may have
// reached the panel. It unwraps to the cause. (An alias of the shared
// HTTP core's type, so callers can use errors.As.)
type TransportError = httpx.TransportError

// RateLimitError is returned when the panel asks (Retry-After on 429/503)
// to wait longer than the client allows (30 s).
type RateLimitError = httpx.RateLimitError

// RedirectError is a redirect the client refused to follow: to another
// scheme or host (the request carries the login or the session, which
// must never reach another host), or one redirect too many. Redirects on
// the same scheme and host are followed.
type RedirectError = httpx.RedirectError

// ResponseTooLargeError is an answer larger than the cap set with
// WithMaxResponseSize; the rest of it was not read.
type ResponseTooLargeError = httpx.ResponseTooLargeError
