package dcimanager5test

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/ispkit/ispkit/internal/mgr5fake"
)

type powerState int

const (
	powerOff powerState = iota
	powerOn
	powerErr
)

type timedOp struct {
	target string // "on", "off", "reboot"
	until  time.Time
}

type installOp struct {
	template, recipe, hostname string
	start, until               time.Time
	fail                       bool
}

type conn struct {
	id         int64
	typ, name  string
	port, ip   string
	on         bool
	target     bool
	busyUntil  time.Time
	inProgress bool
}

type server struct {
	id                                  int64
	name, mac, notes, typ               string
	chassis, chassisName, rack          string
	owner                               int64
	disabled, blocked, hwproblem, diag  bool
	power                               powerState
	powerOp                             *timedOp
	install                             *installOp
	operationFailed                     bool
	osTemplate, recipe, installHostname string
	installs                            int
	failNextInstall, failNextPower      bool
	mainIP                              int64
	conns                               []*conn
	traffic                             float64
}

type ipRec struct {
	id, server            int64
	addr                  netip.Addr
	group, family, domain string
}

type pool struct {
	group, family string
	prefix        netip.Prefix
}

type user struct {
	id    int64
	name  string
	level int
}

// OSTemplate is an OS template of the fake.
type OSTemplate struct {
	// ID is "<Repo>__<Name>".
	ID     string `json:"id,omitempty"`
	Repo   string `json:"repo"`
	Name   string `json:"name"`
	OSType string `json:"os_type,omitempty"`
}

// ServerSpec describes a server to add with AddServer.
type ServerSpec struct {
	Name            string `json:"name"`
	Type            string `json:"type,omitempty"`
	ChassisTemplate string `json:"chassis_template,omitempty"`
	ChassisName     string `json:"chassis_name,omitempty"`
	Rack            string `json:"rack,omitempty"`
	MAC             string `json:"mac,omitempty"`
	Notes           string `json:"notes,omitempty"`
	// Owner is a user id (0 = none).
	Owner int64 `json:"owner,omitempty"`
	// OwnerName names the owner instead of Owner (a seed file's choice:
	// no ids to count); AddServer refuses a name no user has.
	OwnerName string `json:"owner_name,omitempty"`
	// MainIP is the main address; empty allocates one from IPGroup.
	MainIP string `json:"main_ip,omitempty"`
	// IPGroup is the pool the main address comes from (default "parking");
	// when the pool does not exist the server gets no address.
	IPGroup string `json:"ip_group,omitempty"`
	// Domain of the main address (default "free.ds").
	Domain string `json:"domain,omitempty"`
	// PoweredOn starts the server powered on.
	PoweredOn bool `json:"powered_on,omitempty"`
	// OSTemplate records an installed OS.
	OSTemplate string `json:"os_template,omitempty"`
	// Blocked, HWProblem and DiagInProgress set the availability flags.
	Blocked        bool `json:"blocked,omitempty"`
	HWProblem      bool `json:"hwproblem,omitempty"`
	DiagInProgress bool `json:"diag_in_progress,omitempty"`
	// SwitchPort and IPMIAddress give the Switch and IPMI connections
	// (defaults derived from the id); NoConnections adds none.
	SwitchPort    string `json:"switch_port,omitempty"`
	IPMIAddress   string `json:"ipmi_address,omitempty"`
	NoConnections bool   `json:"no_connections,omitempty"`
}

// ServerState is a snapshot of a server for assertions.
type ServerState struct {
	ID                                           int64
	Name, MAC, Notes, Type                       string
	ChassisTemplate, ChassisName, Rack           string
	Owner                                        int64
	Hostname                                     string
	MainIP                                       string
	Disabled, Blocked, HWProblem, DiagInProgress bool
	PowerOn, PowerOff, PowerError                bool
	// PowerInProgress is true while a power operation runs.
	PowerInProgress                    bool
	InstallInProgress, OperationFailed bool
	// OSTemplate and Recipe are those of the last successful install.
	OSTemplate, Recipe string
	// InstallHostname is the hostname sent with the last install.
	InstallHostname string
	// Installs counts the installs started.
	Installs int
}

// IPState is a snapshot of an address.
type IPState struct {
	ID, ServerID                   int64
	Address, Family, Group, Domain string
	Main                           bool
}

// ConnectionState is a snapshot of a connection.
type ConnectionState struct {
	ID         int64
	Type, Name string
	Port, IP   string
	On         bool
	InProgress bool
}

