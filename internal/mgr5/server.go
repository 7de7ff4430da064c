package mgr5

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// ServerRequest is a parsed mgr5 request, as a panel (or a fake) sees it.
// Parameters come from the query string and the form body; the body wins.
type ServerRequest struct {
	Func   string
	Out    string
	Elid   string
	Plid   string
	Sok    bool
	Su     string
	Lang   string
	Params url.Values

	read map[string]bool
}

// Elids splits a group elid ("1, 2, 3") into ids.
func (r *ServerRequest) Elids() []string {
	if r.Elid == "" {
		return nil
	}
	parts := strings.Split(r.Elid, ",")
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Get returns a parameter value and marks the parameter as read.
func (r *ServerRequest) Get(name string) string { r.markRead(name); return r.Params.Get(name) }

// Has reports whether a parameter was sent and marks it as read.
func (r *ServerRequest) Has(name string) bool {
	r.markRead(name)
	_, ok := r.Params[name]
	return ok
}

func (r *ServerRequest) markRead(name string) {
	if r.read == nil {
		r.read = map[string]bool{}
	}
	r.read[name] = true
}

// Unread returns the sorted names of the parameters sent that nobody read
// with Get or Has: the parameters a fake's function does not model.
func (r *ServerRequest) Unread() []string {
	var out []string
	for k := range r.Params {
		if !r.read[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// ParseRequest reads a mgr5 request from GET or POST.
func ParseRequest(r *http.Request) (*ServerRequest, error) {
	params := url.Values{}
	for k, vs := range r.URL.Query() {
		params[k] = vs
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch ct {
		case "":
			// No Content-Type: read the body as a form anyway (net/http's
			// ParseForm would ignore it as octet-stream).
			b, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
			if err != nil {
				return nil, fmt.Errorf("mgr5: read body: %w", err)
			}
			form, err := url.ParseQuery(string(b))
			if err != nil {
				return nil, fmt.Errorf("mgr5: bad form body: %w", err)
			}
			for k, vs := range form {
				params[k] = vs
			}
		case "application/x-www-form-urlencoded":
			if err := r.ParseForm(); err != nil {
				return nil, fmt.Errorf("mgr5: bad form body: %w", err)
			}
			for k, vs := range r.PostForm {
				params[k] = vs
			}
		case "multipart/form-data":
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				return nil, fmt.Errorf("mgr5: bad multipart body: %w", err)
			}
			for k, vs := range r.MultipartForm.Value {
				params[k] = vs
			}
		default:
			return nil, fmt.Errorf("mgr5: unsupported content type %q", ct)
		}
	}
	out := params.Get("out")
	if out == "" {
		out = "xml"
	}
	return &ServerRequest{
		Func: params.Get("func"), Out: out, Elid: params.Get("elid"), Plid: params.Get("plid"),
		Sok: params.Get("sok") != "", Su: params.Get("su"), Lang: params.Get("lang"), Params: params,
	}, nil
}

// Node is one element of a document being rendered by a panel or fake.
// A node without text, attributes and children renders as a flag ({} in
// JSON, <name/> in XML).
type Node struct {
	Name     string
	Text     string
	Attrs    [][2]string
	Children []*Node
}

// NewDoc returns an empty "doc" root.
func NewDoc() *Node { return &Node{Name: "doc"} }

// Add appends a child with text and returns it.
func (n *Node) Add(name, text string) *Node {
	c := &Node{Name: name, Text: text}
	n.Children = append(n.Children, c)
	return c
}

// Flag appends an empty child (a flag).
func (n *Node) Flag(name string) *Node { return n.Add(name, "") }

// FlagIf appends a flag when cond is true.
func (n *Node) FlagIf(name string, cond bool) {
	if cond {
		n.Flag(name)
	}
}

// Elem appends an "elem" row.
func (n *Node) Elem() *Node { return n.Add("elem", "") }

// Attr sets an attribute and returns n.
func (n *Node) Attr(name, value string) *Node {
	n.Attrs = append(n.Attrs, [2]string{name, value})
	return n
}

// OK appends the success marker and returns n.
func (n *Node) OK() *Node { n.Flag("ok"); return n }

// repeatable lists the elements the strict formats always emit as arrays.
var repeatable = map[string]bool{"elem": true, "slist": true, "val": true, "param": true, "page": true, "msg": false}

// Render writes doc in the requested output format ("json", "sjson",
// "JSONdata" for lists, or "xml"). Unknown formats render XML.
//
// In out=json a repeated element that occurs once is rendered as a single
// object and as an array when it occurs more than once; out=sjson always
// renders elem, slist, val, param and page as arrays. This is the fakes'
// documented choice for a point the public sources leave open ; clients must
// accept both.
func Render(w http.ResponseWriter, out string, doc *Node) {
	var b []byte
	switch out {
	case "json", "sjson":
		b = RenderJSON(doc, out == "sjson")
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	case "JSONdata":
		b = renderJSONData(doc)
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	default:
		b = RenderXML(doc)
		w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// RenderJSON renders doc as {"doc":{...}} following the mgr5 mapping.
func RenderJSON(doc *Node, strict bool) []byte {
	var buf bytes.Buffer
	buf.Grow(256)
	buf.WriteString(`{"doc":`)
	writeJSONNode(&buf, doc, strict)
	buf.WriteByte('}')
	return buf.Bytes()
}

// writeJSONString writes s as a JSON string, escaping as encoding/json does
// (quotes, backslashes, control characters, <, >, &, U+2028/2029; invalid
// UTF-8 becomes U+FFFD) without its per-call allocations.
func writeJSONString(buf *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			buf.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				buf.WriteByte('\\')
				buf.WriteByte(c)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			case '\t':
				buf.WriteString(`\t`)
			case '\b':
				buf.WriteString(`\b`)
			case '\f':
				buf.WriteString(`\f`)
			default:
				buf.WriteString(`\u00`)
				buf.WriteByte(hex[c>>4])
				buf.WriteByte(hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf.WriteString(s[start:i])
			buf.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf.WriteString(s[start:i])
			buf.WriteString(`\u202`)
			buf.WriteByte(hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}

func writeJSONNode(buf *bytes.Buffer, n *Node, strict bool) {
	buf.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			buf.WriteByte(',')
		}
		first = false
	}
	for _, a := range n.Attrs {
		sep()
		writeJSONString(buf, "$"+a[0])
		buf.WriteByte(':')
		writeJSONString(buf, a[1])
	}
	if n.Text != "" {
		sep()
		buf.WriteString(`"$":`)
		writeJSONString(buf, n.Text)
	}
	// Children with the same name form one member, in order of first
	// appearance. Rows have few distinct names, so a linear look-back is
	// cheaper than a map.
	done := make([]bool, len(n.Children))
	for i, c := range n.Children {
		if done[i] {
			continue
		}
		count := 0
		for j := i; j < len(n.Children); j++ {
			if n.Children[j].Name == c.Name {
				count++
			}
		}
		sep()
		writeJSONString(buf, c.Name)
		buf.WriteByte(':')
		if count == 1 && !(strict && repeatable[c.Name]) {
			done[i] = true
			writeJSONNode(buf, c, strict)
			continue
		}
		buf.WriteByte('[')
		k := 0
		for j := i; j < len(n.Children); j++ {
			if n.Children[j].Name != c.Name {
				continue
			}
			done[j] = true
			if k > 0 {
				buf.WriteByte(',')
			}
			k++
			writeJSONNode(buf, n.Children[j], strict)
		}
		buf.WriteByte(']')
	}
	buf.WriteByte('}')
}

// renderJSONData renders the rows of a list as a flat array of string maps;
// other documents render as one flat object.
func renderJSONData(doc *Node) []byte {
	var rows []map[string]string
	flat := map[string]string{}
	for _, c := range doc.Children {
		if c.Name == "elem" {
			row := map[string]string{}
			for _, f := range c.Children {
				row[f.Name] = f.Text
			}
			rows = append(rows, row)
			continue
		}
		if c.Name != "tparams" {
			flat[c.Name] = c.Text
		}
	}
	var b []byte
	if rows != nil || len(flat) == 0 {
		if rows == nil {
			rows = []map[string]string{}
		}
		b, _ = json.Marshal(rows)
	} else {
		b, _ = json.Marshal(flat)
	}
	return b
}

// RenderXML renders doc as an XML document.
func RenderXML(doc *Node) []byte {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	writeXMLNode(&buf, doc)
	return buf.Bytes()
}

func writeXMLNode(buf *bytes.Buffer, n *Node) {
	buf.WriteByte('<')
	buf.WriteString(n.Name)
	for _, a := range n.Attrs {
		buf.WriteByte(' ')
		buf.WriteString(a[0])
		buf.WriteString(`="`)
		_ = xml.EscapeText(buf, []byte(a[1]))
		buf.WriteByte('"')
	}
	if n.Text == "" && len(n.Children) == 0 {
		buf.WriteString("/>")
		return
	}
	buf.WriteByte('>')
	_ = xml.EscapeText(buf, []byte(n.Text))
	for _, c := range n.Children {
		writeXMLNode(buf, c)
	}
	buf.WriteString("</")
	buf.WriteString(n.Name)
	buf.WriteByte('>')
}

// ErrorDoc builds the doc.error document for e, shaped like the panels'
// (type, object and lang attributes; msg and detail; object and value
// params).
func ErrorDoc(e *Error, lang string) *Node {
	if lang == "" {
		lang = "en"
	}
	doc := NewDoc()
	// The value travels only as param name="value", never as an
	// attribute of the error element (the panels' captured answers show
	// type, object and lang attributes only).
	en := doc.Add("error", "").Attr("type", e.Type).Attr("object", e.Object).Attr("lang", lang)
	en.Add("param", e.Object).Attr("name", "object").Attr("type", "msg")
	if e.Value != "" {
		en.Add("param", e.Value).Attr("name", "value")
	}
	msg := e.Message
	if msg == "" {
		msg = defaultMessage(e)
	}
	en.Add("detail", msg)
	en.Add("msg", msg)
	return doc
}

func defaultMessage(e *Error) string {
	switch e.Type {
	case TypeAuth:
		return "Invalid username or password"
	case TypeExists:
		return fmt.Sprintf("The %s '%s' already exists", e.Object, e.Value)
	case TypeMissed:
		return fmt.Sprintf("The %s '%s' not found", e.Object, e.Value)
	case TypeValue:
		return fmt.Sprintf("Invalid value of the field '%s'", e.Object)
	case TypeAccess:
		return fmt.Sprintf("Access to '%s' denied", e.Object)
	}
	return e.Type + " error"
}

// TParams adds the echoed request parameters, leaving out credentials.
func TParams(doc *Node, r *ServerRequest) {
	tp := doc.Add("tparams", "")
	for k, vs := range r.Params {
		if k == "authinfo" || k == "password" || k == "passwd" || k == "confirm" || k == "checkpasswd" || k == "auth" {
			continue
		}
		if len(vs) > 0 {
			tp.Add(k, vs[0])
		}
	}
}
