// Package dcimanager5test is a fake DCImanager 5 panel for tests: a real
// HTTP server (net/http/httptest) speaking the mgr5 protocol at /dcimgr
// (and /manager/dcimgr), with a stateful model of servers, IP addresses,
// switch and IPMI connections, users, OS templates and IP pools.
//
//	srv := dcimanager5test.NewServer(dcimanager5test.WithInstallDuration(50 * time.Millisecond))
//	defer srv.Close()
//	user, pass := srv.Admin()
//	c, _ := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials(user, pass))
//
// Authentication is the shared mgr5 fake core: authinfo, func=auth
// sessions that expire after an idle TTL (ExpireSessions ends them all),
// session.newkey with key login, su. Fault injection (panel errors, HTTP
// statuses, dropped connections, malformed bodies, slow answers, a change
// that happens but whose answer is lost) is the core's, re-exported here.
//
// Power, install and switch-port operations are asynchronous: the call
// answers "ok" at once and the flags change after the configured duration
// (WithPowerDuration, WithInstallDuration, WithConnectionDuration). State is
// computed lazily from timestamps under one mutex, so the fake needs no
// goroutines and is race-free.
//
// # Behaviour chosen where the public spec is silent
//
// The spec  leaves these points open ((assumed)) or only
// inferred ((inferred)); the fake behaves as follows, and the dcimanager5 client
// does not depend on any of them unless stated:
//
//   - Output: out=json renders a repeated element that occurs once as an
//     object, out=sjson always as an array (the core's choice).
//     WithOutput forces one format whatever the client asks, to test both.
//   - Unknown or malformed ids: a server, IP, connection or user that does
//     not exist answers doc.error type "missed", object "elid", value the
//     id (after COREmanager's mgr_err::Missed("elid", id)).
//   - End users (level 16, via key login or su) see only the servers they
//     own in func=server; any server.* or iplist call on another server
//     answers type "access", object "server". server.edit, server.enable,
//     server.disable, server.connection.*, iplist.edit, iplist.delete,
//     user.* and trafficburstable are administrator-only ("access").
//   - The list column "owner" is the owner's numeric user id (empty when
//     none); the server.edit form shows the id or "no_owner".
//   - server.edit with sok: the fields name, mac, notes, type and owner
//     are taken from the request and a field that is absent is cleared
//     (like an HTML form submit); this is why clients must read-modify-
//     write. An empty name answers type "value", object "name". owner must
//     be "no_owner", empty (both clear it) or the id of an existing user,
//     otherwise type "value", object "owner".
//   - hostname in the server list is the domain of the server's main IP
//     (the first address it received); a server without IPs has an empty
//     hostname. Changing the main IP's domain changes the hostname.
//   - Power: while a power operation runs, the row shows none of poweron,
//     poweroff, powererror; at the end it shows the target state (reboot
//     ends powered on, also from off). FailNextPower makes the next one end
//     in powererror. An end user cannot power a disabled server ("access").
//   - server.disable sets the disabled flag and switches every Switch
//     connection off; server.enable clears it and switches them back on;
//     both leave func_in_progress on those connections for the connection
//     duration. The blocked, hwproblem and diag_in_progress flags are only
//     set by the test (SetHardware).
//   - Install (server.operations sok=ok operation=ostemplate): other
//     operation values answer type "value", object "operation". ostemplate
//     must be a known template id, passwd non-empty and equal to confirm and
//     checkpasswd (when sent), recipe "null", empty or a known recipe; each
//     failure is type "value" with the field as object. A second install
//     while one runs answers type "value", object "operation". The install
//     clears operation_failed, powers the server on at once (poweron is
//     shown during and after the install) and shows install_in_progress
//     for the install duration; then the template is recorded, or, after
//     FailNextInstall, operation_failed is set and install_in_progress
//     cleared. hostname is recorded (InstallHostname) but does not change
//     the IP domains. server.opercancel stops a running install without
//     operation_failed and answers ok when nothing runs.
//   - Install progress hint (func=server with elid, clickstat=title and
//     hint_field=install_in_progress, as the vendor's Node client reads
//     it): during an install doc.value.$ is "Installing <template>: <n>%",
//     n = elapsed × 100 / install duration, 0–99 [G: the real wording is
//     not public]; without a running install (or for another hint_field)
//     the document has no value. An unknown or foreign elid is type
//     "missed"/"access" as for the other server functions.
//   - IP allocation (iplist.edit sok=ok with an empty ip): the lowest free
//     address of the pool for iptype (default "public") and family (default
//     ipv4); network and broadcast addresses of IPv4 pools are skipped. An
//     address is never assigned twice at the same time (across all servers
//     and pools); a deleted address returns to its pool. No pool for the
//     group answers type "value", object "iptype"; an exhausted pool type
//     "value", object "ip"; an explicit ip already in use type "exists",
//     object "ip". Explicit addresses need not belong to a pool. The
//     answer carries ok, id and ip (the address). The first address of a
//     server becomes its main address.
//   - Deleting the main address (assumed) (iplist.delete; no public source says
//     what DCImanager 5 does): it is refused while the main address is the
//     server's only one (type "value", object "elid", value its id). When
//     the server has other addresses the deletion succeeds and the
//     remaining address with the lowest id becomes the main one, so the
//     hostname (and the list's ip) follow the new main address's domain.
//     This is what a parking → public swap needs: add the public address,
//     then delete the parking one. Deleting at once every address of a
//     server is refused as a whole.
//   - iplist rows: a header row per IP group (type=group, ip = group name,
//     id "group_<name>") precedes that group's addresses, whose rows carry
//     id, ip, domain, iptype and family.
//   - server.connection rows carry id, type (Switch, IPMI, PDU), name,
//     status (on/off) and the func_in_progress flag; server.connection.edit
//     shows port (Switch) or ip (IPMI).
//   - user.edit sok=ok without elid creates a user: level lvUser (16) or
//     lvAdmin (28), otherwise type "value", object "level"; a duplicate
//     name answers type "exists", object "user". With elid it edits that
//     user (no public source names DCImanager 5's password change, spec
//     assumed in the wire ledger; this is the COREmanager convention): a
//     non-empty passwd becomes the user's login password at once, for
//     authinfo and func=auth, and the old one stops working (sessions
//     already open stay valid); confirm, when sent, must equal passwd,
//     otherwise type "value", object "confirm"; an empty passwd leaves the
//     password unchanged; name and level are not changed; the answer
//     carries ok and id. An unknown or malformed elid answers type
//     "missed", object "elid". Without sok it shows the form (elid, name,
//     level). user.delete (not confirmed for DCImanager 5)
//     deletes the user, disables its login and clears the owner of its
//     servers.
//   - whoami answers <user level="N">name</user>.
//   - ipmiredirect answers ok with the text "https://<IPMI address>/" and
//     type "missed", object "ipmi" for a server without IPMI connection.
//   - trafficburstable answers doc.reportdata.servers.elem rows with id,
//     name and burst (Mbit/s; SetTraffic sets it, default 0).
//   - Time: durations run on the wall clock; nothing advances by itself
//     between requests but every read sees the state of "now".
package dcimanager5test
