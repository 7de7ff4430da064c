package provision

import (
	"context"
)

// FreeHostname is the hostname (main IP domain) that marks a free server.
const FreeHostname = "free.ds"

// Server is a backend-neutral view of a dedicated server (DCImanager 5 or 6).
type Server struct {
	ID       string
	Name     string
	Hostname string
	// IP is the main address.
	IP string
	// OwnerID is the panel user owning the server; empty when free.
	OwnerID string
	// Config is the configuration (chassis template) and Type the server
	// type; a tariff's ServerConfig matches either.
	Config string
	Type   string
	// Faulty covers blocked servers and hardware problems.
	Faulty         bool
	DiagInProgress bool
	Disabled       bool
	PoweredOn      bool
	Installing     bool
	InstallFailed  bool
	// Location is the data center / location id (DCImanager 6).
	Location string
	MAC      string
	// SwitchPort and IPMIAddress are informational properties saved on the
	// service.
	SwitchPort  string
	IPMIAddress string
}

// Available reports whether the server can be sold for config: no owner,
// hostname free.ds, not faulty, no diagnostics running, matching
// configuration or type (seed documents, WHMCS module).
func (s Server) Available(config string) bool {
	return s.OwnerID == "" && s.Hostname == FreeHostname && !s.Faulty && !s.DiagInProgress &&
		(config == "" || s.Config == config || s.Type == config)
}

// InstallSpec is an OS install request.
type InstallSpec struct {
	Template string
	Recipe   string
	Password string
	Hostname string
}

// InstallStatus is the progress of an OS install.
type InstallStatus struct {
	Running bool
	Failed  bool
	// Percent is the progress when the panel reports it (0..100), else -1.
	Percent int
	Message string
}

// ServerIP is one address of a server.
type ServerIP struct {
	ID     string
	IP     string
	Family string // "ipv4" or "ipv6"
	Domain string
	Main   bool
}

// ServerInventory lists and reads servers.
type ServerInventory interface {
	ListServers(ctx context.Context) ([]Server, error)
	GetServer(ctx context.Context, id string) (Server, error)
}

// ServerAdmin changes a server's owner, domain, notes and blocking.
type ServerAdmin interface {
	// SetOwner sets the owning panel user; an empty userID clears it.
	SetOwner(ctx context.Context, serverID, userID string) error
	// SetDomain sets the domain of the server's addresses (its hostname).
	SetDomain(ctx context.Context, serverID, domain string) error
	SetNotes(ctx context.Context, serverID, notes string) error
	Enable(ctx context.Context, serverID string) error
	Disable(ctx context.Context, serverID string) error
}

// PowerControl switches power and switch ports.
type PowerControl interface {
	PowerOn(ctx context.Context, serverID string) error
	PowerOff(ctx context.Context, serverID string) error
	// SetPorts enables or disables the server's switch ports.
	SetPorts(ctx context.Context, serverID string, on bool) error
}

// Installer installs operating systems.
type Installer interface {
	Install(ctx context.Context, serverID string, spec InstallSpec) error
	InstallStatus(ctx context.Context, serverID string) (InstallStatus, error)
}

// ServerIPs manages a server's addresses inside the dedicated-server panel.
type ServerIPs interface {
	ListIPs(ctx context.Context, serverID string) ([]ServerIP, error)
	// AddIP assigns an address (empty ip = the panel chooses one from group).
	AddIP(ctx context.Context, serverID, family, group, ip, domain string) (ServerIP, error)
	RemoveIP(ctx context.Context, serverID, ipID string) error
}

// PanelUsers manages the customers' users in the panel.
type PanelUsers interface {
	// FindUser returns the id of the user called name; found is false when
	// there is none.
	FindUser(ctx context.Context, name string) (id string, found bool, err error)
	CreateUser(ctx context.Context, name, password string) (id string, err error)
	SetUserPassword(ctx context.Context, userID, password string) error
	// AdminUserID is the id of the integration's own (admin) user, the
	// owner of reserved servers.
	AdminUserID(ctx context.Context) (string, error)
	// LoginURL returns a one-time browser login link for the user.
	LoginURL(ctx context.Context, userName string) (string, error)
}

