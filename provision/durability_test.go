package provision_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
)

// crashOrder opens one dedicated server whose first candidate fails its
// install (so the roll-back path runs too) with extra addresses, and makes
// onCall see every acting panel call.
func crashOrder(t *testing.T, v *env, e *provision.Engine, ctx context.Context) (*provision.Operation, error) {
	req := openReq("42", tariffDedic)
	req.OperationID = "op-42"
	req.Options = map[string]string{"IP": "1", "IPv6": "1"}
	return e.Open(ctx, req)
}

func hookCalls(v *env, fn func(string)) {
	v.dc.AfterCall = func(method, _ string) { fn("dc." + method) }
	v.pool.AfterCall = func(method string) { fn("ipmgr." + method) }
}

// TestCrashAtEveryCall stops the engine right after each panel call in
// turn (the panel acted, the engine did not record it), then resumes the
// operation with a new engine on the same Store.
func TestCrashAtEveryCall(t *testing.T) {
	t.Parallel()
	// Count the calls of an uninterrupted run.
	ref := newEnv(t, 3)
	ref.dc.FailInstall("1")
	var total atomic.Int64
	hookCalls(ref, func(string) { total.Add(1) })
	_, err := crashOrder(t, ref, ref.engine("ref"), context.Background())
	require.NoError(t, err)
	n := int(total.Load())
	require.Greater(t, n, 30)
	t.Logf("%d panel calls in an uninterrupted run", n)

	for k := 1; k <= n; k++ {
		t.Run(strconv.Itoa(k), func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, 3)
			v.dc.FailInstall("1")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var calls atomic.Int64
			hookCalls(v, func(string) {
				if calls.Add(1) == int64(k) {
					cancel()
				}
			})
			_, err := crashOrder(t, v, v.engine("A"), ctx)
			if err != nil { // nil: the run needed fewer calls (polls vary)
				require.ErrorIs(t, err, provision.ErrInterrupted)
			}
			hookCalls(v, func(string) {})
			v.clock.Advance(2 * time.Second) // A's lease expires
			require.NoError(t, v.engine("B").Resume(context.Background()))
			svc := v.service("42")
			require.Equal(t, billing.StatusActive, svc.Status)
			require.Equal(t, "2", svc.Properties[provision.PropServerID])
			v.checkInvariants()
		})
	}
}

// TestCrashAtEveryStep cancels the engine as each step starts, for every
// step of Open and Close, and resumes with a new engine.
func TestCrashAtEveryStep(t *testing.T) {
	t.Parallel()
	ref := newEnv(t, 3)
	ref.dc.FailInstall("1")
	e := ref.engine("ref")
	_, err := crashOrder(t, ref, e, context.Background())
	require.NoError(t, err)
	_, err = e.Close(context.Background(), provision.CloseRequest{ServiceID: "42"})
	require.NoError(t, err)
	steps := len(ref.eventsOf(provision.EventStepStarted))

	for k := 1; k <= steps; k++ {
		t.Run(strconv.Itoa(k), func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, 3)
			v.dc.FailInstall("1")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a := v.engine("A")
			var seen atomic.Int64
			a.Subscribe(func(ev provision.Event) {
				if ev.Type == provision.EventStepStarted && seen.Add(1) == int64(k) {
					cancel()
				}
			})
			_, err := crashOrder(t, v, a, ctx)
			if err == nil {
				_, err = a.Close(ctx, provision.CloseRequest{ServiceID: "42", OperationID: "close-42"})
			}
			require.ErrorIs(t, err, provision.ErrInterrupted)
			v.clock.Advance(2 * time.Second)
			b := v.engine("B")
			require.NoError(t, b.Resume(context.Background()))
			svc := v.service("42")
			if svc.Status == billing.StatusActive {
				v.checkInvariants()
				_, err = b.Close(context.Background(), provision.CloseRequest{ServiceID: "42", OperationID: "close-42"})
				require.NoError(t, err)
			}
			require.Equal(t, billing.StatusDeleted, v.service("42").Status)
			v.checkInvariants()
		})
	}
}

