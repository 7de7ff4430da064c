package billing

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

// ModuleKind names the panel a processing module talks to.
type ModuleKind string

// The supported processing-module kinds.
const (
	// KindDCImanager5 is BILLmanager's "DCImanager" module (mgr5 API):
	// dedicated servers and colocation.
	KindDCImanager5 ModuleKind = "dcimanager5"
	// KindDCImanager6 is BILLmanager's "DCImanager 6" module (REST API):
	// dedicated servers and colocation.
	KindDCImanager6 ModuleKind = "dcimanager6"
	// KindISPmanager is BILLmanager's "ISPmanager 5" module: shared hosting
	// and external FTP storage.
	KindISPmanager ModuleKind = "ispmanager"
)

// Valid reports whether k is one of the declared kinds.
func (k ModuleKind) Valid() bool {
	switch k {
	case KindDCImanager5, KindDCImanager6, KindISPmanager:
		return true
	}
	return false
}

// IsDCImanager reports whether k is a DCImanager kind (5 or 6).
func (k ModuleKind) IsDCImanager() bool {
	return k == KindDCImanager5 || k == KindDCImanager6
}

// DefaultIPGroup is the IP address group used when none is configured: both
// BILLmanager's IPmanager integration and the WHMCS DCImanager module default
// to "public".
const DefaultIPGroup = "public"

// redacted replaces secrets whenever a model value is printed or logged.
const redacted = "[REDACTED]"

// Module is a BILLmanager processing module: the connection to one panel
// plus the billing-side settings that decide when it is used.
//
// Module holds a password. Its String, GoString and LogValue methods (value
// receivers, so they apply to Module and *Module alike) replace the password
// with "[REDACTED]", so fmt's %v, %+v, %s and %#v and log/slog never print
// it. encoding/json and other reflection-based encoders are not covered: they
// see the plain field.
type Module struct {
	// Kind is the panel type.
	Kind ModuleKind
	// Name is the module name shown in BILLmanager. It is the module's key
	// in a [Catalog] and must be unique there.
	Name string
	// URL is the full URL of the panel (for DCImanager 6 the domain name or
	// public address).
	URL string
	// Username is the panel administrator the module acts as (for
	// DCImanager 6 the administrator's e-mail).
	Username string
	// Password is that administrator's password. Never printed.
	Password string
	// SortOrder is the module's priority: when several modules are connected
	// to a tariff the one with the lowest SortOrder is used first.
	SortOrder int
	// Department is the BILLmanager department that receives the tasks the
	// module assigns (manual set-up, server assembly, spare parts).
	Department string
	// DataCenter is the name of the [DataCenter] the module belongs to
	// (empty: none). A [Catalog] only accepts names of its data centers.
	// KindDCImanager6 modules require one, and it must be DCImanager 6
	// managed: its LocationID is where the module's servers come from (see
	// [Catalog.LocationID]).
	DataCenter string
	// ErrorRecipient is the administrator (a BILLmanager staff user name or
	// an e-mail address) who receives the module's error messages: the
	// failures that need staff ([FailureMessage]). Empty: nobody is
	// addressed and a [Notifier] decides.
	ErrorRecipient string
	// NewServerType selects DCImanager's "new server type" allocation: the
	// client may customise the configuration, and an unavailable
	// configuration becomes a task for Department. Unset means only
	// pre-defined, ready configurations can be ordered. It cannot be changed
	// while a tariff uses the module (see [Catalog.SetNewServerType]).
	NewServerType bool
	// IPManager is the optional link to IPmanager for central IP address
	// management (DCImanager 5 only).
	IPManager *IPManagerLink
	// BlockOnSuspend (DCImanager modules) also blocks the server in
	// DCImanager when its service is suspended, besides switching its
	// switch ports off, as the vendor's WHMCS module does ("when a service
	// is about to expire, the server will be blocked in DCImanager");
	// unsuspending unblocks it. Unset: only the switch ports are switched
	// off and the server keeps running (BILLmanager's behaviour).
	BlockOnSuspend bool
	// InstallTimeout is what a dedicated-server order does when the OS
	// install outlives its wait (720 s by default): see
	// [InstallTimeoutFailOver] (the default) and
	// [InstallTimeoutKeepPending].
	InstallTimeout InstallTimeoutPolicy
}

// InstallTimeoutPolicy is what a dedicated-server order does when the OS
// install does not finish within its wait.
type InstallTimeoutPolicy string

