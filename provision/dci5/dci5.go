// Package dci5 adapts the dcimanager5 client to provision.DedicatedBackend.
//
// Mapping and choices:
//   - server ids and user ids are the panel's numeric ids as decimal
//     strings; Server.Config is the chassis template, Faulty is blocked or
//     hardware problem, the install state comes from the
//     install_in_progress / operation_failed flags (no percentage: -1);
//   - SetDomain sets the domain of every address of the server (the
//     hostname is the main address's domain);
//   - SetOwner("") writes owner=no_owner; notes and owner changes keep the
//     other form fields (read-modify-write);
//   - SetPorts switches every Switch connection whose status is not
//     already the one asked for (server.connection.on/off), and keeps the
//     connection list it read for the server's DescribeRow;
//   - ServerIP.Main is the address equal to the server list's main IP;
//   - AdminUserID looks the integration's own login up in the user list
//     (cached);
//   - SetUserPassword calls Users.SetPassword (user.edit with elid,
//     passwd and confirm: the COREmanager convention, since no public
//     source names DCImanager 5's password-change function; an assumption,
//     recorded in the dcimanager5 wire ledger under user.edit).
//
// Reads. DCImanager 5 has no call that reads one server: GetServer reads
// the whole list (func=server). The rules that keep an order's reads of
// it few:
//   - every GetServer and ListServers answer comes from a list request
//     that started after the caller asked (the lister joins concurrent
//     callers into one request, never into one already running), so a
//     read after this adapter's write sees the write;
//   - the Backend is a provision.RowReader: the engine's run keeps the
//     row it read last (after its last write to the server, in its memory
//     only; see the provision package's gate) and hands it to ListIPsOf
//     (one iplist request, Main from the row's ip), SetDomainOf
//     (iplist.edit per address of the run's list, no iplist), DescribeRow
//     (the edit form unless the row has the MAC, and the Switch and IPMI
//     connections' forms, from the list SetPorts read when it has one) and InstallStatusOf
//     (the row's install flags). Without event subscribers the engine polls an
//     install with GetServer and InstallStatusOf; the progress hint
//     (InstallStatus: func=server clickstat=title) is asked only while
//     someone listens;
//   - the per-server calls are the narrower ones where the panel has them:
//     the edit form (server.edit: owner, name, mac, notes, type,
//     disabled), iplist elid=N, server.connection elid=N;
//   - an owner change decided from a kept row is conditional
//     (provision.OwnerSwapper): SwapOwner checks the owner field of the
//     edit form that the read-modify-write reads anyway, and writes
//     nothing when it is not the owner the row showed
//     (provision.ErrOwnerChanged: the step reads the list again). A fresh
//     form read before an owner write is as safe as a list read;
//   - FindUser reads the whole user list (func=user): no public source
//     shows a narrower user look-up in DCImanager 5, and user names are
//     not cached (a customer's user may be created or removed by staff).
package dci5

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/provision"
)

// Backend is a provision.DedicatedBackend over a DCImanager 5 client.
type Backend struct {
	c     *dcimanager5.Client
	admin string

	mu      sync.Mutex
	adminID string

	servers lister[[]dcimanager5.Server]

	// conns are connection lists SetPorts read, kept for DescribeRow.
	conns connMemo
}

// connMemo keeps the connection list SetPorts read of a server for the
// server's next DescribeRow (an order switches the ports on, then
// describes the server at its activation): the list names the
// connections whose edit forms hold the switch port and the IPMI address,
// and a server's wiring changes rarely. An entry is taken once, and is
// not taken when older than connMemoTTL; the memo holds at most
// connMemoMax servers.
type connMemo struct {
	mu sync.Mutex
	m  map[int64]connEntry
}

type connEntry struct {
	conns []dcimanager5.Connection
	at    time.Time
}

const (
	connMemoTTL = time.Hour
	connMemoMax = 4096
)

func (c *connMemo) keep(server int64, conns []dcimanager5.Connection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= connMemoMax {
		c.m = map[int64]connEntry{} // orders that never reached activation
	}
	c.m[server] = connEntry{conns: conns, at: time.Now()}
}

func (c *connMemo) take(server int64) ([]dcimanager5.Connection, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[server]
	delete(c.m, server)
	return e.conns, ok && time.Since(e.at) < connMemoTTL
}

