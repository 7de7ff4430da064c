// Package ispmanagertest is a fake ISPmanager 5 panel for tests: a real
// HTTP server (httptest) speaking the mgr5 protocol at /ispmgr (and
// /manager/ispmgr) in out=json, sjson, JSONdata and xml, with users,
// presets, simulated usage, the Lite/Business licence, one-time login keys
// and fault injection. Start it with NewServer and point
// ispmanager.NewClient at URL with the Admin credentials.
//
// Functions: auth, session.newkey, user, user.add.finish, user.edit,
// user.suspend, user.resume, user.delete, usrparam, userstat, preset,
// preset.edit, license.info. Everything else answers doc.error
// missed/func.
//
// Behaviour chosen where the public facts stop (the wire ledger, ispmanager.Ledger, says which facts are assumed; the
// ispmanager client documents the same choices):
//
//   - Users are keyed by name. A name must be 1–32 characters, a letter
//     first, then letters, digits, '_', '-', '.'; otherwise value/name.
//     Creating a name that is taken (by a user or any panel login) answers
//     exists/user with the name as value.
//   - user.add.finish (and user.edit with sok and no elid) creates the
//     user. A preset that does not exist is created with every numeric
//     limit unlimited (empty) and the user gets it. The user's limits are
//     MergeLimits(preset, limit_* sent): values sent win. Without a preset
//     the user has only the limits sent.
//   - domain=<fqdn> creates the WWW domain unless the effective
//     webdomains limit is 0; if that WWW domain already exists
//     the answer is exists/name with the domain as value and nothing is
//     created. DNS and mail domains are counted in usage (domains,
//     emaildomains = 1) when their limits are not 0; webdomains = 1 when
//     the WWW domain was created.
//   - ipsrc and iptype are recorded on the user; no address is allocated.
//   - Panel users become logins of the fake (level 16), so session.newkey
//     key login and su work for them. Suspended users cannot log in;
//     deleted users' logins are disabled (the shared fake core has no way
//     to remove a login).
//   - user.edit with sok: passwd (+ confirm, which must match) sets the
//     password; preset moves the user to that preset (created unlimited if
//     missing) and its limits become MergeLimits(new preset, limit_* sent);
//     without preset the limit_* sent overlay the current limits. If any
//     changed numeric limit is below the simulated usage (SetUsage), the
//     whole change is refused with doc.error type "value", object
//     "limit_<name>", value = the refused limit, a "usage" param with the
//     current usage and the message "The limit ... cannot be lower than
//     the current usage ..."; nothing changes.
//   - usrparam with sok and passwd changes the password of the effective
//     user (su=<user>, or the caller).
//   - user.suspend/resume/delete take a comma-space elid list; an unknown
//     name answers missed/user and changes nothing. Suspend and resume are
//     repeatable.
//   - preset.edit without elid and with sok creates (exists/preset if the
//     name is taken); limits not sent are unlimited. With elid it views or
//     overlays the sent limits; editing a preset does not change users
//     created from it, and is not checked against usage.
//   - The user list shows owner = the creating administrator on Business
//     and no owner on Lite.
//   - license.info answers panel_name "ISPmanager Lite" or "ISPmanager
//     Business" (WithEdition / SetEdition; default Business) and mgr
//     "ispmgr".
//   - userstat (su=<user>) lists every numeric limit: name with $orig =
//     limit name without prefix, usages_total (empty = unlimited) and
//     usages_used.
//   - Errors use HTTP 200; sessions, keys (one hour, single use), su and
//     faults come from the shared fake core.
//
// Like every ispkit fake it loads a JSON-shaped SeedData (Load: edition,
// disk quotas, presets, users, resellers), dumps its state (Dump), empties
// itself (Reset) and serves on a listener of the caller's (Handler). A
// reseller (AddReseller) logs in at LevelReseller and gets an access error
// from every administrator function.
package ispmanagertest

import (
	"cmp"
	"crypto/x509"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/internal/mgr5fake"
	"github.com/ispkit/ispkit/internal/wire"
	"github.com/ispkit/ispkit/ispmanager"
)

// Default administrator login of a new Server.
const (
	DefaultAdmin    = "admin"
	DefaultPassword = "fake-admin-password"
)

// Path is the panel entry point.
const Path = "/ispmgr"

