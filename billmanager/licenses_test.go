package billmanager_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/billmanager"
	"github.com/ispkit/ispkit/billmanager/billmanagertest"
)

var (
	serverIP = netip.MustParseAddr("203.0.113.10")
	today    = time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC)
)

func newFake(t *testing.T, opts ...billmanagertest.Option) (*billmanagertest.Server, *billmanager.Client) {
	t.Helper()
	opts = append([]billmanagertest.Option{billmanagertest.WithClock(func() time.Time { return today })}, opts...)
	fake := billmanagertest.NewServer(opts...)
	t.Cleanup(fake.Close)
	c, err := billmanager.NewClient(fake.URL(),
		billmanager.WithCredentials(billmanagertest.DefaultUser, billmanagertest.DefaultPassword),
		billmanager.WithRetry(2, time.Millisecond, 2*time.Millisecond))
	require.NoError(t, err)
	return fake, c
}

func order(name string) billmanager.OrderRequest {
	return billmanager.OrderRequest{Pricelist: 55227, Period: 1, IP: serverIP, Name: name}
}

func countFunc(fake *billmanagertest.Server, fn string) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Func == fn {
			n++
		}
	}
	return n
}

func TestLicenseLifecycle(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t, billmanagertest.WithKeyAfterReads(2))
	ctx := context.Background()
	require.NoError(t, c.CheckConnection(ctx))

	name := billmanager.LicenseName("101", "srv-7")
	assert.Equal(t, "Item #101 addon srv-7", name)
	l, err := c.Order(ctx, order(name))
	require.NoError(t, err)
	assert.NotEmpty(t, l.ID)
	assert.Equal(t, name, l.Name)

	// Exactly what was sent reached the licensing server.
	req := fake.Requests()[0]
	assert.Equal(t, "soft.order.param", req.Func)
	for k, v := range map[string]string{"pricelist": "55227", "period": "1", "ip": "203.0.113.10", "licname": name,
		"autoprolong": "null", "skipbasket": "on", "clicked_button": "finish", "sok": "ok", "authinfo": "[REDACTED]"} {
		assert.Equal(t, v, req.Params.Get(k), k)
	}

	// The key is generated asynchronously: the first read has none.
	got, err := c.Get(ctx, l.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Key)
	assert.Equal(t, billing.StatusActive, got.Status)
	assert.Equal(t, "2025-04-10", got.ExpireDate.Format(time.DateOnly))
	assert.Equal(t, serverIP, got.IP)
	assert.Equal(t, int64(55227), got.Pricelist)
	got, err = c.Get(ctx, l.ID)
	require.NoError(t, err)
	id := mustID(t, l.ID)
	stored, _ := fake.License(id)
	assert.Equal(t, stored.Key, got.Key)
	assert.NotEmpty(t, got.Key)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v %s", got, got, got, got), got.Key, "the key is never printed")

	require.NoError(t, c.Suspend(ctx, l.ID))
	stored, _ = fake.License(id)
	assert.Equal(t, billmanagertest.StatusSuspended, stored.Status)
	got, err = c.Get(ctx, l.ID)
	require.NoError(t, err)
	assert.Equal(t, billing.StatusSuspended, got.Status)
	assert.Equal(t, "Suspended", got.StatusText)
	require.NoError(t, c.Resume(ctx, l.ID))
	stored, _ = fake.License(id)
	assert.Equal(t, billmanagertest.StatusActive, stored.Status)

	exp, err := c.Prolong(ctx, l.ID, 12)
	require.NoError(t, err)
	assert.Equal(t, "2026-04-10", exp.Format(time.DateOnly))

	// Close returns the license to the pool, where the next server finds
	// it; it is not deleted.
	require.NoError(t, c.Close(ctx, l.ID))
	stored, _ = fake.License(id)
	assert.Equal(t, "free.lic", stored.Name)
	assert.Equal(t, netip.IPv4Unspecified(), stored.IP)
	assert.Equal(t, billmanagertest.StatusSuspended, stored.Status)
	pool, err := c.Pool(ctx, 55227)
	require.NoError(t, err)
	require.Len(t, pool, 1)
	assert.True(t, pool[0].Free())
	none, err := c.Pool(ctx, 55228)
	require.NoError(t, err)
	assert.Empty(t, none)

	// Reuse from the pool: bind, resume, new key.
	next := netip.MustParseAddr("203.0.113.20")
	require.NoError(t, c.Edit(ctx, l.ID, billmanager.LicenseName("102", "srv-9"), next))
	require.NoError(t, c.Resume(ctx, l.ID))
	key, err := c.NewKey(ctx, l.ID)
	require.NoError(t, err)
	stored, _ = fake.License(id)
	assert.Equal(t, stored.Key, key)
	assert.Equal(t, 1, stored.KeyChanges)
	assert.Equal(t, next, stored.IP)
	found, err := c.Find(ctx, "Item #102 addon srv-9", next)
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, l.ID, found[0].ID)
	assert.Len(t, fake.Licenses(), 1, "one license bought in all")
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	_, err := fmt.Sscan(s, &n)
	require.NoError(t, err)
	return n
}

