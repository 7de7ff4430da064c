package dcimanager5_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

func TestUsersSetPassword(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := ctxT(t)
	id := userID(t, srv, "client1")

	login := func(pw string, copts ...dcimanager5.Option) *dcimanager5.Client {
		uc, err := dcimanager5.NewClient(srv.URL(), append([]dcimanager5.Option{dcimanager5.WithCredentials("client1", pw)}, copts...)...)
		require.NoError(t, err)
		return uc
	}
	oldPW := "client1-secret-pw"
	require.NoError(t, login(oldPW).CheckConnection(ctx), "seed password works before the change")

	const newPW = "New-client1-pw-9"
	require.NoError(t, c.Users.SetPassword(ctx, id, newPW))
	assert.Equal(t, 1, srv.RequestCount("user.edit"))

	// authinfo with the new password.
	who, err := login(newPW).WhoAmI(ctx)
	require.NoError(t, err)
	assert.Equal(t, &dcimanager5.Identity{Name: "client1", Level: dcimanager5.LevelUser}, who, "name and level unchanged")
	// func=auth session login with the new password.
	require.NoError(t, login(newPW, dcimanager5.WithSessionAuth()).CheckConnection(ctx))
	// The old password no longer works, either way.
	err = login(oldPW).CheckConnection(ctx)
	assert.True(t, dcimanager5.IsAuth(err), "%v", err)
	_, err = login(oldPW, dcimanager5.WithSessionAuth()).WhoAmI(ctx)
	assert.True(t, dcimanager5.IsAuth(err), "%v", err)

	// Setting the same password again is harmless.
	require.NoError(t, c.Users.SetPassword(ctx, id, newPW))
	require.NoError(t, login(newPW).CheckConnection(ctx))

	// The user list is unchanged: no user was created by the edit.
	users, err := c.Users.List(ctx)
	require.NoError(t, err)
	assert.Len(t, users, 2)

	// An unknown user.
	err = c.Users.SetPassword(ctx, 999, "Whatever-pw-1")
	assert.True(t, dcimanager5.IsNotFound(err), "%v", err)
	assert.NotContains(t, err.Error(), "Whatever-pw-1")

	// An end user cannot change passwords.
	err = login(newPW).Users.SetPassword(ctx, id, "Another-pw-2")
	assert.True(t, dcimanager5.IsAccess(err), "%v", err)
	require.NoError(t, login(newPW).CheckConnection(ctx))
}

func TestUsersSetPasswordIsRetried(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := ctxT(t)
	id := userID(t, srv, "client1")
	srv.Inject(dcimanager5test.Fault{Match: "user.edit", Kind: dcimanager5test.FaultStatus, Status: http.StatusBadGateway, Times: 1})
	require.NoError(t, c.Users.SetPassword(ctx, id, "Retried-pw-3"), "an idempotent write is retried after a 502")
	assert.Equal(t, 2, srv.RequestCount("user.edit"))
	uc, err := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials("client1", "Retried-pw-3"))
	require.NoError(t, err)
	require.NoError(t, uc.CheckConnection(ctx))
}

func TestUsersSetPasswordValidationSendsNothing(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := ctxT(t)
	for _, tc := range []struct {
		id  int64
		pw  string
		arg string
	}{
		{0, "Good-pw-1", "userID"},
		{-3, "Good-pw-1", "userID"},
		{2, "", "password"},
	} {
		err := c.Users.SetPassword(ctx, tc.id, tc.pw)
		var ae *dcimanager5.ArgumentError
		require.ErrorAs(t, err, &ae, "%+v", tc)
		assert.Equal(t, "Users.SetPassword", ae.Op)
		assert.Equal(t, tc.arg, ae.Arg)
		assert.ErrorIs(t, err, dcimanager5.ErrInvalidArgument)
	}
	assert.Zero(t, srv.RequestCount("user.edit"))
	assert.Empty(t, srv.Calls(), "no call at all")
}
