package dcimanager5test_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return string(b)
}

func TestRawProtocolShapes(t *testing.T) {
	t.Parallel()
	srv := dcimanager5test.NewServer()
	srv.SetStrict(true)
	defer srv.Close()
	user, pass := srv.Admin()
	auth := url.Values{"authinfo": {user + ":" + pass}}.Encode()

	xml := get(t, srv.URL()+"?func=server&out=xml&"+auth)
	assert.Contains(t, xml, "<hostname>free.ds</hostname>")
	assert.Contains(t, xml, "<poweroff/>")
	assert.Contains(t, xml, "<hwproblem/>")

	js := get(t, srv.URL()+"?func=server&out=json&"+auth)
	assert.Contains(t, js, `"poweroff":{}`)
	assert.Contains(t, js, `"elem":[`)
	assert.NotContains(t, js, pass, "tparams never echo credentials")

	// Under /manager/dcimgr too; a one-row list is an object in json and an
	// array in sjson.
	base := strings.Replace(srv.URL(), "/dcimgr", "/manager/dcimgr", 1)
	one := get(t, base+"?func=osmgr&out=json&"+url.Values{"authinfo": {"client1:client1-secret-pw"}}.Encode())
	assert.Contains(t, one, `"elem":[`, "four templates")
	ips := get(t, srv.URL()+"?func=iplist&elid=6&out=json&"+auth)
	assert.Contains(t, ips, `"type":{"$":"group"}`)
	assert.Contains(t, ips, `"elem":[`, "header row plus address")

	bad := get(t, srv.URL()+"?func=server&out=json&authinfo=admin:wrong")
	assert.Contains(t, bad, `"$type":"auth"`)
	assert.Contains(t, bad, `"$object":"badpassword"`)

	missing := get(t, srv.URL()+"?func=server.edit&elid=77&out=json&"+auth)
	assert.Contains(t, missing, `"$type":"missed"`)
	assert.Contains(t, missing, `"$object":"elid"`)

	// POST form body works like GET.
	resp, err := http.PostForm(srv.URL(), url.Values{"func": {"whoami"}, "out": {"sjson"}, "authinfo": {user + ":" + pass}})
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(b), `"$level":"28"`)
	assert.Equal(t, 1, srv.RequestCount("whoami"))
}

func TestForcedOutput(t *testing.T) {
	t.Parallel()
	srv := dcimanager5test.NewServer(dcimanager5test.WithOutput("sjson"), dcimanager5test.WithoutSeed())
	srv.SetStrict(true)
	defer srv.Close()
	user, pass := srv.Admin()
	_, err := srv.AddServer(dcimanager5test.ServerSpec{Name: "a", NoConnections: true})
	require.NoError(t, err)
	js := get(t, srv.URL()+"?func=server&out=json&"+url.Values{"authinfo": {user + ":" + pass}}.Encode())
	assert.Contains(t, js, `"elem":[{`, "sjson renders a single row as an array")
	st, ok := srv.Server(1)
	require.True(t, ok)
	assert.Empty(t, st.Hostname, "no pool, no address, no hostname")
}

func TestModelHelpers(t *testing.T) {
	t.Parallel()
	srv := dcimanager5test.NewServer(dcimanager5test.WithoutSeed())
	srv.SetStrict(true)
	defer srv.Close()
	require.Error(t, srv.AddPool("public", "ipv4", "2001:db8::/64"))
	require.Error(t, srv.AddPool("public", "ipv4", "nonsense"))
	require.NoError(t, srv.AddPool("public", "ipv4", "192.0.2.0/29"))
	require.NoError(t, srv.AddPool("public", "ipv6", "2001:db8::/126"))
	assert.Equal(t, 6, srv.FreeAddresses("public", "ipv4"))
	assert.Equal(t, 3, srv.FreeAddresses("public", "ipv6"))

	var wg sync.WaitGroup
	ids := make([]int64, 8)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id, err := srv.AddServer(dcimanager5test.ServerSpec{IPGroup: "public", Domain: "h.example.com"})
			assert.NoError(t, err)
			ids[i] = id
		}(i)
	}
	wg.Wait()
	withIP := 0
	seen := map[string]bool{}
	for _, s := range srv.Servers() {
		if s.MainIP != "" {
			withIP++
			assert.False(t, seen[s.MainIP])
			seen[s.MainIP] = true
			assert.Equal(t, "h.example.com", s.Hostname)
		}
	}
	assert.Equal(t, 6, withIP, "two servers found the pool empty")
	_, err := srv.AddServer(dcimanager5test.ServerSpec{MainIP: "192.0.2.1"})
	assert.Error(t, err, "address in use")
	assert.ErrorIs(t, srv.FailNextInstall(99), dcimanager5test.ErrNoServer)
	assert.Len(t, srv.Connections(1), 2)
	assert.Len(t, srv.Users(), 1)
	assert.Empty(t, srv.OSTemplates())
}
