package ispmanager_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

func TestUsersCreateGetList(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, []ispmanagertest.Option{
		ispmanagertest.WithPreset("Site hosting", ispmanager.Limits{
			Databases: ispmanager.Int(25), Domains: ispmanager.Int(25), QuotaMiB: ispmanager.Int(1024),
		}),
	})
	ctx := context.Background()
	req := &ispmanager.UserCreateRequest{
		Name: "user117", Password: "Pw-user117-x", FullName: "Service 117", Preset: "Site hosting",
		Limits: ispmanager.Limits{FTPUsers: ispmanager.Int(3), Extra: map[string]string{"php_mode": "php_mode_fcgi_nginxfpm"}},
		Domain: "example.com", Email: "owner@example.com",
		IPSource: ispmanager.IPAuto, IPType: ispmanager.IPv4,
	}
	u, err := c.Users.Create(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "user117", u.Name)
	assert.True(t, u.Active)

	got, err := c.Users.Get(ctx, "user117")
	require.NoError(t, err)
	assert.Equal(t, "Service 117", got.FullName)
	assert.Equal(t, "Site hosting", got.Preset)
	admin, _ := srv.Admin()
	assert.Equal(t, admin, got.Owner)
	assert.Equal(t, 16, got.Level)
	assert.True(t, got.Active)
	assert.Equal(t, 25, *got.Limits.Databases)
	assert.Equal(t, 1024, *got.Limits.QuotaMiB)
	assert.Equal(t, 3, *got.Limits.FTPUsers)
	assert.Equal(t, "php_mode_fcgi_nginxfpm", got.Limits.Extra["php_mode"])

	list, err := c.Users.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "user117", list[0].Name)
	assert.Equal(t, "1024", list[0].QuotaTotal)

	fu, ok := srv.User("user117")
	require.True(t, ok)
	assert.Equal(t, "example.com", fu.Domain)
	assert.Equal(t, "auto", fu.IPSource)
	assert.Equal(t, "ipv4", fu.IPType)
	assert.Equal(t, "owner@example.com", fu.Email)
	assert.Equal(t, 1, fu.Usage["webdomains"])
	assert.True(t, srv.CheckPassword("user117", "Pw-user117-x"))
	assert.Equal(t, map[string]string{"example.com": "user117"}, srv.WebDomains())
}

// The documented precedence example over HTTP: template 25/25, tariff 10
// databases → the account has 10 databases and 25 domains.
func TestCreateLimitPrecedenceExample(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, []ispmanagertest.Option{
		ispmanagertest.WithPreset("Site hosting", ispmanager.Limits{Databases: ispmanager.Int(25), Domains: ispmanager.Int(25)}),
	})
	ctx := context.Background()
	tmpl, err := c.Presets.Get(ctx, "Site hosting")
	require.NoError(t, err)
	tariff := ispmanager.Limits{Databases: ispmanager.Int(10)}

	r := createReq("site1")
	r.Preset, r.Limits = "Site hosting", tariff
	_, err = c.Users.Create(ctx, r)
	require.NoError(t, err)
	got, err := c.Users.Get(ctx, "site1")
	require.NoError(t, err)
	assert.Equal(t, 10, *got.Limits.Databases)
	assert.Equal(t, 25, *got.Limits.Domains)

	// The panel's result is what MergeLimits predicts.
	want := ispmanager.MergeLimits(tmpl.Limits, tariff)
	assert.Equal(t, want.Values(), got.Limits.Values())
}

