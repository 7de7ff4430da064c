package billmgr_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing/billmgr"
	"github.com/ispkit/ispkit/billing/billmgr/billmgrtest"
)

// fakeMgrctl is the fake mgrctl binary, built once for the package's tests.
var fakeMgrctl string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "billmgr-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fakeMgrctl, err = billmgrtest.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newFake(t *testing.T) *billmgrtest.Fake {
	t.Helper()
	return billmgrtest.New(t, fakeMgrctl, billmgrtest.State{
		Items:      []int64{101},
		Operations: []int64{42},
		Forms: map[string]map[string]map[string]string{
			"processing.edit": {"3": {"url": "https://dci.example.com/dcimgr", "username": "admin", "password": "pw<&>"}},
		},
	})
}

func calls(t *testing.T, f *billmgrtest.Fake) []billmgrtest.Call {
	t.Helper()
	cs, err := f.Calls()
	require.NoError(t, err)
	return cs
}

// Every callback runs "<root>/sbin/mgrctl -m billmgr <func> … out=xml" from
// <root>, naming the module in SSH_CONNECTION.
func TestMgrctlCallbacks(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	m := f.Mgrctl("pmtest")
	ctx := context.Background()

	require.NoError(t, m.Post(ctx, billmgr.PostOpen, 101))
	require.NoError(t, m.SaveParam(ctx, 101, "ip", "203.0.113.10"))
	require.NoError(t, m.SaveParam(ctx, 101, "ips", ""))
	require.NoError(t, m.SetStatus(ctx, 101, 2))
	require.NoError(t, m.SetExpireDate(ctx, 101, time.Date(2025, 4, 1, 15, 0, 0, 0, time.UTC)))
	require.NoError(t, m.OperationError(ctx, 42, &billmgr.Error{Type: "ispkit_busy", Object: "item", Value: "101", Desc: "retry <later>"}))
	require.NoError(t, m.SetManual(ctx, 42))
	pm, err := m.ProcessingModule(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"url": "https://dci.example.com/dcimgr", "username": "admin", "password": "pw<&>"}, pm)

	want := [][]string{
		{"-m", "billmgr", "service.postopen", "elid=101", "sok=ok", "out=xml"},
		{"-m", "billmgr", "service.saveparam", "elid=101", "name=ip", "sok=ok", "value=203.0.113.10", "out=xml"},
		{"-m", "billmgr", "service.saveparam", "elid=101", "name=ips", "sok=ok", "value=", "out=xml"},
		{"-m", "billmgr", "service.setstatus", "elid=101", "service_status=2", "sok=ok", "out=xml"},
		{"-m", "billmgr", "service.setexpiredate", "elid=101", "expiredate=2025-04-01", "sok=ok", "out=xml"},
		{"-m", "billmgr", "runningoperation.edit", "elid=42",
			`errorxml=<doc><error type="ispkit_busy" object="item" value="101"><backtrace>retry &lt;later&gt;</backtrace></error></doc>`, "sok=ok", "out=xml"},
		{"-m", "billmgr", "runningoperation.setmanual", "elid=42", "sok=ok", "out=xml"},
		{"-m", "billmgr", "processing.edit", "elid=3", "out=xml"},
	}
	cs := calls(t, f)
	require.Len(t, cs, len(want))
	for i, c := range cs {
		assert.Equal(t, want[i], c.Args)
		assert.Equal(t, 0, c.Exit)
		assert.Equal(t, f.Root, c.Dir, "mgrctl runs from the installation root")
		assert.Equal(t, "pmtest", c.SSHConnection)
	}
}

func TestMgrctlErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	m := f.Mgrctl("pmtest")
	ctx := context.Background()

	// An unknown item: error document, exit 1.
	err := m.Post(ctx, billmgr.PostSuspend, 7)
	var me *billmgr.MgrctlError
	require.ErrorAs(t, err, &me)
	assert.ErrorIs(t, err, billmgr.ErrMgrctl)
	assert.Equal(t, "service.postsuspend", me.Func)
	assert.Equal(t, 1, me.ExitCode)
	assert.Equal(t, "missed", me.Type)
	assert.Equal(t, "elid", me.Object)
	assert.Equal(t, "billmgr: mgrctl service.postsuspend: exit status 1: error missed (elid): object not found", err.Error())

	_, err = m.Call(ctx, "no.such.func", nil)
	require.ErrorAs(t, err, &me)
	assert.Equal(t, "func", me.Object)

	// An error document with exit status 0 is a failure too.
	require.NoError(t, f.SetState(billmgrtest.State{Items: []int64{101},
		Fail: map[string]billmgrtest.Failure{"service.postclose": {Type: "xml", Object: "db", Message: "locked", Exit: 0}}}))
	err = m.Post(ctx, billmgr.PostClose, 101)
	require.ErrorAs(t, err, &me)
	assert.Equal(t, 0, me.ExitCode)
	assert.Equal(t, "xml", me.Type)
	assert.Equal(t, "locked", me.Message)

	// A non-zero exit without a document is a failure.
	require.NoError(t, f.SetState(billmgrtest.State{Items: []int64{101},
		Fail: map[string]billmgrtest.Failure{"service.postclose": {Exit: 3}}}))
	err = m.Post(ctx, billmgr.PostClose, 101)
	require.ErrorAs(t, err, &me)
	assert.Equal(t, 3, me.ExitCode)

	// Bad names are refused before anything runs.
	n := len(calls(t, f))
	_, err = m.Call(ctx, "--help", nil)
	require.ErrorAs(t, err, &me)
	_, err = m.Call(ctx, "service.saveparam", map[string]string{"out": "json"})
	require.ErrorAs(t, err, &me)
	_, err = m.Call(ctx, "service.saveparam", map[string]string{"a=b": "c"})
	require.ErrorAs(t, err, &me)
	assert.Len(t, calls(t, f), n)

	// No mgrctl at all.
	missing := &billmgr.Mgrctl{Root: t.TempDir()}
	err = missing.Post(ctx, billmgr.PostOpen, 101)
	require.ErrorAs(t, err, &me)
	assert.Equal(t, -1, me.ExitCode)
	require.Error(t, me.Err)
}

func TestMgrctlNeverLogsValues(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var buf bytes.Buffer
	m := f.Mgrctl("pmtest")
	m.Log = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pm, err := m.ProcessingModule(context.Background(), 3)
	require.NoError(t, err)
	require.NoError(t, m.SaveParam(context.Background(), 101, "ip", "203.0.113.77"))
	_ = m.Post(context.Background(), billmgr.PostOpen, 999)
	assert.Contains(t, buf.String(), "processing.edit")
	assert.Contains(t, buf.String(), "mgrctl failed")
	assert.NotContains(t, buf.String(), pm["password"])
	assert.NotContains(t, buf.String(), "203.0.113.77")
}

func TestCallbackFor(t *testing.T) {
	t.Parallel()
	for c, want := range map[billmgr.Command]billmgr.Callback{
		billmgr.CmdOpen: billmgr.PostOpen, billmgr.CmdSuspend: billmgr.PostSuspend, billmgr.CmdResume: billmgr.PostResume,
		billmgr.CmdClose: billmgr.PostClose, billmgr.CmdSetParam: billmgr.PostSetParam, billmgr.CmdProlong: billmgr.PostProlong,
		billmgr.CmdReopen: billmgr.PostReopen, billmgr.CmdChangePassword: billmgr.PostChangePassword,
	} {
		got, ok := billmgr.CallbackFor(c)
		assert.True(t, ok, c)
		assert.Equal(t, want, got)
	}
	_, ok := billmgr.CallbackFor(billmgr.CmdSyncItem)
	assert.False(t, ok)
}

type usageHandler struct{ billmgr.UnimplementedHandler }

func (usageHandler) Usage() string { return "pmtest sells test servers.\n" }

func TestRunHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"--command", "open", "-h"}} {
		var out bytes.Buffer
		code := billmgr.RunIO(context.Background(), args, nil, &out, billmgr.UnimplementedHandler{})
		assert.Equal(t, billmgr.ExitOK, code, args)
		assert.Equal(t, billmgr.DefaultUsage, out.String())
		assert.NotContains(t, out.String(), "<doc", "plain text, never an XML error")
		out.Reset()
		code = billmgr.RunIO(context.Background(), args, nil, &out, usageHandler{})
		assert.Equal(t, billmgr.ExitOK, code)
		assert.Equal(t, "pmtest sells test servers.\n", out.String())
	}
	assert.False(t, billmgr.IsHelp([]string{"--command", "features", "--", "-h"}))
	assert.True(t, strings.HasPrefix(billmgr.DefaultUsage, "A BILLmanager processing module"))
}
