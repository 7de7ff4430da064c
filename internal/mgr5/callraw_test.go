package mgr5_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/mgr5"
)

// rawCases are bodies for the raw route: BodyError must report exactly the
// error Decode reports for doc.error, and ScanListBody must agree with
// Decode wherever it accepts a body.
var rawCases = []string{
	webdomainSJSON, webdomainJSON, suspendOK, newkeyOK, authErrorBody, serverEdit,
	`{"doc":{"ok":{},"id":{"$":"42"}}}`,
	`{"doc":{"elem":[{"id":{"$":"1"},"ip":[{"$":"a"},{"$":"b"}]},{"id":2}]}}`,
	`{"doc":{"error":{"$type":"value","$object":"passwd","$value":"x","param":{"$name":"value","$":"x"}}}}`,
	`{"doc":{"error":null}}`, `{"doc":{"elem":"x"}}`, `{"doc":null}`, `{}`, `[]`, `null`, ``, `<html>`,
	`{"doc":{"elem":[null,{}]}}`, `{"doc":{"elem":null}}`, `{"doc":{"elem":[]}}`, `{"doc":{}}`,
	// "error" as a value, as part of a key, escaped, in another case, twice.
	`{"doc":{"elem":[{"name":{"$":"error"},"powererror":{}}]}}`,
	`{"doc":{"\u0065rror":{"$type":"missed","$object":"elid"}}}`,
	`{"doc":{"erro\u0072":null,"elem":{"id":"1"}}}`,
	`{"doc":{"ERROR":{"$type":"missed"},"elem":[]}}`,
	`{"doc":{"error":{"$type":"value"},"error":null}}`,
	`{"doc":{"error":"not an object"}}`,
	`{"doc":{"error":{"$type":"access"}},"doc":{"elem":[]}}`,
	`{"DOC":{"error":{"$type":"access"}}}`,
	`{"Doc":{"elem":[{"id":"1"}]}}`,
	`{"doc":{"elem":[{"id":"1"}],"elem":[]}}`,
	`{"doc":{"elem":[{"id":"1"}]}} trailing`,
	` {"x":[1,{"error":{}}],"doc":{"tparams":{"error":{"$":"x"}},"elem":{"id":{"$":"7","$orig":"o"}},"p_cnt":{"$":"1"}},"y":true} `,
	`{"doc":{"elem":[{"id":"1"}]},"error":{"$type":"auth"}}`,
}

func TestBodyErrorMatchesDecode(t *testing.T) {
	t.Parallel()
	for _, c := range rawCases {
		checkBodyError(t, []byte(c))
	}
	// The cheap check: no "error" and no \u — nothing is scanned, even an
	// invalid body (its decoder reports that).
	assert.NoError(t, mgr5.BodyError("p", "f", []byte(`<html>`)))
	var e *mgr5.Error
	require.ErrorAs(t, mgr5.BodyError("p", "f", []byte(`{"doc":{"\u0065rror":{"$type":"missed","$object":"elid"}}}`)), &e)
	assert.True(t, mgr5.IsNotFound(e))
}

// checkBodyError: BodyError is the error Decode returns together with a
// Doc (that is, the error of doc.error), nil otherwise.
func checkBodyError(t *testing.T, body []byte) {
	t.Helper()
	d, want := mgr5.Decode("p", "f", body)
	if d == nil {
		want = nil
	}
	got := mgr5.BodyError("p", "f", body)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("body %q:\nDecode:    %#v\nBodyError: %#v", body, want, got)
	}
}

// rowCollector is a RowVisitor that builds []Row.
type rowCollector struct{ rows []mgr5.Row }

func (c *rowCollector) Row(null bool) {
	var r mgr5.Row
	if !null {
		r = mgr5.Row{}
	}
	c.rows = append(c.rows, r)
}

func (c *rowCollector) Field(name string, v mgr5.Value) bool {
	c.rows[len(c.rows)-1][name] = v
	return true
}

// checkScanListBody: where ScanListBody accepts a body, Decode gives the
// same doc.elem and doc.error bytes, and the rows are Doc.Rows' rows.
func checkScanListBody(t *testing.T, body []byte) {
	t.Helper()
	var rc rowCollector
	elem, errRaw, ok := mgr5.ScanListBody(body, &rc)
	if !ok {
		return
	}
	d, err := mgr5.Decode("p", "f", body)
	require.NotNil(t, d, "scanner accepted %q, Decode did not: %v", body, err)
	var docElem, docErr json.RawMessage
	if d.Has("elem") {
		require.NoError(t, d.Into("elem", &docElem))
		assert.Equal(t, string(docElem), string(elem), "%q", body)
	} else {
		assert.Nil(t, elem, "%q", body)
	}
	if d.Has("error") {
		require.NoError(t, d.Into("error", &docErr))
		assert.Equal(t, string(docErr), string(errRaw), "%q", body)
	} else {
		assert.Nil(t, errRaw, "%q", body)
	}
	if elem == nil {
		assert.Empty(t, rc.rows)
		return
	}
	want, werr := mgr5.RowsJSON(elem)
	require.NoError(t, werr, "scanner accepted elem %q", elem)
	got := rc.rows
	switch t := bytes.TrimSpace(elem); {
	case bytes.Equal(t, []byte("null")):
		got = nil
	case t[0] == '[' && got == nil:
		got = []mgr5.Row{}
	}
	assert.Equal(t, want, got, "%q", body)
}

