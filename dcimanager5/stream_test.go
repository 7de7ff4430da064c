package dcimanager5_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

func collect[T any](t *testing.T, seq func(func(T, error) bool)) ([]T, error) {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// All yields what List returns, in the same order, for servers and users,
// in both shapes a panel may give a list.
func TestAllMatchesList(t *testing.T) {
	t.Parallel()
	for _, output := range []string{"json", "sjson"} {
		t.Run(output, func(t *testing.T) {
			t.Parallel()
			_, c := newEnv(t, []dcimanager5test.Option{dcimanager5test.WithOutput(output)})
			ctx := ctxT(t)
			list, err := c.Servers.List(ctx)
			require.NoError(t, err)
			all, err := collect(t, c.Servers.All(ctx))
			require.NoError(t, err)
			require.NotEmpty(t, list)
			assert.Equal(t, list, all)

			users, err := c.Users.List(ctx)
			require.NoError(t, err)
			allUsers, err := collect(t, c.Users.All(ctx))
			require.NoError(t, err)
			require.NotEmpty(t, users)
			assert.Equal(t, users, allUsers)
		})
	}
}

func TestAllStopsAndFails(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil, dcimanager5.WithSessionAuth())
	ctx := ctxT(t)

	// Breaking out after two rows is allowed and ends the reading.
	n := 0
	for s, err := range c.Servers.All(ctx) {
		require.NoError(t, err)
		assert.NotZero(t, s.ID)
		if n++; n == 2 {
			break
		}
	}
	assert.Equal(t, 2, n)

	// A panel error is yielded once, as the last pair.
	srv.Inject(dcimanager5test.Fault{Match: "server", Kind: dcimanager5test.FaultPanelError,
		Err: &dcimanager5test.PanelError{Type: "access"}})
	got, err := collect(t, c.Servers.All(ctx))
	assert.Empty(t, got)
	assert.True(t, dcimanager5.IsAccess(err), "%v", err)

	// An expired session is renewed and the list read whole.
	srv.Inject(dcimanager5test.Fault{Match: "user", Kind: dcimanager5test.FaultExpiredSession})
	users, err := collect(t, c.Users.All(ctx))
	require.NoError(t, err)
	assert.NotEmpty(t, users)

	// A body that is not a document is a ProtocolError.
	srv.Inject(dcimanager5test.Fault{Match: "server", Kind: dcimanager5test.FaultMalformed})
	_, err = collect(t, c.Servers.All(ctx))
	assert.ErrorAs(t, err, new(*dcimanager5.ProtocolError))
}

// The size cap applies to All: an answer longer than WithMaxResponseSize
// stops with ResponseTooLargeError.
func TestAllSizeCap(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, nil, dcimanager5.WithMaxResponseSize(200))
	_, err := collect(t, c.Servers.All(ctxT(t)))
	var big *dcimanager5.ResponseTooLargeError
	require.ErrorAs(t, err, &big)
	assert.EqualValues(t, 200, big.Limit)
}
