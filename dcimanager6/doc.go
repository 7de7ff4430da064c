// Package dcimanager6 is a typed client for the DCImanager 6 REST API
// (bare-metal servers): auth v4 sessions, where/orderby/limit lists,
// servers, free-server counts, users, owner assignment, power, switch
// ports, OS templates and installation, operations and their waiter, the
// addresses and pools of the IP service (with assignment of an address to
// a server and its release), and user password changes.
//
// # Quick start
//
//	client, err := dcimanager6.NewClient("https://dci.example.com",
//		dcimanager6.WithCredentials("admin@example.com", password))
//	free, total, err := client.Servers.ListFree(ctx, locationID, "E-2146G-64Gb-1920SSD", nil)
//	err = client.Servers.SetOwner(ctx, free[0].ID, userID)
//	res, err := client.Servers.Install(ctx, free[0].ID, dcimanager6.InstallRequest{TemplateID: 1, Password: rootPW})
//	srv, err := client.Servers.WaitInstalled(ctx, free[0].ID, dcimanager6.ForOperation(res.OperationID))
//
// The fake panel in [github.com/ispkit/ispkit/dcimanager6/dcimanager6test]
// serves the same endpoints for tests and examples.
//
// # Wire protocol
//
// Every call goes to <base URL><API prefix>/<service>/<version>/<function>;
// the prefix is "/api" by default and "" for instances that serve the
// services at the root (WithAPIPrefix; the public sources disagree). Bodies
// are JSON; lists come back as {"list":[…],"size":N} where size counts
// every match. The client logs in on first use with POST
// /auth/v4/public/token ({"email","password"}, success 201) and sends the
// token as x-xsrf-token, as cookie ses6 and with isp-box-instance: true.
// On 401 (or error code 1000) it logs in again once and replays the call;
// concurrent callers share that one login. With WithToken and no
// credentials a 401 is returned to the caller.
//
// # Filters
//
// [Where] builds where= expressions (EQ, NE, CP, IS null, NOT, AND, OR and
// parentheses); values are always literals with quotes doubled, field
// names are checked, so input cannot change the expression. The query is
// encoded as the panel expects: spaces as %20, a literal + as %2B, and
// ' ( ) left unencoded. [ListOptions] adds orderby=<field> asc|desc and
// limit=<offset>,<count>. Each List method returns one page and the
// total; each All method returns an iter.Seq2 over every page.
//
// # Retries
//
//	call                                         class            retried on
//	GET (lists, gets, waiter polls)              safe             transport errors, 429, 503, 5xx except 501
//	login, owner set/clear, domain, switch ports idempotent write the same
//	user password                                idempotent write the same
//	delete user, unassign address                idempotent write the same (a repeat answers 404)
//	create user, power, install, login key,      non-idempotent   503 only (the platform executed nothing)
//	assign address
//
// The default budget is 10 retries with jittered exponential backoff from
// 100 ms to 5 s (the vendor's own example retries 10 times); tune it with
// WithRetry. Retry-After above 30 s stops the retries with an
// *RateLimitError. A non-idempotent call that fails in transport is
// not repeated: its *TransportError says MayHaveHappened, and the
// caller must re-read state (e.g. Users.GetByEmail, or IPs.FindAssignment
// with the request's Note) before trying again.
// Every wait selects on the context.
//
// # Errors
//
// A non-2xx answer is an *[Error] with the HTTP status and the panel's
// code, msg and value; errors.Is matches it against [ErrNotFound],
// [ErrUnauthorized], [ErrForbidden], [ErrConflict], [ErrInvalidInput] and
// [ErrUnavailable] ([IsNotFound], [IsUnauthorized], [IsConflict]). Bad
// input found before sending is an *[ArgumentError] ([ErrInvalidArgument]);
// an unreadable success body is a *[ProtocolError]; a failed or cancelled
// operation is an *[OperationError] ([ErrOperationFailed],
// [ErrOperationCanceled]). Transport failures are *TransportError
// values and unwrap to the cause (context.Canceled included).
//
// # Secrets
//
// Passwords travel only in request bodies, tokens only in headers; none
// of them, nor login keys, appear in log records (WithLogger), error
// strings or URLs. InstallRequest, UserCreateRequest and LoginKey hide
// their secrets when formatted. Error values from the panel are scrubbed
// of secret-looking keys.
//
// # Assumptions to check against a real instance
//
// Only parts of the API are public. Everything below was chosen by ispkit
// and lives in one file, assumptions.go, so it is easy to correct after
// reading https://<host>/swagger/ (DCI back, Auth v4, IPmanager). The fake
// serves exactly these shapes.
//
//   - OS installation: POST /dci/v3/server/{id}/reinstall with
//     {"os": template, "password", "domain": hostname,
//     "recipe_list": [{"recipe": id, "recipe_params": [{"name","value"}]}]},
//     answered {"id": server, "task": operation} (modelled on VMmanager 6
//     POST /vm/v3/host/{id}/reinstall).
//   - Action answers: power_on/power_off/power_reset also answer
//     {"id", "task"}; the operation ID is read from "task".
//   - Owner assignment: POST /dci/v3/server/{id} {"owner": userID}; clear
//     with {"owner": null}; the domain is set the same way (VMmanager 6
//     edits by POST to the object URL). Clearing the owner is the whole of
//     "release" here; what a real panel also does (wipe, diagnostics) is
//     unknown.
//   - Users: GET and DELETE /dci/v3/user/{id} (list and create are documented).
//   - Password change: POST /auth/v4/user/{id}/password {"password"}
//     (auth v4 holds the login; the alternative to check is
//     POST /dci/v3/user/{id} {"password"}).
//   - Address assignment: POST /ip/v3/ip {"ippool": pool, "name": address
//     (optional), "server_id", "domain", "note"} binds the first free
//     address of the pool (or the named one) and answers the address
//     object; DELETE /ip/v3/ip/{id} frees it (a repeat answers 404). The
//     note is a field ispkit writes and filters on (where note EQ …) to
//     find an assignment again after a lost answer. Check the IPmanager
//     and DCI back definitions for the real call (under the pool, under
//     the server as VMmanager 6 does for VMs, or a userspace).
//   - Locations: GET /dci/v3/location and /dci/v3/location/{id}, items {id, name}.
//   - OS templates: GET /dci/v3/os_template filtered by location_id; items
//     {id, name, location_id, type, access, tags, efi}.
//   - Operations: GET /dci/v3/operation (filter server_id) and
//     /dci/v3/operation/{id}; items {id, name, server_id, status,
//     status_info {msg}, progress_info [{name, status}]}. Status values
//     created, running, ok, error, canceled (only ok and canceled are
//     documented).
//   - Switch ports: POST /dci/v3/switch/{switch}/port/{port}/enable and
//     /disable; the port of a server is switch_connection[].connection_id.
//   - Server fields owner (user ID), maintenance_mode and power_status
//     values on/off/unknown; IP fields pool, server_id and note; pool fields
//     {id, name, family, location_id}.
//   - Free servers ([FreeServers]): owner_email IS null, is_new false,
//     maintenance_mode false, operation.status ok or canceled.
//   - Error codes: 1000 invalid session (seen in one client), the others
//     (1001, 2000, 3000, 4000, 4001, 5000, 5030) are ispkit's; predicates
//     use the HTTP status, so wrong codes do not break them.
//   - where: a quote inside a string is doubled; OR and IS NOT null exist;
//     the filter of GET /dci/v3/server/configuration is honoured.
//   - Login answers 401 on bad credentials; the power preconditions and a
//     busy server answer 409.
package dcimanager6
