// Package enginekill_test kills real provisioning processes: worker
// processes (this test binary re-executed with $ENGINEKILL_WORKER set) run
// the real provision.Engine over sqlstore against one DCImanager 5 fake
// panel served over HTTP by the parent test (so the panel outlives the
// workers). The parent submits a batch of Open orders, more orders than
// servers, and SIGKILLs workers at random moments; new workers resume.
// At the end every operation is finished, every service is Active with its
// own server or cleanly not provisioned, and the panel agrees with the
// store: no server sold twice, no reservation leaked.
//
// It lives in its own package so that the store's own tests do not depend
// on the engine and the panel fakes.
package enginekill_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

const (
	envWorker  = "ENGINEKILL_WORKER"
	envDialect = "ENGINEKILL_DIALECT"
	envDSN     = "ENGINEKILL_DSN"
	envSchema  = "ENGINEKILL_SCHEMA"
	envPanel   = "ENGINEKILL_PANEL" // URL
	envAdmin   = "ENGINEKILL_ADMIN"
	envPass    = "ENGINEKILL_PASSWORD"

	orders  = 8
	servers = 6
	module  = "dci"
)

func TestMain(m *testing.M) {
	if os.Getenv(envWorker) != "" {
		os.Exit(workerMain())
	}
	os.Exit(m.Run())
}

func catalog(panelURL, admin, pw string) (*billing.Catalog, error) {
	cat := billing.NewCatalog()
	if err := cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: module, URL: panelURL, Username: admin, Password: pw}); err != nil {
		return nil, err
	}
	err := cat.AddTariff(&billing.Tariff{ID: 1, Name: "C1", ProductType: billing.ProductDedicatedServer, Modules: []string{module},
		ServerConfig: "C1", OSTemplate: "ISPsystem__Debian-12-x86_64"})
	return cat, err
}

func newEngine(store provision.Store, id, panelURL, admin, pw string) (*provision.Engine, error) {
	cat, err := catalog(panelURL, admin, pw)
	if err != nil {
		return nil, err
	}
	c, err := dcimanager5.NewClient(panelURL, dcimanager5.WithCredentials(admin, pw))
	if err != nil {
		return nil, err
	}
	return provision.New(provision.Config{
		Store: store, Catalog: cat, WorkerID: id, Workers: 4,
		Dedicated:     map[string]provision.DedicatedBackend{module: dci5.New(c, admin)},
		LeaseDuration: time.Second, PollInterval: 5 * time.Millisecond, ClaimInterval: 20 * time.Millisecond,
		InstallTimeout: 10 * time.Second, PowerTimeout: 10 * time.Second,
		Reachability: func(ctx context.Context, s provision.Server) error {
			if !s.PoweredOn || s.Installing || s.InstallFailed {
				return fmt.Errorf("not up")
			}
			return nil
		},
	})
}

func openDB(dialect, dsn, schema string) (*sql.DB, sqlstore.Dialect, error) {
	if dialect == "postgres" {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, 0, err
		}
		cfg.RuntimeParams["search_path"] = schema
		db := stdlib.OpenDB(*cfg)
		db.SetMaxOpenConns(6)
		return db, sqlstore.Postgres, nil
	}
	db, err := sql.Open("sqlite", dsn)
	return db, sqlstore.SQLite, err
}

// workerMain runs the engine until no operation is left unfinished.
func workerMain() int {
	db, d, err := openDB(os.Getenv(envDialect), os.Getenv(envDSN), os.Getenv(envSchema))
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	defer db.Close()
	store, err := sqlstore.New(db, d)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	e, err := newEngine(store, os.Getenv(envWorker), os.Getenv(envPanel), os.Getenv(envAdmin), os.Getenv(envPass))
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	// A worker stops on its own well after any real run, but before the
	// parent's hangGuard: on a loaded machine (the race detector, CPU
	// burners, other packages' tests) the last worker takes as long as it
	// needs, as run says; a minute was not always enough there.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- e.Run(ctx) }()
	for {
		select {
		case err := <-runErr:
			fmt.Fprintln(os.Stderr, "worker: Run:", err)
			// What was left, for the parent's failure message.
			left, _ := store.ListOperations(context.Background(), provision.OperationFilter{States: []provision.OperationState{provision.StatePending, provision.StateRunning}})
			for _, o := range left {
				fmt.Fprintf(os.Stderr, "worker: left %s: %s at %s (attempts %d, worker %q, error %q)\n",
					o.ID, o.State, o.Step, o.Attempts, o.Worker, o.Error)
			}
			return 1
		case <-time.After(50 * time.Millisecond):
		}
		left, err := store.ListOperations(ctx, provision.OperationFilter{States: []provision.OperationState{provision.StatePending, provision.StateRunning}})
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			return 1
		}
		if len(left) == 0 {
			cancel()
			if err := <-runErr; err != nil {
				fmt.Fprintln(os.Stderr, "worker: Run:", err)
				return 1
			}
			return 0
		}
	}
}

type setup struct {
	dialect, dsn, schema string
}

func TestEngineKillSQLite(t *testing.T) {
	t.Parallel()
	run(t, setup{dialect: "sqlite", dsn: filepath.Join(t.TempDir(), "store.db")}, false)
}

func TestEngineKillPostgres(t *testing.T) {
	dsn := os.Getenv("ISPKIT_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("ISPKIT_REQUIRE_POSTGRES") == "1" {
			t.Fatal("ISPKIT_REQUIRE_POSTGRES=1 but ISPKIT_TEST_POSTGRES is not set")
		}
		t.Skip("PostgreSQL tests skipped: set ISPKIT_TEST_POSTGRES to a connection string to run them")
	}
	t.Parallel()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("ispkit_enginekill_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	}()
	run(t, setup{dialect: "postgres", dsn: dsn, schema: schema}, true)
}

type proc struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

func run(t *testing.T, su setup, steady bool) {
	ctx := t.Context()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("%s engine kill test: seed %d, %d orders, %d servers", su.dialect, seed, orders, servers)

	// The panel lives in this process: it survives the workers.
	panel := dcimanager5test.NewServer(dcimanager5test.WithoutSeed(),
		dcimanager5test.WithPowerDuration(30*time.Millisecond),
		dcimanager5test.WithInstallDuration(150*time.Millisecond),
		dcimanager5test.WithConnectionDuration(0))
	panel.Strict(t)
	t.Cleanup(panel.Close)
	must(t, panel.AddPool("parking", "ipv4", "10.10.0.0/24"))
	must(t, panel.AddPool("public", "ipv4", "203.0.113.0/24"))
	panel.AddOSTemplate("ISPsystem", "Debian-12-x86_64", "linux")
	for i := range servers {
		_, err := panel.AddServer(dcimanager5test.ServerSpec{Name: fmt.Sprintf("s%03d", i+1), ChassisTemplate: "C1", Type: "1U"})
		must(t, err)
	}
	adminName, adminPw := panel.Admin()

	db, d, err := openDB(su.dialect, su.dsn, su.schema)
	must(t, err)
	defer db.Close()
	store, err := sqlstore.New(db, d)
	must(t, err)
	submitter, err := newEngine(store, "submitter", panel.URL(), adminName, adminPw)
	must(t, err)
	for i := range orders {
		_, err := submitter.Submit(ctx, provision.OpenRequest{ServiceID: strconv.Itoa(500 + i), TariffID: 1,
			Owner: fmt.Sprintf("cust%d", i), Password: "Secret-pw-1", OperationID: fmt.Sprintf("op-%d", i)})
		must(t, err)
	}

	n := 0
	start := func() *proc {
		n++
		p := &proc{done: make(chan error, 1)}
		p.cmd = exec.Command(os.Args[0])
		p.cmd.Env = append(os.Environ(), envWorker+"=w"+strconv.Itoa(n), envDialect+"="+su.dialect, envDSN+"="+su.dsn,
			envSchema+"="+su.schema, envPanel+"="+panel.URL(), envAdmin+"="+adminName, envPass+"="+adminPw)
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
		must(t, p.cmd.Start())
		go func() { p.done <- p.cmd.Wait() }()
		return p
	}
	// killUntil only limits how long the test keeps killing workers; the
	// last worker then has as long as it needs (hangGuard catches a hang
	// without making a loaded machine fail the test).
	killUntil := time.Now().Add(10 * time.Second)
	const hangGuard = 5 * time.Minute
	finish := func(p *proc) {
		t.Helper()
		select {
		case err := <-p.done:
			if err != nil {
				t.Fatalf("worker: %v\n%s", err, p.out.String())
			}
		case <-time.After(hangGuard):
			p.cmd.Process.Kill()
			<-p.done
			t.Fatalf("worker did not finish within the hang guard\n%s", p.out.String())
		}
	}
	// With steady, the second process starts after the first kill, so that
	// the first killed process surely dies holding work.
	var steadyProc *proc
	kills := 0
	for kills < 6 && time.Now().Before(killUntil) {
		p := start()
		select {
		case err := <-p.done:
			if err != nil {
				t.Fatalf("worker: %v\n%s", err, p.out.String())
			}
		case <-time.After(time.Duration(200+rng.IntN(500)) * time.Millisecond):
			must(t, p.cmd.Process.Kill())
			<-p.done
			kills++
			if steady && steadyProc == nil {
				steadyProc = start()
			}
		}
		left, err := store.ListOperations(ctx, provision.OperationFilter{States: []provision.OperationState{provision.StatePending, provision.StateRunning}})
		must(t, err)
		if len(left) == 0 {
			break
		}
	}
	finish(start())
	if steadyProc != nil {
		finish(steadyProc)
	}
	t.Logf("%d workers started, %d killed with SIGKILL", n, kills)
	check(t, store, panel, adminName)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// check compares the store with the panel.
func check(t *testing.T, store provision.Store, panel *dcimanager5test.Server, adminName string) {
	ctx := t.Context()
	ops, err := store.ListOperations(ctx, provision.OperationFilter{})
	must(t, err)
	retried := 0
	for _, op := range ops {
		if !op.State.Finished() {
			t.Errorf("%s unfinished: %s at %q", op.ID, op.State, op.Step)
		}
		if op.Attempts > 1 {
			retried++
		}
	}
	active, err := store.ListServices(ctx, provision.ServiceFilter{Statuses: []billing.Status{billing.StatusActive}})
	must(t, err)
	byServer := map[string]*provision.Service{}
	for _, s := range active {
		id := s.Properties[provision.PropServerID]
		if byServer[id] != nil {
			t.Errorf("server %s sold twice: services %s and %s", id, byServer[id].ID, s.ID)
		}
		byServer[id] = s
	}
	if len(active) != servers {
		t.Errorf("%d services active, want %d (one per server)", len(active), servers)
	}
	all, err := store.ListServices(ctx, provision.ServiceFilter{})
	must(t, err)
	for _, s := range all {
		if s.Status != billing.StatusActive && s.Properties[provision.PropServerID] != "" {
			t.Errorf("service %s is %s but keeps server %s", s.ID, s.Status, s.Properties[provision.PropServerID])
		}
	}
	res, err := store.Reservations(ctx, module)
	must(t, err)
	if len(res) != len(active) {
		t.Errorf("%d reservations for %d active services", len(res), len(active))
	}
	for _, r := range res {
		if byServer[r.ServerID] == nil {
			t.Errorf("leaked reservation of server %s by %s", r.ServerID, r.OperationID)
		}
	}
	var adminID int64
	for _, u := range panel.Users() {
		if u.Name == adminName {
			adminID = u.ID
		}
	}
	for _, st := range panel.Servers() {
		id := strconv.FormatInt(st.ID, 10)
		switch s := byServer[id]; {
		case s != nil:
			if s.Properties[provision.PropUserID] != strconv.FormatInt(st.Owner, 10) || st.Hostname == provision.FreeHostname {
				t.Errorf("server %s: panel owner %d hostname %s, service %s says user %s", id, st.Owner, st.Hostname, s.ID, s.Properties[provision.PropUserID])
			}
		case st.Owner == adminID && st.Owner != 0:
			if !st.Disabled {
				t.Errorf("server %s held by the admin but not disabled", id)
			}
		default:
			if st.Owner != 0 || st.Hostname != provision.FreeHostname {
				t.Errorf("server %s owned by %d (hostname %s) without a service", id, st.Owner, st.Hostname)
			}
		}
	}
	t.Logf("%d operations, %d retried after a kill, %d services active", len(ops), retried, len(active))
}
