package dcimanager5test_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

// A simulator loads a data set from JSON, dumps the whole state as JSON
// and resets it; the panel's API sees exactly the loaded data.
func TestLoadDumpReset(t *testing.T) {
	t.Parallel()
	srv := dcimanager5test.NewServer()
	t.Cleanup(srv.Close)
	srv.SetStrict(true)
	before := srv.Dump()
	assert.Len(t, before.Servers, 6)
	assert.Len(t, before.Pools, 3)

	srv.Reset()
	empty := srv.Dump()
	assert.Empty(t, empty.Servers)
	assert.Empty(t, empty.Pools)
	require.Len(t, empty.Users, 1, "only the administrator")

	raw := []byte(`{"users":[{"name":"alice","password":"alice-pw-123"}],
		"pools":[{"group":"parking","family":"ipv4","cidr":"10.9.0.0/24"}],
		"templates":[{"repo":"ISPsystem","name":"Debian-12-x86_64","os_type":"linux"}],
		"servers":[{"name":"sim-1","chassis_template":"X1"},{"name":"sim-2","chassis_template":"X1","owner":2}]}`)
	var seed dcimanager5test.SeedData
	require.NoError(t, json.Unmarshal(raw, &seed))
	require.NoError(t, srv.Load(seed))

	admin, pw := srv.Admin()
	c, err := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials(admin, pw))
	require.NoError(t, err)
	free, err := c.Servers.ListAvailable(context.Background(), "X1")
	require.NoError(t, err)
	require.Len(t, free, 1, "sim-2 belongs to alice")
	assert.Equal(t, "sim-1", free[0].Name)

	out, err := json.Marshal(srv.Dump())
	require.NoError(t, err)
	var back dcimanager5test.State
	require.NoError(t, json.Unmarshal(out, &back))
	assert.Len(t, back.Servers, 2)
	assert.Len(t, back.IPs, 2, "each server got its parking address")
	assert.Equal(t, "10.9.0.0/24", back.Pools[0].CIDR)
	assert.Equal(t, []string{"ISPsystem__Debian-12-x86_64"}, []string{back.Templates[0].ID})
}

// A seed names an owner by name; an unknown name is refused.
func TestSeedOwnerByName(t *testing.T) {
	t.Parallel()
	srv := dcimanager5test.NewServer(dcimanager5test.WithoutSeed())
	t.Cleanup(srv.Close)
	bob := srv.AddUser("bob", "bob-secret-pw")
	id, err := srv.AddServer(dcimanager5test.ServerSpec{Name: "b1", OwnerName: "bob"})
	require.NoError(t, err)
	st, _ := srv.Server(id)
	assert.Equal(t, bob, st.Owner)
	_, err = srv.AddServer(dcimanager5test.ServerSpec{Name: "b2", OwnerName: "nobody"})
	require.Error(t, err)
	assert.Len(t, srv.Servers(), 1)
}
