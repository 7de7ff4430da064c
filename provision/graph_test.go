package provision_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
)

// A step that goes where its graph does not lead is refused: the
// operation fails, and the reserved server is released — by the product's
// fail route (Suspend of the test product) or, without one, by the
// runner itself (Unsuspend).
func TestUndeclaredTransitionRefused(t *testing.T) {
	t.Parallel()
	for _, req := range []provision.Request{
		provision.SuspendRequest{ServiceID: "t1", OperationID: "suspend-t1"},
		provision.UnsuspendRequest{ServiceID: "t1", OperationID: "unsuspend-t1"},
	} {
		t.Run(string(req.Kind()), func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, 0)
			ctx := context.Background()
			require.NoError(t, v.store.PutService(ctx, &provision.Service{ID: "t1", Kind: provision.KindTest, Status: billing.StatusActive, Properties: map[string]string{}}))
			e := v.engine("w")
			op, err := e.Do(ctx, req)
			require.ErrorIs(t, err, provision.ErrOperationFailed)
			assert.Equal(t, provision.StateFailed, op.State)
			assert.Contains(t, op.Error, "step work went to nowhere, which its graph does not declare")
			res, err := v.store.Reservations(ctx, provision.TestBackend)
			require.NoError(t, err)
			assert.Empty(t, res, "the reservation is released")
			var steps []string
			for _, ev := range v.eventsOf(provision.EventStepStarted) {
				steps = append(steps, ev.Step)
			}
			if req.Kind() == provision.OpSuspend {
				assert.Equal(t, []string{"start", "work", "release", "fail"}, steps)
			} else {
				assert.Equal(t, []string{"start", "work", "fail"}, steps)
			}
			assert.Equal(t, "step work went to nowhere, which its graph does not declare", v.service("t1").Error)
		})
	}
}

func TestGraphDeclarationChecked(t *testing.T) {
	t.Parallel()
	assert.Contains(t, provision.ProductGraphPanic(), `step "start" goes to undeclared "nowhere"`)
}

// A record this release cannot read fails its operation; one written by
// a newer release is left to that release.
func TestUnreadableRecords(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	ctx := context.Background()
	e := v.engine("w")
	_, err := e.Open(ctx, openReq("1", tariffDedic))
	require.NoError(t, err)
	require.NoError(t, v.store.CreateOperation(ctx, &provision.Operation{ID: "bad", ServiceID: "1", Kind: provision.OpSuspend, Step: "start",
		Input: []byte(`{"v":2,"request":{}}`), Data: []byte(`{"v":2,"product":"dedicated","state":"not an object"}`)}))
	require.NoError(t, e.Resume(ctx))
	bad, err := v.store.GetOperation(ctx, "bad")
	require.NoError(t, err)
	assert.Equal(t, provision.StateFailed, bad.State)
	assert.Contains(t, bad.Error, "operation bad: data")
	assert.Equal(t, billing.StatusActive, v.service("1").Status)
	assert.True(t, v.dc.Server("1").PortsOn, "nothing was done")

	require.NoError(t, v.store.CreateOperation(ctx, &provision.Operation{ID: "newer", ServiceID: "1", Kind: provision.OpSuspend, Step: "start",
		Input: []byte(`{"v":3,"request":{}}`), Data: []byte(`{"v":2,"product":"dedicated","state":{}}`)}))
	require.ErrorIs(t, e.Resume(ctx), provision.ErrInterrupted)
	newer, err := v.store.GetOperation(ctx, "newer")
	require.NoError(t, err)
	assert.False(t, newer.State.Finished(), "left to the newer release")
	assert.Equal(t, `{"v":3,"request":{}}`, string(newer.Input), "not rewritten")
	assert.True(t, v.dc.Server("1").PortsOn)
}
