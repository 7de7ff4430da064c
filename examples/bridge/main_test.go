package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func noEnv(string) string { return "" }

func TestHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(t.Context(), []string{"-h"}, &out, io.Discard, noEnv, nil)
	require.ErrorIs(t, err, flag.ErrHelp)
	first, rest, _ := strings.Cut(out.String(), "\n")
	assert.True(t, strings.HasPrefix(first, "bridge serves a WHMCS-style HTTP JSON API"), first)
	for _, f := range []string{"-listen", "-token", "-dci", "-ipmgr", "-isp", "-plans", "-store", "-postgres", "-tls-cert", "-insecure"} {
		assert.Regexp(t, `(?m)^  `+f+`(\s|$)`, rest, f)
	}
}

func TestFlagErrors(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DCI_PASSWORD": "pw", "BRIDGE_TOKEN": "0123456789abcdefXYZ"}
	getenv := func(k string) string { return env[k] }
	for _, c := range []struct {
		args   []string
		getenv func(string) string
		want   string
	}{
		{[]string{"extra"}, noEnv, "unexpected arguments"},
		{[]string{"-store", "a.db", "-postgres", "postgres://x"}, noEnv, "not both"},
		{[]string{"-tls-cert", "c.pem"}, noEnv, "go together"},
		{[]string{"-token", "short"}, noEnv, "at least 16"},
		{[]string{"-plans", "p.json"}, noEnv, "need -dci or -isp"},
		{[]string{"-dci", "https://dci.example.com/dcimgr", "-dci-user", "u"}, getenv, "need -plans"},
		{[]string{"-dci", "https://dci.example.com/dcimgr", "-plans", "p.json"}, getenv, "-dci needs -dci-user"},
		{[]string{"-dci", "https://dci.example.com/dcimgr", "-dci-user", "u", "-plans", "p.json"}, noEnv, "-dci needs"},
		{[]string{"-isp", "https://h.example.com/ispmgr", "-isp-user", "root", "-isp-password", "pw", "-plans", "p.json"}, noEnv, "need a token"},
		{[]string{"-isp", "https://h.example.com/ispmgr", "-isp-user", "root", "-isp-password", "pw", "-ipmgr", "https://ip", "-plans", "p.json"}, getenv, "-ipmgr needs -dci"},
	} {
		err := run(t.Context(), c.args, io.Discard, io.Discard, c.getenv, nil)
		require.Error(t, err, "%v", c.args)
		assert.Contains(t, err.Error(), c.want, "%v", c.args)
	}
}

func TestSamplePlans(t *testing.T) {
	t.Parallel()
	plans, err := loadPlans("plans.sample.json")
	require.NoError(t, err)
	p := panelFlags{dci: panelLogin{"https://dci.example.com/dcimgr", "u", "p"}, isp: panelLogin{"https://h.example.com/ispmgr", "root", "p"}}
	cat, err := catalog(p, plans)
	require.NoError(t, err)
	assert.Len(t, cat.Tariffs(), len(plans))
	c := planChoices(plans)
	assert.Equal(t, Choices{OSTemplates: []string{"ISPsystem__Debian-12-x86_64", "ISPsystem__Ubuntu-24.04-amd64", "ISPsystem__AlmaLinux-9-x86_64"},
		Recipes: []string{"null", "#local__lamp"}, MaxIPv4: 2, MaxIPv6: 8}, c[1])
	assert.Equal(t, Choices{OSTemplates: []string{"ISPsystem__Ubuntu-24.04-amd64"}, Recipes: []string{"null", "#local__lamp"},
		MaxIPv4: defaultMaxIPv4, MaxIPv6: defaultMaxIPv6}, c[2], "defaults: the plan's own template and recipe")
	assert.Equal(t, Choices{}, c[10], "hosting takes no options")
	_, err = catalog(panelFlags{isp: p.isp}, plans)
	assert.ErrorContains(t, err, "needs -dci", "a dedicated plan without DCImanager")
}

// started runs the program in the background and returns its base URL and
// token once it serves, and a stop function that returns run's error.
func started(t *testing.T, args []string, getenv func(string) string) (base, token string, out *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out = &syncBuffer{}
	ready := make(chan [2]string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, args, out, io.Discard, getenv, func(b, tok string) { ready <- [2]string{b, tok} })
	}()
	select {
	case r := <-ready:
		base, token = r[0], r[1]
	case err := <-errc:
		cancel()
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() { cancel(); runErr = <-errc })
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return base, token, out, stop
}

func get(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var v map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return resp.StatusCode, v
}

// TestRunDefault: with no panel flags the program starts its fakes,
// generates a token, prints it with a curl example and serves.
func TestRunDefault(t *testing.T) {
	t.Parallel()
	base, token, out, stop := started(t, []string{"-listen", "127.0.0.1:0", "-fake-install", "20ms", "-fake-power", "4ms"}, noEnv)
	assert.Contains(t, out.String(), "token (generated; set $BRIDGE_TOKEN to choose it): "+token)
	assert.Contains(t, out.String(), "curl -s -H 'Authorization: Bearer "+token+"' "+base+"/v1/plans")
	status, plans := get(t, "GET", base+"/v1/plans", token, "")
	require.Equal(t, http.StatusOK, status)
	assert.Len(t, plans["plans"], 2)
	status, res := get(t, "POST", base+"/v1/services/5/create?wait=30", token,
		`{"plan":1,"owner":"john","password":"S3cret-pw-5","domain":"s5.example.net"}`)
	require.Equal(t, http.StatusOK, status, "%v", res)
	assert.Equal(t, StatusActive, res["status"])
	require.NoError(t, stop())
	assert.Contains(t, out.String(), "stopping")
}

// TestRunSQLiteRestart: the token comes from the environment, the state
// from a SQLite file that a second run reads again.
func TestRunSQLiteRestart(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "bridge.db")
	env := func(k string) string {
		if k == "BRIDGE_TOKEN" {
			return "env-token-0123456789"
		}
		return ""
	}
	args := []string{"-listen", "127.0.0.1:0", "-store", db, "-fake-install", "20ms", "-fake-power", "4ms"}
	base, token, out, stop := started(t, args, env)
	assert.Equal(t, "env-token-0123456789", token)
	assert.Contains(t, out.String(), "token: as given")
	assert.NotContains(t, out.String(), token, "a given token is not printed")
	status, res := get(t, "POST", base+"/v1/services/6/create?wait=30", token, `{"plan":2,"owner":"ann","password":"S3cret-pw-6"}`)
	require.Equal(t, http.StatusOK, status, "%v", res)
	require.NoError(t, stop())

	base, token, _, stop = started(t, args, env)
	status, svc := get(t, "GET", base+"/v1/services/6", token, "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, StatusActive, svc["status"])
	require.NoError(t, stop())
}

func TestRunListenError(t *testing.T) {
	t.Parallel()
	err := run(t.Context(), []string{"-listen", "256.0.0.1:0"}, io.Discard, io.Discard, noEnv, nil)
	require.Error(t, err)
	assert.False(t, errors.Is(err, flag.ErrHelp))
}
