package ipmanager_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
)

// Whether a panel sends a one-row list as an object or as a one-item
// array is not settled by any public source: the client reads both.
func TestOneRowListsInBothShapes(t *testing.T) {
	t.Parallel()
	for _, arrays := range []bool{false, true} {
		s, c := newEnv(t, []ipmanagertest.Option{ipmanagertest.WithGroup("solo", "192.0.2.10")})
		s.SetOneRowArray(arrays)
		ctx := context.Background()
		a, err := c.Allocate(ctx, ipmanager.AllocateRequest{Family: ipmanager.IPv4, Group: "solo", Domain: "one.example.com", Note: "n1"})
		require.NoError(t, err, "arrays=%v", arrays)
		found, err := c.FindByDomainNote(ctx, "one.example.com", "n1")
		require.NoError(t, err)
		require.Len(t, found, 1, "arrays=%v", arrays)
		assert.Equal(t, a.IP, found[0].IP)
		got, err := c.Get(ctx, a.IP)
		require.NoError(t, err)
		assert.Equal(t, "one.example.com", got.Domain)
	}
}
