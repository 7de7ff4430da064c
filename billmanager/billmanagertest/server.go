// Package billmanagertest is a fake upstream BILLmanager acting as a
// licensing server, for tests: a real HTTP server (httptest) speaking the
// mgr5 protocol at /billmgr, holding ISPsystem licenses per account. It is
// built on the fake core the other ispkit mgr5 fakes share, so logins
// (authinfo and func=auth sessions), output formats and fault injection
// behave the same.
//
// # Strictness
//
// The fake models only the functions and parameters the billmanager
// client's ledger names, and refuses everything else: an unknown function
// answers doc.error type "missed", and a parameter the fake does not model
// answers type "value" with the parameter as object. A real BILLmanager
// would silently ignore such a parameter; refusing it makes a client that
// relies on one fail in tests instead of in production.
//
// # Functions and the behaviour chosen for them
//
//   - soft (list): the caller's licenses; columns id, licname, ip,
//     pricelist, expiredate (YYYY-MM-DD), item_status (2 active,
//     3 suspended) and status_msg ("Active", "Suspended").
//   - soft.order.param: sok=ok and skipbasket=on are required (the cart is
//     not modelled); clicked_button, when sent, must be "finish";
//     pricelist must be one of the fake's tariffs, period 1 or 12,
//     autoprolong "null", 1 or 12 (or absent), ip a specific address,
//     licname non-empty; remoteid and project are kept. The license is
//     active at once, expires period months later, and answers id and ok.
//     Its key appears only after KeyAfterReads views (BILLmanager generates
//     keys asynchronously).
//   - soft.edit elid (view): id, licname, ip, pricelist, expiredate and
//     lickey (empty until generated). Each view counts towards the key.
//   - soft.edit elid sok=ok: with clicked_button=newkey a new key is
//     generated and answered as lickey; otherwise licname, ip and remoteid
//     are changed (those sent). ip may be 0.0.0.0 (the pool).
//   - soft.suspend / soft.resume elid[, elid…]: status 3 / 2, all or
//     nothing; repeating one is accepted and changes nothing.
//   - service.prolong elid period sok=ok: the expiry moves period months
//     later; the answer carries doc/newexpiredate and ok.
//
// A license of another account, or an unknown id, answers type "missed"
// with object "elid".
package billmanagertest

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"github.com/ispkit/ispkit/internal/fakekit"
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/internal/mgr5fake"
)

// Path is the entry point served by the fake.
const Path = "/billmgr"

// Default login: the reseller's customer account on the licensing server.
const (
	DefaultUser     = "reseller"
	DefaultPassword = "Reseller-Pa55-secret"
)

// DefaultPricelists are the license tariffs the fake sells when no
// WithPricelist option is given: the ISPmanager 6 codes ISPsystem
// documents.
var DefaultPricelists = map[int64]string{
	55227: "ISPmanager 6 Lite",
	55228: "ISPmanager 6 Pro",
	55229: "ISPmanager 6 Host",
	55230: "ISPmanager 6 Business",
}

// Item statuses used in item_status.
const (
	StatusActive    = 2
	StatusSuspended = 3
)

// The fault vocabulary is the same in every ispkit fake panel
// (dcimanager5test, dcimanager6test, ipmanagertest, ispmanagertest).
type (
	// Fault is one injected failure: what (Kind), where (Match: a
	// function name such as "soft.order.param", "" for every function)
	// and how often (Times: 0 once, negative until ClearFaults; or
	// Probability drawn from the generator seeded by SetFaultSeed).
	Fault = fakekit.Fault
	// FaultKind says what a Fault does, and whether the request's change
	// is applied (FaultKind.Applies).
	FaultKind = fakekit.FaultKind
	// PanelError is the doc.error a panel-error fault answers with.
	PanelError = mgr5.Error
)

// Fault kinds.
const (
	// FaultPanelError answers Fault.Err as doc.error; not applied.
	FaultPanelError = fakekit.FaultPanelError
	// FaultStatus answers HTTP Fault.Status (default 502) with an HTML
	// page, as a proxy does; not applied.
	FaultStatus = fakekit.FaultStatus
	// FaultDropBefore closes the connection before the change: not applied.
	FaultDropBefore = fakekit.FaultDropBefore
	// FaultDropAfter processes the request, then drops the connection: an
	// order is placed but the client never hears of it.
	FaultDropAfter = fakekit.FaultDropAfter
	// FaultTruncated applies the change and sends half of the answer.
	FaultTruncated = fakekit.FaultTruncated
	// FaultMalformed answers 200 with a body that is not a document; not
	// applied.
	FaultMalformed = fakekit.FaultMalformed
	// FaultSlow applies the change and holds the answer for Fault.Delay
	// (or until the client gives up).
	FaultSlow = fakekit.FaultSlow
	// FaultExpiredSession ends the caller's session before the call.
	FaultExpiredSession = fakekit.FaultExpiredSession
)

