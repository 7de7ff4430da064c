package dcimanager5test_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

// TestDeleteMainIP: the main address cannot be deleted while it is the
// server's only one; with others left the lowest id becomes the main one
// and the hostname follows its domain (the parking → public swap).
func TestDeleteMainIP(t *testing.T) {
	t.Parallel()
	srv := dcimanager5test.NewServer(dcimanager5test.WithoutSeed())
	srv.SetStrict(true)
	defer srv.Close()
	require.NoError(t, srv.AddPool("parking", "ipv4", "10.0.0.0/24"))
	require.NoError(t, srv.AddPool("public", "ipv4", "203.0.113.0/24"))
	id, err := srv.AddServer(dcimanager5test.ServerSpec{Name: "s1"})
	require.NoError(t, err)
	admin, pw := srv.Admin()
	c, err := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials(admin, pw))
	require.NoError(t, err)
	ctx := context.Background()

	ips := srv.IPs(id)
	require.Len(t, ips, 1)
	park := ips[0]
	require.True(t, park.Main)
	err = c.IPs.Delete(ctx, id, park.ID)
	require.Error(t, err, "the only address cannot be deleted")
	assert.Contains(t, err.Error(), "only address")

	pub, err := c.IPs.Add(ctx, id, dcimanager5.IPAddRequest{Family: "ipv4", Group: "public", Domain: "s1.example.net"})
	require.NoError(t, err)
	extra, err := c.IPs.Add(ctx, id, dcimanager5.IPAddRequest{Family: "ipv4", Group: "public", Domain: "x.example.net"})
	require.NoError(t, err)
	st, _ := srv.Server(id)
	assert.Equal(t, park.Address, st.MainIP, "the first address stays the main one")
	assert.Equal(t, "free.ds", st.Hostname)

	require.NoError(t, c.IPs.Delete(ctx, id, park.ID))
	st, _ = srv.Server(id)
	assert.Equal(t, pub.Address, st.MainIP, "the lowest remaining id is promoted")
	assert.Equal(t, "s1.example.net", st.Hostname)
	assert.Equal(t, 254, srv.FreeAddresses("parking", "ipv4"), "the parking address is free again")

	got, err := c.Servers.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, pub.Address, got.IP)

	err = c.IPs.Delete(ctx, id, pub.ID)
	require.NoError(t, err)
	st, _ = srv.Server(id)
	assert.Equal(t, extra.Address, st.MainIP)
	assert.Equal(t, "x.example.net", st.Hostname)
	require.Error(t, c.IPs.Delete(ctx, id, extra.ID))
}
