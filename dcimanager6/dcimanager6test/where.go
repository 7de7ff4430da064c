package dcimanager6test

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The where language as the fake understands it. Keywords are
// case-insensitive; strings are single-quoted with '' for a quote;
// numbers are decimal; true/false/null are literals.
//
//	expr    = and { OR and }
//	and     = unary { AND unary }
//	unary   = NOT unary | "(" expr ")" | cmp
//	cmp     = field (EQ|NE|CP) value | field IS [NOT] null
//
// Semantics chosen where the spec is silent (assumed):
//   - EQ on a null field is false, NE on a null field is true;
//   - a number compares with a number field numerically and with a string
//     field by its decimal text; a bool compares with a bool field;
//   - on a list field (tags) EQ/NE/CP test whether any element matches;
//   - CP is a case-insensitive LIKE in which % matches any run of
//     characters (no other wildcard, no escape);
//   - a field must exist in the collection (dotted paths go into nested
//     objects; a null parent makes the value null), otherwise 400.

type node interface {
	eval(item map[string]any) bool
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }
type notNode struct{ n node }
type cmpNode struct {
	field string
	op    string // EQ NE CP ISNULL NOTNULL
	val   any    // string, float64, bool
}

func (n andNode) eval(m map[string]any) bool { return n.l.eval(m) && n.r.eval(m) }
func (n orNode) eval(m map[string]any) bool  { return n.l.eval(m) || n.r.eval(m) }
func (n notNode) eval(m map[string]any) bool { return !n.n.eval(m) }

func (n cmpNode) eval(m map[string]any) bool {
	v := lookup(m, n.field)
	switch n.op {
	case "ISNULL":
		return v == nil
	case "NOTNULL":
		return v != nil
	}
	if list, ok := v.([]any); ok {
		any1 := false
		for _, e := range list {
			if n.match(e) {
				any1 = true
				break
			}
		}
		if n.op == "NE" {
			return !any1
		}
		return any1
	}
	if v == nil {
		return n.op == "NE"
	}
	if n.op == "NE" {
		return !n.match(v)
	}
	return n.match(v)
}

// match is EQ or CP of one scalar.
func (n cmpNode) match(v any) bool {
	if n.op == "CP" {
		return like(strings.ToLower(text(v)), strings.ToLower(text(n.val)))
	}
	switch lit := n.val.(type) {
	case bool:
		b, ok := v.(bool)
		return ok && b == lit
	case float64:
		if f, ok := num(v); ok {
			return f == lit
		}
		return text(v) == text(lit)
	case string:
		return text(v) == lit
	}
	return false
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// like matches s against pattern where % is any run of characters.
func like(s, pattern string) bool {
	parts := strings.Split(pattern, "%")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

func lookup(m map[string]any, field string) any {
	var cur any = m
	for _, part := range strings.Split(field, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[part]
	}
	return cur
}

// ---- lexer and parser ----

type token struct {
	kind string // ident, string, number, lparen, rparen, eof
	text string
	pos  int
}

func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{"lparen", "(", i})
			i++
		case c == ')':
			toks = append(toks, token{"rparen", ")", i})
			i++
		case c == '\'':
			start := i
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated string at %d", start)
			}
			if !utf8.ValidString(b.String()) {
				return nil, fmt.Errorf("string at %d is not UTF-8", start)
			}
			toks = append(toks, token{"string", b.String(), start})
		case c == '-' || c >= '0' && c <= '9':
			start := i
			i++
			for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
				i++
			}
			if _, err := strconv.ParseFloat(s[start:i], 64); err != nil {
				return nil, fmt.Errorf("bad number %q at %d", s[start:i], start)
			}
			toks = append(toks, token{"number", s[start:i], start})
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			start := i
			for i < len(s) && (s[i] == '_' || s[i] == '.' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
				i++
			}
			toks = append(toks, token{"ident", s[start:i], start})
		default:
			return nil, fmt.Errorf("unexpected character %q at %d", c, i)
		}
	}
	return append(toks, token{"eof", "", len(s)}), nil
}

type parser struct {
	toks   []token
	i      int
	fields map[string]bool
	depth  int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }
func (p *parser) kw(word string) bool {
	t := p.peek()
	if t.kind == "ident" && strings.EqualFold(t.text, word) {
		p.i++
		return true
	}
	return false
}

var fieldRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

func isKeyword(s string) bool {
	switch strings.ToUpper(s) {
	case "AND", "OR", "NOT", "EQ", "NE", "CP", "IS", "NULL", "TRUE", "FALSE":
		return true
	}
	return false
}