func TestCreateWithMissingPresetCreatesItUnlimited(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	_, err := c.Presets.Get(ctx, "New plan")
	require.True(t, ispmanager.IsNotFound(err), "%v", err)

	r := createReq("np1")
	r.Preset = "New plan"
	r.Limits = ispmanager.Limits{Databases: ispmanager.Int(2)}
	_, err = c.Users.Create(ctx, r)
	require.NoError(t, err)

	p, err := c.Presets.Get(ctx, "New plan")
	require.NoError(t, err)
	assert.Equal(t, ispmanager.UnlimitedLimits().Values(), p.Limits.Values())
	assert.Equal(t, ispmanager.Unlimited, *p.Limits.Domains)

	u, err := c.Users.Get(ctx, "np1")
	require.NoError(t, err)
	assert.Equal(t, 2, *u.Limits.Databases)
	assert.Equal(t, ispmanager.Unlimited, *u.Limits.QuotaMiB)
	_, ok := srv.Preset("New plan")
	assert.True(t, ok)

	names, err := c.Presets.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"New plan"}, names)
}

func TestCreateDuplicateUserIsTypedError(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	_, err := c.Users.Create(ctx, createReq("user_665"))
	require.NoError(t, err)
	_, err = c.Users.Create(ctx, createReq("user_665"))
	require.Error(t, err)
	assert.True(t, ispmanager.IsUserExists(err))
	assert.True(t, ispmanager.IsExists(err))
	assert.False(t, ispmanager.IsDomainExists(err))
	var pe *ispmanager.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "exists", pe.Type)
	assert.Equal(t, "user", pe.Object)
	assert.Equal(t, "user_665", pe.Value)

	// The engine's retry with the next candidate name succeeds.
	_, err = c.Users.Create(ctx, createReq("user_6651"))
	require.NoError(t, err)

	// The administrator's own login is taken too.
	admin, _ := srv.Admin()
	_, err = c.Users.Create(ctx, createReq(admin))
	assert.True(t, ispmanager.IsUserExists(err), "%v", err)
}

func TestCreateExistingDomain(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	srv.AddWebDomain("taken.example", "someone")
	ctx := context.Background()
	r := createReq("dom1")
	r.Domain = "taken.example"
	_, err := c.Users.Create(ctx, r)
	require.Error(t, err)
	assert.True(t, ispmanager.IsDomainExists(err))
	assert.False(t, ispmanager.IsUserExists(err))
	_, ok := srv.User("dom1")
	assert.False(t, ok, "nothing is created on exists/name")

	// BILLmanager retries without the domain.
	r.Domain = ""
	_, err = c.Users.Create(ctx, r)
	require.NoError(t, err)

	// A zero WWW-domain limit skips the WWW domain, so no conflict.
	r2 := createReq("dom2")
	r2.Domain = "taken.example"
	r2.Limits.WebDomains = ispmanager.Int(0)
	_, err = c.Users.Create(ctx, r2)
	require.NoError(t, err)
	u, _ := srv.User("dom2")
	assert.Equal(t, 0, u.Usage["webdomains"])
	assert.Equal(t, 1, u.Usage["domains"])
}

