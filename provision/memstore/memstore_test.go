package memstore_test

import (
	"context"
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

// TestLeaseClock expires a lease by moving the injected clock.
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
	op, err = s.ClaimOperation(ctx, "w2", time.Minute)
	require.NoError(t, err)
	require.Equal(t, "w2", op.Worker)
	require.Equal(t, 2, op.Attempts)
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
