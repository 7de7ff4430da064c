package dci5_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/provision"
)

// TestChangePasswordThroughFake opens a dedicated server through the engine,
// then changes the owner's password: the fake's user logs in with the new
// password (authinfo and func=auth) and no longer with the old one.
func TestChangePasswordThroughFake(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1)
	e := w.engine("A", 1)
	ctx := context.Background()

	_, err := e.Open(ctx, provision.OpenRequest{ServiceID: "501", TariffID: 1, Owner: "pw.owner", Password: "Open-pw-1"})
	require.NoError(t, err)
	svc, err := e.Store().GetService(ctx, "501")
	require.NoError(t, err)
	require.Equal(t, billing.StatusActive, svc.Status)
	login := svc.Properties[provision.PropLogin]
	require.NotEmpty(t, login)
	uid, err := strconv.ParseInt(svc.Properties[provision.PropUserID], 10, 64)
	require.NoError(t, err)
	sid, err := strconv.ParseInt(svc.Properties[provision.PropServerID], 10, 64)
	require.NoError(t, err)
	st, ok := w.srv.Server(sid)
	require.True(t, ok)
	require.Equal(t, uid, st.Owner, "the user whose password changes owns the server")

	as := func(pw string, opts ...dcimanager5.Option) error {
		c, err := dcimanager5.NewClient(w.srv.URL(), append([]dcimanager5.Option{dcimanager5.WithCredentials(login, pw)}, opts...)...)
		require.NoError(t, err)
		return c.CheckConnection(ctx)
	}
	require.NoError(t, as("Open-pw-1"), "the password given at Open works")

	before := w.srv.RequestCount("user.edit")
	op, err := e.ChangePassword(ctx, provision.ChangePasswordRequest{ServiceID: "501", Password: "Changed-pw-2"})
	require.NoError(t, err)
	assert.Equal(t, provision.OpChangePassword, op.Kind)
	assert.Equal(t, before+1, w.srv.RequestCount("user.edit"), "one user.edit for the change")

	require.NoError(t, as("Changed-pw-2"))
	require.NoError(t, as("Changed-pw-2", dcimanager5.WithSessionAuth()))
	err = as("Open-pw-1")
	assert.True(t, dcimanager5.IsAuth(err), "%v", err)

	// The owner, as an end user, sees its server with the new password.
	c, err := dcimanager5.NewClient(w.srv.URL(), dcimanager5.WithCredentials(login, "Changed-pw-2"))
	require.NoError(t, err)
	mine, err := c.Servers.List(ctx)
	require.NoError(t, err)
	require.Len(t, mine, 1)
	assert.Equal(t, sid, mine[0].ID)

	svc, err = e.Store().GetService(ctx, "501")
	require.NoError(t, err)
	assert.Equal(t, billing.StatusActive, svc.Status, "a password change keeps the service active")
	assert.Equal(t, 1, w.check())
}
