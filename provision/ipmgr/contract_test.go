package ipmgr_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/provision/backendtest"
	"github.com/ispkit/ispkit/provision/ipmgr"
)

// TestIPPoolContract runs the pool contract over the IPmanager fake (HTTP).
func TestIPPoolContract(t *testing.T) {
	backendtest.RunIPPool(t, func(t *testing.T) backendtest.IPPool {
		srv := ipmanagertest.NewServer()
		srv.Strict(t)
		t.Cleanup(srv.Close)
		c, err := ipmanager.NewClient(srv.URL(), ipmanager.WithCredentials(ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword))
		require.NoError(t, err)
		return backendtest.IPPool{Pool: ipmgr.New(c), Group: "public"}
	})
}
