package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ispkit/ispkit"
)

// openAPIDocument is the OpenAPI 3 description of the routes below, served
// at GET /v1/openapi.json (a test keeps the two in agreement).
//
//go:embed openapi.json
var openAPIDocument []byte

// Stable error codes of the JSON errors ({"error": {"code": …}}) and of
// failed operations (operation.error.code).
const (
	CodeUnauthorized         = "unauthorized"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeInvalidArgument      = "invalid_argument"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeRequestTooLarge      = "request_too_large"
	CodeServiceState         = "service_state"
	CodeBusy                 = "busy"
	CodeConflict             = "conflict"
	CodeUnsupported          = "unsupported"
	CodeNoBackend            = "no_backend"
	CodeUnavailable          = "unavailable"
	CodeInternal             = "internal"

	CodeNoServer        = "no_server"
	CodeTooManyFailures = "too_many_failures"
	CodeOperationFailed = "operation_failed"
)

// errorCodes lists every code, for the OpenAPI test.
var errorCodes = []string{CodeUnauthorized, CodeNotFound, CodeMethodNotAllowed, CodeInvalidArgument,
	CodeUnsupportedMediaType, CodeRequestTooLarge, CodeServiceState, CodeBusy, CodeConflict, CodeUnsupported,
	CodeNoBackend, CodeUnavailable, CodeInternal, CodeNoServer, CodeTooManyFailures, CodeOperationFailed}

// APIError is the body of every error answer ({"error": APIError}) and the
// reason of a failed operation.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the refused request field (invalid_argument).
	Field string `json:"field,omitempty"`
	// OperationID is the running operation that makes a service busy.
	OperationID string `json:"operation_id,omitempty"`
}

// httpError is an error with its own status and code (routing, auth,
// media type).
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// Limits of requests.
const (
	maxBodyBytes    = 64 << 10
	maxOptions      = 16
	maxFieldBytes   = 256
	defaultMaxWait  = 120 * time.Second
	defaultKeepWarm = 15 * time.Second
)

// apiConfig configures the HTTP layer.
type apiConfig struct {
	Engine Engine
	// Token is the bearer token every call except GET /v1/openapi.json
	// must present.
	Token string
	// Logger gets one line per request (method, route, status, duration);
	// never a body, header or token. Default: discard.
	Logger *slog.Logger
	// MaxWait caps the wait query parameter; default 120 s.
	MaxWait time.Duration
	// Keepalive is the interval of the comment lines that keep an idle
	// event stream open through proxies; default 15 s.
	Keepalive time.Duration
	// EventBuffer is how many events are kept for clients that reconnect
	// with Last-Event-ID; default 4096.
	EventBuffer int
	// Choices are the order options each plan accepts; a create with an
	// option outside them is refused. A plan without an entry is left to
	// the engine.
	Choices map[int64]Choices
}

// api is the bridge's HTTP handler.
type api struct {
	cfg       apiConfig
	eng       Engine
	log       *slog.Logger
	tokenHash [sha256.Size]byte
	// opKey keys the digests in password-change operation ids (derived
	// from the token, so it survives restarts).
	opKey   []byte
	hub     *eventHub
	mux     *http.ServeMux
	stopSub func()
	done    chan struct{}
}

func newAPI(cfg apiConfig) (*api, error) {
	if cfg.Engine == nil {
		return nil, argErr("newAPI", "Engine", "required")
	}
	if len(cfg.Token) < 16 {
		return nil, argErr("newAPI", "token", "must be at least 16 characters")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = defaultMaxWait
	}
	if cfg.Keepalive <= 0 {
		cfg.Keepalive = defaultKeepWarm
	}
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = 4096
	}
	key := sha256.Sum256([]byte("ispkit-bridge operation ids\x00" + cfg.Token))
	a := &api{cfg: cfg, eng: cfg.Engine, log: cfg.Logger, tokenHash: sha256.Sum256([]byte(cfg.Token)),
		opKey: key[:], hub: newEventHub(cfg.EventBuffer), mux: http.NewServeMux(), done: make(chan struct{})}
	for _, rt := range a.routes() {
		a.mux.Handle(rt.method+" "+rt.path, a.wrap(rt))
	}
	a.mux.Handle("/", a.wrap(route{handle: a.fallback}))
	a.stopSub = a.eng.Subscribe(a.hub.publish)
	return a, nil
}

// Close stops the event subscription and ends the open event streams.
func (a *api) Close() {
	select {
	case <-a.done:
	default:
		close(a.done)
		a.stopSub()
	}
}

