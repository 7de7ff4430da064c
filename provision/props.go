package provision

import "github.com/ispkit/ispkit/billing"

// Service.Properties keys set by the engine.
const (
	PropServerID    = billing.PropServerID // panel id of the dedicated server
	PropIP          = billing.PropIP       // main IP address
	PropIPs         = billing.PropIPs      // additional addresses, comma-separated
	PropLogin       = billing.PropLogin    // panel user name
	PropUserID      = "user_id"            // panel user id (dedicated)
	PropServerName  = "server_name"        // server label in the panel
	PropDomain      = "domain"             // server hostname / account domain
	PropSwitchPort  = "switch_port"
	PropIPMI        = "ipmi"
	PropMAC         = "mac"
	PropOS          = "os_template"
	PropRecipe      = "recipe"
	PropReservation = "reservation" // id of the operation holding the server's reservation
	// PropIPManaged is "1" when the main address was swapped for a public
	// one from IPmanager (Close parks the server again).
	PropIPManaged   = "ipmgr_managed"
	PropActivatedAt = "activated_at" // RFC 3339 time of the first activation
	PropManualTask  = "manual_task"  // reason of the pending manual task
)
