package sqlstore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/memstore"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// BenchmarkStepTransition measures step transitions per second: a worker
// holding a claimed operation records its next step (UpdateOperation with
// the version check), as the engine does after every step.
//
//	go test -run '^$' -bench StepTransition -benchtime 2s ./provision/sqlstore/
//
// "serial" is one worker; "parallel" is GOMAXPROCS workers, each on its
// own operation, and "parallel-64" 64 workers (an engine's pool): their
// calls are committed together (group commit). sqlite is the driver's
// default, synchronous=FULL in WAL mode (a returned transition survives a
// power loss; one WAL sync per commit); sqlite-normal opens with
// _pragma=synchronous(NORMAL), which survives a process crash but may lose
// the last commits on a power loss (see the package documentation).
// postgres needs $ISPKIT_TEST_POSTGRES (fsync and synchronous_commit on).
// The "-single" stores commit every call on its own (WithMaxBatch(1)):
// the same run's baseline for group commit.
func BenchmarkStepTransition(b *testing.B) {
	postgres := func(b *testing.B, opts ...sqlstore.Option) provision.Store {
		dsn, schema := pgSchemaFor(b)
		s, err := sqlstore.New(openPostgresDB(b, dsn, schema, 64), sqlstore.Postgres, opts...)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	stores := []struct {
		name   string
		single bool
		open   func(b *testing.B) provision.Store
	}{
		{"memstore", false, func(*testing.B) provision.Store { return memstore.New() }},
		{"sqlite", false, func(b *testing.B) provision.Store { return newSQLite(b, sqlitePath(b)) }},
		{"sqlite-single", true, func(b *testing.B) provision.Store {
			return newSQLite(b, sqlitePath(b), sqlstore.WithMaxBatch(1))
		}},
		{"sqlite-normal", false, func(b *testing.B) provision.Store {
			return newSQLite(b, "file:"+sqlitePath(b)+"?_pragma=synchronous(NORMAL)")
		}},
		{"postgres", false, func(b *testing.B) provision.Store { return postgres(b) }},
		{"postgres-single", true, func(b *testing.B) provision.Store { return postgres(b, sqlstore.WithMaxBatch(1)) }},
	}
	for _, st := range stores {
		if st.single {
			// Group commit changes nothing for one worker.
			b.Run(st.name+"/parallel-64", func(b *testing.B) { parallelSteps(b, st.open(b), 64/runtime.GOMAXPROCS(0)) })
			continue
		}
		b.Run(st.name+"/serial", func(b *testing.B) {
			s := st.open(b)
			op := claimedOp(b, s, "bench")
			i := 0
			for b.Loop() {
				if err := step(b, s, op, i); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "transitions/s")
		})
		b.Run(st.name+"/parallel", func(b *testing.B) { parallelSteps(b, st.open(b), 1) })
		// As many workers as an engine pool: concurrent commits share
		// PostgreSQL's WAL flushes (group commit).
		b.Run(st.name+"/parallel-64", func(b *testing.B) { parallelSteps(b, st.open(b), 64/runtime.GOMAXPROCS(0)) })
	}
}

// parallelSteps runs step transitions from GOMAXPROCS·p goroutines, each
// on its own operation.
func parallelSteps(b *testing.B, s provision.Store, p int) {
	b.Helper()
	p = max(p, 1)
	// Every goroutine's operation is created and claimed before the
	// clock starts.
	n := p * runtime.GOMAXPROCS(0)
	ops := make(chan *provision.Operation, n)
	for i := range n {
		ops <- claimedOp(b, s, fmt.Sprintf("bench-%d", i+1))
	}
	var total atomic.Int64
	b.SetParallelism(p)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		op := <-ops
		i := 0
		for pb.Next() {
			if err := step(b, s, op, i); err != nil {
				b.Error(err)
				return
			}
			i++
		}
		total.Add(int64(i))
	})
	b.ReportMetric(float64(total.Load())/b.Elapsed().Seconds(), "transitions/s")
}

// claimedOp creates an operation and claims one (with several goroutines
// each gets a different one).
func claimedOp(b *testing.B, s provision.Store, id string) *provision.Operation {
	ctx := b.Context()
	op := &provision.Operation{ID: id, ServiceID: "svc-" + id, Kind: provision.OpOpen, Step: "reserve",
		Input: json.RawMessage(`{"v":2,"request":{"tariff_id":1,"password":"secret"}}`),
		Data:  json.RawMessage(`{"v":2,"product":"dedicated","state":{"module":"dci6"}}`)}
	if err := s.CreateOperation(ctx, op); err != nil {
		b.Fatal(err)
	}
	// With SKIP LOCKED a claim can find every free row locked by other
	// claimers (ErrNoWork); each claimer created one row, so retrying ends.
	for {
		c, err := s.ClaimOperation(ctx, id, time.Hour)
		if errors.Is(err, provision.ErrNoWork) {
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
}

var benchSteps = []string{"reserve", "user", "ips", "power", "install", "wait", "notify"}

func step(b *testing.B, s provision.Store, op *provision.Operation, i int) error {
	op.Step = benchSteps[i%len(benchSteps)]
	op.Data = json.RawMessage(`{"v":2,"product":"dedicated","state":{"module":"dci6","failures":` + strconv.Itoa(i) + `}}`)
	return s.UpdateOperation(b.Context(), op)
}
