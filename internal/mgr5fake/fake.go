// Package mgr5fake is the part every fake mgr5 panel shares: accounts and
// the three login modes, sessions that expire, one-time keys, su, output
// rendering in json/sjson/JSONdata/xml, a call log, and fault injection.
// Each panel fake (dcimanager5test, ipmanagertest, ispmanagertest) registers
// its functions on a Server.
//
// Behaviours chosen where the public spec is silent (assumed; see each panel's wire ledger):
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
	"html"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ispkit/ispkit/internal/fakekit"
	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/internal/wire"
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

// Call is one entry of the call log (see fakekit.Call).
type Call = fakekit.Call

// Fault is one injected failure (see fakekit.Fault).
type Fault = fakekit.Fault

// FaultKind says what an injected fault does.
type FaultKind = fakekit.FaultKind

// Violation is a request strict mode refused: a function the fake does not
// model, or a parameter its function never read.
type Violation struct {
	// Func is the function called.
	Func string
	// Param is the parameter the function did not model; empty when the
	// function itself is unknown.
	Param string
}

// String renders "func: param", or "func (unknown function)".
func (v Violation) String() string {
	if v.Param == "" {
		return v.Func + " (unknown function)"
	}
	return v.Func + ": " + v.Param
}

// protocolParams are read by the core itself, whatever the function.
var protocolParams = map[string]bool{
	"func": true, "out": true, "elid": true, "plid": true, "sok": true, "su": true, "lang": true,
	"authinfo": true, "auth": true,
}

// Server is a fake mgr5 panel.
type Server struct {
	// Path is the entry point, e.g. "/dcimgr".
	path string
	srv  *httptest.Server

	mu          sync.Mutex
	accounts    map[string]*Account
	sessions    map[string]*session
	keys        map[string]keyEntry
	handlers    map[string]handler
	sessionTTL  time.Duration
	now         func() time.Time
	strict      bool
	violations  []Violation
	oneRowArray bool

	faults *fakekit.Faults
	log    fakekit.Log
	// closing ends held (FaultSlow) answers when the server stops.
	closing chan struct{}
	once    sync.Once

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
		now:        time.Now,
		faults:     fakekit.NewFaults(nil),
		closing:    make(chan struct{}),
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
	s.once.Do(func() { close(s.closing) })
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

// ResetAccounts removes every login but those in keep, ends every
// session, drops every login key and empties the call log.
func (s *Server) ResetAccounts(keep ...string) {
	s.mu.Lock()
	for name := range s.accounts {
		if !slices.Contains(keep, name) {
			delete(s.accounts, name)
		}
	}
	s.sessions = map[string]*session{}
	s.keys = map[string]keyEntry{}
	s.mu.Unlock()
	s.log.Reset()
}

// SessionCount returns the number of live sessions.
func (s *Server) SessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Inject adds a fault; faults are consulted in the order added. Its
// Match is a function name ("" = every function).
func (s *Server) Inject(f Fault) { s.faults.Add(f) }

// ClearFaults removes every fault.
func (s *Server) ClearFaults() { s.faults.Clear() }

// SetFaultSeed reseeds the generator behind Fault.Probability.
func (s *Server) SetFaultSeed(seed uint64) { s.faults.SetSeed(seed) }

// Calls returns a copy of the call log: every request, in arrival order.
func (s *Server) Calls() []Call { return s.log.Calls() }

// CallCount returns how many calls of fn reached the function ("" = all).
func (s *Server) CallCount(fn string) int { return s.log.Count(fn) }

// ResetCalls empties the call log.
func (s *Server) ResetCalls() { s.log.Reset() }

// Requests returns the number of HTTP requests received.
func (s *Server) Requests() int64 { return s.requests.Load() }

// SetStrict turns strict mode on or off. In strict mode a function the
// fake does not model, and a parameter its function never read, are
// recorded as violations (the answer to an unknown function is the same
// in both modes: the doc.error the fake gives for it). Tests check
// Violations, so a client that sends what the real panel would ignore
// fails the test that sent it.
func (s *Server) SetStrict(on bool) {
	s.mu.Lock()
	s.strict = on
	s.mu.Unlock()
}

// Violations returns what strict mode refused, in order.
func (s *Server) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Violation(nil), s.violations...)
}

// SetOneRowArray chooses how out=json renders a repeated element (elem,
// slist, val, param, page) that occurs once: as an object (false, the
// default) or as a one-item array (true). No public source settles what a
// real panel sends, so clients are tested on both; out=sjson always sends
// arrays.
func (s *Server) SetOneRowArray(on bool) {
	s.mu.Lock()
	s.oneRowArray = on
	s.mu.Unlock()
}

