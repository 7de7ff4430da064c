package dcimanager6test

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/ispkit/ispkit/internal/fakekit"
	"html"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Default credentials of the seeded administrator.
const (
	AdminEmail    = "admin@example.com"
	AdminPassword = "admin-password"
)

// Error codes the fake answers (the same values as the client's Code*
// constants; all but 1000 are ispkit's choice).
const (
	CodeUnauthorized   = 1000
	CodeBadCredentials = 1001
	CodeInvalidInput   = 2000
	CodeNotFound       = 3000
	CodeExists         = 4000
	CodeStateConflict  = 4001
	CodeInternal       = 5000
	CodeUnavailable    = 5030
)

type config struct {
	adminEmail, adminPassword string
	tokenTTL                  time.Duration
	wake                      int
	installDuration           time.Duration
	powerDuration             time.Duration
	seed                      uint64
	tls                       bool
	empty                     bool
	now                       func() time.Time
}

// Option configures a Server.
type Option func(*config)

// WithAdmin sets the seeded administrator's login.
func WithAdmin(email, password string) Option {
	return func(c *config) { c.adminEmail, c.adminPassword = email, password }
}

// WithTokenTTL sets how long a session token is valid (default 1 h);
// a request with an expired token gets 401 with code 1000.
func WithTokenTTL(d time.Duration) Option { return func(c *config) { c.tokenTTL = d } }

// WithWakeUp makes the first n requests (whatever their path, the login
// included) answer 503 "platform is waking up".
func WithWakeUp(n int) Option { return func(c *config) { c.wake = n } }

// WithDurations sets how long an OS installation and a power action run
// (defaults 3 s and 300 ms). Tests use milliseconds.
func WithDurations(install, power time.Duration) Option {
	return func(c *config) { c.installDuration, c.powerDuration = install, power }
}

// WithSeed seeds the random source used for random failures and tokens
// (default 1), so a failing run can be replayed.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithClock makes the fake read time from now instead of the wall clock:
// token expiry and the progress of operations follow it, so a test can
// move time on by hand (see dcimanager5test.ManualClock for such a
// clock).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithTLS serves HTTPS with a self-signed certificate (see Certificate).
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithEmptyState starts with only the administrator (no locations,
// servers, templates or pools); fill it with the Add… methods.
func WithEmptyState() Option { return func(c *config) { c.empty = true } }

// Server is a fake DCImanager 6: a real HTTP server with a stateful
// model. All methods are safe for concurrent use.
type Server struct {
	ts      *httptest.Server
	cfg     config
	closing chan struct{}
	once    sync.Once

	mu         sync.Mutex
	st         *state
	rnd        *rand.Rand
	tokens     map[string]session
	faults     *fakekit.Faults
	log        fakekit.Log
	strict     bool
	violations []Violation
	wake       int
	logins     int
	reqs       []Request
	failNext   map[string]string
	loginKeys  map[string]int64
	issued     []string
}

func (s *Server) keys() map[string]int64 {
	if s.loginKeys == nil {
		s.loginKeys = map[string]int64{}
	}
	return s.loginKeys
}

type session struct {
	userID  int64
	expires time.Time
}

// Request is one request the fake received.
type Request struct {
	Method string
	// Path as received (with the /api prefix when the client used it).
	Path string
	// RawQuery is the query string exactly as sent.
	RawQuery string
	Header   http.Header
	Status   int
}

// NewServer starts a fake panel. Close it when done.
func NewServer(opts ...Option) *Server {
	cfg := config{adminEmail: AdminEmail, adminPassword: AdminPassword, tokenTTL: time.Hour,
		installDuration: 3 * time.Second, powerDuration: 300 * time.Millisecond, seed: 1, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{cfg: cfg, closing: make(chan struct{}), st: newState(), tokens: map[string]session{},
		rnd: rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15)), wake: cfg.wake, failNext: map[string]string{},
		faults: fakekit.NewFaults(fakekit.MatchPath)}
	s.faults.SetSeed(cfg.seed)
	s.addAdmin()
	if !cfg.empty {
		if err := s.Load(DefaultSeed()); err != nil {
			panic(err)
		}
	}
	s.ts = httptest.NewUnstartedServer(s)
	// TLS handshake failures (a client refusing the self-signed
	// certificate) are expected in tests; keep them out of the output.
	s.ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	if cfg.tls {
		s.ts.StartTLS()
	} else {
		s.ts.Start()
	}
	return s
}

// URL is the base URL of the fake (no /api prefix; both forms are served).
func (s *Server) URL() string { return s.ts.URL }

