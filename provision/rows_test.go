package provision

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

	m.reset()
	_, ok = m.get("2")
	assert.False(t, ok)
	_, ok = m.getIPs("2")
	assert.False(t, ok)
}
