package provision_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
)

// TestColocationPorts: once staff name the customer's server in
// DCImanager, Suspend and Unsuspend switch its ports through the panel
// without a manual task; a colocation service without a server in the
// panel still gets a manual task.
func TestColocationPorts(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 2)
	e := v.engine("w1")
	ctx := context.Background()
	srv := v.dc.State()[0].ID
	require.NoError(t, v.dc.SetPorts(ctx, srv, true))

	_, err := e.Open(ctx, openReq("61", tariffColo))
	require.NoError(t, err)
	_, err = e.CompleteManualTask(ctx, "61", map[string]string{provision.PropServerID: srv, "rack": "R3-U12"})
	require.NoError(t, err)
	require.Equal(t, billing.StatusActive, v.service("61").Status)
	tasks := len(v.eventsOf(provision.EventManualTask))

	_, err = e.Suspend(ctx, provision.SuspendRequest{ServiceID: "61"})
	require.NoError(t, err)
	assert.Equal(t, billing.StatusSuspended, v.service("61").Status, "suspended by the panel, not waiting for staff")
	assert.False(t, v.dc.Server(srv).PortsOn)
	_, err = e.Unsuspend(ctx, provision.UnsuspendRequest{ServiceID: "61"})
	require.NoError(t, err)
	assert.Equal(t, billing.StatusActive, v.service("61").Status)
	assert.True(t, v.dc.Server(srv).PortsOn)
	assert.Len(t, v.eventsOf(provision.EventManualTask), tasks, "no manual task for a server in the panel")
	assert.Empty(t, v.service("61").Properties[provision.PropManualTask])

	// No server in DCImanager: the department does it.
	_, err = e.Open(ctx, openReq("62", tariffColo))
	require.NoError(t, err)
	_, err = e.CompleteManualTask(ctx, "62", map[string]string{"rack": "R3-U13"})
	require.NoError(t, err)
	_, err = e.Suspend(ctx, provision.SuspendRequest{ServiceID: "62"})
	require.NoError(t, err)
	assert.Equal(t, billing.StatusActive, v.service("62").Status, "waits for staff")
	assert.Contains(t, v.service("62").Properties[provision.PropManualTask], "suspend")
	assert.True(t, v.dc.Server(srv).PortsOn, "the other service's server is not touched")
	_, err = e.CompleteManualTask(ctx, "62", nil)
	require.NoError(t, err)
	assert.Equal(t, billing.StatusSuspended, v.service("62").Status)
}
