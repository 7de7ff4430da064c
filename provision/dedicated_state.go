package provision

import (
	"strconv"
	"strings"
	"time"
)

// DedicatedState is what an operation on a dedicated server records
// (Operation.Data of the dedicated product).
type DedicatedState struct {
	CommonState
	// ModuleIndex is the position, when Open chose it, of the module in
	// use among the tariff's modules that have a dedicated backend (Open
	// moves to the next one when a module has no server left). Once the
	// module is recorded by name (Module), the steps find it by name.
	ModuleIndex int `json:"module_index,omitempty"`
	// UserName and UserID are the customer's panel user; AdminID is the
	// integration's own user, which holds servers being prepared.
	UserName string `json:"user_name,omitempty"`
	UserID   string `json:"user_id,omitempty"`
	AdminID  string `json:"admin_id,omitempty"`
	// Server is the server Open works on (reserved in the Store).
	Server string `json:"server,omitempty"`
	// Tried are the servers Open gave up (failed, or taken outside the
	// engine); Failures counts those that failed, LastFailure says why the
	// last one did.
	Tried       []string `json:"tried,omitempty"`
	Failures    int      `json:"failures,omitempty"`
	LastFailure string   `json:"last_failure,omitempty"`
	// FailReason is why the current server is being rolled back; Abort
	// says the roll-back ends the operation instead of trying the next
	// server.
	FailReason string `json:"fail_reason,omitempty"`
	Abort      bool   `json:"abort,omitempty"`
	// KeepInSale says the current server is rolled back into sale (owner
	// cleared, not disabled): the failure was not the server's (the
	// order's, or a panel fault that outlived its retries).
	KeepInSale bool `json:"keep_in_sale,omitempty"`
	// LastReason is why the last failed server failed (without its id),
	// and LastServer, LastModule which server that was: a second server
	// failing for the same reason puts the fault on the order.
	LastReason string `json:"last_reason,omitempty"`
	LastServer string `json:"last_server,omitempty"`
	LastModule string `json:"last_module,omitempty"`
	// OrderFault: two servers in a row failed the same way; the operation
	// stops, and both servers go back to sale.
	OrderFault bool `json:"order_fault,omitempty"`
	// Domain is the server's hostname.
	Domain string `json:"domain,omitempty"`
	// BaseIPs are the server's addresses before Open added any (taken
	// once: BaseTaken); ExtraIPs those it added.
	BaseIPs   []string `json:"base_ips,omitempty"`
	BaseTaken bool     `json:"base_taken,omitempty"`
	ExtraIPs  []string `json:"extra_ips,omitempty"`
	// Swap is the exchange of the parking address for a public one.
	Swap AddressSwap `json:"swap,omitzero"`
	// InstallStarted is when the OS install was started (zero: not yet).
	InstallStarted time.Time `json:"install_started,omitzero"`
	// Waits are when the waits for power-on, the install and
	// reachability began.
	Waits WaitStarts `json:"waits,omitzero"`
	// IP is the address AddIP adds.
	IP string `json:"ip,omitempty"`
}

// AddressSwap is the exchange of a server's parking address for a public
// one from IPmanager, in checkpoints.
type AddressSwap struct {
	// Public is the public address allocated (note "<op>/<server>/main").
	Public string `json:"public,omitempty"`
	// Parking is the server's parking address it replaces.
	Parking string `json:"parking,omitempty"`
	// PublicAdded: the public address is on the server.
	PublicAdded bool `json:"public_added,omitempty"`
	// ParkingRemoved: the parking address is off the server.
	ParkingRemoved bool `json:"parking_removed,omitempty"`
	// ParkingReleased: the parking address went back to IPmanager.
	ParkingReleased bool `json:"parking_released,omitempty"`
	// NewParking is the parking address allocated to park the server
	// again (roll-back, Close).
	NewParking string `json:"new_parking,omitempty"`
}

func (d *DedicatedState) serverID() string { return d.Server }

// clearServer forgets what Open recorded about the current server before
// it moves to the next one.
func (d *DedicatedState) clearServer() {
	d.Server, d.Domain, d.FailReason, d.KeepInSale = "", "", "", false
	d.BaseIPs, d.BaseTaken, d.ExtraIPs = nil, false, nil
	d.Swap = AddressSwap{}
	d.InstallStarted, d.Waits = time.Time{}, WaitStarts{}
}

// dedicatedFromV1 reads a version 1 Data map.
func dedicatedFromV1(st ProductState, m map[string]string) {
	d := st.(*DedicatedState)
	list := func(k string) []string {
		if m[k] == "" {
			return nil
		}
		return strings.Split(m[k], ",")
	}
	d.ModuleIndex, _ = strconv.Atoi(m["module_index"])
	d.UserName, d.UserID, d.AdminID = m["user_name"], m["user_id"], m["admin_id"]
	d.Server = m["server"]
	d.Tried = list("tried")
	d.Failures, _ = strconv.Atoi(m["server_failures"])
	d.LastFailure = m["last_failure"]
	d.FailReason, d.Abort = m["fail_reason"], m["abort"] != ""
	d.Domain = m["domain"]
	_, d.BaseTaken = m["base_ips"]
	d.BaseIPs = list("base_ips")
	d.ExtraIPs = list("extra_ips")
	d.Swap = AddressSwap{Public: m["public_ip"], Parking: m["parking_ip"], PublicAdded: m["public_added"] != "",
		ParkingRemoved: m["parking_removed"] != "", ParkingReleased: m["parking_released"] != "", NewParking: m["park_new"]}
	if at, err := time.Parse(time.RFC3339, m["install_started"]); err == nil {
		d.InstallStarted = at
		// Version 1 did not record when its install wait began: it began
		// when the install was started, so its deadline continues from
		// there.
		d.Waits.Install = at
	}
	d.IP = m["ip"]
}
