package sqlstore_test

// The kill test runs a batch of orders through the store in real worker
// processes (this test binary re-executed with $ISPKIT_KILLTEST_WORKER set)
// and SIGKILLs them at random moments. New processes resume the work. At
// the end every order must be in a final state reached exactly once, every
// server reserved at most once, and no order half-done.
//
// The order state machine is the test's own (the engine is tested
// elsewhere): it exercises exactly what the Store promises an engine.
//
//	reserve  find this order's reservation (a retry after a crash), or
//	         Reserve the first free server of a fixed set; none left: the
//	         order fails cleanly (service stays Ordered, nothing reserved)
//	step1-4  idempotent "panel calls" (an effect line in a shared log,
//	         a short pause), each recorded with UpdateOperation
//	activate the service becomes Active with the server (PutService,
//	         idempotent on retry), then the operation is Done
//
// Every step renews the lease first and records its result with the
// version check, so a worker that lost its lease stops at its next write.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

const (
	envWorker      = "ISPKIT_KILLTEST_WORKER" // worker name; set only in worker processes
	envDialect     = "ISPKIT_KILLTEST_DIALECT"
	envDSN         = "ISPKIT_KILLTEST_DSN"
	envSchema      = "ISPKIT_KILLTEST_SCHEMA"
	envLog         = "ISPKIT_KILLTEST_LOG"
	envServers     = "ISPKIT_KILLTEST_SERVERS"
	killBackend    = "killtest"
	killLease      = time.Second
	killSteps      = 4
	killOrders     = 20
	killServers    = 14
	killGoroutines = 2
)

// ---- worker process ----

