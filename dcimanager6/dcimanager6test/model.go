package dcimanager6test

import (
	"slices"
	"sort"
	"time"
)

// Location is a data-centre location.
type Location struct {
	ID   int64
	Name string
}

// User is a panel user. Password is kept so the fake can check logins.
type User struct {
	ID       int64
	Email    string
	Password string
	FullName string
	Phone    string
	Role     string // "@user" or "@admin"
}

// Connection links a server to a switch port.
type Connection struct {
	ID       int64
	SwitchID int64
	PortID   int64
	IPMI     bool
}

// Machine is a dedicated server (named Machine because Server is the
// fake panel itself). The availability rules of BILLmanager's availability rules (DCImanager 6 docs, "Integration with BILLmanager") are
// visible as fields: Owner (0 = none), IsNew (diagnostics not done),
// MaintenanceMode, State ("active"), and the last operation's status.
type Machine struct {
	ID              int64
	Name            string
	Domain          string
	Configuration   string
	State           string
	LocationID      int64
	Owner           int64
	IsNew           bool
	MaintenanceMode bool
	PowerStatus     string // "on", "off", "unknown"
	OperationID     int64  // current or last operation, 0 = none
	OSTemplateID    int64  // 0 = none installed
	EFI             bool
	Connections     []Connection
	Barcode         string
	Rack            string
	Unit            int
	Model           string // hardware_info.motherboard.model
	// LastInstall records the last accepted install request.
	LastInstall *Install
}

// Install is what the fake received in a reinstall request.
type Install struct {
	TemplateID int64
	Password   string
	Hostname   string
	Recipes    []int64
	Params     map[string]string
}

// OSTemplate is an OS template stored in one location.
type OSTemplate struct {
	ID         int64
	Name       string
	LocationID int64
	Type       string // "os", "diagnostics", "recovery"
	Access     string // "all", "admin"
	Tags       []string
	EFI        bool
}

// Switch is a network switch.
type Switch struct {
	ID   int64
	Name string
}

// Port is a switch port.
type Port struct {
	ID          int64
	SwitchID    int64
	Description string
	AdminStatus string // "up", "down"
	ServerID    int64
}

// Pool is an IPmanager pool.
type Pool struct {
	ID         int64
	Name       string
	Family     string
	LocationID int64
	Network    string // e.g. "192.0.2.0/24"
	Gateway    string
}

// IP is an address of a pool.
type IP struct {
	ID       int64
	Name     string
	PoolID   int64
	Status   string // "free", "allocated", "extended"
	ServerID int64
	Domain   string
	// Note is the free text of the assignment (POST /ip/v3/ip "note").
	Note string
	// Main marks the address the panel allocated itself (at install or
	// for a seeded owner); extra addresses come from POST /ip/v3/ip.
	Main bool
	// Seq orders a server's addresses by assignment. The server object
	// lists the main address first, then the others in this order.
	Seq int64
}

// Stage is one step of an operation.
type Stage struct {
	Name   string
	Status string // "waiting", "running", "ok", "error"
}

// Operation is asynchronous work on a server. Its status is derived from
// the clock: it runs for Duration, its stages advance evenly, then it ends
// ok (effects applied) or, when it was set to fail, with error at FailAt.
type Operation struct {
	ID       int64
	ServerID int64
	Name     string // "os_install", "power_on", "power_off", "power_reset", "diagnostics"
	Status   string // "running", "ok", "error", "canceled"
	Message  string // status_info.msg on error
	Stages   []Stage
	Start    time.Time
	Duration time.Duration
	// Fail makes the operation end with error at the middle stage.
	Fail bool

	finished bool
	effect   func(*state)
}

type state struct {
	nextID    map[string]int64
	locations map[int64]*Location
	users     map[int64]*User
	servers   map[int64]*Machine
	templates map[int64]*OSTemplate
	switches  map[int64]*Switch
	ports     map[int64]*Port
	pools     map[int64]*Pool
	ips       map[int64]*IP
	ops       map[int64]*Operation
}

func newState() *state {
	return &state{
		nextID:    map[string]int64{},
		locations: map[int64]*Location{}, users: map[int64]*User{}, servers: map[int64]*Machine{},
		templates: map[int64]*OSTemplate{}, switches: map[int64]*Switch{}, ports: map[int64]*Port{},
		pools: map[int64]*Pool{}, ips: map[int64]*IP{}, ops: map[int64]*Operation{},
	}
}

func (st *state) id(kind string) int64 {
	st.nextID[kind]++
	return st.nextID[kind]
}