func (s *Server) render(w http.ResponseWriter, out string, doc *mgr5.Node) {
	s.mu.Lock()
	arrays := s.oneRowArray
	s.mu.Unlock()
	if out == "json" && arrays {
		out = "sjson"
	}
	mgr5.Render(w, out, doc)
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
	call := fakekit.Call{Func: req.Func, Params: fakekit.ParamNames(req.Params), Su: req.Su, Elid: req.Elid, At: s.clock()}
	f := s.faults.Take(req.Func)
	if f != nil {
		call.Fault = f.Kind
	}
	idx := s.log.Add(call)
	if f == nil {
		s.serve(w, r, req, idx)
		return
	}
	switch f.Kind {
	case fakekit.FaultPanelError:
		e := f.Err
		if e == nil {
			e = &mgr5.Error{Type: mgr5.TypeXML, Object: "internal", Message: "injected panel error"}
		}
		s.finish(idx, http.StatusOK)
		s.render(w, req.Out, mgr5.ErrorDoc(e, req.Lang))
	case fakekit.FaultStatus:
		st := f.Status
		if st == 0 {
			st = http.StatusBadGateway
		}
		s.finish(idx, st)
		w.Header().Set("Content-Type", "text/html")
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.WriteHeader(st)
		_, _ = w.Write(fakekit.StatusPage(st))
	case fakekit.FaultDropBefore:
		fakekit.Drop(w)
	case fakekit.FaultMalformed:
		s.finish(idx, http.StatusOK)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(fakekit.MalformedBody))
	case fakekit.FaultExpiredSession:
		if sid := req.Get("auth"); sid != "" {
			s.mu.Lock()
			delete(s.sessions, sid)
			s.mu.Unlock()
		}
		s.serve(w, r, req, idx)
	case fakekit.FaultDropAfter:
		s.serve(httptest.NewRecorder(), r, req, idx)
		s.finish(idx, 0)
		fakekit.Drop(w)
	case fakekit.FaultTruncated:
		rec := httptest.NewRecorder()
		s.serve(rec, r, req, idx)
		fakekit.WriteTruncated(w, rec.Code, rec.Header(), rec.Body.Bytes())
	case fakekit.FaultSlow:
		rec := httptest.NewRecorder()
		s.serve(rec, r, req, idx)
		fakekit.Hold(f.Delay, r.Context().Done(), s.closing)
		if r.Context().Err() != nil {
			s.finish(idx, 0)
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	default:
		s.serve(w, r, req, idx)
	}
}

func (s *Server) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) finish(idx, status int) {
	s.log.Update(idx, func(c *fakekit.Call) { c.Status = status })
}

// browser reports whether a request comes from a browser rather than an
// API client: it names no output format.
func browser(req *mgr5.ServerRequest) bool { return !req.Has("out") }

