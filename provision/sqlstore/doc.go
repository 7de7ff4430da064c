// Package sqlstore is the durable [provision.Store] over database/sql, for
// two databases:
//
//   - SQLite, the embedded default: one file, one machine. Pure Go through
//     modernc.org/sqlite (no cgo). Several processes may share the file;
//     their writes take turns.
//   - PostgreSQL, when several workers on several machines share the
//     orders: through github.com/jackc/pgx/v5/stdlib.
//
// The package imports no driver. The caller imports one and either passes
// its *sql.DB to [New] or lets [Open] call sql.Open:
//
//	import _ "modernc.org/sqlite"
//	s, err := sqlstore.Open(ctx, "sqlite", "provision.db", sqlstore.SQLite)
//
//	import _ "github.com/jackc/pgx/v5/stdlib"
//	s, err := sqlstore.Open(ctx, "pgx", "postgres://ispkit@db/ispkit", sqlstore.Postgres)
//
// It passes the provision/storetest conformance suite on both databases.
//
// # Schema
//
// Four tables, all prefixed ispkit_ so that they can live beside other
// tables (on PostgreSQL, put them in their own schema with search_path):
//
//	ispkit_operations    one row per operation: seq (increasing surrogate
//	                     key, the tie-break of "oldest first"), id (UNIQUE),
//	                     service_id, kind, state, step, input and data (the
//	                     operation's JSON as text; "null" when empty), error,
//	                     attempts, worker, lease_until, version, created_at,
//	                     updated_at. A partial index on (created_at, seq) of
//	                     the pending and running rows serves the claims.
//	ispkit_reservations  PRIMARY KEY (backend, server_id): the database
//	                     itself refuses a second reservation of a server.
//	                     operation_id, service_id, created_at.
//	ispkit_services      id PRIMARY KEY, kind, tariff_id, account_id, owner,
//	                     module, status, properties (JSON text), error,
//	                     version, created_at, updated_at.
//	ispkit_schema_migrations  version PRIMARY KEY, name, applied_at.
//
// Timestamps are TIMESTAMPTZ on PostgreSQL and INTEGER microseconds since
// the Unix epoch (UTC) on SQLite; both keep microseconds, and the values a
// method sets on its argument are the stored ones. Input may hold secrets:
// it is stored as given (protect the database), never logged or put into
// errors by this package.
//
// # Migrations
//
// The schema is versioned ([SchemaVersion]). New and Open apply the
// pending migrations in one transaction, each recorded in
// ispkit_schema_migrations, so opening is idempotent. Concurrent opens are
// safe: the transaction holds BEGIN IMMEDIATE (the write lock) on SQLite
// and a transaction-scoped advisory lock keyed by the current schema on
// PostgreSQL (DDL is transactional there, so a failed migration leaves
// nothing behind). An up-to-date database is detected without taking the
// lock. A database migrated by a newer release is refused with
// [ErrSchemaTooNew]. Released migrations are never edited; a change is a
// new migration.
//
// # Dialect differences
//
//   - Claims. One UPDATE ... WHERE seq = (SELECT ... ORDER BY created_at,
//     seq LIMIT 1) RETURNING statement picks and takes the oldest claimable
//     operation. On PostgreSQL the sub-selects are FOR UPDATE SKIP LOCKED, so
//     concurrent workers take different rows without waiting for each
//     other. On SQLite the statement runs under the database's single write
//     lock; goroutines of one process queue in the Store (see Group
//     commit), other processes wait up to the busy timeout
//     ([WithBusyTimeout], PRAGMA busy_timeout, set on every connection the
//     Store uses). New switches a SQLite database to WAL so that readers
//     never wait for the writer.
//   - SQLite connections. The Store keeps its own connections for its
//     lifetime, taken from the *sql.DB: one for writes and up to four for
//     reads, each with its statements prepared once (opening a SQLite
//     connection parses the whole schema, and a pool that opens and closes
//     them under load spends most of its time there). If the pool is
//     limited with SetMaxOpenConns, the Store leaves it at least one
//     connection (with a limit of one or two, reads share the write
//     connection). Close gives them back.
//   - PostgreSQL connections. The Store uses the *sql.DB's pool as it is;
//     size it to the database's cores (SetMaxOpenConns, a few per core),
//     not to the number of orders: every connection is a backend process,
//     and with a thousand concurrent orders on a two-core machine 64
//     connections were slower than 8. Batched writes and step
//     transitions use at most four connections at once.
//   - Clocks. On PostgreSQL, created_at, updated_at and every lease (claim,
//     renew, expiry test) use the database's clock: workers on machines
//     whose clocks disagree still agree on who holds a lease. On SQLite the
//     Store's clock is used (time.Now, or [WithClock] in tests).
//   - Group commit. Concurrent UpdateOperation calls (step transitions)
//     are committed together: on PostgreSQL in one UPDATE ... FROM
//     unnest(...) RETURNING statement (one round trip, one commit), on
//     SQLite in one transaction under the writer lock (one WAL sync).
//     Every call keeps its own version check and fencing token in the
//     WHERE clause and gets its own result (ErrConflict, ErrLeaseLost,
//     ErrNotFound or the new version), and returns only after the commit
//     that carries it. A lone caller commits at once; calls queue only
//     behind a commit in progress (one at a time on SQLite, up to four at
//     once on PostgreSQL, so transitions use at most four pooled
//     connections). On SQLite every other write of the Store (creates,
//     claims, leases, reservations, services) joins the same queue, and a
//     call that fails is rolled back alone while the others are
//     committed. Calls that write with one statement (step transitions
//     and the writes every order makes) share the transaction without
//     savepoints; if one of them fails, the transaction is rolled back
//     and the batch runs again with a savepoint around every call. A
//     transition that keeps its operation's state sets no indexed
//     column, so SQLite rewrites no index entry for it. On
//     PostgreSQL the writes every order makes a few times (PutService,
//     CreateOperation, Reserve, ReleaseLease) join the queue too, and a
//     batch of writes of one kind is one INSERT ... ON CONFLICT DO
//     NOTHING or UPDATE ... FROM unnest(...) statement; a write it skips
//     (a conflict, a stale version, a busy service, a held server, a lost
//     lease) then runs on its own and gets its own error.
//     [WithMaxBatch] bounds a batch (1 turns grouping off). See
//     "Durability" for what a crash can lose.
//   - PostgreSQL keeps room in the operations table's pages
//     (fillfactor 50, schema version 4), so a step transition, which
//     changes no indexed column, updates its row in place without
//     touching the table's indexes.
//   - Claims read two partial indexes (free operations by age, held ones
//     by lease end), so their cost does not grow with the number of
//     operations running.
//   - In-memory SQLite (":memory:") gives every connection its own empty
//     database; use a file.
//
// # Durability
//
// What a crash can lose depends on the database's sync setting; the Store
// sets none of them (they come from the DSN or the server's
// configuration). A method that returned nil has committed; what follows
// is whether that commit is still there after a crash.
//
//   - SQLite, synchronous=FULL (the driver's default; New switches the file
//     to WAL): a commit syncs the WAL before it returns. Neither a crash of
//     the process nor a power loss or an operating-system crash loses a
//     returned write. Group commit shares one sync among the transitions
//     waiting at that moment, so with many workers FULL keeps up with
//     NORMAL (see BenchmarkStepTransition); a single worker pays one sync
//     per transition. This is the recommended setting.
//   - SQLite, synchronous=NORMAL (with modernc.org/sqlite, add
//     _pragma=synchronous(NORMAL) to the DSN): the WAL is synced only at
//     checkpoints. A crash of the process loses nothing (the
//     written WAL is in the operating system's cache), but a power loss or
//     an operating-system crash may lose the commits made since the last
//     sync: the database comes back as it was at an earlier moment (never
//     half a commit, never corrupt). The engine then redoes the lost steps
//     from the last recorded one, but the panels already did them: a
//     server reserved and installed in the lost window is not recorded as
//     reserved and could be offered again. Use NORMAL only where the
//     machine's storage survives power loss (or for tests).
//   - SQLite, synchronous=OFF: a power loss may corrupt the database. Do
//     not use it.
//   - PostgreSQL with fsync=on and synchronous_commit=on (the defaults): a
//     commit is flushed to the WAL on disk before the call returns; a
//     crash of the process, of the server or a power loss loses no
//     returned write. Commits from many connections share WAL flushes, and
//     group commit puts many transitions into one commit. With
//     synchronous_commit=off a crash of the database server or a power
//     loss may lose the last commits (up to three wal_writer_delay, 600 ms
//     by default) with the same consequence as SQLite NORMAL; fsync=off
//     may corrupt the database on a power loss.
//
// A crash of the calling process during a call (before it returned) leaves
// that call's write either done or not done, never half done, with or
// without group commit; the engine resumes from whichever step is
// recorded.
//
// # Guarantees with several workers
//
//   - Every write is one statement or one transaction: a process killed at
//     any moment leaves either the old or the new row, never half of one.
//   - Updates compare versions inside the UPDATE's WHERE clause, so of two
//     racing writers of the same version exactly one wins; the loser gets
//     ErrConflict and nothing changed.
//   - A reservation is an INSERT ... ON CONFLICT DO NOTHING against the
//     primary key, never check-then-insert: of any number of concurrent
//     Reserve calls for a free server exactly one succeeds.
//   - An operation is held by at most one worker at a time: claims only
//     take rows whose lease is free or expired, in one atomic statement. A
//     worker that dies stops renewing; once its lease expires another
//     worker claims the operation (Attempts+1) and resumes it from the
//     recorded Step. The dead worker's copy is stale: its fencing token
//     (Attempts) is older than the stored one, so any UpdateOperation,
//     RenewLease or ReleaseLease it might still send matches no row and
//     reports ErrLeaseLost, also when the new holder has the same worker
//     name (the token is part of every statement's WHERE clause).
//   - A service has at most one unfinished operation: a partial unique
//     index on service_id WHERE state IN ('pending', 'running') (schema
//     version 2), and CreateOperation is an INSERT ... ON CONFLICT DO
//     NOTHING, so of any number of concurrent creates for one service
//     exactly one succeeds and the others get ErrBusy. Upgrading a
//     database of schema version 1 in which two operations of one service
//     are both unfinished fails with the index's unique violation: finish
//     or fail all but one of them, then open the store again.
//   - UpdateOperation never writes the lease (Worker, LeaseUntil) or
//     Attempts: those belong to ClaimOperation, RenewLease and
//     ReleaseLease, so a holder's update cannot undo a renewal made by its
//     own background goroutine, and RenewLease/ReleaseLease leave the
//     Version alone so that the holder's copy stays current.
//
// The package's tests include a kill test on real processes: worker
// processes run a batch of orders against the store and are killed with
// SIGKILL at random moments; new processes resume the work; every order
// ends in one final state, reached once, and no server is reserved twice
// (SQLite with one process at a time, PostgreSQL with two processes, one
// of them killed repeatedly).
package sqlstore
