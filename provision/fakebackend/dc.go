package fakebackend

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
var ErrFault = errors.New("fakebackend: injected fault")

// DC is a fake dedicated-server panel.
type DC struct {
	mu      sync.Mutex
	servers map[string]*server
	order   []string
	users   map[string]string // name -> id
	pw      map[string]string // id -> password
	nextIP  int
	nextID  int
	// templates are the panel's OS templates (nil: not told, any goes).
	templates []string

	// PowerDelay and InstallDelay are how long power-on and installs take
	// (set them before the fake is used).
	PowerDelay   time.Duration
	InstallDelay time.Duration
	// Clock, when set, is the fake's time (share it with
	// provision.Config.Clock); default time.Now.
	Clock func() time.Time
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

func (d *DC) now() time.Time {
	if d.Clock != nil {
		return d.Clock()
	}
	return time.Now()
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
			return nil, fmt.Errorf("fakebackend: server %q not found", id)
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
	now := d.now()
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
		s.powerAt = d.now().Add(d.PowerDelay)
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
		return errors.New("fakebackend: switch port cannot be enabled on a disabled server")
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
		return errors.New("fakebackend: server is powered off")
	}
	if s.installing {
		return errors.New("fakebackend: an operation is running")
	}
	if spec.Template == "" || spec.Password == "" {
		return errors.New("fakebackend: template and password are required")
	}
	if d.templates != nil && !slices.Contains(d.templates, spec.Template) {
		return fmt.Errorf("fakebackend: no OS template %q", spec.Template)
	}
	s.installing, s.InstallFailed = true, false
	s.installAt = d.now().Add(d.InstallDelay)
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
		left := s.installAt.Sub(d.now())
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
				return provision.ServerIP{}, fmt.Errorf("fakebackend: address %s is in use", ip)
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
		return "", fmt.Errorf("fakebackend: user %q exists", name)
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

var _ provision.DedicatedBackend = (*DC)(nil)

// SetOSTemplates gives the panel its OS templates: installs of any other
// template fail, and HasOSTemplate answers from the list. Until it is
// called the fake installs any template and HasOSTemplate cannot tell.
func (d *DC) SetOSTemplates(names ...string) {
	d.mu.Lock()
	d.templates = append([]string{}, names...)
	d.mu.Unlock()
}

// HasOSTemplate implements provision.OSTemplateChecker (ErrUnsupported
// until SetOSTemplates is called).
func (d *DC) HasOSTemplate(ctx context.Context, template string) (bool, error) {
	done, err := d.call(ctx, "HasOSTemplate", "")
	if err != nil {
		return false, err
	}
	defer done()
	if d.templates == nil {
		return false, fmt.Errorf("fakebackend: no OS template list: %w", provision.ErrUnsupported)
	}
	return slices.Contains(d.templates, template), nil
}

var _ provision.OSTemplateChecker = (*DC)(nil)

// SwitchPortStatus implements provision.SwitchPortReader: one port per
// server.
func (d *DC) SwitchPortStatus(ctx context.Context, id string) (provision.PortStatus, error) {
	done, err := d.call(ctx, "SwitchPortStatus", id)
	if err != nil {
		return provision.PortStatus{}, err
	}
	defer done()
	if d.servers[id].portsOn {
		return provision.PortStatus{On: 1}, nil
	}
	return provision.PortStatus{Off: 1}, nil
}

var _ provision.SwitchPortReader = (*DC)(nil)
