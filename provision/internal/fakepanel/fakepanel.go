// Package fakepanel holds in-memory fakes of the provision backend
// interfaces for the engine's own tests: a data center (DedicatedBackend),
// an IPmanager pool (IPPool) and an ISPmanager (HostingBackend). Power and
// installs complete after configurable delays measured on the wall clock;
// faults can be injected per server or per call.
package fakepanel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ispkit/ispkit/provision"
)

// ErrFault is returned by injected faults.
var ErrFault = errors.New("fakepanel: injected fault")

// DC is a fake dedicated-server panel.
type DC struct {
	mu      sync.Mutex
	servers map[string]*server
	order   []string
	users   map[string]string // name -> id
	pw      map[string]string // id -> password
	nextIP  int
	nextID  int

	// PowerDelay and InstallDelay are how long power-on and installs take.
	PowerDelay   time.Duration
	InstallDelay time.Duration
	// Latency is added to every call (benchmarks).
	Latency time.Duration
	// BeforeCall, when set, runs before every call; an error is returned
	// without acting.
	BeforeCall func(method, serverID string) error
	// AfterCall, when set, runs after every call that acted successfully.
	AfterCall func(method, serverID string)

	calls atomic.Int64
}

type server struct {
	provision.Server
	notes        string
	ips          []provision.ServerIP
	portsOn      bool
	powerAt      time.Time
	installAt    time.Time
	installing   bool
	installs     int
	failInstall  bool
	neverPowerOn bool
	template     string
}

// AdminID is the id of the fake's admin user.
const AdminID = "1"

// NewDC returns a fake with no servers.
func NewDC() *DC {
	return &DC{servers: map[string]*server{}, users: map[string]string{"admin": AdminID}, pw: map[string]string{}, nextID: 100}
}

// AddServers adds n free servers of configuration config with parking
// addresses from parking (a function returning the i-th address; nil gives
// 10.255.x.y addresses). It returns their ids.
func (d *DC) AddServers(n int, config string, parking func(i int) string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []string
	for i := range n {
		id := strconv.Itoa(len(d.order) + 1)
		ip := fmt.Sprintf("10.255.%d.%d", (len(d.order)+1)/250, (len(d.order)+1)%250+1)
		if parking != nil {
			ip = parking(i)
		}
		s := &server{Server: provision.Server{
			ID: id, Name: "srv" + id, Config: config, Type: "type-" + config, MAC: "00:00:00:00:00:" + id,
			SwitchPort: "sw1/" + id, IPMIAddress: "192.0.2." + id,
		}}
		s.ips = []provision.ServerIP{{ID: "ip-" + ip, IP: ip, Family: "ipv4", Domain: provision.FreeHostname, Main: true}}
		d.servers[id] = s
		d.order = append(d.order, id)
		ids = append(ids, id)
	}
	return ids
}

// FailInstall makes installs on the server fail.
func (d *DC) FailInstall(id string) { d.mu.Lock(); d.servers[id].failInstall = true; d.mu.Unlock() }

// NeverPowerOn makes power-on of the server never complete.
func (d *DC) NeverPowerOn(id string) { d.mu.Lock(); d.servers[id].neverPowerOn = true; d.mu.Unlock() }

// SetOwnerDirect changes a server's owner behind the engine's back.
func (d *DC) SetOwnerDirect(id, owner string) {
	d.mu.Lock()
	d.servers[id].OwnerID = owner
	d.mu.Unlock()
}

// Calls returns the number of calls made.
func (d *DC) Calls() int64 { return d.calls.Load() }

// Snapshot is the observable state of one server.
type Snapshot struct {
	provision.Server
	Notes    string
	IPs      []provision.ServerIP
	PortsOn  bool
	Installs int
	Template string
}