func (s *Server) serve(w http.ResponseWriter, r *http.Request, req *mgr5.ServerRequest, idx int) {
	fail := func(e *mgr5.Error) {
		s.finish(idx, http.StatusOK)
		s.render(w, req.Out, mgr5.ErrorDoc(e, req.Lang))
	}
	if req.Func == "auth" {
		s.auth(w, req, idx)
		return
	}
	if req.Func == "" && browser(req) {
		s.panelPage(w, r, idx)
		return
	}
	caller, aerr := s.authenticate(req)
	if aerr != nil {
		fail(aerr)
		return
	}
	s.log.Update(idx, func(c *fakekit.Call) { c.Caller = caller.Name })
	s.mu.Lock()
	h, ok := s.handlers[req.Func]
	strict := s.strict
	s.mu.Unlock()
	if req.Func == "session.newkey" {
		h, ok = handler{fn: s.newKey, access: AdminOnly}, true
	}
	if !ok {
		if strict {
			s.violate(Violation{Func: req.Func})
		}
		fail(&mgr5.Error{Type: mgr5.TypeMissed, Object: "func", Message: "Unknown function '" + req.Func + "'"})
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
	s.log.Update(idx, func(c *fakekit.Call) { c.Handled = true })
	doc, err := h.fn(&Ctx{Req: req, Caller: caller, User: user, Context: r.Context()})
	// A function that refused the request may stop reading early; only a
	// call it carried out must have read (modelled) every parameter.
	if strict && err == nil {
		for _, p := range req.Unread() {
			if !protocolParams[p] {
				s.violate(Violation{Func: req.Func, Param: p})
			}
		}
	}
	if err != nil {
		if e, ok := err.(*mgr5.Error); ok {
			fail(e)
			return
		}
		fail(&mgr5.Error{Type: mgr5.TypeXML, Object: "internal", Message: err.Error()})
		return
	}
	s.log.Update(idx, func(c *fakekit.Call) { c.Applied = true })
	if doc == nil {
		doc = mgr5.NewDoc().OK()
	}
	if browser(req) {
		// A browser opening a panel link (ipmiredirect) is sent on to the
		// target the API would name in "ok".
		for _, c := range doc.Children {
			if c.Name == "ok" && strings.HasPrefix(c.Text, "http") {
				s.finish(idx, http.StatusFound)
				http.Redirect(w, r, c.Text, http.StatusFound)
				return
			}
		}
	}
	doc.Attr("func", req.Func).Attr("lang", orDefault(req.Lang, "en")).Attr("binary", s.path)
	mgr5.TParams(doc, req)
	s.finish(idx, http.StatusOK)
	s.render(w, req.Out, doc)
}

func (s *Server) violate(v Violation) {
	s.mu.Lock()
	s.violations = append(s.violations, v)
	s.mu.Unlock()
}

// sessionCookie is the cookie a browser session lives in: "<mgr>ses5"
// ("dcimgrses5" for /dcimgr).
func (s *Server) sessionCookie() string { return strings.TrimPrefix(s.path, "/") + "ses5" }

// panelPage answers a browser that opens the panel: the panel when its
// session cookie is valid, the login form otherwise.
func (s *Server) panelPage(w http.ResponseWriter, r *http.Request, idx int) {
	user := ""
	if ck, err := r.Cookie(s.sessionCookie()); err == nil {
		s.mu.Lock()
		if ss, ok := s.sessions[ck.Value]; ok && s.now().Sub(ss.lastUsed) <= s.sessionTTL {
			ss.lastUsed = s.now()
			user = ss.user
		}
		s.mu.Unlock()
	}
	s.finish(idx, http.StatusOK)
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	if user == "" {
		_, _ = w.Write([]byte(loginPage))
		return
	}
	s.log.Update(idx, func(c *fakekit.Call) { c.Caller, c.Handled, c.Applied = user, true, true })
	_, _ = w.Write([]byte("<html><body>panel of " + html.EscapeString(user) + "</body></html>"))
}

const loginPage = `<html><body><form method="post"><input name="username"><input name="password" type="password"></form></body></html>`

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

// auth implements func=auth with a password or a key. An API client gets
// the auth element; a browser (no out=) gets the session in a cookie and
// a redirect into the panel, or the login form when the login fails.
func (s *Server) auth(w http.ResponseWriter, req *mgr5.ServerRequest, idx int) {
	user := req.Get("username")
	req.Get("checkcookie") // browser links carry it; it changes nothing here
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
	}
	s.mu.Unlock()
	s.log.Update(idx, func(c *fakekit.Call) {
		c.Handled = true
		if good {
			c.Caller, c.Applied = user, true
		}
	})
	if browser(req) {
		if !good {
			s.finish(idx, http.StatusOK)
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			_, _ = w.Write([]byte(loginPage))
			return
		}
		http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(), Value: sid, Path: "/", HttpOnly: true})
		s.finish(idx, http.StatusFound)
		w.Header().Set("Location", s.path)
		w.WriteHeader(http.StatusFound)
		return
	}
	s.finish(idx, http.StatusOK)
	if !good {
		s.render(w, req.Out, mgr5.ErrorDoc(&mgr5.Error{Type: mgr5.TypeAuth, Object: "badpassword", Value: "remote_addr: [127.0.0.1]"}, req.Lang))
		return
	}
	doc := mgr5.NewDoc()
	doc.Add("auth", sid).Attr("id", sid).Attr("level", strconv.Itoa(level))
	s.render(w, req.Out, doc)
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

// Enforce turns strict mode on for the rest of tb's test and, when the
// test ends, reports through tb every violation and every call whose
// function or parameters ledger does not list.
func (s *Server) Enforce(tb wire.TB, ledger wire.Ledger) {
	tb.Helper()
	s.SetStrict(true)
	tb.Cleanup(func() {
		for _, v := range s.Violations() {
			tb.Errorf("strict fake: the fake does not model %s", v)
		}
		CheckLedger(tb, ledger, s.Calls(), wire.MGR5Protocol)
	})
}

// CheckLedger reports through tb every call of calls that ledger does not
// list (the function, or one of its parameters); skip names parameters
// the protocol carries. Calls without a function (a browser opening the
// panel) are not checked.
func CheckLedger(tb wire.TB, ledger wire.Ledger, calls []Call, skip func(string) bool) {
	tb.Helper()
	if path := os.Getenv("ISPKIT_WIRE_DUMP"); path != "" {
		dumpCalls(path, calls)
	}
	seen := map[string]bool{}
	for _, c := range calls {
		if c.Func == "" {
			continue
		}
		for _, p := range ledger.Problems(c.Func, c.Params, skip) {
			if !seen[p] {
				seen[p] = true
				tb.Errorf("wire ledger: %s", p)
			}
		}
	}
}

// dumpCalls appends "func param..." lines to path, for whoever writes a
// ledger.
func dumpCalls(path string, calls []Call) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	for _, c := range calls {
		_, _ = f.WriteString(c.Func + " " + strings.Join(c.Params, " ") + "\n")
	}
}