func TestScanListBodyMatchesDecode(t *testing.T) {
	t.Parallel()
	accepted := 0
	for _, c := range rawCases {
		checkScanListBody(t, []byte(c))
		if _, _, ok := mgr5.ScanListBody([]byte(c), &rowCollector{}); ok {
			accepted++
		}
	}
	assert.Greater(t, accepted, 10, "the scanner takes the common shapes")
	for _, c := range []string{`{"doc":null}`, `{"DOC":{}}`, `{"doc":{"elem":[],"elem":[]}}`,
		`{"doc":{"\u0065lem":[]}}`, `{"doc":{"elem":"x"}}`, `{"doc":{}} x`, `[]`, ``} {
		_, _, ok := mgr5.ScanListBody([]byte(c), &rowCollector{})
		assert.False(t, ok, c)
	}
}

func FuzzBodyError(f *testing.F) {
	for _, c := range rawCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkBodyError(t, body)
		checkScanListBody(t, body)
	})
}

func TestCallRaw(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	for _, c := range rawCases {
		p := newTestPanel(t, func(int, url.Values) (int, string) { return 200, c })
		cl := newMgrClient(t, p.srv.URL+"/dcimgr", mgr5.AuthInfo)
		body, err := cl.CallRaw(ctx, mgr5.Request{Func: "server"})
		d, want := cl.Call(ctx, mgr5.Request{Func: "server"})
		if d != nil && want != nil {
			// A doc.error: the same error as Call, no body.
			assert.Equal(t, want, err, c)
			assert.Nil(t, body, c)
			continue
		}
		// Anything else comes back verbatim; the caller's decoder judges it.
		require.NoError(t, err, c)
		assert.Equal(t, c, string(body))
		assert.Equal(t, "server", p.seen()[0].Form.Get("func"))
		assert.Equal(t, adminUser+":"+adminPass, p.seen()[0].Form.Get("authinfo"))
	}

	// A doc.error wins over a non-200 status; a bare non-200 is a status error.
	p := newTestPanel(t, func(int, url.Values) (int, string) { return 404, errorBody("missed", "elid", "9", "") })
	_, err := newMgrClient(t, p.srv.URL+"/x", mgr5.AuthInfo).CallRaw(ctx, mgr5.Request{Func: "server.edit"})
	assert.True(t, mgr5.IsNotFound(err), "%v", err)
	p = newTestPanel(t, func(int, url.Values) (int, string) { return 502, "<html>bad gateway</html>" })
	_, err = newMgrClient(t, p.srv.URL+"/x", mgr5.AuthInfo, func(cfg *mgr5.Config) { cfg.HTTP.MaxRetries = -1 }).
		CallRaw(ctx, mgr5.Request{Func: "server"})
	var pe *mgr5.ProtocolError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 502, pe.StatusCode)
}

func TestCallRawSessionRelogin(t *testing.T) {
	t.Parallel()
	sp := newSessionPanel(t, func(call int) bool { return call == 2 })
	c := newMgrClient(t, sp.srv.URL+"/dcimgr", mgr5.AuthSession)
	ctx := ctxT(t)
	body, err := c.CallRaw(ctx, mgr5.Request{Func: "whoami"})
	require.NoError(t, err)
	assert.Contains(t, string(body), "SID-1")
	body, err = c.CallRaw(ctx, mgr5.Request{Func: "whoami"})
	require.NoError(t, err, "re-logged in and replayed")
	assert.Contains(t, string(body), "SID-2")
	logins, calls := sp.counts()
	assert.Equal(t, 2, logins)
	assert.Equal(t, 3, calls)

	// A session that stays rejected is an auth error, after one re-login.
	sp = newSessionPanel(t, func(int) bool { return true })
	c = newMgrClient(t, sp.srv.URL+"/dcimgr", mgr5.AuthSession)
	body, err = c.CallRaw(ctx, mgr5.Request{Func: "server"})
	assert.Nil(t, body)
	var e *mgr5.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "dcimanager5: server: auth/session: Session expired", err.Error())
	logins, calls = sp.counts()
	assert.Equal(t, 2, logins)
	assert.Equal(t, 2, calls)
}
