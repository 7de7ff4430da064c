package dcimanager5

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/mgr5"
)

func slowServers(t testing.TB, elem []byte) []Server {
	var ws many[wireServer]
	require.NoError(t, json.Unmarshal(elem, &ws))
	if ws == nil {
		return nil
	}
	out := make([]Server, len(ws))
	for i := range ws {
		out[i] = ws[i].server()
	}
	return out
}

var fastCases = []string{
	`{"id":{"$":"1"},"name":{"$":"a"},"poweron":{}}`,
	`[{"id":{"$":"1"},"name":{"$":"a \"quoted\" \u00e9"},"type":{"$orig":"T","$":"Type T"},"blocked":{}},
	  {"id":{"$":"2"},"owner":{"$":"9"},"hostname":[{"$":"x.example.com"},{"$":"y"}],"rack":"R1",
	   "disabled":{"$":"off"},"extra":{"nested":[{"a":"}"}],"n":1},"ipmi":null,"poweroff":{}}]`,
	`[]`,
	`null`,
	`[null,{"id":"5"}]`,
	`[ { "id" : { "$" : "3" } , "ip" : 12 , "operation_failed" : { } } ]`,
	`{"id":{"$attr":"x","$":"4"},"chassis_templ":{"$":"C","$orig":"c-orig"},"install_in_progress":[{}]}`,
	`{"\u0069d":{"$":"1"},"poweron":"off","poweroff":[{"$":"off"}],"blocked":null,"hwproblem":{"$":"off","$orig":"x"}}`,
	"{\"chassis_templ\":{\"$\":\"\x8b\"},\"name\":\"\xff\"}", // invalid UTF-8 becomes U+FFFD
}

func TestFastServersMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, c := range fastCases {
		fast, ok := fastServers([]byte(c))
		require.True(t, ok, c)
		assert.Equal(t, slowServers(t, []byte(c)), fast, c)
	}
	// Shapes the shared scanner does not handle fall back.
	for _, c := range []string{`"x"`, `[{"id":{"$":"1"}`, `[1]`, `{"ID":{"$":"1"}}`, `{"hoſtname":"h"}`,
		`{"hostname":["x.example.com",{"$":"y"}]}`, `{"id":{"$":1}}`} {
		_, ok := fastServers([]byte(c))
		assert.False(t, ok, c)
	}
}

func FuzzFastServers(f *testing.F) {
	for _, c := range fastCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Wherever the shared scanner accepts the input, it must give what
		// encoding/json gives (it falls back on everything else).
		fast, ok := fastServers(b)
		if !ok {
			return
		}
		var ws many[wireServer]
		require.NoError(t, json.Unmarshal(b, &ws), "the scanner accepted invalid input")
		var slow []Server
		if ws != nil {
			slow = make([]Server, len(ws))
			for i := range ws {
				slow[i] = ws[i].server()
			}
		}
		assert.Equal(t, slow, fast)
	})
}

// refServerList is the reference for the raw-body route: the former List
// path, mgr5.Decode of the document and then decodeServers.
func refServerList(body []byte) ([]Server, error) {
	d, err := mgr5.Decode("dcimanager5", "server", body)
	if err != nil {
		return nil, err
	}
	return decodeServers(d)
}

// listCases are whole bodies: every elem of fastCases in a document, and
// envelope shapes around it.
func listCases() []string {
	out := []string{
		`{"doc":{}}`, `{"doc":{"elem":null}}`, `{"doc":{"elem":[]}}`, `{"doc":{"ELEM":[{"id":"1"}]}}`,
		`{"doc":{"error":null,"elem":[{"id":{"$":"1"},"name":{"$":"error"},"powererror":{}}]}}`,
		`{"doc":{"error":{"$type":"access","$object":"server"}}}`,
		`{"doc":{"elem":[{"id":"1"}],"error":{"$type":"missed","$object":"elid","$value":"1"}}}`,
		`{"doc":{"error":"x","elem":[]}}`,
		`{"x":[1,{"a":null}],"doc":{"tparams":{"func":{"$":"server"}},"elem":{"id":{"$":"2"}},"p_cnt":{"$":"1"}},"y":true}`,
		`{"DOC":{"elem":[{"id":"1"}]}}`, `{"doc":{"elem":[{"id":"1"}],"elem":[]}}`, `{"doc":{"\u0065lem":[{"id":"1"}]}}`,
		`{"doc":{"elem":[{"id":"1"}]},"doc":{}}`, `{"doc":{"elem":[{"ID":"1"}]}}`, `{"doc":{"elem":"x"}}`,
		`{"doc":null}`, `{"doc":{"elem":[]}} x`, `{}`, `[]`, `null`, ``, `<html>login</html>`,
	}
	for _, c := range fastCases {
		out = append(out, `{"doc":{"elem":`+c+`,"p_cnt":{"$":"2"}}}`)
	}
	return out
}

// checkServerList: the raw-body route gives exactly the reference result
// or error, and the one-pass scanner never accepts a body the reference
// decodes differently (or rejects).
func checkServerList(t *testing.T, body []byte) {
	t.Helper()
	want, werr := refServerList(body)
	got, gerr := decodeServerList("dcimanager5", body)
	assert.Equal(t, werr, gerr, "%q", body)
	assert.Equal(t, want, got, "%q", body)
	if fast, ok := fastServerList(body); ok {
		require.NoError(t, werr, "the scanner accepted %q", body)
		assert.Equal(t, want, fast, "%q", body)
	}
}

func TestServerListMatchesDecode(t *testing.T) {
	t.Parallel()
	fastOK := 0
	for _, c := range listCases() {
		checkServerList(t, []byte(c))
		if _, ok := fastServerList([]byte(c)); ok {
			fastOK++
		}
	}
	assert.Equal(t, len(fastCases)+6, fastOK, "every fastCases elem and the plain envelopes take the one-pass route")

	// nil for a missing or null elem, an empty slice for [].
	list, ok := fastServerList([]byte(`{"doc":{"elem":null}}`))
	assert.True(t, ok)
	assert.Nil(t, list)
	list, ok = fastServerList([]byte(`{"doc":{"ELEM":[]}}`))
	assert.True(t, ok)
	assert.Nil(t, list)
	list, ok = fastServerList([]byte(`{"doc":{"elem":[]}}`))
	assert.True(t, ok)
	assert.NotNil(t, list)
	assert.Empty(t, list)

	// A doc.error is the reference's *Error.
	_, err := decodeServerList("dcimanager5", []byte(`{"doc":{"error":{"$type":"access","$object":"server"}}}`))
	assert.True(t, IsAccess(err), "%v", err)
	_, err = decodeServerList("dcimanager5", []byte(`<html>login</html>`))
	var pe *ProtocolError
	assert.ErrorAs(t, err, &pe)
}

func FuzzServerList(f *testing.F) {
	for _, c := range listCases() {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkServerList(t, b)
	})
}