func TestUpdateLowerBelowUsageRefused(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	r := createReq("busy")
	r.Limits = ispmanager.Limits{Databases: ispmanager.Int(10), QuotaMiB: ispmanager.Int(200)}
	_, err := c.Users.Create(ctx, r)
	require.NoError(t, err)
	require.NoError(t, srv.SetUsage("busy", "limit_quota", 100))
	require.NoError(t, srv.SetUsage("busy", "db", 5))

	err = c.Users.Update(ctx, "busy", &ispmanager.UserUpdateRequest{Limits: ispmanager.Limits{QuotaMiB: ispmanager.Int(50)}})
	require.Error(t, err)
	assert.True(t, ispmanager.IsLimitBelowUsage(err))
	assert.True(t, ispmanager.IsValue(err), "the panel error stays reachable")
	var lb *ispmanager.LimitBelowUsageError
	require.ErrorAs(t, err, &lb)
	assert.Equal(t, "busy", lb.User)
	assert.Equal(t, "quota", lb.Limit)
	assert.Equal(t, "50", lb.Requested)
	assert.Equal(t, 100, lb.Usage)
	assert.Contains(t, err.Error(), "below current usage")

	// Nothing changed, not even the limits that were fine.
	err = c.Users.Update(ctx, "busy", &ispmanager.UserUpdateRequest{Limits: ispmanager.Limits{
		Databases: ispmanager.Int(4), FTPUsers: ispmanager.Int(1),
	}})
	require.True(t, ispmanager.IsLimitBelowUsage(err), "%v", err)
	u, _ := srv.User("busy")
	assert.Equal(t, 10, *u.Limits.Databases)
	assert.Nil(t, u.Limits.FTPUsers)

	// Lowering to exactly the usage, raising, and unlimited are accepted.
	require.NoError(t, c.Users.Update(ctx, "busy", &ispmanager.UserUpdateRequest{Limits: ispmanager.Limits{
		Databases: ispmanager.Int(5), QuotaMiB: ispmanager.Int(ispmanager.Unlimited),
	}}))
	got, err := c.Users.Get(ctx, "busy")
	require.NoError(t, err)
	assert.Equal(t, 5, *got.Limits.Databases)
	assert.Equal(t, ispmanager.Unlimited, *got.Limits.QuotaMiB)

	// Moving to a preset whose limits are below usage is refused as well.
	srv.AddPreset("tiny", ispmanager.Limits{Databases: ispmanager.Int(1)})
	tiny := "tiny"
	err = c.Users.Update(ctx, "busy", &ispmanager.UserUpdateRequest{Preset: &tiny})
	require.True(t, ispmanager.IsLimitBelowUsage(err), "%v", err)
	require.ErrorAs(t, err, &lb)
	assert.Equal(t, "db", lb.Limit)
	// With the tariff's explicit value it works: billing wins over the preset.
	require.NoError(t, c.Users.Update(ctx, "busy", &ispmanager.UserUpdateRequest{Preset: &tiny, Limits: ispmanager.Limits{Databases: ispmanager.Int(8)}}))
	u, _ = srv.User("busy")
	assert.Equal(t, "tiny", u.Preset)
	assert.Equal(t, 8, *u.Limits.Databases)
}

func TestUpdatePresetAndFullName(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, []ispmanagertest.Option{
		ispmanagertest.WithPreset("small", ispmanager.Limits{Databases: ispmanager.Int(1), Domains: ispmanager.Int(1)}),
		ispmanagertest.WithPreset("big", ispmanager.Limits{Databases: ispmanager.Int(50), Domains: ispmanager.Int(50)}),
	})
	ctx := context.Background()
	r := createReq("mover")
	r.Preset = "small"
	_, err := c.Users.Create(ctx, r)
	require.NoError(t, err)
	big, name := "big", "New Name"
	require.NoError(t, c.Users.Update(ctx, "mover", &ispmanager.UserUpdateRequest{
		Preset: &big, FullName: &name, Limits: ispmanager.Limits{Domains: ispmanager.Int(7)},
	}))
	u, err := c.Users.Get(ctx, "mover")
	require.NoError(t, err)
	assert.Equal(t, "big", u.Preset)
	assert.Equal(t, "New Name", u.FullName)
	assert.Equal(t, 50, *u.Limits.Databases)
	assert.Equal(t, 7, *u.Limits.Domains)

	err = c.Users.Update(ctx, "ghost", &ispmanager.UserUpdateRequest{FullName: &name})
	assert.True(t, ispmanager.IsNotFound(err), "%v", err)
	assert.Equal(t, 3, srv.CallCount("user.edit")) // two commits and the view of Get
}

func TestSetPassword(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	_, err := c.Users.Create(ctx, createReq("pwuser"))
	require.NoError(t, err)
	require.NoError(t, c.Users.SetPassword(ctx, "pwuser", "N3w-passw0rd"))
	assert.True(t, srv.CheckPassword("pwuser", "N3w-passw0rd"))

	// The new password logs in to the panel.
	uc, err := ispmanager.NewClient(srv.URL(), ispmanager.WithCredentials("pwuser", "N3w-passw0rd"), ispmanager.WithSessionAuth())
	require.NoError(t, err)
	ed, err := uc.Edition(ctx)
	require.NoError(t, err)
	assert.Equal(t, ispmanager.EditionBusiness, ed)

	err = c.Users.SetPassword(ctx, "ghost", "whatever-1")
	assert.True(t, ispmanager.IsNotFound(err), "%v", err)
}

