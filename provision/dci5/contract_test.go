package dci5_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/provision/backendtest"
	"github.com/ispkit/ispkit/provision/dci5"
)

// TestDedicatedContract runs the backend contract over the DCImanager 5
// fake (HTTP).
func TestDedicatedContract(t *testing.T) {
	backendtest.RunDedicated(t, func(t *testing.T) backendtest.Dedicated {
		srv := dcimanager5test.NewServer(dcimanager5test.WithoutSeed(),
			dcimanager5test.WithPowerDuration(time.Millisecond),
			dcimanager5test.WithInstallDuration(time.Hour),
			dcimanager5test.WithConnectionDuration(0))
		srv.Strict(t)
		t.Cleanup(srv.Close)
		require.NoError(t, srv.AddPool("parking", "ipv4", "10.10.0.0/24"))
		require.NoError(t, srv.AddPool("public", "ipv4", "203.0.113.0/24"))
		srv.AddOSTemplate("ISPsystem", "Debian-12-x86_64", "linux")
		var ids []string
		for i := range 2 {
			id, err := srv.AddServer(dcimanager5test.ServerSpec{Name: fmt.Sprintf("c%02d", i+1), ChassisTemplate: "C1", Type: "1U"})
			require.NoError(t, err)
			ids = append(ids, strconv.FormatInt(id, 10))
		}
		admin, pw := srv.Admin()
		c, err := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials(admin, pw))
		require.NoError(t, err)
		return backendtest.Dedicated{Backend: dci5.New(c, admin), Servers: ids, Config: "C1",
			OSTemplate: "ISPsystem__Debian-12-x86_64", IPGroup: "public"}
	})
}
