package dci5_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
)

// listReads splits the fake's server calls into whole-list reads and
// progress hints (func=server with clickstat).
func listReads(dc *dataCenter) (lists, hints int) {
	for _, c := range dc.srv.Calls() {
		if c.Func != "server" {
			continue
		}
		if slices.Contains(c.Params, "clickstat") {
			hints++
		} else {
			lists++
		}
	}
	return lists, hints
}

// driven starts dc's clock driver for the test.
func driven(t *testing.T, dc *dataCenter) {
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { dc.drive(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// An order reads the whole server list once to pick and then only where
// the list alone carries what it needs after a write of its own (power,
// install flags, the main address after the address swap); every other
// step starts from the row the run already read. Nobody subscribed: the
// progress hint is never asked.
func TestOrderReadsTheServerListOnlyWhereItMust(t *testing.T) {
	dc := newDataCenter(t, 5, 5*time.Second, time.Second)
	driven(t, dc)
	dc.open(t) // the first order learns the waits' lengths
	dc.srv.ResetCalls()
	dc.open(t)
	lists, hints := listReads(dc)
	t.Logf("whole-list reads: %d", lists)
	assert.Zero(t, hints, "progress hints without a listener")
	// The pick and the polls of the power and install waits (16 before
	// the run kept its rows).
	assert.LessOrEqual(t, lists, 4, "whole-list reads in one order")
	// After its own power-on and install the run reads the list only
	// after a pause: a look at once could only see them running.
	calls := dc.srv.Calls()
	for i, c := range calls {
		if c.Func != "server.poweron" && c.Func != "server.operations" {
			continue
		}
		for _, n := range calls[i+1:] {
			if n.Func == "server" {
				assert.True(t, n.At.After(c.At), "the first look after %s comes after a pause", c.Func)
				break
			}
		}
	}
	assert.Equal(t, 1, dc.srv.CallCount("server.connection"), "connections: one list, for the ports and the activation's wiring")
	assert.Zero(t, dc.srv.CallCount("server.connection.on"), "the ports already on are left alone")
	assert.Equal(t, 2, dc.srv.CallCount("server.connection.edit"), "the switch port's and the IPMI connection's forms")
	assert.Equal(t, 1, dc.srv.CallCount("iplist"),
		"address lists: one, for the domain and the swap; the activation takes it with the run's changes and the main address from the row")
	var forms int
	for _, c := range dc.srv.Calls() {
		if c.Func == "server.edit" && !slices.Contains(c.Params, "sok") {
			forms++
		}
	}
	assert.Equal(t, 2, forms, "edit forms: the two owner changes (the second one's MAC is saved)")
}

// With a subscriber the install wait asks the progress hint, and the
// progress reaches the subscriber.
func TestProgressHintOnlyWhileSomeoneListens(t *testing.T) {
	dc := newDataCenter(t, 5, 5*time.Second, 30*time.Second)
	driven(t, dc)
	dc.open(t)
	_, hints := listReads(dc)
	require.Zero(t, hints)

	var progress atomic.Int64
	stop := dc.e.Subscribe(func(ev provision.Event) {
		if ev.Type == provision.EventInstallProgress {
			progress.Add(1)
		}
	})
	dc.srv.ResetCalls()
	dc.open(t)
	_, hints = listReads(dc)
	assert.Positive(t, hints, "progress hints with a listener")
	assert.Positive(t, progress.Load(), "progress events")

	stop()
	dc.srv.ResetCalls()
	dc.open(t)
	_, hints = listReads(dc)
	assert.Zero(t, hints, "no hint once the listener left")
}

// takeAfterList is the dci5 backend whose first ListServers answer is
// followed by somebody else taking the first server it offers in the
// panel: the run's row of that server is then out of date.
type takeAfterList struct {
	*dci5.Backend
	dc    *dataCenter
	user  int64
	once  sync.Once
	taken atomic.Int64
}

func (b *takeAfterList) ListServers(ctx context.Context) ([]provision.Server, error) {
	list, err := b.Backend.ListServers(ctx)
	if err != nil {
		return list, err
	}
	b.once.Do(func() {
		for _, s := range list {
			if s.Available("C1") {
				id, _ := strconv.ParseInt(s.ID, 10, 64)
				if err := b.dc.srv.SetOwner(id, b.user); err == nil {
					b.taken.Store(id)
				}
				return
			}
		}
	})
	return list, nil
}

// A server taken in the panel between the pick's list read and the claim
// is not written: the claim's owner change is conditional on the owner
// its row shows (the edit form, read by the change itself), the step
// retries from a fresh read, finds the server taken and picks another.
func TestClaimOfAServerTakenSinceTheListWritesNothing(t *testing.T) {
	var b *takeAfterList
	dc := newDataCenterWith(t, 4, 5*time.Second, time.Second, func(dc *dataCenter, d *dci5.Backend) provision.DedicatedBackend {
		b = &takeAfterList{Backend: d, dc: dc}
		return b
	})
	b.user = dc.srv.AddUser("someone", "Other-pw-1")
	driven(t, dc)

	dc.open(t)
	taken := b.taken.Load()
	require.NotZero(t, taken, "a server was taken after the pick's list read")
	st, ok := dc.srv.Server(taken)
	require.True(t, ok)
	assert.Equal(t, b.user, st.Owner, "the taken server keeps its owner")
	elid := strconv.FormatInt(taken, 10)
	var forms int
	for _, c := range dc.srv.Calls() {
		if c.Func != "server.edit" || c.Elid != elid {
			continue
		}
		assert.NotContains(t, c.Params, "sok", "no save on the taken server")
		forms++
	}
	assert.Equal(t, 1, forms, "the owner change read the form of the taken server once and stopped")
	mine := 0
	for _, s := range dc.srv.Servers() {
		if s.ID != taken && s.Owner != 0 {
			mine++
		}
	}
	assert.Equal(t, 1, mine, "the order got another server")
}

// SwapOwner writes only over the owner the caller saw, and nothing when
// the owner already is the one asked for.
func TestSwapOwner(t *testing.T) {
	var b *dci5.Backend
	dc := newDataCenterWith(t, 1, 0, 0, func(_ *dataCenter, d *dci5.Backend) provision.DedicatedBackend {
		b = d
		return d
	})
	ctx := t.Context()
	ann, bob := dc.srv.AddUser("ann", "Ann-pw-1"), dc.srv.AddUser("bob", "Bob-pw-1")
	id := dc.srv.Servers()[0].ID
	sid, annID, bobID := strconv.FormatInt(id, 10), strconv.FormatInt(ann, 10), strconv.FormatInt(bob, 10)
	saves := func() int {
		n := 0
		for _, c := range dc.srv.Calls() {
			if c.Func == "server.edit" && slices.Contains(c.Params, "sok") {
				n++
			}
		}
		return n
	}

	row := provision.Server{ID: sid}
	got, err := b.SwapOwner(ctx, row, annID)
	require.NoError(t, err)
	assert.Equal(t, annID, got.OwnerID)
	assert.NotEmpty(t, got.MAC, "the form's MAC comes back with the row")
	st, _ := dc.srv.Server(id)
	require.Equal(t, ann, st.Owner)

	dc.srv.ResetCalls()
	_, err = b.SwapOwner(ctx, row, bobID)
	require.ErrorIs(t, err, provision.ErrOwnerChanged, "the owner is ann, not none")
	row.OwnerID = bobID
	_, err = b.SwapOwner(ctx, row, annID)
	require.NoError(t, err, "already ann")
	assert.Zero(t, saves(), "nothing written")

	row.OwnerID = annID
	_, err = b.SwapOwner(ctx, row, "")
	require.NoError(t, err)
	st, _ = dc.srv.Server(id)
	assert.Zero(t, st.Owner)
	assert.Equal(t, 1, saves())
}