// Certificate returns the TLS certificate (nil without WithTLS).
func (s *Server) Certificate() *x509.Certificate { return s.ts.Certificate() }

// CertPool returns a pool holding the TLS certificate.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	if c := s.ts.Certificate(); c != nil {
		p.AddCert(c)
	}
	return p
}

// Close stops the server; slow answers in flight are abandoned.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.ts.CloseClientConnections()
		s.ts.Close()
	})
}

// ---- fault injection ----

// Inject adds a fault; faults are consulted in the order added. Its
// Match is a path below the /api prefix, optionally after a method:
// "POST /dci/v3/server/*" (a trailing "*" makes it a prefix); "" matches
// every request.
func (s *Server) Inject(f Fault) { s.faults.Add(f) }

// ClearFaults removes every fault.
func (s *Server) ClearFaults() { s.faults.Clear() }

// SetFaultSeed reseeds the generator behind Fault.Probability, so a run
// with random faults replays exactly.
func (s *Server) SetFaultSeed(seed uint64) { s.faults.SetSeed(seed) }

// Calls returns a copy of the call log: every request, in arrival order,
// as "METHOD /path" (below /api) with its parameter names.
func (s *Server) Calls() []Call { return s.log.Calls() }

// CallCount returns how many calls of "METHOD /path" reached a route (""
// = all), whatever their answer.
func (s *Server) CallCount(key string) int { return s.log.Count(key) }

// ResetCalls empties the call log.
func (s *Server) ResetCalls() { s.log.Reset() }

// SetStrict turns strict mode on or off. In strict mode a path the fake
// does not route, a query parameter other than where, orderby and limit,
// and a body field the route does not read are recorded (Violations).
// The project's own tests run strict.
func (s *Server) SetStrict(on bool) {
	s.mu.Lock()
	s.strict = on
	s.mu.Unlock()
}

// Violations returns what strict mode recorded, in order.
func (s *Server) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Violation(nil), s.violations...)
}

// violate records v; s.mu is held.
func (s *Server) violate(v Violation) {
	if s.strict {
		s.violations = append(s.violations, v)
	}
}

// Suspend makes the next n requests answer 503 "waking up".
func (s *Server) Suspend(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wake = n
}

// FailNextOperation makes the next operation of this kind ("os_install",
// "power_on", "power_off", "power_reset") end with error and message msg.
func (s *Server) FailNextOperation(kind, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg == "" {
		msg = kind + " failed"
	}
	s.failNext[kind] = msg
}

// ExpireSessions invalidates every token: the next call of each client
// gets 401 (code 1000) and must log in again.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]session{}
}

// ---- HTTP plumbing ----

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r *reply) json(status int, v any) {
	r.status = status
	b, err := json.Marshal(v)
	if err != nil {
		r.status, b = http.StatusInternalServerError, []byte(`{"error":{"code":5000,"msg":"encode failed","value":{}}}`)
	}
	r.body = b
}

func (r *reply) fail(status, code int, msg string, value map[string]any) {
	if value == nil {
		value = map[string]any{}
	}
	r.json(status, map[string]any{"error": map[string]any{"code": code, "msg": msg, "value": value}})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if p, ok := strings.CutPrefix(path, "/api/"); ok {
		path = "/" + p
	}
	rec := Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone()}
	if r.Method == http.MethodGet && (strings.HasPrefix(r.URL.Path, "/auth/key-v4/") || r.URL.Path == "/") {
		s.browser(w, r)
		s.record(rec, 0)
		return
	}
	key := r.Method + " " + path
	var body []byte
	if r.Body != nil {
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, 1<<20)); err == nil {
			body = buf.Bytes()
		}
	}
	params := fakekit.ParamNames(r.URL.Query())
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) == nil {
		params = append(params, fakekit.ParamNames(fields)...)
	}
	call := fakekit.Call{Func: key, Params: params, At: s.clock()}
	f := s.faults.Take(key)
	if f != nil {
		call.Fault = f.Kind
	}
	idx := s.log.Add(call)
	done := func(status int) {
		s.log.Update(idx, func(c *fakekit.Call) { c.Status = status })
		s.record(rec, status)
	}
	var rep reply
	if f == nil {
		s.handle(r, path, body, nil, &rep, idx)
		done(rep.status)
		rep.write(w)
		return
	}
	switch f.Kind {
	case fakekit.FaultDropBefore:
		done(0)
		fakekit.Drop(w)
		return
	case fakekit.FaultMalformed:
		done(http.StatusOK)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(fakekit.MalformedBody))
		return
	case fakekit.FaultStatus:
		st := f.Status
		if st == 0 {
			st = http.StatusBadGateway
		}
		done(st)
		w.Header().Set("Content-Type", "text/html")
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.WriteHeader(st)
		_, _ = w.Write(fakekit.StatusPage(st))
		return
	}
	s.handle(r, path, body, f, &rep, idx)
	switch f.Kind {
	case fakekit.FaultDropAfter:
		done(0)
		fakekit.Drop(w)
	case fakekit.FaultTruncated:
		done(rep.status)
		fakekit.WriteTruncated(w, rep.status, http.Header{"Content-Type": {"application/json"}}, rep.body)
	case fakekit.FaultSlow:
		fakekit.Hold(f.Delay, r.Context().Done(), s.closing)
		if r.Context().Err() != nil {
			done(0)
			return
		}
		done(rep.status)
		rep.write(w)
	default:
		done(rep.status)
		rep.write(w)
	}
}

