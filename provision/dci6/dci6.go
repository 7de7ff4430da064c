package dci6

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/provision"
)

// UnsupportedError is returned by calls the DCImanager 6 client cannot
// carry out (see the package doc). errors.Is(err,
// provision.ErrUnsupported) is true for it.
type UnsupportedError struct {
	// Op is the backend method, e.g. "AddIP".
	Op string
	// Reason says what is missing.
	Reason string
}

// Error implements error.
func (e *UnsupportedError) Error() string {
	return "dci6: " + e.Op + " is not supported: " + e.Reason
}

// Unwrap returns provision.ErrUnsupported.
func (e *UnsupportedError) Unwrap() error { return provision.ErrUnsupported }

// ErrAdminAccount is returned (wrapped) when a provision user name maps to
// the integration's admin e-mail or to a DCImanager 6 administrator.
var ErrAdminAccount = errors.New("dci6: the user name maps to an administrator account")

func unsupported(op, reason string) error { return &UnsupportedError{Op: op, Reason: reason} }

type config struct {
	location   int64
	locationFn func() (int64, error) // CatalogLocation
	adminEmail string
	userDomain string
	userEmail  func(string) string
	ports      bool
	notes      func(ctx context.Context, serverID, notes string) error
}

// Option configures a Backend.
type Option func(*config) error

// Location sets the DCImanager 6 location id (BILLmanager's "data
// center"); only its servers are listed. Required.
func Location(id int64) Option {
	return func(c *config) error {
		if id <= 0 {
			return fmt.Errorf("dci6: location id %d: must be positive", id)
		}
		c.location = id
		return nil
	}
}

// CatalogLocation takes the location from the catalog: the DCImanager 6
// location of the data center module belongs to (billing.Catalog.LocationID),
// BILLmanager's "DCImanager 6 Location ID" of a "DCImanager 6 managed" data
// center. It is read again on every ListServers, so a location changed with
// Catalog.UpdateDataCenter applies to the next orders, and the location is
// written in one place only. New fails when the module is not in a
// DCImanager 6 managed data center. Use either Location or CatalogLocation.
func CatalogLocation(cat *billing.Catalog, module string) Option {
	return func(c *config) error {
		if cat == nil {
			return errors.New("dci6: CatalogLocation: nil catalog")
		}
		c.locationFn = func() (int64, error) { return cat.LocationID(module) }
		return nil
	}
}

// AdminEmail sets the e-mail of the integration's admin user, the owner
// of reserved servers. Without it AdminUserID is the client's session
// user (Auth.Whoami).
func AdminEmail(email string) Option {
	return func(c *config) error {
		if !validEmail(email) {
			return fmt.Errorf("dci6: admin e-mail %q is not an e-mail address", email)
		}
		c.adminEmail = email
		return nil
	}
}

// UserDomain sets the domain of the default user e-mail derivation:
// a provision user name becomes strings.ToLower(name) + "@" + domain.
func UserDomain(domain string) Option {
	return func(c *config) error {
		domain = strings.TrimPrefix(strings.TrimSpace(domain), "@")
		if domain == "" || strings.ContainsAny(domain, "@ /?#\r\n\t") {
			return fmt.Errorf("dci6: user domain %q is not a domain", domain)
		}
		c.userDomain = strings.ToLower(domain)
		return nil
	}
}

// UserEmail replaces the derivation of a DCImanager 6 e-mail from a
// provision user name. fn must be deterministic: the same name must give
// the same e-mail on every call.
func UserEmail(fn func(username string) string) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("dci6: UserEmail: nil function")
		}
		c.userEmail = fn
		return nil
	}
}

// PortToggle turns switch-port control on (the default) or off. Off makes
// SetPorts, Enable and Disable no-ops, for data centers whose switches
// DCImanager 6 does not manage.
func PortToggle(on bool) Option {
	return func(c *config) error {
		c.ports = on
		return nil
	}
}

// NotesSink makes SetNotes call fn instead of failing with an
// *UnsupportedError (DCImanager 6 servers have no notes field the client
// can write). fn may log the notes or file them elsewhere.
func NotesSink(fn func(ctx context.Context, serverID, notes string) error) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("dci6: NotesSink: nil function")
		}
		c.notes = fn
		return nil
	}
}

// Backend is a provision.DedicatedBackend over a DCImanager 6 client. It
// is safe for concurrent use.
type Backend struct {
	c   *dcimanager6.Client
	cfg config

	mu       sync.Mutex
	adminID  string
	installs map[int64]int64 // server id → operation id started by Install
}

