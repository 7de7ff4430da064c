package billmgr_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing/billmgr"
)

func TestParseArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want billmgr.Args
	}{
		{
			name: "open with running operation",
			args: []string{"--command", "open", "--item", "117", "--runningoperation", "42"},
			want: billmgr.Args{Command: billmgr.CmdOpen, Item: 117, RunningOperation: 42},
		},
		{
			name: "short options",
			args: []string{"-c", "import", "-m", "3", "-t", "dedic", "-l", "en", "-i", "5", "-a", "6"},
			want: billmgr.Args{Command: billmgr.CmdImport, Module: 3, ItemType: "dedic", Lang: "en", Item: 5, Addon: 6},
		},
		{
			name: "equals form",
			args: []string{"--command=check_param", "--item=9", "--param=domain", "--value=a=b"},
			want: billmgr.Args{Command: billmgr.CmdCheckParam, Item: 9, Param: "domain", Value: "a=b"},
		},
		{
			name: "all known options",
			args: []string{"--command", "tuning_param", "--subcommand", "pricelist", "--id", "77", "--intname", "x", "--level", "16", "--lang", "ru"},
			want: billmgr.Args{Command: billmgr.CmdTuningParam, Subcommand: "pricelist", ID: "77", IntName: "x", Level: 16, Lang: "ru"},
		},
		{
			name: "unknown options are kept",
			args: []string{"--command", "changepassword", "--password", "pw", "--userid", "12", "--verbose", "--tld=com", "-x"},
			want: billmgr.Args{Command: billmgr.CmdChangePassword, Extra: map[string]string{"password": "pw", "userid": "12", "verbose": "", "tld": "com", "x": ""}},
		},
		{
			name: "last occurrence wins, positional and -- kept",
			args: []string{"--command", "features", "pos", "--command", "stat", "--", "--item", "x"},
			want: billmgr.Args{Command: billmgr.CmdStat, Positional: []string{"pos", "--item", "x"}},
		},
		{
			name: "stat without module",
			args: []string{"--command", "stat"},
			want: billmgr.Args{Command: billmgr.CmdStat},
		},
		{
			name: "get_server_config",
			args: []string{"--command", "get_server_config", "--module", "4"},
			want: billmgr.Args{Command: billmgr.CmdGetServerConfig, Module: 4},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := billmgr.ParseArgs(tc.args)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		option string
	}{
		{"no command", []string{"--item", "1"}, "--command"},
		{"empty", nil, "--command"},
		{"missing value", []string{"--command", "open", "--item"}, "--item"},
		{"non-numeric item", []string{"--command", "open", "--item", "abc"}, "--item"},
		{"negative module", []string{"--command", "stat", "--module", "-1"}, "--module"},
		{"bad running operation", []string{"--command", "stat", "--runningoperation", "x"}, "--runningoperation"},
		{"bad level", []string{"--command", "stat", "--level", "admin"}, "--level"},
	}
	for _, cmd := range []string{"open", "suspend", "resume", "close", "setparam", "prolong", "transfer", "update_ns", "check_param", "gen_key", "sync_item", "reopen", "cancel_prolong", "check_addon", "transition_control_panel"} {
		tests = append(tests, struct {
			name   string
			args   []string
			option string
		}{cmd + " needs item", []string{"--command", cmd}, "--item"})
	}
	for _, cmd := range []string{"sync_pricelist", "sync_server", "sync_iplist", "get_server_config", "import", "approver", "import_pricelist"} {
		tests = append(tests, struct {
			name   string
			args   []string
			option string
		}{cmd + " needs module", []string{"--command", cmd}, "--module"})
	}
	tests = append(tests, struct {
		name   string
		args   []string
		option string
	}{"prolong_addon needs addon", []string{"--command", "prolong_addon", "--item", "1"}, "--addon"})

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := billmgr.ParseArgs(tc.args)
			var ue *billmgr.UsageError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, tc.option, ue.Option)
		})
	}
}

func TestArgsRedactsPasswords(t *testing.T) {
	t.Parallel()
	a, err := billmgr.ParseArgs([]string{"--command", "changepassword", "--item", "3", "--password", "hunter2", "--userid", "12"})
	require.NoError(t, err)
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(f, a)
		assert.NotContains(t, out, "hunter2")
		assert.Contains(t, out, "--userid 12")
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("run", "args", a)
	assert.NotContains(t, buf.String(), "hunter2")
	assert.Contains(t, buf.String(), "--command changepassword --item 3")
}
