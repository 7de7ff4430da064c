package dcimanager6test_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
)

// Loading DefaultSeed into an emptied fake gives exactly the state a new
// fake starts with: the default data set is the seed, not a second copy.
func TestDefaultSeedIsWhatNewServerLoads(t *testing.T) {
	t.Parallel()
	a := dcimanager6test.NewServer()
	t.Cleanup(a.Close)
	b := dcimanager6test.NewServer(dcimanager6test.WithoutSeed())
	t.Cleanup(b.Close)
	require.Len(t, b.Dump().Servers, 0)
	require.NoError(t, b.Load(dcimanager6test.DefaultSeed()))
	da, db := a.Dump(), b.Dump()
	// Operation start times follow each fake's clock.
	for i := range da.Operations {
		da.Operations[i].Start, db.Operations[i].Start = time.Time{}, time.Time{}
	}
	assert.Equal(t, da, db)
	assert.Len(t, da.Servers, 9)
	assert.Equal(t, "client1@example.com", da.Users[1].Email)
	assert.Empty(t, da.Users[1].Password, "the dump carries no password")
}

// A simulator loads a data set from JSON, the API sees it, Reset empties
// the fake and a refused data set changes nothing.
func TestLoadResetAndRefusedSeed(t *testing.T) {
	t.Parallel()
	srv := dcimanager6test.NewServer()
	t.Cleanup(srv.Close)
	srv.Reset()
	st := srv.Dump()
	require.Len(t, st.Users, 1, "only the administrator")
	assert.Empty(t, st.Servers)
	assert.Empty(t, st.Locations)

	var bad dcimanager6test.SeedData
	require.NoError(t, json.Unmarshal([]byte(`{"servers":[{"name":"x","configuration":"c","location":"Nowhere"}]}`), &bad))
	require.Error(t, srv.Load(bad))
	assert.Empty(t, srv.Dump().Servers, "nothing loaded")

	var seed dcimanager6test.SeedData
	require.NoError(t, json.Unmarshal([]byte(`{
		"locations":[{"name":"Riga","switch":"sw-riga"}],
		"users":[{"email":"bob@example.com","password":"bob-password-1"}],
		"templates":[{"name":"Debian 12","location":"Riga"}],
		"pools":[{"name":"pub","location":"Riga","network":"203.0.113.0/24","gateway":"203.0.113.1","range":"203.0.113.10-203.0.113.12"}],
		"servers":[{"name":"r1","configuration":"C1","location":"Riga"},
		           {"name":"r2","configuration":"C1","location":"Riga","owner":"bob@example.com","os_template":"Debian 12"}]}`), &seed))
	require.NoError(t, srv.Load(seed))
	c, err := dcimanager6.NewClient(srv.URL(), dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword))
	require.NoError(t, err)
	free, _, err := c.Servers.ListFree(context.Background(), 0, "C1", nil)
	require.NoError(t, err)
	require.Len(t, free, 1)
	assert.Equal(t, "r1", free[0].Name)
	d := srv.Dump()
	require.Len(t, d.IPs, 3)
	assert.Equal(t, d.Servers[1].ID, d.IPs[0].ServerID, "the owned server got a main address")
	require.Len(t, d.Ports, 2)
}

// SetDurations changes how long the next operation runs.
func TestSetDurations(t *testing.T) {
	t.Parallel()
	srv := dcimanager6test.NewServer()
	t.Cleanup(srv.Close)
	srv.SetDurations(dcimanager6test.Durations{Install: time.Hour})
	assert.Equal(t, dcimanager6test.Durations{Install: time.Hour, Power: 300 * time.Millisecond}, srv.Durations())
	srv.SetDurations(dcimanager6test.Durations{Power: time.Minute})
	assert.Equal(t, dcimanager6test.Durations{Install: time.Hour, Power: time.Minute}, srv.Durations())
}