// UserState is a snapshot of a user.
type UserState struct {
	ID    int64
	Name  string
	Level int
}

// HardwareFlags are the availability flags only a test can set.
type HardwareFlags struct {
	Blocked, HWProblem, DiagInProgress bool
}

// ErrNoServer is returned by the test helpers for an unknown server id.
var ErrNoServer = errors.New("dcimanager5test: no such server")

// Seed adds the default data set (NewServer calls it unless WithoutSeed;
// call it at most once):
//
//   - user "client1" / "client1-secret-pw" (level 16);
//   - pools: public 203.0.113.0/24 and 2001:db8:100::/120, parking
//     10.10.0.0/24;
//   - OS templates ISPsystem__CentOS-7-amd64, ISPsystem__Debian-12-x86_64,
//     ISPsystem__Ubuntu-22.04-amd64, ISPsystem__Windows-2019; recipes
//     #local__lamp and ISPsystem__docker;
//   - six servers: srv-01, srv-02 (chassis E3-16GB, free), srv-03 (E5-64GB,
//     free), srv-04 (E3-16GB, hwproblem), srv-05 (E3-16GB, owned by
//     client1, powered on, Debian installed, client1.example.com), srv-06
//     (type legacy-atom, no chassis template, free). Free servers have a
//     parking address with domain free.ds and are powered off; each has a
//     Switch and an IPMI connection.
func (s *Server) Seed() { must(s.Load(DefaultSeed())) }

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func (s *Server) addUser(name, password string, level int) int64 {
	s.core.AddAccount(mgr5fake.Account{Name: name, Password: password, Level: level})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextUser++
	s.users[s.nextUser] = &user{id: s.nextUser, name: name, level: level}
	return s.nextUser
}

// AddUser adds an ordinary user (level 16) that can log in with password
// and returns its id.
func (s *Server) AddUser(name, password string) int64 { return s.addUser(name, password, LevelUser) }

// AddOSTemplate adds an OS template "<repo>__<name>".
func (s *Server) AddOSTemplate(repo, name, osType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.templates = append(s.templates, OSTemplate{ID: repo + "__" + name, Repo: repo, Name: name, OSType: osType})
}

// AddRecipe adds a recipe id ("#local__name" or "repo__name").
func (s *Server) AddRecipe(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recipes = append(s.recipes, id)
}

// AddPool adds an allocation pool for IP group group and family ("ipv4"
// or "ipv6") covering cidr.
func (s *Server) AddPool(group, family, cidr string) error {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return err
	}
	if (family == "ipv4") != p.Addr().Is4() || (family != "ipv4" && family != "ipv6") {
		return fmt.Errorf("dcimanager5test: pool %s is not %s", cidr, family)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pools = append(s.pools, &pool{group: group, family: family, prefix: p.Masked()})
	return nil
}

// AddServer adds a server and returns its id.
func (s *Server) AddServer(sp ServerSpec) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sp.OwnerName != "" {
		u, ok := s.userByName(sp.OwnerName)
		if !ok {
			return 0, fmt.Errorf("dcimanager5test: server %q: no user %q", sp.Name, sp.OwnerName)
		}
		sp.Owner = u.id
	}
	s.nextID++
	id := s.nextID
	sv := &server{id: id, name: sp.Name, mac: sp.MAC, notes: sp.Notes, typ: sp.Type, chassis: sp.ChassisTemplate,
		chassisName: sp.ChassisName, rack: sp.Rack, owner: sp.Owner, blocked: sp.Blocked, hwproblem: sp.HWProblem,
		diag: sp.DiagInProgress, osTemplate: sp.OSTemplate}
	if sv.name == "" {
		sv.name = fmt.Sprintf("server-%d", id)
	}
	if sp.PoweredOn {
		sv.power = powerOn
	}
	domain := sp.Domain
	if domain == "" {
		domain = "free.ds"
	}
	group := sp.IPGroup
	if group == "" {
		group = "parking"
	}
	var addr netip.Addr
	if sp.MainIP != "" {
		a, err := netip.ParseAddr(sp.MainIP)
		if err != nil {
			s.nextID--
			return 0, err
		}
		if _, used := s.used[a]; used {
			s.nextID--
			return 0, fmt.Errorf("dcimanager5test: address %s is in use", a)
		}
		addr = a
	} else if a, ok := s.allocate(group, "ipv4"); ok {
		addr = a
	}
	s.servers[id] = sv
	s.order = append(s.order, id)
	if addr.IsValid() {
		s.assignIP(sv, addr, group, domain)
	}
	if !sp.NoConnections {
		port := sp.SwitchPort
		if port == "" {
			port = fmt.Sprintf("Gi1/0/%d", id)
		}
		ipmi := sp.IPMIAddress
		if ipmi == "" {
			ipmi = fmt.Sprintf("10.20.0.%d", id%250+1)
		}
		s.nextConn++
		sv.conns = append(sv.conns, &conn{id: s.nextConn, typ: "Switch", name: "sw1 " + port, port: port, on: true})
		s.nextConn++
		sv.conns = append(sv.conns, &conn{id: s.nextConn, typ: "IPMI", name: "IPMI " + ipmi, ip: ipmi, on: true})
	}
	return id, nil
}

