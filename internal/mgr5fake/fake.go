// Package mgr5fake is the part every fake mgr5 panel shares: accounts and
// the three login modes, sessions that expire, one-time keys, su, output
// rendering in json/sjson/JSONdata/xml, a call log, and fault injection.
// Each panel fake (dcimanager5test, ipmanagertest, ispmanagertest) registers
// its functions on a Server.
//
// Behaviours chosen where the public spec is silent ([G] in spec mgr5):
//   - an expired or unknown session answers doc.error type "auth", object
//     "session" (HTTP 200), so clients re-login on any auth error;
//   - keys from session.newkey are valid for one hour and single-use;
//   - an unknown function answers doc.error type "missed", object "func";
//   - a user-level account calling an admin function gets type "access";
//   - a function that is not allowed with GET still works: GET and POST are
//     equivalent, as the vendor guide states.
package mgr5fake

import (
	"context"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ispkit/ispkit/internal/mgr5"
)

// Level numbers used in lists. Only 16 (user) is confirmed by the spec; the
// others are the fakes' choice.
const (
	LevelUser  = 16
	LevelAdmin = 28
	LevelSuper = 29
)

// Account is a panel login.
type Account struct {
	Name     string
	Password string
	Level    int
	// Disabled accounts cannot log in.
	Disabled bool
}

// Ctx is what a registered function handler receives.
type Ctx struct {
	// Req is the parsed request.
	Req *mgr5.ServerRequest
	// Caller is the authenticated account.
	Caller Account
	// User is the effective account after su (equal to Caller otherwise).
	User Account
	// Context is the HTTP request's context.
	Context context.Context
}

// IsAdmin reports whether the caller is an administrator.
func (c *Ctx) IsAdmin() bool { return c.Caller.Level >= LevelAdmin }

// HandlerFunc implements one panel function. It returns the response
// document, or an *mgr5.Error rendered as doc.error.
type HandlerFunc func(c *Ctx) (*mgr5.Node, error)

// Access says who may call a function.
type Access int

const (
	// AdminOnly functions need an administrator caller.
	AdminOnly Access = iota
	// AnyUser functions can be called by every authenticated account.
	AnyUser
)

type handler struct {
	fn     HandlerFunc
	access Access
}

// Call is one entry of the call log.
type Call struct {
	Func   string
	Caller string
	Su     string
	Elid   string
	At     time.Time
}

// FaultKind selects what an injected fault does.
type FaultKind int

const (
	// FaultPanelError answers with Fault.Err as doc.error (HTTP 200).
	FaultPanelError FaultKind = iota
	// FaultStatus answers with HTTP status Fault.Status and an HTML body.
	FaultStatus
	// FaultDrop closes the connection without answering.
	FaultDrop
	// FaultMalformed answers 200 with a truncated JSON body.
	FaultMalformed
	// FaultDelay waits Fault.Delay (or until the client gives up) and then
	// processes the request normally.
	FaultDelay
	// FaultAfter processes the request, then drops the connection: the
	// change happened but the client never hears of it.
	FaultAfter
)

// Fault is one injected failure.
type Fault struct {
	// Func limits the fault to one function; empty matches every function.
	Func string
	Kind FaultKind
	// Times is how many requests fail; zero means until cleared.
	Times  int
	Err    *mgr5.Error
	Status int
	Delay  time.Duration
}

// Server is a fake mgr5 panel.
type Server struct {
	// Path is the entry point, e.g. "/dcimgr".
	path string
	srv  *httptest.Server

	mu         sync.Mutex
	accounts   map[string]*Account
	sessions   map[string]*session
	keys       map[string]keyEntry
	handlers   map[string]handler
	faults     []*Fault
	calls      []Call
	sessionTTL time.Duration
	random5xx  float64
	rnd        *rand.Rand
	now        func() time.Time

	requests atomic.Int64
}

type session struct {
	user     string
	lastUsed time.Time
}

type keyEntry struct {
	user    string
	created time.Time
}

// New creates an unstarted fake for the entry point path ("/dcimgr").
func New(path string) *Server {
	return &Server{
		path:       path,
		accounts:   map[string]*Account{},
		sessions:   map[string]*session{},
		keys:       map[string]keyEntry{},
		handlers:   map[string]handler{},
		sessionTTL: time.Hour,
		rnd:        rand.New(rand.NewPCG(1, 2)),
		now:        time.Now,
	}
}

// Start starts the HTTP server.
func (s *Server) Start() {
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.Config.ErrorLog = quietLog
	s.srv.Start()
}

// StartTLS starts the HTTP server with a self-signed certificate.
func (s *Server) StartTLS() {
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.Config.ErrorLog = quietLog
	s.srv.StartTLS()
}