// route is one endpoint. The OpenAPI document lists exactly these.
type route struct {
	method, path string
	public       bool
	handle       func(w http.ResponseWriter, r *http.Request) error
}

func (a *api) routes() []route {
	return []route{
		{method: "GET", path: "/v1/openapi.json", public: true, handle: a.openAPI},
		{method: "GET", path: "/v1/plans", handle: a.plans},
		{method: "GET", path: "/v1/services/{id}", handle: a.service},
		{method: "POST", path: "/v1/services/{id}/create", handle: a.create},
		{method: "POST", path: "/v1/services/{id}/suspend", handle: a.simple(KindSuspend)},
		{method: "POST", path: "/v1/services/{id}/unsuspend", handle: a.simple(KindUnsuspend)},
		{method: "POST", path: "/v1/services/{id}/terminate", handle: a.simple(KindTerminate)},
		{method: "POST", path: "/v1/services/{id}/change-password", handle: a.changePassword},
		{method: "POST", path: "/v1/services/{id}/login-link", handle: a.loginLink},
		{method: "GET", path: "/v1/operations/{id}", handle: a.operation},
		{method: "GET", path: "/v1/events", handle: a.events},
	}
}

// statusRecorder remembers the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach Flush and the deadlines.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	a.mux.ServeHTTP(rec, r)
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
}

func (a *api) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !rt.public && !a.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ispkit-bridge"`)
			a.writeError(w, r, &httpError{http.StatusUnauthorized, CodeUnauthorized, "missing or wrong bearer token"})
			return
		}
		if err := rt.handle(w, r); err != nil {
			a.writeError(w, r, err)
		}
	})
}

// authorized compares the bearer token in constant time (of the digests,
// so the token's length does not leak either).
func (a *api) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], a.tokenHash[:]) == 1
}

// fallback answers requests no route matches: 405 when the path exists for
// another method, else 404.
func (a *api) fallback(w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := a.mux.Handler(r2); p != "/" && p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return &httpError{http.StatusMethodNotAllowed, CodeMethodNotAllowed, r.Method + " is not allowed here; use " + strings.Join(allow, " or ")}
	}
	return &httpError{http.StatusNotFound, CodeNotFound, "no such route: " + r.URL.Path}
}