// User is the fake's view of a panel user (a copy).
type User struct {
	Name     string
	FullName string
	Email    string
	// Owner is the administrator that created the user.
	Owner string
	// Preset is the user's template ("" = none).
	Preset string
	// Active is false while suspended.
	Active bool
	// Limits are the effective limits.
	Limits ispmanager.Limits
	// Usage is the simulated usage by limit name without prefix.
	Usage map[string]int
	// Domain is the domain created with the user ("" = none).
	Domain string
	// IPSource and IPType are the ipsrc and iptype sent at creation.
	IPSource, IPType string
	// FTPUser is the main FTP user created with the account
	// (ftp_user_name; "" = none).
	FTPUser string
}

func (u *User) clone() User {
	c := *u
	c.Limits = u.Limits.Clone()
	c.Usage = maps.Clone(u.Usage)
	if c.Usage == nil {
		c.Usage = map[string]int{}
	}
	return c
}

type options struct {
	admin, password string
	edition         ispmanager.Edition
	tls             bool
	presets         map[string]ispmanager.Limits
}

// Option configures a Server.
type Option func(*options)

// WithAdmin sets the administrator login (default DefaultAdmin /
// DefaultPassword).
func WithAdmin(name, password string) Option {
	return func(o *options) { o.admin, o.password = name, password }
}

// WithEdition sets the edition license.info reports (default Business).
func WithEdition(e ispmanager.Edition) Option {
	return func(o *options) { o.edition = e }
}

// WithTLS serves HTTPS with a self-signed certificate (see RootCAs).
func WithTLS() Option {
	return func(o *options) { o.tls = true }
}

// WithPreset adds a preset at start.
func WithPreset(name string, l ispmanager.Limits) Option {
	return func(o *options) { o.presets[name] = l.Clone() }
}

// Server is a running fake ISPmanager panel. It is safe for concurrent
// use. Call Close when done.
type Server struct {
	// Controls are the faults, call log, sessions and strict mode every
	// ispkit fake offers (Inject, Calls, Strict, ...).
	mgr5fake.Controls
	core            *mgr5fake.Server
	admin, password string

	mu         sync.Mutex
	edition    ispmanager.Edition
	users      map[string]*User
	presets    map[string]ispmanager.Limits
	webdomains map[string]string // WWW domain → owner user
	// mail and DNS domains → owner user
	emaildomains, dnsdomains map[string]string
	// addresses: the shared one first, then dedicated ones
	addrs      []Address
	nextAddr   int
	diskQuotas bool
}

// Address is an IP address of the fake (ipaddr): the shared address has
// no owner; a dedicated one has the role "assigned" and its account.
type Address struct {
	Addr  string
	Role  string
	Owner string
}

// SharedAddress is the panel's shared address; dedicated addresses are
// handed out from 198.51.100.10 upwards.
const SharedAddress = "198.51.100.2"

// NewServer starts a fake panel.
func NewServer(opts ...Option) *Server {
	o := options{admin: DefaultAdmin, password: DefaultPassword, edition: ispmanager.EditionBusiness, presets: map[string]ispmanager.Limits{}}
	for _, f := range opts {
		f(&o)
	}
	s := &Server{
		core: mgr5fake.New(Path), admin: o.admin, password: o.password, edition: o.edition,
		users: map[string]*User{}, presets: o.presets, webdomains: map[string]string{},
		emaildomains: map[string]string{}, dnsdomains: map[string]string{}, diskQuotas: true,
		addrs: []Address{{Addr: SharedAddress, Role: "shared"}},
	}
	s.core.AddAccount(mgr5fake.Account{Name: o.admin, Password: o.password, Level: mgr5fake.LevelAdmin})
	s.Controls = mgr5fake.NewControls(s.core, wire.ISPmanager)
	s.register()
	if o.tls {
		s.core.StartTLS()
	} else {
		s.core.Start()
	}
	return s
}

// URL returns the entry point, e.g. http://127.0.0.1:port/ispmgr.
func (s *Server) URL() string { return s.core.URL() }

// Admin returns the administrator login.
func (s *Server) Admin() (name, password string) { return s.admin, s.password }

// Close stops the server.
func (s *Server) Close() { s.core.Close() }

// HTTPClient returns a client that trusts the server's certificate.
func (s *Server) HTTPClient() *http.Client { return s.core.HTTPServer().Client() }

// RootCAs returns a pool holding the server's certificate (nil without
// WithTLS).
func (s *Server) RootCAs() *x509.CertPool {
	cert := s.core.HTTPServer().Certificate()
	if cert == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AddCert(cert)
	return p
}

// SetEdition changes the edition license.info reports.
func (s *Server) SetEdition(e ispmanager.Edition) {
	s.mu.Lock()
	s.edition = e
	s.mu.Unlock()
}

// AddPreset adds or replaces a preset.
func (s *Server) AddPreset(name string, l ispmanager.Limits) {
	s.mu.Lock()
	s.presets[name] = l.Clone()
	s.mu.Unlock()
}

// Preset returns a copy of a preset.
func (s *Server) Preset(name string) (ispmanager.Preset, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.presets[name]
	if !ok {
		return ispmanager.Preset{}, false
	}
	return ispmanager.Preset{Name: name, Limits: l.Clone()}, true
}

// Presets returns copies of all presets, sorted by name.
func (s *Server) Presets() []ispmanager.Preset {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ispmanager.Preset, 0, len(s.presets))
	for _, n := range slices.Sorted(maps.Keys(s.presets)) {
		out = append(out, ispmanager.Preset{Name: n, Limits: s.presets[n].Clone()})
	}
	return out
}

// User returns a copy of a user.
func (s *Server) User(name string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return User{}, false
	}
	return u.clone(), true
}

// Users returns copies of all users, sorted by name.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, n := range slices.Sorted(maps.Keys(s.users)) {
		out = append(out, s.users[n].clone())
	}
	return out
}

// AddUser seeds a user with a password (Active is taken from u; Owner
// defaults to the administrator). It fails if the name is taken.
func (s *Server) AddUser(u User, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.Name]; ok {
		return &ispmanager.Error{Panel: "ispmanager", Func: "AddUser", Type: mgr5.TypeExists, Object: "user", Value: u.Name}
	}
	c := u.clone()
	if c.Owner == "" {
		c.Owner = s.admin
	}
	s.users[u.Name] = &c
	if c.Domain != "" {
		s.webdomains[c.Domain] = c.Name
	}
	s.core.AddAccount(mgr5fake.Account{Name: u.Name, Password: password, Level: mgr5fake.LevelUser, Disabled: !c.Active})
	return nil
}

// AddWebDomain records an existing WWW domain, so that creating a user
// with it answers exists/name.
func (s *Server) AddWebDomain(domain, owner string) {
	s.mu.Lock()
	s.webdomains[strings.ToLower(domain)] = owner
	s.mu.Unlock()
}

// WebDomains returns a copy of the WWW domains (domain → owner).
func (s *Server) WebDomains() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.webdomains)
}

// SetUsage sets the simulated usage of a limit ("db" or "limit_db") for a
// user; user.edit refuses to set that limit below it.
func (s *Server) SetUsage(user, limit string, value int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[user]
	if !ok {
		return &ispmanager.Error{Panel: "ispmanager", Func: "SetUsage", Type: mgr5.TypeMissed, Object: "user", Value: user}
	}
	if u.Usage == nil {
		u.Usage = map[string]int{}
	}
	u.Usage[strings.TrimPrefix(limit, ispmanager.LimitPrefix)] = value
	return nil
}

// CheckPassword reports whether password is the current password of the
// login called user.
func (s *Server) CheckPassword(user, password string) bool {
	a, ok := s.core.Account(user)
	return ok && a.Password == password
}

func (s *Server) register() {
	s.core.Handle("user", mgr5fake.AdminOnly, s.userList)
	s.core.Handle("user.add.finish", mgr5fake.AdminOnly, s.userCreate)
	s.core.Handle("user.edit", mgr5fake.AdminOnly, s.userEdit)
	s.core.Handle("user.suspend", mgr5fake.AdminOnly, func(c *mgr5fake.Ctx) (*mgr5.Node, error) { return s.userGroup(c, "suspend") })
	s.core.Handle("user.resume", mgr5fake.AdminOnly, func(c *mgr5fake.Ctx) (*mgr5.Node, error) { return s.userGroup(c, "resume") })
	s.core.Handle("user.delete", mgr5fake.AdminOnly, func(c *mgr5fake.Ctx) (*mgr5.Node, error) { return s.userGroup(c, "delete") })
	s.core.Handle("usrparam", mgr5fake.AnyUser, s.usrparam)
	s.core.Handle("userstat", mgr5fake.AnyUser, s.userstat)
	s.core.Handle("preset", mgr5fake.AdminOnly, s.presetList)
	s.core.Handle("preset.edit", mgr5fake.AdminOnly, s.presetEdit)
	s.core.Handle("license.info", mgr5fake.AnyUser, s.licenseInfo)
	s.core.Handle("user.add", mgr5fake.AdminOnly, s.userAdd)
	s.core.Handle("webdomain", mgr5fake.AnyUser, func(c *mgr5fake.Ctx) (*mgr5.Node, error) { return s.domainList(c, s.webdomains) })
	s.core.Handle("emaildomain", mgr5fake.AnyUser, func(c *mgr5fake.Ctx) (*mgr5.Node, error) { return s.domainList(c, s.emaildomains) })
	s.core.Handle("domain", mgr5fake.AnyUser, func(c *mgr5fake.Ctx) (*mgr5.Node, error) { return s.domainList(c, s.dnsdomains) })
	s.core.Handle("ipaddr", mgr5fake.AnyUser, s.ipaddrList)
	s.core.Handle("ipaddr.edit", mgr5fake.AdminOnly, s.ipaddrEdit)
}

// SetDiskQuotas turns the server's disk quotas on (the default) or off.
// With quotas off the user form has no limit_quota field, as on a real
// panel ("this field is available if disk quotas are enabled"), so a
// quota sent at creation is a parameter the panel ignores.
func (s *Server) SetDiskQuotas(on bool) {
	s.mu.Lock()
	s.diskQuotas = on
	s.mu.Unlock()
}

// Addresses returns a copy of the addresses, the shared one first.
func (s *Server) Addresses() []Address {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.addrs)
}

// EmailDomains returns a copy of the mail domains (domain → owner).
func (s *Server) EmailDomains() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.emaildomains)
}

// DNSDomains returns a copy of the DNS domains (domain → owner).
func (s *Server) DNSDomains() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.dnsdomains)
}

// owned reports whether an object of owner is visible to the call: an
// administrator without su sees everything, anyone else their own.
func owned(c *mgr5fake.Ctx, owner string) bool {
	if c.IsAdmin() && (c.Req.Su == "" || c.Req.Su == c.Caller.Name) {
		return true
	}
	return owner == c.User.Name
}

func (s *Server) domainList(c *mgr5fake.Ctx, m map[string]string) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc := mgr5.NewDoc()
	for _, d := range slices.Sorted(maps.Keys(m)) {
		if !owned(c, m[d]) {
			continue
		}
		e := doc.Elem()
		e.Add("name", d)
		e.Add("owner", m[d])
		e.Add("active", "on")
	}
	return doc, nil
}

func (s *Server) ipaddrList(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc := mgr5.NewDoc()
	for _, a := range s.addrs {
		// A user sees the shared address and their own.
		if a.Owner != "" && !owned(c, a.Owner) {
			continue
		}
		e := doc.Elem()
		e.Add("name", a.Addr)
		e.Add("iprole", a.Role)
		if a.Owner != "" {
			e.Add("owner", a.Owner)
		}
	}
	return doc, nil
}

// allocAddr hands out the next dedicated address to owner; s.mu is held.
func (s *Server) allocAddr(owner, family string) (Address, *mgr5.Error) {
	if s.edition == ispmanager.EditionLite {
		return Address{}, &mgr5.Error{Type: mgr5.TypeAccess, Object: "ipaddr", Message: "Address management is not available in ISPmanager Lite"}
	}
	if family != "" && family != "ipv4" {
		return Address{}, &mgr5.Error{Type: mgr5.TypeValue, Object: "iptype", Value: family, Message: "No free address of this type"}
	}
	if s.nextAddr >= 200 {
		return Address{}, &mgr5.Error{Type: mgr5.TypeValue, Object: "name", Message: "No free address left"}
	}
	a := Address{Addr: "198.51.100." + strconv.Itoa(10+s.nextAddr), Role: "assigned", Owner: owner}
	s.nextAddr++
	s.addrs = append(s.addrs, a)
	return a, nil
}

// ipaddrEdit adds a dedicated address to an account, as the WHMCS module
// does: sok=ok, iprole=assigned, iptype, name empty (a free one), owner.
func (s *Server) ipaddrEdit(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	r := c.Req
	if !r.Sok {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "sok", Message: "the fake models only adding an address"}
	}
	if role := r.Get("iprole"); role != "assigned" {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "iprole", Value: role}
	}
	if n := r.Get("name"); n != "" {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "name", Value: n, Message: "the fake hands out free addresses only"}
	}
	r.Get("node") // "*" or a cluster node; one node here
	owner := r.Get("owner")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[owner]; !ok {
		return nil, missedUser(owner)
	}
	a, err := s.allocAddr(owner, r.Get("iptype"))
	if err != nil {
		return nil, err
	}
	doc := mgr5.NewDoc().OK()
	doc.Add("id", a.Addr)
	return doc, nil
}

// userAdd is user.add, the first step of the new-user wizard that the
// Blesta, FOSSBilling and other modules use: it creates the user like
// user.add.finish (addinfo=off skips the optional second step).
func (s *Server) userAdd(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	c.Req.Get("addinfo")
	c.Req.Get("status")
	c.Req.Get("comment")
	c.Req.Get("desc")
	return s.userCreate(c)
}

func missedUser(name string) *mgr5.Error {
	return &mgr5.Error{Type: mgr5.TypeMissed, Object: "user", Value: name, Message: "User '" + name + "' not found"}
}

func (s *Server) userList(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc := mgr5.NewDoc()
	for _, n := range slices.Sorted(maps.Keys(s.users)) {
		u := s.users[n]
		e := doc.Elem()
		e.Add("name", u.Name)
		e.Add("fullname", u.FullName)
		if s.edition != ispmanager.EditionLite {
			e.Add("owner", u.Owner)
		}
		e.Add("level", strconv.Itoa(mgr5fake.LevelUser))
		e.Add("active", onOff(u.Active))
		q, _ := u.Limits.Get("quota")
		e.Add("quota_total", q)
		e.Add("quota_used", strconv.Itoa(u.Usage["quota"]))
	}
	doc.Add("metadata", "").Attr("name", "user").Attr("type", "list").Attr("key", "name")
	return doc, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// domainParam reads <kind>_name, unless <kind>=off; "" means none.
func domainParam(r *mgr5.ServerRequest, kind string) string {
	if r.Get(kind) == "off" {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(r.Get(kind+"_name"), "."))
}

// sentLimits parses the limit_* parameters of a request. With disk quotas
// off the panel has no limit_quota field: the fake does not read it.
func sentLimits(r *mgr5.ServerRequest, quotas bool) (ispmanager.Limits, *mgr5.Error) {
	vals := map[string]string{}
	for k := range r.Params {
		if k == ispmanager.LimitPrefix+"quota" && !quotas {
			continue
		}
		if strings.HasPrefix(k, ispmanager.LimitPrefix) {
			if _, err := ispmanager.ParseLimits(map[string]string{k: r.Get(k)}); err != nil {
				return ispmanager.Limits{}, &mgr5.Error{Type: mgr5.TypeValue, Object: k, Value: r.Get(k)}
			}
			vals[k] = r.Get(k)
		}
	}
	l, err := ispmanager.ParseLimits(vals)
	if err != nil {
		return ispmanager.Limits{}, &mgr5.Error{Type: mgr5.TypeValue, Object: "limit", Message: err.Error()}
	}
	return l, nil
}

func validName(name string) bool {
	if name == "" || len(name) > 32 {
		return false
	}
	for i, c := range name {
		letter := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if i == 0 && !letter {
			return false
		}
		if !letter && (c < '0' || c > '9') && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func checkPassword(r *mgr5.ServerRequest, required bool) (string, *mgr5.Error) {
	pw := r.Get("passwd")
	if pw == "" {
		if required {
			return "", &mgr5.Error{Type: mgr5.TypeValue, Object: "passwd", Message: "The password is required"}
		}
		return "", nil
	}
	if r.Has("confirm") && r.Get("confirm") != pw {
		return "", &mgr5.Error{Type: mgr5.TypeValue, Object: "confirm", Message: "The passwords do not match"}
	}
	return pw, nil
}

// presetLimits returns the limits of preset name, creating it unlimited
// when missing (created reports that; the caller commits it).
func (s *Server) presetLimits(name string) (l ispmanager.Limits, created bool) {
	if p, ok := s.presets[name]; ok {
		return p.Clone(), false
	}
	return ispmanager.UnlimitedLimits(), true
}

func (s *Server) userCreate(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	r := c.Req
	if !r.Sok {
		// The blank new-user form: its limit_* fields are those the panel
		// accepts (limit_quota only while disk quotas are on).
		doc := mgr5.NewDoc()
		for _, f := range []string{"name", "fullname", "preset", "ftp_user_name", "webdomain_name", "emaildomain_name"} {
			doc.Add(f, "")
		}
		s.mu.Lock()
		quotas := s.diskQuotas
		s.mu.Unlock()
		for _, k := range ispmanager.LimitNames() {
			if k == "quota" && !quotas {
				continue
			}
			doc.Add(ispmanager.LimitPrefix+k, "")
		}
		return doc, nil
	}
	name := r.Get("name")
	if !validName(name) {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "name", Value: name, Message: "Invalid user name"}
	}
	pw, perr := checkPassword(r, true)
	if perr != nil {
		return nil, perr
	}
	s.mu.Lock()
	quotas := s.diskQuotas
	s.mu.Unlock()
	sent, lerr := sentLimits(r, quotas)
	if lerr != nil {
		return nil, lerr
	}
	// The site and the mail domain come from webdomain_name and
	// emaildomain_name; webdomain=off / emaildomain=off say "none" (the
	// WHMCS module sends them when the domain already exists).
	web := domainParam(r, "webdomain")
	mail := domainParam(r, "emaildomain")
	ftp := r.Get("ftp_user_name")
	if ftp != "" && !validName(ftp) {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "ftp_user_name", Value: ftp}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[name]; ok {
		return nil, &mgr5.Error{Type: mgr5.TypeExists, Object: "user", Value: name, Message: "User '" + name + "' already exists"}
	}
	if _, ok := s.core.Account(name); ok {
		return nil, &mgr5.Error{Type: mgr5.TypeExists, Object: "user", Value: name, Message: "User '" + name + "' already exists"}
	}
	preset := r.Get("preset")
	var base ispmanager.Limits
	var newPreset bool
	if preset != "" {
		base, newPreset = s.presetLimits(preset)
	}
	eff := ispmanager.MergeLimits(base, sent)
	u := &User{
		Name: name, FullName: r.Get("fullname"), Email: r.Get("email"), Owner: c.Caller.Name,
		Preset: preset, Active: true, Limits: eff, Usage: map[string]int{},
		IPSource: r.Get("ipsrc"), IPType: r.Get("iptype"),
	}
	u.FTPUser = ftp
	allowed := func(limit string) bool { n, set := eff.Int(limit); return !set || n != 0 }
	if web != "" && allowed("webdomains") {
		if _, taken := s.webdomains[web]; taken {
			return nil, &mgr5.Error{Type: mgr5.TypeExists, Object: "name", Value: web, Message: "WWW domain '" + web + "' already exists"}
		}
	}
	if mail != "" && allowed("emaildomains") {
		if _, taken := s.emaildomains[mail]; taken {
			return nil, &mgr5.Error{Type: mgr5.TypeExists, Object: "name", Value: mail, Message: "Mail domain '" + mail + "' already exists"}
		}
	}
	if u.IPSource == "auto" {
		if _, err := s.allocAddr(name, u.IPType); err != nil {
			return nil, err
		}
	}
	// BILLmanager: the WWW, DNS and mail domains are created with the
	// user; with a WWW-domain limit of 0 the WWW domain is skipped.
	if web != "" && allowed("webdomains") {
		s.webdomains[web] = name
		u.Usage["webdomains"] = 1
	}
	if mail != "" && allowed("emaildomains") {
		s.emaildomains[mail] = name
		u.Usage["emaildomains"] = 1
	}
	if dns := cmp.Or(web, mail); dns != "" && allowed("domains") {
		if _, taken := s.dnsdomains[dns]; !taken {
			s.dnsdomains[dns] = name
			u.Usage["domains"] = 1
		}
	}
	u.Domain = cmp.Or(web, mail)
	if newPreset {
		s.presets[preset] = ispmanager.UnlimitedLimits()
	}
	s.users[name] = u
	s.core.AddAccount(mgr5fake.Account{Name: name, Password: pw, Level: mgr5fake.LevelUser})
	doc := mgr5.NewDoc().OK()
	doc.Add("id", name)
	return doc, nil
}

func (s *Server) userEdit(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	r := c.Req
	if r.Elid == "" {
		return s.userCreate(c)
	}
	name := r.Elid
	if !r.Sok {
		s.mu.Lock()
		defer s.mu.Unlock()
		u, ok := s.users[name]
		if !ok {
			return nil, missedUser(name)
		}
		doc := mgr5.NewDoc()
		doc.Add("name", u.Name)
		doc.Add("fullname", u.FullName)
		doc.Add("email", u.Email)
		doc.Add("preset", u.Preset)
		vals := u.Limits.Values()
		for _, k := range slices.Sorted(maps.Keys(vals)) {
			doc.Add(ispmanager.LimitPrefix+k, vals[k])
		}
		return doc, nil
	}
	pw, perr := checkPassword(r, false)
	if perr != nil {
		return nil, perr
	}
	s.mu.Lock()
	quotas := s.diskQuotas
	s.mu.Unlock()
	sent, lerr := sentLimits(r, quotas)
	if lerr != nil {
		return nil, lerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return nil, missedUser(name)
	}
	eff := u.Limits
	preset := u.Preset
	var newPreset bool
	if r.Has("preset") {
		preset = r.Get("preset")
		var base ispmanager.Limits
		if preset != "" {
			base, newPreset = s.presetLimits(preset)
		}
		eff = ispmanager.MergeLimits(base, sent)
	} else {
		eff = ispmanager.MergeLimits(eff, sent)
	}
	for _, k := range slices.Sorted(maps.Keys(u.Usage)) {
		used := u.Usage[k]
		n, set := eff.Int(k)
		old, oldSet := u.Limits.Int(k)
		if oldSet && old == n {
			continue // unchanged limits are not re-checked
		}
		if set && n != ispmanager.Unlimited && used > n {
			return belowUsage(r, k, n, used), nil
		}
	}
	if newPreset {
		s.presets[preset] = ispmanager.UnlimitedLimits()
	}
	u.Preset, u.Limits = preset, eff
	if r.Has("fullname") {
		u.FullName = r.Get("fullname")
	}
	if r.Has("email") {
		u.Email = r.Get("email")
	}
	if pw != "" {
		s.setPassword(name, pw)
	}
	return mgr5.NewDoc().OK(), nil
}

// belowUsage renders the refusal to set limit below usage: a doc.error of
// type value on limit_<name>, with a usage param.
func belowUsage(r *mgr5.ServerRequest, limit string, requested, used int) *mgr5.Node {
	e := &mgr5.Error{
		Type: mgr5.TypeValue, Object: ispmanager.LimitPrefix + limit, Value: strconv.Itoa(requested),
		Message: "The limit '" + ispmanager.LimitPrefix + limit + "' cannot be lower than the current usage (" + strconv.Itoa(used) + ")",
	}
	doc := mgr5.ErrorDoc(e, r.Lang)
	doc.Children[0].Add("param", strconv.Itoa(used)).Attr("name", "usage")
	return doc
}

// setPassword changes a login's password; s.mu must be held.
func (s *Server) setPassword(name, pw string) {
	a, ok := s.core.Account(name)
	if !ok {
		return
	}
	a.Password = pw
	s.core.AddAccount(a)
}

func (s *Server) userGroup(c *mgr5fake.Ctx, op string) (*mgr5.Node, error) {
	names := c.Req.Elids()
	if len(names) == 0 {
		return nil, &mgr5.Error{Type: mgr5.TypeMissed, Object: "elid", Message: "No user given"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		if _, ok := s.users[n]; !ok {
			return nil, missedUser(n)
		}
	}
	for _, n := range names {
		u := s.users[n]
		a, _ := s.core.Account(n)
		switch op {
		case "suspend":
			u.Active = false
			a.Disabled = true
		case "resume":
			u.Active = true
			a.Disabled = false
		case "delete":
			delete(s.users, n)
			for d, owner := range s.webdomains {
				if owner == n {
					delete(s.webdomains, d)
				}
			}
			a.Disabled = true
			a.Password = mgr5.RandomKey(32)
		}
		if a.Name != "" {
			s.core.AddAccount(a)
		}
	}
	return mgr5.NewDoc().OK(), nil
}

func (s *Server) usrparam(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	name := c.User.Name
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[name]
	if _, ok := s.core.Account(name); !ok && u == nil {
		return nil, missedUser(name)
	}
	if !c.Req.Sok {
		doc := mgr5.NewDoc()
		doc.Add("name", name)
		if u != nil {
			doc.Add("email", u.Email)
		}
		return doc, nil
	}
	// JBS resends the form's other fields with the password: atype (from
	// which addresses the user may log in; "atany" = any) and the pressed
	// button. The fake keeps neither but checks their values.
	if a := c.Req.Get("atype"); a != "" && a != "atany" && a != "atallow" && a != "atdeny" {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "atype", Value: a}
	}
	if b := c.Req.Get("clicked_button"); b != "" && b != "ok" {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "clicked_button", Value: b}
	}
	pw, perr := checkPassword(c.Req, false)
	if perr != nil {
		return nil, perr
	}
	if pw != "" {
		s.setPassword(name, pw)
	}
	if u != nil && c.Req.Has("email") {
		u.Email = c.Req.Get("email")
	}
	return mgr5.NewDoc().OK(), nil
}

func (s *Server) userstat(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[c.User.Name]
	if !ok {
		return nil, missedUser(c.User.Name)
	}
	doc := mgr5.NewDoc()
	for _, k := range ispmanager.LimitNames() {
		if !ispmanager.IsNumericLimit(k) {
			continue
		}
		e := doc.Elem()
		e.Add("name", k).Attr("orig", k)
		total, _ := u.Limits.Get(k)
		e.Add("usages_total", total)
		e.Add("usages_used", strconv.Itoa(u.Usage[k]))
	}
	return doc, nil
}

func (s *Server) presetList(*mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc := mgr5.NewDoc()
	for _, n := range slices.Sorted(maps.Keys(s.presets)) {
		doc.Elem().Add("name", n)
	}
	return doc, nil
}

func missedPreset(name string) *mgr5.Error {
	return &mgr5.Error{Type: mgr5.TypeMissed, Object: "preset", Value: name, Message: "Template '" + name + "' not found"}
}

func (s *Server) presetEdit(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	r := c.Req
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Elid == "" && !r.Sok {
		doc := mgr5.NewDoc()
		doc.Add("name", "")
		return doc, nil
	}
	sent, lerr := sentLimits(r, true)
	if lerr != nil {
		return nil, lerr
	}
	if r.Elid == "" {
		name := r.Get("name")
		if strings.TrimSpace(name) == "" || strings.Contains(name, ",") {
			return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "name", Value: name, Message: "Invalid template name"}
		}
		if _, ok := s.presets[name]; ok {
			return nil, &mgr5.Error{Type: mgr5.TypeExists, Object: "preset", Value: name, Message: "Template '" + name + "' already exists"}
		}
		s.presets[name] = ispmanager.MergeLimits(ispmanager.UnlimitedLimits(), sent)
		doc := mgr5.NewDoc().OK()
		doc.Add("id", name)
		return doc, nil
	}
	cur, ok := s.presets[r.Elid]
	if !ok {
		return nil, missedPreset(r.Elid)
	}
	if !r.Sok {
		doc := mgr5.NewDoc()
		doc.Add("name", r.Elid)
		vals := cur.Values()
		for _, k := range slices.Sorted(maps.Keys(vals)) {
			doc.Add(ispmanager.LimitPrefix+k, vals[k])
		}
		return doc, nil
	}
	s.presets[r.Elid] = ispmanager.MergeLimits(cur, sent)
	return mgr5.NewDoc().OK(), nil
}

func (s *Server) licenseInfo(*mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	e := s.edition
	s.mu.Unlock()
	doc := mgr5.NewDoc()
	name := "ISPmanager"
	if e != ispmanager.EditionUnknown {
		name += " " + string(e)
	}
	doc.Add("panel_name", name)
	doc.Add("mgr", "ispmgr")
	return doc, nil
}