// quietLog drops the HTTP server's own messages (TLS handshake errors from
// clients that refuse the self-signed certificate, which tests provoke).
var quietLog = log.New(io.Discard, "", 0)

// HTTPServer returns the underlying httptest server (for its TLS client).
func (s *Server) HTTPServer() *httptest.Server { return s.srv }

// URL returns the panel entry point URL, e.g. http://127.0.0.1:port/dcimgr.
func (s *Server) URL() string { return s.srv.URL + s.path }

// Close stops the server.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.CloseClientConnections()
		s.srv.Close()
	}
}

// Handle registers a panel function.
func (s *Server) Handle(fn string, access Access, h HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[fn] = handler{fn: h, access: access}
}

// AddAccount adds or replaces a login.
func (s *Server) AddAccount(a Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := a
	s.accounts[a.Name] = &c
}

// Account returns a login by name.
func (s *Server) Account(name string) (Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[name]
	if !ok {
		return Account{}, false
	}
	return *a, true
}

// SetSessionTTL sets the idle lifetime of sessions (default one hour).
func (s *Server) SetSessionTTL(d time.Duration) {
	s.mu.Lock()
	s.sessionTTL = d
	s.mu.Unlock()
}

// SetClock makes the fake read time from now (sessions and keys expire
// by it).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// ExpireSessions ends every session now, as a panel restart would.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	s.sessions = map[string]*session{}
	s.mu.Unlock()
}

// SessionCount returns the number of live sessions.
func (s *Server) SessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// InjectFault adds a fault; faults are consumed in the order added.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := f
	s.faults = append(s.faults, &c)
}

// ClearFaults removes every fault and stops random 5xx answers.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.random5xx = 0
}

