package dcimanager5test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"time"

	"github.com/ispkit/ispkit/internal/mgr5fake"
	"github.com/ispkit/ispkit/internal/wire"
)

// Access levels shown in the user list.
const (
	LevelUser  = mgr5fake.LevelUser
	LevelAdmin = mgr5fake.LevelAdmin
)

// Defaults of the fake.
const (
	DefaultAdmin              = "admin"
	DefaultAdminPassword      = "admin-secret-pw"
	DefaultPowerDuration      = 200 * time.Millisecond
	DefaultInstallDuration    = time.Second
	DefaultConnectionDuration = 100 * time.Millisecond
)

type options struct {
	admin, adminPassword string
	tls                  bool
	power, install, conn time.Duration
	seed                 bool
	sessionTTL           time.Duration
	output               string
	path                 string
	clock                Clock
}

// Option configures NewServer.
type Option func(*options)

// WithAdmin sets the administrator login (default admin / admin-secret-pw).
func WithAdmin(user, password string) Option {
	return func(o *options) { o.admin, o.adminPassword = user, password }
}

// WithTLS serves HTTPS with a self-signed certificate (see Certificate and
// CertificateSHA256).
func WithTLS() Option { return func(o *options) { o.tls = true } }

// WithPowerDuration sets how long power on/off/reboot take (default 200 ms).
func WithPowerDuration(d time.Duration) Option { return func(o *options) { o.power = d } }

// WithInstallDuration sets how long an OS install takes (default 1 s).
func WithInstallDuration(d time.Duration) Option { return func(o *options) { o.install = d } }

// WithConnectionDuration sets how long a switch-port command keeps
// func_in_progress (default 100 ms).
func WithConnectionDuration(d time.Duration) Option { return func(o *options) { o.conn = d } }

// WithoutSeed starts with only the administrator: no servers, users, OS
// templates, recipes or pools.
func WithoutSeed() Option { return func(o *options) { o.seed = false } }

// WithSessionTTL sets the idle lifetime of sessions (default one hour).
func WithSessionTTL(d time.Duration) Option { return func(o *options) { o.sessionTTL = d } }

// WithOutput forces the output format of every answer ("json", "sjson" or
// "xml"), whatever the client asks for.
func WithOutput(format string) Option { return func(o *options) { o.output = format } }

// Clock is the fake's time source for its timed operations (power, OS
// install, switch ports) and session expiry.
type Clock interface{ Now() time.Time }

// ManualClock is a Clock that moves only when told: a test sees every
// intermediate state of an operation for as long as it likes, and ends
// the operation with Advance, whatever the machine's load.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock standing at a fixed instant.
func NewManualClock() *ManualClock {
	return &ManualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// WithClock makes the fake read time from c instead of the wall clock.
func WithClock(c Clock) Option { return func(o *options) { o.clock = c } }

// WithPath sets the entry point path (default "/dcimgr").
func WithPath(p string) Option { return func(o *options) { o.path = p } }

// Server is a running fake DCImanager 5. It is safe for concurrent use.
type Server struct {
	// Controls are the faults, call log, sessions and strict mode every
	// ispkit fake offers (Inject, Calls, Strict, ...).
	mgr5fake.Controls
	core *mgr5fake.Server
	http *httptest.Server
	opts options

	reqMu    sync.Mutex
	requests map[string]int

	mu        sync.Mutex
	now       func() time.Time
	servers   map[int64]*server
	order     []int64
	ips       map[int64]*ipRec
	used      map[netip.Addr]int64
	pools     []*pool
	users     map[int64]*user
	templates []OSTemplate
	recipes   []string
	nextID    int64
	nextIP    int64
	nextConn  int64
	nextUser  int64
}

// NewServer starts a fake panel. Without WithoutSeed it holds the data
// described at Seed. Close it when done.
func NewServer(opts ...Option) *Server {
	o := options{
		admin: DefaultAdmin, adminPassword: DefaultAdminPassword,
		power: DefaultPowerDuration, install: DefaultInstallDuration, conn: DefaultConnectionDuration,
		seed: true, path: "/dcimgr",
	}
	for _, f := range opts {
		f(&o)
	}
	s := &Server{
		core: mgr5fake.New(o.path), opts: o, requests: map[string]int{}, now: time.Now,
		servers: map[int64]*server{}, ips: map[int64]*ipRec{}, used: map[netip.Addr]int64{},
		users: map[int64]*user{},
	}
	if o.sessionTTL > 0 {
		s.core.SetSessionTTL(o.sessionTTL)
	}
	if o.clock != nil {
		s.now = o.clock.Now
		s.core.SetClock(o.clock.Now)
	}
	s.addUser(o.admin, o.adminPassword, LevelAdmin)
	s.Controls = mgr5fake.NewControls(s.core, wire.DCImanager5)
	s.register()
	if o.seed {
		s.Seed()
	}
	s.http = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	// TLS handshake failures (tests of certificate checks) and dropped
	// connections are expected; keep them out of the test output.
	s.http.Config.ErrorLog = log.New(io.Discard, "", 0)
	if o.tls {
		s.http.StartTLS()
	} else {
		s.http.Start()
	}
	return s
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err == nil {
		fn := r.Form.Get("func")
		s.reqMu.Lock()
		s.requests[fn]++
		s.reqMu.Unlock()
		if s.opts.output != "" {
			q := r.URL.Query()
			if q.Has("out") || r.Method != http.MethodPost {
				q.Set("out", s.opts.output)
				r.URL.RawQuery = q.Encode()
			}
			r.PostForm.Set("out", s.opts.output)
		}
	}
	s.core.ServeHTTP(w, r)
}

// URL returns the panel entry point, e.g. http://127.0.0.1:PORT/dcimgr.
func (s *Server) URL() string { return s.http.URL + s.opts.path }

// Close stops the server and drops open connections.
func (s *Server) Close() {
	s.http.CloseClientConnections()
	s.http.Close()
}

// Admin returns the administrator login.
func (s *Server) Admin() (user, password string) { return s.opts.admin, s.opts.adminPassword }

// HTTPClient returns an *http.Client that trusts the fake's TLS
// certificate (a plain client without WithTLS).
func (s *Server) HTTPClient() *http.Client { return s.http.Client() }

// Certificate returns the TLS certificate (nil without WithTLS).
func (s *Server) Certificate() *x509.Certificate { return s.http.Certificate() }

// CertPool returns a pool holding the TLS certificate (nil without
// WithTLS).
func (s *Server) CertPool() *x509.CertPool {
	c := s.http.Certificate()
	if c == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}

// CertificateSHA256 returns the hex SHA-256 fingerprint of the TLS
// certificate, for dcimanager5.WithPinnedCertificate ("" without WithTLS).
func (s *Server) CertificateSHA256() string {
	c := s.http.Certificate()
	if c == nil {
		return ""
	}
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// RequestCount returns how many HTTP requests named function fn (""
// counts requests without func), faulted ones included.
func (s *Server) RequestCount(fn string) int {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	return s.requests[fn]
}
