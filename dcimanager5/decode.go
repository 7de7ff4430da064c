package dcimanager5

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ispkit/ispkit/internal/mgr5"
)

// text is a leaf {"$":"…","$orig":"…"}; it also accepts a bare string, a
// number, an array (first item) and a flag {}.
type text struct {
	T    string
	Orig string
}

type wireText struct {
	T    string `json:"$"`
	Orig string `json:"$orig"`
}

var fastPrefix = []byte(`{"$":"`)

// UnmarshalJSON implements json.Unmarshaler with a fast path for the common
// {"$":"plain"} shape.
func (t *text) UnmarshalJSON(b []byte) error {
	*t = text{}
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '{':
		if n := len(b); n >= len(fastPrefix)+2 && bytes.HasPrefix(b, fastPrefix) && b[n-1] == '}' && b[n-2] == '"' {
			inner := b[len(fastPrefix) : n-2]
			// Invalid UTF-8 goes to encoding/json, which replaces it.
			if bytes.IndexByte(inner, '"') < 0 && bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
				t.T = string(inner)
				return nil
			}
		}
		if len(bytes.TrimSpace(b[1:len(b)-1])) == 0 {
			return nil
		}
		var w wireText
		if err := json.Unmarshal(b, &w); err != nil {
			return err
		}
		t.T, t.Orig = w.T, w.Orig
	case '[':
		var ws []text
		if err := json.Unmarshal(b, &ws); err != nil {
			return err
		}
		if len(ws) > 0 {
			*t = ws[0]
		}
	case '"':
		return json.Unmarshal(b, &t.T)
	case 'n':
	default:
		t.T = string(b)
	}
	return nil
}

// flag is a presence flag: any value ({} usually) means true.
type flag bool

// UnmarshalJSON implements json.Unmarshaler: present and not null is true.
// A value "off" (seen in forms, never in list flags) is false. It reads the
// value as a mgr5.Value so that it agrees with flagOf on the fast path.
func (f *flag) UnmarshalJSON(b []byte) error {
	var v mgr5.Value
	if err := v.UnmarshalJSON(b); err != nil {
		*f = true // present, in a shape no panel sends
		return nil
	}
	*f = flagOf(v)
	return nil
}

// many decodes a repeatable element given as one object or as an array.
type many[T any] []T

// UnmarshalJSON implements json.Unmarshaler.
func (m *many[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] == 'n' {
		*m = nil
		return nil
	}
	if b[0] == '{' {
		var one T
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*m = many[T]{one}
		return nil
	}
	return json.Unmarshal(b, (*[]T)(m))
}

// elems decodes doc.elem into []T; a document without elem is empty.
func elems[T any](d *mgr5.Doc, fn string) ([]T, error) {
	if !d.Has("elem") {
		return nil, nil
	}
	var out many[T]
	if err := d.Into("elem", &out); err != nil {
		return nil, &ProtocolError{Panel: "dcimanager5", Func: fn, Reason: "cannot decode elem rows: " + err.Error()}
	}
	return out, nil
}

func parseID(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func atoiOr0(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}

func idStr(id int64) string { return strconv.FormatInt(id, 10) }
