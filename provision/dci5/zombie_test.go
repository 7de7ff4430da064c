package dci5_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/ipmgr"
	"github.com/ispkit/ispkit/provision/memstore"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// The zombie worker: worker A is paused just before a panel write while
// its lease renewals fail; worker B claims the operation after the lease
// expired and finishes it; then A wakes. No request from A may reach the
// panels after the pause: A's run must have stopped (its context, under
// which the paused call was made, ends with ErrLeaseLost) before B could
// claim. A talks to the DCImanager and IPmanager fakes through counting
// HTTP proxies, so "reached the panel" is counted at the panel's door.

const zLease = 5 * time.Second

// zclock is wall time plus an offset the test advances; After honours
// both (a pause ends when the wall time passes or an Advance reaches it),
// so the engines, the stores and the test share one clock.
type zclock struct {
	mu  sync.Mutex
	off time.Duration
	adv chan struct{} // closed and replaced on every Advance
}

func newZClock() *zclock { return &zclock{adv: make(chan struct{})} }

func (c *zclock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *zclock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	close(c.adv)
	c.adv = make(chan struct{})
	c.mu.Unlock()
}

func (c *zclock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	at := c.Now().Add(d)
	go func() {
		for {
			c.mu.Lock()
			adv := c.adv
			c.mu.Unlock()
			left := at.Sub(c.Now())
			if left <= 0 {
				ch <- c.Now()
				return
			}
			t := time.NewTimer(left)
			select {
			case <-t.C:
			case <-adv:
				t.Stop()
			}
		}
	}()
	return ch
}

// doubtful is A's Store: once fail is set every RenewLease fails as if
// the database were unreachable, or with hang never answers (until the
// caller gives up).
type doubtful struct {
	provision.Store
	fail, hang atomic.Bool
}

func (d *doubtful) RenewLease(ctx context.Context, opID, worker string, token int, lease time.Duration) error {
	if d.fail.Load() {
		if d.hang.Load() {
			<-ctx.Done()
			return ctx.Err()
		}
		return errors.New("store unreachable (injected)")
	}
	return d.Store.RenewLease(ctx, opID, worker, token, lease)
}

// The stores under doubtful are FencedStores (memstore, sqlstore): A
// keeps their fenced writes, as an engine on them has.

func (d *doubtful) ReserveFenced(ctx context.Context, f provision.Fence, r provision.Reservation) error {
	return d.Store.(provision.FencedStore).ReserveFenced(ctx, f, r)
}

func (d *doubtful) UnreserveFenced(ctx context.Context, f provision.Fence, backend, serverID, operationID string) error {
	return d.Store.(provision.FencedStore).UnreserveFenced(ctx, f, backend, serverID, operationID)
}

func (d *doubtful) PutServiceFenced(ctx context.Context, f provision.Fence, s *provision.Service) error {
	return d.Store.(provision.FencedStore).PutServiceFenced(ctx, f, s)
}

var _ provision.FencedStore = (*doubtful)(nil)

// pauser holds the first call of the target method until resume is
// closed, remembering the call's context.
type pauser struct {
	target string
	once   sync.Once
	paused chan struct{}
	resume chan struct{}
	ctx    context.Context
}

func (p *pauser) at(ctx context.Context, what string) {
	if what != p.target {
		return
	}
	first := false
	p.once.Do(func() { first, p.ctx = true, ctx; close(p.paused) })
	if first {
		<-p.resume
	}
}

// zDC and zPool are A's backends: the real adapters, paused at the target.
type zDC struct {
	*dci5.Backend
	p *pauser
}

func (b zDC) SetOwner(ctx context.Context, id, user string) error {
	b.p.at(ctx, "SetOwner")
	return b.Backend.SetOwner(ctx, id, user)
}

// SwapOwner is the engine's owner write on this backend (an
// OwnerSwapper): it is the "SetOwner" target too.
func (b zDC) SwapOwner(ctx context.Context, s provision.Server, user string) (provision.Server, error) {
	b.p.at(ctx, "SetOwner")
	return b.Backend.SwapOwner(ctx, s, user)
}

// SetDomainOf is the engine's domain write on this backend (a
// RowReader): it is the "SetDomain" target too.
func (b zDC) SetDomainOf(ctx context.Context, s provision.Server, ips []provision.ServerIP, domain string) error {
	b.p.at(ctx, "SetDomain")
	return b.Backend.SetDomainOf(ctx, s, ips, domain)
}

func (b zDC) SetDomain(ctx context.Context, id, domain string) error {
	b.p.at(ctx, "SetDomain")
	return b.Backend.SetDomain(ctx, id, domain)
}