// DedicatedBackend is everything the engine needs from a dedicated-server
// panel. Adapters over dcimanager5 and dcimanager6 implement it.
type DedicatedBackend interface {
	ServerInventory
	ServerAdmin
	PowerControl
	Installer
	ServerIPs
	PanelUsers
}

// IPPool hands out public addresses and takes back parking ones (IPmanager).
type IPPool interface {
	// Allocate takes the next free address of family in group and marks it
	// with domain and note (the note names the operation, so a retry after
	// a crash can find what it already took).
	Allocate(ctx context.Context, family, group, domain, note string) (string, error)
	// FindByNote returns the addresses carrying note.
	FindByNote(ctx context.Context, note string) ([]string, error)
	// Release returns an address to its pool.
	Release(ctx context.Context, ip string) error
	// ChangeGroup moves an address to another group (parking ↔ public).
	ChangeGroup(ctx context.Context, ip, group string) error
}

// HostingAccount is an ISPmanager user to create.
type HostingAccount struct {
	Name     string
	Password string
	Preset   string
	// Limits are limit_* values by name (with the limit_ prefix), already
	// merged (billing wins over the template).
	Limits map[string]string
	Domain string
}

// HostingBackend is what the engine needs from a hosting panel (ISPmanager).
type HostingBackend interface {
	UserExists(ctx context.Context, name string) (bool, error)
	// CreateUser creates the account; a taken name returns an error for
	// which IsNameTaken reports true.
	CreateUser(ctx context.Context, a HostingAccount) error
	SuspendUser(ctx context.Context, name string) error
	ResumeUser(ctx context.Context, name string) error
	DeleteUser(ctx context.Context, name string) error
	SetPassword(ctx context.Context, name, password string) error
	LoginURL(ctx context.Context, name string) (string, error)
	// PresetLimits returns the limit_* values of a preset (template).
	PresetLimits(ctx context.Context, preset string) (map[string]string, error)
	// IsNameTaken reports whether err says the user name already exists.
	IsNameTaken(err error) bool
}

// FaultClassifier is implemented by backends that can read their panel's
// errors. The engine uses it to decide whether a failure is the panel's own
// (another module may serve the order) and whether a failed non-idempotent
// call may still have taken effect. Without it only ErrPanelUnavailable
// counts as a panel fault and every failed create is treated as uncertain.
type FaultClassifier interface {
	// IsPanelFault reports whether err is the panel's failure (unreachable,
	// overloaded, refusing access or licence) rather than the request's.
	IsPanelFault(err error) bool
	// MayHaveHappened reports whether the call that returned err may still
	// have been carried out by the panel.
	MayHaveHappened(err error) bool
}

// Reachability checks that an installed server answers (the seed
// documents' "ping"). The default dials TCP port 22 of the main IP.
type Reachability func(ctx context.Context, s Server) error

// ServerDescriber is optionally implemented by a DedicatedBackend whose
// GetServer leaves out details that cost extra panel calls (switch port,
// IPMI address, MAC): the engine calls DescribeServer once, when it saves
// the server's properties on the service, instead of GetServer.
type ServerDescriber interface {
	DescribeServer(ctx context.Context, id string) (Server, error)
}

// PoolAddress is an allocated address of an IPPool.
type PoolAddress struct {
	IP     string
	Group  string
	Domain string
	// Note is the allocation's note: the engine writes
	// "<operation id>/<server id>/<role>", role being main, parking,
	// ipv4/<n>, ipv6/<n> or add.
	Note string
}

