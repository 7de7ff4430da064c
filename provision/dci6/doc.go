// Package dci6 adapts the dcimanager6 client to provision.DedicatedBackend,
// so the provision engine sells DCImanager 6 servers the way it sells
// DCImanager 5 ones.
//
//	c, _ := dcimanager6.NewClient(url, dcimanager6.WithCredentials(adminEmail, pw))
//	b, err := dci6.New(c,
//		dci6.CatalogLocation(cat, "dci6"), // the location of the module's data center
//		dci6.AdminEmail(adminEmail),   // owner of reserved servers
//		dci6.UserDomain("clients.example.com"))
//
// # Mapping decisions
//
// Identifiers:
//   - Server, user and address ids are the panel's numeric ids as decimal
//     strings. Server.Location is the location id.
//   - The data center is one DCImanager 6 location: ListServers lists only
//     that location's servers (where location_id EQ id), as BILLmanager's
//     "DCImanager 6 Location ID" does. [CatalogLocation] reads it from the
//     module's billing.DataCenter (the one place it is written);
//     [Location] gives it directly to a backend used without a catalog.
//
// Availability (the vendor's "Integration with BILLmanager" page,
// https://ispsystem.com/docs/dcimanager-admin/integration/integration-with-billmanager:
// no owner, diagnostics done, configuration defined, last operation ok or
// canceled, not in maintenance) is mapped so
// that provision.Server.Available gives the same answer as
// dcimanager6.Server.Available, plus the free.ds rule below:
//   - owner → OwnerID (the owner's user id; the owner's e-mail when the
//     panel sends only owner_email). Any owner makes the server unavailable.
//   - is_new (diagnostics not done) → DiagInProgress.
//   - an operation still running (status created/running) →
//     DiagInProgress ("busy"); Installing too when it is an install.
//   - last operation ended with error → Faulty (InstallFailed too when it
//     was an install); ok and canceled leave the server sellable.
//   - maintenance_mode → Faulty; an empty configuration → Faulty.
//   - DCImanager 6 has no free.ds convention of its own: Hostname is
//     provision.FreeHostname ("free.ds") when the server has no owner and
//     its domain is empty or "free.ds", otherwise the domain. A server
//     without an owner whose domain is something else is therefore not
//     offered (it is half-released or being prepared). SetDomain writes
//     the server's domain field (Servers.SetDomain); releasing writes
//     "free.ds" there.
//   - The state field is not used (the client's Available ignores it too).
//   - Config is the configuration string; Type is empty (DCImanager 6 has
//     no server type separate from the configuration).
//   - IP is the first address of the server's ip list; PoweredOn is
//     power_status "on"; SwitchPort is "<switch name> <port description>"
//     of the first non-IPMI switch connection; MAC and IPMIAddress are not
//     in the server object and stay empty.
//   - Disabled: every non-IPMI switch port of the server is
//     administratively down (see Enable/Disable below); always false with
//     PortToggle(false) or without switch connections.
//
// Operations:
//   - SetOwner: Servers.SetOwner / ClearOwner (empty user id). When the
//     server already has another owner and the panel refuses the change
//     as a conflict, the owner is cleared and set again, but only when the
//     old or the new owner is the integration's admin (the engine's
//     reservation hold); a customer's server is never taken over. The fake
//     panel hands an admin-held server to the customer directly. On a panel
//     that refuses, the fallback clears the owner first, which releases the
//     server's addresses (the vendor's integration page says addresses go
//     back to the deallocation pool on release; no public source describes
//     the release call itself), so the addresses allocated during the
//     install would be lost: check this against a real instance.
//   - SetDomain: Servers.SetDomain (the server's domain field).
//   - Enable/Disable: DCImanager 6 has no "blocked" flag the client can
//     set. BILLmanager disables a DCImanager 6 service by switching its
//     ports off (BILLmanager 6 docs, "Dedicated server services
//     management": the service and its switch port are disabled, the
//     server is not shut down), which is also what DCImanager 5's
//     server.disable is used for, so Disable = DisablePorts and Enable =
//     EnablePorts. Maintenance mode is not used: it would take the server
//     out of sale (Faulty), the client has no call to set it, and the
//     engine expects a disabled, released server to be sold again.
//   - SetPorts: Servers.EnablePorts / DisablePorts (every non-IPMI port).
//     PortToggle(false) makes SetPorts, Enable and Disable deliberate
//     no-ops (for data centers whose switches DCImanager does not manage):
//     suspend then changes only the billing state.
//   - PowerOn/PowerOff: Servers.PowerOn/PowerOff; a conflict answer is
//     success when the server is already, and idly, in the wanted power
//     state, or when the operation it runs is that same power command
//     (named "power_on"/"power_off", an assumption: a repeated command
//     whose first answer was lost); any other conflict (e.g. a running
//     install) is returned.
//   - Install: Servers.Install. InstallSpec.Template is an OS template id
//     or the exact (case-insensitive) name of an "os" template of the
//     server's location; Recipe is a script id, or empty / "null" for
//     none (the client cannot list scripts, so names are refused with an
//     [*UnsupportedError]); Hostname becomes the domain.
//   - InstallStatus reads the install operation: the one Install started
//     (remembered per server while the process lives, read with
//     Operations.Get) or else the server's current operation. Running =
//     not finished, Failed = error or canceled, Percent = finished stages
//     × 100 / stages (100 when ok, -1 without stages), Message = the
//     operation's message. An operation of another kind (power, ...) is
//     reported as neither running nor failed.
//   - ListIPs: the IP service (IPs where server_id EQ id); when that
//     service answers not found or forbidden, the server object's ip list.
//     Main is the server's first address.
//   - AddIP: IPs.Assign. A given address is bound as it is; otherwise the
//     first free address of a pool: a numeric group is a pool id, else the
//     pool of the server's location (or of none) with the family whose
//     name equals the group, else the first whose name contains it (the
//     default group "public" finds "public-ams"); no such pool is
//     provision.ErrNotFound. Each call writes a random note on the
//     assignment; when the call fails in transport after it may have been
//     executed, the assignment is looked up by that note
//     (IPs.FindAssignment) and returned, so a lost answer never binds a
//     second address. The engine's own retries find an address added
//     before a crash through its snapshot of the server's addresses.
//   - RemoveIP: IPs.Unassign of an address of the server; an address not
//     (or no longer) on the server, or already free, is success, and an
//     address of another server is never touched. The engine refuses to
//     remove the main address before it gets here.
//   - SetUserPassword: Users.SetPassword (an assumed auth v4 call, see the
//     client's assumptions.go). A user with the @admin role, or with the
//     AdminEmail, is refused with [ErrAdminAccount].
//   - Users: DCImanager 6 users are e-mail addresses. A provision user
//     name maps to an e-mail by [UserEmail] (any function), by default
//     strings.ToLower(name) + "@" + the [UserDomain]; one of the two is
//     required. FindUser = Users.GetByEmail; CreateUser = Users.Create
//     with role @user and the user name as full name; LoginURL =
//     Auth.Key(user id).URL. A name that maps to the admin's e-mail or to
//     a user with the @admin role is refused with [ErrAdminAccount], so a
//     customer can never be given an administrator's login link.
//   - AdminUserID: the user with the [AdminEmail] e-mail, or, without it,
//     the session's own user (Auth.Whoami); cached.
//
// # Unsupported calls
//
// These return an [*UnsupportedError], which matches
// provision.ErrUnsupported with errors.Is; none of them pretends to
// succeed:
//   - SetNotes: DCImanager 6 servers have no notes field the client can
//     write. Give [NotesSink] to send the notes somewhere else (a log, a
//     ticket system); the engine's roll-back of a failed server writes
//     notes and retries that step until it succeeds.
//   - Install with a recipe given by name.
//
// # Known limitations
//
//   - Owner transfer: the engine reserves a server by making the admin its
//     owner and hands it to the customer after the install. The fake (and
//     perhaps a real panel) refuses a direct owner change, so SetOwner
//     clears and sets the owner, and clearing releases the addresses the
//     install allocated: on the fake an opened service ends up without a
//     main address. A panel that accepts a direct change (the client's
//     documented edit shape) loses nothing. The fix is outside this
//     package: a fake that accepts the change, or an engine that skips the
//     admin hold for DCImanager 6.
//   - Operation kinds: an operation whose name is empty (the name field is
//     an assumption of the client) counts as an install.
package dci6
