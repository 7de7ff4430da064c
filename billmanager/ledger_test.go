package billmanager

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billmanager/billmanagertest"
)

// Every request the client makes uses only the functions and parameters of
// its ledger (ledger.go), where each has a source or is marked assumed.
func TestClientSendsOnlyWhatTheLedgerLists(t *testing.T) {
	t.Parallel()
	fake := billmanagertest.NewServer(billmanagertest.WithLicense(billmanagertest.License{
		Name: freeName, IP: netip.IPv4Unspecified(), Pricelist: 55227, Status: billmanagertest.StatusSuspended}))
	t.Cleanup(fake.Close)
	c, err := NewClient(fake.URL(), WithCredentials(billmanagertest.DefaultUser, billmanagertest.DefaultPassword),
		WithRetry(1, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	ctx := context.Background()
	ip := netip.MustParseAddr("198.51.100.7")

	// Every client call, every optional parameter.
	l, err := c.Order(ctx, OrderRequest{Pricelist: 55228, Period: 12, IP: ip, Name: LicenseName("1", "s"),
		AutoProlong: 12, RemoteID: "ispkit-1", Project: 1})
	require.NoError(t, err)
	_, err = c.Get(ctx, l.ID)
	require.NoError(t, err)
	_, err = c.Find(ctx, LicenseName("1", "s"), ip)
	require.NoError(t, err)
	pool, err := c.Pool(ctx, 55227)
	require.NoError(t, err)
	require.Len(t, pool, 1)
	require.NoError(t, c.Edit(ctx, pool[0].ID, LicenseName("2", "t"), ip))
	_, err = c.NewKey(ctx, pool[0].ID)
	require.NoError(t, err)
	require.NoError(t, c.Suspend(ctx, l.ID))
	require.NoError(t, c.Resume(ctx, l.ID))
	_, err = c.Prolong(ctx, l.ID, 1)
	require.NoError(t, err)
	require.NoError(t, c.Close(ctx, l.ID))
	require.NoError(t, c.CheckConnection(ctx))

	seen := map[string]bool{}
	for _, r := range fake.Requests() {
		allowed, ok := ledger[r.Func]
		if !assert.True(t, ok, "function %s is not in the ledger", r.Func) {
			continue
		}
		seen[r.Func] = true
		for k := range r.Params {
			assert.True(t, slices.Contains(protocolParams, k) || slices.Contains(allowed, k),
				"%s sent parameter %s, which the ledger does not list", r.Func, k)
		}
	}
	for fn := range ledger {
		if fn != fnAuth { // func=auth is answered by the fake's core
			assert.True(t, seen[fn], "ledger function %s was not exercised", fn)
		}
	}
}
