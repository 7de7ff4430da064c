package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing/billmgr"
	"github.com/ispkit/ispkit/billing/billmgr/billmgrtest"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

// The binaries the installed test runs: the fake mgrctl and this module,
// built once for the package.
var fakeMgrctl, moduleBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pmispkit-test-")
	if err == nil {
		fakeMgrctl, err = billmgrtest.Build(dir)
	}
	if err == nil {
		moduleBin, err = billmgrtest.GoBuild(dir, moduleName, "github.com/ispkit/ispkit/examples/billmgr-module")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// installation is a fake BILLmanager with the module installed in it.
type installation struct {
	t    *testing.T
	fake *billmgrtest.Fake
	bin  string
}

// invoke runs the installed module as BILLmanager does: from the
// installation root, with the given arguments.
func (in *installation) invoke(stdin string, args ...string) (int, string) {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, in.bin, args...)
	cmd.Dir = in.fake.Root
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(in.t, err)
	}
	return code, out.String()
}

// calls returns the mgrctl calls since the last reset and resets.
func (in *installation) calls() []billmgrtest.Call {
	in.t.Helper()
	cs, err := in.fake.Calls()
	require.NoError(in.t, err)
	require.NoError(in.t, in.fake.Reset())
	for _, c := range cs {
		assert.Equal(in.t, in.fake.Root, c.Dir, "mgrctl runs from the installation root")
		assert.Equal(in.t, moduleName, c.SSHConnection, "BILLmanager's log names the module")
		assert.Equal(in.t, "xml", c.Params["out"])
	}
	return cs
}

func funcs(cs []billmgrtest.Call) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Func
	}
	return out
}

// params of a callback without out=.
func params(c billmgrtest.Call) map[string]string {
	p := map[string]string{}
	for k, v := range c.Params {
		if k != "out" {
			p[k] = v
		}
	}
	return p
}

func (in *installation) log() string {
	b, _ := os.ReadFile(filepath.Join(in.fake.Root, "var", moduleName+".log"))
	return string(b)
}

