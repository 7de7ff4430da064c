package dcimanager6

import (
	"encoding/json"
	"strings"
)

// Server is a dedicated server as listed by GET /dci/v3/server. Fields
// marked (vendor docs) are in the vendor's schema excerpt, (seen in third-party code) in third-party code,
// (assumed) are ispkit's assumptions (see the package doc).
type Server struct {
	ID            int64  `json:"id"`            // (vendor docs)
	Name          string `json:"name"`          // (seen in third-party code)
	Domain        string `json:"domain"`        // (vendor docs) host name
	Configuration string `json:"configuration"` // (vendor docs)
	State         string `json:"state"`         // (vendor docs)
	StateInfo     string `json:"state_info"`    // (vendor docs)
	LocationID    int64  `json:"location_id"`   // (seen in third-party code)
	// Owner is the owner's user ID, 0 when the server has none (assumed).
	Owner int64 `json:"owner"`
	// OwnerEmail is empty when the server has no owner (seen in third-party code).
	OwnerEmail string `json:"owner_email"`
	// IsNew is true until diagnostics have run (seen in third-party code).
	IsNew bool `json:"is_new"`
	// MaintenanceMode is the maintenance flag (assumed).
	MaintenanceMode bool `json:"maintenance_mode"`
	// PowerStatus is PowerOn, PowerOff or PowerUnknown [C3 name, I values].
	PowerStatus      string             `json:"power_status"`
	Operation        *Operation         `json:"operation"`   // (vendor docs) current or last operation
	OSTemplate       *OSTemplateRef     `json:"os_template"` // (vendor docs)
	IPs              []ServerIP         `json:"ip"`          // (vendor docs)
	SwitchConnection []SwitchConnection `json:"switch_connection"`
	HardwareInfo     json.RawMessage    `json:"hardware_info,omitempty"` // (vendor docs) free-form
	Settings         ServerSettings     `json:"settings"`                // (vendor docs)
	Barcode          string             `json:"barcode,omitempty"`       // (seen in third-party code)
	Rack             *struct {
		Name string `json:"name"`
	} `json:"rack,omitempty"` // (seen in third-party code)
	Unit int `json:"unit,omitempty"` // (seen in third-party code)
}

// Available reports whether s is free for sale by the rules of the
// vendor's BILLmanager integration: no owner, diagnostics done,
// configuration defined, not in maintenance, last operation ok or canceled.
func (s *Server) Available() bool {
	if s.OwnerEmail != "" || s.Owner != 0 || s.IsNew || s.MaintenanceMode || s.Configuration == "" {
		return false
	}
	return s.Operation == nil || s.Operation.Status == StatusOK || s.Operation.Status == StatusCanceled
}

// ServerSettings are per-server settings (vendor docs).
type ServerSettings struct {
	EFI bool `json:"efi"`
}

// OSTemplateRef is the template a server was installed with (vendor docs).
type OSTemplateRef struct {
	ID   int64    `json:"id"`
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// ServerIP is an address bound to a server (vendor docs).
type ServerIP struct {
	ID         int64           `json:"id"`
	Name       string          `json:"name"` // the address
	Domain     string          `json:"domain"`
	Family     string          `json:"family"` // "ipv4", "ipv6"
	Gateway    string          `json:"gateway"`
	Network    string          `json:"network"`
	Status     string          `json:"status"`
	StatusInfo json.RawMessage `json:"status_info,omitempty"`
}

// SwitchConnection links a server to a switch port (vendor docs).
type SwitchConnection struct {
	ID                  int64  `json:"id"`
	Switch              int64  `json:"switch"`
	SwitchName          string `json:"switch_name"` // (seen in third-party code)
	ConnectionID        int64  `json:"connection_id"`
	Description         string `json:"description"`
	AdminStatus         string `json:"admin_status"` // "up", "down"
	OperStatus          string `json:"oper_status"`
	DoNotCollectTraffic bool   `json:"do_not_collect_traffic"`
	IsIPMIConnection    bool   `json:"is_ipmi_connection"`
}

// Operation is a long-running job on a server (install, power, ...).
type Operation struct {
	ID     int64  `json:"id"`     // (vendor docs)
	Status string `json:"status"` // (vendor docs) see StatusOK etc.
	// StatusInfo is free-form (vendor docs); the fake puts {"msg": "..."} in it on
	// error (assumed).
	StatusInfo json.RawMessage `json:"status_info,omitempty"`
	// ProgressInfo lists the stages [C as a list of objects; fields G].
	ProgressInfo []Stage `json:"progress_info"`
	// Name is the kind of operation ("os_install", "power_on", ...) (assumed).
	Name string `json:"name,omitempty"`
	// ServerID is the server the operation runs on (assumed).
	ServerID int64 `json:"server_id,omitempty"`
}

// Stage is one step of an operation (assumed).
type Stage struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "waiting", "running", "ok", "error"
}

