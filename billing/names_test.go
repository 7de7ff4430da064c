package billing_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
)

func TestSanitizeUsername(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"john.doe", "johndoe"},
		{"John_Doe-2024", "JohnDoe2024"},
		{"ivan@example.com", "ivanexamplecom"},
		{"a very long user name with spaces", "averylongusernam"},
		{"Иван99", "99"},
		{"!!!", ""},
		{"", ""},
		{"exactly16charsAB", "exactly16charsAB"},
		{"x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x", "xxxxxxxxxxxxxxxx"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got := billing.SanitizeUsername(tc.in)
			assert.Equal(t, tc.want, got)
			assert.LessOrEqual(t, len(got), billing.MaxUsernameLen)
		})
	}
}

func TestExpandTemplate(t *testing.T) {
	t.Parallel()
	vars := billing.MacroVars{Username: "john", Domain: "example.com", ID: 117, AccountID: 5, Type: "dedic"}
	tests := []struct {
		name, tmpl, want string
		sentinel         error
		macro            string
		offset           int
	}{
		{name: "vendor example", tmpl: "user@ID@", want: "user117"},
		{name: "all macros", tmpl: "@USERNAME@-@DOMAIN@-@ID@-@ACCOUNT_ID@-@TYPE@", want: "john-example.com-117-5-dedic"},
		{name: "domain template", tmpl: "@USERNAME@.example.com", want: "john.example.com"},
		{name: "whmcs default domain", tmpl: "@ID@.domain", want: "117.domain"},
		{name: "no macros", tmpl: "static", want: "static"},
		{name: "empty", tmpl: "", want: ""},
		{name: "email is literal", tmpl: "admin@example.com", want: "admin@example.com"},
		{name: "double at", tmpl: "a@@ID@", want: "a@117"},
		{name: "lower-case is literal", tmpl: "@id@", want: "@id@"},
		{name: "adjacent macros", tmpl: "@ID@@ACCOUNT_ID@", want: "1175"},
		{name: "unknown macro", tmpl: "x@HOST@", sentinel: billing.ErrUnknownMacro, macro: "@HOST@", offset: 1},
		{name: "unknown after known", tmpl: "@ID@@NAME@", sentinel: billing.ErrUnknownMacro, macro: "@NAME@", offset: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := billing.ExpandTemplate(tc.tmpl, vars)
			if tc.sentinel != nil {
				require.ErrorIs(t, err, tc.sentinel)
				var me *billing.MacroError
				require.ErrorAs(t, err, &me)
				assert.Equal(t, tc.macro, me.Macro)
				assert.Equal(t, tc.offset, me.Offset)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestExpandTemplateEmptyValues(t *testing.T) {
	t.Parallel()
	for _, tmpl := range []string{"@USERNAME@", "@DOMAIN@", "@ID@", "@ACCOUNT_ID@", "@TYPE@"} {
		_, err := billing.ExpandTemplate(tmpl, billing.MacroVars{})
		require.ErrorIs(t, err, billing.ErrEmptyMacro, tmpl)
		assert.False(t, errors.Is(err, billing.ErrUnknownMacro))
	}
}

func TestNextCandidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base      string
		n, maxLen int
		want      string
	}{
		{"user_665", 0, 16, "user_665"},
		{"user_665", 1, 16, "user_6651"},
		{"user_665", 2, 16, "user_6652"},
		{"user_665", 10, 0, "user_66510"},
		{"abcdefghijklmnop", 0, 16, "abcdefghijklmnop"},
		{"abcdefghijklmnop", 1, 16, "abcdefghijklmno1"},
		{"abcdefghijklmnop", 12, 16, "abcdefghijklmn12"},
		{"abcdefghijklmnopqrs", 0, 16, "abcdefghijklmnop"},
		{"ab", 1000, 4, ""},
		{"ab", 100, 4, "a100"},
		{"", 1, 16, ""},
		{"abc", -1, 16, ""},
		{"пример", 1, 4, "при1"},
	}
	for _, tc := range tests {
		got := billing.NextCandidate(tc.base, tc.n, tc.maxLen)
		assert.Equal(t, tc.want, got, "NextCandidate(%q, %d, %d)", tc.base, tc.n, tc.maxLen)
		if tc.maxLen > 0 {
			assert.LessOrEqual(t, utf8.RuneCountInString(got), tc.maxLen)
		}
	}
}

func TestCandidates(t *testing.T) {
	t.Parallel()
	var got []string
	for c := range billing.Candidates("user_665", 16) {
		got = append(got, c)
		if len(got) == 4 {
			break
		}
	}
	assert.Equal(t, []string{"user_665", "user_6651", "user_6652", "user_6653"}, got)

	// With maxLen 3: "abc", then "ab1".."ab9", then "a10".."a99"; "100" would leave no room for the base.
	all := slices.Collect(billing.Candidates("abc", 3))
	assert.Len(t, all, 1+9+90)
	assert.Equal(t, "abc", all[0])
	assert.Equal(t, "ab1", all[1])
	assert.Equal(t, "a99", all[len(all)-1])

	assert.Empty(t, slices.Collect(billing.Candidates("", 16)))
}

func TestUniqueName(t *testing.T) {
	t.Parallel()
	takenSet := func(names ...string) func(context.Context, string) (bool, error) {
		return func(_ context.Context, name string) (bool, error) {
			return slices.Contains(names, name), nil
		}
	}
	ctx := context.Background()

	name, err := billing.UniqueName(ctx, "user_665", 16, takenSet())
	require.NoError(t, err)
	assert.Equal(t, "user_665", name)

	name, err = billing.UniqueName(ctx, "user_665", 16, takenSet("user_665", "user_6651"))
	require.NoError(t, err)
	assert.Equal(t, "user_6652", name)

	name, err = billing.UniqueName(ctx, "abcdefghijklmnop", 16, takenSet("abcdefghijklmnop"))
	require.NoError(t, err)
	assert.Equal(t, "abcdefghijklmno1", name)

	calls := 0
	_, err = billing.UniqueName(ctx, "x", 0, func(context.Context, string) (bool, error) { calls++; return true, nil })
	require.ErrorIs(t, err, billing.ErrNamesExhausted)
	var ee *billing.ExhaustedError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, billing.MaxNameAttempts, ee.Attempts)
	assert.Equal(t, billing.MaxNameAttempts, calls)

	// Candidates run out before the attempt limit: "ab" with maxLen 2 has "ab" and "a1".."a9".
	_, err = billing.UniqueName(ctx, "ab", 2, func(context.Context, string) (bool, error) { return true, nil })
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 10, ee.Attempts)

	boom := errors.New("panel down")
	_, err = billing.UniqueName(ctx, "x", 16, func(context.Context, string) (bool, error) { return false, boom })
	require.ErrorIs(t, err, boom)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = billing.UniqueName(cctx, "x", 16, takenSet())
	require.ErrorIs(t, err, context.Canceled)

	var ve *billing.ArgumentError
	_, err = billing.UniqueName(ctx, "", 16, takenSet())
	require.ErrorAs(t, err, &ve)
	_, err = billing.UniqueName(ctx, "x", 16, nil)
	require.ErrorAs(t, err, &ve)
}
