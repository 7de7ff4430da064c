package dcimanager6

// This file holds every path and field name the client sends. Each is
// marked with what supports it:
//
//   - (vendor docs): shown in ISPsystem's DCImanager 6 documentation, the
//     "API guide" and "Examples of API use" pages
//     (https://docs.ispsystem.com/dcimanager-admin/developer-section/);
//   - (seen in third-party code): used by public scripts written against a
//     real DCImanager 6 or its shared auth and IPmanager 6 services;
//   - (inferred): follows from those by analogy (mostly VMmanager 6, whose
//     API shares the conventions);
//   - (assumed): no public source; ispkit's choice, to check against the
//     /swagger/ page of a real instance (DCI back, Auth v4 and IPmanager
//     definitions).
//
// Ledger (ledger.go) lists every call with the source a reader can open.
// A check against every public source found (December 2026) changed no
// path: the token path is public both with and without the /api prefix
// (WithAPIPrefix chooses; the fake serves both), and the address list is
// public both at /api/ip/v3/ip (an IPmanager 6 free-address script) and at
// /api/dci/v3/ipmgr/ip (a DCImanager 6 script filtering on ipnet and
// reading ip_addr and ipnet_name); the client keeps the IP service's own
// path. Correcting a guess means editing this file (and the fake in
// dcimanager6test, which serves the same shapes); nothing else in the
// package spells these paths or field names.

// Paths below the API prefix. "%d" is a numeric ID, "%s" an escaped path
// segment.
const (
	// (vendor docs) Auth v4 password login; answers 201 with {"token": ...}.
	pathToken = "/auth/v4/public/token"
	// (vendor docs) Key for the "log in to DCImanager" button.
	pathUserKey = "/auth/v4/user/%s/key"
	// (vendor docs) Browser URL that exchanges a key for a session (no API prefix).
	pathKeyLogin = "/auth/key-v4/%s"
	// (vendor docs) Current session information.
	pathWhoami = "/auth/v4/whoami"

	// (vendor docs) Servers: list and one server.
	pathServers = "/dci/v3/server"
	pathServer  = "/dci/v3/server/%d"
	// (vendor docs) Free-server counts per configuration.
	pathServerConfigurations = "/dci/v3/server/configuration"
	// [C names, C3 URL shape] Power actions, body {}.
	pathPowerOn    = "/dci/v3/server/%d/power_on"
	pathPowerOff   = "/dci/v3/server/%d/power_off"
	pathPowerReset = "/dci/v3/server/%d/power_reset"
	// (assumed) OS installation, modelled on VMmanager 6 POST /vm/v3/host/{id}/reinstall.
	pathReinstall = "/dci/v3/server/%d/reinstall"
	// (inferred) Owner assignment: "edit is a POST to the object URL" as in
	// VMmanager 6 (POST /vm/v3/host/{id}); the body carries "owner".
	pathServerEdit = pathServer

	// (vendor docs) DCI users: list and create; (inferred) delete and get by ID.
	pathUsers = "/dci/v3/user"
	pathUser  = "/dci/v3/user/%d"

	// (assumed) Locations.
	pathLocations = "/dci/v3/location"
	pathLocation  = "/dci/v3/location/%d"

	// (assumed) OS templates; one collection filtered by location_id.
	pathOSTemplates = "/dci/v3/os_template"

	// (assumed) Operations ("information about a particular operation" exists
	// per the vendor's feature list, the URL does not).
	pathOperations = "/dci/v3/operation"
	pathOperation  = "/dci/v3/operation/%d"

	// (seen in third-party code) Switch ports of one switch.
	pathSwitchPorts = "/dci/v3/switch/%d/port"
	// (assumed) Enable/disable one switch port.
	pathPortEnable  = "/dci/v3/switch/%d/port/%d/enable"
	pathPortDisable = "/dci/v3/switch/%d/port/%d/disable"

	// (seen in third-party code) IPmanager 6 addresses; (vendor docs) (VMmanager box) pools.
	pathIPs   = "/ip/v3/ip"
	pathIP    = "/ip/v3/ip/%d"
	pathPools = "/ip/v3/ippool"
	pathPool  = "/ip/v3/ippool/%d"

	// (assumed) Address assignment. Modelled on the VMmanager 6 rule "create is
	// a POST to the collection" (POST /vm/v3/account) and on the IP
	// service's own collection /ip/v3/ip (seen in third-party code): POST /ip/v3/ip with
	// {"ippool", "name", "server_id", "domain", "note"} takes a free
	// address of the pool (or the named address) and binds it to the
	// server; the answer is the address object. A real instance may
	// instead expose it under the pool (POST /ip/v3/ippool/{id}/ip), under
	// the server (POST /dci/v3/server/{id}/ip, as VMmanager 6 does for
	// VMs) or through a userspace (/ip/v3/userspace/...). Check the
	// IPmanager and DCI back definitions in /swagger/ for the call that
	// "allocates"/"assigns" an address and for its body field names.
	pathIPAssign = pathIPs
	// (assumed) Unassignment: DELETE on the address object returns it to its
	// pool (IPmanager 5 "ip.delete" frees an address the same way). A
	// repeat answers 404. Check whether a real instance deletes the
	// address record, frees it, or wants POST .../release instead.
	pathIPUnassign = pathIP

	// (assumed) Password change of a user. Chosen: POST /auth/v4/user/{id}/password
	// {"password": ...}: the password is what auth v4 checks at login, and
	// auth v4 already has per-user calls on the same IDs
	// (POST /auth/v4/user/{id}/key (vendor docs)). The alternative is an edit of the
	// DCI user, POST /dci/v3/user/{id} {"password": ...} (VMmanager 6 edits
	// users by POST to the object URL [C S11]). Check the Auth v4
	// definition in /swagger/ for a password (or "change_password") call.
	pathUserPassword = "/auth/v4/user/%d/password"
)