// License is a license as the fake stores it.
type License struct {
	ID          int64
	Account     string
	Name        string
	IP          netip.Addr
	Pricelist   int64
	Status      int
	Expire      time.Time
	Key         string
	RemoteID    string
	Project     string
	AutoProlong string
	// Views counts soft.edit views (the key appears after KeyAfterReads).
	Views int
	// KeyChanges counts keys generated with clicked_button=newkey.
	KeyChanges int
}

// Request is one request that reached a function, with its parameters
// (authinfo and password values replaced).
type Request struct {
	Func   string
	Params url.Values
}

type config struct {
	pricelists map[int64]string
	accounts   []mgr5fake.Account
	keyAfter   int
	tls        bool
	now        func() time.Time
	licenses   []License
}

// Option configures a Server.
type Option func(*config)

// WithPricelist adds a license tariff the fake sells (replacing the
// defaults on first use).
func WithPricelist(id int64, name string) Option {
	return func(c *config) {
		if c.pricelists == nil {
			c.pricelists = map[int64]string{}
		}
		c.pricelists[id] = name
	}
}

// WithAccount adds a customer login.
func WithAccount(name, password string) Option {
	return func(c *config) {
		c.accounts = append(c.accounts, mgr5fake.Account{Name: name, Password: password, Level: mgr5fake.LevelUser})
	}
}

// WithKeyAfterReads makes a new license's key visible from its n-th
// soft.edit view on (default 1: the first view shows it; 0 too).
func WithKeyAfterReads(n int) Option { return func(c *config) { c.keyAfter = n } }

// WithClock sets the fake's clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLicense preloads a license (for example one in the pool, named
// free.lic with IP 0.0.0.0). ID 0 takes the next id; Account "" means
// DefaultUser; Status 0 means active; a missing key is generated.
func WithLicense(l License) Option { return func(c *config) { c.licenses = append(c.licenses, l) } }

// WithTLS serves HTTPS with a self-signed certificate (see CertPool).
func WithTLS() Option { return func(c *config) { c.tls = true } }

// Server is a running fake licensing server.
type Server struct {
	core     *mgr5fake.Server
	keyAfter int
	now      func() time.Time

	mu         sync.Mutex
	pricelists map[int64]string
	licenses   map[int64]*License
	nextID     int64
	requests   []Request
}

// NewServer starts a fake licensing server.
func NewServer(opts ...Option) *Server {
	cfg := &config{keyAfter: 1, now: time.Now}
	for _, o := range opts {
		o(cfg)
	}
	if cfg.pricelists == nil {
		cfg.pricelists = maps.Clone(DefaultPricelists)
	}
	s := &Server{core: mgr5fake.New(Path), keyAfter: cfg.keyAfter, now: cfg.now,
		pricelists: cfg.pricelists, licenses: map[int64]*License{}, nextID: 1000}
	for _, l := range cfg.licenses {
		c := l
		if c.ID == 0 {
			s.nextID++
			c.ID = s.nextID
		}
		s.nextID = max(s.nextID, c.ID)
		if c.Account == "" {
			c.Account = DefaultUser
		}
		if c.Status == 0 {
			c.Status = StatusActive
		}
		if c.Key == "" {
			c.Key = newKey()
		}
		s.licenses[c.ID] = &c
	}
	s.core.AddAccount(mgr5fake.Account{Name: DefaultUser, Password: DefaultPassword, Level: mgr5fake.LevelUser})
	for _, a := range cfg.accounts {
		s.core.AddAccount(a)
	}
	s.core.Handle("soft", mgr5fake.AnyUser, s.handleList)
	s.core.Handle("soft.order.param", mgr5fake.AnyUser, s.handleOrder)
	s.core.Handle("soft.edit", mgr5fake.AnyUser, s.handleEdit)
	s.core.Handle("soft.suspend", mgr5fake.AnyUser, s.status("soft.suspend", StatusSuspended))
	s.core.Handle("soft.resume", mgr5fake.AnyUser, s.status("soft.resume", StatusActive))
	s.core.Handle("service.prolong", mgr5fake.AnyUser, s.handleProlong)
	if cfg.tls {
		s.core.StartTLS()
	} else {
		s.core.Start()
	}
	return s
}

// URL returns the entry point URL, e.g. http://127.0.0.1:port/billmgr.
func (s *Server) URL() string { return s.core.URL() }

// Close stops the server.
func (s *Server) Close() { s.core.Close() }

// CertPool returns a pool holding the TLS certificate (nil without TLS).
func (s *Server) CertPool() *x509.CertPool {
	srv := s.core.HTTPServer()
	if srv.TLS == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AddCert(srv.Certificate())
	return p
}

