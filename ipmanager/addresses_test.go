package ipmanager_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
)

func TestAllocateNextFreeAndGet(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, nil)
	ctx := context.Background()

	a, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public", Domain: "srv1.example.com", Note: "order-1"})
	require.NoError(t, err)
	assert.Equal(t, ipmanager.Address{IP: ip("198.51.100.1"), Family: ipmanager.IPv4, Group: "public",
		Domain: "srv1.example.com", Note: "order-1", Used: true}, a)

	b, err := c.Allocate(ctx, ipmanager.AllocateRequest{Family: ipmanager.IPv4, Group: "public"})
	require.NoError(t, err)
	assert.Equal(t, ip("198.51.100.2"), b.IP)

	v6, err := c.Allocate(ctx, ipmanager.AllocateRequest{Family: ipmanager.IPv6, Group: "public", Domain: "srv1.example.com"})
	require.NoError(t, err)
	assert.Equal(t, ip("2001:db8:100::1"), v6.IP)
	assert.Equal(t, ipmanager.IPv6, v6.Family)

	got, err := c.Get(ctx, a.IP)
	require.NoError(t, err)
	assert.Equal(t, a, got)

	stored, ok := s.Address(a.IP)
	require.True(t, ok)
	assert.Equal(t, "order-1", stored.Note)

	_, err = c.Get(ctx, ip("198.51.100.200"))
	assert.True(t, ipmanager.IsNotFound(err), "%v", err)
	var pe *ipmanager.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "missed", pe.Type)

	// Three allocations and two reads reached the panel.
	assert.Equal(t, 5, s.CallCount("ip.edit"))
}

func TestAllocateFixedAddress(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, nil)
	ctx := context.Background()

	a, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public", IP: ip("198.51.100.77")})
	require.NoError(t, err)
	assert.Equal(t, ip("198.51.100.77"), a.IP)
	assert.Equal(t, ipmanager.IPv4, a.Family)

	_, err = c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public", IP: ip("198.51.100.77")})
	assert.True(t, ipmanager.IsExists(err), "%v", err)

	_, err = c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public", IP: ip("192.0.2.1")})
	assert.True(t, ipmanager.IsValue(err), "outside the pool: %v", err)

	_, err = c.Allocate(ctx, ipmanager.AllocateRequest{Group: "nosuchgroup"})
	assert.True(t, ipmanager.IsNotFound(err), "%v", err)

	// Next free skips the explicitly taken address only when reached.
	n, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	require.NoError(t, err)
	assert.Equal(t, ip("198.51.100.1"), n.IP)
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, []ipmanagertest.Option{
		ipmanagertest.WithGroup("public", "192.0.2.1-192.0.2.5", "2001:db8::/120"),
		ipmanagertest.WithParkingGroup("parking", "10.0.0.0/29"),
		ipmanagertest.WithHiddenRange("public", "192.0.2.100"),
	})
	ctx := context.Background()
	mk := func(r ipmanager.AllocateRequest) ipmanager.Address {
		a, err := c.Allocate(ctx, r)
		require.NoError(t, err)
		return a
	}
	p1 := mk(ipmanager.AllocateRequest{Group: "public", Domain: "a.example.com", Note: "n1"})
	p2 := mk(ipmanager.AllocateRequest{Group: "public", Domain: "B.example.com"})
	p6 := mk(ipmanager.AllocateRequest{Group: "public", Family: ipmanager.IPv6, Domain: "a.example.com"})
	k1 := mk(ipmanager.AllocateRequest{Group: "parking", Domain: "a.example.com"})

	all, err := c.List(ctx, ipmanager.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{k1.IP, p1.IP, p2.IP, p6.IP}, ips(all))
	for _, a := range all {
		assert.True(t, a.Used)
	}

	pub, err := c.List(ctx, ipmanager.ListOptions{Group: "public"})
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{p1.IP, p2.IP, p6.IP}, ips(pub))

	dom, err := c.List(ctx, ipmanager.ListOptions{Domain: "A.EXAMPLE.COM"})
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{k1.IP, p1.IP, p6.IP}, ips(dom))

	v6, err := c.List(ctx, ipmanager.ListOptions{Family: ipmanager.IPv6})
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{p6.IP}, ips(v6))

	free, err := c.List(ctx, ipmanager.ListOptions{Group: "public", Family: ipmanager.IPv4, State: ipmanager.StateFree})
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{ip("192.0.2.3"), ip("192.0.2.4"), ip("192.0.2.5"), ip("192.0.2.100")}, ips(free))
	for _, a := range free {
		assert.False(t, a.Used)
		assert.Equal(t, "public", a.Group)
	}
	assert.True(t, free[3].Hidden)
	assert.False(t, free[0].Hidden)

	both, err := c.List(ctx, ipmanager.ListOptions{Group: "parking", State: ipmanager.StateAll})
	require.NoError(t, err)
	assert.Len(t, both, 6) // /29 without network and broadcast
	assert.True(t, both[0].Used)
	assert.False(t, both[1].Used)

	_, err = c.List(ctx, ipmanager.ListOptions{State: "busy"})
	assert.ErrorIs(t, err, ipmanager.ErrInvalidArgument)
	_, err = c.List(ctx, ipmanager.ListOptions{Family: "ipx"})
	assert.ErrorIs(t, err, ipmanager.ErrInvalidArgument)
}

func ips(as []ipmanager.Address) []netip.Addr {
	out := make([]netip.Addr, len(as))
	for i, a := range as {
		out[i] = a.IP
	}
	return out
}

func TestSetDomainNoteAndChangeGroup(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, nil)
	ctx := context.Background()
	a, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "parking", Domain: "free.ds", Note: "rack 4"})
	require.NoError(t, err)
	assert.Equal(t, ip("10.255.0.1"), a.IP)

	got, err := c.SetDomain(ctx, a.IP, "buyer.example.com")
	require.NoError(t, err)
	assert.Equal(t, "buyer.example.com", got.Domain)
	assert.Equal(t, "rack 4", got.Note, "other fields are kept")

	got, err = c.SetNote(ctx, a.IP, "order 17")
	require.NoError(t, err)
	assert.Equal(t, "order 17", got.Note)
	assert.Equal(t, "buyer.example.com", got.Domain)

	got, err = c.ChangeGroup(ctx, a.IP, "public")
	require.NoError(t, err)
	assert.Equal(t, "public", got.Group)

	stored, _ := s.Address(a.IP)
	assert.Equal(t, ipmanagertest.Address{IP: a.IP, Family: "ipv4", Group: "public", Domain: "buyer.example.com", Note: "order 17"}, stored)

	again, err := c.Get(ctx, a.IP)
	require.NoError(t, err)
	assert.Equal(t, got, again)

	_, err = c.ChangeGroup(ctx, a.IP, "nosuch")
	assert.True(t, ipmanager.IsNotFound(err), "%v", err)
	_, err = c.SetDomain(ctx, ip("10.255.0.99"), "x.example.com")
	assert.True(t, ipmanager.IsNotFound(err), "%v", err)
	_, err = c.SetDomain(ctx, a.IP, "bad domain")
	assert.ErrorIs(t, err, ipmanager.ErrInvalidArgument)
	_, err = c.ChangeGroup(ctx, a.IP, "")
	assert.ErrorIs(t, err, ipmanager.ErrInvalidArgument)

	// Released into its range: the re-typed address is free again in the
	// parking range and is the next one handed out there.
	require.NoError(t, c.Release(ctx, a.IP))
	n, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "parking"})
	require.NoError(t, err)
	assert.Equal(t, a.IP, n.IP)
}

func TestReleaseReturnsAddressesToPool(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, []ipmanagertest.Option{ipmanagertest.WithGroup("public", "192.0.2.10-192.0.2.12")})
	ctx := context.Background()
	var got []netip.Addr
	for range 3 {
		a, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
		require.NoError(t, err)
		got = append(got, a.IP)
	}
	_, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	require.ErrorIs(t, err, ipmanager.ErrPoolExhausted)

	require.NoError(t, c.Release(ctx, got[0], got[2]))
	assert.Len(t, s.Addresses(), 1)
	assert.Equal(t, int64(2), s.FreeCount("public"))

	err = c.Release(ctx, got[0])
	assert.True(t, ipmanager.IsNotFound(err), "second release: %v", err)

	a, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	require.NoError(t, err)
	assert.Equal(t, got[0], a.IP, "lowest free address first")

	assert.ErrorIs(t, c.Release(ctx), ipmanager.ErrInvalidArgument)
	assert.ErrorIs(t, c.Release(ctx, netip.Addr{}), ipmanager.ErrInvalidArgument)
}

func TestGroups(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, []ipmanagertest.Option{
		ipmanagertest.WithGroup("public", "192.0.2.0/28", "2001:db8::/64"),
		ipmanagertest.WithGroupComment("public", "sold servers"),
		ipmanagertest.WithParkingGroup("parking", "10.0.0.1-10.0.0.10"),
		ipmanagertest.WithHiddenRange("parking", "10.0.0.100-10.0.0.110"),
	})
	ctx := context.Background()
	_, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "parking"})
	require.NoError(t, err)
	gs, err := c.Groups(ctx)
	require.NoError(t, err)
	require.Len(t, gs, 2)
	assert.Equal(t, ipmanager.Group{Name: "public", Comment: "sold servers", Free: 1<<63 - 1}, gs[0])
	assert.Equal(t, ipmanager.Group{Name: "parking", Comment: "parking", Parking: true, Used: 1, Free: 9}, gs[1])
}

func TestPoolExhaustedIsTyped(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, []ipmanagertest.Option{ipmanagertest.WithGroup("public", "192.0.2.1")})
	ctx := context.Background()
	_, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public", Family: ipmanager.IPv6})
	var pe *ipmanager.PoolExhaustedError
	require.ErrorAs(t, err, &pe, "a group without IPv6 ranges has no IPv6 address")
	assert.Equal(t, ipmanager.IPv6, pe.Family)
	assert.Equal(t, "public", pe.Group)
	var panelErr *ipmanager.Error
	require.ErrorAs(t, err, &panelErr)
	assert.Equal(t, "limit", panelErr.Type)
	assert.Equal(t, "iptype", panelErr.Object)
	assert.True(t, ipmanager.IsPoolExhausted(err))
	assert.False(t, ipmanager.IsUncertain(err))
}

func TestArgumentErrorsSendNothing(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, nil)
	ctx := context.Background()
	cases := []ipmanager.AllocateRequest{
		{Group: "public", Family: "ipv5"},
		{Group: ""},
		{Group: "  "},
		{Group: "public", Family: ipmanager.IPv6, IP: ip("198.51.100.3")},
		{Group: "public", Domain: "has space.example.com"},
		{Group: "public", Note: "line\nbreak"},
		{Group: "public", IP: netip.MustParseAddr("fe80::1%eth0")},
	}
	for _, r := range cases {
		_, err := c.Allocate(ctx, r)
		var ae *ipmanager.ArgumentError
		require.ErrorAs(t, err, &ae, "%+v", r)
		assert.ErrorIs(t, err, ipmanager.ErrInvalidArgument)
	}
	_, err := ipmanager.ParseIP("300.1.1.1")
	assert.ErrorIs(t, err, ipmanager.ErrInvalidArgument)
	a, err := ipmanager.ParseIP(" ::ffff:192.0.2.1 ")
	require.NoError(t, err)
	assert.Equal(t, ip("192.0.2.1"), a)
	_, err = c.Get(ctx, netip.Addr{})
	assert.ErrorIs(t, err, ipmanager.ErrInvalidArgument)
	_, err = c.FindByDomainNote(ctx, "", "")
	assert.ErrorIs(t, err, ipmanager.ErrInvalidArgument)
	assert.Zero(t, s.Requests(), "nothing reached the panel")
}

func TestUnpark(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, nil)
	ctx := context.Background()

	// Parked servers hold parking addresses.
	p1, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "parking", Domain: "free.ds"})
	require.NoError(t, err)
	p2, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "parking", Domain: "free.ds"})
	require.NoError(t, err)

	// Sold: a public address, the parking one goes back.
	pub, err := c.Unpark(ctx, p1.IP, ipmanager.AllocateRequest{Group: "public", Domain: "buyer1.example.com"}, false)
	require.NoError(t, err)
	assert.Equal(t, ip("198.51.100.1"), pub.IP)
	_, ok := s.Address(p1.IP)
	assert.False(t, ok, "parking address released")

	// Integration never changes addresses: the parking address is re-typed.
	kept, err := c.Unpark(ctx, p2.IP, ipmanager.AllocateRequest{Group: "public", Domain: "buyer2.example.com", Note: "o2"}, true)
	require.NoError(t, err)
	assert.Equal(t, ipmanager.Address{IP: p2.IP, Family: ipmanager.IPv4, Group: "public", Domain: "buyer2.example.com", Note: "o2", Used: true}, kept)
	stored, _ := s.Address(p2.IP)
	assert.Equal(t, "public", stored.Group)

	_, err = c.Unpark(ctx, p2.IP, ipmanager.AllocateRequest{Group: "public", IP: ip("198.51.100.9")}, true)
	assert.ErrorIs(t, err, ipmanager.ErrInvalidArgument)
}

func TestFindByDomainNote(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, nil)
	ctx := context.Background()
	a, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public", Domain: "x.example.com", Note: "op-1"})
	require.NoError(t, err)
	_, err = c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public", Domain: "x.example.com", Note: "op-2"})
	require.NoError(t, err)
	found, err := c.FindByDomainNote(ctx, "x.example.com", "op-1")
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, a.IP, found[0].IP)
	found, err = c.FindByDomainNote(ctx, "", "op-2")
	require.NoError(t, err)
	require.Len(t, found, 1)
	found, err = c.FindByDomainNote(ctx, "y.example.com", "op-1")
	require.NoError(t, err)
	assert.Empty(t, found)
}

func TestPanelErrorsAreTyped(t *testing.T) {
	t.Parallel()
	s, c := newEnv(t, nil)
	ctx := context.Background()
	s.Inject(ipmanagertest.Fault{Match: "ip", Kind: ipmanagertest.FaultPanelError, Times: 1,
		Err: &ipmanagertest.PanelError{Type: "access", Object: "ip"}})
	_, err := c.List(ctx, ipmanager.ListOptions{})
	assert.True(t, ipmanager.IsAccess(err), "%v", err)
	var pe *ipmanager.Error
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, "ip", pe.Func)

	// A real panel that reports exhaustion with another type but the usual
	// words is still recognised.
	s.Inject(ipmanagertest.Fault{Match: "ip.edit", Kind: ipmanagertest.FaultPanelError, Times: 1,
		Err: &ipmanagertest.PanelError{Type: "value", Object: "ip", Message: "No free IP addresses in the pool"}})
	_, err = c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	assert.ErrorIs(t, err, ipmanager.ErrPoolExhausted)
}