func TestOrderRefusesBadInputBeforeSending(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t)
	ok := order("Item #1 addon a")
	tests := []struct {
		name   string
		mutate func(*billmanager.OrderRequest)
		arg    string
	}{
		{"no pricelist", func(r *billmanager.OrderRequest) { r.Pricelist = 0 }, "Pricelist"},
		{"period 3", func(r *billmanager.OrderRequest) { r.Period = 3 }, "Period"},
		{"no ip", func(r *billmanager.OrderRequest) { r.IP = netip.Addr{} }, "IP"},
		{"pool ip", func(r *billmanager.OrderRequest) { r.IP = netip.IPv4Unspecified() }, "IP"},
		{"blank name", func(r *billmanager.OrderRequest) { r.Name = "  " }, "Name"},
		{"control characters", func(r *billmanager.OrderRequest) { r.Name = "a\nb" }, "Name"},
		{"too long", func(r *billmanager.OrderRequest) { r.Name = strings.Repeat("x", 256) }, "Name"},
		{"pool name", func(r *billmanager.OrderRequest) { r.Name = "free.lic" }, "Name"},
		{"autoprolong 6", func(r *billmanager.OrderRequest) { r.AutoProlong = 6 }, "AutoProlong"},
		{"negative project", func(r *billmanager.OrderRequest) { r.Project = -1 }, "Project"},
		{"remote id with newline", func(r *billmanager.OrderRequest) { r.RemoteID = "a\r\n" }, "RemoteID"},
	}
	for _, tc := range tests {
		r := ok
		tc.mutate(&r)
		_, err := c.Order(context.Background(), r)
		var ae *billmanager.ArgumentError
		require.ErrorAs(t, err, &ae, tc.name)
		assert.Equal(t, tc.arg, ae.Arg, tc.name)
		assert.True(t, ispkit.IsInvalidArgument(err), tc.name)
	}
	for _, err := range []error{
		c.Suspend(context.Background(), "1 OR 1=1"),
		c.Resume(context.Background(), ""),
		c.Close(context.Background(), "-4"),
		c.Edit(context.Background(), "5", "", serverIP),
		c.Edit(context.Background(), "5", "x", netip.IPv4Unspecified()),
	} {
		assert.True(t, ispkit.IsInvalidArgument(err), "%v", err)
	}
	_, err := c.Prolong(context.Background(), "5", 2)
	assert.True(t, ispkit.IsInvalidArgument(err))
	_, err = c.Get(context.Background(), "x")
	assert.True(t, ispkit.IsInvalidArgument(err))
	_, err = c.Find(context.Background(), "", serverIP)
	assert.True(t, ispkit.IsInvalidArgument(err))
	assert.Empty(t, fake.Requests(), "nothing was sent")
}

