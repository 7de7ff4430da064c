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