const (
	// InstallTimeoutFailOver (the zero value) is BILLmanager's behaviour:
	// the server counts as failed, it is rolled back and taken out of
	// sale, and the order goes on with the next available server.
	InstallTimeoutFailOver InstallTimeoutPolicy = ""
	// InstallTimeoutKeepPending is the vendor's WHMCS module's behaviour
	// ("if it wasn't completed during that time, WHMCS will display
	// corresponding error messages, and the service will remain
	// Pending"): the order stops with the error and the service stays
	// Pending. The server is not blamed: it goes back to sale, and
	// ordering again starts over.
	InstallTimeoutKeepPending InstallTimeoutPolicy = "keep_pending"
)

// IPManagerLink is a DCImanager module's integration with IPmanager.
//
// Like [Module], it never prints its password.
type IPManagerLink struct {
	// URL is the IPmanager URL.
	URL string
	// Username is the IPmanager user (user level with rights on the server
	// ranges is recommended).
	Username string
	// Password is that user's password. Never printed.
	Password string
	// ParkingGroup is the IP address group for parked (free) servers,
	// usually private addresses; empty disables parking.
	ParkingGroup string
	// PublicGroup is the IP address group customer servers get addresses
	// from. Empty means [DefaultIPGroup] ("public"), see
	// [IPManagerLink.IPGroup].
	PublicGroup string
	// NeverChangeIPs is BILLmanager's "Disable change of IP addresses": IPs
	// are not changed when a server is prepared or released.
	NeverChangeIPs bool
}

// IPGroup returns PublicGroup, or [DefaultIPGroup] when it is empty.
func (l *IPManagerLink) IPGroup() string {
	if l == nil || l.PublicGroup == "" {
		return DefaultIPGroup
	}
	return l.PublicGroup
}

// Validate checks the link; field names in the returned *ArgumentError are
// prefixed with "IPManager.".
func (l *IPManagerLink) Validate() error {
	if l == nil {
		return nil
	}
	if err := validateURL("IPManager.URL", l.URL); err != nil {
		return err
	}
	if strings.TrimSpace(l.Username) == "" {
		return invalid("IPManager.Username", "required")
	}
	if l.Password == "" {
		return invalid("IPManager.Password", "required")
	}
	if l.ParkingGroup != "" && l.ParkingGroup == l.IPGroup() {
		return invalid("IPManager.ParkingGroup", "must differ from the public group "+strconv.Quote(l.IPGroup()))
	}
	return nil
}

// String implements fmt.Stringer without the password.
func (l IPManagerLink) String() string {
	return fmt.Sprintf("{URL:%s Username:%s Password:%s ParkingGroup:%s PublicGroup:%s NeverChangeIPs:%t}",
		l.URL, l.Username, redactedIfSet(l.Password), l.ParkingGroup, l.PublicGroup, l.NeverChangeIPs)
}

// GoString implements fmt.GoStringer (%#v) without the password.
func (l IPManagerLink) GoString() string {
	return fmt.Sprintf("billing.IPManagerLink{URL:%q, Username:%q, Password:%q, ParkingGroup:%q, PublicGroup:%q, NeverChangeIPs:%t}",
		l.URL, l.Username, redactedIfSet(l.Password), l.ParkingGroup, l.PublicGroup, l.NeverChangeIPs)
}

// LogValue implements slog.LogValuer without the password.
func (l IPManagerLink) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", l.URL),
		slog.String("username", l.Username),
		slog.String("password", redactedIfSet(l.Password)),
		slog.String("parking_group", l.ParkingGroup),
		slog.String("public_group", l.PublicGroup),
		slog.Bool("never_change_ips", l.NeverChangeIPs),
	)
}

// String implements fmt.Stringer without the password. It is also what %v
// and %+v print.
func (m Module) String() string {
	ipm := "<nil>"
	if m.IPManager != nil {
		ipm = m.IPManager.String()
	}
	return fmt.Sprintf("{Kind:%s Name:%s URL:%s Username:%s Password:%s SortOrder:%d Department:%s DataCenter:%s ErrorRecipient:%s NewServerType:%t IPManager:%s}",
		m.Kind, m.Name, m.URL, m.Username, redactedIfSet(m.Password), m.SortOrder, m.Department, m.DataCenter, m.ErrorRecipient, m.NewServerType, ipm)
}

// GoString implements fmt.GoStringer (%#v) without the password.
func (m Module) GoString() string {
	ipm := "nil"
	if m.IPManager != nil {
		ipm = "&" + m.IPManager.GoString()
	}
	return fmt.Sprintf("billing.Module{Kind:%q, Name:%q, URL:%q, Username:%q, Password:%q, SortOrder:%d, Department:%q, DataCenter:%q, ErrorRecipient:%q, NewServerType:%t, IPManager:%s}",
		string(m.Kind), m.Name, m.URL, m.Username, redactedIfSet(m.Password), m.SortOrder, m.Department, m.DataCenter, m.ErrorRecipient, m.NewServerType, ipm)
}

