package dcimanager6test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// WithoutSeed starts with only the administrator, as WithEmptyState does
// (the name every ispkit fake uses for it).
func WithoutSeed() Option { return WithEmptyState() }

// SeedData is a data set the fake can be loaded with (Load), shaped for
// JSON so that a simulator can read it from a file. Entries refer to each
// other by name: a template, pool or server names its location, a server
// its owner by e-mail and its installed template by name. IDs are given
// in load order, per kind, after what the fake already holds.
type SeedData struct {
	Locations []SeedLocation `json:"locations,omitempty"`
	Users     []SeedUser     `json:"users,omitempty"`
	Templates []SeedTemplate `json:"templates,omitempty"`
	Pools     []SeedPool     `json:"pools,omitempty"`
	Servers   []SeedServer   `json:"servers,omitempty"`
}

// SeedLocation is a location with its switch. Every server of the
// location gets a port on that switch; SparePorts more ports (admin
// status down, no server) are added after the servers.
type SeedLocation struct {
	Name       string `json:"name"`
	Switch     string `json:"switch,omitempty"`
	SparePorts int    `json:"spare_ports,omitempty"`
}

// SeedUser is a panel user; Role is "@user" (default) or "@admin".
type SeedUser struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	FullName string `json:"full_name,omitempty"`
	Role     string `json:"role,omitempty"`
}

