package ipmanagertest

import (
	"io"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRange(t *testing.T) {
	t.Parallel()
	cases := []struct{ spec, first, last string }{
		{"192.0.2.0/24", "192.0.2.1", "192.0.2.254"},
		{"192.0.2.4/31", "192.0.2.4", "192.0.2.5"},
		{"192.0.2.9/32", "192.0.2.9", "192.0.2.9"},
		{"192.0.2.7/29", "192.0.2.1", "192.0.2.6"},
		{"10.0.0.1-10.0.0.100", "10.0.0.1", "10.0.0.100"},
		{" 10.0.0.5 ", "10.0.0.5", "10.0.0.5"},
		{"2001:db8::/64", "2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff"},
		{"2001:db8::10-2001:db8::20", "2001:db8::10", "2001:db8::20"},
		{"::ffff:10.0.0.1-10.0.0.2", "10.0.0.1", "10.0.0.2"},
	}
	for _, c := range cases {
		r, err := parseRange(c.spec)
		require.NoError(t, err, c.spec)
		assert.Equal(t, c.first, r.first.String(), c.spec)
		assert.Equal(t, c.last, r.last.String(), c.spec)
	}
	for _, bad := range []string{"", "10.0.0.9-10.0.0.1", "10.0.0.1-2001:db8::1", "nonsense", "10.0.0.0/33", "fe80::1%eth0"} {
		_, err := parseRange(bad)
		assert.Error(t, err, bad)
	}
	r, _ := parseRange("2001:db8::/64")
	assert.Equal(t, int64(math.MaxInt64), r.size())
	r, _ = parseRange("10.0.0.1-10.0.0.100")
	assert.Equal(t, int64(100), r.size())
}

func TestNewServerPanicsOnBadConfig(t *testing.T) {
	t.Parallel()
	assert.Panics(t, func() { NewServer(WithGroup("public", "not-a-range")) })
	assert.Panics(t, func() {
		NewServer(WithGroup("public", "10.0.0.1-10.0.0.2"),
			WithAllocated(Address{IP: netip.MustParseAddr("10.0.0.9"), Group: "public"}))
	})
}

func TestStateAccessorsReturnCopies(t *testing.T) {
	t.Parallel()
	s := NewServer(
		WithGroup("public", "10.0.0.1-10.0.0.4"),
		WithAllocated(Address{IP: netip.MustParseAddr("10.0.0.2"), Group: "public", Domain: "x.example.com"}),
	)
	defer s.Close()
	as := s.Addresses()
	require.Len(t, as, 1)
	assert.Equal(t, "ipv4", as[0].Family)
	as[0].Domain = "changed"
	a, ok := s.Address(netip.MustParseAddr("10.0.0.2"))
	require.True(t, ok)
	assert.Equal(t, "x.example.com", a.Domain)

	gs := s.Groups()
	gs[0].Ranges[0].Hidden = true
	assert.False(t, s.Groups()[0].Ranges[0].Hidden)
	assert.Equal(t, 1, s.Groups()[0].Used)
	assert.Equal(t, int64(3), s.FreeCount("public"))
	assert.Zero(t, s.FreeCount("nosuch"))

	require.NoError(t, s.AddRange("extra", "10.1.0.0/30", true))
	assert.Error(t, s.AddRange("extra", "bad", false))
	assert.Zero(t, s.FreeCount("extra"), "hidden ranges are not counted as free")
	assert.Len(t, s.Groups(), 2)
}

// TestWireAnswers checks the raw documents a client sees: allocation id,
// the pool-exhausted error shape and the xml output.
func TestWireAnswers(t *testing.T) {
	t.Parallel()
	s := NewServer(WithGroup("public", "10.0.0.1"))
	defer s.Close()
	post := func(v url.Values) string {
		v.Set("authinfo", DefaultUser+":"+DefaultPassword)
		resp, err := http.PostForm(s.URL(), v)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		return string(b)
	}
	body := post(url.Values{"func": {"ip.edit"}, "sok": {"ok"}, "iptype": {"public"}, "family": {"ipv4"}, "out": {"json"}})
	assert.Contains(t, body, `"ok":{}`)
	assert.Contains(t, body, `"id":{"$":"10.0.0.1"}`)
	assert.NotContains(t, body, DefaultPassword, "tparams leave out authinfo")

	body = post(url.Values{"func": {"ip.edit"}, "sok": {"ok"}, "iptype": {"public"}, "out": {"json"}})
	assert.Contains(t, body, `"$type":"limit"`)
	assert.Contains(t, body, `"$object":"iptype"`)
	assert.Contains(t, body, `{"$name":"value","$":"public"}`)
	assert.NotContains(t, body, `"$value"`, "the value is a param, never an attribute")

	body = post(url.Values{"func": {"ip"}, "out": {"xml"}})
	assert.True(t, strings.Contains(body, "<ip>10.0.0.1</ip>"), body)

	body = post(url.Values{"func": {"ip.edit"}, "out": {"json"}})
	assert.Contains(t, body, `"slist"`, "blank form lists the groups")
}
