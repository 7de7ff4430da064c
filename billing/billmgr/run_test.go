package billmgr_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing/billmgr"
)

const header = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

type featuresHandler struct {
	billmgr.UnimplementedHandler
	f *billmgr.Features
}

func (h featuresHandler) Features(context.Context) (*billmgr.Features, error) { return h.f, nil }

func runOK(t *testing.T, h billmgr.Handler, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	code := billmgr.RunIO(context.Background(), args, strings.NewReader(""), &out, h)
	require.Equal(t, billmgr.ExitOK, code, out.String())
	return out.String()
}

// recorder implements every command and records the calls.
type recorder struct {
	billmgr.UnimplementedHandler
	calls []string
	fail  error
	stdin string
}

func (r *recorder) act(name string, req *billmgr.Request) error {
	r.calls = append(r.calls, name)
	if req.Stdin != nil {
		b, _ := io.ReadAll(req.Stdin)
		r.stdin = string(b)
	}
	return r.fail
}

func (r *recorder) Open(_ context.Context, q *billmgr.Request) error    { return r.act("open", q) }
func (r *recorder) Suspend(_ context.Context, q *billmgr.Request) error { return r.act("suspend", q) }
func (r *recorder) Resume(_ context.Context, q *billmgr.Request) error  { return r.act("resume", q) }
func (r *recorder) Close(_ context.Context, q *billmgr.Request) error   { return r.act("close", q) }
func (r *recorder) SetParam(_ context.Context, q *billmgr.Request) error {
	return r.act("setparam", q)
}
func (r *recorder) Prolong(_ context.Context, q *billmgr.Request) error { return r.act("prolong", q) }
func (r *recorder) ProlongAddon(_ context.Context, q *billmgr.Request) error {
	return r.act("prolong_addon", q)
}
func (r *recorder) CancelProlong(_ context.Context, q *billmgr.Request) error {
	return r.act("cancel_prolong", q)
}
func (r *recorder) Reopen(_ context.Context, q *billmgr.Request) error { return r.act("reopen", q) }
func (r *recorder) SyncItem(_ context.Context, q *billmgr.Request) error {
	return r.act("sync_item", q)
}
func (r *recorder) GetServerConfig(_ context.Context, q *billmgr.Request) error {
	return r.act("get_server_config", q)
}
func (r *recorder) SyncServer(_ context.Context, q *billmgr.Request) error {
	return r.act("sync_server", q)
}
func (r *recorder) SyncIPList(_ context.Context, q *billmgr.Request) error {
	return r.act("sync_iplist", q)
}
func (r *recorder) SyncPricelist(_ context.Context, q *billmgr.Request) error {
	return r.act("sync_pricelist", q)
}
func (r *recorder) Stat(_ context.Context, q *billmgr.Request) error { return r.act("stat", q) }
func (r *recorder) CheckConnection(_ context.Context, q *billmgr.Request) error {
	return r.act("check_connection", q)
}
func (r *recorder) CheckParam(_ context.Context, q *billmgr.Request) error {
	return r.act("check_param", q)
}
func (r *recorder) CheckAddon(_ context.Context, q *billmgr.Request) error {
	return r.act("check_addon", q)
}

func TestRunDispatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		call string
		out  string
	}{
		{[]string{"--command", "open", "--item", "1", "--runningoperation", "2"}, "open", ""},
		{[]string{"--command", "suspend", "--item", "1"}, "suspend", ""},
		{[]string{"--command", "resume", "--item", "1"}, "resume", ""},
		{[]string{"--command", "close", "--item", "1"}, "close", ""},
		{[]string{"--command", "setparam", "--item", "1"}, "setparam", ""},
		{[]string{"--command", "prolong", "--item", "1"}, "prolong", ""},
		{[]string{"--command", "prolong_addon", "--item", "1", "--addon", "2"}, "prolong_addon", ""},
		{[]string{"--command", "cancel_prolong", "--item", "1"}, "cancel_prolong", ""},
		{[]string{"--command", "reopen", "--item", "1"}, "reopen", ""},
		{[]string{"--command", "sync_item", "--item", "1"}, "sync_item", ""},
		{[]string{"--command", "get_server_config", "--module", "1"}, "get_server_config", ""},
		{[]string{"--command", "sync_server", "--module", "1"}, "sync_server", ""},
		{[]string{"--command", "sync_iplist", "--module", "1"}, "sync_iplist", ""},
		{[]string{"--command", "sync_pricelist", "--module", "1"}, "sync_pricelist", ""},
		{[]string{"--command", "stat", "--module", "1"}, "stat", ""},
		{[]string{"--command", "check_connection"}, "check_connection", header + "<doc><ok/></doc>"},
		{[]string{"--command", "check_param", "--item", "1", "--param", "p", "--value", "v"}, "check_param", header + "<doc><ok/></doc>"},
		{[]string{"--command", "check_addon", "--item", "1"}, "check_addon", header + "<doc><ok/></doc>"},
	}
	for _, tc := range tests {
		t.Run(tc.call, func(t *testing.T) {
			t.Parallel()
			r := &recorder{}
			var out bytes.Buffer
			code := billmgr.RunIO(context.Background(), tc.args, strings.NewReader("<doc/>"), &out, r)
			assert.Equal(t, billmgr.ExitOK, code)
			assert.Equal(t, []string{tc.call}, r.calls)
			assert.Equal(t, tc.out, out.String())
			assert.Equal(t, "<doc/>", r.stdin, "stdin is passed through")
		})
	}
}