// allocateIP gives s the first free address of a pool of its location as
// its main address if it has none (extra addresses do not count). (assumed) the real allocation order is rack pool, location pool,
// then a pool whose name contains "public".
func (st *state) allocateIP(s *Machine) {
	for _, ip := range st.ips {
		if ip.ServerID == s.ID && ip.Main {
			return
		}
	}
	for _, id := range sortedKeys(st.ips) {
		ip := st.ips[id]
		if ip.Status == "free" && st.pools[ip.PoolID].LocationID == s.LocationID {
			ip.Status, ip.ServerID, ip.Domain, ip.Seq, ip.Main = "allocated", s.ID, s.Domain, st.id("assignment"), true
			return
		}
	}
}

func (st *state) releaseIPs(serverID int64) {
	for _, ip := range st.ips {
		if ip.ServerID == serverID {
			ip.free()
		}
	}
}

// free returns the address to its pool.
func (ip *IP) free() {
	ip.Status, ip.ServerID, ip.Domain, ip.Note, ip.Seq, ip.Main = "free", 0, "", "", 0, false
}

// serverIPs returns the addresses of a server, the main one first, then
// in assignment order.
func (st *state) serverIPs(serverID int64) []*IP {
	var out []*IP
	for _, id := range sortedKeys(st.ips) {
		if ip := st.ips[id]; ip.ServerID == serverID {
			out = append(out, ip)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Main != out[j].Main {
			return out[i].Main
		}
		return out[i].Seq < out[j].Seq
	})
	return out
}

// available is the rule of BILLmanager's availability rules (DCImanager 6 docs, "Integration with BILLmanager").
func (st *state) available(s *Machine) bool {
	if s.Owner != 0 || s.IsNew || s.MaintenanceMode || s.Configuration == "" || s.State != "active" {
		return false
	}
	if op := st.ops[s.OperationID]; op != nil {
		return op.Status == "ok" || op.Status == "canceled"
	}
	return true
}

// advance brings every running operation up to now.
func (st *state) advance(now time.Time) {
	for _, id := range sortedKeys(st.ops) {
		op := st.ops[id]
		if op.finished {
			continue
		}
		n := len(op.Stages)
		elapsed := now.Sub(op.Start)
		failAt := n / 2
		done := n
		if op.Duration > 0 && elapsed < op.Duration {
			done = int(int64(n) * int64(elapsed) / int64(op.Duration))
		}
		if op.Fail && done >= failAt {
			for i := range op.Stages {
				switch {
				case i < failAt:
					op.Stages[i].Status = "ok"
				case i == failAt:
					op.Stages[i].Status = "error"
				default:
					op.Stages[i].Status = "waiting"
				}
			}
			op.Status, op.finished = "error", true
			if op.Message == "" {
				op.Message = op.Name + " failed at stage " + op.Stages[failAt].Name
			}
			continue
		}
		for i := range op.Stages {
			switch {
			case i < done:
				op.Stages[i].Status = "ok"
			case i == done:
				op.Stages[i].Status = "running"
			default:
				op.Stages[i].Status = "waiting"
			}
		}
		if done >= n {
			op.Status, op.finished = "ok", true
			if op.effect != nil {
				op.effect(st)
			}
		}
	}
}

func sortedKeys[V any](m map[int64]V) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ---- API renderings (the JSON the fake serves) ----