var (
	_ provision.DedicatedBackend  = (*Backend)(nil)
	_ provision.ServerDescriber   = (*Backend)(nil)
	_ provision.RowReader         = (*Backend)(nil)
	_ provision.OwnerSwapper      = (*Backend)(nil)
	_ provision.OSTemplateChecker = (*Backend)(nil)
	_ provision.SwitchPortReader  = (*Backend)(nil)
)

// New returns a Backend using c, an administrator's client whose login is
// adminName. Give c its rate limit and logger options
// (dcimanager5.WithRateLimit, dcimanager5.WithLogger).
func New(c *dcimanager5.Client, adminName string) *Backend {
	return &Backend{c: c, admin: adminName}
}

func parseID(kind, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("dci5: bad %s id %q", kind, s)
	}
	return id, nil
}

func convert(s dcimanager5.Server) provision.Server {
	owner := s.OwnerName
	if s.Owner != 0 {
		owner = strconv.FormatInt(s.Owner, 10)
	}
	return provision.Server{
		ID: strconv.FormatInt(s.ID, 10), Name: s.Name, Hostname: s.Hostname, IP: s.IP, OwnerID: owner,
		Config: s.ChassisTemplate, Type: s.Type, Faulty: s.Blocked || s.HWProblem, DiagInProgress: s.DiagInProgress,
		Disabled: s.Disabled, PoweredOn: s.PowerOn, Installing: s.InstallInProgress, InstallFailed: s.OperationFailed,
		IPMIAddress: s.IPMI,
	}
}

// ListServers lists every server.
func (b *Backend) ListServers(ctx context.Context) ([]provision.Server, error) {
	all, err := b.list(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]provision.Server, len(all))
	for i, s := range all {
		out[i] = convert(s)
	}
	return out, nil
}

// GetServer reads one server from the list.
func (b *Backend) GetServer(ctx context.Context, id string) (provision.Server, error) {
	n, err := parseID("server", id)
	if err != nil {
		return provision.Server{}, err
	}
	all, err := b.list(ctx)
	if err != nil {
		return provision.Server{}, err
	}
	for _, s := range all {
		if s.ID == n {
			return convert(s), nil
		}
	}
	return provision.Server{}, fmt.Errorf("dci5: server %d: %w", n, dcimanager5.ErrNotFound)
}

// list reads the server list, sharing the request with concurrent readers
// (see lister); DCImanager 5 can only read a server through the list.
func (b *Backend) list(ctx context.Context) ([]dcimanager5.Server, error) {
	return b.servers.get(ctx, b.c.Servers.List)
}

// DescribeServer is GetServer plus the MAC (edit form), the switch port and
// the IPMI address (connections).
func (b *Backend) DescribeServer(ctx context.Context, id string) (provision.Server, error) {
	s, err := b.GetServer(ctx, id)
	if err != nil {
		return s, err
	}
	return b.DescribeRow(ctx, s)
}

// DescribeRow is DescribeServer from row s (a row the caller holds): the
// MAC (edit form, unless s has it), the switch port and the IPMI address
// (connections), without reading the list.
func (b *Backend) DescribeRow(ctx context.Context, s provision.Server) (provision.Server, error) {
	n, err := parseID("server", s.ID)
	if err != nil {
		return s, err
	}
	if s.MAC == "" { // a row from SwapOwner has it
		if f, err := b.c.Servers.Form(ctx, n); err == nil {
			s.MAC = f.MAC
		} else {
			return s, err
		}
	}
	var sum *dcimanager5.Summary
	if conns, ok := b.conns.take(n); ok {
		// The list SetPorts read: its connections' edit forms are read
		// now, so only a connection added since is missed.
		sum, err = b.c.Connections.SummaryOf(ctx, n, conns)
		if dcimanager5.IsNotFound(err) {
			sum, err = b.c.Connections.Summary(ctx, n) // rewired since
		}
	} else {
		sum, err = b.c.Connections.Summary(ctx, n)
	}
	if err != nil {
		return s, err
	}
	s.SwitchPort = sum.SwitchPort
	if sum.IPMIAddress != "" {
		s.IPMIAddress = sum.IPMIAddress
	}
	return s, nil
}

// SetOwner sets the owner; an empty userID clears it (owner=no_owner).
func (b *Backend) SetOwner(ctx context.Context, serverID, userID string) error {
	n, err := parseID("server", serverID)
	if err != nil {
		return err
	}
	if userID == "" {
		return b.c.Servers.ClearOwner(ctx, n)
	}
	u, err := parseID("user", userID)
	if err != nil {
		return err
	}
	return b.c.Servers.SetOwner(ctx, n, u)
}

// SwapOwner sets the owner of server s.ID to userID ("" clears it) if
// the owner field of its edit form, which the owner change reads anyway
// (read-modify-write), is s.OwnerID ("" none): the condition costs no
// request. An owner already userID writes nothing; any other owner writes
// nothing and returns an error matching provision.ErrOwnerChanged. An
// OwnerID that is not a numeric id (a list showing owner names) only asks
// for some owner. It returns s with the owner set and the form's MAC, so
// DescribeRow need not read the form again.
func (b *Backend) SwapOwner(ctx context.Context, s provision.Server, userID string) (provision.Server, error) {
	n, err := parseID("server", s.ID)
	if err != nil {
		return s, err
	}
	var to int64
	if userID != "" {
		if to, err = parseID("user", userID); err != nil {
			return s, err
		}
	}
	match := func(o int64) bool { return o == 0 }
	if from := s.OwnerID; from != "" {
		if id, err := strconv.ParseInt(from, 10, 64); err == nil {
			match = func(o int64) bool { return o == id }
		} else {
			match = func(o int64) bool { return o != 0 }
		}
	}
	var mac string
	_, err = b.c.Servers.Update(ctx, n, dcimanager5.ServerUpdate{Owner: &to, Check: func(f *dcimanager5.ServerForm) error {
		mac = f.MAC
		switch {
		case f.Owner == to:
			return errSameOwner
		case match(f.Owner):
			return nil
		}
		return fmt.Errorf("dci5: server %d: owner %d, read as %q: %w", n, f.Owner, s.OwnerID, provision.ErrOwnerChanged)
	}})
	if err != nil && !errors.Is(err, errSameOwner) {
		return s, err
	}
	s.OwnerID, s.MAC = userID, mac
	return s, nil
}

// errSameOwner stops SwapOwner's update: the owner already is the one
// asked for.
var errSameOwner = errors.New("dci5: owner unchanged")

// SetDomain sets the domain of every address of the server.
func (b *Backend) SetDomain(ctx context.Context, serverID, domain string) error {
	n, err := parseID("server", serverID)
	if err != nil {
		return err
	}
	return b.c.IPs.SetAllDomains(ctx, n, domain)
}

// SetDomainOf is SetDomain over the addresses ips the caller listed
// (ListIPsOf): iplist.edit for each whose domain differs.
func (b *Backend) SetDomainOf(ctx context.Context, s provision.Server, ips []provision.ServerIP, domain string) error {
	n, err := parseID("server", s.ID)
	if err != nil {
		return err
	}
	for _, x := range ips {
		if x.Domain == domain {
			continue
		}
		id, err := parseID("ip", x.ID)
		if err != nil {
			return err
		}
		if err := b.c.IPs.SetDomain(ctx, n, id, domain); err != nil {
			return fmt.Errorf("dci5: set domain of %s: %w", x.IP, err)
		}
	}
	return nil
}

// SetNotes writes the server's notes.
func (b *Backend) SetNotes(ctx context.Context, serverID, notes string) error {
	n, err := parseID("server", serverID)
	if err != nil {
		return err
	}
	_, err = b.c.Servers.Update(ctx, n, dcimanager5.ServerUpdate{Notes: &notes})
	return err
}

// Enable unblocks the server.
func (b *Backend) Enable(ctx context.Context, serverID string) error {
	n, err := parseID("server", serverID)
	if err != nil {
		return err
	}
	return b.c.Servers.Enable(ctx, n)
}

// Disable blocks the server.
func (b *Backend) Disable(ctx context.Context, serverID string) error {
	n, err := parseID("server", serverID)
	if err != nil {
		return err
	}
	return b.c.Servers.Disable(ctx, n)
}

// PowerOn starts powering the server on (asynchronous).
func (b *Backend) PowerOn(ctx context.Context, serverID string) error {
	n, err := parseID("server", serverID)
	if err != nil {
		return err
	}
	return b.c.Servers.PowerOn(ctx, n)
}

// PowerOff starts powering the server off (asynchronous).
func (b *Backend) PowerOff(ctx context.Context, serverID string) error {
	n, err := parseID("server", serverID)
	if err != nil {
		return err
	}
	return b.c.Servers.PowerOff(ctx, n)
}

// SetPorts switches the server's Switch connections on or off
// (server.connection, then server.connection.on or .off for each Switch
// connection). A connection whose status column already shows the state
// asked for, with no command in progress, is left alone: the status is
// what SwitchPortStatus verifies a suspension by, so it is trusted here
// too. The list read is kept for the server's next DescribeRow.
func (b *Backend) SetPorts(ctx context.Context, serverID string, on bool) error {
	n, err := parseID("server", serverID)
	if err != nil {
		return err
	}
	conns, err := b.c.Connections.List(ctx, n)
	if err != nil {
		return err
	}
	want := "off"
	if on {
		want = "on"
	}
	for _, c := range conns {
		if !strings.EqualFold(c.Type, dcimanager5.ConnectionSwitch) ||
			(!c.InProgress && strings.EqualFold(c.Status, want)) {
			continue
		}
		if on {
			err = b.c.Connections.On(ctx, n, c.ID)
		} else {
			err = b.c.Connections.Off(ctx, n, c.ID)
		}
		if err != nil {
			return err
		}
	}
	b.conns.keep(n, conns)
	return nil
}

// Install starts an OS install (server.operations operation=ostemplate).
func (b *Backend) Install(ctx context.Context, serverID string, spec provision.InstallSpec) error {
	n, err := parseID("server", serverID)
	if err != nil {
		return err
	}
	return b.c.Servers.Install(ctx, n, dcimanager5.InstallRequest{Template: spec.Template, Password: spec.Password, Recipe: spec.Recipe, Hostname: spec.Hostname})
}

// InstallStatus asks the panel's install progress hint first
// (Servers.InstallProgress: one small answer about one server, where the
// server list holds every server of the data center). A hint with a
// percentage below 100 means the install runs: that is the answer. Any
// other hint (none, no percentage, 100 %, an error) is settled by the
// install flags of the server's list row (install_in_progress,
// operation_failed), which stay the authority; Percent and Message come
// from the hint when it has them (Percent -1 otherwise). The vendor's Node
// client reads the hint as its install status the same way.
func (b *Backend) InstallStatus(ctx context.Context, serverID string) (provision.InstallStatus, error) {
	n, err := parseID("server", serverID)
	if err != nil {
		return provision.InstallStatus{}, err
	}
	hint, herr := b.c.Servers.InstallProgress(ctx, n)
	if herr == nil && hint.Percent >= 0 && hint.Percent < 100 {
		return provision.InstallStatus{Running: true, Percent: hint.Percent, Message: hint.Text}, nil
	}
	s, err := b.GetServer(ctx, serverID)
	if err != nil {
		return provision.InstallStatus{}, err
	}
	st := b.InstallStatusOf(s)
	if st.Running && herr == nil {
		st.Percent, st.Message = hint.Percent, hint.Text
	}
	return st, nil
}

// InstallStatusOf is the install state of list row s: its
// install_in_progress and operation_failed flags, without the progress
// hint (Percent -1).
func (b *Backend) InstallStatusOf(s provision.Server) provision.InstallStatus {
	st := provision.InstallStatus{Running: s.Installing, Failed: s.InstallFailed, Percent: -1}
	if st.Failed {
		st.Message = "DCImanager reports operation_failed"
	}
	return st
}

// ListIPs lists the server's addresses; Main marks the list's main IP.
func (b *Backend) ListIPs(ctx context.Context, serverID string) ([]provision.ServerIP, error) {
	s, err := b.GetServer(ctx, serverID)
	if err != nil {
		return nil, err
	}
	return b.ListIPsOf(ctx, s)
}

// ListIPsOf is ListIPs with the main IP from row s (a list row the caller
// holds): one iplist request.
func (b *Backend) ListIPsOf(ctx context.Context, s provision.Server) ([]provision.ServerIP, error) {
	n, err := parseID("server", s.ID)
	if err != nil {
		return nil, err
	}
	ips, err := b.c.IPs.List(ctx, n)
	if err != nil {
		return nil, err
	}
	out := make([]provision.ServerIP, len(ips))
	for i, x := range ips {
		out[i] = provision.ServerIP{ID: strconv.FormatInt(x.ID, 10), IP: x.Address, Family: x.Family, Domain: x.Domain, Main: x.Address == s.IP}
	}
	return out, nil
}

