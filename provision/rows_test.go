package provision

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/wait"
)

// A kept row is the latest read; a write forgets it (the listed row too)
// until a read or the write's known effect brings it back; a reset
// forgets everything.
func TestRowMemo(t *testing.T) {
	var m rowMemo
	_, ok := m.get("1")
	require.False(t, ok)

	m.keepList([]Server{{ID: "1", OwnerID: ""}, {ID: "2"}})
	s, ok := m.get("1")
	require.True(t, ok, "the listed row")
	assert.Empty(t, s.OwnerID)

	old, had, _, hadIPs := m.forget("1")
	require.True(t, had)
	assert.False(t, hadIPs)
	_, ok = m.get("1")
	assert.False(t, ok, "a written server's listed row is not used")
	old.OwnerID = "7"
	m.keep(old)
	s, ok = m.get("1")
	require.True(t, ok)
	assert.Equal(t, "7", s.OwnerID, "the write's effect")

	m.keepIPs("2", []ServerIP{{ID: "a", IP: "10.0.0.2"}})
	l, ok := m.getIPs("2")
	require.True(t, ok)
	l[0].IP = "changed"
	l2, _ := m.getIPs("2")
	assert.Equal(t, "10.0.0.2", l2[0].IP, "callers get copies")

	m.keepList([]Server{{ID: "1"}, {ID: "2"}, {ID: "3"}})
	m.settle("2")
	_, ok = m.get("2")
	assert.True(t, ok, "the operation's row outlives the step")
	_, ok = m.get("3")
	assert.False(t, ok, "the rest of the list does not")

	m.reset()
	_, ok = m.get("2")
	assert.False(t, ok)
	_, ok = m.getIPs("2")
	assert.False(t, ok)
}

// A wait resumed long after it began and done at its first poll teaches
// no expected length (its end may lie anywhere since it began); one whose
// polls saw it running and then done teaches the midpoint.
func TestResumedWaitTeachesNothing(t *testing.T) {
	clk := wait.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	e := &Engine{clock: clk, cfg: Config{PollInterval: time.Second}}
	r := &run{e: e, st: &DedicatedState{CommonState: CommonState{Module: "dc"}}}
	key := "dc/" + awaitInstall

	since := clk.Now().Add(-48 * time.Hour)
	err := r.await(t.Context(), awaitInstall, &since, 72*time.Hour, func(context.Context) (bool, error) { return true, nil })
	require.NoError(t, err)
	assert.Zero(t, e.expect.get(key), "nothing learned from a wait no poll saw running")

	since = clk.Now()
	polls := 0
	done := make(chan error, 1)
	go func() {
		done <- r.await(t.Context(), awaitInstall, &since, time.Hour, func(context.Context) (bool, error) {
			polls++
			return polls > 1, nil
		})
	}()
	p, err := clk.WaitPending(t.Context(), 1)
	require.NoError(t, err)
	clk.Set(p[0])
	require.NoError(t, <-done)
	assert.Positive(t, e.expect.get(key), "learned from a wait seen running, then done")
}

// The run's address list follows its own changes; where the panel
// chooses the main address the list keeps none (ListIPs takes it from the
// server's row).
func TestAddressEffects(t *testing.T) {
	l := []ServerIP{{ID: "1", IP: "10.0.0.1", Main: true}, {ID: "2", IP: "10.0.0.2"}}
	got, ok := ipAdded(slices.Clone(l), ServerIP{ID: "3", IP: "198.51.0.3", Main: true})
	require.True(t, ok)
	require.Len(t, got, 3)
	assert.False(t, got[2].Main, "an added address is not the main one while there is one")
	got, ok = ipAdded([]ServerIP{{ID: "2", IP: "10.0.0.2"}}, ServerIP{ID: "3", IP: "198.51.0.3", Main: true})
	require.True(t, ok)
	assert.Equal(t, []ServerIP{{ID: "2", IP: "10.0.0.2"}, {ID: "3", IP: "198.51.0.3"}}, got,
		"no main address before: none after (the panel may make the new one main)")
	_, ok = ipAdded(slices.Clone(l), ServerIP{})
	assert.False(t, ok, "unknown address: read again")

	got, ok = ipRemoved(slices.Clone(l), "2")
	assert.True(t, ok)
	assert.Equal(t, l[:1], got)
	got, ok = ipRemoved(slices.Clone(l), "1")
	require.True(t, ok)
	assert.Equal(t, []ServerIP{{ID: "2", IP: "10.0.0.2"}}, got, "the main address removed: the panel picks another, none is main")
	got, ok = ipRemoved([]ServerIP{{ID: "2", IP: "10.0.0.2"}}, "2")
	assert.True(t, ok)
	assert.NotNil(t, got, "an emptied list is kept, empty")
	assert.Empty(t, got)
}