func TestSuspendResumeDelete(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	_, err := c.Users.Create(ctx, createReq("life"))
	require.NoError(t, err)

	require.NoError(t, c.Users.Suspend(ctx, "life"))
	require.NoError(t, c.Users.Suspend(ctx, "life"), "suspend is repeatable")
	u, err := c.Users.Get(ctx, "life")
	require.NoError(t, err)
	assert.False(t, u.Active)
	fu, _ := srv.User("life")
	assert.False(t, fu.Active)

	require.NoError(t, c.Users.Resume(ctx, "life"))
	u, err = c.Users.Get(ctx, "life")
	require.NoError(t, err)
	assert.True(t, u.Active)

	require.NoError(t, c.Users.Delete(ctx, "life"))
	_, err = c.Users.Get(ctx, "life")
	assert.True(t, ispmanager.IsNotFound(err), "%v", err)
	assert.True(t, ispmanager.IsNotFound(c.Users.Delete(ctx, "life")))
	assert.True(t, ispmanager.IsNotFound(c.Users.Suspend(ctx, "life")))
	assert.True(t, ispmanager.IsNotFound(c.Users.Resume(ctx, "life")))
	assert.Empty(t, srv.Users())
}

func TestUsage(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	r := createReq("stat")
	r.Limits.Databases = ispmanager.Int(10)
	_, err := c.Users.Create(ctx, r)
	require.NoError(t, err)
	require.NoError(t, srv.SetUsage("stat", "db", 4))
	us, err := c.Users.Usage(ctx, "stat")
	require.NoError(t, err)
	assert.Equal(t, ispmanager.Usage{Used: 4, Total: 10}, us["db"])
	assert.Equal(t, ispmanager.Usage{Used: 0, Total: ispmanager.Unlimited}, us["quota"])
	_, err = c.Users.Usage(ctx, "ghost")
	assert.True(t, ispmanager.IsNotFound(err), "%v", err)
}

// Concurrent creates of one name: exactly one wins, the others get the
// typed "user exists" error.
func TestConcurrentCreateSameName(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = c.Users.Create(ctx, createReq("race"))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		assert.True(t, ispmanager.IsUserExists(err), "%v", err)
	}
	assert.Equal(t, 1, ok)
	assert.Len(t, srv.Users(), 1)
}

