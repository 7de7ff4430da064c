package dcimanager6_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
)

func TestWhereBuilder(t *testing.T) {
	t.Parallel()
	d := dcimanager6.EQ
	tests := []struct {
		name string
		w    dcimanager6.Where
		want string
	}{
		{"eq string", d("name", "srv-1"), "name EQ 'srv-1'"},
		{"eq int", d("location_id", 3), "location_id EQ 3"},
		{"eq int64", d("id", int64(7)), "id EQ 7"},
		{"eq bool", d("is_new", false), "is_new EQ false"},
		{"eq float", d("x", 1.5), "x EQ 1.5"},
		{"quote doubled", d("name", "O'Brien"), "name EQ 'O''Brien'"},
		{"only quotes", d("name", "''"), "name EQ ''''''"},
		{"percent", dcimanager6.CP("name", "%50% off%"), "name CP '%50% off%'"},
		{"contains", dcimanager6.Contains("domain", "extended."), "domain CP '%extended.%'"},
		{"plus", d("email", "a+b@example.com"), "email EQ 'a+b@example.com'"},
		{"parens in value", d("name", "srv (old) AND x"), "name EQ 'srv (old) AND x'"},
		{"non-ascii", d("full_name", "Иван Петров ü 日本"), "full_name EQ 'Иван Петров ü 日本'"},
		{"is null", dcimanager6.IsNull("owner_email"), "owner_email IS null"},
		{"ne dotted", dcimanager6.NE("operation.status", "ok"), "operation.status NE 'ok'"},
		{"not cmp", dcimanager6.Not(dcimanager6.CP("domain", "%x%")), "NOT domain CP '%x%'"},
		{"not and", dcimanager6.Not(dcimanager6.And(d("a", 1), d("b", 2))), "NOT (a EQ 1 AND b EQ 2)"},
		{"and", dcimanager6.And(dcimanager6.IsNull("owner_email"), d("is_new", false)), "owner_email IS null AND is_new EQ false"},
		{"and of or", dcimanager6.And(d("a", 1), dcimanager6.Or(d("b", 2), d("c", 3))), "a EQ 1 AND (b EQ 2 OR c EQ 3)"},
		{"or of and", dcimanager6.Or(dcimanager6.And(d("a", 1), d("b", 2)), d("c", 3)), "a EQ 1 AND b EQ 2 OR c EQ 3"},
		{"group", dcimanager6.And(dcimanager6.Group(d("ipnet", 7)), dcimanager6.NE("status", "extended")), "(ipnet EQ 7) AND status NE 'extended'"},
		{"method chain", d("a", 1).And(d("b", 2)).Or(d("c", 3)), "a EQ 1 AND b EQ 2 OR c EQ 3"},
		{"empty operands skipped", dcimanager6.And(dcimanager6.Where{}, d("a", 1), dcimanager6.Where{}), "a EQ 1"},
		{"empty", dcimanager6.And(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.w.Err())
			assert.Equal(t, tt.want, tt.w.String())
		})
	}
}

func TestWhereBuilderErrors(t *testing.T) {
	t.Parallel()
	for name, w := range map[string]dcimanager6.Where{
		"injection in field": dcimanager6.EQ("name EQ 'x' OR id", 1),
		"empty field":        dcimanager6.IsNull(""),
		"unsupported type":   dcimanager6.EQ("a", []int{1}),
		"nil value":          dcimanager6.EQ("a", nil),
		"error propagates":   dcimanager6.And(dcimanager6.EQ("a", 1), dcimanager6.Not(dcimanager6.EQ("b c", 1))),
		"not of empty":       dcimanager6.Not(dcimanager6.Where{}),
	} {
		t.Run(name, func(t *testing.T) {
			require.Error(t, w.Err())
			assert.True(t, errors.Is(w.Err(), dcimanager6.ErrInvalidArgument))
		})
	}
}

// TestWhereOverHTTP sends tricky values to the fake and checks both the
// raw query on the wire and that the fake's parser finds the right rows.
func TestWhereOverHTTP(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	weird := []struct{ email, name string }{
		{"o'brien+test@example.com", "Conan O'Brien (old) 100%"},
		{"ivan@example.com", "Иван Петров"},
		{"and@example.com", "x' OR '1'='1"},
	}
	for _, u := range weird {
		_, err := c.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: u.email, Password: "pw-123456", FullName: u.name})
		require.NoError(t, err)
	}
	for _, u := range weird {
		got, total, err := c.Users.List(ctx, &dcimanager6.ListOptions{Where: dcimanager6.EQ("email", u.email)})
		require.NoError(t, err)
		require.Equal(t, 1, total, u.email)
		assert.Equal(t, u.name, got[0].FullName)
		got, _, err = c.Users.List(ctx, &dcimanager6.ListOptions{Where: dcimanager6.EQ("full_name", u.name)})
		require.NoError(t, err)
		require.Len(t, got, 1, u.name)
		assert.Equal(t, u.email, got[0].Email)
	}
	// The injection attempt is only a value: it matches nothing else.
	got, _, err := c.Users.List(ctx, &dcimanager6.ListOptions{Where: dcimanager6.EQ("email", "x' OR '1'='1")})
	require.NoError(t, err)
	assert.Empty(t, got)
	// CP with % wildcards, case-insensitive, and a literal parenthesis.
	got, _, err = c.Users.List(ctx, &dcimanager6.ListOptions{Where: dcimanager6.CP("full_name", "%(OLD) 100%")})
	require.NoError(t, err)
	require.Len(t, got, 1)
	// Non-ASCII CP.
	got, _, err = c.Users.List(ctx, &dcimanager6.ListOptions{Where: dcimanager6.Contains("full_name", "Петр")})
	require.NoError(t, err)
	require.Len(t, got, 1)

	var raw string
	for _, r := range f.Requests() {
		if strings.Contains(r.RawQuery, "brien") {
			raw = r.RawQuery
			break
		}
	}
	assert.Equal(t, "where=email%20EQ%20'o''brien%2Btest@example.com'", raw, "spaces as %20, + as %2B, quotes raw")
	q, err := url.ParseQuery(raw)
	require.NoError(t, err)
	assert.Equal(t, "email EQ 'o''brien+test@example.com'", q.Get("where"))
	for _, r := range f.Requests() {
		assert.NotContains(t, r.RawQuery, "+", "a + in the query would decode as a space")
	}
}

func TestListOptionsEncoding(t *testing.T) {
	t.Parallel()
	f, c := newEnv(t, nil)
	ctx := testCtx(t)
	got, total, err := c.Servers.List(ctx, &dcimanager6.ListOptions{
		Where:   dcimanager6.EQ("location_id", 1),
		OrderBy: dcimanager6.Desc("id"),
		Limit:   dcimanager6.Limit(1, 3),
	})
	require.NoError(t, err)
	assert.Equal(t, 7, total, "size counts every match, not the page")
	require.Len(t, got, 3)
	assert.Equal(t, []int64{6, 5, 4}, []int64{got[0].ID, got[1].ID, got[2].ID})
	reqs := f.Requests()
	assert.Equal(t, "where=location_id%20EQ%201&orderby=id%20desc&limit=1,3", reqs[len(reqs)-1].RawQuery)

	got, _, err = c.Servers.List(ctx, &dcimanager6.ListOptions{OrderBy: dcimanager6.Asc("name"), Limit: dcimanager6.Limit(0, 2)})
	require.NoError(t, err)
	assert.Equal(t, "srv-ams-01", got[0].Name)

	n := len(f.Requests())
	for name, o := range map[string]*dcimanager6.ListOptions{
		"negative offset": {Limit: dcimanager6.Limit(-1, 5)},
		"zero count":      {Limit: dcimanager6.Limit(0, 0)},
		"bad order field": {OrderBy: dcimanager6.Asc("id; drop")},
		"bad where":       {Where: dcimanager6.EQ("a b", 1)},
	} {
		_, _, err := c.Servers.List(ctx, o)
		var ae *dcimanager6.ArgumentError
		require.ErrorAs(t, err, &ae, name)
	}
	assert.Equal(t, n, len(f.Requests()), "bad options are refused before sending")
}

func TestWherePanelRejects(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, nil)
	_, _, err := c.Servers.List(testCtx(t), &dcimanager6.ListOptions{Where: dcimanager6.EQ("no_such_field", 1)})
	var e *dcimanager6.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 400, e.StatusCode)
	assert.Equal(t, dcimanager6test.CodeInvalidInput, e.Code)
	assert.Contains(t, e.Msg, "unknown field")
	assert.ErrorIs(t, err, dcimanager6.ErrInvalidInput)
}