var _ provision.DedicatedBackend = (*Backend)(nil)

// New returns a Backend using c, an administrator's client (give c its
// rate limit and logger options). Location (or CatalogLocation) and one of
// UserDomain or UserEmail are required.
func New(c *dcimanager6.Client, opts ...Option) (*Backend, error) {
	if c == nil {
		return nil, errors.New("dci6: nil client")
	}
	cfg := config{ports: true}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg.location != 0 && cfg.locationFn != nil:
		return nil, errors.New("dci6: use Location or CatalogLocation, not both (the location belongs in one place)")
	case cfg.locationFn != nil:
		if _, err := cfg.locationFn(); err != nil {
			return nil, fmt.Errorf("dci6: CatalogLocation: %w", err)
		}
	case cfg.location == 0:
		return nil, errors.New("dci6: Location is required (the module's DCImanager 6 location id)")
	}
	if cfg.userEmail == nil && cfg.userDomain == "" {
		return nil, errors.New("dci6: UserDomain or UserEmail is required (DCImanager 6 users are e-mail addresses)")
	}
	return &Backend{c: c, cfg: cfg, installs: map[int64]int64{}}, nil
}

// UserEmailFor returns the DCImanager 6 e-mail a provision user name maps
// to, or an error when the result is not an e-mail address.
func (b *Backend) UserEmailFor(username string) (string, error) {
	var email string
	if b.cfg.userEmail != nil {
		email = b.cfg.userEmail(username)
	} else {
		if username == "" {
			return "", errors.New("dci6: empty user name")
		}
		email = strings.ToLower(username) + "@" + b.cfg.userDomain
	}
	if !validEmail(email) {
		return "", fmt.Errorf("dci6: user name %q maps to %q, not an e-mail address", username, email)
	}
	if b.cfg.adminEmail != "" && strings.EqualFold(email, b.cfg.adminEmail) {
		return "", fmt.Errorf("dci6: user name %q maps to %s: %w", username, email, ErrAdminAccount)
	}
	return email, nil
}

func validEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Count(s, "@") == 1 && !strings.ContainsAny(s, " /?#\r\n\t")
}

func parseID(kind, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("dci6: bad %s id %q", kind, s)
	}
	return id, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ---- servers ----

func isInstallOp(op *dcimanager6.Operation) bool {
	return op.Name == "" || op.Name == "os_install"
}

func (b *Backend) convert(s *dcimanager6.Server) provision.Server {
	out := provision.Server{
		ID: itoa(s.ID), Name: s.Name, Hostname: s.Domain, Config: s.Configuration,
		PoweredOn: s.PowerStatus == dcimanager6.PowerOn, Location: itoa(s.LocationID),
		DiagInProgress: s.IsNew, Faulty: s.MaintenanceMode || s.Configuration == "",
	}
	switch {
	case s.Owner != 0:
		out.OwnerID = itoa(s.Owner)
	case s.OwnerEmail != "":
		out.OwnerID = s.OwnerEmail
	}
	if out.OwnerID == "" && (s.Domain == "" || s.Domain == provision.FreeHostname) {
		out.Hostname = provision.FreeHostname
	}
	if len(s.IPs) > 0 {
		out.IP = s.IPs[0].Name
	}
	if op := s.Operation; op != nil {
		switch op.Status {
		case dcimanager6.StatusOK:
		case dcimanager6.StatusCanceled:
			out.InstallFailed = isInstallOp(op)
		case dcimanager6.StatusError:
			out.Faulty = true
			out.InstallFailed = isInstallOp(op)
		default: // created, running or unknown: busy
			out.DiagInProgress = true
			out.Installing = isInstallOp(op)
		}
	}
	ports, down := 0, 0
	for _, sc := range s.SwitchConnection {
		if sc.IsIPMIConnection {
			continue
		}
		if ports == 0 {
			out.SwitchPort = strings.TrimSpace(sc.SwitchName + " " + sc.Description)
		}
		ports++
		if sc.AdminStatus == "down" {
			down++
		}
	}
	out.Disabled = b.cfg.ports && ports > 0 && down == ports
	return out
}

// location is the configured location (Location, or the catalog's now).
func (b *Backend) location() (int64, error) {
	if b.cfg.locationFn == nil {
		return b.cfg.location, nil
	}
	id, err := b.cfg.locationFn()
	if err != nil {
		return 0, fmt.Errorf("dci6: the module's location: %w", err)
	}
	return id, nil
}

