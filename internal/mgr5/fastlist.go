package mgr5

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// The list fast path.
//
// A list answer is {"doc":{"elem":[row, row, ...], ...}} and may hold tens
// of thousands of rows. Decoding it through encoding/json and
// Value.UnmarshalJSON scans every value twice and allocates per attribute,
// so lists are read by the small scanner below instead. It produces exactly
// what the encoding/json path (DecodeList's listEnvelope, Rows, Row, Value)
// produces for the shapes it understands, and reports failure — never an
// error — for anything else: invalid JSON, wrong types, keys that
// encoding/json would match case-insensitively, duplicate doc/elem/error
// keys, deep nesting. The caller then runs the encoding/json path, which
// gives the authoritative result or error. FuzzDecodeListEquivalence checks
// that both paths agree.
//
// The scanner validates everything it consumes (including skipped values),
// so a body it accepts is valid JSON.

// maxScanDepth bounds the nesting the scanner follows in skipped values;
// deeper documents go to encoding/json (whose own limit is 10000).
const maxScanDepth = 512

type scanner struct {
	b     []byte
	i     int
	depth int
	// keys interns row field names: every row repeats the same few.
	keys map[string]string
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) expect(c byte) bool {
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

// strTok scans a string token at s.i and validates it. tok includes the
// quotes; esc reports a backslash, hi a byte >= 0x80.
func (s *scanner) strTok() (tok []byte, esc, hi, ok bool) {
	if s.peek() != '"' {
		return nil, false, false, false
	}
	start := s.i
	i := s.i + 1
	b := s.b
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return b[start:s.i], esc, hi, true
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return nil, false, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return nil, false, false, false
				}
				i += 6
			default:
				return nil, false, false, false
			}
		case c < 0x20:
			return nil, false, false, false
		default:
			if c >= 0x80 {
				hi = true
			}
			i++
		}
	}
	return nil, false, false, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unquote turns a validated string token into its value with
// encoding/json's semantics (escapes, invalid UTF-8 replaced by U+FFFD).
func unquote(tok []byte, esc, hi bool) (string, bool) {
	inner := tok[1 : len(tok)-1]
	if !esc && (!hi || utf8.Valid(inner)) {
		return string(inner), true
	}
	var out string
	if err := json.Unmarshal(tok, &out); err != nil {
		return "", false
	}
	return out, true
}

// str reads a string value.
func (s *scanner) str() (string, bool) {
	tok, esc, hi, ok := s.strTok()
	if !ok {
		return "", false
	}
	return unquote(tok, esc, hi)
}

// plainKey reads an object key that must be plain ASCII without escapes
// (document and attribute names); anything else is left to encoding/json.
func (s *scanner) plainKey() (string, bool) {
	tok, esc, hi, ok := s.strTok()
	if !ok || esc || hi || !s.expect(':') {
		return "", false
	}
	return string(tok[1 : len(tok)-1]), true
}

// rowKey reads a row field name (any string), interned.
func (s *scanner) rowKey() (string, bool) {
	tok, esc, hi, ok := s.strTok()
	if !ok || !s.expect(':') {
		return "", false
	}
	if !esc && !hi {
		if k, ok := s.keys[string(tok[1:len(tok)-1])]; ok {
			return k, true
		}
	}
	k, ok := unquote(tok, esc, hi)
	if !ok {
		return "", false
	}
	if s.keys == nil {
		s.keys = make(map[string]string)
	}
	if !esc && !hi && len(s.keys) < 4096 {
		s.keys[k] = k
	}
	return k, true
}

