package ispmanagertest

import (
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/ispkit/ispkit/internal/mgr5fake"
	"github.com/ispkit/ispkit/ispmanager"
)

// LevelReseller is the access level the fake gives a reseller login
// (AddReseller). (assumed) The ISPmanager 5 API guide says func=auth
// answers the caller's access level and advises checking it; it does not
// list the numbers. 16 (user) is confirmed by the vendor's modules; the
// fakes use 28 for an administrator and a number between the two for a
// reseller.
const LevelReseller = 24

// LevelAdmin is the access level of the fake's administrator (assumed, see
// LevelReseller).
const LevelAdmin = mgr5fake.LevelAdmin

// WithoutSeed starts with only the administrator. It is the default of
// this fake (it holds no users and no presets unless told), accepted so
// that every ispkit fake takes the same options.
func WithoutSeed() Option { return func(*options) {} }

// SeedData is a data set the fake can be loaded with (Load), shaped for
// JSON so that a simulator can read it from a file.
type SeedData struct {
	// Edition is what license.info reports: "Business" (default) or
	// "Lite".
	Edition string `json:"edition,omitempty"`
	// DiskQuotas turns the server's disk quotas off when false (default
	// on).
	DiskQuotas *bool         `json:"disk_quotas,omitempty"`
	Presets    []SeedPreset  `json:"presets,omitempty"`
	Users      []SeedUser    `json:"users,omitempty"`
	Resellers  []SeedAccount `json:"resellers,omitempty"`
}

// SeedPreset is a preset (template) with its limits by name, with or
// without the limit_ prefix ("db": "10", "shell": "on").
type SeedPreset struct {
	Name   string            `json:"name"`
	Limits map[string]string `json:"limits,omitempty"`
}

// SeedUser is a hosting account. Limits default to those of its Preset.
type SeedUser struct {
	Name      string            `json:"name"`
	Password  string            `json:"password"`
	FullName  string            `json:"full_name,omitempty"`
	Email     string            `json:"email,omitempty"`
	Preset    string            `json:"preset,omitempty"`
	Domain    string            `json:"domain,omitempty"`
	Suspended bool              `json:"suspended,omitempty"`
	Limits    map[string]string `json:"limits,omitempty"`
}

// SeedAccount is a login of another kind (a reseller).
type SeedAccount struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// DefaultSeed returns what NewServer starts with: nothing but the
// administrator (an empty data set).
func DefaultSeed() SeedData { return SeedData{} }

// AddReseller adds a reseller login (level LevelReseller). It can log in,
// but every administrator function answers an access error, which is
// what BILLmanager and ispkit's diagnostics guard against.
func (s *Server) AddReseller(name, password string) {
	s.core.AddAccount(mgr5fake.Account{Name: name, Password: password, Level: LevelReseller})
}

// Load adds a data set to the fake's state (call Reset first to replace
// it). It checks every limit and preset reference first and changes
// nothing when one is wrong; it stops at the first user whose name is
// taken.
func (s *Server) Load(d SeedData) error {
	var ed ispmanager.Edition
	switch d.Edition {
	case "":
	case string(ispmanager.EditionBusiness), string(ispmanager.EditionLite):
		ed = ispmanager.Edition(d.Edition)
	default:
		return fmt.Errorf("ispmanagertest: seed: edition %q: want Business or Lite", d.Edition)
	}
	presets := map[string]ispmanager.Limits{}
	for _, p := range d.Presets {
		l, err := ispmanager.ParseLimits(p.Limits)
		if err != nil {
			return fmt.Errorf("ispmanagertest: seed: preset %q: %v", p.Name, err)
		}
		if p.Name == "" {
			return fmt.Errorf("ispmanagertest: seed: a preset without a name")
		}
		presets[p.Name] = l
	}
	users := make([]User, 0, len(d.Users))
	for _, su := range d.Users {
		l, err := ispmanager.ParseLimits(su.Limits)
		if err != nil {
			return fmt.Errorf("ispmanagertest: seed: user %q: %v", su.Name, err)
		}
		if su.Preset != "" {
			pl, ok := presets[su.Preset]
			if !ok {
				if p, found := s.Preset(su.Preset); found {
					pl, ok = p.Limits, true
				}
			}
			if !ok {
				return fmt.Errorf("ispmanagertest: seed: user %q: no preset %q", su.Name, su.Preset)
			}
			l = ispmanager.MergeLimits(pl, l)
		}
		users = append(users, User{Name: su.Name, FullName: su.FullName, Email: su.Email, Preset: su.Preset,
			Active: !su.Suspended, Limits: l, Domain: su.Domain})
	}
	if ed != "" {
		s.SetEdition(ed)
	}
	if d.DiskQuotas != nil {
		s.SetDiskQuotas(*d.DiskQuotas)
	}
	for _, n := range slices.Sorted(maps.Keys(presets)) {
		s.AddPreset(n, presets[n])
	}
	for i, u := range users {
		if err := s.AddUser(u, d.Users[i].Password); err != nil {
			return fmt.Errorf("ispmanagertest: seed: user %q: %v", u.Name, err)
		}
	}
	for _, r := range d.Resellers {
		s.AddReseller(r.Name, r.Password)
	}
	return nil
}

// Reset empties the fake: only the administrator remains (no users,
// resellers, presets, domains or dedicated addresses), the edition is
// Business again and disk quotas are on; sessions and login keys end and
// the call log is emptied. Faults stay until ClearFaults.
func (s *Server) Reset() {
	s.core.ResetAccounts(s.admin)
	s.mu.Lock()
	s.edition, s.diskQuotas = ispmanager.EditionBusiness, true
	s.users, s.presets = map[string]*User{}, map[string]ispmanager.Limits{}
	s.webdomains, s.emaildomains, s.dnsdomains = map[string]string{}, map[string]string{}, map[string]string{}
	s.addrs, s.nextAddr = []Address{{Addr: SharedAddress, Role: "shared"}}, 0
	s.mu.Unlock()
}

// State is the whole state of the fake, for assertions and for a
// simulator's dump (it encodes as JSON). Presets show their limits as the
// panel's values by name.
type State struct {
	Edition      string            `json:"edition"`
	DiskQuotas   bool              `json:"disk_quotas"`
	Presets      []SeedPreset      `json:"presets"`
	Users        []User            `json:"users"`
	WebDomains   map[string]string `json:"web_domains"`
	EmailDomains map[string]string `json:"email_domains"`
	DNSDomains   map[string]string `json:"dns_domains"`
	Addresses    []Address         `json:"addresses"`
}

// Dump returns a copy of the whole state.
func (s *Server) Dump() State {
	st := State{Users: s.Users(), WebDomains: s.WebDomains(), EmailDomains: s.EmailDomains(),
		DNSDomains: s.DNSDomains(), Addresses: s.Addresses()}
	for _, p := range s.Presets() {
		st.Presets = append(st.Presets, SeedPreset{Name: p.Name, Limits: p.Limits.Values()})
	}
	s.mu.Lock()
	st.Edition, st.DiskQuotas = string(s.edition), s.diskQuotas
	s.mu.Unlock()
	return st
}

// Handler returns the panel as an http.Handler (the entry point path
// included), for serving it on a listener of one's own, as the ispkit
// command's simulator does. The fake's own server keeps running until
// Close.
func (s *Server) Handler() http.Handler { return s.core }
