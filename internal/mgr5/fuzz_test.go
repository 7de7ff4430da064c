package mgr5_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ispkit/ispkit/internal/mgr5"
)

// FuzzDecode feeds arbitrary bodies to the decoders and to every accessor
// of the resulting document: none may panic, and a failure is always one of
// the two typed errors.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		webdomainSJSON, webdomainJSON, suspendOK, newkeyOK, authErrorBody, serverEdit,
		`{"doc":{"ok":{},"id":{"$":"42"}}}`,
		`{"doc":{"elem":[{"id":{"$":"1"},"ip":[{"$":"a"},{"$":"b"}]},{"id":2}]}}`,
		`{"doc":{"error":{"$type":"value","$object":"passwd","$value":"x","param":{"$name":"value","$":"x"}}}}`,
		`{"doc":{"error":null}}`, `{"doc":{"elem":"x"}}`, `{"doc":{"slist":[{"val":1}]}}`,
		`{"doc":null}`, `{}`, `[]`, `null`, ``, `<html>`, `{"doc":{"elem":[null,{}]}}`,
		`{"doc":{"error":{"param":[{"$name":"__x__","$":"__value__"},{"$name":"value","$":"__x__"}],"msg":{"$":"__x__ __value__"}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := mgr5.Decode("p", "f", body)
		checkErr(t, err)
		if d != nil {
			_, _ = d.Rows()
			_ = d.Form()
			_ = d.SelectList("owner")
			_ = d.SelectList("")
			for _, name := range d.Fields() {
				_ = d.Value(name)
				_ = d.Text(name)
				var anyv any
				_ = d.Into(name, &anyv)
			}
			_, _ = d.OK(), d.ID()
		}
		rows, err := mgr5.DecodeList("p", "f", body)
		checkErr(t, err)
		for _, r := range rows {
			for k := range r {
				_, _ = r.Get(k), r.Has(k)
			}
		}
		var v mgr5.Value
		_ = json.Unmarshal(body, &v)
		var rs mgr5.Rows
		_ = json.Unmarshal(body, &rs)
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *mgr5.Error
	var pe *mgr5.ProtocolError
	if !errors.As(err, &e) && !errors.As(err, &pe) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
	_ = err.Error()
	if e != nil {
		_ = e.LogValue()
	}
}
