package dci5_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/provision"
)

// TestReconcileThroughFakes seeds one inconsistency of each kind between
// the Store and the DCImanager 5 and IPmanager fakes, then: a report-only
// Reconcile finds each and changes nothing; a repairing one repairs what
// is orphaned and reports the rest; a third finds only what needs an
// operator.
func TestReconcileThroughFakes(t *testing.T) {
	t.Parallel()
	w := newIPWorld(t, 6)
	e := w.engine("e", nil)
	ctx := context.Background()
	op, err := e.Open(ctx, provision.OpenRequest{ServiceID: "1", TariffID: 1, Owner: "cust", Password: "Secret-pw-1"})
	require.NoError(t, err)
	sold := svcOf(t, w.store, "1").Properties[provision.PropServerID]
	require.Equal(t, "1", sold)

	c, err := dcimanager5.NewClient(w.srv.URL(), dcimanager5.WithCredentials(w.admin, w.pw))
	require.NoError(t, err)
	ic, err := ipmanager.NewClient(w.ipm.URL(), ipmanager.WithCredentials(ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword))
	require.NoError(t, err)
	var adminID int64
	for _, u := range w.srv.Users() {
		if u.Name == w.admin {
			adminID = u.ID
		}
	}
	other := w.srv.AddUser("someone", "Someone-pw-1")

	// A stray address: noted for the finished Open, on no server.
	stray, err := ic.Allocate(ctx, ipmanager.AllocateRequest{Family: ipmanager.IPv4, Group: "public", Note: op.ID + "/" + sold + "/ipv4/7"})
	require.NoError(t, err)
	// A stale reservation: the finished Open holds server 2 as well.
	require.NoError(t, w.store.Reserve(ctx, provision.Reservation{Backend: "dci", ServerID: "2", OperationID: op.ID, ServiceID: "1"}))
	// A server held by the admin for nothing (3), one taken out of sale
	// (4, disabled), one owned by a user no service knows (5).
	require.NoError(t, c.Servers.SetOwner(ctx, 3, adminID))
	require.NoError(t, c.Servers.SetOwner(ctx, 4, adminID))
	require.NoError(t, c.Servers.Disable(ctx, 4))
	require.NoError(t, c.Servers.SetOwner(ctx, 5, other))

	kinds := func(rep *provision.ReconcileReport) map[provision.FindingKind]provision.Finding {
		out := map[provision.FindingKind]provision.Finding{}
		for _, f := range rep.Findings {
			_, dup := out[f.Kind]
			assert.False(t, dup, "one finding of kind %s", f.Kind)
			out[f.Kind] = f
		}
		return out
	}

	rep, err := e.Reconcile(ctx, provision.ReconcileReportOnly())
	require.NoError(t, err)
	got := kinds(rep)
	require.Len(t, got, 5, "%+v", rep.Findings)
	assert.Equal(t, stray.IP.String(), got[provision.FindingStrayAddress].Address)
	assert.Equal(t, op.ID, got[provision.FindingStrayAddress].OperationID)
	assert.Equal(t, "2", got[provision.FindingStaleReservation].ServerID)
	assert.Equal(t, "3", got[provision.FindingHeldServer].ServerID)
	assert.Equal(t, "4", got[provision.FindingOutOfSale].ServerID)
	assert.Equal(t, "5", got[provision.FindingUnknownCustomer].ServerID)
	for _, f := range rep.Findings {
		assert.Equal(t, provision.ActionReported, f.Action)
	}
	assert.Zero(t, rep.Repaired())
	st3, _ := w.srv.Server(3)
	assert.Equal(t, adminID, st3.Owner, "report only: nothing changed")

	rep, err = e.Reconcile(ctx)
	require.NoError(t, err)
	got = kinds(rep)
	require.Len(t, got, 5)
	assert.Equal(t, provision.ActionReleased, got[provision.FindingStrayAddress].Action)
	assert.Equal(t, provision.ActionUnreserved, got[provision.FindingStaleReservation].Action)
	assert.Equal(t, provision.ActionReturnedToSale, got[provision.FindingHeldServer].Action)
	assert.Equal(t, provision.ActionReported, got[provision.FindingOutOfSale].Action)
	assert.Equal(t, provision.ActionReported, got[provision.FindingUnknownCustomer].Action)
	assert.Equal(t, 3, rep.Repaired())

	for _, a := range w.ipm.Addresses() {
		assert.NotEqual(t, stray.IP, a.IP, "the stray address is released")
	}
	res, err := w.store.Reservations(ctx, "dci")
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, sold, res[0].ServerID, "the sold server keeps its reservation")
	st3, _ = w.srv.Server(3)
	assert.Zero(t, st3.Owner, "server 3 back in sale")
	assert.Equal(t, provision.FreeHostname, st3.Hostname)
	st4, _ := w.srv.Server(4)
	assert.Equal(t, adminID, st4.Owner, "out of sale on purpose: left to an operator")
	assert.True(t, st4.Disabled)
	st5, _ := w.srv.Server(5)
	assert.Equal(t, other, st5.Owner)
	assert.Equal(t, "1", svcOf(t, w.store, "1").Properties[provision.PropServerID], "the sold server is untouched")

	rep, err = e.Reconcile(ctx)
	require.NoError(t, err)
	got = kinds(rep)
	assert.Len(t, got, 2)
	assert.Contains(t, got, provision.FindingOutOfSale)
	assert.Contains(t, got, provision.FindingUnknownCustomer)
}

func svcOf(t *testing.T, store provision.Store, id string) *provision.Service {
	t.Helper()
	s, err := store.GetService(context.Background(), id)
	require.NoError(t, err)
	return s
}
