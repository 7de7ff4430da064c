// Package provision is ispkit's lifecycle engine: it opens, suspends,
// resumes, closes and changes dedicated servers (DCImanager 5/6) and
// hosting accounts (ISPmanager) the way BILLmanager and the WHMCS modules
// do, but as a library that is concurrent, resumable after a crash and
// explicit about every failure.
//
// # Pieces
//
//   - [Engine], built with [New] from a [Config]: a [Store], a
//     *billing.Catalog (modules and tariffs) and backends per module name
//     (adapters: provision/dci5, provision/dci6, provision/ipmgr,
//     provision/ispmgr, or your own implementations of [DedicatedBackend],
//     [IPPool], [HostingBackend]).
//   - [Store]: operations, reservations and services, with optimistic
//     versions and leases. provision/memstore keeps them in memory,
//     provision/sqlstore in SQLite or PostgreSQL; provision/storetest is
//     the conformance suite.
//
// # Driving it
//
// [Engine.Submit] validates a [Request], records an [Operation] and
// returns; [Engine.Run] is the worker pool (Workers goroutines per engine)
// that claims operations with leases and runs them; [Engine.Wait] waits for
// one. [Engine.Do] (and Open, Suspend, Unsuspend, Close, ChangePassword,
// AddIP, RemoveIP, Reinstall) records the operation already leased to this
// engine and runs it in the calling goroutine. [Engine.Resume] claims and
// finishes every unfinished operation that is claimable now (call it at
// start-up, or rely on Run). [Engine.LoginURL] is direct, not an operation.
// [Engine.Subscribe] delivers progress [Event]s: step started/finished,
// install percent, server failed, manual task, welcome, operation
// done/failed. Input is validated before anything is recorded or sent
// (*[RequestError], billing's typed errors, [ErrServiceState], [ErrBusy],
// [ErrUnsupported]).
//
// # Steps
//
// Every operation is a sequence of named, idempotent steps. Each step
// reads the panel's state before it acts, and its result goes into
// Operation.Data together with the next step's name through a
// version-checked Store.UpdateOperation before the next step starts. A step
// that has several unsafe calls records a checkpoint after each (the
// operation "re-enters" the same step), so at most one call can be in
// doubt after a crash, and that call is resolved by re-reading the panel.
//
// Open of a dedicated server (seed documents, WHMCS DCImanager module):
//
//	start        service Ordered → Processing
//	user         find the customer's panel user (billing.SanitizeUsername of
//	             the owner: ASCII letters and digits, ≤ 16), else create it
//	pick         first server with Server.Available(tariff.ServerConfig) that
//	             is not reserved in the Store and not tried by this operation;
//	             Store.Reserve (atomic; ErrReserved → next); no server → next
//	             module by sort order; none left → manual task when the
//	             module has NewServerType, else the operation fails with
//	             ErrNoServer and the service returns to Ordered (Pending)
//	claim        admin becomes the owner, server enabled
//	domain       tariff domain template, else the order's domain, else
//	             "<service id>.domain"
//	ip_swap      (IPmanager link, parking group, NeverChangeIPs off) allocate
//	             a public address with note "<op>/<server>/main", add it to
//	             the server, then remove the parking address (the server's
//	             main address: the panel keeps a server's only address, so
//	             the public one must be there first and becomes the main
//	             one), then release the parking address to IPmanager; each
//	             of the four is a checkpoint
//	extra_ips    the ordered IP / IPv6 counts, one checkpoint per address
//	ports_on, power_on, wait_power (PowerTimeout)
//	install      OS template and recipe from the tariff and order options
//	wait_install until finished (InstallTimeout, default 720 s) — or only
//	             until started with DontWaitInstall; a failed install fails
//	             at once
//	reachable    Config.Reachability (default TCP dial to port 22; skipped
//	             with DontWaitInstall)
//	transfer     the customer's user becomes the owner
//	activate     properties saved on the service, service Active, welcome
//
// A failure (after StepRetries retries) or timeout in claim … transfer rolls
// the server back (rb_ips, rb_parking, rb_domain, rb_notes, rb_disable,
// rb_release): added addresses removed and returned, parking address back,
// domain free.ds, the reason written into the server's notes, the server
// disabled, and the next server is tried. The failed server keeps the
// integration's admin as owner, so it stays out of sale ("the owner will
// not change") until an operator clears it; its Store reservation is
// released, because the panel state now keeps it out of sale.
//
// Failures are bounded per order: after Config.MaxServerFailures servers
// (default 3) failed for one Open, it stops trying further servers (the
// current one is rolled back as usual), the operation fails with
// [ErrTooManyFailures] (distinct from [ErrNoServer]) and a message that
// gives the count and the last reason, and the service returns to Ordered
// (Pending). A fault that is not the servers' own (a wrong OS template, a
// panel or configuration error) thus disables a few servers, not the
// whole stock.
//
// Close: disable, delete the additional addresses (and release them in
// IPmanager), park the server again when its address was swapped (a new
// parking address is added before the public one is removed), domain
// free.ds, owner reset (no_owner), reservation released, service Deleted
// (without PropIPs: those addresses are released).
// The server stays disabled; the next Open enables it. Suspend and
// Unsuspend switch the ports off and on (the server keeps running).
// Hosting Open creates the ISPmanager account named by the tariff's
// username template (default @USERNAME@, reduced to lower-case letters and
// digits, ≤ 16 characters; collisions get a numeric suffix, also when the
// panel says "exists" on create) from the account template with
// billing.MergeLimits(template, tariff). It uses the tariff's modules in
// Catalog.SelectModules order and moves to the next module when the
// current one fails for a reason that is not the customer's (after the
// step's retries: [ErrPanelUnavailable] from a backend, or what its
// [FaultClassifier] calls a panel fault — for provision/ispmgr a transport
// error, rate limit or unreadable answer, or a refusal of type access,
// auth, license or limit) — never on a name collision (the
// suffix handles it, on the same module), and never while the account may
// exist: after a failed create the engine asks UserExists first, takes an
// existing account as its own, and interrupts the run (to resume later)
// when the panel cannot tell. The module in use is recorded in
// Operation.Data ("module"; the ones given up in "modules_tried" and
// "module_faults"), so a resumed operation never changes module half-way.
//
// Colocation operations, and an unavailable configuration on a
// NewServerType module, become a billing.ManualTask for the module's
// department (EventManualTask and Config.OnManualTask) and leave the
// service in Processing (the operation ends Done: the work was handed
// over). When staff have done it, [Engine.CompleteManualTask] saves the
// properties they give, clears the task and moves the service on (Active
// with EventWelcome for an Open); [Engine.FailManualTask] records the
// reason, returns an Open's service to Ordered (Pending) and marks the
// operation failed. Both are version-checked and refuse a service without
// a pending task ([ErrNoManualTask], an [ErrServiceState]).
//
// # Durability
//
//   - No server is sold twice: a server is only prepared after
//     Store.Reserve succeeded for it, and the Store enforces one
//     reservation per (module, server), also across engines and processes.
//   - No reserved server is forgotten: a reservation made but not recorded
//     before a crash is found again by its operation id; rollback and Close
//     release reservations; an Active service keeps its reservation
//     (PropReservation names the holder).
//   - Crashes: a running operation holds a lease that its engine renews
//     every LeaseDuration/3. When the engine dies, the operation stays
//     unfinished and is claimed by Run or Resume (here or elsewhere) once
//     the lease expires, and continues at its recorded step. When the
//     engine's context ends (a clean stop), the operation stays unfinished
//     too, but the engine releases its lease (Store.ReleaseLease), so a
//     restarted process's Resume continues it at once. After MaxAttempts claims an Open rolls its server back and
//     fails. Roll-back steps and the final record are never given up: they
//     are retried until they succeed.
//   - A lost lease (another worker took the operation over) cancels the
//     run; the version check on every update prevents two workers from
//     both recording progress.
//
// Known limits of the at-most-one-doubtful-call rule: an install whose
// start was not recorded and that finished before the resume is started
// again; an ISPmanager account found under the recorded name after a crash
// is taken as this operation's own; progress events and manual tasks are
// delivered at least once.
//
// # Rate limits and the module log
//
// Per-panel rate limits, retries of safe requests and the log of every
// panel call belong to the panel clients: construct each client with its
// WithRateLimit and WithLogger options, and give the same *slog.Logger to
// Config.Logger, so one structured log shows the engine's steps (with
// operation, service and worker ids) next to every panel request (the WHMCS
// "module log"). Secrets (passwords in Operation.Input) never appear in
// logs, events or errors.
package provision
