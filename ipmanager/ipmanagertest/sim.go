package ipmanagertest

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/ispkit/ispkit/internal/mgr5fake"
)

// WithoutSeed starts with no groups (the default public and parking
// groups are not created); the default logins remain.
func WithoutSeed() Option { return func(c *config) { c.noSeed = true } }

// SeedData is a data set the fake can be loaded with (Load), shaped for
// JSON so that a simulator can read it from a file.
type SeedData struct {
	Groups    []SeedGroup   `json:"groups,omitempty"`
	Accounts  []SeedAccount `json:"accounts,omitempty"`
	Allocated []SeedAddress `json:"allocated,omitempty"`
}

// SeedGroup is an IP address group. Ranges are used by automatic
// allocation; Hidden ranges only when an address is named. A range is a
// single address, "first-last" or a CIDR prefix. A Parking group is
// marked as such in the iptype list.
type SeedGroup struct {
	Name    string   `json:"name"`
	Comment string   `json:"comment,omitempty"`
	Parking bool     `json:"parking,omitempty"`
	Ranges  []string `json:"ranges,omitempty"`
	Hidden  []string `json:"hidden,omitempty"`
}

// SeedAccount is a login besides the default ones (user level, or
// administrator with Admin).
type SeedAccount struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Admin    bool   `json:"admin,omitempty"`
}

// SeedAddress is an address allocated at load, e.g. for a server already
// running.
type SeedAddress struct {
	IP     string `json:"ip"`
	Group  string `json:"group"`
	Domain string `json:"domain,omitempty"`
	Note   string `json:"note,omitempty"`
}

// DefaultSeed returns the data set NewServer loads when no group option
// and no WithoutSeed is given: the group "public" with 198.51.100.0/24
// and 2001:db8:100::/64, and the parking group "parking" with
// 10.255.0.0/24.
func DefaultSeed() SeedData {
	return SeedData{Groups: []SeedGroup{
		{Name: DefaultPublicGroup, Ranges: []string{"198.51.100.0/24", "2001:db8:100::/64"}},
		{Name: DefaultParkingGroup, Comment: "parking", Parking: true, Ranges: []string{"10.255.0.0/24"}},
	}}
}

// Load adds a data set to the fake's state (call Reset first to replace
// it): groups (ranges are added to a group that exists), accounts and
// allocated addresses. It checks every range first and changes nothing
// when one is malformed; it stops at the first address it cannot
// allocate.
func (s *Server) Load(d SeedData) error {
	for _, g := range d.Groups {
		if g.Name == "" {
			return fmt.Errorf("ipmanagertest: seed: a group without a name")
		}
		for _, r := range append(append([]string(nil), g.Ranges...), g.Hidden...) {
			if _, err := parseRange(r); err != nil {
				return fmt.Errorf("ipmanagertest: seed: group %s: %v", g.Name, err)
			}
		}
	}
	for _, g := range d.Groups {
		for _, r := range g.Ranges {
			if err := s.AddRange(g.Name, r, false); err != nil {
				return err
			}
		}
		for _, r := range g.Hidden {
			if err := s.AddRange(g.Name, r, true); err != nil {
				return err
			}
		}
		s.mu.Lock()
		gr, ok := s.groups[g.Name]
		if !ok { // a group without ranges
			gr = &group{name: g.Name}
			s.groups[g.Name] = gr
			s.order = append(s.order, g.Name)
		}
		if g.Comment != "" {
			gr.comment = g.Comment
		}
		gr.parking = gr.parking || g.Parking
		if gr.parking && gr.comment == "" {
			gr.comment = "parking"
		}
		s.mu.Unlock()
	}
	for _, a := range d.Accounts {
		lvl := mgr5fake.LevelUser
		if a.Admin {
			lvl = mgr5fake.LevelAdmin
		}
		s.core.AddAccount(mgr5fake.Account{Name: a.Name, Password: a.Password, Level: lvl})
	}
	for _, a := range d.Allocated {
		ip, err := netip.ParseAddr(a.IP)
		if err != nil {
			return fmt.Errorf("ipmanagertest: seed: address %q: %v", a.IP, err)
		}
		if _, err := s.allocate(a.Group, "", ip.String(), a.Domain, a.Note); err != nil {
			return fmt.Errorf("ipmanagertest: seed: address %s: %v", a.IP, err)
		}
	}
	return nil
}

// Reset empties the fake: no groups and no allocated addresses; only the
// default logins (DefaultUser and DefaultAdmin) remain, sessions and
// login keys end and the call log is emptied. Faults stay until
// ClearFaults.
func (s *Server) Reset() {
	s.core.ResetAccounts()
	s.addDefaultAccounts()
	s.mu.Lock()
	s.groups, s.order, s.records = map[string]*group{}, nil, map[netip.Addr]*record{}
	s.mu.Unlock()
}

func (s *Server) addDefaultAccounts() {
	s.core.AddAccount(mgr5fake.Account{Name: DefaultUser, Password: DefaultPassword, Level: mgr5fake.LevelUser})
	s.core.AddAccount(mgr5fake.Account{Name: DefaultAdmin, Password: DefaultAdminPassword, Level: mgr5fake.LevelAdmin})
}

// State is the whole state of the fake, for assertions and for a
// simulator's dump (it encodes as JSON).
type State struct {
	Groups    []Group   `json:"groups"`
	Addresses []Address `json:"addresses"`
}

// Dump returns a copy of the whole state.
func (s *Server) Dump() State { return State{Groups: s.Groups(), Addresses: s.Addresses()} }

// Handler returns the panel as an http.Handler (the entry point path
// included), for serving it on a listener of one's own, as the ispkit
// command's simulator does. The fake's own server keeps running until
// Close.
func (s *Server) Handler() http.Handler { return s.core }