// SetRandom5xx makes a fraction (0..1) of requests fail with HTTP 502, 503
// or 500, drawn from a generator seeded with seed.
func (s *Server) SetRandom5xx(fraction float64, seed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.random5xx = fraction
	s.rnd = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Calls returns a copy of the call log.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount returns how many successful-auth calls of fn were logged ("" =
// all functions).
func (s *Server) CallCount(fn string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if fn == "" || c.Func == fn {
			n++
		}
	}
	return n
}

// Requests returns the number of HTTP requests received.
func (s *Server) Requests() int64 { return s.requests.Load() }

// takeFault returns the fault that applies to fn, if any.
func (s *Server) takeFault(fn string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Func != "" && f.Func != fn {
			continue
		}
		out := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &out
	}
	if s.random5xx > 0 && s.rnd.Float64() < s.random5xx {
		codes := []int{500, 502, 503}
		return &Fault{Kind: FaultStatus, Status: codes[s.rnd.IntN(len(codes))]}
	}
	return nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if r.URL.Path != s.path && r.URL.Path != "/manager"+s.path {
		http.NotFound(w, r)
		return
	}
	req, err := mgr5.ParseRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if f := s.takeFault(req.Func); f != nil {
		switch f.Kind {
		case FaultPanelError:
			mgr5.Render(w, req.Out, mgr5.ErrorDoc(f.Err, req.Lang))
			return
		case FaultStatus:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.Status)
			_, _ = w.Write([]byte("<html><body><h1>" + strconv.Itoa(f.Status) + " " + http.StatusText(f.Status) + "</h1></body></html>"))
			return
		case FaultDrop:
			drop(w)
			return
		case FaultMalformed:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"doc":{"elem":[{"id":{"$":"1"`))
			return
		case FaultDelay:
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		case FaultAfter:
			s.serve(httptest.NewRecorder(), r, req)
			drop(w)
			return
		}
	}
	s.serve(w, r, req)
}

func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, req *mgr5.ServerRequest) {
	fail := func(e *mgr5.Error) { mgr5.Render(w, req.Out, mgr5.ErrorDoc(e, req.Lang)) }
	if req.Func == "auth" {
		s.auth(w, req)
		return
	}
	caller, aerr := s.authenticate(req)
	if aerr != nil {
		fail(aerr)
		return
	}
	s.mu.Lock()
	h, ok := s.handlers[req.Func]
	s.mu.Unlock()
	if req.Func == "session.newkey" {
		h, ok = handler{fn: s.newKey, access: AdminOnly}, true
	}
	if !ok {
		fail(&mgr5.Error{Type: mgr5.TypeMissed, Object: "func", Value: req.Func, Message: "Unknown function '" + req.Func + "'"})
		return
	}
	if h.access == AdminOnly && caller.Level < LevelAdmin {
		fail(&mgr5.Error{Type: mgr5.TypeAccess, Object: req.Func})
		return
	}
	user := caller
	if req.Su != "" && req.Su != caller.Name {
		if caller.Level < LevelAdmin {
			fail(&mgr5.Error{Type: mgr5.TypeAccess, Object: "su"})
			return
		}
		u, ok := s.Account(req.Su)
		if !ok {
			// su to a panel user the fake does not keep as a login is allowed:
			// panels such as ISPmanager keep users outside the login table.
			u = Account{Name: req.Su, Level: LevelUser}
		}
		user = u
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Func: req.Func, Caller: caller.Name, Su: req.Su, Elid: req.Elid, At: s.now()})
	s.mu.Unlock()
	doc, err := h.fn(&Ctx{Req: req, Caller: caller, User: user, Context: r.Context()})
	if err != nil {
		if e, ok := err.(*mgr5.Error); ok {
			fail(e)
			return
		}
		fail(&mgr5.Error{Type: mgr5.TypeXML, Object: "internal", Message: err.Error()})
		return
	}
	if doc == nil {
		doc = mgr5.NewDoc().OK()
	}
	doc.Attr("func", req.Func).Attr("lang", orDefault(req.Lang, "en")).Attr("binary", s.path)
	mgr5.TParams(doc, req)
	mgr5.Render(w, req.Out, doc)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (s *Server) authenticate(req *mgr5.ServerRequest) (Account, *mgr5.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ai := req.Get("authinfo"); ai != "" {
		for i := 0; i < len(ai); i++ {
			if ai[i] == ':' {
				a, ok := s.accounts[ai[:i]]
				if ok && !a.Disabled && a.Password == ai[i+1:] {
					return *a, nil
				}
				break
			}
		}
		return Account{}, &mgr5.Error{Type: mgr5.TypeAuth, Object: "badpassword", Value: "remote_addr: [127.0.0.1]"}
	}
	if sid := req.Get("auth"); sid != "" {
		ss, ok := s.sessions[sid]
		now := s.now()
		if !ok || now.Sub(ss.lastUsed) > s.sessionTTL {
			delete(s.sessions, sid)
			return Account{}, &mgr5.Error{Type: mgr5.TypeAuth, Object: "session", Message: "Session expired or not found"}
		}
		a, ok := s.accounts[ss.user]
		if !ok || a.Disabled {
			return Account{}, &mgr5.Error{Type: mgr5.TypeAuth, Object: "badpassword"}
		}
		ss.lastUsed = now
		return *a, nil
	}
	return Account{}, &mgr5.Error{Type: mgr5.TypeAuth, Object: "notauth", Message: "Authorization required"}
}

// auth implements func=auth with a password or a key.
func (s *Server) auth(w http.ResponseWriter, req *mgr5.ServerRequest) {
	user := req.Get("username")
	s.mu.Lock()
	a, ok := s.accounts[user]
	var good bool
	if ok && !a.Disabled {
		if k := req.Get("key"); k != "" {
			ke, kok := s.keys[k]
			good = kok && ke.user == user && s.now().Sub(ke.created) < time.Hour
			delete(s.keys, k) // single use
		} else {
			good = req.Get("password") != "" && a.Password == req.Get("password")
		}
	}
	var sid string
	var level int
	if good {
		sid = mgr5.RandomKey(24)
		s.sessions[sid] = &session{user: user, lastUsed: s.now()}
		level = a.Level
		s.calls = append(s.calls, Call{Func: "auth", Caller: user, At: s.now()})
	}
	s.mu.Unlock()
	if !good {
		mgr5.Render(w, req.Out, mgr5.ErrorDoc(&mgr5.Error{Type: mgr5.TypeAuth, Object: "badpassword", Value: "remote_addr: [127.0.0.1]"}, req.Lang))
		return
	}
	doc := mgr5.NewDoc()
	doc.Add("auth", sid).Attr("id", sid).Attr("level", strconv.Itoa(level))
	mgr5.Render(w, req.Out, doc)
}

// newKey implements session.newkey (admin only): key of at least 16
// characters for an existing login.
func (s *Server) newKey(c *Ctx) (*mgr5.Node, error) {
	user, key := c.Req.Get("username"), c.Req.Get("key")
	if len(key) < 16 {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "key", Message: "The key must be at least 16 characters long"}
	}
	if _, ok := s.Account(user); !ok {
		return nil, &mgr5.Error{Type: mgr5.TypeMissed, Object: "user", Value: user}
	}
	s.mu.Lock()
	s.keys[key] = keyEntry{user: user, created: s.now()}
	s.mu.Unlock()
	return mgr5.NewDoc().OK(), nil
}
