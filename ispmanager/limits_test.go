package ispmanager_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/ispmanager"
)

// The documented example (spec mgr5 §5.3, seed "Create a tariff plan"):
// template 25 databases and 25 domains, tariff 10 databases and nothing
// about domains → 10 databases and 25 domains.
func TestMergeLimitsDocumentedExample(t *testing.T) {
	t.Parallel()
	template := ispmanager.Limits{Databases: ispmanager.Int(25), Domains: ispmanager.Int(25)}
	tariff := ispmanager.Limits{Databases: ispmanager.Int(10)}
	got := ispmanager.MergeLimits(template, tariff)
	require.NotNil(t, got.Databases)
	require.NotNil(t, got.Domains)
	assert.Equal(t, 10, *got.Databases)
	assert.Equal(t, 25, *got.Domains)
	assert.Nil(t, got.QuotaMiB)
	// The inputs are untouched and not aliased.
	assert.Equal(t, 25, *template.Databases)
	*got.Domains = 1
	assert.Equal(t, 25, *template.Domains)
}

func TestMergeLimitsTogglesExtraAndUnlimited(t *testing.T) {
	t.Parallel()
	template := ispmanager.Limits{
		QuotaMiB: ispmanager.Int(1000), Shell: ispmanager.Bool(true),
		Extra: map[string]string{"php_mode": "php_mode_mod", "nodejs": "on"},
	}
	tariff := ispmanager.Limits{
		QuotaMiB: ispmanager.Int(ispmanager.Unlimited), Shell: ispmanager.Bool(false),
		Extra: map[string]string{"php_mode": "php_mode_cgi"},
	}
	got := ispmanager.MergeLimits(template, tariff)
	assert.Equal(t, ispmanager.Unlimited, *got.QuotaMiB)
	assert.False(t, *got.Shell)
	assert.Equal(t, map[string]string{"php_mode": "php_mode_cgi", "nodejs": "on"}, got.Extra)
	assert.Equal(t, "php_mode_mod", template.Extra["php_mode"])

	// Empty tariff: the template unchanged; empty template: the tariff.
	assert.Equal(t, template.Values(), ispmanager.MergeLimits(template, ispmanager.Limits{}).Values())
	assert.Equal(t, tariff.Values(), ispmanager.MergeLimits(ispmanager.Limits{}, tariff).Values())
}

func TestLimitsValuesAndParseRoundTrip(t *testing.T) {
	t.Parallel()
	l := ispmanager.Limits{
		QuotaMiB: ispmanager.Int(500), Databases: ispmanager.Int(0), Emails: ispmanager.Int(ispmanager.Unlimited),
		SSL: ispmanager.Bool(true), Extra: map[string]string{"php_mode": "php_mode_none"},
	}
	vals := l.Values()
	assert.Equal(t, map[string]string{"quota": "500", "db": "0", "emails": "", "ssl": "on", "php_mode": "php_mode_none"}, vals)
	back, err := ispmanager.ParseLimits(vals)
	require.NoError(t, err)
	assert.Equal(t, vals, back.Values())
	assert.Equal(t, "db=0 emails=unlimited php_mode=php_mode_none quota=500 ssl=on", l.String())

	// Prefixed keys are accepted.
	p, err := ispmanager.ParseLimits(map[string]string{"limit_db": "3", "limit_cgi": "off"})
	require.NoError(t, err)
	assert.Equal(t, 3, *p.Databases)
	assert.False(t, *p.CGI)

	n, ok := p.Int("limit_db")
	assert.True(t, ok)
	assert.Equal(t, 3, n)
	_, ok = p.Int("quota")
	assert.False(t, ok)
}

func TestLimitsValidation(t *testing.T) {
	t.Parallel()
	bad := []map[string]string{
		{"db": "ten"},
		{"db": "-5"},
		{"shell": "maybe"},
		{"db": "1", "limit_db": "2"},
		{"Bad Name": "1"},
	}
	for _, m := range bad {
		_, err := ispmanager.ParseLimits(m)
		var ae *ispmanager.ArgumentError
		assert.ErrorAs(t, err, &ae, "%v", m)
	}
	var ae *ispmanager.ArgumentError
	require.ErrorAs(t, ispmanager.Limits{Databases: ispmanager.Int(-2)}.Validate(), &ae)
	assert.Equal(t, "limit_db", ae.Arg)
	require.ErrorAs(t, ispmanager.Limits{Extra: map[string]string{"db": "1"}}.Validate(), &ae)
	require.ErrorAs(t, ispmanager.Limits{Extra: map[string]string{"x": "a\nb"}}.Validate(), &ae)
	require.NoError(t, ispmanager.Limits{Databases: ispmanager.Int(ispmanager.Unlimited)}.Validate())

	u := ispmanager.UnlimitedLimits()
	assert.Equal(t, ispmanager.Unlimited, *u.Databases)
	assert.Nil(t, u.Shell)
	assert.True(t, ispmanager.Limits{}.IsZero())
}
