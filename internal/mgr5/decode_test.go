package mgr5_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/mgr5"
)

// Bodies shaped like the real panels' (spec mgr5 §2.5, §2.6).

// webdomainSJSON is the S6 webdomain fixture: sjson, elem as a one-item array.
const webdomainSJSON = `{"doc":{"elem":[{"active":{"$":"on"},"database":{"$orig":"db_not_assigned","$":"Notused"},
  "id":{"$":"1"},"name":{"$":"testsite.ru"},"owner":{"$":"user0"},"ssl_issued_success":{}}],
  "metadata":{"$name":"webdomain","$type":"list","$key":"name"},
  "p_cnt":{"$":"1000"},"p_num":{"$":"1"},"tparams":{"func":{"$":"webdomain"},"out":{"$":"sjson"}}}}`

// webdomainJSON is the same list as out=json may send it: one row as an object.
const webdomainJSON = `{"doc":{"$lang":"en","$func":"webdomain","elem":{"active":{"$":"on"},
  "database":{"$orig":"db_not_assigned","$":"Notused"},"id":{"$":"1"},"name":{"$":"testsite.ru"},
  "owner":{"$":"user0"},"ssl_issued_success":{}},
  "metadata":{"$name":"webdomain","$type":"list","$key":"name"},"tparams":{"func":{"$":"webdomain"}}}}`

const suspendOK = `{"doc":{"$lang":"en","$func":"user.suspend","$binary":"/ispmgr",
  "ok":{},
  "tparams":{"elid":{"$":"user0"},"func":{"$":"user.suspend"},"out":{"$":"sjson"}}}}`

const newkeyOK = `{"doc":{"$func":"session.newkey","ok":{},
  "tparams":{"func":{"$":"session.newkey"},"key":{"$":"23d5a822f913171ee6e7ba691edf33e9"},"out":{"$":"sjson"}}}}`

// authErrorBody is the real JSON auth failure from the S6 fixture.
const authErrorBody = `{"doc":{"error":{"$type":"auth","$object":"badpassword","$lang":"en",
  "detail":{"$":"Invalid username or password "},
  "msg":{"$":"Invalid username or password "},
  "param":[{"$name":"object","$type":"msg","$":"badpassword"},
           {"$name":"value","$":"remote_addr: [85.140.114.49]"}]}}}`

func checkWebdomainRow(t *testing.T, rows []mgr5.Row) {
	t.Helper()
	require.Len(t, rows, 1)
	r := rows[0]
	assert.Equal(t, "1", r.Get("id"))
	assert.Equal(t, "testsite.ru", r.Get("name"))
	assert.Equal(t, "user0", r.Get("owner"))
	assert.True(t, mgr5.ParseOnOff(r.Get("active")))
	assert.Equal(t, "Notused", r.Get("database"))
	assert.Equal(t, "db_not_assigned", r["database"].Orig)
	assert.True(t, r.Has("ssl_issued_success"), "a {} flag is present")
	assert.Equal(t, "", r.Get("ssl_issued_success"))
	assert.True(t, r["ssl_issued_success"].Present)
	assert.False(t, r.Has("blocked"), "an absent flag is absent")
	assert.Equal(t, "", r.Get("blocked"))
	assert.Len(t, r, 6, "only the row's own fields")
}

func TestDecodeListOneRow(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{"elem array (sjson)": webdomainSJSON, "elem object (json)": webdomainJSON} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, err := mgr5.Decode("ispmanager", "webdomain", []byte(body))
			require.NoError(t, err)
			rows, err := d.Rows()
			require.NoError(t, err)
			checkWebdomainRow(t, rows)
			assert.False(t, d.OK())

			rows, err = mgr5.DecodeList("ispmanager", "webdomain", []byte(body))
			require.NoError(t, err)
			checkWebdomainRow(t, rows)
		})
	}
}

