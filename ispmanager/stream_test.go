package ispmanager_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

func TestUsersAllMatchesList(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	for i := range 5 {
		_, err := c.Users.Create(ctx, createReq(fmt.Sprintf("stream%d", i)))
		require.NoError(t, err)
	}
	want, err := c.Users.List(ctx)
	require.NoError(t, err)
	var got []ispmanager.User
	for u, err := range c.Users.All(ctx) {
		require.NoError(t, err)
		got = append(got, u)
	}
	require.GreaterOrEqual(t, len(want), 5)
	assert.Equal(t, want, got)

	// A panel error arrives once, as the last pair.
	srv.Inject(ispmanagertest.Fault{Match: "user", Kind: ispmanagertest.FaultPanelError,
		Err: &ispmanagertest.PanelError{Type: "access"}})
	n := 0
	for u, err := range c.Users.All(ctx) {
		n++
		assert.Zero(t, u)
		assert.True(t, ispmanager.IsAccess(err), "%v", err)
	}
	assert.Equal(t, 1, n)
}
