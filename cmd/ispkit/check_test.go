package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

// runCmd runs the command in-process with the password on stdin.
func runCmd(password string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(password+"\n"), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckDCI5TableAndJSON(t *testing.T) {
	t.Parallel()
	srv := dcimanager5test.NewServer()
	t.Cleanup(srv.Close)
	srv.SetStrict(true)
	user, pw := srv.Admin()
	code, out, errs := runCmd(pw, "check", "dci5", "-url", srv.URL(), "-user", user, "-password-stdin")
	require.Equal(t, exitOK, code, errs+out)
	assert.Contains(t, out, ": OK")
	assert.Contains(t, out, "Free servers (4)")
	assert.Contains(t, out, "srv-06")
	assert.NotContains(t, out, "srv-05", "owned: not free")
	assert.Contains(t, out, "ISPsystem__Debian-12-x86_64")
	assert.Contains(t, out, "Networks (3)")
	assert.Contains(t, out, "10.10.0.0/24")
	assert.NotContains(t, out+errs, pw)

	code, out, _ = runCmd(pw, "check", "dci5", "-url", srv.URL(), "-user", user, "-password-stdin", "-json")
	require.Equal(t, exitOK, code)
	var rep struct {
		OK       bool `json:"ok"`
		Sections []struct {
			Name string              `json:"name"`
			Rows []map[string]string `json:"rows"`
		} `json:"sections"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.True(t, rep.OK)
	require.Len(t, rep.Sections, 3)
	assert.Equal(t, "free_servers", rep.Sections[0].Name)
	assert.Equal(t, "srv-01", rep.Sections[0].Rows[0]["name"])
	assert.Equal(t, "networks", rep.Sections[2].Name)
	assert.Empty(t, srv.Violations(), "diagnostics send only what the ledger lists")
	for _, c := range srv.Calls() {
		assert.Contains(t, []string{"whoami", "server", "osmgr", "ipnet"}, c.Func, "read-only: %s", c.Func)
	}

	code, out, _ = runCmd("client1-secret-pw", "check", "dci5", "-url", srv.URL(), "-user", "client1", "-password-stdin")
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "note: the account does not look like an administrator")

	code, out, errs = runCmd("wrong-password-1", "check", "dci5", "-url", srv.URL(), "-user", user, "-password-stdin")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, out, "FAILED")
	assert.NotContains(t, out+errs, "wrong-password-1")
}

func TestCheckDCI6(t *testing.T) {
	t.Parallel()
	srv := dcimanager6test.NewServer()
	t.Cleanup(srv.Close)
	srv.SetStrict(true)
	code, out, errs := runCmd(dcimanager6test.AdminPassword, "check", "dci6", "-url", srv.URL(), "-user", dcimanager6test.AdminEmail, "-password-stdin")
	require.Equal(t, exitOK, code, errs+out)
	assert.Contains(t, out, "Locations (2)")
	assert.Contains(t, out, "Free servers (5)")
	assert.Contains(t, out, "AlmaLinux 9")
	assert.Contains(t, out, "public-fra")
	assert.NotContains(t, out, dcimanager6test.AdminPassword)
	assert.Empty(t, srv.Violations())
	for _, c := range srv.Calls() {
		assert.True(t, strings.HasPrefix(c.Func, "GET ") || c.Func == "POST /auth/v4/public/token", "read-only: %s", c.Func)
	}
}

func TestCheckIPmgr(t *testing.T) {
	t.Parallel()
	srv := ipmanagertest.NewServer()
	t.Cleanup(srv.Close)
	code, out, errs := runCmd(ipmanagertest.DefaultPassword, "check", "ipmgr", "-url", srv.URL(), "-user", ipmanagertest.DefaultUser, "-password-stdin", "-json")
	require.Equal(t, exitOK, code, errs+out)
	assert.Contains(t, out, `"parking": "yes"`)
	assert.Contains(t, out, `"free": "254"`)
	assert.NotContains(t, out, ipmanagertest.DefaultPassword)
}

// BILLmanager needs an administrator on ISPmanager: a reseller's
// credentials fail the check with exit 1 and say why.
func TestCheckISPmgrRefusesReseller(t *testing.T) {
	t.Parallel()
	srv := ispmanagertest.NewServer(ispmanagertest.WithPreset("basic", mustLimits(t, map[string]string{"db": "2"})))
	t.Cleanup(srv.Close)
	srv.AddReseller("res1", "Res1-secret-pw")
	admin, pw := srv.Admin()
	code, out, errs := runCmd(pw, "check", "ispmgr", "-url", srv.URL(), "-user", admin, "-password-stdin")
	require.Equal(t, exitOK, code, errs+out)
	assert.Contains(t, out, "edition: Business")
	assert.Contains(t, out, "basic  db=2")
	assert.NotContains(t, out, pw)
	srv.ResetCalls()

	code, out, errs = runCmd("Res1-secret-pw", "check", "ispmgr", "-url", srv.URL(), "-user", "res1", "-password-stdin", "-json")
	assert.Equal(t, exitFailure, code)
	var rep struct {
		OK       bool     `json:"ok"`
		Problems []string `json:"problems"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.False(t, rep.OK)
	require.Len(t, rep.Problems, 1)
	assert.Contains(t, rep.Problems[0], "reseller")
	assert.Contains(t, rep.Problems[0], "administrator")
	assert.NotContains(t, out+errs, "Res1-secret-pw")
	assert.Zero(t, srv.CallCount("preset"), "nothing is listed with a reseller's credentials")
}

func TestCheckUsageAndPasswordSources(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		code int
	}{
		{nil, exitUsage},
		{[]string{"bogus"}, exitUsage},
		{[]string{"check"}, exitUsage},
		{[]string{"check", "dci7", "-url", "https://x", "-user", "u", "-password-stdin"}, exitUsage},
		{[]string{"check", "dci5", "-user", "u", "-password-stdin"}, exitUsage},
		{[]string{"check", "dci5", "-url", "https://u:secret@x/dcimgr", "-user", "u", "-password-stdin"}, exitUsage},
		{[]string{"check", "dci5", "-url", "https://x", "-user", "u", "-password", "p"}, exitUsage},
		{[]string{"check", "dci5", "-url", "https://x", "-user", "u", "-password-env", "ISPKIT_TEST_SURELY_UNSET_VAR"}, exitUsage},
		{[]string{"sim", "-nope"}, exitUsage},
		{[]string{"sim", "extra"}, exitUsage},
		{[]string{"check", "-h"}, exitOK},
		{[]string{"check", "dci5", "-h"}, exitOK},
		{[]string{"sim", "-h"}, exitOK},
		{[]string{"help"}, exitOK},
	}
	for _, c := range cases {
		code, out, errs := runCmd("pw-123", c.args...)
		assert.Equal(t, c.code, code, "%v: %s%s", c.args, out, errs)
		assert.NotContains(t, out+errs, "secret", "%v", c.args)
	}
	_, out, _ := runCmd("", "sim", "-h")
	assert.True(t, strings.HasPrefix(out, "Usage: ispkit sim"), out)
	assert.Contains(t, out, "drop-after", "-h lists the fault kinds")
	_, out, _ = runCmd("", "check", "-h")
	assert.Contains(t, out, "Exit codes")
	code, out, _ := runCmd("", "sim", "-print-seed")
	assert.Equal(t, exitOK, code)
	_, err := parseSeed([]byte(out))
	assert.NoError(t, err, "the printed sample is a valid seed")
}

func mustLimits(t *testing.T, m map[string]string) ispmanager.Limits {
	t.Helper()
	l, err := ispmanager.ParseLimits(m)
	require.NoError(t, err)
	return l
}