func TestRunHandlerError(t *testing.T) {
	t.Parallel()
	r := &recorder{fail: &billmgr.Error{Type: "invalid_login_or_passwd", Object: "password"}}
	var out bytes.Buffer
	code := billmgr.RunIO(context.Background(), []string{"--command", "check_connection"}, nil, &out, r)
	assert.Equal(t, billmgr.ExitFailure, code)
	assert.Equal(t, header+`<doc><error type="invalid_login_or_passwd" object="password"><param name="object" type="msg" msg="password">password</param></error></doc>`, out.String())

	r = &recorder{fail: errors.New("dci unreachable")}
	out.Reset()
	code = billmgr.RunIO(context.Background(), []string{"--command", "open", "--item", "5"}, nil, &out, r)
	assert.Equal(t, billmgr.ExitFailure, code)
	assert.Contains(t, out.String(), `<error type="internal"><param name="desc">dci unreachable</param>`)
}

func TestRunUsageError(t *testing.T) {
	t.Parallel()
	r := &recorder{}
	var out bytes.Buffer
	code := billmgr.RunIO(context.Background(), []string{"--command", "open"}, nil, &out, r)
	assert.Equal(t, billmgr.ExitUsage, code)
	assert.Empty(t, r.calls, "handler not called")
	assert.Contains(t, out.String(), `<error type="usage" object="--item">`)
}

func TestRunUnsupported(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--command", "features"},
		{"--command", "whois"},
		{"--command", "get_suitable_module"},
		{"--command", "transition_control_panel", "--item", "1"},
		{"--command", "tune_connection"},
	} {
		var out bytes.Buffer
		code := billmgr.RunIO(context.Background(), args, nil, &out, billmgr.UnimplementedHandler{})
		assert.Equal(t, billmgr.ExitFailure, code, args)
		assert.Contains(t, out.String(), `<error type="unsupported" object="command">`, args)
		assert.Contains(t, out.String(), `<param name="value">`+args[1]+`</param>`, args)
	}
	var h billmgr.UnimplementedHandler
	require.ErrorIs(t, h.Open(context.Background(), &billmgr.Request{}), billmgr.ErrUnsupported)
}

type queryHandler struct {
	billmgr.UnimplementedHandler
}

func (queryHandler) GetSuitableModule(_ context.Context, req *billmgr.Request) ([]int64, error) {
	q, err := billmgr.ParseSuitableModuleQuery(req.Stdin)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, id := range []int64{1, 2, 3} {
		if !contains(q.SkipModules, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func (queryHandler) TransitionControlPanel(_ context.Context, req *billmgr.Request) (*billmgr.PanelLink, error) {
	return &billmgr.PanelLink{URL: "https://dci.example.com/auth?key=k&x=1", KeyName: req.Args.Extra["panelkey"], Name: "DCImanager"}, nil
}

func (queryHandler) TuneConnection(_ context.Context, req *billmgr.Request) ([]byte, error) {
	return io.ReadAll(req.Stdin)
}

func (queryHandler) Other(_ context.Context, req *billmgr.Request) ([]byte, error) {
	return []byte("<doc>" + string(req.Args.Command) + "</doc>"), nil
}

func contains(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func TestRunQueries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"suitable modules", []string{"--command", "get_suitable_module"},
			`<doc><item><pricelist>7</pricelist></item><skip_modules>2</skip_modules></doc>`,
			header + `<doc><modules><module id="1"></module><module id="3"></module></modules></doc>`},
		{"no suitable module", []string{"--command", "get_suitable_module"},
			`<doc><item/><skip_modules>1,2,3</skip_modules></doc>`,
			header + `<doc><modules></modules></doc>`},
		{"panel link", []string{"--command", "transition_control_panel", "--item", "4", "--panelkey", "dci"}, "",
			header + `<doc><url>https://dci.example.com/auth?key=k&amp;x=1</url><panelcount>1</panelcount><panelname keyname="dci">DCImanager</panelname></doc>`},
		{"tune connection echoes", []string{"--command", "tune_connection"}, "<doc><url/></doc>", "<doc><url/></doc>"},
		{"other command", []string{"--command", "whois"}, "", "<doc>whois</doc>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			code := billmgr.RunIO(context.Background(), tc.args, strings.NewReader(tc.stdin), &out, queryHandler{})
			assert.Equal(t, billmgr.ExitOK, code, out.String())
			assert.Equal(t, tc.want, out.String())
		})
	}
}

type nilHandler struct{ billmgr.UnimplementedHandler }

func (nilHandler) Features(context.Context) (*billmgr.Features, error) { return nil, nil }
func (nilHandler) TransitionControlPanel(context.Context, *billmgr.Request) (*billmgr.PanelLink, error) {
	return nil, nil
}

func TestRunNilResults(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--command", "features"}, {"--command", "transition_control_panel", "--item", "1"}} {
		var out bytes.Buffer
		code := billmgr.RunIO(context.Background(), args, nil, &out, nilHandler{})
		assert.Equal(t, billmgr.ExitFailure, code)
		assert.Contains(t, out.String(), `type="internal"`)
	}
}