// Field names and values used in request bodies and filters.
const (
	// (assumed) Body field of an owner assignment; null clears the owner.
	fieldOwner = "owner"
	// (assumed) Body field that sets a server's domain (host name) in an edit.
	fieldDomain = "domain"

	// (assumed) Reinstall body fields (VMmanager 6 uses "os" and "password").
	fieldInstallTemplate   = "os"
	fieldInstallPassword   = "password"
	fieldInstallHostname   = "domain"
	fieldInstallRecipes    = "recipe_list"
	fieldInstallRecipe     = "recipe"
	fieldInstallRecipeArgs = "recipe_params"

	// (assumed) Address assignment body fields. "ippool" follows the pool
	// collection's name (/ip/v3/ippool), "name" is the field that holds
	// the address in /ip/v3/ip items (seen in third-party code), "server_id" and "domain" are
	// the fields the address object carries. "note" is a free-text field
	// the client writes so that it can find the assignment again after an
	// uncertain failure (IPmanager 5 addresses had a description field; an
	// IPmanager 6 equivalent is unconfirmed).
	fieldAssignPool   = "ippool"
	fieldAssignName   = "name"
	fieldAssignServer = "server_id"
	fieldAssignDomain = "domain"
	fieldAssignNote   = "note"
	// (assumed) Body field of a password change.
	fieldPassword = "password"

	// (inferred) Response field carrying the operation started by an action
	// (VMmanager 6 answers {"id": ..., "task": ...}).
	fieldTask = "task"

	// Filter fields. owner_email, is_new and location_id are (seen in third-party code);
	// maintenance_mode and the operation.status filter are (assumed).
	filterOwnerEmail      = "owner_email"
	filterIsNew           = "is_new"
	filterLocation        = "location_id"
	filterConfiguration   = "configuration"
	filterMaintenance     = "maintenance_mode"
	filterOperationStatus = "operation.status"
	filterServerID        = "server_id"
	// (assumed) Filters on /ip/v3/ip used to find an assignment again: the
	// address (name (seen in third-party code)) and the note written at assignment.
	filterIPName = "name"
	filterIPNote = "note"
)

// Operation status values. Only "ok" and "canceled" are documented (as the
// statuses that make a server available); the others are (assumed).
const (
	StatusCreated  = "created"  // (assumed) queued, not started
	StatusRunning  = "running"  // (assumed) in progress
	StatusOK       = "ok"       // (vendor docs) finished successfully
	StatusError    = "error"    // (assumed) finished with an error
	StatusCanceled = "canceled" // (vendor docs) cancelled
)

// Power status values. ON/OFF/UNKNOWN are documented as concepts; the
// lower-case field values and the field name power_status (seen in third-party code) are (inferred).
const (
	PowerOn      = "on"
	PowerOff     = "off"
	PowerUnknown = "unknown"
)

// Error codes. Only the shape {"error":{"code","msg","value"}} is
// documented; the code 1000 for an invalid session comes from one
// third-party client (seen in third-party code). The others are ispkit's choices (assumed) and are what
// the fake answers.
const (
	CodeUnauthorized   = 1000 // (seen in third-party code) session missing, invalid or expired
	CodeBadCredentials = 1001 // (assumed) wrong e-mail or password on login
	CodeInvalidInput   = 2000 // (assumed) malformed where/orderby/limit or body
	CodeNotFound       = 3000 // (assumed) no such object or endpoint
	CodeExists         = 4000 // (assumed) object already exists (e-mail taken)
	CodeStateConflict  = 4001 // (assumed) action not allowed in the current state
	CodeInternal       = 5000 // (assumed) internal error
	CodeUnavailable    = 5030 // (assumed) platform suspended ("waking up")
)

// FreeDomain is the host name the vendor's older integrations give to a
// server that is free for sale ("free.ds"). [C for DCImanager 5, I for 6]
const FreeDomain = "free.ds"