func TestArgumentErrorsSendNothing(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	long := ""
	for range 33 {
		long += "a"
	}
	bad := []*ispmanager.UserCreateRequest{
		nil,
		{Name: "", Password: "x"},
		{Name: "1abc", Password: "x"},
		{Name: "bad name", Password: "x"},
		{Name: "a, b", Password: "x"},
		{Name: long, Password: "x"},
		{Name: "ok", Password: ""},
		{Name: "ok", Password: "a\nb"},
		{Name: "ok", Password: "x", Domain: "not a domain"},
		{Name: "ok", Password: "x", Preset: "a,b"},
		{Name: "ok", Password: "x", IPSource: "dhcp"},
		{Name: "ok", Password: "x", IPType: ispmanager.IPv6},
		{Name: "ok", Password: "x", Limits: ispmanager.Limits{Databases: ispmanager.Int(-3)}},
		{Name: "ok", Password: "x", Limits: ispmanager.Limits{Extra: map[string]string{"db": "1"}}},
		{Name: "ok", Password: "x", Email: "nope"},
	}
	for i, r := range bad {
		_, err := c.Users.Create(ctx, r)
		var ae *ispmanager.ArgumentError
		assert.ErrorAs(t, err, &ae, "case %d", i)
	}
	var ae *ispmanager.ArgumentError
	assert.ErrorAs(t, c.Users.Update(ctx, "ok", &ispmanager.UserUpdateRequest{}), &ae)
	assert.ErrorAs(t, c.Users.Update(ctx, "ok", &ispmanager.UserUpdateRequest{Limits: ispmanager.Limits{QuotaMiB: ispmanager.Int(-7)}}), &ae)
	assert.ErrorAs(t, c.Users.Update(ctx, "", &ispmanager.UserUpdateRequest{}), &ae)
	assert.ErrorAs(t, c.Users.SetPassword(ctx, "ok", ""), &ae)
	assert.ErrorAs(t, c.Users.Suspend(ctx, "x y"), &ae)
	assert.ErrorAs(t, c.Users.Resume(ctx, ""), &ae)
	assert.ErrorAs(t, c.Users.Delete(ctx, "a,b"), &ae)
	_, err := c.Users.Get(ctx, "")
	assert.ErrorAs(t, err, &ae)
	_, err = c.Users.Usage(ctx, "")
	assert.ErrorAs(t, err, &ae)
	_, err = c.LoginURL(ctx, "")
	assert.ErrorAs(t, err, &ae)
	_, err = c.Presets.Get(ctx, "")
	assert.ErrorAs(t, err, &ae)
	assert.ErrorAs(t, c.Presets.Create(ctx, nil), &ae)
	assert.ErrorAs(t, c.Presets.Update(ctx, "p", ispmanager.Limits{}), &ae)
	assert.Zero(t, srv.Requests(), "nothing reaches the panel")
}

// user.add.finish is sent once: a 502 is not retried (the caller re-reads
// state), while an idempotent call is retried through the same fault.
func TestCreateIsNotRetriedButSuspendIs(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	srv.Inject(ispmanagertest.Fault{Match: "user.add.finish", Kind: ispmanagertest.FaultStatus, Status: 502, Times: 1})
	_, err := c.Users.Create(ctx, createReq("once"))
	require.Error(t, err)
	assert.Equal(t, int64(1), srv.Requests())
	_, ok := srv.User("once")
	assert.False(t, ok)

	_, err = c.Users.Create(ctx, createReq("once"))
	require.NoError(t, err)
	srv.Inject(ispmanagertest.Fault{Match: "user.suspend", Kind: ispmanagertest.FaultStatus, Status: 503, Times: 2})
	require.NoError(t, c.Users.Suspend(ctx, "once"))
	u, _ := srv.User("once")
	assert.False(t, u.Active)
}

// The connection drops after the panel created the user: the error says
// the call may have happened, and Get confirms it did.
func TestCreateDroppedAfterExecution(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil)
	ctx := context.Background()
	srv.Inject(ispmanagertest.Fault{Match: "user.add.finish", Kind: ispmanagertest.FaultDropAfter, Times: 1})
	_, err := c.Users.Create(ctx, createReq("ghosted"))
	require.Error(t, err)
	assert.True(t, ispmanager.MayHaveHappened(err), "%v", err)
	var te *ispmanager.TransportError
	require.True(t, errors.As(err, &te))
	_, err = c.Users.Get(ctx, "ghosted")
	require.NoError(t, err, "the user exists: do not create again")
	_, err = c.Users.Create(ctx, createReq("ghosted"))
	assert.True(t, ispmanager.IsUserExists(err))
}

func TestMalformedAnswerIsProtocolError(t *testing.T) {
	t.Parallel()
	srv, c := newEnv(t, nil, ispmanager.WithRetry(0, time.Millisecond, time.Millisecond))
	srv.Inject(ispmanagertest.Fault{Match: "user", Kind: ispmanagertest.FaultMalformed, Times: 1})
	_, err := c.Users.List(context.Background())
	var pe *ispmanager.ProtocolError
	require.ErrorAs(t, err, &pe)
	_, err = c.Users.List(context.Background())
	require.NoError(t, err)
	srv.ClearFaults()
	calls := srv.Calls()
	require.NotEmpty(t, calls)
	assert.Equal(t, "user", calls[len(calls)-1].Func)
}
