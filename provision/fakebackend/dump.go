package fakebackend

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/ispkit/ispkit/provision"
)

// The dumps write a fake's whole state as JSON and read it back, so
// that a test can stop an engine half-way, keep what the panels looked
// like at that moment next to the engine's Store, and rebuild the panels
// later (in another process, or under another release of the engine).
// Times are absolute: an install that was due to finish at T finishes at T
// after a reload too.

// DCDump is the JSON form of a DC.
type DCDump struct {
	Servers      []ServerDump      `json:"servers"`
	Users        map[string]string `json:"users"`     // name → id
	Passwords    map[string]string `json:"passwords"` // id → password
	NextIP       int               `json:"next_ip"`
	NextID       int               `json:"next_id"`
	PowerDelay   time.Duration     `json:"power_delay"`
	InstallDelay time.Duration     `json:"install_delay"`
}

// ServerDump is one server of a DCDump.
type ServerDump struct {
	Server       provision.Server     `json:"server"`
	Notes        string               `json:"notes"`
	IPs          []provision.ServerIP `json:"ips"`
	PortsOn      bool                 `json:"ports_on"`
	PowerAt      time.Time            `json:"power_at"`
	InstallAt    time.Time            `json:"install_at"`
	Installing   bool                 `json:"installing"`
	Installs     int                  `json:"installs"`
	FailInstall  bool                 `json:"fail_install"`
	NeverPowerOn bool                 `json:"never_power_on"`
	Template     string               `json:"template"`
}

// Dump returns the fake's state.
func (d *DC) Dump() DCDump {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := DCDump{Users: maps.Clone(d.users), Passwords: maps.Clone(d.pw), NextIP: d.nextIP, NextID: d.nextID,
		PowerDelay: d.PowerDelay, InstallDelay: d.InstallDelay}
	for _, id := range d.order {
		s := d.servers[id]
		out.Servers = append(out.Servers, ServerDump{Server: s.Server, Notes: s.notes, IPs: slices.Clone(s.ips), PortsOn: s.portsOn,
			PowerAt: s.powerAt, InstallAt: s.installAt, Installing: s.installing, Installs: s.installs,
			FailInstall: s.failInstall, NeverPowerOn: s.neverPowerOn, Template: s.template})
	}
	return out
}

// MarshalJSON writes Dump().
func (d *DC) MarshalJSON() ([]byte, error) { return json.Marshal(d.Dump()) }

// Restore replaces the fake's state with dump (the hooks, Latency and
// Clock are kept).
func (d *DC) Restore(dump DCDump) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.servers, d.order = map[string]*server{}, nil
	for _, x := range dump.Servers {
		d.servers[x.Server.ID] = &server{Server: x.Server, notes: x.Notes, ips: slices.Clone(x.IPs), portsOn: x.PortsOn,
			powerAt: x.PowerAt, installAt: x.InstallAt, installing: x.Installing, installs: x.Installs,
			failInstall: x.FailInstall, neverPowerOn: x.NeverPowerOn, template: x.Template}
		d.order = append(d.order, x.Server.ID)
	}
	d.users, d.pw = maps.Clone(dump.Users), maps.Clone(dump.Passwords)
	if d.users == nil {
		d.users = map[string]string{}
	}
	if d.pw == nil {
		d.pw = map[string]string{}
	}
	d.nextIP, d.nextID = dump.NextIP, dump.NextID
	d.PowerDelay, d.InstallDelay = dump.PowerDelay, dump.InstallDelay
}

// UnmarshalJSON reads a DCDump into the fake (Restore).
func (d *DC) UnmarshalJSON(b []byte) error {
	var dump DCDump
	if err := json.Unmarshal(b, &dump); err != nil {
		return err
	}
	d.Restore(dump)
	return nil
}

// PoolDump is the JSON form of a Pool.
type PoolDump struct {
	Free  map[string][]string       `json:"free"`  // group → free addresses, in allocation order
	Used  map[string]AllocationDump `json:"used"`  // address → allocation
	Group map[string]string         `json:"group"` // address → group
}

// AllocationDump is one allocated address of a PoolDump.
type AllocationDump struct {
	Group  string `json:"group"`
	Domain string `json:"domain"`
	Note   string `json:"note"`
}

// Dump returns the pool's state.
func (p *Pool) Dump() PoolDump {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := PoolDump{Free: map[string][]string{}, Used: map[string]AllocationDump{}, Group: maps.Clone(p.group)}
	for g, ips := range p.free {
		out.Free[g] = slices.Clone(ips)
	}
	for ip, a := range p.used {
		out.Used[ip] = AllocationDump{Group: a.group, Domain: a.domain, Note: a.note}
	}
	return out
}

// MarshalJSON writes Dump().
func (p *Pool) MarshalJSON() ([]byte, error) { return json.Marshal(p.Dump()) }

// Restore replaces the pool's state with dump.
func (p *Pool) Restore(dump PoolDump) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free, p.used, p.group = map[string][]string{}, map[string]alloc{}, maps.Clone(dump.Group)
	if p.group == nil {
		p.group = map[string]string{}
	}
	for g, ips := range dump.Free {
		p.free[g] = slices.Clone(ips)
	}
	for ip, a := range dump.Used {
		p.used[ip] = alloc{group: a.Group, domain: a.Domain, note: a.Note}
	}
}

// UnmarshalJSON reads a PoolDump into the pool (Restore).
func (p *Pool) UnmarshalJSON(b []byte) error {
	var dump PoolDump
	if err := json.Unmarshal(b, &dump); err != nil {
		return err
	}
	p.Restore(dump)
	return nil
}

// HostingDump is the JSON form of a Hosting.
type HostingDump struct {
	Users   map[string]Account           `json:"users"`
	Presets map[string]map[string]string `json:"presets"`
	Shadow  []string                     `json:"shadow"`
}

// Dump returns the fake's state.
func (h *Hosting) Dump() HostingDump {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := HostingDump{Users: map[string]Account{}, Presets: map[string]map[string]string{}, Shadow: slices.Clone(h.Shadow)}
	for n, a := range h.users {
		c := *a
		c.Limits = maps.Clone(a.Limits)
		out.Users[n] = c
	}
	for n, p := range h.presets {
		out.Presets[n] = maps.Clone(p)
	}
	return out
}

// MarshalJSON writes Dump().
func (h *Hosting) MarshalJSON() ([]byte, error) { return json.Marshal(h.Dump()) }

// Restore replaces the fake's state with dump.
func (h *Hosting) Restore(dump HostingDump) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.users, h.presets, h.Shadow = map[string]*Account{}, map[string]map[string]string{}, slices.Clone(dump.Shadow)
	for n, a := range dump.Users {
		c := a
		c.Limits = maps.Clone(a.Limits)
		h.users[n] = &c
	}
	for n, p := range dump.Presets {
		h.presets[n] = maps.Clone(p)
	}
}

// UnmarshalJSON reads a HostingDump into the fake (Restore).
func (h *Hosting) UnmarshalJSON(b []byte) error {
	var dump HostingDump
	if err := json.Unmarshal(b, &dump); err != nil {
		return err
	}
	h.Restore(dump)
	return nil
}
