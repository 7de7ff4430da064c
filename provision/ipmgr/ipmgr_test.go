package ipmgr_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/provision/ipmgr"
)

// TestPoolThroughFake exercises the adapter against the IPmanager fake:
// allocation with a note, finding it again (what the engine does after a
// crash), idempotent release, and a parking allocation.
func TestPoolThroughFake(t *testing.T) {
	t.Parallel()
	srv := ipmanagertest.NewServer()
	srv.Strict(t)
	t.Cleanup(srv.Close)
	c, err := ipmanager.NewClient(srv.URL(), ipmanager.WithCredentials(ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword))
	require.NoError(t, err)
	p := ipmgr.New(c)
	ctx := context.Background()

	ip, err := p.Allocate(ctx, "ipv4", "public", "s1.example.net", "op-1/7/main")
	require.NoError(t, err)
	a, ok := srv.Address(netip.MustParseAddr(ip))
	require.True(t, ok)
	assert.Equal(t, "public", a.Group)
	assert.Equal(t, "op-1/7/main", a.Note)

	found, err := p.FindByNote(ctx, "op-1/7/main")
	require.NoError(t, err)
	assert.Equal(t, []string{ip}, found)
	found, err = p.FindByNote(ctx, "op-2/7/main")
	require.NoError(t, err)
	assert.Empty(t, found)

	v6, err := p.Allocate(ctx, "ipv6", "public", "s1.example.net", "op-1/7/ipv6/0")
	require.NoError(t, err)
	assert.Contains(t, v6, ":")

	park, err := p.Allocate(ctx, "ipv4", "parking", "free.ds", "op-1/7/parking")
	require.NoError(t, err)
	assert.True(t, netip.MustParsePrefix("10.255.0.0/24").Contains(netip.MustParseAddr(park)))

	require.NoError(t, p.Release(ctx, ip))
	require.NoError(t, p.Release(ctx, ip), "releasing twice is not an error")
	_, ok = srv.Address(netip.MustParseAddr(ip))
	assert.False(t, ok)
	require.Error(t, p.Release(ctx, "not-an-ip"))
	require.NoError(t, p.ChangeGroup(ctx, park, "public"))
}
