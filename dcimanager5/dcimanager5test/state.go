package dcimanager5test

import (
	"net/netip"
)

// SeedData is a data set the fake can be loaded with (Load), shaped for
// JSON so that a simulator can read it from a file. User ids are given in
// load order after the administrator (id 1): the first user is 2; a
// ServerSpec.Owner refers to those ids.
type SeedData struct {
	Users     []SeedUser   `json:"users,omitempty"`
	Pools     []SeedPool   `json:"pools,omitempty"`
	Templates []OSTemplate `json:"templates,omitempty"`
	Recipes   []string     `json:"recipes,omitempty"`
	Servers   []ServerSpec `json:"servers,omitempty"`
}

// SeedUser is an ordinary user (level 16) of a SeedData.
type SeedUser struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// SeedPool is an address pool of a SeedData.
type SeedPool struct {
	Group  string `json:"group"`
	Family string `json:"family"`
	CIDR   string `json:"cidr"`
}

// DefaultSeed returns the data set NewServer loads unless WithoutSeed is
// given (see Seed).
func DefaultSeed() SeedData {
	return SeedData{
		Users: []SeedUser{{Name: "client1", Password: "client1-secret-pw"}},
		Pools: []SeedPool{
			{Group: "public", Family: "ipv4", CIDR: "203.0.113.0/24"},
			{Group: "public", Family: "ipv6", CIDR: "2001:db8:100::/120"},
			{Group: "parking", Family: "ipv4", CIDR: "10.10.0.0/24"},
		},
		Templates: []OSTemplate{
			{Repo: "ISPsystem", Name: "CentOS-7-amd64", OSType: "linux"},
			{Repo: "ISPsystem", Name: "Debian-12-x86_64", OSType: "linux"},
			{Repo: "ISPsystem", Name: "Ubuntu-22.04-amd64", OSType: "linux"},
			{Repo: "ISPsystem", Name: "Windows-2019", OSType: "windows"},
		},
		Recipes: []string{"#local__lamp", "ISPsystem__docker"},
		Servers: []ServerSpec{
			{Name: "srv-01", ChassisTemplate: "E3-16GB", Type: "1U", ChassisName: "Xeon E3-1230v6, 16 GB, 2x480 GB SSD", Rack: "R1 unit 1", MAC: "0c:c4:7a:00:00:01"},
			{Name: "srv-02", ChassisTemplate: "E3-16GB", Type: "1U", ChassisName: "Xeon E3-1230v6, 16 GB, 2x480 GB SSD", Rack: "R1 unit 2", MAC: "0c:c4:7a:00:00:02"},
			{Name: "srv-03", ChassisTemplate: "E5-64GB", Type: "2U", ChassisName: "2x Xeon E5-2620v4, 64 GB", Rack: "R1 unit 4", MAC: "0c:c4:7a:00:00:03"},
			{Name: "srv-04", ChassisTemplate: "E3-16GB", Type: "1U", ChassisName: "Xeon E3-1230v6, 16 GB", Rack: "R2 unit 1", MAC: "0c:c4:7a:00:00:04", HWProblem: true},
			{Name: "srv-05", ChassisTemplate: "E3-16GB", Type: "1U", ChassisName: "Xeon E3-1230v6, 16 GB", Rack: "R2 unit 2", MAC: "0c:c4:7a:00:00:05",
				Owner: 2, IPGroup: "public", Domain: "client1.example.com", PoweredOn: true, OSTemplate: "ISPsystem__Debian-12-x86_64"},
			{Name: "srv-06", Type: "legacy-atom", ChassisName: "Atom D525, 4 GB", Rack: "R3 unit 1", MAC: "0c:c4:7a:00:00:06"},
		},
	}
}

// Load adds a data set to the fake's state (call Reset first to replace
// the state). It stops at the first entry the fake refuses.
func (s *Server) Load(d SeedData) error {
	for _, u := range d.Users {
		s.AddUser(u.Name, u.Password)
	}
	for _, p := range d.Pools {
		if err := s.AddPool(p.Group, p.Family, p.CIDR); err != nil {
			return err
		}
	}
	for _, t := range d.Templates {
		s.AddOSTemplate(t.Repo, t.Name, t.OSType)
	}
	for _, r := range d.Recipes {
		s.AddRecipe(r)
	}
	for _, sp := range d.Servers {
		if _, err := s.AddServer(sp); err != nil {
			return err
		}
	}
	return nil
}

// Reset empties the fake: only the administrator remains (no servers,
// users, addresses, pools, templates or recipes), sessions end and the
// call log is emptied. Faults stay until ClearFaults.
func (s *Server) Reset() {
	s.core.ResetAccounts(s.opts.admin)
	s.mu.Lock()
	s.servers, s.order = map[int64]*server{}, nil
	s.ips, s.used = map[int64]*ipRec{}, map[netip.Addr]int64{}
	s.pools, s.users, s.templates, s.recipes = nil, map[int64]*user{}, nil, nil
	s.nextID, s.nextIP, s.nextConn, s.nextUser = 0, 0, 0, 0
	s.mu.Unlock()
	s.addUser(s.opts.admin, s.opts.adminPassword, LevelAdmin)
}

// State is the whole state of the fake, for assertions and for a
// simulator's dump (it encodes as JSON).
type State struct {
	Servers   []ServerState `json:"servers"`
	IPs       []IPState     `json:"ips"`
	Users     []UserState   `json:"users"`
	Pools     []SeedPool    `json:"pools"`
	Templates []OSTemplate  `json:"templates"`
	Recipes   []string      `json:"recipes"`
}

// Dump returns a copy of the whole state.
func (s *Server) Dump() State {
	st := State{Servers: s.Servers(), Users: s.Users()}
	for _, sv := range st.Servers {
		st.IPs = append(st.IPs, s.IPs(sv.ID)...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pools {
		st.Pools = append(st.Pools, SeedPool{Group: p.group, Family: p.family, CIDR: p.prefix.String()})
	}
	st.Templates = append([]OSTemplate(nil), s.templates...)
	st.Recipes = append([]string(nil), s.recipes...)
	return st
}
