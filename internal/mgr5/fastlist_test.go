package mgr5_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/mgr5"
)

// listCases are bodies for the list decoders; fast tells whether the
// scanner must handle the body itself (false: it must fall back).
var listCases = []struct {
	name string
	body string
	fast bool
}{
	{"elem array", `{"doc":{"elem":[{"id":{"$":"1"},"name":{"$":"a"}},{"id":{"$":"2"},"name":{"$":"b"}}]}}`, true},
	{"elem object", `{"doc":{"elem":{"id":{"$":"1"},"name":{"$":"a"}}}}`, true},
	{"webdomain sjson", webdomainSJSON, true},
	{"webdomain json", webdomainJSON, true},
	{"flags", `{"doc":{"elem":[{"id":{"$":"1"},"poweron":{},"blocked":{ },"x":[{}]}]}}`, true},
	{"orig key name", `{"doc":{"elem":{"type":{"$orig":"1U","$":"One unit","$key":"k","$name":"n","$other":"o"}}}}`, true},
	{"array of values", `{"doc":{"elem":{"ip":[{"$":"10.0.0.1","$orig":"o1"},{"$":"10.0.0.2"},null,{}]}}}`, true},
	{"empty value array", `{"doc":{"elem":{"ip":[]}}}`, true},
	{"escapes", `{"doc":{"elem":{"name":{"$":"caf\u00e9 \"quoted\" \\ \/ \n\t"},"n\u0061me2":"a\"b","e":{"$orig":"\ud83d\ude00"}}}}`, true},
	{"raw utf8", `{"doc":{"elem":{"name":{"$":"café ünïcode"},"ключ":{"$":"значение"}}}}`, true},
	{"invalid utf8", "{\"doc\":{\"elem\":{\"name\":{\"$\":\"a\xffb\"},\"k\xfe\":\"v\"}}}", true},
	{"lone surrogate", `{"doc":{"elem":{"name":{"$":"\ud800x"}}}}`, true},
	{"empty list", `{"doc":{"elem":[]}}`, true},
	{"elem null", `{"doc":{"elem":null}}`, true},
	{"null rows", `{"doc":{"elem":[null,{},{"id":"1"}]}}`, true},
	{"empty row", `{"doc":{"elem":{}}}`, true},
	{"no elem", `{"doc":{"$lang":"en","p_cnt":{"$":"0"}}}`, true},
	{"empty doc", `{"doc":{}}`, true},
	{"bare values", `{"doc":{"elem":[{"id":1,"ip":"10.0.0.1","on":true,"off":false,"n":null,"f":-1.5e3,"z":0}]}}`, true},
	{"null attrs", `{"doc":{"elem":{"id":{"$":null,"$orig":"x"},"d":{"$":"a","$":null}}}}`, true},
	{"duplicate fields", `{"doc":{"elem":{"id":{"$":"1"},"id":{"$":"2"},"v":{"$":"a","$":"b"}}}}`, true},
	{"nested metadata", `{"doc":{"metadata":{"$name":"server","coldata":[{"a":[1,2,{"b":null}]},"}"],"x":{"y":{"z":[]}}},
		"elem":[{"id":{"$":"1"}}],"tparams":{"func":{"$":"server"},"out":{"$":"json"}},"p_cnt":{"$":"1"}},"extra":[true,false,null]}`, true},
	{"metadata after elem with brackets in strings", `{"doc":{"elem":{"id":{"$":"]}"}},"tips":"[{\"x\""}}`, true},
	{"white space", " \n{ \"doc\" : { \"elem\" : [ { \"id\" : { \"$\" : \"1\" } , \"f\" : { } } ] } } \n", true},
	{"unknown attrs", `{"doc":{"elem":{"id":{"$":"1","$type":{"deep":[1,{"a":"b"}]},"$n":5}}}}`, true},
	{"error doc", authErrorBody, true},
	{"error with elem", `{"doc":{"elem":[{"id":{"$":"1"}}],"error":{"$type":"missed","$object":"elid","msg":{"$":"no __object__"}}}}`, true},
	{"error null", `{"doc":{"error":null,"elem":{"id":{"$":"1"}}}}`, true},
	{"error malformed", `{"doc":{"error":"boom"}}`, true},
	{"error array", `{"doc":{"error":[1]}}`, true},

	// Shapes the scanner leaves to encoding/json.
	{"no doc", `{}`, false},
	{"doc null", `{"doc":null}`, false},
	{"doc string", `{"doc":"x"}`, false},
	{"doc folded", `{"Doc":{"elem":{"id":"1"}}}`, false},
	{"elem folded", `{"doc":{"ELEM":{"id":"1"}}}`, false},
	{"error folded", `{"doc":{"Error":{"$type":"auth"}}}`, false},
	{"attr folded", `{"doc":{"elem":{"id":{"$ORIG":"o","$":"1"}}}}`, false},
	{"attr escaped", `{"doc":{"elem":{"id":{"\u0024":"1"}}}}`, false},
	{"doc key escaped", `{"\u0064oc":{"elem":{"id":"1"}}}`, false},
	{"two docs", `{"doc":{"elem":{"id":"1"}},"doc":{"p_cnt":"1"}}`, false},
	{"two elems", `{"doc":{"elem":{"id":"1"},"elem":[]}}`, false},
	{"two errors", `{"doc":{"error":{"$type":"auth"},"error":null}}`, false},
	{"elem string", `{"doc":{"elem":"x"}}`, false},
	{"elem number row", `{"doc":{"elem":[1]}}`, false},
	{"attr number", `{"doc":{"elem":{"id":{"$":1}}}}`, false},
	{"array of strings", `{"doc":{"elem":{"ip":["a","b"]}}}`, false},
	{"nested array value", `{"doc":{"elem":{"ip":[[]]}}}`, false},
	{"not json", `<html>`, false},
	{"empty body", ``, false},
	{"array body", `[]`, false},
	{"null body", `null`, false},
	{"truncated", `{"doc":{"elem":[{"id":{"$":"1"}}`, false},
	{"trailing garbage", `{"doc":{"elem":[]}} x`, false},
	{"trailing comma", `{"doc":{"elem":[{"id":"1"},]}}`, false},
	{"bad escape", `{"doc":{"elem":{"id":"\x"}}}`, false},
	{"control char", "{\"doc\":{\"elem\":{\"id\":\"a\tb\"}}}", false},
	{"bad number", `{"doc":{"elem":{"id":01}}}`, false},
	{"bad literal", `{"doc":{"elem":{"id":nul}}}`, false},
	{"bad skipped value", `{"doc":{"tips":[1,],"elem":[]}}`, false},
	{"deep", `{"doc":{"x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}}`, false},
}

