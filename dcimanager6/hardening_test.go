package dcimanager6_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
)

// The key-login URL is opened by a browser: it gets a session cookie and a
// redirect into the panel; the key works once.
func TestKeyLoginURLOpensThePanelInABrowser(t *testing.T) {
	t.Parallel()
	_, c := newEnv(t, nil)
	k, err := c.Auth.Key(context.Background(), "client1@example.com")
	require.NoError(t, err)
	jar, _ := cookiejar.New(nil)
	var hops []int
	browser := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		hops = append(hops, r.Response.StatusCode)
		return nil
	}}
	resp, err := browser.Get(k.URL)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, []int{http.StatusFound}, hops)
	assert.Contains(t, string(b), "DCImanager: client1@example.com")

	resp, err = http.Get(k.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a key is single-use")
}

// A panel (or a proxy in front of it) that redirects to another host never
// receives the login password or the session token there: the client
// refuses the redirect with a typed error.
func TestRedirectToAnotherHostKeepsCredentials(t *testing.T) {
	t.Parallel()
	var leaked atomic.Int32
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(thief.Close)
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		panel := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, thief.URL+r.URL.Path, code)
		}))
		c, err := dcimanager6.NewClient(panel.URL, dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword))
		require.NoError(t, err)
		_, _, err = c.Servers.List(context.Background(), nil)
		var re *dcimanager6.RedirectError
		require.ErrorAs(t, err, &re, "HTTP %d", code)
		assert.Equal(t, code, re.StatusCode)
		panel.Close()
	}
	assert.Zero(t, leaked.Load())
}