// LogValue implements slog.LogValuer without the password.
func (m Module) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("kind", string(m.Kind)),
		slog.String("name", m.Name),
		slog.String("url", m.URL),
		slog.String("username", m.Username),
		slog.String("password", redactedIfSet(m.Password)),
		slog.Int("sort_order", m.SortOrder),
		slog.String("department", m.Department),
		slog.String("data_center", m.DataCenter),
		slog.String("error_recipient", m.ErrorRecipient),
		slog.Bool("new_server_type", m.NewServerType),
	}
	if m.IPManager != nil {
		attrs = append(attrs, slog.Any("ipmanager", m.IPManager.LogValue()))
	}
	return slog.GroupValue(attrs...)
}

func redactedIfSet(secret string) string {
	if secret == "" {
		return ""
	}
	return redacted
}

// Validate checks the module and returns the first problem as a
// *ArgumentError:
//
//   - Kind must be one of the declared kinds; Name must be non-empty and
//     without surrounding white space;
//   - URL must be an absolute http or https URL with a host; Username and
//     Password are required;
//   - DataCenter has no surrounding white space and is required for
//     KindDCImanager6 (that it names a DCImanager 6 managed data center is
//     checked by [Catalog.AddModule]);
//   - ErrorRecipient has no line breaks or surrounding white space;
//   - NewServerType is a DCImanager option and is refused for KindISPmanager;
//     when it is set, Department is required, because unavailable custom
//     configurations become tasks for that department;
//   - BlockOnSuspend and InstallTimeout are DCImanager options;
//     InstallTimeout is one of the InstallTimeoutPolicy constants;
//   - IPManager is only accepted for KindDCImanager5 and must itself be
//     valid.
func (m *Module) Validate() error {
	if m == nil {
		return invalid("Module", "nil")
	}
	if !m.Kind.Valid() {
		return invalid("Kind", "unknown module kind "+strconv.Quote(string(m.Kind)))
	}
	if m.Name == "" {
		return invalid("Name", "required")
	}
	if strings.TrimSpace(m.Name) != m.Name {
		return invalid("Name", "must not start or end with white space")
	}
	if err := validateURL("URL", m.URL); err != nil {
		return err
	}
	if strings.TrimSpace(m.Username) == "" {
		return invalid("Username", "required")
	}
	if m.Password == "" {
		return invalid("Password", "required")
	}
	if strings.TrimSpace(m.DataCenter) != m.DataCenter {
		return invalid("DataCenter", "must not start or end with white space")
	}
	if m.Kind == KindDCImanager6 && m.DataCenter == "" {
		return invalid("DataCenter", "required for DCImanager 6 (the data center holds the DCImanager 6 location)")
	}
	if strings.TrimSpace(m.ErrorRecipient) != m.ErrorRecipient || strings.ContainsAny(m.ErrorRecipient, "\r\n") {
		return invalid("ErrorRecipient", "must not contain line breaks or surrounding white space")
	}
	if m.NewServerType {
		if !m.Kind.IsDCImanager() {
			return invalid("NewServerType", "only DCImanager modules have a server type")
		}
		if strings.TrimSpace(m.Department) == "" {
			return invalid("Department", "required with NewServerType (it receives the server assembly tasks)")
		}
	}
	if m.BlockOnSuspend && !m.Kind.IsDCImanager() {
		return invalid("BlockOnSuspend", "only DCImanager modules block servers")
	}
	switch m.InstallTimeout {
	case InstallTimeoutFailOver, InstallTimeoutKeepPending:
		if m.InstallTimeout != "" && !m.Kind.IsDCImanager() {
			return invalid("InstallTimeout", "only DCImanager modules install operating systems")
		}
	default:
		return invalid("InstallTimeout", `must be "" (fail over) or "keep_pending"`)
	}
	if m.IPManager != nil {
		if m.Kind != KindDCImanager5 {
			return invalid("IPManager", "IPmanager integration is only available for DCImanager 5 modules")
		}
		if err := m.IPManager.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Clone returns a deep copy of m (IPManager is copied too).
func (m *Module) Clone() *Module {
	if m == nil {
		return nil
	}
	c := *m
	if m.IPManager != nil {
		l := *m.IPManager
		c.IPManager = &l
	}
	return &c
}

func validateURL(field, raw string) error {
	if raw == "" {
		return invalid(field, "required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid(field, "not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return invalid(field, "scheme must be http or https")
	}
	if u.Host == "" {
		return invalid(field, "host is required")
	}
	if u.User != nil {
		return invalid(field, "must not contain credentials; use Username and Password")
	}
	return nil
}
