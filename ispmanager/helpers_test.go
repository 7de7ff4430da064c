package ispmanager_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

// newEnv starts a fake panel and a client for it with fast retries.
func newEnv(t *testing.T, fopts []ispmanagertest.Option, copts ...ispmanager.Option) (*ispmanagertest.Server, *ispmanager.Client) {
	t.Helper()
	srv := ispmanagertest.NewServer(fopts...)
	srv.Strict(t)
	t.Cleanup(srv.Close)
	admin, pw := srv.Admin()
	opts := append([]ispmanager.Option{
		ispmanager.WithCredentials(admin, pw),
		ispmanager.WithRetry(3, time.Millisecond, 5*time.Millisecond),
		ispmanager.WithTimeout(10 * time.Second),
	}, copts...)
	c, err := ispmanager.NewClient(srv.URL(), opts...)
	require.NoError(t, err)
	return srv, c
}

func createReq(name string) *ispmanager.UserCreateRequest {
	return &ispmanager.UserCreateRequest{Name: name, Password: "Secr3t-" + name + "-pw"}
}
