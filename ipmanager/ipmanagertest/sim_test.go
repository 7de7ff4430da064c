package ipmanagertest_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
)

func TestLoadDumpReset(t *testing.T) {
	t.Parallel()
	srv := ipmanagertest.NewServer()
	t.Cleanup(srv.Close)
	def := ipmanagertest.NewServer(ipmanagertest.WithoutSeed())
	t.Cleanup(def.Close)
	require.Empty(t, def.Dump().Groups)
	require.NoError(t, def.Load(ipmanagertest.DefaultSeed()))
	assert.Equal(t, srv.Dump(), def.Dump(), "DefaultSeed is what NewServer starts with")

	srv.Reset()
	assert.Empty(t, srv.Dump().Groups)

	var bad ipmanagertest.SeedData
	require.NoError(t, json.Unmarshal([]byte(`{"groups":[{"name":"a","ranges":["10.0.0.0/30"]},{"name":"b","ranges":["not-a-range"]}]}`), &bad))
	require.Error(t, srv.Load(bad))
	assert.Empty(t, srv.Dump().Groups, "a malformed range loads nothing")

	var seed ipmanagertest.SeedData
	require.NoError(t, json.Unmarshal([]byte(`{
		"groups":[{"name":"public","ranges":["192.0.2.10-192.0.2.11"]},{"name":"park","parking":true,"ranges":["10.1.0.0/30"]}],
		"accounts":[{"name":"robot","password":"robot-pw-1"}],
		"allocated":[{"ip":"192.0.2.10","group":"public","domain":"a.example.com"}]}`), &seed))
	require.NoError(t, srv.Load(seed))
	c, err := ipmanager.NewClient(srv.URL(), ipmanager.WithCredentials("robot", "robot-pw-1"))
	require.NoError(t, err)
	gs, err := c.Groups(context.Background())
	require.NoError(t, err)
	require.Len(t, gs, 2)
	assert.Equal(t, int64(1), gs[0].Free)
	assert.True(t, gs[1].Parking)
	a, err := c.Allocate(context.Background(), ipmanager.AllocateRequest{Group: "public"})
	require.NoError(t, err)
	assert.Equal(t, "192.0.2.11", a.IP.String())
	assert.Len(t, srv.Dump().Addresses, 2)
}