func (b zDC) Disable(ctx context.Context, id string) error {
	b.p.at(ctx, "Disable")
	return b.Backend.Disable(ctx, id)
}

func (b zDC) PowerOn(ctx context.Context, id string) error {
	b.p.at(ctx, "PowerOn")
	return b.Backend.PowerOn(ctx, id)
}

func (b zDC) SetPorts(ctx context.Context, id string, on bool) error {
	b.p.at(ctx, "SetPorts")
	return b.Backend.SetPorts(ctx, id, on)
}

func (b zDC) Install(ctx context.Context, id string, spec provision.InstallSpec) error {
	b.p.at(ctx, "Install")
	return b.Backend.Install(ctx, id, spec)
}

func (b zDC) AddIP(ctx context.Context, id, family, group, ip, domain string) (provision.ServerIP, error) {
	b.p.at(ctx, "AddIP")
	return b.Backend.AddIP(ctx, id, family, group, ip, domain)
}

func (b zDC) RemoveIP(ctx context.Context, id, ipID string) error {
	b.p.at(ctx, "RemoveIP")
	return b.Backend.RemoveIP(ctx, id, ipID)
}

func (b zDC) SetUserPassword(ctx context.Context, userID, password string) error {
	b.p.at(ctx, "SetUserPassword")
	return b.Backend.SetUserPassword(ctx, userID, password)
}

type zPool struct {
	*ipmgr.Pool
	p *pauser
}

func (z zPool) Allocate(ctx context.Context, family, group, domain, note string) (string, error) {
	z.p.at(ctx, "Allocate")
	return z.Pool.Allocate(ctx, family, group, domain, note)
}

func (z zPool) Release(ctx context.Context, ip string) error {
	z.p.at(ctx, "Release")
	return z.Pool.Release(ctx, ip)
}

// doorman is a proxy in front of a fake panel that counts the requests
// reaching it while counting is on.
type doorman struct {
	srv      *httptest.Server
	counting atomic.Bool
	seen     atomic.Int64
	mu       sync.Mutex
	last     []string
}

