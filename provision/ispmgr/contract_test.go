package ispmgr_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
	"github.com/ispkit/ispkit/provision/backendtest"
	"github.com/ispkit/ispkit/provision/ispmgr"
)

// TestHostingContract runs the hosting contract over the ISPmanager fake
// (HTTP).
func TestHostingContract(t *testing.T) {
	backendtest.RunHosting(t, func(t *testing.T) backendtest.Hosting {
		srv := ispmanagertest.NewServer(ispmanagertest.WithPreset("basic", ispmanager.Limits{Databases: ispmanager.Int(25)}))
		srv.Strict(t)
		t.Cleanup(srv.Close)
		admin, pw := srv.Admin()
		c, err := ispmanager.NewClient(srv.URL(), ispmanager.WithCredentials(admin, pw))
		require.NoError(t, err)
		return backendtest.Hosting{Backend: ispmgr.New(c), Preset: "basic"}
	})
}