// TestCrashHosting stops a hosting Open after each call.
func TestCrashHosting(t *testing.T) {
	t.Parallel()
	for k := 1; k <= 4; k++ {
		t.Run(strconv.Itoa(k), func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, 0)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var calls atomic.Int64
			v.host.AfterCall = func(string) {
				if calls.Add(1) == int64(k) {
					cancel()
				}
			}
			_, err := v.engine("A").Open(ctx, provision.OpenRequest{ServiceID: "9", TariffID: tariffHosting, Owner: "bob", Password: "pw"})
			if err != nil {
				require.ErrorIs(t, err, provision.ErrInterrupted)
			}
			v.host.AfterCall = nil
			v.clock.Advance(2 * time.Second)
			require.NoError(t, v.engine("B").Resume(context.Background()))
			require.Equal(t, billing.StatusActive, v.service("9").Status)
			_, ok := v.host.User("bob")
			require.True(t, ok)
			_, ok = v.host.User("bob1")
			require.False(t, ok, "no second account after the crash")
		})
	}
}

// TestConcurrentOrders: 200 orders, 150 matching servers, three engines
// sharing one Store.
func TestConcurrentOrders(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 150)
	v.dc.PowerDelay, v.dc.InstallDelay = time.Millisecond, 2*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var engines []*provision.Engine
	var wg sync.WaitGroup
	for i := range 3 {
		e := v.engine(fmt.Sprintf("engine-%d", i))
		engines = append(engines, e)
		wg.Go(func() { assert.NoError(t, e.Run(ctx)) })
	}
	ops := make([]string, 200)
	for i := range ops {
		op, err := engines[i%3].Submit(ctx, openReq(strconv.Itoa(1000+i), tariffDedic))
		require.NoError(t, err)
		ops[i] = op.ID
	}
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	active, pending := 0, 0
	for i, id := range ops {
		op, err := engines[(i+1)%3].Wait(wctx, id)
		if err != nil {
			require.ErrorIs(t, err, provision.ErrNoServer, "order %d", i)
			require.Equal(t, provision.StateFailed, op.State)
			pending++
			continue
		}
		active++
	}
	cancel()
	wg.Wait()
	assert.Equal(t, 150, active)
	assert.Equal(t, 50, pending)
	svcs, err := v.store.ListServices(context.Background(), provision.ServiceFilter{Statuses: []billing.Status{billing.StatusOrdered}})
	require.NoError(t, err)
	require.Len(t, svcs, 50)
	for _, s := range svcs {
		require.Contains(t, s.Error, "no server available")
	}
	servers := map[string]bool{}
	active2, err := v.store.ListServices(context.Background(), provision.ServiceFilter{Statuses: []billing.Status{billing.StatusActive}})
	require.NoError(t, err)
	for _, s := range active2 {
		servers[s.Properties[provision.PropServerID]] = true
	}
	require.Len(t, servers, 150, "150 distinct servers")
	v.checkInvariants()
}

// BenchmarkOrders runs b.N dedicated-server orders through one engine
// against the fake data center with 1 ms per panel call.
//
//	go test -run '^$' -bench Orders -benchtime 200x ./provision/
func BenchmarkOrders(b *testing.B) {
	v := newEnv(b, b.N)
	v.dc.Latency = time.Millisecond
	v.dc.PowerDelay, v.dc.InstallDelay = 0, 0
	e := v.engine("bench", func(c *provision.Config) { c.Workers = 32 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = e.Run(ctx) }()
	b.ResetTimer()
	start := time.Now()
	ids := make([]string, b.N)
	for i := range b.N {
		op, err := e.Submit(ctx, openReq(strconv.Itoa(i+1), tariffDedic))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = op.ID
	}
	for _, id := range ids {
		if _, err := e.Wait(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	calls := v.dc.Calls() + v.pool.Calls()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "orders/s")
	b.ReportMetric(float64(calls)/float64(b.N), "requests/order")
}
