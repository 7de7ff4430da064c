package dcimanager6

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Where is a filter expression for the where= query parameter of list
// calls. Build it with [EQ], [NE], [CP], [IsNull], [Not], [And], [Or] and
// [Group]; the zero value is "no filter". Values are always rendered as
// literals (strings in single quotes with ' doubled), field names are
// checked against a strict pattern, so user input cannot change the
// structure of the expression. A builder error (bad field name, unsupported
// value type) is kept inside the Where and returned as an *ArgumentError by
// the call that uses it, before anything is sent.
//
// Grammar (what the fake parses; EQ, NE, CP, IS null, NOT, AND and
// parentheses are seen in public code, OR and IS NOT null are assumptions):
//
//	expr    = and { "OR" and }
//	and     = unary { "AND" unary }
//	unary   = "NOT" unary | "(" expr ")" | field op value | field "IS" ["NOT"] "null"
//	op      = "EQ" | "NE" | "CP"
//	value   = 'string' | number | true | false
type Where struct {
	expr string
	// prec is the binding strength of the top node: 3 atom, 2 NOT, 1 AND, 0 OR.
	prec int
	err  error
}

var fieldRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// String returns the expression as the panel reads it (not URL-encoded).
func (w Where) String() string { return w.expr }

// IsZero reports whether w is empty (no filter).
func (w Where) IsZero() bool { return w.expr == "" && w.err == nil }

// Err returns the builder error, if any.
func (w Where) Err() error { return w.err }

func cmp(op, field string, value any) Where {
	if !fieldRe.MatchString(field) {
		return Where{err: argErr("Where", "field", fmt.Sprintf("%q is not a field name", field))}
	}
	lit, err := literal(value)
	if err != nil {
		return Where{err: argErr("Where", field, err.Error())}
	}
	return Where{expr: field + " " + op + " " + lit, prec: 3}
}

// literal renders a Go value as a where literal.
func literal(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return Quote(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.FormatInt(int64(x), 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("value is not a finite number")
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case fmt.Stringer:
		return Quote(x.String()), nil
	case nil:
		return "", fmt.Errorf("nil value: use IsNull")
	}
	return "", fmt.Errorf("unsupported value type %T", v)
}

// Quote renders s as a single-quoted where string literal; a single quote
// inside is doubled (SQL style). How the real panel escapes a quote is not
// documented (assumed); the fake accepts exactly this form.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// EQ is "field EQ value". value is a string, bool, integer or float.
func EQ(field string, value any) Where { return cmp("EQ", field, value) }

// NE is "field NE value".
func NE(field string, value any) Where { return cmp("NE", field, value) }

// CP is "field CP 'pattern'": a LIKE-style match in which % stands for any
// run of characters. The pattern is sent as given: add the % yourself
// (CP("name", "%srv%")). No escape for a literal % is documented.
func CP(field, pattern string) Where { return cmp("CP", field, pattern) }

// Contains is CP with the value wrapped in %…%.
func Contains(field, s string) Where { return CP(field, "%"+s+"%") }

// IsNull is "field IS null".
func IsNull(field string) Where {
	if !fieldRe.MatchString(field) {
		return Where{err: argErr("Where", "field", fmt.Sprintf("%q is not a field name", field))}
	}
	return Where{expr: field + " IS null", prec: 3}
}

// Not is "NOT w"; w is parenthesised unless it is a single comparison.
func Not(w Where) Where {
	if w.err != nil {
		return w
	}
	if w.expr == "" {
		return Where{err: argErr("Where", "Not", "empty operand")}
	}
	return Where{expr: "NOT " + wrap(w, 2), prec: 2}
}

// Group puts w in parentheses.
func Group(w Where) Where {
	if w.err != nil || w.expr == "" {
		return w
	}
	return Where{expr: "(" + w.expr + ")", prec: 3}
}

// And joins the non-empty operands with AND, parenthesising OR operands.
func And(ws ...Where) Where { return join("AND", 1, ws) }

// Or joins the non-empty operands with OR. OR is not seen in any public
// DCImanager 6 source (assumed); prefer NOT/AND when talking to a real panel.
func Or(ws ...Where) Where { return join("OR", 0, ws) }

func join(op string, prec int, ws []Where) Where {
	var parts []string
	for _, w := range ws {
		if w.err != nil {
			return w
		}
		if w.expr == "" {
			continue
		}
		parts = append(parts, wrap(w, prec))
	}
	switch len(parts) {
	case 0:
		return Where{}
	case 1:
		for _, w := range ws {
			if w.expr != "" {
				return w
			}
		}
	}
	return Where{expr: strings.Join(parts, " "+op+" "), prec: prec}
}

// And returns w AND others.
func (w Where) And(others ...Where) Where { return And(append([]Where{w}, others...)...) }

// Or returns w OR others.
func (w Where) Or(others ...Where) Where { return Or(append([]Where{w}, others...)...) }

func wrap(w Where, min int) string {
	if w.prec < min {
		return "(" + w.expr + ")"
	}
	return w.expr
}

// Order is one orderby= clause.
type Order struct {
	Field string
	Desc  bool
}

// Asc sorts by field ascending.
func Asc(field string) *Order { return &Order{Field: field} }

// Desc sorts by field descending.
func Desc(field string) *Order { return &Order{Field: field, Desc: true} }

// String renders the order as the panel's orderby value ("name asc").
func (o *Order) String() string {
	if o.Desc {
		return o.Field + " desc"
	}
	return o.Field + " asc"
}

// Range is a limit=offset,count window.
type Range struct {
	Offset, Count int
}

// Limit returns the window of count rows starting at offset (0-based).
func Limit(offset, count int) *Range { return &Range{Offset: offset, Count: count} }

// ListOptions filter, sort and window a list call. The zero value lists
// everything the panel returns by default.
type ListOptions struct {
	Where   Where
	OrderBy *Order
	Limit   *Range
}

// queryEscape percent-encodes s for the query string the way the panel's
// decoder expects: space as %20 (never +), a literal + as %2B, and
// ' ( ) , left as they are (see spec gotcha: some HTTP libraries encode
// them and the panel's own UI does not). Non-ASCII is UTF-8 percent-encoded.
func queryEscape(s string) string {
	const keep = "-_.~'()!*,:@/"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// encode validates o and renders its raw query string (without "?").
// extra is ANDed with o.Where (used for a method's own filters).
func (o *ListOptions) encode(op string, extra Where) (string, error) {
	var opts ListOptions
	if o != nil {
		opts = *o
	}
	w := And(extra, opts.Where)
	if w.err != nil {
		if ae, ok := w.err.(*ArgumentError); ok {
			c := *ae
			c.Op = op + ": " + c.Op
			return "", &c
		}
		return "", w.err
	}
	var parts []string
	if w.expr != "" {
		parts = append(parts, "where="+queryEscape(w.expr))
	}
	if opts.OrderBy != nil {
		if !fieldRe.MatchString(opts.OrderBy.Field) {
			return "", argErr(op, "OrderBy", "not a field name")
		}
		parts = append(parts, "orderby="+queryEscape(opts.OrderBy.String()))
	}
	if opts.Limit != nil {
		if opts.Limit.Offset < 0 || opts.Limit.Count <= 0 {
			return "", argErr(op, "Limit", "offset must be >= 0 and count > 0")
		}
		parts = append(parts, "limit="+strconv.Itoa(opts.Limit.Offset)+","+strconv.Itoa(opts.Limit.Count))
	}
	return strings.Join(parts, "&"), nil
}

// params returns the list options as url.Values for debug logging.
func queryParams(raw string) url.Values {
	v, _ := url.ParseQuery(raw)
	return v
}

// FreeServers returns the filter for servers that are available for sale
// in the sense of the vendor's BILLmanager integration: no
// owner, diagnostics done (is_new false), not in maintenance, last
// operation ok or canceled; optionally in one location (locationID > 0)
// and with one configuration (non-empty). It only uses operators seen in
// public code (the "ok or canceled" test is written with NOT and AND).
func FreeServers(locationID int64, configuration string) Where {
	w := And(
		IsNull(filterOwnerEmail),
		EQ(filterIsNew, false),
		EQ(filterMaintenance, false),
		Not(And(NE(filterOperationStatus, StatusOK), NE(filterOperationStatus, StatusCanceled))),
	)
	if locationID > 0 {
		w = w.And(EQ(filterLocation, locationID))
	}
	if configuration != "" {
		w = w.And(EQ(filterConfiguration, configuration))
	}
	return w
}
