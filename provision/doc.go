// Package provision is ispkit's lifecycle engine: it opens, suspends,
// resumes, closes and changes dedicated servers (DCImanager 5/6) and
// hosting accounts (ISPmanager) the way BILLmanager and the WHMCS modules
// do, but as a library that is concurrent, resumable after a crash and
// explicit about every failure.
//
// # Products and operations
//
// Three products are served, each a kind of service ([ServiceKind]) that
// a tariff's product type selects:
//
//   - dedicated ([KindDedicated], [DedicatedState]): a server from a
//     DCImanager 5 or 6 module ([DedicatedBackend]), with addresses from
//     IPmanager ([IPPool]) when the module has an IPmanager link; every
//     operation.
//   - hosting ([KindHosting], [HostingState]): an ISPmanager account
//     ([HostingBackend]); Open, Suspend, Unsuspend, Close, ChangePassword.
//   - colocation ([KindColocation], [ColocationState]): every operation is
//     a billing.ManualTask for the module's department.
//
// An operation ([OperationKind]) is asked for with its own request type:
// [OpenRequest], [SuspendRequest], [UnsuspendRequest], [CloseRequest],
// [ChangePasswordRequest], [AddIPRequest], [RemoveIPRequest],
// [ReinstallRequest]. Each carries only what its operation uses, so a
// field the operation would ignore cannot be given; what is malformed or
// does not fit the service is refused with an *[ArgumentError] (or
// billing's typed errors, [ErrServiceState], [ErrBusy], [ErrUnsupported],
// [ErrNoBackend]) before anything is recorded or sent.
//
// Each product declares, in one place, the step graph of every operation
// it serves (listed below and returned by [Graphs]): the steps, the steps
// each may go to, and its [Phase] — preparation, bound to a server (or
// account), roll-back, recording. The product also declares what a
// failed step means, per phase or per step, from the class of the error:
// retry the step in place (a transient fault), roll the server back and
// try the next one, move to the next module (the hosting panel is
// unavailable), interrupt the run and resume it later (a call that may
// have taken effect, a roll-back or record that must not be given up), or
// fail the operation. A failed operation never keeps a server: a
// dedicated Open that fails while it holds one rolls it back first.
//
// # Step graphs
//
// Generated from provision.Graphs (go test -run TestDocGraphs -update-doc):
// each step, its phase, the steps it may go to, and what it does. Every
// step may also fail the operation; "fail" records the failure on the
// service and ends the operation failed.
//
// dedicated, open:
//
//	start            prepare  → user | done
//	    service Ordered → Processing (an Active one is done)
//	user             prepare  → pick
//	    find the customer's panel user, else create it
//	pick             prepare  → claim | user | manual
//	    reserve the first available server not tried; none: next module, manual task or fail
//	claim            server   → domain | pick
//	    admin becomes the owner, server enabled (taken outside the engine: next server)
//	domain           server   → ip_swap | extra_ips
//	    the server's domain (hostname)
//	ip_swap          server   → ip_swap | extra_ips
//	    swap the parking address for a public one (four checkpoints)
//	extra_ips        server   → extra_ips | ports_on
//	    the ordered additional addresses, one checkpoint each
//	ports_on         server   → power_on
//	    switch ports on
//	power_on         server   → wait_power
//	    power on
//	wait_power       server   → install
//	    wait for power (PowerTimeout, durable)
//	install          server   → wait_install
//	    start the OS install unless one runs
//	wait_install     server   → reachable | transfer
//	    wait for the install (InstallTimeout, durable; only its start with DontWaitInstall)
//	reachable        server   → transfer
//	    Config.Reachability (ReachTimeout, durable)
//	transfer         server   → activate
//	    the customer's user becomes the owner
//	activate         record   → done
//	    properties saved on the service, service Active, welcome
//	manual           record   → done
//	    manual task recorded, service left in Processing
//	rb_ips           rollback → rb_parking
//	    remove and release the addresses Open added
//	rb_parking       rollback → rb_parking | rb_domain
//	    park the server again, release the public address
//	rb_domain        rollback → rb_notes
//	    domain free.ds
//	rb_notes         rollback → rb_disable
//	    the reason written into the server's notes
//	rb_disable       rollback → rb_release
//	    server disabled, kept by the admin (out of sale)
//	rb_release       rollback → pick
//	    reservation released; next server, or fail (abort, MaxServerFailures)
//
// dedicated, suspend:
//
//	start            prepare  → ports_off
//	ports_off        server   → done
//	    switch ports off (the server keeps running), service Suspended
//
// dedicated, unsuspend:
//
//	start            prepare  → ports_on
//	ports_on         server   → done
//	    switch ports on, service Active
//
// dedicated, close:
//
//	start            prepare  → close_disable | close_finish | done
//	    nothing to do when Deleted; no server: only the record
//	close_disable    server   → close_ips
//	    server disabled
//	close_ips        server   → close_parking
//	    additional addresses removed and released
//	close_parking    server   → close_parking | close_domain
//	    parked again when its address was swapped
//	close_domain     server   → close_owner
//	    domain free.ds
//	close_owner      server   → close_release
//	    owner cleared (no_owner)
//	close_release    record   → close_finish
//	    reservation released
//	close_finish     record   → done
//	    service Deleted
//
// dedicated, change_password:
//
//	start            server   → done
//	    the panel user's password
//
// dedicated, add_ip:
//
//	start            server   → start | save_ips
//	    allocate in IPmanager (found again by its note) and add to the server; checkpoints
//	save_ips         record   → done
//	    the server's additional addresses saved on the service
//
// dedicated, remove_ip:
//
//	start            server   → save_ips
//	    remove from the server, release in IPmanager
//	save_ips         record   → done
//	    the server's additional addresses saved on the service
//
// dedicated, reinstall:
//
//	start            server   → reinstall_wait
//	    start the install (the Open's template and recipe unless given)
//	reinstall_wait   server   → reinstall_finish
//	    wait for it (InstallTimeout, durable)
//	reinstall_finish record   → done
//	    template and recipe saved on the service
//
// hosting, open:
//
//	start            prepare  → h_name | done
//	    service Ordered → Processing (an Active one is done)
//	h_name           prepare  → h_create
//	    the module (recorded, else the first not given up) and the first free name
//	h_create         server   → h_create | h_name | h_activate
//	    record the intent, then create the account (a collision: next name)
//	h_activate       record   → done
//	    login and domain saved on the service, service Active, welcome
//
// hosting, suspend:
//
//	start            server   → done
//	    suspend the account, service Suspended
//
// hosting, unsuspend:
//
//	start            server   → done
//	    resume the account, service Active
//
// hosting, close:
//
//	start            server   → done
//	    delete the account (when there), service Deleted
//
// hosting, change_password:
//
//	start            server   → done
//	    the account's password
//
// colocation, open, suspend, unsuspend, close, change_password, add_ip, remove_ip, reinstall:
//
//	start            prepare  → manual
//	    a manual task for the department of the tariff's first module
//	manual           record   → done
//	    the task recorded on the service (an Open's service Processing)
//
// # The runner
//
// [Engine], built with [New] from a [Config] (a [Store], a
// *billing.Catalog of modules and tariffs, and backends per module name:
// provision/dci5, provision/dci6, provision/ipmgr, provision/ispmgr or
// your own), runs the graphs. It knows no product. For each step it
// emits [EventStepStarted], runs the step, retries it in place
// (Config.StepRetries, PollInterval apart) when the class of its error
// allows, refuses a transition the graph does not declare (the operation
// fails), records the step's result — the state in Operation.Data and the
// next step in Operation.Step — through a version-checked
// Store.UpdateOperation, and emits [EventStepFinished]. Steps read the
// panel before they act, so each is idempotent; a step with several
// unsafe calls records a checkpoint after each, so at most one call can
// be in doubt after a crash, and that call is resolved by re-reading the
// panel. Every panel call a step makes goes through the runner's read and
// write gates.
//
// [Engine.Submit] validates a request, records an [Operation] and
// returns; [Engine.Run] is the worker pool (Workers goroutines per engine)
// that claims operations with leases and runs them; [Engine.Wait] waits
// for one. [Engine.Do] (and Open, Suspend, Unsuspend, Close,
// ChangePassword, AddIP, RemoveIP, Reinstall) records the operation
// already leased to this engine and runs it in the calling goroutine.
// [Engine.Resume] claims and finishes every unfinished operation that is
// claimable now (call it at start-up, or rely on Run). [Engine.LoginURL]
// is direct, not an operation. [Engine.Subscribe] delivers progress
// [Event]s: step started/finished, install percent, server failed, manual
// task, welcome, operation done/failed.
//
// Waits (power-on, the OS install, reachability) poll the panel until
// their timeout on a schedule shaped by how long the module's previous
// waits of the kind lasted and by the progress the panel reports: a few
// polls while the end is far, dense ones around its expected moment, never
// more than 2 minutes apart nor less than PollInterval. The end is noticed
// within max(PollInterval, 2 % of the wait) once the engine has seen one
// wait of the kind; a fresh engine that knows nothing polls every 2 % of
// the time waited. Their deadline is durable: the moment a wait began
// is recorded in the state before its first poll (DedicatedState.Waits),
// so after a crash, a restart or a step retry it continues from there
// instead of starting over. Config.Clock is the operations' time source
// (tests give the engine and provision/fakebackend one fake clock).
//
// # The Store
//
// A [Store] keeps operations, reservations and services, with optimistic
// versions and leases. provision/memstore keeps them in memory,
// provision/sqlstore in SQLite or PostgreSQL; provision/storetest is the
// conformance suite. Operation.Input (the request) and Operation.Data (the
// product's state, read with [DecodeData]) are versioned JSON. Operations
// recorded by the first release (maps of strings) are read as they are and
// rewritten in the new format on their next step: a Store written by it
// is resumed by this one without any migration step.
//
// # Dedicated servers
//
// Open of a dedicated server (seed documents, WHMCS DCImanager module):
// the customer's panel user is found (billing.SanitizeUsername of the
// owner: ASCII letters and digits, ≤ 16) or created; the first server with
// Server.Available(tariff.ServerConfig) that is not reserved in the Store
// and not tried by this operation is reserved (Store.Reserve is atomic;
// ErrReserved → the next one); with no server left the next module by
// sort order is tried, then a manual task when the module has
// NewServerType, else the operation fails with [ErrNoServer] and the
// service returns to Ordered (Pending). The admin becomes the owner, the
// server's domain is the tariff's domain template, else the order's
// domain, else "<service id>.domain"; with an IPmanager link, a parking
// group and NeverChangeIPs off, a public address with note
// "<op>/<server>/main" replaces the parking address (added first, since a
// panel keeps a server's only address; then the parking address is
// removed and released); the ordered IP / IPv6 counts are added; ports
// on, power on, OS install (template and recipe from the tariff and the
// order) and its wait (InstallTimeout, default 720 s, or only until it
// started with DontWaitInstall; a failed install fails at once);
// Config.Reachability (default TCP dial to port 22; skipped with
// DontWaitInstall); the customer's user becomes the owner; properties are
// saved on the service, which becomes Active with [EventWelcome].
//
// A failure (after the step's retries) or timeout while the server is
// prepared rolls it back: added addresses removed and returned, parking
// address back, domain free.ds, the reason written into the server's
// notes, the server disabled ([EventServerFailed]); the next server is
// tried. The failed server keeps the integration's admin as owner, so it
// stays out of sale ("the owner will not change") until an operator
// clears it; its Store reservation is released, because the panel state
// now keeps it out of sale. After Config.MaxServerFailures servers
// (default 3) failed for one Open, it stops with [ErrTooManyFailures]
// (distinct from ErrNoServer) and the service returns to Ordered, so a
// fault that is not the servers' own (a wrong OS template, a panel or
// configuration error) disables a few servers, not the whole stock.
//
// Close: disable, delete the additional addresses (and release them in
// IPmanager), park the server again when its address was swapped, domain
// free.ds, owner reset (no_owner), reservation released, service Deleted
// (without PropIPs). The server stays disabled; the next Open enables it.
// Suspend and Unsuspend switch the ports off and on (the server keeps
// running).
//
// # Hosting accounts
//
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
// auth, license or limit) — never on a name collision (the suffix handles
// it, on the same module), and never while the account may exist: after a
// failed create the engine asks UserExists first, takes an existing
// account as its own, and interrupts the run (to resume later) when the
// panel cannot tell. The module in use is recorded (HostingState.Module;
// the ones given up in ModulesTried and ModuleFaults), so a resumed
// operation never changes module half-way.
//
// # Manual tasks
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
//     before a crash is found again by its operation id; roll-back and
//     Close release reservations; a failed operation holds none (the
//     runner releases any its product left); an Active service keeps its
//     reservation (PropReservation names the holder).
//   - Crashes: a running operation holds a lease that its engine renews
//     every LeaseDuration/3. When the engine dies, the operation stays
//     unfinished and is claimed by Run or Resume (here or elsewhere) once
//     the lease expires, and continues at its recorded step. When the
//     engine's context ends (a clean stop), the operation stays unfinished
//     too, but the engine releases its lease (Store.ReleaseLease), so a
//     restarted process's Resume continues it at once. After MaxAttempts
//     claims an operation is given up (an Open rolls its server back
//     first). Roll-back steps and the final record are never given up:
//     they are retried until they succeed.
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
// "module log"). Secrets (passwords in requests) never appear in logs,
// events or errors: the requests print and log them redacted.
package provision