// State returns every server's state, ordered by id.
func (d *DC) State() []Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Snapshot
	for _, id := range d.order {
		s := d.servers[id]
		d.refresh(s)
		out = append(out, Snapshot{Server: s.view(), Notes: s.notes, IPs: slices.Clone(s.ips), PortsOn: s.portsOn, Installs: s.installs, Template: s.template})
	}
	return out
}

// Server returns one server's state.
func (d *DC) Server(id string) Snapshot {
	for _, s := range d.State() {
		if s.ID == id {
			return s
		}
	}
	return Snapshot{}
}

// UserID returns the id of a panel user ("" when absent).
func (d *DC) UserID(name string) string { d.mu.Lock(); defer d.mu.Unlock(); return d.users[name] }

// Password returns a user's password.
func (d *DC) Password(id string) string { d.mu.Lock(); defer d.mu.Unlock(); return d.pw[id] }

func (d *DC) call(ctx context.Context, method, id string) (func(), error) {
	d.calls.Add(1)
	if d.Latency > 0 {
		t := time.NewTimer(d.Latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.BeforeCall != nil {
		if err := d.BeforeCall(method, id); err != nil {
			return nil, err
		}
	}
	d.mu.Lock()
	if id != "" {
		if _, ok := d.servers[id]; !ok {
			d.mu.Unlock()
			return nil, fmt.Errorf("fakepanel: server %q not found", id)
		}
	}
	return func() {
		d.mu.Unlock()
		if d.AfterCall != nil {
			d.AfterCall(method, id)
		}
	}, nil
}

func (s *server) view() provision.Server {
	v := s.Server
	v.Hostname, v.IP = "", ""
	for _, x := range s.ips {
		if x.Main {
			v.Hostname, v.IP = x.Domain, x.IP
		}
	}
	v.Installing = s.installing
	return v
}

func (d *DC) refresh(s *server) {
	now := time.Now()
	if !s.PoweredOn && !s.powerAt.IsZero() && !s.neverPowerOn && !now.Before(s.powerAt) {
		s.PoweredOn = true
	}
	if s.installing && !now.Before(s.installAt) {
		s.installing = false
		s.InstallFailed = s.failInstall
	}
}

func fixMain(s *server) {
	for _, x := range s.ips {
		if x.Main {
			return
		}
	}
	for i := range s.ips {
		if s.ips[i].Family == "ipv4" {
			s.ips[i].Main = true
			return
		}
	}
}

// ListServers implements provision.ServerInventory.
func (d *DC) ListServers(ctx context.Context) ([]provision.Server, error) {
	done, err := d.call(ctx, "ListServers", "")
	if err != nil {
		return nil, err
	}
	defer done()
	var out []provision.Server
	for _, id := range d.order {
		s := d.servers[id]
		d.refresh(s)
		out = append(out, s.view())
	}
	return out, nil
}

// GetServer implements provision.ServerInventory.
func (d *DC) GetServer(ctx context.Context, id string) (provision.Server, error) {
	done, err := d.call(ctx, "GetServer", id)
	if err != nil {
		return provision.Server{}, err
	}
	defer done()
	s := d.servers[id]
	d.refresh(s)
	return s.view(), nil
}

// SetOwner implements provision.ServerAdmin.
func (d *DC) SetOwner(ctx context.Context, id, user string) error {
	done, err := d.call(ctx, "SetOwner", id)
	if err != nil {
		return err
	}
	defer done()
	d.servers[id].OwnerID = user
	return nil
}

// SetDomain implements provision.ServerAdmin: every address gets domain.
func (d *DC) SetDomain(ctx context.Context, id, domain string) error {
	done, err := d.call(ctx, "SetDomain", id)
	if err != nil {
		return err
	}
	defer done()
	s := d.servers[id]
	for i := range s.ips {
		s.ips[i].Domain = domain
	}
	return nil
}

// SetNotes implements provision.ServerAdmin.
func (d *DC) SetNotes(ctx context.Context, id, notes string) error {
	done, err := d.call(ctx, "SetNotes", id)
	if err != nil {
		return err
	}
	defer done()
	d.servers[id].notes = notes
	return nil
}

// Enable implements provision.ServerAdmin.
func (d *DC) Enable(ctx context.Context, id string) error {
	done, err := d.call(ctx, "Enable", id)
	if err != nil {
		return err
	}
	defer done()
	d.servers[id].Disabled = false
	return nil
}

// Disable implements provision.ServerAdmin.
func (d *DC) Disable(ctx context.Context, id string) error {
	done, err := d.call(ctx, "Disable", id)
	if err != nil {
		return err
	}
	defer done()
	d.servers[id].Disabled = true
	return nil
}

// PowerOn implements provision.PowerControl.
func (d *DC) PowerOn(ctx context.Context, id string) error {
	done, err := d.call(ctx, "PowerOn", id)
	if err != nil {
		return err
	}
	defer done()
	s := d.servers[id]
	if !s.PoweredOn {
		s.powerAt = time.Now().Add(d.PowerDelay)
	}
	return nil
}

// PowerOff implements provision.PowerControl.
func (d *DC) PowerOff(ctx context.Context, id string) error {
	done, err := d.call(ctx, "PowerOff", id)
	if err != nil {
		return err
	}
	defer done()
	s := d.servers[id]
	s.PoweredOn, s.powerAt = false, time.Time{}
	return nil
}

// SetPorts implements provision.PowerControl.
func (d *DC) SetPorts(ctx context.Context, id string, on bool) error {
	done, err := d.call(ctx, "SetPorts", id)
	if err != nil {
		return err
	}
	defer done()
	s := d.servers[id]
	if on && s.Disabled {
		return errors.New("fakepanel: switch port cannot be enabled on a disabled server")
	}
	s.portsOn = on
	return nil
}

// Install implements provision.Installer.
func (d *DC) Install(ctx context.Context, id string, spec provision.InstallSpec) error {
	done, err := d.call(ctx, "Install", id)
	if err != nil {
		return err
	}
	defer done()
	s := d.servers[id]
	d.refresh(s)
	if !s.PoweredOn {
		return errors.New("fakepanel: server is powered off")
	}
	if s.installing {
		return errors.New("fakepanel: an operation is running")
	}
	if spec.Template == "" || spec.Password == "" {
		return errors.New("fakepanel: template and password are required")
	}
	s.installing, s.InstallFailed = true, false
	s.installAt = time.Now().Add(d.InstallDelay)
	s.installs++
	s.template = spec.Template
	return nil
}

// InstallStatus implements provision.Installer.
func (d *DC) InstallStatus(ctx context.Context, id string) (provision.InstallStatus, error) {
	done, err := d.call(ctx, "InstallStatus", id)
	if err != nil {
		return provision.InstallStatus{}, err
	}
	defer done()
	s := d.servers[id]
	d.refresh(s)
	st := provision.InstallStatus{Running: s.installing, Failed: s.InstallFailed, Percent: -1}
	if s.installing && d.InstallDelay > 0 {
		left := time.Until(s.installAt)
		st.Percent = min(99, max(0, 100-int(100*left/d.InstallDelay)))
	}
	if s.InstallFailed {
		st.Message = "disk not found"
	}
	return st, nil
}

// ListIPs implements provision.ServerIPs.
func (d *DC) ListIPs(ctx context.Context, id string) ([]provision.ServerIP, error) {
	done, err := d.call(ctx, "ListIPs", id)
	if err != nil {
		return nil, err
	}
	defer done()
	return slices.Clone(d.servers[id].ips), nil
}

// AddIP implements provision.ServerIPs; an empty ip allocates one.
func (d *DC) AddIP(ctx context.Context, id, family, group, ip, domain string) (provision.ServerIP, error) {
	done, err := d.call(ctx, "AddIP", id)
	if err != nil {
		return provision.ServerIP{}, err
	}
	defer done()
	s := d.servers[id]
	if ip == "" {
		d.nextIP++
		if family == "ipv6" {
			ip = fmt.Sprintf("2001:db8::%x", d.nextIP)
		} else {
			ip = fmt.Sprintf("198.51.%d.%d", d.nextIP/250, d.nextIP%250+1)
		}
	}
	for _, o := range d.servers {
		for _, x := range o.ips {
			if x.IP == ip {
				return provision.ServerIP{}, fmt.Errorf("fakepanel: address %s is in use", ip)
			}
		}
	}
	x := provision.ServerIP{ID: "ip-" + ip, IP: ip, Family: family, Domain: domain}
	s.ips = append(s.ips, x)
	fixMain(s)
	for _, y := range s.ips {
		if y.IP == ip {
			x = y
		}
	}
	return x, nil
}

// RemoveIP implements provision.ServerIPs.
func (d *DC) RemoveIP(ctx context.Context, id, ipID string) error {
	done, err := d.call(ctx, "RemoveIP", id)
	if err != nil {
		return err
	}
	defer done()
	s := d.servers[id]
	s.ips = slices.DeleteFunc(s.ips, func(x provision.ServerIP) bool { return x.ID == ipID })
	fixMain(s)
	return nil
}

// FindUser implements provision.PanelUsers.
func (d *DC) FindUser(ctx context.Context, name string) (string, bool, error) {
	done, err := d.call(ctx, "FindUser", "")
	if err != nil {
		return "", false, err
	}
	defer done()
	id, ok := d.users[name]
	return id, ok, nil
}

// CreateUser implements provision.PanelUsers.
func (d *DC) CreateUser(ctx context.Context, name, password string) (string, error) {
	done, err := d.call(ctx, "CreateUser", "")
	if err != nil {
		return "", err
	}
	defer done()
	if _, ok := d.users[name]; ok {
		return "", fmt.Errorf("fakepanel: user %q exists", name)
	}
	d.nextID++
	id := strconv.Itoa(d.nextID)
	d.users[name] = id
	d.pw[id] = password
	return id, nil
}

// SetUserPassword implements provision.PanelUsers.
func (d *DC) SetUserPassword(ctx context.Context, id, password string) error {
	done, err := d.call(ctx, "SetUserPassword", "")
	if err != nil {
		return err
	}
	defer done()
	d.pw[id] = password
	return nil
}

// AdminUserID implements provision.PanelUsers.
func (d *DC) AdminUserID(ctx context.Context) (string, error) {
	done, err := d.call(ctx, "AdminUserID", "")
	if err != nil {
		return "", err
	}
	defer done()
	return AdminID, nil
}

// LoginURL implements provision.PanelUsers.
func (d *DC) LoginURL(ctx context.Context, name string) (string, error) {
	done, err := d.call(ctx, "LoginURL", "")
	if err != nil {
		return "", err
	}
	defer done()
	return "https://dci.example/dcimgr?func=auth&username=" + name + "&key=K", nil
}

// Pool is a fake IPmanager.
type Pool struct {
	mu    sync.Mutex
	free  map[string][]string // group -> free addresses
	used  map[string]alloc    // ip -> allocation
	group map[string]string   // ip -> group
	calls atomic.Int64
	// BeforeCall, when set, runs before every call.
	BeforeCall func(method string) error
	// AfterCall, when set, runs after every successful call.
	AfterCall func(method string)
}

type alloc struct{ group, domain, note string }

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{free: map[string][]string{}, used: map[string]alloc{}, group: map[string]string{}}
}

// AddRange adds free addresses to group.
func (p *Pool) AddRange(group string, ips ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ip := range ips {
		p.free[group] = append(p.free[group], ip)
		p.group[ip] = group
	}
}

// MarkUsed records ip (of group) as allocated (parking addresses of
// racked servers).
func (p *Pool) MarkUsed(group, ip, note string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.group[ip] = group
	p.free[group] = slices.DeleteFunc(p.free[group], func(x string) bool { return x == ip })
	p.used[ip] = alloc{group: group, note: note}
}

// Used returns the allocated addresses by group.
func (p *Pool) Used() map[string][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string][]string{}
	for ip, a := range p.used {
		out[a.group] = append(out[a.group], ip)
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// Calls returns the number of calls made.
func (p *Pool) Calls() int64 { return p.calls.Load() }

func (p *Pool) call(ctx context.Context, method string) (func(), error) {
	p.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.BeforeCall != nil {
		if err := p.BeforeCall(method); err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	return func() {
		p.mu.Unlock()
		if p.AfterCall != nil {
			p.AfterCall(method)
		}
	}, nil
}

// Allocate implements provision.IPPool.
func (p *Pool) Allocate(ctx context.Context, family, group, domain, note string) (string, error) {
	done, err := p.call(ctx, "Allocate")
	if err != nil {
		return "", err
	}
	defer done()
	for i, ip := range p.free[group] {
		if (family == "ipv6") != (len(ip) > 15 || slices.Contains([]byte(ip), ':')) {
			continue
		}
		p.free[group] = slices.Delete(p.free[group], i, i+1)
		p.used[ip] = alloc{group: group, domain: domain, note: note}
		return ip, nil
	}
	return "", fmt.Errorf("fakepanel: no free %s address in group %q", family, group)
}

// FindByNote implements provision.IPPool.
func (p *Pool) FindByNote(ctx context.Context, note string) ([]string, error) {
	done, err := p.call(ctx, "FindByNote")
	if err != nil {
		return nil, err
	}
	defer done()
	var out []string
	for ip, a := range p.used {
		if a.note == note {
			out = append(out, ip)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Release implements provision.IPPool (no-op for a free address).
func (p *Pool) Release(ctx context.Context, ip string) error {
	done, err := p.call(ctx, "Release")
	if err != nil {
		return err
	}
	defer done()
	a, ok := p.used[ip]
	if !ok {
		return nil
	}
	delete(p.used, ip)
	p.free[a.group] = append(p.free[a.group], ip)
	return nil
}

// ChangeGroup implements provision.IPPool.
func (p *Pool) ChangeGroup(ctx context.Context, ip, group string) error {
	done, err := p.call(ctx, "ChangeGroup")
	if err != nil {
		return err
	}
	defer done()
	if a, ok := p.used[ip]; ok {
		a.group = group
		p.used[ip] = a
	}
	p.group[ip] = group
	return nil
}

// ErrNameTaken is the hosting fake's "user exists" error.
var ErrNameTaken = errors.New("fakepanel: user exists")

// Hosting is a fake ISPmanager.
type Hosting struct {
	mu      sync.Mutex
	users   map[string]*Account
	presets map[string]map[string]string
	// Shadow lists names that UserExists reports free but CreateUser
	// refuses (a concurrent creation elsewhere).
	Shadow []string
	calls  atomic.Int64
	// AfterCall, when set, runs after every successful call.
	AfterCall func(method string)
}

// Account is a fake hosting account.
type Account struct {
	provision.HostingAccount
	Suspended bool
}

// NewHosting returns an empty fake.
func NewHosting() *Hosting {
	return &Hosting{users: map[string]*Account{}, presets: map[string]map[string]string{}}
}

// AddPreset adds a template.
func (h *Hosting) AddPreset(name string, limits map[string]string) {
	h.mu.Lock()
	h.presets[name] = limits
	h.mu.Unlock()
}

// AddUser adds an existing account.
func (h *Hosting) AddUser(name string) {
	h.mu.Lock()
	h.users[name] = &Account{HostingAccount: provision.HostingAccount{Name: name}}
	h.mu.Unlock()
}

// User returns an account.
func (h *Hosting) User(name string) (Account, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.users[name]
	if !ok {
		return Account{}, false
	}
	return *a, true
}

// Calls returns the number of calls made.
func (h *Hosting) Calls() int64 { return h.calls.Load() }

func (h *Hosting) call(ctx context.Context, method string) (func(), error) {
	h.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	return func() {
		h.mu.Unlock()
		if h.AfterCall != nil {
			h.AfterCall(method)
		}
	}, nil
}

// UserExists implements provision.HostingBackend.
func (h *Hosting) UserExists(ctx context.Context, name string) (bool, error) {
	done, err := h.call(ctx, "UserExists")
	if err != nil {
		return false, err
	}
	defer done()
	_, ok := h.users[name]
	return ok, nil
}

// CreateUser implements provision.HostingBackend.
func (h *Hosting) CreateUser(ctx context.Context, a provision.HostingAccount) error {
	done, err := h.call(ctx, "CreateUser")
	if err != nil {
		return err
	}
	defer done()
	if _, ok := h.users[a.Name]; ok || slices.Contains(h.Shadow, a.Name) {
		return fmt.Errorf("create %q: %w", a.Name, ErrNameTaken)
	}
	if _, ok := h.presets[a.Preset]; !ok && a.Preset != "" {
		h.presets[a.Preset] = map[string]string{}
	}
	h.users[a.Name] = &Account{HostingAccount: a}
	return nil
}

func (h *Hosting) user(name string) (*Account, error) {
	a, ok := h.users[name]
	if !ok {
		return nil, fmt.Errorf("fakepanel: user %q not found", name)
	}
	return a, nil
}

// SuspendUser implements provision.HostingBackend.
func (h *Hosting) SuspendUser(ctx context.Context, name string) error {
	done, err := h.call(ctx, "SuspendUser")
	if err != nil {
		return err
	}
	defer done()
	a, err := h.user(name)
	if err == nil {
		a.Suspended = true
	}
	return err
}

// ResumeUser implements provision.HostingBackend.
func (h *Hosting) ResumeUser(ctx context.Context, name string) error {
	done, err := h.call(ctx, "ResumeUser")
	if err != nil {
		return err
	}
	defer done()
	a, err := h.user(name)
	if err == nil {
		a.Suspended = false
	}
	return err
}

// DeleteUser implements provision.HostingBackend.
func (h *Hosting) DeleteUser(ctx context.Context, name string) error {
	done, err := h.call(ctx, "DeleteUser")
	if err != nil {
		return err
	}
	defer done()
	if _, err := h.user(name); err != nil {
		return err
	}
	delete(h.users, name)
	return nil
}

// SetPassword implements provision.HostingBackend.
func (h *Hosting) SetPassword(ctx context.Context, name, password string) error {
	done, err := h.call(ctx, "SetPassword")
	if err != nil {
		return err
	}
	defer done()
	a, err := h.user(name)
	if err == nil {
		a.Password = password
	}
	return err
}

// LoginURL implements provision.HostingBackend.
func (h *Hosting) LoginURL(ctx context.Context, name string) (string, error) {
	done, err := h.call(ctx, "LoginURL")
	if err != nil {
		return "", err
	}
	defer done()
	if _, err := h.user(name); err != nil {
		return "", err
	}
	return "https://isp.example/ispmgr?func=auth&username=" + name + "&key=K", nil
}

// PresetLimits implements provision.HostingBackend.
func (h *Hosting) PresetLimits(ctx context.Context, preset string) (map[string]string, error) {
	done, err := h.call(ctx, "PresetLimits")
	if err != nil {
		return nil, err
	}
	defer done()
	out := map[string]string{}
	for k, v := range h.presets[preset] {
		out[k] = v
	}
	return out, nil
}

// IsNameTaken implements provision.HostingBackend.
func (h *Hosting) IsNameTaken(err error) bool { return errors.Is(err, ErrNameTaken) }

var (
	_ provision.DedicatedBackend = (*DC)(nil)
	_ provision.IPPool           = (*Pool)(nil)
	_ provision.HostingBackend   = (*Hosting)(nil)
)