func familyOf(a netip.Addr) string {
	if a.Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// assignIP records addr on sv; the caller holds s.mu.
func (s *Server) assignIP(sv *server, addr netip.Addr, group, domain string) *ipRec {
	s.nextIP++
	r := &ipRec{id: s.nextIP, server: sv.id, addr: addr, group: group, family: familyOf(addr), domain: domain}
	s.ips[r.id] = r
	s.used[addr] = r.id
	if sv.mainIP == 0 {
		sv.mainIP = r.id
	}
	return r
}

// allocate finds the lowest free address of a pool; the caller holds s.mu.
func (s *Server) allocate(group, family string) (netip.Addr, bool) {
	for _, p := range s.pools {
		if p.group != group || p.family != family {
			continue
		}
		a := p.prefix.Addr()
		var last netip.Addr
		if p.family == "ipv4" && p.prefix.Bits() < 31 {
			a = a.Next() // skip the network address
			last = lastAddr(p.prefix)
		}
		for n := 0; n < 1<<16 && a.IsValid() && p.prefix.Contains(a); n++ {
			if a == last {
				break // broadcast
			}
			if _, used := s.used[a]; !used && !(p.family == "ipv6" && a == p.prefix.Addr()) {
				return a, true
			}
			a = a.Next()
		}
	}
	return netip.Addr{}, false
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	host := 32 - p.Bits()
	for i := 3; i >= 0 && host > 0; i-- {
		n := min(host, 8)
		b[i] |= byte(1<<n - 1)
		host -= n
	}
	return netip.AddrFrom4(b)
}

func (s *Server) hasPool(group, family string) bool {
	for _, p := range s.pools {
		if p.group == group && p.family == family {
			return true
		}
	}
	return false
}

// settle brings sv up to date with now; the caller holds s.mu.
func (sv *server) settle(now time.Time) {
	if op := sv.powerOp; op != nil && !now.Before(op.until) {
		sv.powerOp = nil
		switch {
		case sv.failNextPower:
			sv.failNextPower = false
			sv.power = powerErr
		case op.target == "off":
			sv.power = powerOff
		default:
			sv.power = powerOn
		}
	}
	if in := sv.install; in != nil && !now.Before(in.until) {
		sv.install = nil
		if in.fail {
			sv.operationFailed = true
		} else {
			sv.osTemplate, sv.recipe = in.template, in.recipe
		}
	}
	for _, c := range sv.conns {
		if c.inProgress && !now.Before(c.busyUntil) {
			c.inProgress = false
			c.on = c.target
		}
	}
}

func (s *Server) hostname(sv *server) (host, ip string) {
	if r, ok := s.ips[sv.mainIP]; ok {
		return r.domain, r.addr.String()
	}
	return "", ""
}

func (s *Server) state(sv *server) ServerState {
	sv.settle(s.now())
	host, ip := s.hostname(sv)
	return ServerState{
		ID: sv.id, Name: sv.name, MAC: sv.mac, Notes: sv.notes, Type: sv.typ, ChassisTemplate: sv.chassis,
		ChassisName: sv.chassisName, Rack: sv.rack, Owner: sv.owner, Hostname: host, MainIP: ip,
		Disabled: sv.disabled, Blocked: sv.blocked, HWProblem: sv.hwproblem, DiagInProgress: sv.diag,
		PowerOn: sv.powerOp == nil && sv.power == powerOn, PowerOff: sv.powerOp == nil && sv.power == powerOff,
		PowerError: sv.powerOp == nil && sv.power == powerErr, PowerInProgress: sv.powerOp != nil,
		InstallInProgress: sv.install != nil, OperationFailed: sv.operationFailed,
		OSTemplate: sv.osTemplate, Recipe: sv.recipe, InstallHostname: sv.installHostname, Installs: sv.installs,
	}
}

// Server returns a snapshot of server id.
func (s *Server) Server(id int64) (ServerState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, ok := s.servers[id]
	if !ok {
		return ServerState{}, false
	}
	return s.state(sv), true
}

// Servers returns snapshots of every server, in id order.
func (s *Server) Servers() []ServerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ServerState, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.state(s.servers[id]))
	}
	return out
}