// ListServers lists the servers of the configured location.
func (b *Backend) ListServers(ctx context.Context) ([]provision.Server, error) {
	loc, err := b.location()
	if err != nil {
		return nil, err
	}
	var out []provision.Server
	for s, err := range b.c.Servers.All(ctx, &dcimanager6.ListOptions{Where: dcimanager6.EQ("location_id", loc)}) {
		if err != nil {
			return nil, err
		}
		out = append(out, b.convert(&s))
	}
	return out, nil
}

// GetServer reads one server.
func (b *Backend) GetServer(ctx context.Context, id string) (provision.Server, error) {
	s, err := b.get(ctx, id)
	if err != nil {
		return provision.Server{}, err
	}
	return b.convert(s), nil
}

func (b *Backend) get(ctx context.Context, id string) (*dcimanager6.Server, error) {
	n, err := parseID("server", id)
	if err != nil {
		return nil, err
	}
	return b.c.Servers.Get(ctx, n)
}

// AdminUserID returns the id of the integration's admin user (cached):
// the AdminEmail user, else the session's user.
func (b *Backend) AdminUserID(ctx context.Context) (string, error) {
	b.mu.Lock()
	id := b.adminID
	b.mu.Unlock()
	if id != "" {
		return id, nil
	}
	if b.cfg.adminEmail != "" {
		u, err := b.c.Users.GetByEmail(ctx, b.cfg.adminEmail)
		if err != nil {
			return "", fmt.Errorf("dci6: admin user %s: %w", b.cfg.adminEmail, err)
		}
		id = itoa(u.ID)
	} else {
		s, err := b.c.Auth.Whoami(ctx)
		if err != nil {
			return "", fmt.Errorf("dci6: admin user (whoami): %w", err)
		}
		if s.ID <= 0 {
			return "", errors.New("dci6: admin user: whoami named no user id; set AdminEmail")
		}
		id = itoa(s.ID)
	}
	b.mu.Lock()
	b.adminID = id
	b.mu.Unlock()
	return id, nil
}

// SetOwner makes userID the owner; an empty userID clears the owner. See
// the package doc for a change from one owner to another.
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
	err = b.c.Servers.SetOwner(ctx, n, u)
	if err == nil || !dcimanager6.IsConflict(err) {
		return err
	}
	s, gerr := b.c.Servers.Get(ctx, n)
	if gerr != nil {
		return err
	}
	if s.Owner == u {
		return nil
	}
	admin, aerr := b.AdminUserID(ctx)
	if aerr != nil {
		return err
	}
	if s.Owner == 0 || (itoa(s.Owner) != admin && userID != admin) {
		return err
	}
	if err := b.c.Servers.ClearOwner(ctx, n); err != nil {
		return fmt.Errorf("dci6: change owner of server %d from %d to %d: clear: %w", n, s.Owner, u, err)
	}
	if err := b.c.Servers.SetOwner(ctx, n, u); err != nil {
		return fmt.Errorf("dci6: change owner of server %d from %d to %d: %w", n, s.Owner, u, err)
	}
	return nil
}

// SetDomain writes the server's domain field.
func (b *Backend) SetDomain(ctx context.Context, serverID, domain string) error {
	n, err := parseID("server", serverID)
	if err != nil {
		return err
	}
	return b.c.Servers.SetDomain(ctx, n, domain)
}

// SetNotes hands the notes to the NotesSink; without one it returns an
// *UnsupportedError.
func (b *Backend) SetNotes(ctx context.Context, serverID, notes string) error {
	if _, err := parseID("server", serverID); err != nil {
		return err
	}
	if b.cfg.notes == nil {
		return unsupported("SetNotes", "DCImanager 6 servers have no notes field the client can write (see NotesSink)")
	}
	return b.cfg.notes(ctx, serverID, notes)
}

// Enable switches the server's ports on (see the package doc).
func (b *Backend) Enable(ctx context.Context, serverID string) error {
	return b.SetPorts(ctx, serverID, true)
}

// Disable switches the server's ports off (see the package doc).
func (b *Backend) Disable(ctx context.Context, serverID string) error {
	return b.SetPorts(ctx, serverID, false)
}

// SetPorts enables or disables every non-IPMI switch port of the server;
// a no-op with PortToggle(false).
func (b *Backend) SetPorts(ctx context.Context, serverID string, on bool) error {
	n, err := parseID("server", serverID)
	if err != nil {
		return err
	}
	if !b.cfg.ports {
		return nil
	}
	if on {
		return b.c.Servers.EnablePorts(ctx, n)
	}
	return b.c.Servers.DisablePorts(ctx, n)
}

// PowerOn starts powering the server on (asynchronous).
func (b *Backend) PowerOn(ctx context.Context, serverID string) error {
	return b.power(ctx, serverID, true)
}

// PowerOff starts powering the server off (asynchronous).
func (b *Backend) PowerOff(ctx context.Context, serverID string) error {
	return b.power(ctx, serverID, false)
}

func (b *Backend) power(ctx context.Context, serverID string, on bool) error {
	n, err := parseID("server", serverID)
	if err != nil {
		return err
	}
	want := dcimanager6.PowerOn
	if on {
		_, err = b.c.Servers.PowerOn(ctx, n)
	} else {
		want = dcimanager6.PowerOff
		_, err = b.c.Servers.PowerOff(ctx, n)
	}
	if err != nil && dcimanager6.IsConflict(err) {
		// Success when the server is already there and idle (a busy
		// server's status may be about to change), or when the running
		// operation is this very power command (sent before, its answer
		// lost): the caller waits for the power status either way. The
		// operation name "power_on"/"power_off" is the client's
		// documented guess (dcimanager6.Operation.Name).
		if s, gerr := b.c.Servers.Get(ctx, n); gerr == nil {
			op := s.Operation
			idle := op == nil || op.Done()
			if (s.PowerStatus == want && idle) || (!idle && op.Name == powerOpName(on)) {
				return nil
			}
		}
	}
	return err
}

func powerOpName(on bool) string {
	if on {
		return "power_on"
	}
	return "power_off"
}

// ---- install ----

// Install starts an OS install (Servers.Install); see the package doc for
// how Template and Recipe are resolved.
func (b *Backend) Install(ctx context.Context, serverID string, spec provision.InstallSpec) error {
	s, err := b.get(ctx, serverID)
	if err != nil {
		return err
	}
	tmpl, err := b.template(ctx, s.LocationID, spec.Template)
	if err != nil {
		return err
	}
	req := dcimanager6.InstallRequest{TemplateID: tmpl, Password: spec.Password, Hostname: spec.Hostname}
	if r := strings.TrimSpace(spec.Recipe); r != "" && r != billing.DefaultRecipe {
		id, perr := strconv.ParseInt(r, 10, 64)
		if perr != nil || id <= 0 {
			return unsupported("Install", fmt.Sprintf("recipe %q: DCImanager 6 scripts are given by numeric id (the client cannot list them)", r))
		}
		req.ScriptID = id
	}
	res, err := b.c.Servers.Install(ctx, s.ID, req)
	if err != nil {
		return err
	}
	if res.OperationID > 0 {
		b.mu.Lock()
		b.installs[s.ID] = res.OperationID
		b.mu.Unlock()
	}
	return nil
}

// template resolves an OS template id or name in a location.
func (b *Backend) template(ctx context.Context, location int64, t string) (int64, error) {
	t = strings.TrimSpace(t)
	if t == "" {
		return 0, errors.New("dci6: no OS template given")
	}
	if id, err := strconv.ParseInt(t, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	for tp, err := range b.c.OSTemplates.All(ctx, location, nil) {
		if err != nil {
			return 0, err
		}
		if strings.EqualFold(tp.Name, t) && (tp.Type == "" || tp.Type == "os") {
			return tp.ID, nil
		}
	}
	return 0, fmt.Errorf("dci6: no OS template %q in location %d", t, location)
}

// InstallStatus reads the install operation (see the package doc).
func (b *Backend) InstallStatus(ctx context.Context, serverID string) (provision.InstallStatus, error) {
	s, err := b.get(ctx, serverID)
	if err != nil {
		return provision.InstallStatus{}, err
	}
	op := s.Operation
	b.mu.Lock()
	want := b.installs[s.ID]
	b.mu.Unlock()
	if want > 0 && (op == nil || op.ID != want) {
		o, err := b.c.Operations.Get(ctx, want)
		switch {
		case err == nil:
			op = o
		case !dcimanager6.IsNotFound(err):
			return provision.InstallStatus{}, err
		}
	}
	st := provision.InstallStatus{Percent: -1}
	if op == nil || (op.ID != want && !isInstallOp(op)) {
		return st, nil
	}
	if done, total := op.Progress(); total > 0 {
		st.Percent = done * 100 / total
	}
	switch op.Status {
	case dcimanager6.StatusOK:
		st.Percent = 100
	case dcimanager6.StatusError, dcimanager6.StatusCanceled:
		st.Failed = true
		st.Message = op.Message()
		if st.Message == "" {
			st.Message = fmt.Sprintf("operation %d ended with status %s", op.ID, op.Status)
			if stage := op.CurrentStage(); stage != "" {
				st.Message += " at stage " + stage
			}
		}
	default:
		st.Running = true
		st.Message = op.CurrentStage()
	}
	return st, nil
}

// ---- addresses ----

// ListIPs lists the server's addresses from the IP service (falling back
// to the server object's list); Main is the server's first address.
func (b *Backend) ListIPs(ctx context.Context, serverID string) ([]provision.ServerIP, error) {
	s, err := b.get(ctx, serverID)
	if err != nil {
		return nil, err
	}
	main := ""
	if len(s.IPs) > 0 {
		main = s.IPs[0].Name
	}
	var out []provision.ServerIP
	opts := &dcimanager6.ListOptions{Where: dcimanager6.EQ("server_id", s.ID), OrderBy: dcimanager6.Asc("id")}
	for ip, err := range b.c.IPs.All(ctx, opts) {
		if err != nil {
			if !dcimanager6.IsNotFound(err) && !errors.Is(err, dcimanager6.ErrForbidden) {
				return nil, err
			}
			out = out[:0]
			for _, x := range s.IPs {
				out = append(out, provision.ServerIP{ID: itoa(x.ID), IP: x.Name, Family: x.Family, Domain: x.Domain, Main: x.Name == main})
			}
			return out, nil
		}
		addr := ip.Name
		if addr == "" {
			addr = ip.IPAddr
		}
		out = append(out, provision.ServerIP{ID: itoa(ip.ID), IP: addr, Family: ip.Family, Domain: ip.Domain, Main: addr == main})
	}
	return out, nil
}

// AddIP binds an address to the server through the IP service
// (IPs.Assign): ip when given, else the first free address of the pool
// chosen by group (see pool). The assignment carries a note unique to
// this call; when the call fails in transport after it may have been
// executed, the note finds the assignment again (IPs.FindAssignment), so
// a lost answer neither fails the step nor binds a second address.
func (b *Backend) AddIP(ctx context.Context, serverID, family, group, ip, domain string) (provision.ServerIP, error) {
	s, err := b.get(ctx, serverID)
	if err != nil {
		return provision.ServerIP{}, err
	}
	req := dcimanager6.IPAssignRequest{ServerID: s.ID, Address: ip, Domain: domain, Note: newNote()}
	if ip == "" {
		if req.PoolID, err = b.pool(ctx, s.LocationID, family, group); err != nil {
			return provision.ServerIP{}, err
		}
	}
	x, err := b.c.IPs.Assign(ctx, req)
	if err != nil {
		var te *dcimanager6.TransportError
		if !errors.As(err, &te) || !te.MayHaveHappened {
			return provision.ServerIP{}, err
		}
		found, ferr := b.c.IPs.FindAssignment(ctx, req)
		if ferr != nil {
			return provision.ServerIP{}, err
		}
		x = found
	}
	addr := x.Name
	if addr == "" {
		addr = x.IPAddr
	}
	fam := x.Family
	if fam == "" {
		fam = family
	}
	return provision.ServerIP{ID: itoa(x.ID), IP: addr, Family: fam, Domain: x.Domain}, nil
}

// pool picks the pool an address of family is taken from for group: a
// numeric group is a pool id; otherwise, among the pools of the location
// (or of no location) with that family, the one named group
// (case-insensitive), else the first whose name contains it (BILLmanager's
// "public" rule, spec §A5.9).
func (b *Backend) pool(ctx context.Context, location int64, family, group string) (int64, error) {
	group = strings.TrimSpace(group)
	if id, err := strconv.ParseInt(group, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	if family == "" {
		family = "ipv4"
	}
	var exact, partial int64
	for p, err := range b.c.IPs.AllPools(ctx, &dcimanager6.ListOptions{OrderBy: dcimanager6.Asc("id")}) {
		if err != nil {
			return 0, err
		}
		if (p.LocationID != 0 && p.LocationID != location) || (p.Family != "" && !strings.EqualFold(p.Family, family)) {
			continue
		}
		switch name := strings.ToLower(p.Name); {
		case exact == 0 && name == strings.ToLower(group):
			exact = p.ID
		case partial == 0 && strings.Contains(name, strings.ToLower(group)):
			partial = p.ID
		}
	}
	switch {
	case exact > 0:
		return exact, nil
	case partial > 0:
		return partial, nil
	}
	return 0, fmt.Errorf("dci6: no %s pool for group %q in location %d: %w", family, group, location, provision.ErrNotFound)
}

// newNote returns the marker written on one assignment.
func newNote() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "ispkit-" + hex.EncodeToString(b[:])
}

// RemoveIP frees an address of the server (IPs.Unassign). An address
// that is not (or no longer) on the server is success; an address of
// another server is never touched.
func (b *Backend) RemoveIP(ctx context.Context, serverID, ipID string) error {
	id, err := parseID("ip", ipID)
	if err != nil {
		return err
	}
	ips, err := b.ListIPs(ctx, serverID)
	if err != nil {
		return err
	}
	for _, x := range ips {
		if x.ID != ipID {
			continue
		}
		if err := b.c.IPs.Unassign(ctx, id); err != nil && !dcimanager6.IsNotFound(err) {
			return err
		}
		return nil
	}
	return nil
}

// ---- users ----

func isAdmin(u *dcimanager6.User) bool {
	for _, r := range u.Roles {
		if r == "@admin" {
			return true
		}
	}
	return false
}

// user finds the user behind a provision name; found is false when there
// is none. Administrators are refused with ErrAdminAccount.
func (b *Backend) user(ctx context.Context, name string) (*dcimanager6.User, bool, error) {
	email, err := b.UserEmailFor(name)
	if err != nil {
		return nil, false, err
	}
	u, err := b.c.Users.GetByEmail(ctx, email)
	if err != nil {
		if dcimanager6.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	if isAdmin(u) {
		return nil, false, fmt.Errorf("dci6: user name %q maps to %s: %w", name, email, ErrAdminAccount)
	}
	return u, true, nil
}

// FindUser looks the user up by its derived e-mail.
func (b *Backend) FindUser(ctx context.Context, name string) (string, bool, error) {
	u, found, err := b.user(ctx, name)
	if err != nil || !found {
		return "", false, err
	}
	return itoa(u.ID), true, nil
}

// CreateUser creates a @user with the derived e-mail and the name as full
// name. A taken e-mail is a conflict (dcimanager6.IsConflict).
func (b *Backend) CreateUser(ctx context.Context, name, password string) (string, error) {
	email, err := b.UserEmailFor(name)
	if err != nil {
		return "", err
	}
	id, err := b.c.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: email, Password: password, FullName: name, Role: "@user"})
	if err != nil {
		return "", err
	}
	return itoa(id), nil
}