// Done reports whether the operation reached a final status.
func (o *Operation) Done() bool {
	switch o.Status {
	case StatusOK, StatusError, StatusCanceled:
		return true
	}
	return false
}

// Progress returns the number of finished stages and the total.
func (o *Operation) Progress() (done, total int) {
	for _, s := range o.ProgressInfo {
		if s.Status == StatusOK {
			done++
		}
	}
	return done, len(o.ProgressInfo)
}

// CurrentStage returns the name of the running stage, or "".
func (o *Operation) CurrentStage() string {
	for _, s := range o.ProgressInfo {
		if s.Status == StatusRunning || s.Status == StatusError {
			return s.Name
		}
	}
	return ""
}

// Message returns a message from StatusInfo ("msg" or "message"), if any.
func (o *Operation) Message() string {
	if len(o.StatusInfo) == 0 {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(o.StatusInfo, &m) != nil {
		return ""
	}
	for _, k := range []string{"msg", "message", "error"} {
		if s, ok := m[k].(string); ok {
			return sanitizeText(s)
		}
	}
	return ""
}

// ConfigurationCount is the number of free servers of one configuration.
type ConfigurationCount struct {
	Configuration   string `json:"configuration"`
	FreeServerCount int    `json:"free_server_count"`
}

// User is a DCImanager user (vendor docs).
type User struct {
	ID           int64  `json:"id"`
	Email        string `json:"email"`
	FullName     string `json:"full_name,omitempty"` // (inferred)
	ServerCount  int    `json:"server_count"`
	Roles        Roles  `json:"roles"`
	VLANsPerUser int    `json:"vlans_per_user"`
}

// Roles reads the documented string form "[@user]" as well as a JSON list.
type Roles []string

// UnmarshalJSON implements json.Unmarshaler.
func (r *Roles) UnmarshalJSON(b []byte) error {
	var list []string
	if json.Unmarshal(b, &list) == nil {
		*r = list
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	s = strings.Trim(strings.TrimSpace(s), "[]")
	*r = nil
	for _, p := range strings.Split(s, ",") {
		if p = strings.Trim(strings.TrimSpace(p), `"'`); p != "" {
			*r = append(*r, p)
		}
	}
	return nil
}

// Location is a data centre location [G shape].
type Location struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// OSTemplate is an OS template of one location [G shape; fields from the
// vendor's template docs: type, access, tags, EFI].
type OSTemplate struct {
	ID         int64    `json:"id"`
	Name       string   `json:"name"`
	LocationID int64    `json:"location_id"`
	Type       string   `json:"type"`   // "os", "diagnostics", "recovery"
	Access     string   `json:"access"` // "all", "admin"
	Tags       []string `json:"tags"`
	EFI        bool     `json:"efi"`
}

// IP is an address of IPmanager 6 [C3 fields].
type IP struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"` // the address
	IPAddr    string `json:"ip_addr,omitempty"`
	Domain    string `json:"domain"`
	Family    string `json:"family"`
	IPNet     int64  `json:"ipnet"`
	IPNetName string `json:"ipnet_name"`
	Gateway   string `json:"gateway"`
	Status    string `json:"status"` // "free", "allocated", "extended", ...
	Pool      int64  `json:"pool"`   // (assumed)
	ServerID  int64  `json:"server_id,omitempty"`
	// Note is the free text written by IPs.Assign (assumed).
	Note string `json:"note,omitempty"`
}

// Pool is an IPmanager 6 pool [G shape].
type Pool struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Family     string `json:"family"`
	LocationID int64  `json:"location_id"`
	Note       string `json:"note,omitempty"`
}

// SwitchPort is a port of a switch [C3 description and server].
type SwitchPort struct {
	ID          int64  `json:"id"`
	Description string `json:"description"`
	AdminStatus string `json:"admin_status"`
	OperStatus  string `json:"oper_status"`
	Server      *struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"server"`
}
