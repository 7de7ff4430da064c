package dcimanager5test_test

import (
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

// TestUserEditPassword drives user.edit over raw HTTP: with elid and sok it
// changes the login password (authinfo and func=auth), without elid it
// still creates a user.
func TestUserEditPassword(t *testing.T) {
	t.Parallel()
	srv := dcimanager5test.NewServer()
	srv.SetStrict(true)
	defer srv.Close()
	user, pass := srv.Admin()
	call := func(v url.Values) string {
		v.Set("out", "json")
		if v.Get("authinfo") == "" && v.Get("func") != "auth" {
			v.Set("authinfo", user+":"+pass)
		}
		return get(t, srv.URL()+"?"+v.Encode())
	}
	canLogin := func(name, pw string) bool {
		who := call(url.Values{"func": {"whoami"}, "authinfo": {name + ":" + pw}})
		auth := call(url.Values{"func": {"auth"}, "username": {name}, "password": {pw}})
		okWho := !contains(who, `"$type":"auth"`)
		okAuth := contains(auth, `"auth"`) && !contains(auth, `"$type":"auth"`)
		assert.Equal(t, okWho, okAuth, "authinfo and func=auth agree for %s", name)
		return okWho
	}
	var id string
	for _, u := range srv.Users() {
		if u.Name == "client1" {
			id = itoa(u.ID)
		}
	}
	require.NotEmpty(t, id)
	require.True(t, canLogin("client1", "client1-secret-pw"))

	// confirm differs: refused, nothing changes.
	bad := call(url.Values{"func": {"user.edit"}, "elid": {id}, "sok": {"ok"}, "passwd": {"New-pw-1"}, "confirm": {"Other-pw"}})
	assert.Contains(t, bad, `"$type":"value"`)
	assert.Contains(t, bad, `"$object":"confirm"`)
	assert.True(t, canLogin("client1", "client1-secret-pw"))

	ok := call(url.Values{"func": {"user.edit"}, "elid": {id}, "sok": {"ok"}, "passwd": {"New-pw-1"}, "confirm": {"New-pw-1"}})
	assert.Contains(t, ok, `"ok"`)
	assert.True(t, canLogin("client1", "New-pw-1"))
	assert.False(t, canLogin("client1", "client1-secret-pw"))
	assert.Len(t, srv.Users(), 2, "an edit creates no user")

	// Empty passwd leaves the password as it is.
	call(url.Values{"func": {"user.edit"}, "elid": {id}, "sok": {"ok"}, "passwd": {""}})
	assert.True(t, canLogin("client1", "New-pw-1"))

	for _, elid := range []string{"999", "x"} {
		m := call(url.Values{"func": {"user.edit"}, "elid": {elid}, "sok": {"ok"}, "passwd": {"P-1"}, "confirm": {"P-1"}})
		assert.Contains(t, m, `"$type":"missed"`)
		assert.Contains(t, m, `"$object":"elid"`)
	}

	// An end user may not edit users.
	acc := call(url.Values{"func": {"user.edit"}, "elid": {id}, "sok": {"ok"}, "passwd": {"P-2"}, "authinfo": {"client1:New-pw-1"}})
	assert.Contains(t, acc, `"$type":"access"`)
	assert.True(t, canLogin("client1", "New-pw-1"))

	// Without elid user.edit still creates.
	created := call(url.Values{"func": {"user.edit"}, "sok": {"ok"}, "name": {"u2"}, "passwd": {"U2-pw"}, "level": {"lvUser"}})
	assert.Contains(t, created, `"id"`)
	assert.Len(t, srv.Users(), 3)
	assert.True(t, canLogin("u2", "U2-pw"))

	// A password change racing a delete never revives the deleted login.
	var u2 string
	for _, u := range srv.Users() {
		if u.Name == "u2" {
			u2 = itoa(u.ID)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		call(url.Values{"func": {"user.edit"}, "elid": {u2}, "sok": {"ok"}, "passwd": {"U2-new"}, "confirm": {"U2-new"}})
	})
	wg.Go(func() { call(url.Values{"func": {"user.delete"}, "elid": {u2}}) })
	wg.Wait()
	assert.False(t, canLogin("u2", "U2-new"))
	assert.False(t, canLogin("u2", "U2-pw"))
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
