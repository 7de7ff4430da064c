package dcimanager6test

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
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

	mu        sync.Mutex
	st        *state
	rnd       *rand.Rand
	tokens    map[string]session
	faults    []*Fault
	failRate  float64
	wake      int
	logins    int
	reqs      []Request
	failNext  map[string]string
	loginKeys map[string]int64
	issued    []string
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
		rnd: rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15)), wake: cfg.wake, failNext: map[string]string{}}
	if cfg.empty {
		s.st.users[s.st.id("user")] = &User{ID: 1, Email: cfg.adminEmail, Password: cfg.adminPassword, Role: "@admin"}
	} else {
		s.st.seed(cfg.adminEmail, cfg.adminPassword, cfg.now())
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

// Fault changes how matching requests are answered.
type Fault struct {
	// Method matches the HTTP method ("" = any).
	Method string
	// Path matches the path below the /api prefix, e.g. "/dci/v3/server";
	// a trailing "*" makes it a prefix ("/dci/v3/server/*"); "" = any.
	Path string
	// Times is how many requests the fault hits (0 = 1, negative = until
	// ClearFaults).
	Times int

	// Status and Code answer with {"error":{"code":Code,"msg":Msg}} and
	// this HTTP status instead of processing the request.
	Status int
	Code   int
	Msg    string
	// RetryAfter is sent as the Retry-After header with Status.
	RetryAfter string
	// Delay holds the answer back (the request's context is honoured).
	Delay time.Duration
	// Drop closes the connection without answering and without
	// processing the request.
	Drop bool
	// DropAfter processes the request, then closes the connection
	// without answering (the client cannot know it happened).
	DropAfter bool
	// Malformed answers 200 with a truncated JSON body.
	Malformed bool

	hits int
}

// Inject adds a fault; the first matching fault with hits left applies.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// ClearFaults removes all faults and random failures.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.failRate = nil, 0
}

// SetRandomFailures makes each request fail with 500 with probability
// rate, drawn from the seeded random source (see WithSeed).
func (s *Server) SetRandomFailures(rate float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRate = rate
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

func (s *Server) matchFault(method, path string) *Fault {
	for _, f := range s.faults {
		if f.Times >= 0 && f.hits >= f.Times {
			continue
		}
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if f.Path != "" {
			if p, ok := strings.CutSuffix(f.Path, "*"); ok {
				if !strings.HasPrefix(path, p) {
					continue
				}
			} else if f.Path != path {
				continue
			}
		}
		f.hits++
		cp := *f
		return &cp
	}
	return nil
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
	s.mu.Lock()
	f := s.matchFault(r.Method, path)
	s.mu.Unlock()
	if f != nil && f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			s.record(rec, 0)
			return
		case <-s.closing:
			t.Stop()
			return
		}
	}
	if f != nil && f.Drop {
		s.record(rec, 0)
		hijackClose(w)
		return
	}
	var rep reply
	s.handle(r, path, f, &rep)
	if f != nil && f.DropAfter {
		s.record(rec, 0)
		hijackClose(w)
		return
	}
	s.record(rec, rep.status)
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

func hijackClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func (s *Server) record(rec Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.Status = status
	s.reqs = append(s.reqs, rec)
}

func (s *Server) handle(r *http.Request, path string, f *Fault, rep *reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	s.st.advance(now)
	if f != nil && f.Status != 0 {
		rep.fail(f.Status, f.Code, f.Msg, nil)
		if f.RetryAfter != "" {
			rep.header = http.Header{"Retry-After": {f.RetryAfter}}
		}
		return
	}
	if f != nil && f.Malformed {
		rep.status, rep.body = http.StatusOK, []byte(`{"list": [{"id": 1, "name": "trunc`)
		return
	}
	if s.wake > 0 {
		s.wake--
		rep.fail(http.StatusServiceUnavailable, CodeUnavailable, "platform is waking up, repeat the request", nil)
		return
	}
	if s.failRate > 0 && s.rnd.Float64() < s.failRate {
		rep.fail(http.StatusInternalServerError, CodeInternal, "random failure (injected)", nil)
		return
	}
	var body []byte
	if r.Body != nil {
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, 1<<20)); err != nil {
			rep.fail(http.StatusBadRequest, CodeInvalidInput, "cannot read body", nil)
			return
		}
		body = buf.Bytes()
	}
	ctx := &reqCtx{s: s, r: r, path: path, body: body, rep: rep, now: now}
	public := path == "/auth/v4/public/token" || path == "/auth/v4/public/key"
	if !public {
		uid, ok := s.authenticate(r, now)
		if !ok {
			rep.fail(http.StatusUnauthorized, CodeUnauthorized, "session is missing, invalid or expired", nil)
			return
		}
		ctx.user = uid
	}
	s.route(ctx)
}

func (s *Server) authenticate(r *http.Request, now time.Time) (int64, bool) {
	cands := []string{r.Header.Get("x-xsrf-token")}
	if c, err := r.Cookie("ses6"); err == nil {
		cands = append(cands, c.Value)
	}
	for _, t := range cands {
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

// Available reports whether a server is free by the rules of spec §A6.
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
