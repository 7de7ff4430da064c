package dcimanager6_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
)

// newEnv starts a fake with fast operations and a client with fast
// retries and polls.
func newEnv(t *testing.T, fopts []dcimanager6test.Option, copts ...dcimanager6.Option) (*dcimanager6test.Server, *dcimanager6.Client) {
	t.Helper()
	fopts = append([]dcimanager6test.Option{dcimanager6test.WithDurations(60*time.Millisecond, 15*time.Millisecond)}, fopts...)
	f := dcimanager6test.NewServer(fopts...)
	f.Strict(t)
	t.Cleanup(f.Close)
	opts := append([]dcimanager6.Option{
		dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword),
		dcimanager6.WithRetry(10, time.Millisecond, 5*time.Millisecond),
		dcimanager6.WithPollInterval(2*time.Millisecond, 10*time.Millisecond),
		dcimanager6.WithTimeout(5 * time.Second),
	}, copts...)
	c, err := dcimanager6.NewClient(f.URL(), opts...)
	require.NoError(t, err)
	return f, c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func collect[T any](t *testing.T, seq func(func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}