func newDoorman(t *testing.T, target string) *doorman {
	u, err := url.Parse(target)
	require.NoError(t, err)
	d := &doorman{}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.counting.Load() {
			d.seen.Add(1)
			d.mu.Lock()
			d.last = append(d.last, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
			d.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

// url is the fake's URL (target) behind the proxy.
func (d *doorman) url(target string) string {
	u, _ := url.Parse(target)
	return d.srv.URL + u.Path
}

// zStores makes the two handles of one Store for A and B, on clk, and a
// function that makes the operation's lease expire in the Store (nil when
// advancing clk is enough).
type zStores func(t *testing.T, clk *zclock) (a, b provision.Store, expire func(opID string))

func zMemstore(t *testing.T, clk *zclock) (provision.Store, provision.Store, func(string)) {
	s := memstore.New(memstore.WithClock(clk.Now))
	return s, s, nil
}

func zSQLite(t *testing.T, clk *zclock) (provision.Store, provision.Store, func(string)) {
	path := filepath.Join(t.TempDir(), "store.db")
	open := func() provision.Store {
		s, err := sqlstore.Open(t.Context(), "sqlite", path, sqlstore.SQLite, sqlstore.WithClock(clk.Now))
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}
	return open(), open(), nil
}

func zPostgres(t *testing.T, _ *zclock) (provision.Store, provision.Store, func(string)) {
	dsn := os.Getenv("ISPKIT_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("ISPKIT_REQUIRE_POSTGRES") == "1" {
			t.Fatal("ISPKIT_REQUIRE_POSTGRES=1 but ISPKIT_TEST_POSTGRES is not set")
		}
		t.Skip("set ISPKIT_TEST_POSTGRES to run the PostgreSQL zombie tests")
	}
	schema := pgTestSchema(t, dsn)
	pool := func() *sql.DB {
		cfg, err := pgx.ParseConfig(dsn)
		require.NoError(t, err)
		cfg.RuntimeParams["search_path"] = schema
		db := stdlib.OpenDB(*cfg)
		db.SetMaxOpenConns(4)
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbA, dbB := pool(), pool()
	a, err := sqlstore.New(dbA, sqlstore.Postgres)
	require.NoError(t, err)
	b, err := sqlstore.New(dbB, sqlstore.Postgres)
	require.NoError(t, err)
	// PostgreSQL leases run on the database's clock: end this one there.
	expire := func(opID string) {
		_, err := dbB.ExecContext(t.Context(),
			`UPDATE ispkit_operations SET lease_until = now() - interval '1 second' WHERE id = $1`, opID)
		require.NoError(t, err)
	}
	return a, b, expire
}

var pgSeq atomic.Int64

// pgTestSchema creates an empty schema for one test and drops it after.
func pgTestSchema(t *testing.T, dsn string) string {
	admin, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	schema := fmt.Sprintf("ispkit_zombie_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, pgSeq.Add(1))
	_, err = admin.Exec(`CREATE SCHEMA ` + schema)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	return schema
}

// zScenario is one kind of panel write: the operation A runs (after setup
// by B, when the operation needs an open service) and the write A is
// paused at.
type zScenario struct {
	name   string
	open   bool // the service is opened by B first
	req    provision.Request
	target string
	// hang: A's renewals hang instead of failing (the lease is in doubt
	// rather than known lost).
	hang  bool
	check func(t *testing.T, z *zWorld, svc *provision.Service)
}

const zSvc = "7"

func zScenarios() []zScenario {
	openReq := provision.OpenRequest{ServiceID: zSvc, TariffID: 1, Owner: "ann", Password: "Secret-pw-1"}
	active := func(t *testing.T, z *zWorld, svc *provision.Service) {
		assert.Equal(t, billing.StatusActive, svc.Status)
		assert.NotEmpty(t, svc.Properties[provision.PropServerID])
	}
	return []zScenario{
		{name: "open/owner", req: openReq, target: "SetOwner", check: active},
		// No domain write here: with IPmanager the order's domain goes on
		// with the public address (AddIP) that replaces the parking one,
		// and the close puts a parking address back with the free
		// hostname.
		{name: "open/address-allocate", req: openReq, target: "Allocate", check: active},
		{name: "open/ports", req: openReq, target: "SetPorts", check: active},
		{name: "open/power", req: openReq, target: "PowerOn", check: active},
		{name: "open/install", req: openReq, target: "Install", check: active},
		{name: "open/install/renewal-hangs", req: openReq, target: "Install", hang: true, check: active},
		{name: "suspend/ports", open: true, req: provision.SuspendRequest{ServiceID: zSvc}, target: "SetPorts",
			check: func(t *testing.T, z *zWorld, svc *provision.Service) {
				assert.Equal(t, billing.StatusSuspended, svc.Status)
			}},
		{name: "add-ip/address-allocate", open: true, req: provision.AddIPRequest{ServiceID: zSvc}, target: "Allocate", check: active},
		{name: "reinstall/install", open: true, req: provision.ReinstallRequest{ServiceID: zSvc, Password: "Secret-pw-2"}, target: "Install", check: active},
		{name: "change-password/user", open: true, req: provision.ChangePasswordRequest{ServiceID: zSvc, Password: "Secret-pw-3"}, target: "SetUserPassword", check: active},
		{name: "close/disable", open: true, req: provision.CloseRequest{ServiceID: zSvc}, target: "Disable", check: closed},
		{name: "close/address-release", open: true, req: provision.CloseRequest{ServiceID: zSvc}, target: "Release", check: closed},
		{name: "close/hand-over", open: true, req: provision.CloseRequest{ServiceID: zSvc}, target: "SetOwner", check: closed},
	}
}

func closed(t *testing.T, z *zWorld, svc *provision.Service) {
	assert.Equal(t, billing.StatusDeleted, svc.Status)
}

type zWorld struct {
	*ipWorld
	clk  *zclock
	a, b provision.Store
}

// engine is an engine on store s with the given DCImanager and IPmanager
// URLs; wrap, when set, wraps its backends.
func (z *zWorld) engine(id string, s provision.Store, dciURL, ipmURL string, p *pauser) *provision.Engine {
	t := z.t
	c, err := dcimanager5.NewClient(dciURL, dcimanager5.WithCredentials(z.admin, z.pw))
	require.NoError(t, err)
	ic, err := ipmanager.NewClient(ipmURL, ipmanager.WithCredentials(ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword))
	require.NoError(t, err)
	var dc provision.DedicatedBackend = dci5.New(c, z.admin)
	var pool provision.IPPool = ipmgr.New(ic)
	if p != nil {
		dc, pool = zDC{dci5.New(c, z.admin), p}, zPool{ipmgr.New(ic), p}
	}
	e, err := provision.New(provision.Config{
		Store: s, Catalog: z.cat, WorkerID: id, Workers: 1, Clock: z.clk,
		Dedicated:     map[string]provision.DedicatedBackend{"dci": dc},
		IPPools:       map[string]provision.IPPool{"dci": pool},
		LeaseDuration: zLease, PollInterval: time.Millisecond, ClaimInterval: 5 * time.Millisecond,
		InstallTimeout: time.Minute, PowerTimeout: time.Minute,
		Reachability: func(ctx context.Context, s provision.Server) error {
			if !s.PoweredOn || s.Installing || s.InstallFailed {
				return assert.AnError
			}
			return nil
		},
	})
	require.NoError(t, err)
	return e
}

func TestZombieWorkerWritesNothing(t *testing.T) {
	t.Parallel()
	stores := []struct {
		name string
		mk   zStores
	}{{"memstore", zMemstore}, {"sqlite-two-handles", zSQLite}, {"postgres-two-pools", zPostgres}}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			for _, sc := range zScenarios() {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					zombie(t, st.mk, sc)
				})
			}
		})
	}
}

