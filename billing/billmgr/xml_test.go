package billmgr_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing/billmgr"
)

func TestFeaturesXML(t *testing.T) {
	t.Parallel()
	f := &billmgr.Features{
		ItemTypes: []billmgr.ItemType{{Name: "dedic"}},
		Params: []billmgr.Param{
			{Name: "url"}, {Name: "username"}, {Name: "password", Crypted: true},
		},
		CustomParams: []billmgr.CustomParam{{Name: "default_OU", Unique: true, DefVal: "IT"}, {Name: "plain"}},
		Features:     billmgr.FeatureList(billmgr.CmdCheckConnection, billmgr.CmdOpen, billmgr.CmdSuspend),
	}
	out := runOK(t, featuresHandler{f: f}, "--command", "features")
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<doc><itemtypes><itemtype name="dedic"></itemtype></itemtypes>` +
		`<params><param name="url"></param><param name="username"></param><param name="password" crypted="yes"></param>` +
		`<customparam name="default_OU" unique="yes" defval="IT"></customparam><customparam name="plain"></customparam></params>` +
		`<features><feature name="check_connection"></feature><feature name="open"></feature><feature name="suspend"></feature></features></doc>`
	assert.Equal(t, want, out)
	assert.True(t, f.Supports(billmgr.CmdOpen))
	assert.False(t, f.Supports(billmgr.CmdClose))
}

func TestMarshalErrorXML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			"full",
			&billmgr.Error{Type: "invalid_login_or_passwd", Object: "password", Value: "x", Desc: "login failed"},
			`<doc><error type="invalid_login_or_passwd" object="password"><param name="object" type="msg" msg="password">password</param><param name="value">x</param><param name="desc">login failed</param></error></doc>`,
		},
		{
			"type only",
			&billmgr.Error{Type: "busy"},
			`<doc><error type="busy"></error></doc>`,
		},
		{
			"plain error escapes",
			errors.New(`panel said <no> & "bye"`),
			`<doc><error type="internal"><param name="desc">panel said &lt;no&gt; &amp; &#34;bye&#34;</param></error></doc>`,
		},
		{
			"usage error",
			&billmgr.UsageError{Option: "--item", Reason: "required"},
			`<doc><error type="usage" object="--item"><param name="object" type="msg" msg="--item">--item</param><param name="desc">required</param></error></doc>`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := billmgr.MarshalErrorXML(tc.err)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
}

func TestMarshalOperationErrorXML(t *testing.T) {
	t.Parallel()
	got, err := billmgr.MarshalOperationErrorXML(&billmgr.Error{Type: "no_server", Object: "config", Value: "E3", Desc: "no free server"})
	require.NoError(t, err)
	assert.Equal(t, `<doc><error type="no_server" object="config" value="E3"><backtrace>no free server</backtrace></error></doc>`, string(got))

	got, err = billmgr.MarshalOperationErrorXML(errors.New("boom"))
	require.NoError(t, err)
	assert.Equal(t, `<doc><error type="internal"><backtrace>boom</backtrace></error></doc>`, string(got))
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause")
	e := &billmgr.Error{Type: "invalid_login_or_passwd", Object: "password", Value: "v", Desc: "bad", Err: cause}
	assert.Equal(t, `billmgr: invalid_login_or_passwd (object password, value "v"): bad`, e.Error())
	assert.ErrorIs(t, e, cause)
	assert.Equal(t, "billmgr: --item: required", (&billmgr.UsageError{Option: "--item", Reason: "required"}).Error())
}

func TestParseSuitableModuleQuery(t *testing.T) {
	t.Parallel()
	q, err := billmgr.ParseSuitableModuleQuery(strings.NewReader(
		`<doc><item><pricelist>12</pricelist><period>1</period></item><skip_modules>1, 2,</skip_modules></doc>`))
	require.NoError(t, err)
	assert.Equal(t, int64(12), q.Pricelist())
	assert.Equal(t, "1", q.Item["period"])
	assert.Equal(t, []int64{1, 2}, q.SkipModules)

	q, err = billmgr.ParseSuitableModuleQuery(strings.NewReader(`<doc><item/></doc>`))
	require.NoError(t, err)
	assert.Empty(t, q.SkipModules)
	assert.Equal(t, int64(0), q.Pricelist())

	for _, in := range []string{"", "<doc><item>", "<doc><skip_modules>a</skip_modules></doc>"} {
		_, err = billmgr.ParseSuitableModuleQuery(strings.NewReader(in))
		var e *billmgr.Error
		require.ErrorAs(t, err, &e, "input %q", in)
		assert.Equal(t, billmgr.ErrTypeUsage, e.Type)
	}
	_, err = billmgr.ParseSuitableModuleQuery(nil)
	require.Error(t, err)
}

func TestParseConnectionParams(t *testing.T) {
	t.Parallel()
	m, err := billmgr.ParseConnectionParams(strings.NewReader(
		`<doc><processingmodule><id>5</id><url> https://dci.example.com </url><username>admin</username><password>pw</password></processingmodule></doc>`))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"id": "5", "url": "https://dci.example.com", "username": "admin", "password": "pw"}, m)
}
