package ipmanager_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/testctx"
	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
)

func TestConcurrentAllocationNeverHandsOutTwice(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, []ipmanagertest.Option{ipmanagertest.WithGroup("public", "10.0.0.1-10.0.0.100")})
	ctx := context.Background()

	const workers = 200
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		got       = map[netip.Addr]int{}
		exhausted int
		other     []error
	)
	start := make(chan struct{})
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public", Note: "w" + string(rune('0'+i%10))})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				got[a.IP]++
			case ipmanager.IsPoolExhausted(err):
				exhausted++
			default:
				other = append(other, err)
			}
		}()
	}
	close(start)
	wg.Wait()

	require.Empty(t, other)
	assert.Len(t, got, 100, "exactly 100 distinct addresses")
	for a, n := range got {
		assert.Equal(t, 1, n, "address %s handed out %d times", a, n)
		assert.True(t, netip.MustParsePrefix("10.0.0.0/25").Contains(a), "%s outside the pool", a)
	}
	assert.Equal(t, 100, exhausted)
	assert.Len(t, s.Addresses(), 100)
	assert.Zero(t, s.FreeCount("public"))
	assert.Equal(t, workers, s.CallCount("ip.edit"), "each allocation sent once")
}

func TestHiddenRangesSkippedByAutoAllocation(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, []ipmanagertest.Option{
		ipmanagertest.WithHiddenRange("public", "192.0.2.1-192.0.2.3"),
		ipmanagertest.WithGroup("public", "192.0.2.10-192.0.2.11"),
		ipmanagertest.WithHiddenRange("public", "192.0.2.50"),
	})
	ctx := context.Background()
	var auto []netip.Addr
	for range 2 {
		a, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
		require.NoError(t, err)
		auto = append(auto, a.IP)
	}
	assert.Equal(t, []netip.Addr{ip("192.0.2.10"), ip("192.0.2.11")}, auto)
	_, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	require.ErrorIs(t, err, ipmanager.ErrPoolExhausted, "hidden addresses are not handed out automatically")

	for _, want := range []string{"192.0.2.2", "192.0.2.50"} {
		a, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public", IP: ip(want), Domain: "named.example.com"})
		require.NoError(t, err, want)
		assert.Equal(t, ip(want), a.IP)
	}
	assert.Len(t, s.Addresses(), 4)
	g := s.Groups()[0]
	assert.True(t, g.Ranges[0].Hidden)
	assert.False(t, g.Ranges[1].Hidden)
}

func TestAllocateWithFaultAfterIsNotResent(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, nil)
	ctx := context.Background()
	s.Inject(ipmanagertest.Fault{Match: "ip.edit", Kind: ipmanagertest.FaultDropAfter, Times: 1})

	req := ipmanager.AllocateRequest{Group: "public", Domain: "srv9.example.com", Note: "op-42"}
	_, err := c.Allocate(ctx, req)
	require.Error(t, err)
	assert.True(t, ipmanager.IsUncertain(err), "%v", err)
	var ue *ipmanager.UncertainError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "may have")
	assert.Equal(t, 1, s.CallCount("ip.edit"), "sent exactly once")
	assert.Len(t, s.Addresses(), 1, "the panel did allocate")

	// The caller checks before retrying and finds the allocation.
	found, err := c.FindByDomainNote(ctx, req.Domain, req.Note)
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, ip("198.51.100.1"), found[0].IP)
}

func TestAllocateMalformedAnswerIsUncertain(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, nil)
	s.Inject(ipmanagertest.Fault{Match: "ip.edit", Kind: ipmanagertest.FaultMalformed, Times: 1})
	_, err := c.Allocate(context.Background(), ipmanager.AllocateRequest{Group: "public"})
	assert.ErrorIs(t, err, ipmanager.ErrMayHaveHappened)
	assert.Equal(t, int64(1), s.Requests())
}

func TestAllocate5xxIsNotRetried(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, nil)
	s.Inject(ipmanagertest.Fault{Match: "ip.edit", Kind: ipmanagertest.FaultStatus, Status: 502, Times: 1})
	_, err := c.Allocate(context.Background(), ipmanager.AllocateRequest{Group: "public"})
	assert.ErrorIs(t, err, ipmanager.ErrMayHaveHappened)
	assert.Equal(t, int64(1), s.Requests(), "a non-idempotent call is sent once")
}

func TestAllocateDeadlineIsUncertain(t *testing.T) {
	t.Parallel()
	s := ipmanagertest.NewServer()
	s.Strict(t)
	t.Cleanup(s.Close)
	// The deadline passes once the allocation is at the panel (a front
	// reports it), which holds the answer until the client leaves: not
	// after a fixed time, which a slow machine could spend before sending.
	ctx := testctx.NewExpiring(context.Background(), time.Time{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte("func=ip.edit")) {
			ctx.Expire()
		}
		s.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	u, err := url.Parse(s.URL())
	require.NoError(t, err)
	c, err := ipmanager.NewClient(front.URL+u.Path, ipmanager.WithCredentials(ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword))
	require.NoError(t, err)
	s.Inject(ipmanagertest.Fault{Match: "ip.edit", Kind: ipmanagertest.FaultSlow, Times: 1})
	_, err = c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	assert.ErrorIs(t, err, ipmanager.ErrMayHaveHappened)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestReadsAndIdempotentWritesAreRetried(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, nil)
	ctx := context.Background()
	a, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	require.NoError(t, err)

	s.Inject(ipmanagertest.Fault{Match: "ip", Kind: ipmanagertest.FaultStatus, Status: 503, Times: 2})
	list, err := c.List(ctx, ipmanager.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, list, 1)

	s.Inject(ipmanagertest.Fault{Match: "ip.delete", Kind: ipmanagertest.FaultDropBefore, Times: 1})
	require.NoError(t, c.Release(ctx, a.IP))
	assert.Empty(t, s.Addresses())

	// A release whose first attempt went through but whose answer was lost
	// is retried and reports not found: the caller treats it as done.
	b, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	require.NoError(t, err)
	s.Inject(ipmanagertest.Fault{Match: "ip.delete", Kind: ipmanagertest.FaultDropAfter, Times: 1})
	err = c.Release(ctx, b.IP)
	assert.True(t, ipmanager.IsNotFound(err), "%v", err)
	assert.Empty(t, s.Addresses())
}

func TestRandom5xxReadsSucceed(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, nil, ipmanager.WithRetry(10, time.Millisecond, 2*time.Millisecond))
	ctx := context.Background()
	s.SetFaultSeed(7)
	s.Inject(ipmanagertest.Fault{Kind: ipmanagertest.FaultStatus, Status: 503, Probability: 0.3, Times: -1})
	for range 20 {
		_, err := c.Groups(ctx)
		require.NoError(t, err)
	}
	s.ClearFaults()
}