func killWorkerMain() int {
	name := os.Getenv(envWorker)
	logf, err := os.OpenFile(os.Getenv(envLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker: log:", err)
		return 2
	}
	servers, _ := strconv.Atoi(os.Getenv(envServers))
	w := &killWorker{name: name, log: logf, servers: servers}

	var db *sql.DB
	dialect := sqlstore.SQLite
	if os.Getenv(envDialect) == "postgres" {
		dialect = sqlstore.Postgres
		db, err = postgresDB(os.Getenv(envDSN), os.Getenv(envSchema), 4)
	} else {
		db, err = sql.Open("sqlite", os.Getenv(envDSN))
	}
	if err == nil {
		w.store, err = sqlstore.New(db, dialect)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker: open:", err)
		return 2
	}
	defer db.Close()

	// Under the parent's hangGuard, so that on a loaded machine the last
	// worker has as long as it needs (a minute was not always enough for
	// the same harness in enginekill).
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, killGoroutines)
	for g := range killGoroutines {
		wg.Go(func() {
			if err := w.loop(ctx, fmt.Sprintf("%s/%d", name, g)); err != nil {
				errc <- err
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	return 0
}

type killWorker struct {
	name    string
	store   *sqlstore.Store
	servers int
	logMu   sync.Mutex
	log     *os.File
}

// record appends one line to the shared log (O_APPEND: lines of several
// processes never interleave).
func (w *killWorker) record(format string, args ...any) {
	w.logMu.Lock()
	defer w.logMu.Unlock()
	fmt.Fprintf(w.log, format+"\n", args...)
}

// loop claims and runs operations until none is left unfinished.
func (w *killWorker) loop(ctx context.Context, worker string) error {
	for {
		op, err := w.store.ClaimOperation(ctx, worker, killLease)
		if errors.Is(err, provision.ErrNoWork) {
			left, err := w.store.ListOperations(ctx, provision.OperationFilter{
				States: []provision.OperationState{provision.StatePending, provision.StateRunning}})
			if err != nil {
				return err
			}
			if len(left) == 0 {
				return nil
			}
			// Leases of killed workers have to run out first.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return err
		}
		w.record("claim %s %s attempt=%d step=%s", op.ID, worker, op.Attempts, op.Step)
		if err := w.run(ctx, worker, op); err != nil {
			return fmt.Errorf("%s: %w", op.ID, err)
		}
	}
}

var errAbandon = errors.New("lease lost")

// run drives one operation to its end. A lost lease abandons it quietly
// (another worker has it); any other error fails the worker.
func (w *killWorker) run(ctx context.Context, worker string, op *provision.Operation) error {
	err := w.steps(ctx, worker, op)
	if errors.Is(err, errAbandon) {
		w.record("abandon %s %s", op.ID, worker)
		return nil
	}
	if err != nil {
		return err
	}
	if err := w.store.ReleaseLease(ctx, op.ID, worker, op.Attempts); err != nil && !errors.Is(err, provision.ErrLeaseLost) {
		return err
	}
	return nil
}

// killData is the test's own operation state, kept in Operation.Data as a
// JSON object of strings.
func killData(op *provision.Operation) map[string]string {
	m := map[string]string{}
	if len(op.Data) > 0 {
		_ = json.Unmarshal(op.Data, &m)
	}
	if m == nil {
		m = map[string]string{}
	}
	return m
}

func (w *killWorker) save(ctx context.Context, op *provision.Operation, data map[string]string) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	op.Data = b
	err = w.store.UpdateOperation(ctx, op)
	if errors.Is(err, provision.ErrConflict) {
		return errAbandon
	}
	return err
}

func (w *killWorker) steps(ctx context.Context, worker string, op *provision.Operation) error {
	data := killData(op)
	for !op.State.Finished() {
		if err := w.store.RenewLease(ctx, op.ID, worker, op.Attempts, killLease); errors.Is(err, provision.ErrLeaseLost) {
			return errAbandon
		} else if err != nil {
			return err
		}
		switch step := op.Step; {
		case step == "reserve":
			server, err := w.reserve(ctx, op)
			if err != nil {
				return err
			}
			if server == "" {
				op.State, op.Step, op.Error = provision.StateFailed, "", "no server available"
				w.record("finishing %s failed %s", op.ID, worker)
				if err := w.save(ctx, op, data); err != nil {
					return err
				}
				w.record("final %s failed %s", op.ID, worker)
				return nil
			}
			data["server"], op.Step = server, "step1"
		case strings.HasPrefix(step, "step"):
			n, _ := strconv.Atoi(strings.TrimPrefix(step, "step"))
			w.record("effect %s %s %s", op.ID, step, worker)
			time.Sleep(time.Duration(20+rand.IntN(40)) * time.Millisecond) // the "panel call"
			data[step] = "ok"
			if op.Step = fmt.Sprintf("step%d", n+1); n == killSteps {
				op.Step = "activate"
			}
		case step == "activate":
			if err := w.activate(ctx, op, data["server"]); err != nil {
				return err
			}
			op.State, op.Step = provision.StateDone, ""
			w.record("finishing %s done %s", op.ID, worker)
			if err := w.save(ctx, op, data); err != nil {
				return err
			}
			w.record("final %s done %s", op.ID, worker)
			return nil
		default:
			return fmt.Errorf("unknown step %q", step)
		}
		if err := w.save(ctx, op, data); err != nil {
			return err
		}
	}
	return nil
}

// reserve returns the server this operation holds (after a crash between
// Reserve and the save) or reserves the first free one ("" when none).
func (w *killWorker) reserve(ctx context.Context, op *provision.Operation) (string, error) {
	rs, err := w.store.Reservations(ctx, killBackend)
	if err != nil {
		return "", err
	}
	for _, r := range rs {
		if r.OperationID == op.ID {
			return r.ServerID, nil
		}
	}
	for i := range w.servers {
		srv := fmt.Sprintf("srv-%d", i)
		err := w.store.Reserve(ctx, provision.Reservation{Backend: killBackend, ServerID: srv, OperationID: op.ID, ServiceID: op.ServiceID})
		if err == nil {
			w.record("reserved %s %s", op.ID, srv)
			return srv, nil
		}
		if !errors.Is(err, provision.ErrReserved) {
			return "", err
		}
	}
	return "", nil
}

func (w *killWorker) activate(ctx context.Context, op *provision.Operation, server string) error {
	for {
		sv, err := w.store.GetService(ctx, op.ServiceID)
		if err != nil {
			return err
		}
		if sv.Status == billing.StatusActive {
			if sv.Properties["server"] != server {
				return fmt.Errorf("service %s active with server %s, operation has %s", sv.ID, sv.Properties["server"], server)
			}
			return nil
		}
		sv.Status = billing.StatusActive
		sv.Properties = map[string]string{"server": server}
		if err := w.store.PutService(ctx, sv); !errors.Is(err, provision.ErrConflict) {
			return err
		}
	}
}

// ---- the test ----

type killSetup struct {
	dialect sqlstore.Dialect
	env     []string // how workers open the database
	store   *sqlstore.Store
	dir     string
}

func TestKillSQLite(t *testing.T) {
	t.Parallel()
	path := sqlitePath(t)
	runKillTest(t, killSetup{
		dialect: sqlstore.SQLite,
		env:     []string{envDialect + "=sqlite", envDSN + "=" + path},
		store:   newSQLite(t, path),
		dir:     filepath.Dir(path),
	}, false)
}

func TestKillPostgres(t *testing.T) {
	postgresDSN(t)
	t.Parallel()
	dsn, schema := pgSchemaFor(t)
	s, err := sqlstore.New(openPostgresDB(t, dsn, schema, 4), sqlstore.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	runKillTest(t, killSetup{
		dialect: sqlstore.Postgres,
		env:     []string{envDialect + "=postgres", envDSN + "=" + dsn, envSchema + "=" + schema},
		store:   s,
		dir:     t.TempDir(),
	}, true)
}

type proc struct {
	name string
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

// runKillTest seeds the orders, runs workers and kills them, then checks
// the end state. With steady, a second worker process runs from the first
// kill to the end beside the killed ones (two processes sharing the work);
// otherwise one process at a time runs and is killed.
func runKillTest(t *testing.T, ks killSetup, steady bool) {
	ctx := t.Context()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed>>7))
	t.Logf("%s kill test: seed %d, %d orders, %d servers", ks.dialect, seed, killOrders, killServers)

	for i := range killOrders {
		svc := &provision.Service{ID: fmt.Sprintf("svc-%02d", i), Kind: provision.KindDedicated, Status: billing.StatusOrdered, Module: killBackend}
		if err := ks.store.PutService(ctx, svc); err != nil {
			t.Fatal(err)
		}
		op := &provision.Operation{ID: fmt.Sprintf("op-%02d", i), ServiceID: svc.ID, Kind: provision.OpOpen, Step: "reserve"}
		if err := ks.store.CreateOperation(ctx, op); err != nil {
			t.Fatal(err)
		}
	}

	logPath := filepath.Join(ks.dir, "killtest.log")
	n := 0
	start := func() *proc {
		n++
		p := &proc{name: fmt.Sprintf("p%d", n), done: make(chan error, 1)}
		p.cmd = exec.Command(os.Args[0])
		p.cmd.Env = append(os.Environ(), append(ks.env,
			envWorker+"="+p.name, envLog+"="+logPath, envServers+"="+strconv.Itoa(killServers))...)
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start worker: %v", err)
		}
		go func() { p.done <- p.cmd.Wait() }()
		return p
	}
	// killUntil only limits how long the test keeps killing workers; the
	// last worker then has as long as it needs (hangGuard catches a hang
	// without making a loaded machine fail the test).
	killUntil := time.Now().Add(13 * time.Second)
	const hangGuard = 5 * time.Minute
	finish := func(p *proc) {
		t.Helper()
		select {
		case err := <-p.done:
			if err != nil {
				t.Fatalf("worker %s: %v\n%s", p.name, err, p.out.String())
			}
		case <-time.After(hangGuard):
			p.cmd.Process.Kill()
			<-p.done
			t.Fatalf("worker %s did not finish within the hang guard\n%s", p.name, p.out.String())
		}
	}

	// With steady, the second process starts after the first kill, so that
	// the first killed process surely dies holding work.
	var steadyProc *proc
	kills := 0
	for kills < 8 && time.Now().Before(killUntil) {
		p := start()
		// A random moment: from process start-up to the middle of a batch.
		select {
		case err := <-p.done:
			if err != nil {
				t.Fatalf("worker %s: %v\n%s", p.name, err, p.out.String())
			}
			t.Logf("worker %s finished the batch before being killed", p.name)
		case <-time.After(time.Duration(150+rng.IntN(450)) * time.Millisecond):
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-p.done
			kills++
			if steady && steadyProc == nil {
				steadyProc = start()
			}
		}
		if done, _ := ks.store.ListOperations(ctx, provision.OperationFilter{States: []provision.OperationState{provision.StateDone, provision.StateFailed}}); len(done) == killOrders {
			break
		}
	}
	last := start()
	finish(last)
	if steadyProc != nil {
		finish(steadyProc)
	}
	t.Logf("%d workers started, %d killed with SIGKILL", n, kills)
	checkKillResult(t, ks.store, logPath)
}

func checkKillResult(t *testing.T, s *sqlstore.Store, logPath string) {
	ctx := t.Context()
	ops, err := s.ListOperations(ctx, provision.OperationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := s.Reservations(ctx, killBackend)
	if err != nil {
		t.Fatal(err)
	}
	heldBy := map[string][]string{} // operation -> servers
	for _, r := range rs {
		heldBy[r.OperationID] = append(heldBy[r.OperationID], r.ServerID)
	}
	servers := map[string]string{}
	var doneN, failedN, retried int
	for _, op := range ops {
		sv, err := s.GetService(ctx, op.ServiceID)
		if err != nil {
			t.Fatal(err)
		}
		if op.Attempts > 1 {
			retried++
		}
		switch op.State {
		case provision.StateDone:
			doneN++
			data := killData(op)
			srv := data["server"]
			if !slices.Equal(heldBy[op.ID], []string{srv}) {
				t.Errorf("%s done with server %q but holds reservations %v", op.ID, srv, heldBy[op.ID])
			}
			if prev, dup := servers[srv]; dup {
				t.Errorf("server %s sold twice: %s and %s", srv, prev, op.ID)
			}
			servers[srv] = op.ID
			for i := 1; i <= killSteps; i++ {
				if data[fmt.Sprintf("step%d", i)] != "ok" {
					t.Errorf("%s done without step%d: %v", op.ID, i, data)
				}
			}
			if sv.Status != billing.StatusActive || sv.Properties["server"] != srv {
				t.Errorf("%s done but service %s is %s with server %q (want Active, %s)", op.ID, sv.ID, sv.Status, sv.Properties["server"], srv)
			}
		case provision.StateFailed:
			failedN++
			if len(heldBy[op.ID]) != 0 {
				t.Errorf("%s failed but still holds %v", op.ID, heldBy[op.ID])
			}
			if sv.Status != billing.StatusOrdered || len(sv.Properties) != 0 {
				t.Errorf("%s failed but service %s is %s %v, want cleanly Ordered", op.ID, sv.ID, sv.Status, sv.Properties)
			}
		default:
			t.Errorf("%s unfinished: state %s step %q", op.ID, op.State, op.Step)
		}
	}
	if doneN != killServers || failedN != killOrders-killServers {
		t.Errorf("%d done, %d failed; want %d and %d", doneN, failedN, killServers, killOrders-killServers)
	}
	if len(rs) != doneN {
		t.Errorf("%d reservations for %d done orders: %v", len(rs), doneN, heldBy)
	}

	// The shared log: no operation reached its final state twice.
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	finals := map[string]int{}
	var effects, claims int
	effectSeen := map[string]bool{}
	repeated := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch fields[0] {
		case "final":
			finals[fields[1]]++
		case "claim":
			claims++
		case "effect":
			effects++
			k := fields[1] + " " + fields[2]
			if effectSeen[k] {
				repeated++
			}
			effectSeen[k] = true
		}
	}
	for id, c := range finals {
		if c > 1 {
			t.Errorf("%s reached a final state %d times", id, c)
		}
	}
	t.Logf("%d claims, %d operations retried after a kill, %d step effects of which %d re-run after a crash, %d/%d final transitions logged",
		claims, retried, effects, repeated, len(finals), len(ops))
}
