package dcimanager5_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

// fast fake durations and client backoffs for tests.
var fastFake = []dcimanager5test.Option{
	dcimanager5test.WithPowerDuration(30 * time.Millisecond),
	dcimanager5test.WithInstallDuration(120 * time.Millisecond),
	dcimanager5test.WithConnectionDuration(20 * time.Millisecond),
}

func newEnv(t *testing.T, fopts []dcimanager5test.Option, copts ...dcimanager5.Option) (*dcimanager5test.Server, *dcimanager5.Client) {
	t.Helper()
	srv := dcimanager5test.NewServer(append(append([]dcimanager5test.Option{}, fastFake...), fopts...)...)
	srv.Strict(t)
	t.Cleanup(srv.Close)
	user, pass := srv.Admin()
	opts := []dcimanager5.Option{
		dcimanager5.WithCredentials(user, pass),
		dcimanager5.WithRetry(3, time.Millisecond, 5*time.Millisecond),
		dcimanager5.WithPollInterval(5*time.Millisecond, 20*time.Millisecond),
		dcimanager5.WithTimeout(5 * time.Second),
	}
	c, err := dcimanager5.NewClient(srv.URL(), append(opts, copts...)...)
	require.NoError(t, err)
	return srv, c
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func serverByName(t *testing.T, srv *dcimanager5test.Server, name string) dcimanager5test.ServerState {
	t.Helper()
	for _, s := range srv.Servers() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no server %s", name)
	return dcimanager5test.ServerState{}
}

func userID(t *testing.T, srv *dcimanager5test.Server, name string) int64 {
	t.Helper()
	for _, u := range srv.Users() {
		if u.Name == name {
			return u.ID
		}
	}
	t.Fatalf("no user %s", name)
	return 0
}

var contextDeadline = context.DeadlineExceeded