// parseWhere parses expr for a collection whose items have the given
// top-level fields.
func parseWhere(expr string, fields map[string]bool) (node, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, fields: fields}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != "eof" {
		return nil, fmt.Errorf("unexpected %q at %d", t.text, t.pos)
	}
	return n, nil
}

func (p *parser) or() (node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.kw("OR") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *parser) and() (node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.kw("AND") {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *parser) unary() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 100 {
		return nil, fmt.Errorf("expression nested too deeply")
	}
	if p.kw("NOT") {
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	}
	if p.peek().kind == "lparen" {
		p.next()
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if t := p.next(); t.kind != "rparen" {
			return nil, fmt.Errorf("expected ) at %d", t.pos)
		}
		return n, nil
	}
	return p.cmp()
}

func (p *parser) cmp() (node, error) {
	t := p.next()
	if t.kind != "ident" || isKeyword(t.text) || !fieldRe.MatchString(t.text) {
		return nil, fmt.Errorf("expected a field name at %d, got %q", t.pos, t.text)
	}
	field := t.text
	if root, _, _ := strings.Cut(field, "."); !p.fields[root] {
		return nil, fmt.Errorf("unknown field %q", field)
	}
	opTok := p.next()
	if opTok.kind != "ident" {
		return nil, fmt.Errorf("expected an operator at %d", opTok.pos)
	}
	op := strings.ToUpper(opTok.text)
	switch op {
	case "IS":
		neg := p.kw("NOT")
		if !p.kw("NULL") {
			return nil, fmt.Errorf("expected null after IS at %d", p.peek().pos)
		}
		if neg {
			return cmpNode{field: field, op: "NOTNULL"}, nil
		}
		return cmpNode{field: field, op: "ISNULL"}, nil
	case "EQ", "NE", "CP":
	default:
		return nil, fmt.Errorf("unknown operator %q at %d", opTok.text, opTok.pos)
	}
	v := p.next()
	var val any
	switch {
	case v.kind == "string":
		val = v.text
	case v.kind == "number":
		f, _ := strconv.ParseFloat(v.text, 64)
		val = f
	case v.kind == "ident" && strings.EqualFold(v.text, "true"):
		val = true
	case v.kind == "ident" && strings.EqualFold(v.text, "false"):
		val = false
	default:
		return nil, fmt.Errorf("expected a value after %s at %d", op, v.pos)
	}
	if op == "CP" {
		if _, ok := val.(string); !ok {
			return nil, fmt.Errorf("CP needs a quoted pattern at %d", v.pos)
		}
	}
	return cmpNode{field: field, op: op, val: val}, nil
}

// ---- orderby and limit ----

var orderRe = regexp.MustCompile(`(?i)^\s*([A-Za-z_][A-Za-z0-9_.]*)(?:\s+(asc|desc))?\s*$`)

func sortItems(items []map[string]any, orderby string, fields map[string]bool) error {
	m := orderRe.FindStringSubmatch(orderby)
	if m == nil {
		return fmt.Errorf("orderby must be \"<field> asc|desc\"")
	}
	field, desc := m[1], strings.EqualFold(m[2], "desc")
	if root, _, _ := strings.Cut(field, "."); !fields[root] {
		return fmt.Errorf("unknown field %q in orderby", field)
	}
	sort.SliceStable(items, func(i, j int) bool {
		c := compare(lookup(items[i], field), lookup(items[j], field))
		if desc {
			return c > 0
		}
		return c < 0
	})
	return nil
}

func rank(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case bool:
		return 1
	case float64, int64, int:
		return 2
	case string:
		return 3
	}
	return 4
}

func compare(a, b any) int {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return ra - rb
	}
	switch ra {
	case 1:
		x, y := a.(bool), b.(bool)
		if x == y {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	case 2:
		x, _ := num(a)
		y, _ := num(b)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case 3:
		return strings.Compare(a.(string), b.(string))
	}
	return 0
}

// parseLimit reads "offset,count" or "count".
func parseLimit(s string) (offset, count int, err error) {
	a, b, two := strings.Cut(s, ",")
	if !two {
		b, a = a, "0"
	}
	offset, err1 := strconv.Atoi(strings.TrimSpace(a))
	count, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || offset < 0 || count < 0 {
		return 0, 0, fmt.Errorf("limit must be \"offset,count\" or \"count\" with non-negative integers")
	}
	return offset, count, nil
}
