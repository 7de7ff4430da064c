package dci5_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
)

// TestOneUnfinishedOperationTwoEngines: two engines, each on its own
// handle of one Store (PostgreSQL: two pools), submit at once from many
// goroutines for one service, first Opens, then (once it is Active) a mix
// of other operations. Each time exactly one operation is created; every
// other submission is ErrBusy, decided by the Store, not by a list made
// before the create.
func TestOneUnfinishedOperationTwoEngines(t *testing.T) {
	t.Parallel()
	for _, st := range []struct {
		name string
		mk   zStores
	}{{"memstore", zMemstore}, {"sqlite-two-handles", zSQLite}, {"postgres-two-pools", zPostgres}} {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			z := &zWorld{ipWorld: newIPWorld(t, 2), clk: newZClock()}
			z.a, z.b, _ = st.mk(t, z.clk)
			engines := []*provision.Engine{
				z.engine("A", z.a, z.srv.URL(), z.ipm.URL(), nil),
				z.engine("B", z.b, z.srv.URL(), z.ipm.URL(), nil),
			}
			const perEngine = 12
			race := func(req func(i int) provision.Request) (created []*provision.Operation) {
				var (
					mu    sync.Mutex
					wg    sync.WaitGroup
					start = make(chan struct{})
				)
				for i := range 2 * perEngine {
					wg.Go(func() {
						<-start
						op, err := engines[i%2].Submit(ctx, req(i))
						mu.Lock()
						defer mu.Unlock()
						if err != nil {
							assert.ErrorIs(t, err, provision.ErrBusy, "submission %d", i)
							return
						}
						created = append(created, op)
					})
				}
				close(start)
				wg.Wait()
				require.Len(t, created, 1, "exactly one submission creates an operation")
				unfinished, err := z.b.ListOperations(ctx, provision.OperationFilter{ServiceID: zSvc,
					States: []provision.OperationState{provision.StatePending, provision.StateRunning}})
				require.NoError(t, err)
				require.Len(t, unfinished, 1)
				require.Equal(t, created[0].ID, unfinished[0].ID)
				return created
			}

			open := race(func(i int) provision.Request {
				return provision.OpenRequest{OperationID: fmt.Sprintf("open-%d", i), ServiceID: zSvc, TariffID: 1, Owner: "ann", Password: "Secret-pw-1"}
			})[0]
			require.NoError(t, engines[1].Resume(ctx))
			op, err := z.b.GetOperation(ctx, open.ID)
			require.NoError(t, err)
			require.Equal(t, provision.StateDone, op.State, op.Error)
			svc, err := z.b.GetService(ctx, zSvc)
			require.NoError(t, err)
			require.Equal(t, billing.StatusActive, svc.Status)

			race(func(i int) provision.Request {
				id := fmt.Sprintf("next-%d", i)
				switch i % 3 {
				case 0:
					return provision.SuspendRequest{OperationID: id, ServiceID: zSvc}
				case 1:
					return provision.ChangePasswordRequest{OperationID: id, ServiceID: zSvc, Password: "Secret-pw-2"}
				}
				return provision.AddIPRequest{OperationID: id, ServiceID: zSvc}
			})
		})
	}
}