// SetUserPassword changes the user's password (Users.SetPassword). An
// administrator's password is never changed: such a user is refused with
// ErrAdminAccount.
func (b *Backend) SetUserPassword(ctx context.Context, userID, password string) error {
	id, err := parseID("user", userID)
	if err != nil {
		return err
	}
	u, err := b.c.Users.Get(ctx, id)
	if err != nil {
		return err
	}
	if isAdmin(u) || (b.cfg.adminEmail != "" && strings.EqualFold(u.Email, b.cfg.adminEmail)) {
		return fmt.Errorf("dci6: set password of user %d (%s): %w", id, u.Email, ErrAdminAccount)
	}
	return b.c.Users.SetPassword(ctx, id, password)
}

// LoginURL returns a one-time browser login link (Auth.Key) for the user.
func (b *Backend) LoginURL(ctx context.Context, userName string) (string, error) {
	u, found, err := b.user(ctx, userName)
	if err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("dci6: login link for %q: no such user: %w", userName, provision.ErrNotFound)
	}
	k, err := b.c.Auth.Key(ctx, itoa(u.ID))
	if err != nil {
		return "", err
	}
	return k.URL, nil
}

var _ provision.OSTemplateChecker = (*Backend)(nil)

// HasOSTemplate reports whether template (a numeric id, or a name as
// Install resolves it) is among the OS templates of any location.
func (b *Backend) HasOSTemplate(ctx context.Context, template string) (bool, error) {
	t := strings.TrimSpace(template)
	if t == "" {
		return false, nil
	}
	id, perr := strconv.ParseInt(t, 10, 64)
	for tp, err := range b.c.OSTemplates.All(ctx, 0, nil) {
		if err != nil {
			return false, err
		}
		if (perr == nil && tp.ID == id) || (strings.EqualFold(tp.Name, t) && (tp.Type == "" || tp.Type == "os")) {
			return true, nil
		}
	}
	return false, nil
}
