// Package mgr5 implements the COREmanager ("mgr5") wire protocol shared by
// DCImanager 5, IPmanager 5 and ISPmanager 5: request encoding, the
// {"doc":{...}} response envelope, doc.error as a typed error, the three
// authentication modes, and the server-side half that the fake panels share.
//
// Decoding rules: element text is "$", attributes are
// "$name" keys, an empty object {} is a flag that is present, and every
// repeatable element (elem, slist, val, param, msg) may arrive either as a
// single object or as an array. Request parameters echoed in tparams and
// list metadata are ignored.
package mgr5

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Value is one leaf of a document: {"$": "text", "$orig": "...", ...}.
// A flag ({}) decodes as a Value with Present set and empty Text.
type Value struct {
	// Text is the element text ("$").
	Text string
	// Orig is the "$orig" attribute (the untranslated value), if any.
	Orig string
	// Key is the "$key" attribute (select-list values), if any.
	Key string
	// Name is the "$name" attribute, if any.
	Name string
	// All holds every text when the element was repeated (an array).
	All []string
	// Present is true when the element exists in the document.
	Present bool
}

type wireValue struct {
	Text string `json:"$"`
	Orig string `json:"$orig"`
	Key  string `json:"$key"`
	Name string `json:"$name"`
}

// UnmarshalJSON accepts an object, an array of objects, a bare string or a
// number.
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*v = Value{Present: true}
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '{':
		if len(b) == 2 {
			return nil // {} flag
		}
		var w wireValue
		if err := json.Unmarshal(b, &w); err != nil {
			return err
		}
		v.Text, v.Orig, v.Key, v.Name = w.Text, w.Orig, w.Key, w.Name
	case '[':
		var ws []wireValue
		if err := json.Unmarshal(b, &ws); err != nil {
			return err
		}
		for i, w := range ws {
			if i == 0 {
				v.Text, v.Orig, v.Key, v.Name = w.Text, w.Orig, w.Key, w.Name
			}
			v.All = append(v.All, w.Text)
		}
	case '"':
		return json.Unmarshal(b, &v.Text)
	case 'n':
		v.Present = false
	default:
		v.Text = string(b)
	}
	return nil
}

// Row is one list element: field name → value. A flag column is a key whose
// Value has empty Text.
type Row map[string]Value

// Get returns the text of field name ("" when absent).
func (r Row) Get(name string) string { return r[name].Text }

// Has reports whether field name is present (flags are present or absent).
func (r Row) Has(name string) bool { _, ok := r[name]; return ok }

// Rows decodes "elem" given either as one object or as an array.
type Rows []Row

// UnmarshalJSON accepts an object or an array of objects.
func (rs *Rows) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] == 'n' {
		*rs = nil
		return nil
	}
	if b[0] == '{' {
		var r Row
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		*rs = Rows{r}
		return nil
	}
	return json.Unmarshal(b, (*[]Row)(rs))
}

// Doc is a decoded response document (the children of "doc").
type Doc struct {
	fields map[string]json.RawMessage
}

type envelope struct {
	Doc map[string]json.RawMessage `json:"doc"`
}

// Decode parses a JSON (out=json or out=sjson) response body. A doc.error
// is returned as *Error (with the Doc as well).
func Decode(panel, fn string, body []byte) (*Doc, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, &ProtocolError{Panel: panel, Func: fn, Reason: "response is not a JSON document: " + err.Error(), Size: len(body)}
	}
	if env.Doc == nil {
		return nil, &ProtocolError{Panel: panel, Func: fn, Reason: `response has no "doc" element`, Size: len(body)}
	}
	d := &Doc{fields: env.Doc}
	if raw, ok := env.Doc["error"]; ok && !isNull(raw) {
		return d, decodeError(panel, fn, raw)
	}
	return d, nil
}

type listEnvelope struct {
	Doc *struct {
		Elem  Rows            `json:"elem"`
		Error json.RawMessage `json:"error"`
	} `json:"doc"`
}

// DecodeList parses a list response straight into rows without keeping the
// rest of the document. It is the fast path for large lists: the scanner in
// fastlist.go reads the common shapes, and anything else goes through
// encoding/json (decodeListJSON), with the same result.
func DecodeList(panel, fn string, body []byte) ([]Row, error) {
	rows, errRaw, ok := scanList(body)
	if !ok {
		return decodeListJSON(panel, fn, body)
	}
	if errRaw != nil && !isNull(errRaw) {
		return nil, decodeError(panel, fn, errRaw)
	}
	return rows, nil
}