// toAPIError maps an error to its status and body.
func toAPIError(err error) (int, APIError) {
	var (
		he   *httpError
		arg  *ispkit.ArgumentError
		busy *busyError
	)
	switch {
	case errors.As(err, &he):
		return he.status, APIError{Code: he.code, Message: he.msg}
	case errors.As(err, &arg):
		return http.StatusBadRequest, APIError{Code: CodeInvalidArgument, Message: "invalid " + arg.Arg + ": " + arg.Reason, Field: arg.Arg}
	case errors.As(err, &busy):
		return http.StatusConflict, APIError{Code: CodeBusy, Message: err.Error(), OperationID: busy.op.ID}
	case errors.Is(err, ErrBusy):
		return http.StatusConflict, APIError{Code: CodeBusy, Message: err.Error()}
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, APIError{Code: CodeNotFound, Message: err.Error()}
	case errors.Is(err, ErrState):
		return http.StatusConflict, APIError{Code: CodeServiceState, Message: err.Error()}
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, APIError{Code: CodeConflict, Message: err.Error()}
	case errors.Is(err, ErrUnsupported):
		return http.StatusUnprocessableEntity, APIError{Code: CodeUnsupported, Message: err.Error()}
	case errors.Is(err, ErrNoBackend):
		return http.StatusUnprocessableEntity, APIError{Code: CodeNoBackend, Message: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, APIError{Code: CodeUnavailable, Message: "the request was cancelled or timed out; repeat it"}
	}
	return http.StatusInternalServerError, APIError{Code: CodeInternal, Message: "internal error; see the bridge's log"}
}

func (a *api) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := toAPIError(err)
	if status >= 500 {
		a.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
	writeJSON(w, status, struct {
		Error APIError `json:"error"`
	}{body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"cannot encode the answer"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decodeBody reads one JSON object into v; unknown fields are refused.
func decodeBody(w http.ResponseWriter, r *http.Request, op string, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return &httpError{http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "the body must be application/json"}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			return argErr(op, "body", "must hold one JSON object only")
		}
		return nil
	}
	var (
		tooLarge *http.MaxBytesError
		typeErr  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return &httpError{http.StatusRequestEntityTooLarge, CodeRequestTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes)}
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return argErr(op, typeErr.Field, "has the wrong JSON type")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return argErr(op, name, "unknown field")
	case errors.Is(err, io.EOF):
		return argErr(op, "body", "a JSON object is required")
	}
	return argErr(op, "body", "is not a valid JSON object")
}

// checkText refuses empty (when required), over-long and control-character
// values. The value itself never goes into the error.
func checkText(op, field, v string, required bool) error {
	switch {
	case v == "" && required:
		return argErr(op, field, "required")
	case len(v) > maxFieldBytes:
		return argErr(op, field, fmt.Sprintf("longer than %d bytes", maxFieldBytes))
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return argErr(op, field, "contains control characters")
	}
	return nil
}

// validDomain accepts fully qualified host names: at most 253 characters
// of dot-separated labels (1 to 63 letters, digits or '-', not at either
// end of a label), at least two labels, an optional final dot.
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	labels := strings.Split(d, ".")
	if len(d) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

var optionKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,31}$`)

// waitParam reads ?wait=<seconds>.
func (a *api) waitParam(r *http.Request, op string) (time.Duration, error) {
	s := r.URL.Query().Get("wait")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || time.Duration(n)*time.Second > a.cfg.MaxWait {
		return 0, argErr(op, "wait", fmt.Sprintf("must be a whole number of seconds from 0 to %d", int(a.cfg.MaxWait/time.Second)))
	}
	return time.Duration(n) * time.Second, nil
}

// waitFor waits up to d for op to finish and returns it as it is then.
func (a *api) waitFor(ctx context.Context, op *Operation, d time.Duration) (*Operation, error) {
	if op == nil || op.Finished() || d <= 0 {
		return op, nil
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	got, err := a.eng.Wait(wctx, op.ID)
	if err != nil && !(errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil) {
		return nil, err
	}
	return &got, nil
}

// actionResult is the answer of every action: the service's status after
// the call and the operation that carries the action (absent when nothing
// had to be done and no earlier operation is known).
type actionResult struct {
	ServiceID string     `json:"service_id"`
	Status    string     `json:"status"`
	Operation *Operation `json:"operation,omitempty"`
}

// runAction applies the idempotency rules, waits as asked, and answers 202
// while the operation runs, 200 once it is finished (done or failed).
func (a *api) runAction(w http.ResponseWriter, r *http.Request, act *action) error {
	wait, err := a.waitParam(r, act.kind)
	if err != nil {
		return err
	}
	op, err := do(r.Context(), a.eng, act)
	if err != nil {
		return err
	}
	if op, err = a.waitFor(r.Context(), op, wait); err != nil {
		return err
	}
	svc, err := a.eng.Service(r.Context(), act.service)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if op != nil && !op.Finished() {
		status = http.StatusAccepted
	}
	writeJSON(w, status, actionResult{ServiceID: act.service, Status: svc.Status, Operation: op})
	return nil
}

// pathServiceID is the checked service id of the request's path.
func pathServiceID(r *http.Request, op string) (string, error) {
	id := r.PathValue("id")
	return id, checkServiceID(op, id)
}

// createBody is the body of POST /v1/services/{id}/create.
type createBody struct {
	Plan      int64             `json:"plan"`
	Owner     string            `json:"owner"`
	Password  string            `json:"password"`
	Domain    string            `json:"domain"`
	AccountID int64             `json:"account_id"`
	Options   map[string]string `json:"options"`
}

func (a *api) create(w http.ResponseWriter, r *http.Request) error {
	id, err := pathServiceID(r, KindCreate)
	if err != nil {
		return err
	}
	var b createBody
	if err := decodeBody(w, r, KindCreate, &b); err != nil {
		return err
	}
	switch {
	case b.Plan <= 0:
		return argErr(KindCreate, "plan", "required: the id of a plan (GET /v1/plans)")
	case b.AccountID < 0:
		return argErr(KindCreate, "account_id", "must not be negative")
	case len(b.Options) > maxOptions:
		return argErr(KindCreate, "options", fmt.Sprintf("at most %d options", maxOptions))
	}
	for _, f := range []struct {
		name, v  string
		required bool
	}{{"owner", b.Owner, false}, {"password", b.Password, true}, {"domain", b.Domain, false}} {
		if err := checkText(KindCreate, f.name, f.v, f.required); err != nil {
			return err
		}
	}
	for k, v := range b.Options {
		if !optionKey.MatchString(k) {
			return argErr(KindCreate, "options", "option names are a letter and up to 31 letters, digits or '_'")
		}
		if err := checkText(KindCreate, "options."+k, v, false); err != nil {
			return err
		}
	}
	if b.Domain != "" && !validDomain(b.Domain) {
		// The panels refuse it too, but only once a server is prepared:
		// each refusal would disable a server.
		return argErr(KindCreate, "domain", "must be a host name: dot-separated labels of letters, digits and '-' (IDNs in punycode)")
	}
	if c, ok := a.cfg.Choices[b.Plan]; ok {
		if err := c.check(KindCreate, b.Options); err != nil {
			return err
		}
	}
	req := CreateRequest{ServiceID: id, Plan: b.Plan, Owner: b.Owner, Password: b.Password, Domain: b.Domain,
		AccountID: b.AccountID, Options: b.Options}
	return a.runAction(w, r, &action{kind: KindCreate, service: id, plan: b.Plan,
		submit: func(ctx context.Context, opID string) (Operation, error) { return a.eng.Create(ctx, opID, req) }})
}

// simple is the handler of suspend, unsuspend and terminate (no body).
func (a *api) simple(kind string) func(w http.ResponseWriter, r *http.Request) error {
	submit := map[string]func(context.Context, string, string) (Operation, error){
		KindSuspend: a.eng.Suspend, KindUnsuspend: a.eng.Unsuspend, KindTerminate: a.eng.Terminate,
	}[kind]
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathServiceID(r, kind)
		if err != nil {
			return err
		}
		return a.runAction(w, r, &action{kind: kind, service: id,
			submit: func(ctx context.Context, opID string) (Operation, error) { return submit(ctx, opID, id) }})
	}
}

func (a *api) changePassword(w http.ResponseWriter, r *http.Request) error {
	id, err := pathServiceID(r, KindChangePassword)
	if err != nil {
		return err
	}
	var b struct {
		Password string `json:"password"`
	}
	if err := decodeBody(w, r, KindChangePassword, &b); err != nil {
		return err
	}
	if err := checkText(KindChangePassword, "password", b.Password, true); err != nil {
		return err
	}
	return a.runAction(w, r, &action{kind: KindChangePassword, service: id, tag: passwordTag(a.opKey, id, b.Password),
		submit: func(ctx context.Context, opID string) (Operation, error) {
			return a.eng.ChangePassword(ctx, opID, id, b.Password)
		}})
}

func (a *api) loginLink(w http.ResponseWriter, r *http.Request) error {
	id, err := pathServiceID(r, "login_link")
	if err != nil {
		return err
	}
	// Only a service the customer has gets a link: the panel user of a
	// terminated service may still exist (it is shared by the customer's
	// servers), but the service is no longer theirs to log in to.
	svc, err := a.eng.Service(r.Context(), id)
	if err != nil {
		return err
	}
	if svc.Status != StatusActive && svc.Status != StatusSuspended {
		return fmt.Errorf("service %s is %s: no log-in link: %w", id, svc.Status, ErrState)
	}
	u, err := a.eng.LoginLink(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		ServiceID string `json:"service_id"`
		URL       string `json:"url"`
	}{id, u})
	return nil
}

// serviceView is the answer of GET /v1/services/{id}.
type serviceView struct {
	Service
	LastOperation *Operation `json:"last_operation,omitempty"`
}

func (a *api) service(w http.ResponseWriter, r *http.Request) error {
	id, err := pathServiceID(r, "service")
	if err != nil {
		return err
	}
	svc, err := a.eng.Service(r.Context(), id)
	if err != nil {
		return err
	}
	ops, err := a.eng.Operations(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, serviceView{Service: svc, LastOperation: newest(ops)})
	return nil
}

var operationIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,200}$`)

func (a *api) operation(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !operationIDPattern.MatchString(id) {
		return argErr("operation", "id", "not an operation id")
	}
	wait, err := a.waitParam(r, "operation")
	if err != nil {
		return err
	}
	op, err := a.eng.Operation(r.Context(), id)
	if err != nil {
		return err
	}
	got, err := a.waitFor(r.Context(), &op, wait)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, got)
	return nil
}

func (a *api) plans(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.eng.Plans(r.Context())
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []Plan{}
	}
	for i := range ps {
		if c, ok := a.cfg.Choices[ps[i].ID]; ok {
			ps[i].Choices = &c
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Plans []Plan `json:"plans"`
	}{ps})
	return nil
}

func (a *api) openAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDocument)
	return nil
}