// AddIP assigns an address (empty ip: the panel allocates one from group).
func (b *Backend) AddIP(ctx context.Context, serverID, family, group, ip, domain string) (provision.ServerIP, error) {
	n, err := parseID("server", serverID)
	if err != nil {
		return provision.ServerIP{}, err
	}
	x, err := b.c.IPs.Add(ctx, n, dcimanager5.IPAddRequest{Address: ip, Family: family, Group: group, Domain: domain})
	if err != nil {
		return provision.ServerIP{}, err
	}
	return provision.ServerIP{ID: strconv.FormatInt(x.ID, 10), IP: x.Address, Family: x.Family, Domain: x.Domain}, nil
}

// RemoveIP deletes an address of the server; a missing one is not an error.
func (b *Backend) RemoveIP(ctx context.Context, serverID, ipID string) error {
	n, err := parseID("server", serverID)
	if err != nil {
		return err
	}
	id, err := parseID("ip", ipID)
	if err != nil {
		return err
	}
	if err := b.c.IPs.Delete(ctx, n, id); err != nil && !dcimanager5.IsNotFound(err) {
		return err
	}
	return nil
}

// FindUser looks a user up by name.
func (b *Backend) FindUser(ctx context.Context, name string) (string, bool, error) {
	u, err := b.c.Users.FindByName(ctx, name)
	if err != nil {
		if dcimanager5.IsNotFound(err) {
			return "", false, nil
		}
		return "", false, err
	}
	return strconv.FormatInt(u.ID, 10), true, nil
}

// CreateUser creates an ordinary user (level lvUser).
func (b *Backend) CreateUser(ctx context.Context, name, password string) (string, error) {
	u, err := b.c.Users.Create(ctx, dcimanager5.UserCreateRequest{Name: name, Password: password})
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(u.ID, 10), nil
}

// SetUserPassword sets the login password of panel user userID (the
// server's owner), through Users.SetPassword.
func (b *Backend) SetUserPassword(ctx context.Context, userID, password string) error {
	id, err := parseID("user", userID)
	if err != nil {
		return err
	}
	return b.c.Users.SetPassword(ctx, id, password)
}

// AdminUserID returns the id of the integration's login (cached).
func (b *Backend) AdminUserID(ctx context.Context) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.adminID != "" {
		return b.adminID, nil
	}
	if b.admin == "" {
		return "", errors.New("dci5: the administrator's login name is not configured")
	}
	u, err := b.c.Users.FindByName(ctx, b.admin)
	if err != nil {
		return "", err
	}
	b.adminID = strconv.FormatInt(u.ID, 10)
	return b.adminID, nil
}

// LoginURL returns a one-time login link for the user.
func (b *Backend) LoginURL(ctx context.Context, userName string) (string, error) {
	return b.c.Users.LoginURL(ctx, userName)
}

// HasOSTemplate reports whether the panel's OS template list (osmgr) has
// template, by its id ("<repository>__<name>", what Install sends).
func (b *Backend) HasOSTemplate(ctx context.Context, template string) (bool, error) {
	ts, err := b.c.OSTemplates.List(ctx)
	if err != nil {
		return false, err
	}
	for _, t := range ts {
		if t.ID == template {
			return true, nil
		}
	}
	return false, nil
}

// SwitchPortStatus reads the server's Switch connections
// (server.connection): the status column on or off, a connection with a
// command in progress (func_in_progress) or another status is Busy.
func (b *Backend) SwitchPortStatus(ctx context.Context, serverID string) (provision.PortStatus, error) {
	n, err := parseID("server", serverID)
	if err != nil {
		return provision.PortStatus{}, err
	}
	conns, err := b.c.Connections.List(ctx, n)
	if err != nil {
		return provision.PortStatus{}, err
	}
	var st provision.PortStatus
	for _, c := range conns {
		if !strings.EqualFold(c.Type, dcimanager5.ConnectionSwitch) {
			continue
		}
		switch {
		case c.InProgress:
			st.Busy++
		case strings.EqualFold(c.Status, "on"):
			st.On++
		case strings.EqualFold(c.Status, "off"):
			st.Off++
		default:
			st.Busy++
		}
	}
	return st, nil
}
