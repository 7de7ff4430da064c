package mgr5fake_test

import (
	"context"
	"github.com/ispkit/ispkit/internal/fakekit"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/internal/mgr5fake"
)

func newPair(t *testing.T, mode mgr5.AuthMode) (*mgr5fake.Server, *mgr5.Client) {
	t.Helper()
	s := mgr5fake.New("/testmgr")
	s.AddAccount(mgr5fake.Account{Name: "admin", Password: "s3cret-pw", Level: mgr5fake.LevelAdmin})
	s.AddAccount(mgr5fake.Account{Name: "bob", Password: "bobpw-123", Level: mgr5fake.LevelUser})
	s.Handle("whoami", mgr5fake.AnyUser, func(c *mgr5fake.Ctx) (*mgr5.Node, error) {
		d := mgr5.NewDoc()
		d.Add("user", c.User.Name)
		return d, nil
	})
	s.Start()
	t.Cleanup(s.Close)
	c, err := mgr5.NewClient(mgr5.Config{Panel: "test", Endpoint: s.URL(), Credentials: mgr5.Credentials{Username: "admin", Password: "s3cret-pw"}, Mode: mode})
	require.NoError(t, err)
	return s, c
}

func TestSessionReloginAfterExpiry(t *testing.T) {
	t.Parallel()
	s, c := newPair(t, mgr5.AuthSession)
	ctx := context.Background()
	d, err := c.Call(ctx, mgr5.Request{Func: "whoami"})
	require.NoError(t, err)
	require.Equal(t, "admin", d.Text("user"))
	s.ExpireSessions()
	d, err = c.Call(ctx, mgr5.Request{Func: "whoami"})
	require.NoError(t, err)
	require.Equal(t, "admin", d.Text("user"))
	require.Equal(t, 2, s.CallCount("auth"))
}

func TestAsUserKeyExchange(t *testing.T) {
	t.Parallel()
	s, c := newPair(t, mgr5.AuthInfo)
	ctx := context.Background()
	u, err := c.AsUser(ctx, "bob")
	require.NoError(t, err)
	d, err := u.Call(ctx, mgr5.Request{Func: "whoami"})
	require.NoError(t, err)
	require.Equal(t, "bob", d.Text("user"))
	s.ExpireSessions()
	d, err = u.Call(ctx, mgr5.Request{Func: "whoami"})
	require.NoError(t, err)
	require.Equal(t, "bob", d.Text("user"))
	require.Equal(t, 2, s.CallCount("session.newkey"))
}

func TestBadPasswordIsAuthError(t *testing.T) {
	t.Parallel()
	s, _ := newPair(t, mgr5.AuthInfo)
	c, err := mgr5.NewClient(mgr5.Config{Endpoint: s.URL(), Credentials: mgr5.Credentials{Username: "admin", Password: "wrong-password"}})
	require.NoError(t, err)
	_, err = c.Call(context.Background(), mgr5.Request{Func: "whoami"})
	require.True(t, mgr5.IsAuth(err), "%v", err)
	require.NotContains(t, err.Error(), "wrong-password")
}

func TestDelayFaultHonoursDeadline(t *testing.T) {
	t.Parallel()
	s, c := newPair(t, mgr5.AuthInfo)
	// The answer is held 5 s: a call that fails with the 100 ms deadline
	// was ended by it, not by the answer (no stopwatch needed).
	s.Inject(mgr5fake.Fault{Kind: fakekit.FaultSlow, Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Call(ctx, mgr5.Request{Func: "whoami"})
	require.Error(t, err)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}