func (r *reply) write(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

func (s *Server) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.now()
}

func (s *Server) record(rec Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.Status = status
	s.reqs = append(s.reqs, rec)
}

func (s *Server) handle(r *http.Request, path string, body []byte, f *Fault, rep *reply, idx int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	s.st.advance(now)
	if f != nil && f.Kind == fakekit.FaultPanelError {
		st := f.Status
		if st == 0 {
			st = http.StatusInternalServerError
		}
		code, msg := f.Code, f.Msg
		if code == 0 {
			code = CodeInternal
		}
		if msg == "" {
			msg = "injected panel error"
		}
		rep.fail(st, code, msg, nil)
		if f.RetryAfter != "" {
			rep.header = http.Header{"Retry-After": {f.RetryAfter}}
		}
		return
	}
	if s.wake > 0 {
		s.wake--
		rep.fail(http.StatusServiceUnavailable, CodeUnavailable, "platform is waking up, repeat the request", nil)
		return
	}
	ctx := &reqCtx{s: s, r: r, path: path, body: body, rep: rep, now: now}
	public := path == "/auth/v4/public/token" || path == "/auth/v4/public/key"
	if !public {
		if f != nil && f.Kind == fakekit.FaultExpiredSession {
			// The caller's session ends before the call.
			for _, t := range s.requestTokens(r) {
				delete(s.tokens, t)
			}
		}
		uid, ok := s.authenticate(r, now)
		if !ok {
			rep.fail(http.StatusUnauthorized, CodeUnauthorized, "session is missing, invalid or expired", nil)
			return
		}
		ctx.user = uid
	}
	for k := range r.URL.Query() {
		if k != "where" && k != "orderby" && k != "limit" {
			s.violate(Violation{Func: r.Method + " " + path, Param: k})
		}
	}
	s.log.Update(idx, func(c *fakekit.Call) { c.Handled = true })
	s.route(ctx)
	if rep.status < 300 {
		s.log.Update(idx, func(c *fakekit.Call) { c.Applied = true })
	}
}

// requestTokens returns the session tokens a request carries.
func (s *Server) requestTokens(r *http.Request) []string {
	out := []string{r.Header.Get("x-xsrf-token")}
	if c, err := r.Cookie("ses6"); err == nil {
		out = append(out, c.Value)
	}
	return out
}

func (s *Server) authenticate(r *http.Request, now time.Time) (int64, bool) {
	for _, t := range s.requestTokens(r) {
		if t == "" {
			continue
		}
		if sess, ok := s.tokens[t]; ok {
			if now.Before(sess.expires) {
				return sess.userID, true
			}
			delete(s.tokens, t)
		}
	}
	return 0, false
}

func (s *Server) randHex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(s.rnd.Uint32())
	}
	return hex.EncodeToString(b)
}

func (s *Server) newToken(uid int64, now time.Time) string {
	t := strings.ToUpper(s.randHex(12))
	s.tokens[t] = session{userID: uid, expires: now.Add(s.cfg.tokenTTL)}
	s.issued = append(s.issued, t)
	return t
}

// ---- state access for tests ----

// Requests returns a copy of the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	for i, r := range s.reqs {
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

// Logins returns the number of successful logins.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// Tokens returns the currently valid session tokens.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.tokens {
		out = append(out, t)
	}
	return out
}

// IssuedTokens returns every token ever issued (including expired ones
// and the tokens behind login keys), oldest first.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// Machine returns a copy of one dedicated server.
func (s *Server) Machine(id int64) (Machine, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.advance(s.cfg.now())
	srv, ok := s.st.servers[id]
	if !ok {
		return Machine{}, false
	}
	return srv.clone(), true
}

