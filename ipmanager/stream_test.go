package ipmanager_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
)

// All yields what List returns for every filter, reading the answer row by
// row; refused options are yielded as the one error, before anything is
// sent.
func TestAllMatchesList(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, []ipmanagertest.Option{
		ipmanagertest.WithGroup("public", "192.0.2.1-192.0.2.5", "2001:db8::/120"),
		ipmanagertest.WithParkingGroup("parking", "10.0.0.0/29"),
	})
	ctx := context.Background()
	for _, r := range []ipmanager.AllocateRequest{
		{Group: "public", Domain: "a.example.com"},
		{Group: "public", Family: ipmanager.IPv6, Domain: "b.example.com"},
		{Group: "parking", Domain: "a.example.com"},
	} {
		_, err := c.Allocate(ctx, r)
		require.NoError(t, err)
	}
	for _, opts := range []ipmanager.ListOptions{
		{},
		{Group: "public"},
		{Domain: "A.example.com"},
		{Family: ipmanager.IPv6},
		{Group: "parking", State: ipmanager.StateAll},
		{Group: "public", State: ipmanager.StateFree},
	} {
		want, err := c.List(ctx, opts)
		require.NoError(t, err)
		var got []ipmanager.Address
		for a, err := range c.All(ctx, opts) {
			require.NoError(t, err)
			got = append(got, a)
		}
		require.NotEmpty(t, want, "%+v", opts)
		assert.Equal(t, want, got, "%+v", opts)
	}

	before := len(srv.Calls())
	n := 0
	for _, err := range c.All(ctx, ipmanager.ListOptions{State: "busy"}) {
		n++
		assert.ErrorIs(t, err, ipmanager.ErrInvalidArgument)
	}
	assert.Equal(t, 1, n)
	assert.Len(t, srv.Calls(), before, "nothing sent")

	// Breaking out early is allowed.
	n = 0
	for range c.All(ctx, ipmanager.ListOptions{Group: "parking", State: ipmanager.StateAll}) {
		if n++; n == 2 {
			break
		}
	}
	assert.Equal(t, 2, n)
}
