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
//	start            prepare  → check | done
//	    service Ordered → Processing (an Active one is done)
//	check            prepare  → user
//	    the order checked against the panels, reads only: OS template exists, the IP pool can serve the addresses
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
//	    Config.Reachability or ReachPorts' port for the OS family (ReachTimeout, durable); skipped without either
//	transfer         server   → license
//	    the customer's user becomes the owner
//	license          server   → activate | manual
//	    the tariff's ISPsystem license for the main address: found again, else ordered; recorded on the service (none: skipped)
//	activate         record   → done
//	    properties saved on the service, service Active, welcome
//	manual           record   → done
//	    manual task recorded, service left in Processing
//	rb_ips           rollback → rb_parking
//	    remove and release the addresses Open added
//	rb_parking       rollback → rb_parking | rb_addrs
//	    park the server again, release the public address
//	rb_addrs         rollback → rb_domain
//	    every address noted for the operation and server that is not on the server back to IPmanager (lost answers included)
//	rb_domain        rollback → rb_notes
//	    domain free.ds
//	rb_notes         rollback → rb_disable
//	    the reason written into the server's notes
//	rb_disable       rollback → rb_release
//	    server disabled, kept by the admin (out of sale)
//	rb_release       rollback → pick | rb_restore
//	    reservation released; next server, or fail (abort, MaxServerFailures)
//	rb_restore       rollback → fail
//	    the order is at fault (two servers failed the same way): the first one goes back to sale, the operation fails
//
// dedicated, suspend:
//
//	license_suspend  server   → start
//	    the service's license suspended (none: skipped)
//	start            prepare  → ports_off
//	ports_off        server   → ports_off_wait
//	    switch ports off (the server keeps running)
//	ports_off_wait   server   → block
//	    until every switch port reads off (SwitchPortReader; PowerTimeout, durable)
//	block            server   → suspended
//	    server blocked (disabled) when the module has BlockOnSuspend
//	suspended        record   → done
//	    service Suspended
//
// dedicated, unsuspend:
//
//	license_resume   server   → start
//	    the service's license resumed (none: skipped)
//	start            prepare  → unblock
//	unblock          server   → ports_on
//	    server enabled (unblocked)
//	ports_on         server   → ports_on_wait
//	    switch ports on
//	ports_on_wait    server   → active
//	    until every switch port reads on (SwitchPortReader; PowerTimeout, durable)
//	active           record   → done
//	    service Active
//
// dedicated, close:
//
//	license_close    server   → start
//	    the service's license closed (none: skipped)
//	start            prepare  → close_disable | close_finish | done
//	    nothing to do when Deleted; no server: only the record
//	close_disable    server   → close_ips
//	    server disabled
//	close_ips        server   → close_parking
//	    additional addresses removed and released
//	close_parking    server   → close_parking | close_addrs
//	    parked again when its address was swapped
//	close_addrs      server   → close_domain
//	    every address noted for the service's Open and the server that is not on the server back to IPmanager
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
//	add_release      rollback → fail
//	    a failed AddIP: the address it allocated and did not add goes back to IPmanager
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
// colocation, open:
//
//	start            prepare  → manual
//	    a manual task for the department of the tariff's first module
//	manual           record   → done
//	    the task recorded on the service (an Open's service Processing)
//
// colocation, suspend, unsuspend:
//
//	start            prepare  → ports | manual
//	    the server in DCImanager (its id on the service, a backend for its module): its ports; else a manual task
//	ports            server   → done
//	    switch ports off (Suspend) or on (Unsuspend), service Suspended or Active
//	manual           record   → done
//	    the task recorded on the service
//
// colocation, close, change_password, add_ip, remove_ip, reinstall:
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
// Store.UpdateOperation, and emits [EventStepFinished]. A step declared
// quiet (it reads the panel: the order check, a wait, the reachability
// check) that made no write is not recorded on its own: the next record
// carries it, and a crash in between resumes before it, where it reads
// again; the transition to done is recorded with the operation's end.
// Steps read the
// panel before they act, so each is idempotent; a step with several
// unsafe calls records a checkpoint after each, so at most one call can
// be in doubt after a crash, and that call is resolved by re-reading the
// panel. Every panel call a step makes goes through the runner's read and
// write gates.
//
// [Engine.Submit] validates a request, records an [Operation] and
// returns; [Engine.Run] is the worker pool (Workers goroutines per engine)
// that claims operations with leases and runs them (an operation
// submitted while one of its workers is free is recorded already leased
// and handed to that worker, without a claim); [Engine.Wait] waits for
// one, woken by the run when this engine runs it and handed the finished
// operation by that run, without reading the Store. [Engine.Do] (and
// Open, Suspend, Unsuspend, Close,
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
// more than 2 minutes (or a third of the expected length, when that is
// longer) apart nor less than PollInterval. The end is noticed
// within max(PollInterval, 2 % of the wait) once the engine has seen one
// wait of the kind; a fresh engine that knows nothing polls every 2 % of
// the time waited. Their deadline is durable: the moment a wait began
// is recorded in the state before its first poll (DedicatedState.Waits),
// so after a crash, a restart or a step retry it continues from there
// instead of starting over. Config.Clock is the operations' time source
// (tests give the engine and provision/fakebackend one fake clock).
//
// Reads. A run keeps the server rows and address lists it read, in memory
// only, and a step takes what the run last read instead of reading again
// when the backend is a [RowReader] (DCImanager 5, where reading one
// server is reading the whole server list): a write forgets the server's
// row before it goes out and brings it back with its known effect, a
// failed step forgets every row, waits read at every poll, a new run (after
// a crash) reads the panel. An owner change decided from a kept row is
// conditional on the owner it shows ([OwnerSwapper], [ErrOwnerChanged]).
// The install's progress is read from the panel only while someone is
// subscribed ([Engine.Subscribe]); otherwise a RowReader's install wait
// reads the install flags of the server's row.
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
// ErrReserved → the next one) — the engine's orders of one module that
// pick at the same time share one read of the reservations and of the
// server list, and each gets its own server in the list's order; with no server left the next module by
// sort order is tried (an order keeps the module it found its customer's
// panel user in by name, so a catalog edited while it runs never moves
// its later steps to another panel), then a manual task when the module has
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
// the reachability check (Config.Reachability, or a TCP dial of
// Config.ReachPorts' port for the template's OS family — 22 for Linux and
// BSD, 3389 for Windows with StandardReachPorts; by default none: the
// panel's "install finished" is the evidence; skipped with
// DontWaitInstall); the customer's user becomes the owner; properties are
// saved on the service, which becomes Active with [EventWelcome].
//
// Before any server is touched, the order is checked with reads only
// (step "check"): the OS template exists on each module's panel
// ([OSTemplateChecker]) and the IPmanager group has the addresses the
// order needs ([PoolCapacity]); the tariff's OS list and the domain are
// checked at Submit. A failed check is an [*ArgumentError] naming the
// field, and the service returns to Ordered with the reason.
//
// Faults are told apart by whose they are. A transient fault (a transport
// error, HTTP 5xx or 429, a malformed or lost answer, an expired session,
// a call in doubt, a panel fault) retries the step in place
// (Config.StepRetries, pauses doubling from PollInterval up to
// MaxRetryDelay) and then interrupts the run, which is resumed later: it
// never counts against the server. Only a failure of the server itself
// (the panel reports the install failed, power-on or reachability that
// still fails at the end of its wait) rolls it back: added addresses
// removed and returned, parking address back, every address noted
// "<op>/<server>/…" that is not on the server released (a lost answer to
// an allocation included; pools that are a [NotedLister] are listed by
// note), domain free.ds, the reason written into the server's notes, the
// server disabled ([EventServerFailed]); the next server is tried. The
// failed server keeps the integration's admin as owner, so it
// stays out of sale ("the owner will not change") until an operator
// clears it; its Store reservation is released, because the panel state
// now keeps it out of sale. When a second server fails in the same way
// (same step, same message) the order is at fault: it stops with
// [ErrOrderFault], both servers go back to sale, and the service returns
// to Ordered. After Config.MaxServerFailures servers (default 3) failed
// for one Open, it stops with [ErrTooManyFailures] (distinct from
// ErrNoServer). An Open that fails for any other reason (the order's, or
// faults that outlived MaxAttempts) rolls its server back into sale, not
// out of it.
//
// An install that outlives its wait fails the server over to the next one
// (billing.InstallTimeoutFailOver, BILLmanager's behaviour); with the
// module's billing.InstallTimeoutKeepPending (the WHMCS module's) the
// order stops with [ErrInstallTimeout] and the service stays Pending, the
// server, maybe still installing, out of sale with the reason in its
// notes.
//
// Close: disable, delete the additional addresses (and release them in
// IPmanager), park the server again when its address was swapped, release
// every address noted for the service's Open and the server that is not
// on it, domain free.ds, owner reset (no_owner), reservation released,
// service Deleted (without PropIPs). The server stays disabled; the next
// Open enables it. Suspend switches the ports off (the server keeps
// running) and records Suspended only once every switch port reads back
// off ([SwitchPortReader]); with the module's billing.Module.BlockOnSuspend
// it also blocks the server, as the vendor's WHMCS module does. Unsuspend
// is symmetric.
//
// [Engine.Reconcile] compares the Store with the panels after the fact
// (stale reservations, addresses of finished operations, servers the admin
// holds for no operation, servers out of sale, customers' servers without
// a service), repairs what is provably orphaned and reports the rest, one
// typed [Finding] each.
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
//   - One unfinished operation per service: the Store refuses a second
//     one ([ErrBusy]) atomically, so two engines submitting for one
//     service at the same moment cannot both create one.
//
// # Fenced panel writes
//
// A panel write is made only while the engine provably holds the
// operation's lease:
//
//   - Every claim gives the operation a new fencing token (Operation.Attempts,
//     one more than the last claim's). The Store refuses RenewLease,
//     ReleaseLease and UpdateOperation from an older token with
//     [ErrLeaseLost], also when the worker name is the same (a restarted
//     process with a fixed WorkerID). A stale worker can record nothing.
//   - The engine counts the lease on Config.Clock from the moment it sent
//     the claim or the last renewal that succeeded, so its idea of the end
//     is never later than the Store's as long as the two clocks run at the
//     same rate (the margins below absorb small drift and latency). It
//     renews every LeaseDuration/3. A renewal that fails for any reason
//     (refused, store unreachable, unanswered in time) stops the run at
//     once: the lease is in doubt. The run also stops when LeaseDuration/5
//     is all that is left without a renewal.
//   - Every panel call of a step is made under the run's context, which
//     those stops cancel: a call cannot outlive the lease. Before each
//     write the engine checks the run is not stopped and that at least
//     half the lease is left, renewing first when it is not (the
//     background renewal is late); otherwise the write is not sent. The
//     run's own Store writes that carry no token (Reserve, Unreserve,
//     PutService) pass the same check, read from the clock: a worker
//     that wakes from a pause before its renewal notices the lost lease
//     neither keeps a server reserved for an operation another worker now
//     runs nor drops the reservation that worker holds. A Store that is a
//     [FencedStore] (memstore and sqlstore are) also checks the run's
//     claim in the same atomic step as each of those writes, which closes
//     the gap between the check and the write: every Store write of a run
//     is then fenced by its claim.
//   - A stopped run is interrupted, not failed: the operation stays
//     unfinished, and once the lease has ended another worker (or this
//     one) claims it and continues at the recorded step.
//
// The window that remains: a write sent in time but still on the wire
// when the lease ends. Every write leaves at least LeaseDuration/5 before
// the lease can end (6 s by default), and the next holder can claim only
// after it ends and then first re-reads, so the old write lands before
// that re-read unless the network or the panel holds it longer than the
// margin. It is harmless because the steps re-read before they act and
// their writes are idempotent for one operation: the owner, domain and
// ports are set to the values already set, an address is found again by
// the operation's note instead of allocated twice, an install is not
// started while the panel reports one running, power-on is skipped for a
// server that is on. A late write from the old holder therefore either
// lands before the new holder's read, which sees it and goes on from
// there, or repeats what the new holder does anyway. Clocks matter only by
// their rate: the engine's clock must not run slower than the Store's (on
// PostgreSQL, the database's).
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