func zombie(t *testing.T, mk zStores, sc zScenario) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	z := &zWorld{ipWorld: newIPWorld(t, 2), clk: newZClock()}
	var expire func(string)
	z.a, z.b, expire = mk(t, z.clk)
	b := z.engine("B", z.b, z.srv.URL(), z.ipm.URL(), nil)
	if sc.open {
		op, err := b.Open(ctx, provision.OpenRequest{ServiceID: zSvc, TariffID: 1, Owner: "ann", Password: "Secret-pw-1"})
		require.NoError(t, err)
		require.Equal(t, provision.StateDone, op.State)
	}

	dciDoor, ipmDoor := newDoorman(t, z.srv.URL()), newDoorman(t, z.ipm.URL())
	p := &pauser{target: sc.target, paused: make(chan struct{}), resume: make(chan struct{})}
	as := &doubtful{Store: z.a}
	a := z.engine("A", as, dciDoor.url(z.srv.URL()), ipmDoor.url(z.ipm.URL()), p)
	op, err := a.Submit(ctx, sc.req)
	require.NoError(t, err)
	aDone := make(chan error, 1)
	go func() { aDone <- a.Resume(ctx) }()
	resumed := false
	defer func() {
		if !resumed {
			close(p.resume)
		}
	}()
	select {
	case <-p.paused:
	case err := <-aDone:
		got, gerr := z.b.GetOperation(ctx, op.ID)
		require.NoError(t, gerr)
		t.Fatalf("A finished (%v) without calling %s: operation %s at %s: %s", err, sc.target, got.State, got.Step, got.Error)
	case <-ctx.Done():
		t.Fatalf("A never called %s", sc.target)
	}
	dciDoor.counting.Store(true)
	ipmDoor.counting.Store(true)

	// A's renewals fail (or hang); the lease runs out.
	as.hang.Store(sc.hang)
	as.fail.Store(true)
	z.clk.Advance(3 * zLease)
	select {
	case <-p.ctx.Done():
		require.ErrorIs(t, context.Cause(p.ctx), provision.ErrLeaseLost, "A's run stopped for its lease")
	case <-ctx.Done():
		t.Fatal("A's paused call's context did not end although its lease could not be renewed")
	}
	if expire != nil {
		expire(op.ID)
	}

	// B takes the operation over and finishes it.
	require.NoError(t, b.Resume(ctx))
	done, err := z.b.GetOperation(ctx, op.ID)
	require.NoError(t, err)
	require.Equal(t, provision.StateDone, done.State, "B finished the operation: %s", done.Error)
	require.Greater(t, done.Attempts, 1)
	svcDone, err := z.b.GetService(ctx, zSvc)
	require.NoError(t, err)
	resDone, err := z.b.Reservations(ctx, "")
	require.NoError(t, err)

	// A wakes: nothing of it reaches the panels, nor the Store.
	resumed = true
	close(p.resume)
	select {
	case err := <-aDone:
		require.ErrorIs(t, err, provision.ErrInterrupted)
	case <-ctx.Done():
		t.Fatal("A did not stop after waking")
	}
	dciDoor.mu.Lock()
	ipmDoor.mu.Lock()
	assert.Zero(t, dciDoor.seen.Load()+ipmDoor.seen.Load(), "requests from the stale worker A reached the panels: %v %v", dciDoor.last, ipmDoor.last)
	ipmDoor.mu.Unlock()
	dciDoor.mu.Unlock()

	after, err := z.b.GetOperation(ctx, op.ID)
	require.NoError(t, err)
	assert.Equal(t, done.Version, after.Version, "A recorded nothing after B finished")
	svc, err := z.b.GetService(ctx, zSvc)
	require.NoError(t, err)
	assert.Equal(t, svcDone.Version, svc.Version, "A recorded nothing on the service after B finished")
	res, err := z.b.Reservations(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, resDone, res, "A changed no reservation after B finished")
	sc.check(t, z, svc)
	z.checkIPsIn(z.b)
}