// Machines returns copies of all dedicated servers, by ID.
func (s *Server) Machines() []Machine {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.advance(s.cfg.now())
	return copiesByID(s.st.servers, func(v *Machine) Machine { return v.clone() })
}

// Available reports whether a server is free by the rules of BILLmanager's availability rules (DCImanager 6 docs, "Integration with BILLmanager").
func (s *Server) Available(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.advance(s.cfg.now())
	srv, ok := s.st.servers[id]
	return ok && s.st.available(srv)
}

// Users returns copies of all users, by ID.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copiesByID(s.st.users, func(v *User) User { return *v })
}

// Operation returns a copy of one operation.
func (s *Server) Operation(id int64) (Operation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.advance(s.cfg.now())
	op, ok := s.st.ops[id]
	if !ok {
		return Operation{}, false
	}
	return op.clone(), true
}

// Operations returns copies of all operations, by ID.
func (s *Server) Operations() []Operation {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.advance(s.cfg.now())
	return copiesByID(s.st.ops, func(v *Operation) Operation { return v.clone() })
}

// CancelOperation ends a running operation with status canceled.
func (s *Server) CancelOperation(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.advance(s.cfg.now())
	op, ok := s.st.ops[id]
	if !ok || op.finished {
		return false
	}
	op.Status, op.finished = "canceled", true
	return true
}

// Ports returns copies of all switch ports, by ID.
func (s *Server) Ports() []Port {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copiesByID(s.st.ports, func(v *Port) Port { return *v })
}

// IPs returns copies of all addresses, by ID.
func (s *Server) IPs() []IP {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copiesByID(s.st.ips, func(v *IP) IP { return *v })
}

// AddLocation adds a location and returns its ID.
func (s *Server) AddLocation(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.st.id("location")
	s.st.locations[id] = &Location{ID: id, Name: name}
	return id
}

// AddUser adds a user and returns its ID.
func (s *Server) AddUser(email, password, role string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.st.id("user")
	s.st.users[id] = &User{ID: id, Email: email, Password: password, Role: role}
	return id
}

// AddOSTemplate adds a template (its ID is assigned) and returns the ID.
func (s *Server) AddOSTemplate(t OSTemplate) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.ID = s.st.id("template")
	t.Tags = append([]string{}, t.Tags...)
	s.st.templates[t.ID] = &t
	return t.ID
}

// AddMachine adds a dedicated server (its ID is assigned; State defaults to
// "active", PowerStatus to "off") and returns the ID.
func (s *Server) AddMachine(srv Machine) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv = srv.clone()
	srv.ID = s.st.id("server")
	if srv.State == "" {
		srv.State = "active"
	}
	if srv.PowerStatus == "" {
		srv.PowerStatus = "off"
	}
	s.st.servers[srv.ID] = &srv
	return srv.ID
}

// UpdateMachine changes a dedicated server in place (e.g. to put it in
// maintenance); it reports whether the server exists.
func (s *Server) UpdateMachine(id int64, fn func(*Machine)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv, ok := s.st.servers[id]
	if ok {
		fn(srv)
	}
	return ok
}

// String names the fake and its URL.
func (s *Server) String() string { return fmt.Sprintf("dcimanager6test.Server(%s)", s.ts.URL) }

// copiesByID returns a copy of every value of m, in id order.
func copiesByID[V, T any](m map[int64]*V, cp func(*V) T) []T {
	var out []T
	for _, id := range sortedKeys(m) {
		out = append(out, cp(m[id]))
	}
	return out
}

// browser serves what a person's browser opens: the key-login link
// (GET /auth/key-v4/<key>, outside the API prefix) exchanges the key, once,
// for a session in the ses6 cookie and redirects into the panel; the panel
// page ("/") shows who is logged in, or the login page.
func (s *Server) browser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	if key, ok := strings.CutPrefix(r.URL.Path, "/auth/key-v4/"); ok {
		uid, ok := s.keys()[key]
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte("<html><body>The link is invalid or was already used.</body></html>"))
			return
		}
		delete(s.keys(), key)
		http.SetCookie(w, &http.Cookie{Name: "ses6", Value: s.newToken(uid, now), Path: "/", HttpOnly: true, Secure: r.TLS != nil})
		w.Header().Set("Location", "/")
		w.WriteHeader(http.StatusFound)
		return
	}
	if uid, ok := s.authenticate(r, now); ok {
		if u := s.st.users[uid]; u != nil {
			_, _ = w.Write([]byte("<html><body>DCImanager: " + html.EscapeString(u.Email) + "</body></html>"))
			return
		}
	}
	_, _ = w.Write([]byte(`<html><body><form><input name="email"><input name="password" type="password"></form></body></html>`))
}