// lit matches a literal (true, false, null).
func (s *scanner) lit(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// number matches a JSON number.
func (s *scanner) number() bool {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	s.i = i
	return true
}

// skip validates and skips one value of any kind.
func (s *scanner) skip() bool {
	switch c := s.peek(); c {
	case '"':
		_, _, _, ok := s.strTok()
		return ok
	case '{', '[':
		if s.depth++; s.depth > maxScanDepth {
			return false
		}
		defer func() { s.depth-- }()
		s.i++
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if s.expect(end) {
			return true
		}
		for {
			if c == '{' {
				if _, _, _, ok := s.strTok(); !ok || !s.expect(':') {
					return false
				}
			}
			if !s.skip() {
				return false
			}
			if s.expect(',') {
				continue
			}
			return s.expect(end)
		}
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		return s.number()
	}
}

// skipSpan skips one value and returns its bytes.
func (s *scanner) skipSpan() ([]byte, bool) {
	s.ws()
	start := s.i
	if !s.skip() {
		return nil, false
	}
	return s.b[start:s.i], true
}

// attrNames are the attributes wireValue decodes. encoding/json matches
// struct fields case-insensitively; the scanner only matches exactly and
// leaves other spellings of these names to encoding/json.
var attrNames = [...]string{"$", "$orig", "$key", "$name"}

// attrs reads a leaf object {"$":…,"$orig":…} into v (like wireValue); the
// opening brace is already consumed.
func (s *scanner) attrs(v *Value) bool {
	if s.expect('}') {
		return true
	}
	for {
		k, ok := s.plainKey()
		if !ok {
			return false
		}
		var dst *string
		switch k {
		case "$":
			dst = &v.Text
		case "$orig":
			dst = &v.Orig
		case "$key":
			dst = &v.Key
		case "$name":
			dst = &v.Name
		default:
			for _, n := range attrNames {
				if strings.EqualFold(k, n) {
					return false
				}
			}
			if !s.skip() {
				return false
			}
		}
		if dst != nil {
			switch s.peek() {
			case '"':
				if *dst, ok = s.str(); !ok {
					return false
				}
			case 'n': // null leaves a string field alone
				if !s.lit("null") {
					return false
				}
			default:
				return false // a type error: encoding/json reports it
			}
		}
		if s.expect(',') {
			continue
		}
		return s.expect('}')
	}
}

// value reads one field value with Value.UnmarshalJSON's semantics.
func (s *scanner) value() (Value, bool) {
	v := Value{Present: true}
	switch c := s.peek(); c {
	case '{':
		s.i++
		return v, s.attrs(&v)
	case '[':
		s.i++
		if s.expect(']') {
			return v, true
		}
		for n := 0; ; n++ {
			var w Value
			switch s.peek() {
			case '{':
				s.i++
				if !s.attrs(&w) {
					return v, false
				}
			case 'n':
				if !s.lit("null") {
					return v, false
				}
			default:
				return v, false
			}
			if n == 0 {
				v.Text, v.Orig, v.Key, v.Name = w.Text, w.Orig, w.Key, w.Name
			}
			v.All = append(v.All, w.Text)
			if s.expect(',') {
				continue
			}
			return v, s.expect(']')
		}
	case '"':
		var ok bool
		v.Text, ok = s.str()
		return v, ok
	case 'n':
		return Value{}, s.lit("null")
	case 't':
		v.Text = "true"
		return v, s.lit("true")
	case 'f':
		v.Text = "false"
		return v, s.lit("false")
	default:
		start := s.i
		if !s.number() {
			return v, false
		}
		v.Text = string(s.b[start:s.i])
		return v, true
	}
}

// RowVisitor receives the rows found by ScanElem.
type RowVisitor interface {
	// Row starts a row; null is true for a null array item (a nil Row).
	Row(null bool)
	// Field is one field of the current row (name is interned). It
	// returns false to abandon the scan (a field the visitor cannot map
	// exactly); ScanElem then returns false.
	Field(name string, v Value) bool
}

// row reads one row object (or null in an array).
func (s *scanner) row(rv RowVisitor) bool {
	switch s.peek() {
	case 'n':
		rv.Row(true)
		return s.lit("null")
	case '{':
		s.i++
	default:
		return false
	}
	rv.Row(false)
	if s.expect('}') {
		return true
	}
	for {
		k, ok := s.rowKey()
		if !ok {
			return false
		}
		v, ok := s.value()
		if !ok {
			return false
		}
		if !rv.Field(k, v) {
			return false
		}
		if s.expect(',') {
			continue
		}
		return s.expect('}')
	}
}

// elem reads the value of doc.elem: one row object, an array of rows, or
// null. It reports whether the elem was null (no rows at all, nil) and
// whether it was an array (a non-nil slice even when empty).
func (s *scanner) elem(rv RowVisitor) (isNull, isArray, ok bool) {
	switch s.peek() {
	case 'n':
		return true, false, s.lit("null")
	case '{':
		// A single object: a null row is not allowed here.
		return false, false, s.row(rv)
	case '[':
		s.i++
		if s.expect(']') {
			return false, true, true
		}
		for {
			if !s.row(rv) {
				return false, true, false
			}
			if s.expect(',') {
				continue
			}
			return false, true, s.expect(']')
		}
	}
	return false, false, false
}

// ScanElem reads the raw value of doc.elem (one row object, an array of
// rows, or null) and reports each row and field to rv. It returns false
// when the input has a shape the scanner does not handle (or is not valid
// JSON); rv may have seen part of the rows then, and the caller must
// discard them and decode with encoding/json instead.
func ScanElem(elem []byte, rv RowVisitor) bool {
	s := &scanner{b: elem}
	if _, _, ok := s.elem(rv); !ok {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

// rowBuilder collects rows as []Row, like Rows.UnmarshalJSON.
type rowBuilder struct {
	rows []Row
	cur  Row
	// hint is the size of the previous row: rows of a list share columns.
	hint int
}

func (b *rowBuilder) Row(null bool) {
	if b.cur != nil {
		b.hint = len(b.cur)
	}
	b.cur = nil
	if !null {
		b.cur = make(Row, b.hint)
	}
	b.rows = append(b.rows, b.cur)
}

func (b *rowBuilder) Field(name string, v Value) bool {
	b.cur[name] = v
	return true
}

// scanRows decodes a raw elem value into rows; ok is false when the caller
// must fall back to encoding/json.
func scanRows(elem []byte) ([]Row, bool) {
	s := &scanner{b: elem}
	b := rowBuilder{rows: make([]Row, 0, len(elem)/256+1)}
	isNull, isArray, ok := s.elem(&b)
	if !ok {
		return nil, false
	}
	if s.ws(); s.i != len(s.b) {
		return nil, false
	}
	return finishRows(b.rows, isNull, isArray), true
}

// finishRows gives the result encoding/json would: nil for null (and for
// a missing elem), a non-nil empty slice for [].
func finishRows(rows []Row, isNull, isArray bool) []Row {
	switch {
	case isNull:
		return nil
	case isArray && len(rows) == 0:
		return []Row{}
	}
	return rows
}

// scanList is the fast path of DecodeList. errRaw is the raw doc.error
// when there is one (possibly null); ok false means: use encoding/json.
func scanList(body []byte) (rows []Row, errRaw []byte, ok bool) {
	var b rowBuilder
	var isNull, isArray bool
	elem, errRaw, ok := scanListDoc(body, true, func(s *scanner) bool {
		b.rows = make([]Row, 0, (len(s.b)-s.i)/256+1)
		var ok bool
		isNull, isArray, ok = s.elem(&b)
		return ok
	})
	if !ok {
		return nil, nil, false
	}
	if elem == nil {
		return nil, errRaw, true
	}
	return finishRows(b.rows, isNull, isArray), errRaw, true
}

// BodyError returns the error Decode reports for the doc.error of body — a
// *Error, or a *ProtocolError for a malformed doc.error — and nil when body
// carries none. It does not judge the rest of the body: nil does not mean
// body is a valid document (Decode still says so).
//
// It is cheap on the bodies that matter: a document key spelled "error"
// appears in the raw bytes either literally or through a \u escape, so a
// body with neither has no doc.error and is not scanned at all; any other
// body is walked once with the list scanner (skipping values without
// decoding them), and only a shape the scanner leaves alone goes through
// Decode.
func BodyError(panel, fn string, body []byte) error {
	if !bytes.Contains(body, []byte(`"error"`)) && !bytes.Contains(body, []byte(`\u`)) {
		return nil
	}
	_, errRaw, ok := scanListDoc(body, false, func(s *scanner) bool { return s.skip() })
	if !ok {
		// Decode returns a Doc together with the error only for a
		// doc.error; without a Doc the error is about the body itself.
		if d, err := Decode(panel, fn, body); d != nil && err != nil {
			return err
		}
		return nil
	}
	if errRaw != nil && !isNull(errRaw) {
		// Decode hands decodeError the raw value of the doc key "error":
		// the same bytes as errRaw.
		return decodeError(panel, fn, errRaw)
	}
	return nil
}

// ScanListBody reads a whole list body ({"doc":{"elem":…,…}}) in one pass
// with the shared scanner, reporting each row of doc.elem to rv as
// ScanElem does, and returns the raw doc.elem (nil when the document has
// none) and the raw doc.error (nil when there is none; it may be null).
// The envelope is read with Decode's rules. It returns false for anything
// it does not handle — a body that is not valid JSON or has no doc object,
// a doc key in another case, a repeated doc, elem or error, a doc child key
// with escapes or non-ASCII bytes, an elem ScanElem refuses — and then the
// caller must discard what rv saw and decode with Decode instead.
func ScanListBody(body []byte, rv RowVisitor) (elem, errRaw []byte, ok bool) {
	return scanListDoc(body, false, func(s *scanner) bool {
		_, _, ok := s.elem(rv)
		return ok
	})
}

// scanListDoc walks {"doc":{…}} like Decode reads it (the envelope's doc
// field matches case-insensitively, doc's children are a map with exact
// keys) or, with structKeys, like DecodeList's struct does (doc's elem and
// error match case-insensitively too, so such keys are left to
// encoding/json). readElem consumes the value of doc.elem; doc.error is returned
// raw; every other value is validated and skipped.
func scanListDoc(body []byte, structKeys bool, readElem func(*scanner) bool) (elem, errRaw []byte, ok bool) {
	s := &scanner{b: body}
	if !s.expect('{') {
		return nil, nil, false
	}
	seenDoc := false
	if !s.expect('}') {
		for {
			k, ok := s.plainKey()
			if !ok {
				return nil, nil, false
			}
			switch {
			case k == "doc":
				// A second doc merges into the first, doc:null is a
				// protocol error: Decode decides both.
				if seenDoc || s.peek() != '{' {
					return nil, nil, false
				}
				seenDoc = true
				s.i++
				if elem, errRaw, ok = s.docChildren(structKeys, readElem); !ok {
					return nil, nil, false
				}
			case strings.EqualFold(k, "doc"):
				return nil, nil, false
			default:
				if !s.skip() {
					return nil, nil, false
				}
			}
			if s.expect(',') {
				continue
			}
			if !s.expect('}') {
				return nil, nil, false
			}
			break
		}
	}
	if s.ws(); s.i != len(s.b) || !seenDoc {
		return nil, nil, false
	}
	return elem, errRaw, true
}

// docChildren reads the children of doc (its brace consumed) for
// scanListDoc. The keys are exact, as in Decode's map; a repeated elem or
// error (the last one wins there) and, with structKeys, a key that matches
// elem or error only when case is ignored are left to encoding/json.
func (s *scanner) docChildren(structKeys bool, readElem func(*scanner) bool) (elem, errRaw []byte, ok bool) {
	if s.expect('}') {
		return nil, nil, true
	}
	for {
		k, ok := s.plainKey()
		if !ok {
			return nil, nil, false
		}
		switch k {
		case "elem":
			if elem != nil {
				return nil, nil, false
			}
			s.ws()
			start := s.i
			if !readElem(s) {
				return nil, nil, false
			}
			elem = s.b[start:s.i]
		case "error":
			if errRaw != nil {
				return nil, nil, false
			}
			if errRaw, ok = s.skipSpan(); !ok {
				return nil, nil, false
			}
		default:
			if structKeys && (strings.EqualFold(k, "elem") || strings.EqualFold(k, "error")) {
				return nil, nil, false
			}
			if !s.skip() {
				return nil, nil, false
			}
		}
		if s.expect(',') {
			continue
		}
		return elem, errRaw, s.expect('}')
	}
}