// Inject adds a fault; faults are consulted in the order added.
func (s *Server) Inject(f Fault) { s.core.Inject(f) }

// ClearFaults removes every fault.
func (s *Server) ClearFaults() { s.core.ClearFaults() }

// SetFaultSeed reseeds the generator behind Fault.Probability, so a run
// with random faults replays exactly.
func (s *Server) SetFaultSeed(seed uint64) { s.core.SetFaultSeed(seed) }

// Requests returns the requests that reached a function, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = Request{Func: r.Func, Params: cloneValues(r.Params)}
	}
	return out
}

// License returns a copy of license id.
func (s *Server) License(id int64) (License, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.licenses[id]
	if !ok {
		return License{}, false
	}
	return *l, true
}

// Licenses returns copies of all licenses, by id.
func (s *Server) Licenses() []License {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]License, 0, len(s.licenses))
	for _, id := range slices.Sorted(maps.Keys(s.licenses)) {
		out = append(out, *s.licenses[id])
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// protocol are the parameters the mgr5 layer itself may send.
var protocol = []string{"func", "out", "authinfo", "auth", "lang", "elid", "sok"}

// accept records the request and refuses parameters outside allowed.
func (s *Server) accept(c *mgr5fake.Ctx, allowed ...string) error {
	p := cloneValues(c.Req.Params)
	for _, k := range []string{"authinfo", "password", "auth"} {
		if p.Has(k) {
			p.Set(k, "[REDACTED]")
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Func: c.Req.Func, Params: p})
	s.mu.Unlock()
	for k := range c.Req.Params {
		if !slices.Contains(protocol, k) && !slices.Contains(allowed, k) {
			return &mgr5.Error{Type: mgr5.TypeValue, Object: k,
				Message: "billmanagertest: parameter " + k + " of " + c.Req.Func + " is not modelled (a real BILLmanager would ignore it)"}
		}
	}
	return nil
}

func valueErr(object, msg string) error {
	return &mgr5.Error{Type: mgr5.TypeValue, Object: object, Message: msg}
}

// owned returns the caller's licenses named by elid (all or an error).
// s.mu must be held.
func (s *Server) owned(c *mgr5fake.Ctx) ([]*License, error) {
	ids := c.Req.Elids()
	if len(ids) == 0 {
		return nil, &mgr5.Error{Type: mgr5.TypeMissed, Object: "elid", Message: "no license given"}
	}
	out := make([]*License, 0, len(ids))
	for _, id := range ids {
		n, err := strconv.ParseInt(id, 10, 64)
		l, ok := s.licenses[n]
		if err != nil || !ok || l.Account != c.User.Name {
			return nil, &mgr5.Error{Type: mgr5.TypeMissed, Object: "elid", Value: id, Message: "License not found"}
		}
		out = append(out, l)
	}
	return out, nil
}

// ownedOne is owned for functions that take one license. s.mu must be
// held.
func (s *Server) ownedOne(c *mgr5fake.Ctx) (*License, error) {
	ls, err := s.owned(c)
	if err != nil {
		return nil, err
	}
	if len(ls) != 1 {
		return nil, valueErr("elid", "one license at a time")
	}
	return ls[0], nil
}

// parsePeriod reads period: 1 or 12 months.
func parsePeriod(r *mgr5.ServerRequest) (int, error) {
	period, err := strconv.Atoi(r.Get("period"))
	if err != nil || (period != 1 && period != 12) {
		return 0, valueErr("period", "Invalid period")
	}
	return period, nil
}

func statusMsg(st int) string {
	if st == StatusSuspended {
		return "Suspended"
	}
	return "Active"
}

func (s *Server) handleList(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	if err := s.accept(c); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	doc := mgr5.NewDoc()
	for _, id := range slices.Sorted(maps.Keys(s.licenses)) {
		l := s.licenses[id]
		if l.Account != c.User.Name {
			continue
		}
		e := doc.Elem()
		e.Add("id", strconv.FormatInt(l.ID, 10))
		e.Add("licname", l.Name)
		e.Add("ip", l.IP.String())
		e.Add("pricelist", strconv.FormatInt(l.Pricelist, 10))
		e.Add("expiredate", l.Expire.Format(time.DateOnly))
		e.Add("item_status", strconv.Itoa(l.Status))
		e.Add("status_msg", statusMsg(l.Status))
	}
	return doc, nil
}

func parseIP(object, s string, allowUnspecified bool) (netip.Addr, error) {
	ip, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || (ip.IsUnspecified() && !allowUnspecified) {
		return netip.Addr{}, valueErr(object, "Invalid IP address")
	}
	return ip.Unmap(), nil
}

func (s *Server) handleOrder(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	r := c.Req
	if err := s.accept(c, "pricelist", "period", "ip", "licname", "autoprolong", "skipbasket", "clicked_button", "remoteid", "project"); err != nil {
		return nil, err
	}
	switch {
	case !r.Sok:
		return nil, valueErr("sok", "billmanagertest: an order without sok=ok only shows the form (not modelled)")
	case r.Get("skipbasket") != "on":
		return nil, valueErr("skipbasket", "billmanagertest: the cart is not modelled; send skipbasket=on")
	case r.Has("clicked_button") && r.Get("clicked_button") != "finish":
		return nil, valueErr("clicked_button", "unknown button")
	}
	pl, err := strconv.ParseInt(r.Get("pricelist"), 10, 64)
	if err != nil {
		return nil, valueErr("pricelist", "Invalid tariff plan")
	}
	period, err := parsePeriod(r)
	if err != nil {
		return nil, err
	}
	switch r.Get("autoprolong") {
	case "", "null", "1", "12":
	default:
		return nil, valueErr("autoprolong", "Invalid auto renewal period")
	}
	ip, err := parseIP("ip", r.Get("ip"), false)
	if err != nil {
		return nil, err
	}
	name := r.Get("licname")
	if strings.TrimSpace(name) == "" {
		return nil, valueErr("licname", "License name is required")
	}
	if p := r.Get("project"); r.Has("project") {
		if _, err := strconv.ParseInt(p, 10, 64); err != nil {
			return nil, valueErr("project", "Invalid provider")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pricelists[pl]; !ok {
		return nil, &mgr5.Error{Type: mgr5.TypeMissed, Object: "pricelist", Value: r.Get("pricelist"), Message: "Tariff plan not found"}
	}
	s.nextID++
	l := &License{ID: s.nextID, Account: c.User.Name, Name: name, IP: ip, Pricelist: pl, Status: StatusActive,
		Expire: s.now().UTC().AddDate(0, period, 0), Key: newKey(), RemoteID: r.Get("remoteid"),
		Project: r.Get("project"), AutoProlong: r.Get("autoprolong")}
	s.licenses[l.ID] = l
	doc := mgr5.NewDoc().OK()
	doc.Add("id", strconv.FormatInt(l.ID, 10))
	return doc, nil
}

func (s *Server) handleEdit(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	r := c.Req
	if err := s.accept(c, "licname", "ip", "clicked_button", "remoteid"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.ownedOne(c)
	if err != nil {
		return nil, err
	}
	if !r.Sok {
		l.Views++
		doc := mgr5.NewDoc()
		doc.Add("id", strconv.FormatInt(l.ID, 10))
		doc.Add("licname", l.Name)
		doc.Add("ip", l.IP.String())
		doc.Add("pricelist", strconv.FormatInt(l.Pricelist, 10))
		doc.Add("expiredate", l.Expire.Format(time.DateOnly))
		key := ""
		if l.Views >= s.keyAfter {
			key = l.Key
		}
		doc.Add("lickey", key)
		return doc, nil
	}
	switch b := r.Get("clicked_button"); {
	case b == "newkey":
		l.Key, l.Views = newKey(), s.keyAfter
		l.KeyChanges++
		doc := mgr5.NewDoc().OK()
		doc.Add("lickey", l.Key)
		return doc, nil
	case b != "":
		return nil, valueErr("clicked_button", "unknown button")
	}
	name, ip := l.Name, l.IP
	if r.Has("licname") {
		if name = r.Get("licname"); strings.TrimSpace(name) == "" {
			return nil, valueErr("licname", "License name is required")
		}
	}
	if r.Has("ip") {
		if ip, err = parseIP("ip", r.Get("ip"), true); err != nil {
			return nil, err
		}
	}
	l.Name, l.IP = name, ip
	if r.Has("remoteid") {
		l.RemoteID = r.Get("remoteid")
	}
	return mgr5.NewDoc().OK(), nil
}

func (s *Server) status(fn string, to int) mgr5fake.HandlerFunc {
	return func(c *mgr5fake.Ctx) (*mgr5.Node, error) {
		if err := s.accept(c); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		ls, err := s.owned(c)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			l.Status = to
		}
		return mgr5.NewDoc().OK(), nil
	}
}

func (s *Server) handleProlong(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	if err := s.accept(c, "period"); err != nil {
		return nil, err
	}
	if !c.Req.Sok {
		return nil, valueErr("sok", "billmanagertest: the renewal form is not modelled; send sok=ok")
	}
	period, err := parsePeriod(c.Req)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.ownedOne(c)
	if err != nil {
		return nil, err
	}
	l.Expire = l.Expire.AddDate(0, period, 0)
	doc := mgr5.NewDoc().OK()
	doc.Add("doc", "").Add("newexpiredate", l.Expire.Format(time.DateOnly))
	return doc, nil
}