// SeedTemplate is an OS template of one location. Type defaults to "os",
// Access to "all".
type SeedTemplate struct {
	Name     string   `json:"name"`
	Location string   `json:"location"`
	Type     string   `json:"type,omitempty"`
	Access   string   `json:"access,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	EFI      bool     `json:"efi,omitempty"`
}

// SeedPool is an IPv4 pool of one location. Range ("first-last") lists
// the addresses the pool hands out.
type SeedPool struct {
	Name     string `json:"name"`
	Location string `json:"location"`
	Network  string `json:"network"`
	Gateway  string `json:"gateway,omitempty"`
	Range    string `json:"range"`
}

// SeedServer is a dedicated server. Domain defaults to "free.ds",
// PowerStatus to "off". A server that is not New has a finished
// diagnostics operation, or, with InstallFailed, a failed OS install
// (which keeps it out of sale). An owned server gets a main address from
// a pool of its location.
type SeedServer struct {
	Name          string `json:"name"`
	Configuration string `json:"configuration"`
	Location      string `json:"location"`
	Owner         string `json:"owner,omitempty"`
	Domain        string `json:"domain,omitempty"`
	PowerStatus   string `json:"power_status,omitempty"`
	OSTemplate    string `json:"os_template,omitempty"`
	New           bool   `json:"new,omitempty"`
	Maintenance   bool   `json:"maintenance,omitempty"`
	InstallFailed bool   `json:"install_failed,omitempty"`
}

// DefaultSeed returns the data set NewServer loads unless WithoutSeed (or
// WithEmptyState) is given:
//
//	locations  1 Amsterdam, 2 Frankfurt
//	users      1 admin (the login), 2 client1@example.com (@user)
//	templates  1 Ubuntu 24.04, 2 Debian 12, 3 Diagnostics (loc 1); 4 Ubuntu 24.04, 5 AlmaLinux 9 (loc 2)
//	servers    1-2 E-2146G free, 3 i9 free, 4 E-2146G owned by user 2,
//	           5 new (not diagnosed), 6 in maintenance, 7 last install failed (loc 1);
//	           8-9 i9 free (loc 2)
//	pools      1 public-ams 192.0.2.0/24, 2 public-fra 198.51.100.0/24, ten addresses each
func DefaultSeed() SeedData {
	const e2146, i9 = "E-2146G-64Gb-1920SSD", "i9-9900K-64Gb-2x1024NVMe"
	return SeedData{
		Locations: []SeedLocation{{Name: "Amsterdam", Switch: "sw-ams-1", SparePorts: 2}, {Name: "Frankfurt", Switch: "sw-fra-1", SparePorts: 2}},
		Users:     []SeedUser{{Email: "client1@example.com", Password: "client1-password", FullName: "Client One", Role: "@user"}},
		Templates: []SeedTemplate{
			{Name: "Ubuntu 24.04", Location: "Amsterdam", Tags: []string{"linux", "ubuntu"}},
			{Name: "Debian 12", Location: "Amsterdam", Tags: []string{"linux", "debian"}},
			{Name: "Diagnostics", Location: "Amsterdam", Type: "diagnostics", Access: "admin", Tags: []string{}},
			{Name: "Ubuntu 24.04", Location: "Frankfurt", Tags: []string{"linux", "ubuntu"}},
			{Name: "AlmaLinux 9", Location: "Frankfurt", Tags: []string{"linux", "rhel"}, EFI: true},
		},
		Pools: []SeedPool{
			{Name: "public-ams", Location: "Amsterdam", Network: "192.0.2.0/24", Gateway: "192.0.2.1", Range: "192.0.2.10-192.0.2.19"},
			{Name: "public-fra", Location: "Frankfurt", Network: "198.51.100.0/24", Gateway: "198.51.100.1", Range: "198.51.100.10-198.51.100.19"},
		},
		Servers: []SeedServer{
			{Name: "srv-ams-01", Configuration: e2146, Location: "Amsterdam"},
			{Name: "srv-ams-02", Configuration: e2146, Location: "Amsterdam"},
			{Name: "srv-ams-03", Configuration: i9, Location: "Amsterdam"},
			{Name: "srv-ams-04", Configuration: e2146, Location: "Amsterdam", Owner: "client1@example.com", PowerStatus: "on",
				OSTemplate: "Ubuntu 24.04", Domain: "client1.example.com"},
			{Name: "srv-ams-05", Configuration: e2146, Location: "Amsterdam", New: true, PowerStatus: "unknown"},
			{Name: "srv-ams-06", Configuration: i9, Location: "Amsterdam", Maintenance: true},
			{Name: "srv-ams-07", Configuration: i9, Location: "Amsterdam", InstallFailed: true},
			{Name: "srv-fra-01", Configuration: i9, Location: "Frankfurt"},
			{Name: "srv-fra-02", Configuration: i9, Location: "Frankfurt"},
		},
	}
}

// Load adds a data set to the fake's state (call Reset first to replace
// the state). It checks the whole data set first and changes nothing
// when an entry refers to something that does not exist.
func (s *Server) Load(d SeedData) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkSeed(d); err != nil {
		return err
	}
	st := s.st
	now := s.cfg.now()
	locs := map[string]int64{}
	for _, l := range st.locations {
		locs[l.Name] = l.ID
	}
	switches := map[int64]int64{}
	for _, l := range d.Locations {
		id := st.id("location")
		st.locations[id] = &Location{ID: id, Name: l.Name}
		locs[l.Name] = id
		sw := l.Switch
		if sw == "" {
			sw = "sw-" + strings.ToLower(l.Name)
		}
		sid := st.id("switch")
		st.switches[sid] = &Switch{ID: sid, Name: sw}
		switches[id] = sid
	}
	for _, u := range d.Users {
		role := u.Role
		if role == "" {
			role = "@user"
		}
		id := st.id("user")
		st.users[id] = &User{ID: id, Email: u.Email, Password: u.Password, FullName: u.FullName, Role: role}
	}
	for _, t := range d.Templates {
		typ, access := t.Type, t.Access
		if typ == "" {
			typ = "os"
		}
		if access == "" {
			access = "all"
		}
		id := st.id("template")
		st.templates[id] = &OSTemplate{ID: id, Name: t.Name, LocationID: locs[t.Location], Type: typ, Access: access,
			Tags: append([]string{}, t.Tags...), EFI: t.EFI}
	}
	for _, p := range d.Pools {
		first, last, _ := parseSeedRange(p.Range)
		pid := st.id("pool")
		st.pools[pid] = &Pool{ID: pid, Name: p.Name, Family: "ipv4", LocationID: locs[p.Location], Network: p.Network, Gateway: p.Gateway}
		for a := first; a.IsValid() && a.Compare(last) <= 0; a = a.Next() {
			iid := st.id("ip")
			st.ips[iid] = &IP{ID: iid, Name: a.String(), PoolID: pid, Status: "free"}
		}
	}
	for _, sp := range d.Servers {
		loc := locs[sp.Location]
		id := st.id("server")
		m := &Machine{ID: id, Name: sp.Name, Domain: sp.Domain, Configuration: sp.Configuration, State: "active",
			LocationID: loc, PowerStatus: sp.PowerStatus, Barcode: fmt.Sprintf("BC%05d", id),
			Rack: fmt.Sprintf("R%d", loc), Unit: int(id), Model: "Supermicro X11SCL-F",
			IsNew: sp.New, MaintenanceMode: sp.Maintenance}
		if m.Domain == "" {
			m.Domain = "free.ds"
		}
		if m.PowerStatus == "" {
			m.PowerStatus = "off"
		}
		if sp.Owner != "" {
			m.Owner = s.userByEmail(sp.Owner)
		}
		if sp.OSTemplate != "" {
			m.OSTemplateID = s.templateByName(loc, sp.OSTemplate)
		}
		if sw, ok := switches[loc]; ok {
			pid := st.id("port")
			st.ports[pid] = &Port{ID: pid, SwitchID: sw, Description: fmt.Sprintf("GigabitEthernet1/0/%d", pid), AdminStatus: "up", ServerID: id}
			m.Connections = []Connection{{ID: pid, SwitchID: sw, PortID: pid}}
		}
		st.servers[id] = m
		if !m.IsNew {
			op := &Operation{ID: st.id("operation"), ServerID: id, Name: "diagnostics", Status: "ok",
				Stages: []Stage{{"boot", "ok"}, {"hardware check", "ok"}}, Start: now.Add(-time.Hour), finished: true}
			if sp.InstallFailed {
				op.Name, op.Status, op.Message = "os_install", "error", "installation failed: disk not found"
				op.Stages = []Stage{{"prepare", "ok"}, {"partitioning", "error"}}
			}
			st.ops[op.ID] = op
			m.OperationID = op.ID
		}
		if m.Owner != 0 {
			st.allocateIP(m)
		}
	}
	for _, l := range d.Locations {
		sw := switches[locs[l.Name]]
		for i := 0; i < l.SparePorts; i++ {
			pid := st.id("port")
			st.ports[pid] = &Port{ID: pid, SwitchID: sw, Description: fmt.Sprintf("GigabitEthernet1/0/%d", pid), AdminStatus: "down"}
		}
	}
	return nil
}

// checkSeed refuses a data set whose references do not resolve; s.mu is
// held.
func (s *Server) checkSeed(d SeedData) error {
	locs := map[string]bool{}
	for _, l := range s.st.locations {
		locs[l.Name] = true
	}
	for _, l := range d.Locations {
		if l.Name == "" {
			return fmt.Errorf("dcimanager6test: seed: a location without a name")
		}
		locs[l.Name] = true
	}
	users := map[string]bool{}
	for _, u := range s.st.users {
		users[u.Email] = true
	}
	for _, u := range d.Users {
		if u.Email == "" || users[u.Email] {
			return fmt.Errorf("dcimanager6test: seed: user %q: empty or given twice", u.Email)
		}
		users[u.Email] = true
	}
	tmpl := map[string]bool{}
	for _, t := range s.st.templates {
		tmpl[s.st.locations[t.LocationID].Name+"/"+t.Name] = true
	}
	for _, t := range d.Templates {
		if !locs[t.Location] {
			return fmt.Errorf("dcimanager6test: seed: template %q: no location %q", t.Name, t.Location)
		}
		tmpl[t.Location+"/"+t.Name] = true
	}
	for _, p := range d.Pools {
		if !locs[p.Location] {
			return fmt.Errorf("dcimanager6test: seed: pool %q: no location %q", p.Name, p.Location)
		}
		if _, err := netip.ParsePrefix(p.Network); err != nil {
			return fmt.Errorf("dcimanager6test: seed: pool %q: network: %v", p.Name, err)
		}
		if _, _, err := parseSeedRange(p.Range); err != nil {
			return fmt.Errorf("dcimanager6test: seed: pool %q: %v", p.Name, err)
		}
	}
	for _, sp := range d.Servers {
		if !locs[sp.Location] {
			return fmt.Errorf("dcimanager6test: seed: server %q: no location %q", sp.Name, sp.Location)
		}
		if sp.Owner != "" && !users[sp.Owner] {
			return fmt.Errorf("dcimanager6test: seed: server %q: no user %q", sp.Name, sp.Owner)
		}
		if sp.OSTemplate != "" && !tmpl[sp.Location+"/"+sp.OSTemplate] {
			return fmt.Errorf("dcimanager6test: seed: server %q: no template %q in %s", sp.Name, sp.OSTemplate, sp.Location)
		}
	}
	return nil
}

func parseSeedRange(r string) (first, last netip.Addr, err error) {
	a, b, ok := strings.Cut(r, "-")
	if !ok {
		b = a
	}
	first, err = netip.ParseAddr(strings.TrimSpace(a))
	if err == nil {
		last, err = netip.ParseAddr(strings.TrimSpace(b))
	}
	if err == nil && (!first.Is4() || !last.Is4() || last.Less(first)) {
		err = fmt.Errorf("range %q: want first-last IPv4 addresses in order", r)
	}
	if err != nil {
		return netip.Addr{}, netip.Addr{}, fmt.Errorf("range: %v", err)
	}
	return first, last, nil
}

func (s *Server) userByEmail(email string) int64 {
	for _, id := range sortedKeys(s.st.users) {
		if s.st.users[id].Email == email {
			return id
		}
	}
	return 0
}

func (s *Server) templateByName(loc int64, name string) int64 {
	for _, id := range sortedKeys(s.st.templates) {
		if t := s.st.templates[id]; t.LocationID == loc && t.Name == name {
			return id
		}
	}
	return 0
}

// Reset empties the fake: only the administrator remains (no locations,
// servers, templates, pools, switches or operations), sessions and login
// keys end, the call log and the request record are emptied and pending
// FailNextOperation marks are dropped. Faults stay until ClearFaults.
func (s *Server) Reset() {
	s.mu.Lock()
	s.st = newState()
	s.addAdmin()
	s.tokens = map[string]session{}
	s.loginKeys = nil
	s.failNext = map[string]string{}
	s.reqs = nil
	s.mu.Unlock()
	s.log.Reset()
}

// addAdmin adds the administrator login as user 1; s.mu is held.
func (s *Server) addAdmin() {
	id := s.st.id("user")
	s.st.users[id] = &User{ID: id, Email: s.cfg.adminEmail, Password: s.cfg.adminPassword, FullName: "Administrator", Role: "@admin"}
}

// Durations are how long the fake's operations take.
type Durations struct {
	// Power is the length of a power on, off or reset.
	Power time.Duration `json:"power"`
	// Install is the length of an OS installation.
	Install time.Duration `json:"install"`
}

// SetDurations changes the durations of operations started from now on;
// a zero or negative field leaves that duration as it is.
func (s *Server) SetDurations(d Durations) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.Power > 0 {
		s.cfg.powerDuration = d.Power
	}
	if d.Install > 0 {
		s.cfg.installDuration = d.Install
	}
}

// Durations returns the current durations of the operations.
func (s *Server) Durations() Durations {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Durations{Power: s.cfg.powerDuration, Install: s.cfg.installDuration}
}

// State is the whole state of the fake, for assertions and for a
// simulator's dump (it encodes as JSON). Passwords are left out: users
// carry none, and a server's LastInstall carries none.
type State struct {
	Locations  []Location   `json:"locations"`
	Users      []User       `json:"users"`
	Templates  []OSTemplate `json:"templates"`
	Servers    []Machine    `json:"servers"`
	Pools      []Pool       `json:"pools"`
	IPs        []IP         `json:"ips"`
	Ports      []Port       `json:"ports"`
	Operations []Operation  `json:"operations"`
}

// Dump returns a copy of the whole state.
func (s *Server) Dump() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.advance(s.cfg.now())
	st := State{
		Locations: copiesByID(s.st.locations, func(v *Location) Location { return *v }),
		Users: copiesByID(s.st.users, func(v *User) User {
			u := *v
			u.Password = ""
			return u
		}),
		Templates: copiesByID(s.st.templates, func(v *OSTemplate) OSTemplate {
			t := *v
			t.Tags = append([]string{}, v.Tags...)
			return t
		}),
		Servers: copiesByID(s.st.servers, func(v *Machine) Machine {
			m := v.clone()
			if m.LastInstall != nil {
				m.LastInstall.Password = ""
			}
			return m
		}),
		Pools:      copiesByID(s.st.pools, func(v *Pool) Pool { return *v }),
		IPs:        copiesByID(s.st.ips, func(v *IP) IP { return *v }),
		Ports:      copiesByID(s.st.ports, func(v *Port) Port { return *v }),
		Operations: copiesByID(s.st.ops, func(v *Operation) Operation { return v.clone() }),
	}
	return st
}

// Handler returns the panel as an http.Handler, for serving it on a
// listener of one's own, as the ispkit command's simulator does (the
// Server is itself the handler).
func (s *Server) Handler() http.Handler { return s }
