package provision_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/memstore"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// BenchmarkConcurrentOrders opens n dedicated servers at once with n
// workers (every panel call of the fake takes 2 ms, power-on is instant,
// the install takes 1 s) on memstore, SQLite (synchronous=NORMAL) and
// PostgreSQL ($ISPKIT_TEST_POSTGRES), and reports x-critical: the time
// for all n orders over the time of one order alone, measured first in
// the same run (1.0 would be perfect concurrency).
//
//	go test -run '^$' -bench ConcurrentOrders -benchtime 1x -count 3 ./provision/
func BenchmarkConcurrentOrders(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) provision.Store
	}{
		{"memstore", func(*testing.B) provision.Store { return memstore.New() }},
		{"sqlite", func(b *testing.B) provision.Store {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "s.db")+"?_pragma=synchronous(NORMAL)")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			s, err := sqlstore.New(db, sqlstore.SQLite)
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"postgres", func(b *testing.B) provision.Store { return openBenchPostgres(b) }},
	}
	sizes := []int{1, 8, 64, 256, 1000}
	if testing.Short() {
		sizes = []int{1, 8, 64}
	}
	for _, st := range stores {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("%s/orders=%d", st.name, n), func(b *testing.B) {
				var ratio float64
				for range b.N {
					one := runOrders(b, st.open(b), 1)
					all := runOrders(b, st.open(b), n)
					ratio += all.Seconds() / one.Seconds()
				}
				b.ReportMetric(ratio/float64(b.N), "x-critical")
			})
		}
	}
}

// runOrders opens n orders at once with n workers and returns the time
// from the first submission until the last order is done.
func runOrders(b *testing.B, store provision.Store, n int) time.Duration {
	b.Helper()
	v := newEnv(b, n)
	first := &firstClaim{Store: store, done: make(chan struct{})}
	v.store = first
	v.dc.PowerDelay, v.dc.InstallDelay, v.dc.Latency = 0, time.Second, 2*time.Millisecond
	// The engine without the test env's event recorder (v.engine): the
	// benchmark asserts nothing on events, and recording 45 of them per
	// order under one lock was a fifth of the CPU of 1,000 orders.
	cfg := v.config("bench")
	cfg.Workers, cfg.PollInterval, cfg.ClaimInterval = n, 10*time.Millisecond, time.Second
	cfg.LeaseDuration, cfg.InstallTimeout, cfg.PowerTimeout, cfg.ReachTimeout = time.Minute, time.Minute, time.Minute, time.Minute
	e, err := provision.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = e.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	// The orders come to a running engine: Run has made its first look
	// for work (a claim that finds nothing) and its workers are idle.
	<-first.done
	// The orders arrive at once, as a billing system's n concurrent
	// requests would bring them: each submits and waits on its own.
	start := time.Now()
	errs := make(chan error, n)
	var orders sync.WaitGroup
	for i := range n {
		orders.Go(func() {
			op, err := e.Submit(ctx, openReq(strconv.Itoa(i+1), tariffDedic))
			if err == nil {
				_, err = e.Wait(ctx, op.ID)
			}
			errs <- err
		})
	}
	orders.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return took
}

// firstClaim is a Store that closes done when its first ClaimOperation
// has returned.
type firstClaim struct {
	provision.Store
	once sync.Once
	done chan struct{}
}

func (f *firstClaim) ClaimOperation(ctx context.Context, worker string, lease time.Duration) (*provision.Operation, error) {
	defer f.once.Do(func() { close(f.done) })
	return f.Store.ClaimOperation(ctx, worker, lease)
}

var benchPG struct {
	sync.Mutex
	n int
}

// openBenchPostgres opens a Store in a fresh schema of
// $ISPKIT_TEST_POSTGRES, or skips.
func openBenchPostgres(b testing.TB) provision.Store {
	dsn := os.Getenv("ISPKIT_TEST_POSTGRES")
	if dsn == "" {
		b.Skip("ISPKIT_TEST_POSTGRES is not set")
	}
	benchPG.Lock()
	benchPG.n++
	schema := fmt.Sprintf("ispkit_bench_%d_%d", os.Getpid(), benchPG.n)
	benchPG.Unlock()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if a, err := sql.Open("pgx", dsn); err == nil {
			_, _ = a.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			a.Close()
		}
	})
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	// A pool sized to the machine, not to the orders: every connection is
	// a PostgreSQL backend process, and 64 of them on two cores spent the
	// cores switching between them (1,000 orders: 3.6x the critical path
	// with 64, 2.7x with 8). The pool is filled before the orders arrive,
	// as a running service's pool is: opening connections is not what
	// the benchmark compares.
	conns := 4 * runtime.NumCPU()
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	b.Cleanup(func() { db.Close() })
	held := make([]*sql.Conn, 0, conns)
	for range conns {
		c, err := db.Conn(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		held = append(held, c)
	}
	for _, c := range held {
		c.Close()
	}
	s, err := sqlstore.New(db, sqlstore.Postgres)
	if err != nil {
		b.Fatal(err)
	}
	return s
}