func null[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

func (st *state) renderOperation(op *Operation) map[string]any {
	if op == nil {
		return nil
	}
	stages := make([]any, len(op.Stages))
	for i, s := range op.Stages {
		stages[i] = map[string]any{"name": s.Name, "status": s.Status}
	}
	info := map[string]any{}
	if op.Message != "" {
		info["msg"] = op.Message
	}
	return map[string]any{"id": op.ID, "name": op.Name, "server_id": op.ServerID, "status": op.Status,
		"status_info": info, "progress_info": stages}
}

func (st *state) renderServer(s *Machine) map[string]any {
	var owner, ownerEmail any
	if u := st.users[s.Owner]; u != nil {
		owner, ownerEmail = u.ID, u.Email
	}
	var tmpl any
	if t := st.templates[s.OSTemplateID]; t != nil {
		tmpl = map[string]any{"id": t.ID, "name": t.Name, "tags": anySlice(t.Tags)}
	}
	var op any
	if o := st.ops[s.OperationID]; o != nil {
		op = st.renderOperation(o)
	}
	ips := []any{}
	for _, ip := range st.serverIPs(s.ID) {
		p := st.pools[ip.PoolID]
		ips = append(ips, map[string]any{"id": ip.ID, "name": ip.Name, "domain": ip.Domain, "family": p.Family,
			"gateway": p.Gateway, "network": p.Network, "status": ip.Status, "status_info": map[string]any{}})
	}
	conns := []any{}
	for _, c := range s.Connections {
		admin := "down"
		if p := st.ports[c.PortID]; p != nil {
			admin = p.AdminStatus
		}
		conns = append(conns, map[string]any{"id": c.ID, "switch": c.SwitchID, "switch_name": st.switches[c.SwitchID].Name,
			"connection_id": c.PortID, "description": st.ports[c.PortID].Description, "admin_status": admin,
			"oper_status": admin, "do_not_collect_traffic": false, "is_ipmi_connection": c.IPMI})
	}
	return map[string]any{
		"id": s.ID, "name": s.Name, "domain": s.Domain, "configuration": s.Configuration,
		"state": s.State, "state_info": "", "location_id": s.LocationID,
		"owner": owner, "owner_email": ownerEmail, "is_new": s.IsNew, "maintenance_mode": s.MaintenanceMode,
		"power_status": s.PowerStatus, "operation": op,
		"os_template": tmpl, "hardware_info": map[string]any{"motherboard": map[string]any{"model": s.Model}},
		"perform_info": map[string]any{}, "settings": map[string]any{"efi": s.EFI},
		"ip": ips, "switch_connection": conns, "barcode": s.Barcode,
		"rack": map[string]any{"name": s.Rack}, "unit": s.Unit,
		"available": st.available(s),
	}
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (st *state) renderUser(u *User) map[string]any {
	n := 0
	for _, s := range st.servers {
		if s.Owner == u.ID {
			n++
		}
	}
	return map[string]any{"id": u.ID, "email": u.Email, "full_name": u.FullName, "phone_number": u.Phone,
		"server_count": n, "roles": "[" + u.Role + "]", "vlans_per_user": 5}
}

func renderLocation(l *Location) map[string]any { return map[string]any{"id": l.ID, "name": l.Name} }

func renderTemplate(t *OSTemplate) map[string]any {
	return map[string]any{"id": t.ID, "name": t.Name, "location_id": t.LocationID, "type": t.Type,
		"access": t.Access, "tags": anySlice(t.Tags), "efi": t.EFI}
}

func (st *state) renderIP(ip *IP) map[string]any {
	p := st.pools[ip.PoolID]
	return map[string]any{"id": ip.ID, "name": ip.Name, "ip_addr": ip.Name, "domain": ip.Domain, "family": p.Family,
		"ipnet": p.ID, "ipnet_name": p.Network, "gateway": p.Gateway, "status": ip.Status, "pool": p.ID,
		"server_id": null(ip.ServerID), "note": ip.Note}
}

func renderPool(p *Pool) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "family": p.Family, "location_id": p.LocationID,
		"network": p.Network, "gateway": p.Gateway}
}

func (st *state) renderPort(p *Port) map[string]any {
	var srv any
	if s := st.servers[p.ServerID]; s != nil {
		srv = map[string]any{"id": s.ID, "name": s.Name}
	}
	return map[string]any{"id": p.ID, "switch": p.SwitchID, "description": p.Description,
		"admin_status": p.AdminStatus, "oper_status": p.AdminStatus, "server": srv}
}

// configurations counts free servers per configuration among servers.
func (st *state) configurations(servers []map[string]any) []map[string]any {
	counts := map[string]int{}
	for _, m := range servers {
		conf, _ := m["configuration"].(string)
		if conf == "" {
			continue
		}
		if m["available"] == true {
			counts[conf]++
		} else if _, ok := counts[conf]; !ok {
			counts[conf] = 0
		}
	}
	names := make([]string, 0, len(counts))
	for k := range counts {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]map[string]any, len(names))
	for i, n := range names {
		out[i] = map[string]any{"configuration": n, "free_server_count": counts[n]}
	}
	return out
}

// ---- copies for assertions ----

func (s Machine) clone() Machine {
	s.Connections = slices.Clone(s.Connections)
	if s.LastInstall != nil {
		in := *s.LastInstall
		in.Recipes = slices.Clone(in.Recipes)
		in.Params = cloneMap(in.Params)
		s.LastInstall = &in
	}
	return s
}

func (o Operation) clone() Operation {
	o.Stages = slices.Clone(o.Stages)
	o.effect = nil
	return o
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
