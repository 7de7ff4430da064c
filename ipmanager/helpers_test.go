package ipmanager_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
)

// newEnv starts a fake panel and a client logged in as the default user,
// with fast retries.
func newEnv(t *testing.T, srvOpts []ipmanagertest.Option, opts ...ipmanager.Option) (*ipmanagertest.Server, *ipmanager.Client) {
	t.Helper()
	s := ipmanagertest.NewServer(srvOpts...)
	s.Strict(t)
	t.Cleanup(s.Close)
	all := append([]ipmanager.Option{
		ipmanager.WithCredentials(ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword),
		ipmanager.WithRetry(3, time.Millisecond, 5*time.Millisecond),
	}, opts...)
	c, err := ipmanager.NewClient(s.URL(), all...)
	require.NoError(t, err)
	return s, c
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }
