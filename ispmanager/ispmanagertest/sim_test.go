package ispmanagertest_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

func TestLoadDumpResetAndLevels(t *testing.T) {
	t.Parallel()
	srv := ispmanagertest.NewServer()
	t.Cleanup(srv.Close)

	var bad ispmanagertest.SeedData
	require.NoError(t, json.Unmarshal([]byte(`{"presets":[{"name":"p","limits":{"db":"ten"}}]}`), &bad))
	require.Error(t, srv.Load(bad))
	require.NoError(t, json.Unmarshal([]byte(`{"users":[{"name":"u","password":"pw-123456","preset":"none"}]}`), &bad))
	require.Error(t, srv.Load(bad))
	assert.Empty(t, srv.Dump().Presets, "a refused data set loads nothing")
	assert.Empty(t, srv.Dump().Users)

	var seed ispmanagertest.SeedData
	require.NoError(t, json.Unmarshal([]byte(`{"edition":"Business",
		"presets":[{"name":"basic","limits":{"db":"5","limit_shell":"off"}}],
		"users":[{"name":"old","password":"old-pw-1234","preset":"basic","domain":"old.example.com","suspended":true}],
		"resellers":[{"name":"res","password":"res-pw-1234"}]}`), &seed))
	require.NoError(t, srv.Load(seed))
	st := srv.Dump()
	require.Len(t, st.Presets, 1)
	assert.Equal(t, "5", st.Presets[0].Limits["db"])
	require.Len(t, st.Users, 1)
	assert.False(t, st.Users[0].Active)
	assert.Equal(t, "old", st.WebDomains["old.example.com"])

	ctx := context.Background()
	admin, pw := srv.Admin()
	ac, err := ispmanager.NewClient(srv.URL(), ispmanager.WithCredentials(admin, pw))
	require.NoError(t, err)
	lvl, err := ac.AccessLevel(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, lvl, ispmanager.LevelAdmin)
	rc, err := ispmanager.NewClient(srv.URL(), ispmanager.WithCredentials("res", "res-pw-1234"))
	require.NoError(t, err)
	lvl, err = rc.AccessLevel(ctx)
	require.NoError(t, err)
	assert.Equal(t, ispmanagertest.LevelReseller, lvl)
	assert.Less(t, lvl, ispmanager.LevelAdmin)
	_, err = rc.Presets.List(ctx)
	require.Error(t, err, "a reseller cannot use administrator functions")

	srv.Reset()
	st = srv.Dump()
	assert.Empty(t, st.Users)
	assert.Empty(t, st.Presets)
	assert.Equal(t, "Business", st.Edition)
	_, err = rc.AccessLevel(ctx)
	assert.True(t, ispmanager.IsAuth(err), "the reseller is gone: %v", err)
}