// decodeListJSON is DecodeList through encoding/json: the reference
// semantics, and the path for every shape the scanner leaves alone.
func decodeListJSON(panel, fn string, body []byte) ([]Row, error) {
	var env listEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, &ProtocolError{Panel: panel, Func: fn, Reason: "response is not a JSON list document: " + err.Error(), Size: len(body)}
	}
	if env.Doc == nil {
		// Without this a JSON body that is not a panel document ({} from a
		// proxy) would read as an empty list.
		return nil, &ProtocolError{Panel: panel, Func: fn, Reason: `response has no "doc" element`, Size: len(body)}
	}
	if len(env.Doc.Error) > 0 && !isNull(env.Doc.Error) {
		return nil, decodeError(panel, fn, env.Doc.Error)
	}
	return env.Doc.Elem, nil
}

// Has reports whether the document has a child called name.
func (d *Doc) Has(name string) bool { _, ok := d.fields[name]; return ok }

// Value returns the child called name as a Value.
func (d *Doc) Value(name string) Value {
	raw, ok := d.fields[name]
	if !ok {
		return Value{}
	}
	var v Value
	if err := v.UnmarshalJSON(raw); err != nil {
		return Value{Present: true}
	}
	return v
}

// Text returns the text of the child called name.
func (d *Doc) Text(name string) string { return d.Value(name).Text }

// OK reports whether the document carries the "ok" success marker.
func (d *Doc) OK() bool { return d.Has("ok") }

// ID returns the id of a created object ("id" element).
func (d *Doc) ID() string { return d.Text("id") }

// Rows returns the list rows ("elem").
func (d *Doc) Rows() ([]Row, error) {
	raw, ok := d.fields["elem"]
	if !ok {
		return nil, nil
	}
	if rows, ok := scanRows(raw); ok {
		return rows, nil
	}
	return rowsJSON(raw)
}

// rowsJSON is Doc.Rows through encoding/json (the reference semantics).
func rowsJSON(raw json.RawMessage) ([]Row, error) {
	var rs Rows
	if err := json.Unmarshal(raw, &rs); err != nil {
		return nil, fmt.Errorf("mgr5: decode elem: %w", err)
	}
	return rs, nil
}

// Into decodes the child called name into v (any JSON-compatible type).
func (d *Doc) Into(name string, v any) error {
	raw, ok := d.fields[name]
	if !ok {
		return fmt.Errorf("mgr5: document has no %q element", name)
	}
	return json.Unmarshal(raw, v)
}

// metaFields are document children that are not form fields.
var metaFields = map[string]bool{
	"tparams": true, "metadata": true, "messages": true, "slist": true, "elem": true,
	"p_cnt": true, "p_num": true, "p_elems": true, "p_sort": true, "p_order": true,
	"p_possible_filters": true, "saved_filters": true, "tips": true, "page": true,
	"ok": true, "error": true, "toolbar": true, "coldata": true,
}

// Form returns the form fields of a *.edit view: every child that is not
// metadata, with flags present as empty values.
func (d *Doc) Form() map[string]Value {
	out := make(map[string]Value, len(d.fields))
	for k, raw := range d.fields {
		if metaFields[k] || (len(k) > 0 && k[0] == '$') {
			continue
		}
		var v Value
		if err := v.UnmarshalJSON(raw); err == nil {
			out[k] = v
		}
	}
	return out
}

// SelectList returns the values of the select list named name (doc.slist
// with $name == name); each Value has Key (internal value) and Text (label).
func (d *Doc) SelectList(name string) []Value {
	raw, ok := d.fields["slist"]
	if !ok {
		return nil
	}
	type slist struct {
		Name string          `json:"$name"`
		Val  json.RawMessage `json:"val"`
	}
	var lists []slist
	if err := unmarshalOneOrMany(raw, &lists); err != nil {
		return nil
	}
	for _, l := range lists {
		if l.Name != name {
			continue
		}
		var vals []wireValue
		if err := unmarshalOneOrMany(l.Val, &vals); err != nil {
			return nil
		}
		out := make([]Value, len(vals))
		for i, w := range vals {
			out[i] = Value{Text: w.Text, Key: w.Key, Orig: w.Orig, Name: w.Name, Present: true}
		}
		return out
	}
	return nil
}

// unmarshalOneOrMany decodes raw (an object or an array) into *[]T.
func unmarshalOneOrMany[T any](raw json.RawMessage, out *[]T) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '{' {
		var one T
		if err := json.Unmarshal(raw, &one); err != nil {
			return err
		}
		*out = []T{one}
		return nil
	}
	return json.Unmarshal(raw, out)
}

// Fields returns the names of all children, sorted.
func (d *Doc) Fields() []string {
	out := make([]string, 0, len(d.fields))
	for k := range d.fields {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// isNull reports whether raw is the JSON literal null.
func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }
