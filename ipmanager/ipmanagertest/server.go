// Package ipmanagertest is a fake IPmanager 5 panel for tests: a real HTTP
// server (httptest) speaking the mgr5 protocol at /ipmgr, with IP groups,
// pool ranges, allocation, release and fault injection. It is built on the
// same fake core as the other ispkit mgr5 fakes, so logins, sessions, keys,
// output formats (json, sjson, JSONdata, xml) and faults behave the same.
//
// # Model
//
// A group (the panel's "IP address group", wire name iptype) has pool
// ranges, each given as a single address, "first-last" or a CIDR prefix, and
// optionally hidden. Allocated addresses are records kept in one table for
// the whole panel, keyed by address: an address is never handed out twice,
// whatever group or range it belongs to, also under concurrent requests
// (every state change runs under one lock). A record's group is a tag: it
// can be changed to any existing group (re-typing a parked address to
// public); the address stays where it is and goes back to whichever range
// contains it when released.
//
// # Functions and the behaviour chosen for them
//
// The public facts stop at the ip list and ip.edit; the
// fake implements the project's choices, which the ipmanager client
// documents too:
//
//   - ip (list): rows ip, family, iptype, domain, note for every allocated
//     address. Optional filters iptype, domain, family and state
//     (used = the default, free, all). Free rows (state free or all) are
//     pool addresses without a record, marked with the flag "free" (and
//     "hidden" when they come from a hidden range); at most MaxFreeRows
//     (default 1024) free rows are listed per call, lowest addresses first.
//   - ip.edit without sok: the form of an address (elid = the address), or a
//     blank form without elid. Fields ip, family, iptype, domain, note and a
//     select list of groups.
//   - ip.edit sok=ok without elid: allocate. Params family (ipv4|ipv6;
//     default: that of ip, else ipv4), iptype (required), domain, note, ip.
//     Without ip the lowest free address of the family in the group's
//     non-hidden ranges is taken (ranges in the order they were added). With
//     ip that exact address is taken if it lies in any range of the group,
//     hidden or not. The answer is ok plus id = ip = the address (and the
//     other fields).
//   - ip.edit sok=ok elid=<ip>: change domain, note and/or iptype (only the
//     parameters sent are changed). ip and family cannot change.
//   - ip.delete elid=<ip>[, <ip>…]: release; all or nothing.
//   - iptype (list): groups, with name, comment, used, free (free addresses
//     of non-hidden ranges, saturated at 2^63-1) and the flag "parking".
//
// Errors (doc.error, HTTP 200):
//
//   - no free address: type "limit", object "iptype", value = the group,
//     msg "No free ipv4 address left in the group 'public'";
//   - explicit address already allocated: type "exists", object "ip";
//   - explicit address outside the group's ranges, bad address text, family
//     mismatch, bad domain: type "value" with the field as object;
//   - unknown group: type "missed", object "iptype"; unknown address: type
//     "missed", object "elid".
//
// Every authenticated account may use every function and every group (the
// per-user pools and allowed groups of the real panel are not modelled).
//
// Like every ispkit fake it loads a JSON-shaped SeedData (Load; DefaultSeed
// is the default groups), dumps its state (Dump), empties itself (Reset;
// WithoutSeed starts with no groups) and serves on a listener of the
// caller's (Handler).
package ipmanagertest

import (
	"crypto/x509"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/internal/mgr5fake"
	"github.com/ispkit/ispkit/internal/wire"
)

// Path is the panel entry point served by the fake.
const Path = "/ipmgr"

// Default logins. The user-level account is what integrations use
// (IPmanager docs, "Manage the groups of IP addresses"); the administrator exists for tests that need one.
const (
	DefaultUser          = "billing"
	DefaultPassword      = "Billing-Pa55-secret"
	DefaultAdmin         = "admin"
	DefaultAdminPassword = "Admin-Pa55-secret"
)

// Default groups created when no WithGroup or WithParkingGroup option is
// given: "public" with 198.51.100.0/24 and 2001:db8:100::/64, and the
// parking group "parking" with 10.255.0.0/24.
const (
	DefaultPublicGroup  = "public"
	DefaultParkingGroup = "parking"
)

// DefaultMaxFreeRows bounds the free rows of one ip list call.
const DefaultMaxFreeRows = 1024

type groupSpec struct {
	name, comment string
	parking       bool
	ranges        []rangeSpec
}

type rangeSpec struct {
	spec   string
	hidden bool
}

type config struct {
	groups   []*groupSpec
	accounts []mgr5fake.Account
	tls      bool
	maxFree  int
	records  []Address
	noSeed   bool
}

func (c *config) group(name string) *groupSpec {
	for _, g := range c.groups {
		if g.name == name {
			return g
		}
	}
	g := &groupSpec{name: name}
	c.groups = append(c.groups, g)
	return g
}

// Option configures a Server.
type Option func(*config)

// WithGroup adds a group (or more ranges to it) whose ranges are used for
// automatic allocation. A range is a single address, "first-last" or a CIDR
// prefix. NewServer panics on a malformed range.
func WithGroup(name string, ranges ...string) Option {
	return func(c *config) {
		g := c.group(name)
		for _, r := range ranges {
			g.ranges = append(g.ranges, rangeSpec{spec: r})
		}
	}
}

// WithHiddenRange adds a hidden range to a group: its addresses are never
// chosen by automatic allocation, but can be allocated by naming them.
func WithHiddenRange(group string, ranges ...string) Option {
	return func(c *config) {
		g := c.group(group)
		for _, r := range ranges {
			g.ranges = append(g.ranges, rangeSpec{spec: r, hidden: true})
		}
	}
}

// WithParkingGroup adds a group marked as a parking group (the group whose
// usually private addresses servers hold while they wait for a buyer). It
// allocates like any other group; the mark shows in the iptype list.
func WithParkingGroup(name string, ranges ...string) Option {
	return func(c *config) {
		WithGroup(name, ranges...)(c)
		g := c.group(name)
		g.parking = true
		if g.comment == "" {
			g.comment = "parking"
		}
	}
}

// WithGroupComment sets the comment shown for a group.
func WithGroupComment(group, comment string) Option {
	return func(c *config) { c.group(group).comment = comment }
}

// WithAccount adds a user-level login (besides the default ones).
func WithAccount(name, password string) Option {
	return func(c *config) {
		c.accounts = append(c.accounts, mgr5fake.Account{Name: name, Password: password, Level: mgr5fake.LevelUser})
	}
}

// WithAllocated preloads allocated addresses (for example servers already
// running). NewServer panics when one is outside its group or taken twice.
func WithAllocated(addrs ...Address) Option {
	return func(c *config) { c.records = append(c.records, addrs...) }
}

// WithMaxFreeRows bounds the free rows of one ip list call (default 1024).
func WithMaxFreeRows(n int) Option { return func(c *config) { c.maxFree = n } }

// WithTLS serves HTTPS with a self-signed certificate (see CertPool).
func WithTLS() Option { return func(c *config) { c.tls = true } }

// Address is an allocated address as the fake stores it.
type Address struct {
	IP     netip.Addr
	Family string // "ipv4" or "ipv6"
	Group  string
	Domain string
	Note   string
}

// Range is a pool range as the fake stores it.
type Range struct {
	Spec        string
	First, Last netip.Addr
	Hidden      bool
}

// Group is a group as the fake stores it.
type Group struct {
	Name    string
	Comment string
	Parking bool
	Ranges  []Range
	// Used counts the allocated addresses tagged with this group.
	Used int
}

type group struct {
	name, comment string
	parking       bool
	ranges        []*addrRange
}

type record struct {
	Address
}

// Server is a running fake IPmanager.
type Server struct {
	// Controls are the faults, call log, sessions and strict mode every
	// ispkit fake offers (Inject, Calls, Strict, ...).
	mgr5fake.Controls
	core    *mgr5fake.Server
	maxFree int

	mu      sync.Mutex
	groups  map[string]*group
	order   []string
	records map[netip.Addr]*record
}

// NewServer starts a fake IPmanager. Close it when done. Without group
// options it has the default "public" and "parking" groups.
func NewServer(opts ...Option) *Server {
	cfg := &config{maxFree: DefaultMaxFreeRows}
	for _, o := range opts {
		o(cfg)
	}
	if len(cfg.groups) == 0 && !cfg.noSeed {
		WithGroup(DefaultPublicGroup, "198.51.100.0/24", "2001:db8:100::/64")(cfg)
		WithParkingGroup(DefaultParkingGroup, "10.255.0.0/24")(cfg)
	}
	s := &Server{
		core:    mgr5fake.New(Path),
		maxFree: cfg.maxFree,
		groups:  map[string]*group{},
		records: map[netip.Addr]*record{},
	}
	s.Controls = mgr5fake.NewControls(s.core, wire.IPmanager)
	for _, gs := range cfg.groups {
		if err := s.addGroup(gs); err != nil {
			panic("ipmanagertest: " + err.Error())
		}
	}
	for _, a := range cfg.records {
		if _, err := s.allocate(a.Group, a.Family, a.IP.String(), a.Domain, a.Note); err != nil {
			panic("ipmanagertest: WithAllocated " + a.IP.String() + ": " + err.Error())
		}
	}
	for _, a := range cfg.accounts {
		s.core.AddAccount(a)
	}
	s.addDefaultAccounts()
	s.core.Handle("ip", mgr5fake.AnyUser, s.handleList)
	s.core.Handle("ip.edit", mgr5fake.AnyUser, s.handleEdit)
	s.core.Handle("ip.delete", mgr5fake.AnyUser, s.handleDelete)
	s.core.Handle("iptype", mgr5fake.AnyUser, s.handleGroups)
	if cfg.tls {
		s.core.StartTLS()
	} else {
		s.core.Start()
	}
	return s
}

func (s *Server) addGroup(gs *groupSpec) error {
	if strings.TrimSpace(gs.name) == "" {
		return fmt.Errorf("empty group name")
	}
	g := &group{name: gs.name, comment: gs.comment, parking: gs.parking}
	for _, rs := range gs.ranges {
		r, err := parseRange(rs.spec)
		if err != nil {
			return fmt.Errorf("group %s: %v", gs.name, err)
		}
		r.hidden = rs.hidden
		g.ranges = append(g.ranges, r)
	}
	s.groups[g.name] = g
	s.order = append(s.order, g.name)
	return nil
}

// AddRange adds a range to a group at run time, creating the group if
// needed.
func (s *Server) AddRange(groupName, spec string, hidden bool) error {
	r, err := parseRange(spec)
	if err != nil {
		return err
	}
	r.hidden = hidden
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupName]
	if !ok {
		g = &group{name: groupName}
		s.groups[groupName] = g
		s.order = append(s.order, groupName)
	}
	g.ranges = append(g.ranges, r)
	return nil
}

// URL returns the panel entry point, e.g. http://127.0.0.1:port/ipmgr.
func (s *Server) URL() string { return s.core.URL() }

// Close stops the server.
func (s *Server) Close() { s.core.Close() }

// Certificate returns the TLS certificate (nil without WithTLS).
func (s *Server) Certificate() *x509.Certificate { return s.core.HTTPServer().Certificate() }

// CertPool returns a pool holding the TLS certificate (nil without WithTLS).
func (s *Server) CertPool() *x509.CertPool {
	c := s.Certificate()
	if c == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}

// Addresses returns a copy of the allocated addresses, sorted by address.
func (s *Server) Addresses() []Address {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Address, 0, len(s.records))
	for _, r := range s.records {
		out = append(out, r.Address)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP.Less(out[j].IP) })
	return out
}

// Address returns a copy of one allocated address.
func (s *Server) Address(ip netip.Addr) (Address, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[ip.Unmap()]
	if !ok {
		return Address{}, false
	}
	return r.Address, true
}

// Groups returns a copy of the groups in the order they were added.
func (s *Server) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Group, 0, len(s.order))
	for _, name := range s.order {
		g := s.groups[name]
		gg := Group{Name: g.name, Comment: g.comment, Parking: g.parking, Used: s.usedLocked(g.name)}
		for _, r := range g.ranges {
			gg.Ranges = append(gg.Ranges, Range{Spec: r.spec, First: r.first, Last: r.last, Hidden: r.hidden})
		}
		out = append(out, gg)
	}
	return out
}

// FreeCount returns how many addresses of a group automatic allocation can
// still hand out (non-hidden ranges only), saturated at math.MaxInt64.
func (s *Server) FreeCount(groupName string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupName]
	if !ok {
		return 0
	}
	return s.freeLocked(g)
}

func (s *Server) usedLocked(name string) int {
	n := 0
	for _, r := range s.records {
		if r.Group == name {
			n++
		}
	}
	return n
}

func (s *Server) freeLocked(g *group) int64 {
	var total int64
	for _, r := range g.ranges {
		if r.hidden {
			continue
		}
		n := r.size()
		for a := range s.records {
			if r.contains(a) {
				n--
			}
		}
		if total > math.MaxInt64-n {
			return math.MaxInt64
		}
		total += n
	}
	return total
}

// --- panel functions ---

func perr(typ, object, value, msg string) *mgr5.Error {
	return &mgr5.Error{Type: typ, Object: object, Value: value, Message: msg}
}

func normFamily(f string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(f)) {
	case "ipv4", "4", "inet":
		return "ipv4", true
	case "ipv6", "6", "inet6":
		return "ipv6", true
	}
	return "", false
}

func familyOf(a netip.Addr) string {
	if a.Is4() {
		return "ipv4"
	}
	return "ipv6"
}

func validDomain(d string) bool {
	return !strings.ContainsAny(d, " \t\r\n/\\?#") && len(d) <= 253
}

// allocate takes an address (ipText non-empty) or the next free one. The
// caller must not hold s.mu.
func (s *Server) allocate(groupName, family, ipText, domain, note string) (Address, error) {
	if groupName == "" {
		return Address{}, perr(mgr5.TypeValue, "iptype", "", "The IP address group must be given")
	}
	if !validDomain(domain) {
		return Address{}, perr(mgr5.TypeValue, "domain", domain, "")
	}
	var fixed netip.Addr
	if ipText != "" {
		a, err := parseAddr(ipText)
		if err != nil {
			return Address{}, perr(mgr5.TypeValue, "ip", ipText, "Invalid IP address '"+ipText+"'")
		}
		fixed = a
	}
	if family == "" {
		family = "ipv4"
		if fixed.IsValid() {
			family = familyOf(fixed)
		}
	} else {
		f, ok := normFamily(family)
		if !ok {
			return Address{}, perr(mgr5.TypeValue, "family", family, "")
		}
		family = f
	}
	if fixed.IsValid() && familyOf(fixed) != family {
		return Address{}, perr(mgr5.TypeValue, "family", family, "The address "+fixed.String()+" is not "+family)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupName]
	if !ok {
		return Address{}, perr(mgr5.TypeMissed, "iptype", groupName, "The IP address group '"+groupName+"' not found")
	}
	var got netip.Addr
	if fixed.IsValid() {
		if _, taken := s.records[fixed]; taken {
			return Address{}, perr(mgr5.TypeExists, "ip", fixed.String(), "The IP address '"+fixed.String()+"' is already allocated")
		}
		in := slices.ContainsFunc(g.ranges, func(r *addrRange) bool { return r.contains(fixed) })
		if !in {
			return Address{}, perr(mgr5.TypeValue, "ip", fixed.String(), "The IP address '"+fixed.String()+"' is not in the pool of the group '"+groupName+"'")
		}
		got = fixed
	} else {
		for _, r := range g.ranges {
			if r.hidden || r.family() != family {
				continue
			}
			if a, ok := r.next(s.records); ok {
				got = a
				break
			}
		}
		if !got.IsValid() {
			return Address{}, perr(mgr5.TypeLimit, "iptype", groupName, "No free "+family+" address left in the group '"+groupName+"'")
		}
	}
	rec := &record{Address{IP: got, Family: family, Group: groupName, Domain: domain, Note: note}}
	s.records[got] = rec
	return rec.Address, nil
}

func addressFields(n *mgr5.Node, a Address) {
	n.Add("ip", a.IP.String())
	n.Add("family", a.Family)
	n.Add("iptype", a.Group)
	n.Add("domain", a.Domain)
	n.Add("note", a.Note)
}

func (s *Server) handleList(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	q := c.Req
	groupF, domainF := q.Get("iptype"), strings.ToLower(q.Get("domain"))
	familyF := ""
	if f := q.Get("family"); f != "" {
		ff, ok := normFamily(f)
		if !ok {
			return nil, perr(mgr5.TypeValue, "family", f, "")
		}
		familyF = ff
	}
	state := q.Get("state")
	if state == "" {
		state = "used"
	}
	if state != "used" && state != "free" && state != "all" {
		return nil, perr(mgr5.TypeValue, "state", state, "")
	}
	doc := mgr5.NewDoc()
	s.mu.Lock()
	defer s.mu.Unlock()
	if groupF != "" {
		if _, ok := s.groups[groupF]; !ok {
			return nil, perr(mgr5.TypeMissed, "iptype", groupF, "")
		}
	}
	if state != "free" {
		recs := make([]Address, 0, len(s.records))
		for _, r := range s.records {
			if (groupF == "" || r.Group == groupF) && (domainF == "" || strings.ToLower(r.Domain) == domainF) &&
				(familyF == "" || r.Family == familyF) {
				recs = append(recs, r.Address)
			}
		}
		sort.Slice(recs, func(i, j int) bool { return recs[i].IP.Less(recs[j].IP) })
		for _, a := range recs {
			addressFields(doc.Elem(), a)
		}
	}
	if state != "used" && domainF == "" {
		seen := map[netip.Addr]bool{}
		n := 0
	groups:
		for _, name := range s.order {
			if groupF != "" && name != groupF {
				continue
			}
			for _, r := range s.groups[name].ranges {
				if familyF != "" && r.family() != familyF {
					continue
				}
				for a := r.cursor; a.IsValid() && !r.last.Less(a); a = a.Next() {
					if n >= s.maxFree {
						break groups
					}
					if _, used := s.records[a]; used || seen[a] {
						continue
					}
					seen[a] = true
					n++
					e := doc.Elem()
					e.Add("ip", a.String())
					e.Add("family", r.family())
					e.Add("iptype", name)
					e.Flag("free")
					e.FlagIf("hidden", r.hidden)
				}
			}
		}
	}
	doc.Add("metadata", "").Attr("name", "ip").Attr("type", "list").Attr("key", "ip")
	return doc, nil
}

func (s *Server) groupSlist(doc *mgr5.Node) {
	sl := doc.Add("slist", "").Attr("name", "iptype")
	for _, name := range s.order {
		sl.Add("val", name).Attr("key", name)
	}
}

func (s *Server) lookup(elid string) (netip.Addr, error) {
	a, err := parseAddr(elid)
	if err != nil {
		return netip.Addr{}, perr(mgr5.TypeValue, "elid", elid, "")
	}
	return a, nil
}

func (s *Server) handleEdit(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	q := c.Req
	if q.Elid == "" && q.Sok {
		a, err := s.allocate(q.Get("iptype"), q.Get("family"), strings.TrimSpace(q.Get("ip")), q.Get("domain"), q.Get("note"))
		if err != nil {
			return nil, err
		}
		doc := mgr5.NewDoc().OK()
		doc.Add("id", a.IP.String())
		addressFields(doc, a)
		return doc, nil
	}
	if q.Elid == "" {
		doc := mgr5.NewDoc()
		doc.Add("family", "ipv4")
		doc.Add("ip", "")
		doc.Add("iptype", "")
		doc.Add("domain", "")
		doc.Add("note", "")
		s.mu.Lock()
		s.groupSlist(doc)
		s.mu.Unlock()
		return doc, nil
	}
	ip, err := s.lookup(q.Elid)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[ip]
	if !ok {
		return nil, perr(mgr5.TypeMissed, "elid", ip.String(), "The IP address '"+ip.String()+"' not found")
	}
	if !q.Sok {
		doc := mgr5.NewDoc()
		doc.Add("elid", ip.String())
		addressFields(doc, rec.Address)
		s.groupSlist(doc)
		return doc, nil
	}
	if v := strings.TrimSpace(q.Get("ip")); v != "" {
		if a, err := parseAddr(v); err != nil || a != ip {
			return nil, perr(mgr5.TypeValue, "ip", v, "The address of a record cannot be changed")
		}
	}
	if v := q.Get("family"); v != "" {
		if f, ok := normFamily(v); !ok || f != rec.Family {
			return nil, perr(mgr5.TypeValue, "family", v, "The family of a record cannot be changed")
		}
	}
	next := rec.Address
	if q.Has("iptype") {
		g := q.Get("iptype")
		if _, ok := s.groups[g]; !ok {
			return nil, perr(mgr5.TypeMissed, "iptype", g, "The IP address group '"+g+"' not found")
		}
		next.Group = g
	}
	if q.Has("domain") {
		if !validDomain(q.Get("domain")) {
			return nil, perr(mgr5.TypeValue, "domain", q.Get("domain"), "")
		}
		next.Domain = q.Get("domain")
	}
	if q.Has("note") {
		next.Note = q.Get("note")
	}
	rec.Address = next
	doc := mgr5.NewDoc().OK()
	doc.Add("id", ip.String())
	return doc, nil
}

func (s *Server) handleDelete(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	ids := c.Req.Elids()
	if len(ids) == 0 {
		return nil, perr(mgr5.TypeMissed, "elid", "", "No IP address given")
	}
	addrs := make([]netip.Addr, 0, len(ids))
	for _, id := range ids {
		a, err := s.lookup(id)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range addrs {
		if _, ok := s.records[a]; !ok {
			return nil, perr(mgr5.TypeMissed, "elid", a.String(), "The IP address '"+a.String()+"' not found")
		}
	}
	for _, a := range addrs {
		delete(s.records, a)
		for _, g := range s.groups {
			for _, r := range g.ranges {
				r.released(a)
			}
		}
	}
	return mgr5.NewDoc().OK(), nil
}

func (s *Server) handleGroups(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	doc := mgr5.NewDoc()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range s.order {
		g := s.groups[name]
		e := doc.Elem()
		e.Add("name", g.name)
		e.Add("comment", g.comment)
		e.Add("used", strconv.Itoa(s.usedLocked(g.name)))
		e.Add("free", strconv.FormatInt(s.freeLocked(g), 10))
		e.FlagIf("parking", g.parking)
	}
	doc.Add("metadata", "").Attr("name", "iptype").Attr("type", "list").Attr("key", "name")
	return doc, nil
}
