package fakebackend_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/fakebackend"
)

// A dump read back gives the same fakes, with the same clocks: an install
// due at T is still running before T and finished at T.
func TestDumpRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	dc := fakebackend.NewDC()
	dc.Clock = clock
	dc.InstallDelay = time.Minute
	ids := dc.AddServers(2, "X", nil)
	require.NoError(t, dc.PowerOn(ctx, ids[0]))
	require.NoError(t, dc.Install(ctx, ids[0], provision.InstallSpec{Template: "t", Password: "p"}))
	_, err := dc.CreateUser(ctx, "ann", "pw")
	require.NoError(t, err)
	pool := fakebackend.NewPool()
	pool.AddRange("public", "203.0.113.1", "203.0.113.2")
	ip, err := pool.Allocate(ctx, "ipv4", "public", "a.example", "op/1")
	require.NoError(t, err)
	host := fakebackend.NewHosting()
	host.AddPreset("basic", map[string]string{"limit_db": "1"})
	require.NoError(t, host.CreateUser(ctx, provision.HostingAccount{Name: "ann", Preset: "basic"}))

	b, err := json.Marshal(map[string]any{"dc": dc, "pool": pool, "isp": host})
	require.NoError(t, err)
	var back struct {
		DC   *fakebackend.DC      `json:"dc"`
		Pool *fakebackend.Pool    `json:"pool"`
		ISP  *fakebackend.Hosting `json:"isp"`
	}
	require.NoError(t, json.Unmarshal(b, &back))
	back.DC.Clock = clock
	assert.Equal(t, dc.State(), back.DC.State())
	assert.Equal(t, dc.UserID("ann"), back.DC.UserID("ann"))
	st, err := back.DC.InstallStatus(ctx, ids[0])
	require.NoError(t, err)
	assert.True(t, st.Running)
	now = now.Add(time.Minute)
	st, err = back.DC.InstallStatus(ctx, ids[0])
	require.NoError(t, err)
	assert.False(t, st.Running, "finished at the time recorded in the dump")

	found, err := back.Pool.FindByNote(ctx, "op/1")
	require.NoError(t, err)
	assert.Equal(t, []string{ip}, found)
	next, err := back.Pool.Allocate(ctx, "ipv4", "public", "", "op/2")
	require.NoError(t, err)
	assert.Equal(t, "203.0.113.2", next)
	a, ok := back.ISP.User("ann")
	require.True(t, ok)
	assert.Equal(t, "basic", a.Preset)
}