// IPs returns the addresses of server id (every server when id is 0), in
// id order.
func (s *Server) IPs(id int64) []IPState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []IPState
	for _, r := range s.ips {
		if id != 0 && r.server != id {
			continue
		}
		main := false
		if sv, ok := s.servers[r.server]; ok {
			main = sv.mainIP == r.id
		}
		out = append(out, IPState{ID: r.id, ServerID: r.server, Address: r.addr.String(), Family: r.family, Group: r.group, Domain: r.domain, Main: main})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Connections returns snapshots of the connections of server id.
func (s *Server) Connections(id int64) []ConnectionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, ok := s.servers[id]
	if !ok {
		return nil
	}
	sv.settle(s.now())
	out := make([]ConnectionState, 0, len(sv.conns))
	for _, c := range sv.conns {
		out = append(out, ConnectionState{ID: c.id, Type: c.typ, Name: c.name, Port: c.port, IP: c.ip, On: c.on, InProgress: c.inProgress})
	}
	return out
}

// Users returns snapshots of every user (the administrator included), in
// id order.
func (s *Server) Users() []UserState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]UserState, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, UserState{ID: u.id, Name: u.name, Level: u.level})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// OSTemplates returns the OS templates.
func (s *Server) OSTemplates() []OSTemplate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]OSTemplate(nil), s.templates...)
}

// FreeAddresses returns how many addresses of group and family are free.
func (s *Server) FreeAddresses(group, family string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.pools {
		if p.group != group || p.family != family {
			continue
		}
		a := p.prefix.Addr()
		for i := 0; i < 1<<16 && a.IsValid() && p.prefix.Contains(a); i++ {
			if _, used := s.used[a]; !used {
				n++
			}
			a = a.Next()
		}
		if family == "ipv4" && p.prefix.Bits() < 31 {
			n -= 2
		} else if family == "ipv6" {
			n--
		}
	}
	return n
}

func (s *Server) withServer(id int64, f func(sv *server)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, ok := s.servers[id]
	if !ok {
		return fmt.Errorf("%w: %d", ErrNoServer, id)
	}
	sv.settle(s.now())
	f(sv)
	return nil
}

// SetHardware sets the blocked, hwproblem and diag_in_progress flags of
// server id.
func (s *Server) SetHardware(id int64, f HardwareFlags) error {
	return s.withServer(id, func(sv *server) { sv.blocked, sv.hwproblem, sv.diag = f.Blocked, f.HWProblem, f.DiagInProgress })
}

// SetPowerError puts server id into the powererror state at once.
func (s *Server) SetPowerError(id int64) error {
	return s.withServer(id, func(sv *server) { sv.powerOp = nil; sv.power = powerErr })
}

// FailNextInstall makes the next OS install of server id end with
// operation_failed (after the install duration).
func (s *Server) FailNextInstall(id int64) error {
	return s.withServer(id, func(sv *server) { sv.failNextInstall = true })
}

// FailNextPower makes the next power operation of server id end in
// powererror.
func (s *Server) FailNextPower(id int64) error {
	return s.withServer(id, func(sv *server) { sv.failNextPower = true })
}

// SetTraffic sets the burstable traffic figure (Mbit/s) of server id.
func (s *Server) SetTraffic(id int64, mbps float64) error {
	return s.withServer(id, func(sv *server) { sv.traffic = mbps })
}

// SetOwner sets the owner of server id directly (0 clears it).
func (s *Server) SetOwner(id, userID int64) error {
	return s.withServer(id, func(sv *server) { sv.owner = userID })
}

// userByName returns the id of a user; the caller holds s.mu.
func (s *Server) userByName(name string) (*user, bool) {
	for _, u := range s.users {
		if u.name == name {
			return u, true
		}
	}
	return nil, false
}
