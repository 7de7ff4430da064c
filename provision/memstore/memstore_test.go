package memstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/memstore"
	"github.com/ispkit/ispkit/provision/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) provision.Store { return memstore.New() })
}

// TestLeaseClock expires a lease by moving the injected clock; a fence
// holds after its lease expired until another worker claims.
func TestLeaseClock(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := memstore.New(memstore.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	require.NoError(t, s.CreateOperation(ctx, &provision.Operation{ID: "a", ServiceID: "1", Kind: provision.OpOpen}))
	op, err := s.ClaimOperation(ctx, "w1", time.Minute)
	require.NoError(t, err)
	require.Equal(t, 1, op.Attempts)
	_, err = s.ClaimOperation(ctx, "w2", time.Minute)
	require.ErrorIs(t, err, provision.ErrNoWork)
	now = now.Add(2 * time.Minute)
	// Expired with nobody claiming since: w1's fence still holds, as its
	// renewal would.
	f := provision.Fence{OperationID: "a", Worker: "w1", Token: 1}
	require.NoError(t, s.ReserveFenced(ctx, f, provision.Reservation{Backend: "dc", ServerID: "1", OperationID: "a"}))
	op, err = s.ClaimOperation(ctx, "w2", time.Minute)
	require.NoError(t, err)
	require.Equal(t, "w2", op.Worker)
	require.Equal(t, 2, op.Attempts)
	require.ErrorIs(t, s.UnreserveFenced(ctx, f, "dc", "1", "a"), provision.ErrLeaseLost)
	require.ErrorIs(t, s.RenewLease(ctx, "a", "w1", 1, time.Minute), provision.ErrLeaseLost)
	require.NoError(t, s.RenewLease(ctx, "a", "w2", 2, time.Minute))
	// The same worker name claiming again after its own lease expired
	// gets a new token: its older claim can no longer renew.
	now = now.Add(2 * time.Minute)
	op, err = s.ClaimOperation(ctx, "w2", time.Minute)
	require.NoError(t, err)
	require.Equal(t, 3, op.Attempts)
	require.ErrorIs(t, s.RenewLease(ctx, "a", "w2", 2, time.Minute), provision.ErrLeaseLost)
	require.NoError(t, s.RenewLease(ctx, "a", "w2", 3, time.Minute))
}

// TestClaimIndex walks the claim index through its transitions on a fake
// clock: an expired lease becomes claimable in creation order, a lease
// renewed after expiry is held again, a released and an updated-to-done
// operation are filed anew, and the result always equals the oldest
// claimable operation.
func TestClaimIndex(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := memstore.New(memstore.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c", "d"} {
		require.NoError(t, s.CreateOperation(ctx, &provision.Operation{ID: id, ServiceID: id, Kind: provision.OpOpen}))
	}
	claim := func(worker string, lease time.Duration) string {
		op, err := s.ClaimOperation(ctx, worker, lease)
		if err != nil {
			require.ErrorIs(t, err, provision.ErrNoWork)
			return ""
		}
		return op.ID
	}
	require.Equal(t, "a", claim("w", time.Minute))
	require.Equal(t, "b", claim("w", 2*time.Minute))
	require.Equal(t, "c", claim("w", time.Hour))
	now = now.Add(90 * time.Second) // a expired, b and c held
	require.Equal(t, "a", claim("x", time.Hour), "the expired a is older than the free d")
	require.Equal(t, "d", claim("x", time.Hour))
	now = now.Add(time.Minute) // b expired; its holder renews before anyone claims
	require.NoError(t, s.RenewLease(ctx, "b", "w", 1, time.Hour))
	require.Equal(t, "", claim("y", time.Hour), "b is held again")
	require.NoError(t, s.ReleaseLease(ctx, "c", "w", 1))
	op, err := s.GetOperation(ctx, "a")
	require.NoError(t, err)
	op.State = provision.StateDone
	require.NoError(t, s.UpdateOperation(ctx, op))
	require.Equal(t, "c", claim("y", time.Hour), "released c")
	now = now.Add(2 * time.Hour)
	require.Equal(t, "b", claim("z", time.Hour), "a is done: b is the oldest expired")
	require.Equal(t, "c", claim("z", time.Hour))
	require.Equal(t, "d", claim("z", time.Hour))
	require.Equal(t, "", claim("z", time.Hour))
}

// BenchmarkClaim claims and releases one operation while n others are
// held by running workers: the claim's cost must not grow with n.
//
//	go test -run '^$' -bench Claim -count 6 ./provision/memstore/
func BenchmarkClaim(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run("running="+strconv.Itoa(n), func(b *testing.B) {
			s := memstore.New()
			ctx := context.Background()
			for i := range n {
				id := "held-" + strconv.Itoa(i)
				require.NoError(b, s.CreateOperation(ctx, &provision.Operation{ID: id, ServiceID: id, Kind: provision.OpOpen}))
				_, err := s.ClaimOperation(ctx, "busy", time.Hour)
				require.NoError(b, err)
			}
			require.NoError(b, s.CreateOperation(ctx, &provision.Operation{ID: "free", ServiceID: "free", Kind: provision.OpOpen}))
			for b.Loop() {
				op, err := s.ClaimOperation(ctx, "w", time.Hour)
				if err != nil || op.ID != "free" {
					b.Fatal(op, err)
				}
				if err := s.ReleaseLease(ctx, "free", "w", op.Attempts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
