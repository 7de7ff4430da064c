package provision_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
)

func TestCompleteManualTask(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	e := v.engine("w1")
	ctx := context.Background()
	op, err := e.Open(ctx, provision.OpenRequest{ServiceID: "5", TariffID: tariffColo, Owner: "x"})
	require.NoError(t, err)
	require.Len(t, v.eventsOf(provision.EventManualTask), 1)
	require.Equal(t, billing.StatusProcessing, v.service("5").Status)
	require.Empty(t, v.eventsOf(provision.EventWelcome))

	_, err = e.CompleteManualTask(ctx, "5", map[string]string{provision.PropManualTask: "x"})
	require.ErrorIs(t, err, provision.ErrInvalidRequest)

	svc, err := e.CompleteManualTask(ctx, "5", map[string]string{"rack": "R12-U7", provision.PropIP: "198.51.100.7"})
	require.NoError(t, err)
	assert.Equal(t, billing.StatusActive, svc.Status)
	assert.Equal(t, "R12-U7", svc.Properties["rack"])
	assert.Empty(t, svc.Properties[provision.PropManualTask])
	assert.NotEmpty(t, svc.Properties[provision.PropActivatedAt])
	assert.Equal(t, "dc1", svc.Module)
	assert.Equal(t, svc.Status, v.service("5").Status, "stored")
	welcome := v.eventsOf(provision.EventWelcome)
	require.Len(t, welcome, 1)
	assert.Equal(t, "5", welcome[0].ServiceID)
	assert.Equal(t, "198.51.100.7", welcome[0].Properties[provision.PropIP])

	got, err := v.store.GetOperation(ctx, op.ID)
	require.NoError(t, err)
	assert.Equal(t, provision.StateDone, got.State)
	st, err := provision.DecodeData(got)
	require.NoError(t, err)
	assert.Equal(t, "completed", st.(*provision.ColocationState).ManualResult)

	// Done once: a second call has no task to complete.
	_, err = e.CompleteManualTask(ctx, "5", nil)
	require.ErrorIs(t, err, provision.ErrServiceState)
	require.ErrorIs(t, err, provision.ErrNoManualTask)
	_, err = e.FailManualTask(ctx, "5", "late")
	require.ErrorIs(t, err, provision.ErrNoManualTask)

	// A colocation Suspend is a manual task too; completing it suspends.
	_, err = e.Suspend(ctx, provision.SuspendRequest{ServiceID: "5"})
	require.NoError(t, err)
	svc, err = e.CompleteManualTask(ctx, "5", nil)
	require.NoError(t, err)
	assert.Equal(t, billing.StatusSuspended, svc.Status)
	assert.Len(t, v.eventsOf(provision.EventWelcome), 1, "welcome only on the first activation")
}

func TestCompleteManualTaskCustomConfig(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	e := v.engine("w1")
	ctx := context.Background()
	_, err := e.Open(ctx, openReq("6", tariffCustom))
	require.NoError(t, err)
	svc, err := e.CompleteManualTask(ctx, "6", map[string]string{provision.PropServerID: "77", provision.PropIP: "198.51.100.9"})
	require.NoError(t, err)
	assert.Equal(t, billing.StatusActive, svc.Status)
	assert.Equal(t, "dc-custom", svc.Module)
	assert.Equal(t, "77", svc.Properties[provision.PropServerID])
	assert.Len(t, v.eventsOf(provision.EventWelcome), 1)
}

func TestFailManualTask(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	e := v.engine("w1")
	ctx := context.Background()
	op, err := e.Open(ctx, provision.OpenRequest{ServiceID: "5", TariffID: tariffColo, Owner: "x"})
	require.NoError(t, err)

	_, err = e.FailManualTask(ctx, "5", "")
	require.ErrorIs(t, err, provision.ErrInvalidRequest)

	svc, err := e.FailManualTask(ctx, "5", "no rack space")
	require.NoError(t, err)
	assert.Equal(t, billing.StatusOrdered, svc.Status)
	assert.Equal(t, "no rack space", svc.Error)
	assert.Empty(t, svc.Properties[provision.PropManualTask])
	assert.Empty(t, v.eventsOf(provision.EventWelcome))

	got, err := v.store.GetOperation(ctx, op.ID)
	require.NoError(t, err)
	assert.Equal(t, provision.StateFailed, got.State)
	assert.Equal(t, "no rack space", got.Error)
	failed := v.eventsOf(provision.EventOperationFailed)
	require.Len(t, failed, 1)
	assert.Equal(t, op.ID, failed[0].OperationID)

	_, err = e.CompleteManualTask(ctx, "5", nil)
	require.ErrorIs(t, err, provision.ErrServiceState)

	// Pending again: it can be ordered again, and that raises a new task.
	_, err = e.Open(ctx, provision.OpenRequest{ServiceID: "5", TariffID: tariffColo, Owner: "x"})
	require.NoError(t, err)
	svc, err = e.CompleteManualTask(ctx, "5", nil)
	require.NoError(t, err)
	assert.Equal(t, billing.StatusActive, svc.Status)
}

func TestManualTaskWithoutTask(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 2)
	e := v.engine("w1")
	ctx := context.Background()
	_, err := e.Open(ctx, openReq("1", tariffDedic))
	require.NoError(t, err)

	_, err = e.CompleteManualTask(ctx, "1", map[string]string{"a": "b"})
	require.ErrorIs(t, err, provision.ErrServiceState)
	_, err = e.FailManualTask(ctx, "1", "nope")
	require.ErrorIs(t, err, provision.ErrServiceState)
	assert.Equal(t, billing.StatusActive, v.service("1").Status)

	_, err = e.CompleteManualTask(ctx, "missing", nil)
	require.True(t, errors.Is(err, provision.ErrNotFound), "%v", err)
	_, err = e.FailManualTask(ctx, "", "x")
	require.ErrorIs(t, err, provision.ErrInvalidRequest)
}