// An order whose answer is lost is not sent again; Find tells whether it
// went through.
func TestOrderLostAnswerIsFoundAgain(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t)
	ctx := context.Background()
	fake.Inject(billmanagertest.Fault{Match: "soft.order.param", Kind: billmanagertest.FaultDropAfter})
	name := billmanager.LicenseName("7", "srv-1")
	_, err := c.Order(ctx, order(name))
	require.Error(t, err)
	assert.True(t, billmanager.IsUncertain(err), "%v", err)
	var ue *billmanager.UncertainError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, 1, countFunc(fake, "soft.order.param"), "never resent")

	found, err := c.Find(ctx, name, serverIP)
	require.NoError(t, err)
	require.Len(t, found, 1, "the order went through")
	assert.Len(t, fake.Licenses(), 1)

	// A drop before processing is uncertain too, and nothing was bought.
	fake.Inject(billmanagertest.Fault{Match: "soft.order.param", Kind: billmanagertest.FaultDropBefore})
	_, err = c.Order(ctx, order("Item #8 addon srv-2"))
	assert.True(t, billmanager.IsUncertain(err), "%v", err)
	found, err = c.Find(ctx, "Item #8 addon srv-2", netip.Addr{})
	require.NoError(t, err)
	assert.Empty(t, found)
	assert.Equal(t, 1, countFunc(fake, "soft.order.param"), "the dropped order never reached the function")
	assert.Len(t, fake.Licenses(), 1)

	// A refusal by BILLmanager is not uncertain.
	r := order("Item #9 addon srv-3")
	r.Pricelist = 1
	_, err = c.Order(ctx, r)
	require.Error(t, err)
	assert.False(t, billmanager.IsUncertain(err))
	assert.True(t, billmanager.IsNotFound(err))
}

func TestLicenseErrors(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t, billmanagertest.WithAccount("other", "Other-Pa55"),
		billmanagertest.WithLicense(billmanagertest.License{ID: 5000, Account: "other", Name: "theirs", IP: serverIP, Pricelist: 55227}))
	ctx := context.Background()
	_, err := c.Get(ctx, "5000")
	assert.True(t, billmanager.IsNotFound(err), "another account's license is invisible: %v", err)
	assert.True(t, billmanager.IsNotFound(c.Suspend(ctx, "5000")))
	assert.True(t, billmanager.IsNotFound(c.Close(ctx, "999")))
	l, _ := fake.License(5000)
	assert.Equal(t, billmanagertest.StatusActive, l.Status)

	bad, err := billmanager.NewClient(fake.URL(), billmanager.WithCredentials(billmanagertest.DefaultUser, "wrong"))
	require.NoError(t, err)
	err = bad.CheckConnection(ctx)
	assert.True(t, billmanager.IsAuth(err), "%v", err)
	assert.NotContains(t, err.Error(), "wrong")
	_, err = bad.List(ctx)
	assert.True(t, billmanager.IsAuth(err))
}

func TestSessionAuth(t *testing.T) {
	t.Parallel()
	fake := billmanagertest.NewServer()
	t.Cleanup(fake.Close)
	c, err := billmanager.NewClient(fake.URL(), billmanager.WithSessionAuth(),
		billmanager.WithCredentials(billmanagertest.DefaultUser, billmanagertest.DefaultPassword))
	require.NoError(t, err)
	_, err = c.Order(context.Background(), order("Item #1 addon x"))
	require.NoError(t, err)
	for _, r := range fake.Requests() {
		assert.False(t, r.Params.Has("authinfo"), "session mode sends auth=")
		assert.True(t, r.Params.Has("auth"))
	}
}

func TestNewClientOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		opts []billmanager.Option
	}{
		{"https://api.ispsystem.com/manager/billmgr", nil},
		{"ftp://x/billmgr", []billmanager.Option{billmanager.WithCredentials("u", "p")}},
		{"https://u:p@x/billmgr", []billmanager.Option{billmanager.WithCredentials("u", "p")}},
		{"https://x/billmgr", []billmanager.Option{billmanager.WithCredentials("u:x", "p")}},
		{"https://x/billmgr", []billmanager.Option{billmanager.WithCredentials("u", "p"), billmanager.WithTimeout(0)}},
		{"https://x/billmgr", []billmanager.Option{billmanager.WithCredentials("u", "p"), nil}},
		{"https://x/billmgr", []billmanager.Option{billmanager.WithCredentials("u", "p"), billmanager.WithLang("EN")}},
	} {
		_, err := billmanager.NewClient(tc.url, tc.opts...)
		assert.True(t, ispkit.IsInvalidArgument(err), "%s: %v", tc.url, err)
	}
	c, err := billmanager.NewClient(billmanager.ISPsystemURL, billmanager.WithCredentials("u", "p"),
		billmanager.WithLang("ru"), billmanager.WithApplication("ispkit", "1"), billmanager.WithTimeout(time.Second))
	require.NoError(t, err)
	assert.Equal(t, billmanager.ISPsystemURL, c.Endpoint())
}

// The fake refuses what it does not model, where a real BILLmanager would
// silently ignore it.
func TestFakeIsStrict(t *testing.T) {
	t.Parallel()
	fake := billmanagertest.NewServer()
	t.Cleanup(fake.Close)
	post := func(v url.Values) string {
		v.Set("out", "json")
		v.Set("authinfo", billmanagertest.DefaultUser+":"+billmanagertest.DefaultPassword)
		resp, err := http.PostForm(fake.URL(), v)
		require.NoError(t, err)
		defer resp.Body.Close()
		return readAll(t, resp)
	}
	base := func() url.Values {
		return url.Values{"func": {"soft.order.param"}, "sok": {"ok"}, "skipbasket": {"on"}, "pricelist": {"55227"},
			"period": {"1"}, "ip": {"203.0.113.5"}, "licname": {"x"}}
	}
	v := base()
	v.Set("coupon", "FREE")
	assert.Contains(t, post(v), `"$object":"coupon"`)
	v = base()
	v.Del("skipbasket")
	assert.Contains(t, post(v), `"$object":"skipbasket"`)
	v = base()
	v.Set("period", "6")
	assert.Contains(t, post(v), `"$object":"period"`)
	assert.Contains(t, post(url.Values{"func": {"soft.delete"}, "elid": {"1"}}), `"$type":"missed"`)
	assert.Empty(t, fake.Licenses())
	assert.Contains(t, post(base()), `"ok"`)
	assert.Len(t, fake.Licenses(), 1)
}

func ExampleClient_Order() {
	fake := billmanagertest.NewServer()
	defer fake.Close()
	// In production: billmanager.NewClient(billmanager.ISPsystemURL, …).
	c, err := billmanager.NewClient(fake.URL(),
		billmanager.WithCredentials(billmanagertest.DefaultUser, billmanagertest.DefaultPassword))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	name := billmanager.LicenseName("101", "srv-7")
	l, err := c.Order(ctx, billmanager.OrderRequest{Pricelist: 55227, Period: 1,
		IP: netip.MustParseAddr("203.0.113.10"), Name: name})
	if billmanager.IsUncertain(err) {
		// The answer was lost: look before buying again.
		found, ferr := c.Find(ctx, name, netip.MustParseAddr("203.0.113.10"))
		fmt.Println(len(found), ferr)
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := c.Get(ctx, l.ID)
	fmt.Println(got.Name, got.IP, got.Status, got.Key != "", err)
	fmt.Println(c.Suspend(ctx, l.ID), c.Resume(ctx, l.ID), c.Close(ctx, l.ID))
	// Output:
	// Item #101 addon srv-7 203.0.113.10 Active true <nil>
	// <nil> <nil> <nil>
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	var b strings.Builder
	_, err := io.Copy(&b, resp.Body)
	require.NoError(t, err)
	return b.String()
}
