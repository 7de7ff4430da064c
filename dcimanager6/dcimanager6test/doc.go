// Package dcimanager6test is a fake DCImanager 6 for tests: a real
// httptest server with a stateful model, serving the endpoints the
// dcimanager6 client uses, with the client's assumed shapes (see the
// "Assumptions" section of package dcimanager6).
//
//	fake := dcimanager6test.NewServer(dcimanager6test.WithDurations(50*time.Millisecond, 10*time.Millisecond))
//	defer fake.Close()
//	client, _ := dcimanager6.NewClient(fake.URL(),
//		dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword))
//
// # Behaviour
//
//   - Paths are served both with and without the /api prefix.
//   - Auth v4: POST /auth/v4/public/token answers 201 {"id","token"}; the
//     token (24 upper-case hex characters) is accepted from x-xsrf-token or
//     from the ses6 cookie; isp-box-instance is ignored. Tokens live
//     WithTokenTTL (default 1 h); an expired, unknown or missing token is
//     401 with code 1000; ExpireSessions invalidates all. Bad credentials
//     are 401 code 1001. POST /auth/v4/user/{id or e-mail}/key answers
//     {"id","key"}; POST /auth/v4/public/key exchanges a key (once) for a
//     token. Every valid session may call everything (roles are not
//     enforced).
//   - Errors are {"error":{"code","msg","value"}}: 400/2000 invalid input
//     (bad JSON, bad where/orderby/limit, invalid fields), 404/3000 unknown
//     object or endpoint, 405 wrong method, 409/4000 e-mail taken,
//     409/4001 state conflict, 500/5000 injected failure, 503/5030 waking
//     up.
//   - Lists answer {"list","size"}; size counts all matches before limit.
//     where is parsed by a real parser (grammar and semantics in where.go:
//     EQ, NE, CP, IS [NOT] null, NOT, AND, OR, parentheses, 'strings'
//     with a quote written twice, numbers, true/false; unknown fields are 400);
//     orderby is "<field> [asc|desc]" (one field); limit is "offset,count"
//     or "count".
//   - Servers carry the BILLmanager's availability availability inputs: owner/owner_email (null
//     when free), is_new, maintenance_mode, state ("active"), configuration
//     and operation.status; the fake also renders a convenience field
//     "available" (not in the real API).
//   - GET /dci/v3/server/configuration counts available servers per
//     configuration among the servers matching where (configurations with
//     none free are listed with 0).
//   - Power: power_on needs off/unknown, power_off needs on, power_reset is
//     always allowed; a server with a running operation is busy; violations
//     are 409/4001. Each starts an operation of WithDurations' power time
//     and answers {"id","task"}; the power status changes when it ends.
//   - Install (reinstall): the template must be an "os" template of the
//     server's location and a password is required; the operation's stages
//     (prepare, network boot, partitioning, installing OS, [running
//     script], finishing) advance evenly over the install time; at the end
//     the template, domain and power (on) are set and an address of the
//     location's pool is allocated. FailNextOperation makes the next one
//     fail at the middle stage; CancelOperation cancels one.
//   - Operations advance with the clock, evaluated on each request; no
//     goroutines run in the background.
//   - Owner: POST /dci/v3/server/{id} {"owner": id|null, "domain": "…"};
//     a server owned by an @admin user (a billing reservation) passes
//     directly to the new owner, keeping its addresses; replacing a
//     customer owner is 409; clearing the owner releases the server's
//     addresses back to the pool. Deleting a user who owns servers, or
//     oneself, is 409.
//   - Addresses: POST /ip/v3/ip {"ippool","name","server_id","domain","note"}
//     binds the lowest-ID free address of the pool (or the named address)
//     to the server and answers the address object; the pool, and the
//     named address's pool, must be of the server's location (400); a
//     taken address or an exhausted pool is 409/4001. Requests are handled
//     under one mutex, so an address is never handed out twice, also
//     concurrently. DELETE /ip/v3/ip/{id} frees an assigned address (404
//     when it is not assigned, so a repeat is 404). The server's ip list
//     shows its main address (the one the install allocated) first, then
//     the others in assignment order; the install allocates a main
//     address even when extra addresses were assigned before it.
//   - Passwords: POST /auth/v4/user/{id}/password {"password"} changes the
//     password the user logs in with (issued sessions stay valid).
//   - Switch ports: enable/disable set admin_status (oper_status mirrors
//     it); the server's switch_connection shows the port's status.
//   - WithWakeUp(n) / Suspend(n): the next n requests, whatever the path,
//     answer 503.
//   - Faults: Inject adds a Fault matched on "[METHOD ]/path" (the same
//     vocabulary as the other ispkit fakes): the panel's JSON error, an
//     HTTP status page, the connection dropped before or after the change,
//     a truncated or malformed body, a slow answer, an expired session;
//     once, N times, or with a probability from a seeded source (WithSeed,
//     SetFaultSeed). Calls is the call log (path, parameter names, fault,
//     applied); SetStrict records paths, query parameters and body fields
//     the fake does not model (Violations).
//
// State is exposed for assertions through methods returning copies
// (Machines, Users, Operations, Ports, IPs, Calls, Requests, Logins, Tokens) and
// can be changed with AddMachine, AddUser, AddLocation, AddOSTemplate and
// UpdateMachine. The server is safe for concurrent requests; one mutex
// guards the model.
//
// The default data set is DefaultSeed: two locations, nine servers with
// every availability case, five OS templates, two pools of ten addresses,
// the administrator and one client. Like every ispkit fake, the server
// loads a JSON-shaped SeedData (Load), dumps its whole state (Dump),
// empties itself (Reset; WithoutSeed starts empty), changes operation
// durations at run time (SetDurations) and serves on a listener of the
// caller's (Handler) — what the ispkit command's simulator is built from.
package dcimanager6test