func TestDecodeListManyAndNoRows(t *testing.T) {
	t.Parallel()
	body := `{"doc":{"elem":[{"id":{"$":"1"},"poweron":{}},{"id":{"$":"2"}},{"id":{"$":"3"},"ip":[{"$":"192.0.2.1"},{"$":"192.0.2.2"}]}]}}`
	rows, err := mgr5.DecodeList("dci", "server", []byte(body))
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.True(t, rows[0].Has("poweron"))
	assert.False(t, rows[1].Has("poweron"))
	assert.Equal(t, "192.0.2.1", rows[2].Get("ip"), "a repeated field reads as its first value")
	assert.Equal(t, []string{"192.0.2.1", "192.0.2.2"}, rows[2]["ip"].All)

	for _, body := range []string{`{"doc":{}}`, `{"doc":{"elem":[]}}`, `{"doc":{"elem":null,"p_cnt":{"$":"0"}}}`} {
		rows, err := mgr5.DecodeList("dci", "server", []byte(body))
		require.NoError(t, err, body)
		assert.Empty(t, rows, body)
		d, err := mgr5.Decode("dci", "server", []byte(body))
		require.NoError(t, err, body)
		rows, err = d.Rows()
		require.NoError(t, err, body)
		assert.Empty(t, rows, body)
	}
}

func TestDecodeSuccessShapes(t *testing.T) {
	t.Parallel()
	d, err := mgr5.Decode("ispmanager", "user.suspend", []byte(suspendOK))
	require.NoError(t, err)
	assert.True(t, d.OK())
	assert.Equal(t, "", d.ID())
	assert.Equal(t, "en", d.Text("$lang"), "doc attributes are reachable by their $ name")

	d, err = mgr5.Decode("ispmanager", "session.newkey", []byte(newkeyOK))
	require.NoError(t, err)
	assert.True(t, d.OK())

	d, err = mgr5.Decode("dci", "user.edit", []byte(`{"doc":{"ok":{},"id":{"$":"42"}}}`))
	require.NoError(t, err)
	assert.True(t, d.OK())
	assert.Equal(t, "42", d.ID())

	d, err = mgr5.Decode("dci", "ipmiredirect", []byte(`{"doc":{"ok":{"$":"https://ipmi.example/login?x=1"}}}`))
	require.NoError(t, err)
	assert.True(t, d.OK())
	assert.Equal(t, "https://ipmi.example/login?x=1", d.Text("ok"), "ok may carry text")

	d, err = mgr5.Decode("dci", "auth", []byte(`{"doc":{"auth":{"$id":"5e55","$level":"16","$":"5e55"}}}`))
	require.NoError(t, err)
	var a struct {
		ID    string `json:"$id"`
		Level string `json:"$level"`
	}
	require.NoError(t, d.Into("auth", &a))
	assert.Equal(t, "5e55", a.ID)
	assert.Equal(t, "16", a.Level)
	assert.Error(t, d.Into("nothing", &a))
	assert.Equal(t, []string{"auth"}, d.Fields())
}

func TestValueShapes(t *testing.T) {
	t.Parallel()
	cases := map[string]mgr5.Value{
		`{}`:                               {Present: true},
		`{ }`:                              {Present: true},
		`{"$":"x"}`:                        {Text: "x", Present: true},
		`{"$orig":"o","$":"t","$key":"k"}`: {Text: "t", Orig: "o", Key: "k", Present: true},
		`{"$name":"n","$":"t"}`:            {Text: "t", Name: "n", Present: true},
		`[{"$":"a","$key":"1"},{"$":"b"}]`: {Text: "a", Key: "1", All: []string{"a", "b"}, Present: true},
		`"bare"`:                           {Text: "bare", Present: true},
		`12`:                               {Text: "12", Present: true},
		`null`:                             {},
	}
	for in, want := range cases {
		var v mgr5.Value
		require.NoError(t, json.Unmarshal([]byte(in), &v), in)
		assert.Equal(t, want, v, in)
	}
	var v mgr5.Value
	assert.Error(t, json.Unmarshal([]byte(`{"$":{"nested":1}}`), &v))

	d, err := mgr5.Decode("p", "f", []byte(`{"doc":{"name":{"$":"x"},"flag":{}}}`))
	require.NoError(t, err)
	assert.Equal(t, mgr5.Value{}, d.Value("missing"))
	assert.False(t, d.Has("missing"))
	assert.True(t, d.Value("flag").Present)
	assert.True(t, d.Has("flag"))
}

func TestDecodeProtocolErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"html":        "<html><body><h1>502 Bad Gateway</h1></body></html>",
		"empty":       "",
		"truncated":   `{"doc":{"elem":[{"id":{"$":"1"`,
		"no doc":      `{"result":"ok"}`,
		"empty json":  `{}`,
		"null doc":    `{"doc":null}`,
		"doc string":  `{"doc":"x"}`,
		"json array":  `[{"id":"1"}]`,
		"xml":         `<?xml version="1.0"?><doc><ok/></doc>`,
		"bad elem":    `{"doc":{"elem":"x"}}`,
		"error shape": `{"doc":{"error":"boom"}}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var pe *mgr5.ProtocolError
			_, derr := mgr5.Decode("dcimanager5", "server", []byte(body))
			rows, lerr := mgr5.DecodeList("dcimanager5", "server", []byte(body))
			assert.Nil(t, rows)
			switch name {
			case "bad elem":
				// The envelope is fine; the rows are not.
				require.NoError(t, derr)
				require.ErrorAs(t, lerr, &pe)
				return
			}
			require.ErrorAs(t, derr, &pe, "Decode")
			assert.Equal(t, "dcimanager5", pe.Panel)
			assert.Equal(t, "server", pe.Func)
			if name != "error shape" { // there Size is the doc.error's
				assert.Equal(t, len(body), pe.Size)
			}
			assert.Equal(t, 0, pe.StatusCode)
			assert.Contains(t, pe.Error(), "dcimanager5: server: unexpected response")
			require.ErrorAs(t, lerr, &pe, "DecodeList")
			var me *mgr5.Error
			assert.False(t, errors.As(derr, &me), "not a panel error")
		})
	}
	pe := &mgr5.ProtocolError{Panel: "p", Func: "f", StatusCode: 502, Reason: "Bad Gateway", Size: 10}
	assert.Equal(t, "p: f: unexpected response (HTTP 502): Bad Gateway (10 bytes)", pe.Error())
}

func TestDecodeAuthError(t *testing.T) {
	t.Parallel()
	for _, decode := range []func([]byte) error{
		func(b []byte) error { _, err := mgr5.Decode("dcimanager5", "session.newkey", b); return err },
		func(b []byte) error { _, err := mgr5.DecodeList("dcimanager5", "session.newkey", b); return err },
	} {
		err := decode([]byte(authErrorBody))
		var e *mgr5.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "dcimanager5", e.Panel)
		assert.Equal(t, "session.newkey", e.Func)
		assert.Equal(t, mgr5.TypeAuth, e.Type)
		assert.Equal(t, "badpassword", e.Object)
		assert.Equal(t, "remote_addr: [85.140.114.49]", e.Value, "the caller's address, useful for an authinfo whitelist")
		assert.Equal(t, "Invalid username or password", e.Message, "trimmed")
		assert.Equal(t, map[string]string{"object": "badpassword", "value": "remote_addr: [85.140.114.49]"}, e.Params)

		assert.ErrorIs(t, err, mgr5.ErrAuth)
		assert.True(t, mgr5.IsAuth(err))
		assert.False(t, mgr5.IsNotFound(err))
		assert.False(t, mgr5.IsExists(err))
		assert.False(t, mgr5.IsValue(err))
		assert.False(t, mgr5.IsAccess(err))
		assert.NotErrorIs(t, err, mgr5.ErrLimit)
		assert.Equal(t, "dcimanager5: session.newkey: auth/badpassword (remote_addr: [85.140.114.49]): Invalid username or password", err.Error())

		wrapped := fmt.Errorf("provision: %w", err)
		assert.True(t, mgr5.IsAuth(wrapped), "predicates see through wrapping")
		require.ErrorAs(t, wrapped, &e)
	}
	d, err := mgr5.Decode("p", "f", []byte(authErrorBody))
	require.Error(t, err)
	require.NotNil(t, d, "the document comes back with the error")
	assert.True(t, d.Has("error"))
}

func errorBody(typ, object, value, msg string, params ...[2]string) string {
	e := map[string]any{"$type": typ, "$object": object, "$lang": "en"}
	if value != "" {
		e["$value"] = value
	}
	if msg != "" {
		e["msg"] = map[string]string{"$": msg}
	}
	var ps []map[string]string
	for _, p := range params {
		ps = append(ps, map[string]string{"$name": p[0], "$": p[1]})
	}
	if len(ps) == 1 {
		e["param"] = ps[0] // a single param as an object
	} else if len(ps) > 1 {
		e["param"] = ps
	}
	b, _ := json.Marshal(map[string]any{"doc": map[string]any{"error": e}})
	return string(b)
}

func TestErrorPredicates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body     string
		sentinel error
		pred     func(error) bool
		object   string
		value    string
		message  string
	}{
		{errorBody("exists", "user", "bob", "The user '__value__' already exists", [2]string{"value", "bob"}),
			mgr5.ErrExists, mgr5.IsExists, "user", "bob", "The user 'bob' already exists"},
		{errorBody("missed", "elid", "", "Object '__value__' not found", [2]string{"object", "elid"}, [2]string{"value", "77"}),
			mgr5.ErrNotFound, mgr5.IsNotFound, "elid", "77", "Object '77' not found"},
		{errorBody("value", "port", "99999", "Invalid value of the field '__object__'", [2]string{"object", "port"}),
			mgr5.ErrValue, mgr5.IsValue, "port", "99999", "Invalid value of the field 'port'"},
		{errorBody("access", "server", "", "Access denied"),
			mgr5.ErrAccess, mgr5.IsAccess, "server", "", "Access denied"},
		{errorBody("auth", "session", "", "Session expired"),
			mgr5.ErrAuth, mgr5.IsAuth, "session", "", "Session expired"},
		{errorBody("limit", "server", "", "Limit exceeded"),
			mgr5.ErrLimit, func(err error) bool { return errors.Is(err, mgr5.ErrLimit) }, "server", "", "Limit exceeded"},
	}
	sentinels := []error{mgr5.ErrAuth, mgr5.ErrExists, mgr5.ErrNotFound, mgr5.ErrValue, mgr5.ErrAccess, mgr5.ErrLimit}
	for _, tc := range cases {
		_, err := mgr5.Decode("ispmanager", "user.add.finish", []byte(tc.body))
		var e *mgr5.Error
		require.ErrorAs(t, err, &e, tc.body)
		assert.True(t, tc.pred(err), tc.body)
		assert.Equal(t, tc.object, e.Object, tc.body)
		assert.Equal(t, tc.value, e.Value, tc.body)
		assert.Equal(t, tc.message, e.Message, tc.body)
		for _, s := range sentinels {
			assert.Equal(t, s == tc.sentinel, errors.Is(err, s), "%s vs %v", e.Type, s)
		}
	}
	// An unknown type matches no sentinel.
	_, err := mgr5.Decode("p", "f", []byte(errorBody("xml", "xpath", "", "")))
	for _, s := range sentinels {
		assert.NotErrorIs(t, err, s)
	}
	var e *mgr5.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "p: f: xml/xpath", e.Error())
}

func TestErrorPlaceholdersFromDetail(t *testing.T) {
	t.Parallel()
	// No msg: the detail text is used, placeholders filled from param (§2.6, S6).
	body := `{"doc":{"error":{"$type":"xml","$object":"xpath","$report":"yes",
	  "detail":{"$":"Error in XPath '__value__' (__object__)"},
	  "param":[{"$name":"object","$type":"msg","$":"xpath"},{"$name":"value","$":"bad XPath"}]}}}`
	_, err := mgr5.Decode("core", "f", []byte(body))
	var e *mgr5.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "Error in XPath 'bad XPath' (xpath)", e.Message)
	assert.Equal(t, "bad XPath", e.Value, "value taken from param when there is no $value")
	assert.Equal(t, "xml", e.Type)
}

func TestValueErrorOnSecretFieldIsRedacted(t *testing.T) {
	t.Parallel()
	const pw = "hunter2-Secret"
	for _, object := range []string{"passwd", "password", "confirm", "authinfo"} {
		body := errorBody("value", object, pw, "Bad value '__value__' for __object__",
			[2]string{"object", object}, [2]string{"value", pw})
		_, err := mgr5.Decode("ispmanager", "user.edit", []byte(body))
		var e *mgr5.Error
		require.ErrorAs(t, err, &e)
		assert.True(t, mgr5.IsValue(err))
		assert.Equal(t, object, e.Object)
		assert.Equal(t, "REDACTED", e.Value, object)
		assert.Equal(t, "REDACTED", e.Params["value"], object)
		assert.Equal(t, "Bad value 'REDACTED' for "+object, e.Message)
		assert.NotContains(t, err.Error(), pw)
		assert.NotContains(t, fmt.Sprintf("%v %+v %#v", err, e, e.Params), pw)
		var buf strings.Builder
		slog.New(slog.NewJSONHandler(&buf, nil)).Error("call failed", "err", e)
		assert.NotContains(t, buf.String(), pw)
		assert.Contains(t, buf.String(), `"type":"value"`, "LogValue renders the fields")
	}
	// A secret-named param is redacted whatever the object.
	body := errorBody("value", "name", "x", "__password__", [2]string{"password", pw})
	_, err := mgr5.Decode("p", "f", []byte(body))
	var e *mgr5.Error
	require.ErrorAs(t, err, &e)
	assert.NotContains(t, e.Message, pw)
	assert.Equal(t, "x", e.Value, "a public field keeps its value")
}

func TestMalformedErrorIsProtocolError(t *testing.T) {
	t.Parallel()
	_, err := mgr5.Decode("p", "f", []byte(`{"doc":{"error":{"$type":5}}}`))
	var pe *mgr5.ProtocolError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, pe.Reason, "malformed doc.error")
}

// serverEdit is a form (server.edit without sok) with metadata, select
// lists and a one-value and a many-value slist.
const serverEdit = `{"doc":{"$lang":"en","$func":"server.edit",
  "id":{"$":"12"},"hostname":{"$":"node1.example"},"owner":{"$":"3"},"disabled":{"$":"off"},
  "poweron":{},"mac":{"$":"00:11:22:33:44:55"},"note":{"$":""},
  "metadata":{"$type":"form"},"tparams":{"elid":{"$":"12"},"func":{"$":"server.edit"}},
  "messages":{"msg":[{"$name":"a","$":"A"}]},"toolbar":{},"page":[{"$":"1"}],
  "slist":[{"$name":"owner","val":[{"$key":"no_owner","$":"-- none --"},{"$key":"3","$":"bob"}]},
           {"$name":"chassis_templ","val":{"$key":"T1","$":"Template 1"}}]}}`

func TestForm(t *testing.T) {
	t.Parallel()
	d, err := mgr5.Decode("dci", "server.edit", []byte(serverEdit))
	require.NoError(t, err)
	f := d.Form()
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"id", "hostname", "owner", "disabled", "poweron", "mac", "note"}, keys,
		"metadata, tparams, messages, toolbar, page, slist and doc attributes are not fields")
	assert.Equal(t, "node1.example", f["hostname"].Text)
	assert.True(t, f["poweron"].Present)
	assert.Equal(t, "", f["poweron"].Text)
	assert.False(t, mgr5.ParseOnOff(f["disabled"].Text))
	assert.True(t, f["note"].Present)
}

func TestSelectList(t *testing.T) {
	t.Parallel()
	d, err := mgr5.Decode("dci", "server.edit", []byte(serverEdit))
	require.NoError(t, err)
	owner := d.SelectList("owner")
	require.Len(t, owner, 2, "val as an array")
	assert.Equal(t, "no_owner", owner[0].Key)
	assert.Equal(t, "-- none --", owner[0].Text)
	assert.Equal(t, "3", owner[1].Key)
	assert.Equal(t, "bob", owner[1].Text)
	assert.True(t, owner[1].Present)

	ch := d.SelectList("chassis_templ")
	require.Len(t, ch, 1, "val as an object")
	assert.Equal(t, mgr5.Value{Key: "T1", Text: "Template 1", Present: true}, ch[0])
	assert.Nil(t, d.SelectList("missing"))

	// slist itself as one object.
	d, err = mgr5.Decode("dci", "server.operations", []byte(
		`{"doc":{"slist":{"$name":"ostemplate","val":[{"$key":"ISPsystem__CentOS-7","$":"CentOS 7"}]}}}`))
	require.NoError(t, err)
	os := d.SelectList("ostemplate")
	require.Len(t, os, 1)
	assert.Equal(t, "ISPsystem__CentOS-7", os[0].Key)

	d, err = mgr5.Decode("dci", "f", []byte(`{"doc":{"id":{"$":"1"}}}`))
	require.NoError(t, err)
	assert.Nil(t, d.SelectList("owner"), "no slist at all")
}

func TestNullErrorIsNoError(t *testing.T) {
	t.Parallel()
	d, err := mgr5.Decode("p", "f", []byte(`{"doc":{"error":null,"ok":{}}}`))
	require.NoError(t, err)
	require.True(t, d.OK())
	rows, err := mgr5.DecodeList("p", "f", []byte(`{"doc":{"error":null,"elem":{"id":{"$":"1"}}}}`))
	require.NoError(t, err)
	require.Len(t, rows, 1)
}