// NotedLister is optionally implemented by an IPPool that can list its
// allocated addresses by the beginning of their note. With it, a roll-back
// and a Close return every address noted for the operation and server
// that is not on the server (an allocation whose answer was lost
// included), and Engine.Reconcile finds the addresses of finished
// operations. Without it the engine looks up each note it wrote, one by
// one, and Reconcile cannot check addresses.
type NotedLister interface {
	// ListNoted returns the allocated addresses whose note begins with
	// prefix ("" for every allocated address).
	ListNoted(ctx context.Context, prefix string) ([]PoolAddress, error)
}

// PoolCapacity is optionally implemented by an IPPool that can say how
// many addresses it can still hand out. Open checks an order's addresses
// against it before any server is touched.
type PoolCapacity interface {
	// FreeCount reports how many addresses of family ("ipv4" or "ipv6")
	// group can still hand out; a pool that counts both families together
	// returns that count.
	FreeCount(ctx context.Context, family, group string) (int64, error)
}

// OSTemplateChecker is optionally implemented by a DedicatedBackend that
// can tell whether its panel has an OS template. Open checks the order's
// template with it before any server is touched, so a mistyped template
// fails the order instead of every server's install.
type OSTemplateChecker interface {
	// HasOSTemplate reports whether the panel has template (as
	// InstallSpec.Template names it). A backend that cannot tell returns
	// an error matching ErrUnsupported, and the check is skipped.
	HasOSTemplate(ctx context.Context, template string) (bool, error)
}

// PortStatus counts a server's switch ports by state.
type PortStatus struct {
	// On and Off count the ports that read on and off; Busy those whose
	// change is still in progress (or whose state cannot be read).
	On, Off, Busy int
}

// SwitchPortReader is optionally implemented by a DedicatedBackend that can
// read back the state of a server's switch ports. With it, Suspend marks
// the service Suspended only once every port reads off, and Unsuspend
// marks it Active once every port reads on. Without it the engine trusts
// SetPorts.
type SwitchPortReader interface {
	SwitchPortStatus(ctx context.Context, serverID string) (PortStatus, error)
}

// RowReader is optionally implemented by a DedicatedBackend whose
// per-server reads can start from a server row the caller already holds
// (from ListServers or GetServer) instead of reading it again: on a panel
// whose only read of a server is the whole server list (DCImanager 5)
// that read is most of an order's panel traffic. The engine hands it the
// row its run read last (after the run's last write to that server), and
// reads the install state from rows when no one listens to the install
// progress (no Engine.Subscribe), so a poll is one read shared with the
// run's other steps.
type RowReader interface {
	// InstallStatusOf is the install state row s shows, as InstallStatus
	// would report it without the progress (Percent -1).
	InstallStatusOf(s Server) InstallStatus
	// ListIPsOf is ListIPs for the server of row s, Main marked from s.IP.
	ListIPsOf(ctx context.Context, s Server) ([]ServerIP, error)
	// DescribeRow is ServerDescriber.DescribeServer starting from row s.
	DescribeRow(ctx context.Context, s Server) (Server, error)
	// SetDomainOf is SetDomain for the server of row s whose addresses
	// are ips (as ListIPsOf listed them): it changes the domain of each
	// address of ips whose domain differs, without listing them again.
	SetDomainOf(ctx context.Context, s Server, ips []ServerIP, domain string) error
}

// OwnerSwapper is optionally implemented by a DedicatedBackend that can
// change a server's owner on the condition that it still is the owner
// the caller saw, reading the owner afresh in the same call (on
// DCImanager 5 the edit form that the owner change reads anyway). The
// engine then decides an owner change from the row it already holds,
// and the condition makes the write as safe as a fresh read before it.
type OwnerSwapper interface {
	// SwapOwner sets the owner of server s.ID to userID ("" clears it)
	// when its current owner is s.OwnerID ("" none), and writes nothing
	// when it is already userID. Any other owner: nothing is written and
	// the error matches ErrOwnerChanged. It returns row s with the owner
	// it leaves and what its read showed beside (a MAC, for instance), so
	// later steps need not read those again.
	SwapOwner(ctx context.Context, s Server, userID string) (Server, error)
}