// The module built from this directory, copied into a BILLmanager, needs
// nothing else: it finds the installation from its own path, reads the
// item, tariff and module through mgrctl and reports back through it.
func TestInstalledModule(t *testing.T) {
	panel := dcimanager5test.NewServer(
		dcimanager5test.WithPowerDuration(5*time.Millisecond),
		dcimanager5test.WithInstallDuration(20*time.Millisecond),
		dcimanager5test.WithConnectionDuration(5*time.Millisecond))
	panel.Strict(t)
	t.Cleanup(panel.Close)
	admin, pw := panel.Admin()
	const debian, ubuntu = "ISPsystem__Debian-12-x86_64", "ISPsystem__Ubuntu-22.04-amd64"
	state := billmgrtest.State{
		Items:      []int64{101, 102, 103},
		Operations: []int64{1, 2, 3, 4, 5, 6},
		Forms: map[string]map[string]map[string]string{
			"dedic.edit": {
				"101": {"processingmodule": "1", "pricelist": "7", "account": "3", "username": "john.doe",
					"password": "S3cret-pw-101", "domain": "s101.example.net", "ostempl": ubuntu},
				"102": {"processingmodule": "1", "pricelist": "8", "account": "4", "username": "jane", "password": "S3cret-pw-102"},
				"103": {"processingmodule": "1", "pricelist": "7", "account": "5", "username": "joe", "password": "S3cret-pw-103",
					"ostempl": "ISPsystem__Windows-2019"},
			},
			"pricelist.edit": {
				"7": {"intname": "E3-16GB", "os_default": debian, "os_templates": debian + ", " + ubuntu, "dont_wait_install": "on"},
				"8": {"intname": "NO-SUCH-CONFIG", "os_default": debian, "dont_wait_install": "on"},
			},
			"processing.edit": {
				"1": {"url": panel.URL(), "username": admin, "password": pw, "poll_interval": "5ms"},
			},
		},
	}
	fake := billmgrtest.New(t, fakeMgrctl, state)
	bin, err := fake.Install(moduleBin, moduleName)
	require.NoError(t, err)
	in := &installation{t: t, fake: fake, bin: bin}
	defer func() {
		if t.Failed() {
			t.Log(in.log())
		}
	}()

	// -h: plain text, one line on what it does, then the flags.
	code, out := in.invoke("", "-h")
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "pmispkit is a BILLmanager processing module that sells DCImanager 5 dedicated servers"), out)
	assert.Contains(t, out, "-demo")
	assert.Contains(t, out, "--runningoperation")
	assert.NotContains(t, out, "<doc")

	// features: the document, no callback.
	code, out = in.invoke("", "--command", "features")
	require.Equal(t, 0, code, out)
	var f billmgr.Features
	require.NoError(t, xml.Unmarshal([]byte(out), &f))
	for _, c := range []billmgr.Command{billmgr.CmdOpen, billmgr.CmdSuspend, billmgr.CmdResume, billmgr.CmdClose, billmgr.CmdSyncItem} {
		assert.True(t, f.Supports(c), c)
	}
	assert.Empty(t, in.calls())

	// open: item, tariff and module read through mgrctl; the server's
	// properties saved; service.postopen closes the running operation.
	code, out = in.invoke("", "--command", "open", "--item", "101", "--runningoperation", "1", "--lang", "en")
	require.Equal(t, 0, code, out)
	assert.Empty(t, out, "action commands print nothing")
	cs := in.calls()
	require.GreaterOrEqual(t, len(cs), 4, funcs(cs))
	assert.Equal(t, []string{"dedic.edit", "pricelist.edit", "processing.edit"}, funcs(cs[:3]))
	assert.Equal(t, map[string]string{"elid": "101"}, params(cs[0]))
	assert.Equal(t, map[string]string{"elid": "7"}, params(cs[1]))
	assert.Equal(t, map[string]string{"elid": "1"}, params(cs[2]))
	last := cs[len(cs)-1]
	assert.Equal(t, "service.postopen", last.Func)
	assert.Equal(t, map[string]string{"elid": "101", "sok": "ok"}, params(last))
	saved := map[string]string{}
	for _, c := range cs[3 : len(cs)-1] {
		require.Equal(t, "service.saveparam", c.Func)
		assert.Equal(t, "101", c.Params["elid"])
		assert.Equal(t, "ok", c.Params["sok"])
		saved[c.Params["name"]] = c.Params["value"]
	}
	var owned *dcimanager5test.ServerState
	for _, s := range panel.Servers() {
		if s.Hostname == "s101.example.net" {
			owned = &s
		}
	}
	require.NotNil(t, owned, "the panel has the customer's server")
	assert.Equal(t, fmt.Sprint(owned.ID), saved["server_id"])
	assert.Equal(t, owned.MainIP, saved["ip"])
	assert.Equal(t, ubuntu, saved["ostempl"], "the customer's choice, which the tariff sells")
	assert.Equal(t, "s101.example.net", saved["domain"])
	assert.NotEmpty(t, saved["username"])
	for _, c := range cs {
		for _, v := range c.Args {
			assert.NotContains(t, v, "S3cret-pw-101", "no secret on mgrctl's command line")
		}
	}

	// A re-run of the same running operation reports again, buys nothing.
	code, out = in.invoke("", "--command", "open", "--item", "101", "--runningoperation", "1")
	require.Equal(t, 0, code, out)
	cs = in.calls()
	assert.Equal(t, "service.postopen", cs[len(cs)-1].Func)
	n := 0
	for _, s := range panel.Servers() {
		if s.Hostname == "s101.example.net" {
			n++
		}
	}
	assert.Equal(t, 1, n)

	// sync_item: the status (2 = active) and the parameters.
	code, out = in.invoke("", "--command", "sync_item", "--item", "101")
	require.Equal(t, 0, code, out)
	cs = in.calls()
	assert.Equal(t, []string{"dedic.edit", "processing.edit", "service.setstatus"}, funcs(cs[:3]))
	assert.Equal(t, map[string]string{"elid": "101", "service_status": "2", "sok": "ok"}, params(cs[2]))
	for _, c := range cs[3:] {
		assert.Equal(t, "service.saveparam", c.Func)
	}
	assert.Len(t, cs[3:], len(saved))

	// suspend, resume, close: one engine operation each, then the callback.
	for _, step := range []struct {
		cmd, ro, callback string
	}{
		{"suspend", "2", "service.postsuspend"},
		{"resume", "3", "service.postresume"},
		{"close", "4", "service.postclose"},
	} {
		code, out = in.invoke("", "--command", step.cmd, "--item", "101", "--runningoperation", step.ro)
		require.Equal(t, 0, code, "%s: %s", step.cmd, out)
		assert.Empty(t, out)
		cs = in.calls()
		assert.Equal(t, []string{"dedic.edit", "processing.edit", step.callback}, funcs(cs), step.cmd)
		assert.Equal(t, map[string]string{"elid": "101", "sok": "ok"}, params(cs[2]), step.cmd)
	}
	s, _ := panel.Server(owned.ID)
	assert.Zero(t, s.Owner, "closed: the server went back to stock")

	// A failure: the error document on stdout, exit 1, the error stored on
	// the running operation, no completion callback.
	code, out = in.invoke("", "--command", "open", "--item", "102", "--runningoperation", "5")
	assert.Equal(t, billmgr.ExitFailure, code)
	assert.Contains(t, out, `<error type="ispkit_no_server" object="item">`)
	assert.Contains(t, out, `<param name="value">102</param>`)
	cs = in.calls()
	last = cs[len(cs)-1]
	assert.Equal(t, "runningoperation.edit", last.Func)
	assert.Equal(t, "5", last.Params["elid"])
	assert.Equal(t, "ok", last.Params["sok"])
	assert.True(t, strings.HasPrefix(last.Params["errorxml"], `<doc><error type="ispkit_no_server" object="item" value="102"><backtrace>`), last.Params["errorxml"])
	assert.NotContains(t, funcs(cs), "service.postopen")

	// An OS template the tariff does not sell is refused before any
	// server is touched.
	before := panel.Servers()
	code, out = in.invoke("", "--command", "open", "--item", "103", "--runningoperation", "6")
	assert.Equal(t, billmgr.ExitFailure, code)
	assert.Contains(t, out, `<error type="ispkit_ostemplate" object="ostempl">`)
	cs = in.calls()
	assert.Equal(t, "runningoperation.edit", cs[len(cs)-1].Func)
	assert.Contains(t, cs[len(cs)-1].Params["errorxml"], `type="ispkit_ostemplate"`)
	assert.Equal(t, before, panel.Servers(), "no server was touched")

	// A callback BILLmanager refuses makes the command fail.
	require.NoError(t, fake.SetState(billmgrtest.State{Items: state.Items, Operations: state.Operations, Forms: state.Forms,
		Fail: map[string]billmgrtest.Failure{"service.postclose": {Type: "xml", Object: "item", Message: "database is locked", Exit: 1}}}))
	code, out = in.invoke("", "--command", "close", "--item", "101", "--runningoperation", "4")
	assert.Equal(t, billmgr.ExitFailure, code)
	assert.Contains(t, out, "<error type=")
	cs = in.calls()
	assert.Equal(t, []string{"dedic.edit", "processing.edit", "service.postclose", "runningoperation.edit"}, funcs(cs))
}
