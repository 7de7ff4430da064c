package billing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
)

func mustLimits(t *testing.T, kv map[string]string) billing.Limits {
	t.Helper()
	l, err := billing.LimitsFrom(kv)
	require.NoError(t, err)
	return l
}

func TestMergeLimitsVendorExample(t *testing.T) {
	t.Parallel()
	// Account template "Site hosting": 25 databases, 25 domains. Tariff:
	// 10 databases, domains not configured.
	template := mustLimits(t, map[string]string{"limit_db": "25", "limit_domains": "25"})
	tariff := mustLimits(t, map[string]string{"db": "10"})

	got := billing.MergeLimits(template, tariff)

	db, err := got.Databases()
	require.NoError(t, err)
	assert.Equal(t, int64(10), db)
	domains, err := got.Domains()
	require.NoError(t, err)
	assert.Equal(t, int64(25), domains)
	assert.Equal(t, 2, got.Len())

	// Inputs are untouched.
	v, _ := template.Get("db")
	assert.Equal(t, "25", v)
	assert.False(t, tariff.Has("domains"))
}

func TestMergeLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		template map[string]string
		tariff   map[string]string
		want     map[string]string
	}{
		{"both empty", nil, nil, map[string]string{}},
		{"template only", map[string]string{"quota": "100"}, nil, map[string]string{"quota": "100"}},
		{"tariff only", nil, map[string]string{"quota": "100"}, map[string]string{"quota": "100"}},
		{"tariff wins", map[string]string{"quota": "100", "shell": "on"}, map[string]string{"quota": "50", "shell": "off"}, map[string]string{"quota": "50", "shell": "off"}},
		{"explicit empty wins", map[string]string{"emails": "10"}, map[string]string{"emails": ""}, map[string]string{"emails": ""}},
		{"union", map[string]string{"cpu": "100"}, map[string]string{"memory": "512"}, map[string]string{"cpu": "100", "memory": "512"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := billing.MergeLimits(mustLimits(t, tc.template), mustLimits(t, tc.tariff))
			assert.Equal(t, tc.want, got.Map())
		})
	}
}

func TestMergeLimitsDoesNotAlias(t *testing.T) {
	t.Parallel()
	template := mustLimits(t, map[string]string{"db": "1"})
	got := billing.MergeLimits(template, billing.Limits{})
	require.NoError(t, got.Set("db", "2"))
	v, _ := template.Get("db")
	assert.Equal(t, "1", v)
}

func TestLimitsPrefixAndNames(t *testing.T) {
	t.Parallel()
	var l billing.Limits // zero value is usable
	require.NoError(t, l.Set("limit_ftp_users", "3"))
	require.NoError(t, l.SetInt(billing.LimitQuota, 1024))
	require.NoError(t, l.SetBool("limit_shell", false))

	v, ok := l.Get("ftp_users")
	assert.True(t, ok)
	assert.Equal(t, "3", v)
	assert.True(t, l.Has("limit_quota"))
	assert.Equal(t, []string{"ftp_users", "quota", "shell"}, l.Names())
	assert.Equal(t, map[string]string{"limit_ftp_users": "3", "limit_quota": "1024", "limit_shell": "off"}, l.Params())
	assert.Equal(t, map[string]string{"ftp_users": "3", "quota": "1024", "shell": "off"}, l.Map())

	l.Delete("limit_shell")
	assert.False(t, l.Has("shell"))
	assert.Equal(t, map[string]string{}, billing.Limits{}.Params())
}

func TestLimitsBadNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "limit_", "DB", "web-domains", "quota mb"} {
		var l billing.Limits
		err := l.Set(name, "1")
		var le *billing.LimitError
		require.ErrorAs(t, err, &le, "name %q", name)
		assert.Equal(t, 0, l.Len())
	}
	_, err := billing.LimitsFrom(map[string]string{"db": "1", "limit_db": "2"})
	var le *billing.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "db", le.Name)
}

func TestLimitsTypedAccessors(t *testing.T) {
	t.Parallel()
	l := mustLimits(t, map[string]string{
		"quota": "2048", "db": "5", "domains": "3", "webdomains": "4", "emaildomains": "6",
		"emails": "7", "ftp_users": "8", "cpu": "100", "memory": "512", "process": "40",
		"ssl": "on", "cgi": "maybe", "traff": "lots",
	})
	for _, tc := range []struct {
		get  func() (int64, error)
		want int64
	}{
		{l.QuotaMiB, 2048}, {l.Databases, 5}, {l.Domains, 3}, {l.WebDomains, 4},
		{l.EmailDomains, 6}, {l.Emails, 7}, {l.FTPUsers, 8}, {l.CPU, 100},
		{l.Memory, 512}, {l.Processes, 40},
	} {
		got, err := tc.get()
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}

	on, err := l.Bool(billing.LimitSSL)
	require.NoError(t, err)
	assert.True(t, on)

	_, err = l.Bool(billing.LimitCGI)
	var le *billing.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "maybe", le.Value)

	_, err = l.Int("limit_traff")
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "traff", le.Name)

	_, err = l.Int(billing.LimitScheduler)
	require.ErrorIs(t, err, billing.ErrLimitUnset)
	_, err = l.Bool(billing.LimitShell)
	require.ErrorIs(t, err, billing.ErrLimitUnset)
}

func TestLimitsCloneEqual(t *testing.T) {
	t.Parallel()
	a := mustLimits(t, map[string]string{"db": "1"})
	b := a.Clone()
	assert.True(t, a.Equal(b))
	require.NoError(t, b.Set("db", "2"))
	assert.False(t, a.Equal(b))
	assert.True(t, billing.Limits{}.Equal(billing.Limits{}.Clone()))
}