// sameErr asserts two decoder errors are the same (type and text).
func sameErr(t *testing.T, want, got error, msg string) {
	t.Helper()
	if want == nil || got == nil {
		assert.Equal(t, want, got, msg)
		return
	}
	var we, ge *mgr5.Error
	if errors.As(want, &we) {
		require.ErrorAs(t, got, &ge, msg)
		assert.Equal(t, we, ge, msg)
		return
	}
	assert.Equal(t, want.Error(), got.Error(), msg)
	assert.IsType(t, want, got, msg)
}

// checkListEquivalence compares DecodeList and Doc.Rows with their
// encoding/json references on body.
func checkListEquivalence(t *testing.T, body []byte) {
	t.Helper()
	want, wantErr := mgr5.DecodeListJSON("p", "f", body)
	got, gotErr := mgr5.DecodeList("p", "f", body)
	sameErr(t, wantErr, gotErr, "DecodeList error")
	assert.Equal(t, want, got, "DecodeList rows")

	d, err := mgr5.Decode("p", "f", body)
	if d == nil || err != nil && !errors.As(err, new(*mgr5.Error)) {
		return
	}
	var raw json.RawMessage
	if d.Into("elem", &raw) != nil {
		return
	}
	wantRows, wantErr := mgr5.RowsJSON(raw)
	gotRows, gotErr := d.Rows()
	sameErr(t, wantErr, gotErr, "Doc.Rows error")
	assert.Equal(t, wantRows, gotRows, "Doc.Rows rows")
}

func TestDecodeListFastPathMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, c := range listCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, c.fast, mgr5.ScanList([]byte(c.body)), "handled by the scanner")
			checkListEquivalence(t, []byte(c.body))
		})
	}
}

func TestDecodeListFastPathValues(t *testing.T) {
	t.Parallel()
	rows, err := mgr5.DecodeList("p", "f", []byte(`{"doc":{"elem":[
		{"name":{"$":"caf\u00e9 \"q\""},"type":{"$orig":"1U","$":"One"},"ip":[{"$":"a"},{"$":"b"}],"on":{},"n":7,"z":null},
		null]}}`))
	require.NoError(t, err)
	require.Len(t, rows, 2)
	r := rows[0]
	assert.Equal(t, "café \"q\"", r.Get("name"))
	assert.Equal(t, mgr5.Value{Text: "One", Orig: "1U", Present: true}, r["type"])
	assert.Equal(t, mgr5.Value{Text: "a", All: []string{"a", "b"}, Present: true}, r["ip"])
	assert.Equal(t, mgr5.Value{Present: true}, r["on"])
	assert.Equal(t, "7", r.Get("n"))
	assert.True(t, r.Has("z"))
	assert.False(t, r["z"].Present)
	assert.Nil(t, rows[1])

	empty, err := mgr5.DecodeList("p", "f", []byte(`{"doc":{"elem":[]}}`))
	require.NoError(t, err)
	assert.NotNil(t, empty)
	assert.Empty(t, empty)
}

// FuzzDecodeListEquivalence: the scanner and encoding/json agree on every
// input, rows and errors alike.
func FuzzDecodeListEquivalence(f *testing.F) {
	for _, c := range listCases {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkListEquivalence(t, body)
	})
}
