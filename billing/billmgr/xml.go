package billmgr

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Flag is a boolean XML attribute written as "yes" when true and left out
// when false (crypted="yes", unique="yes").
type Flag bool

// MarshalXMLAttr implements xml.MarshalerAttr.
func (f Flag) MarshalXMLAttr(name xml.Name) (xml.Attr, error) {
	if !f {
		return xml.Attr{}, nil
	}
	return xml.Attr{Name: name, Value: "yes"}, nil
}

// UnmarshalXMLAttr implements xml.UnmarshalerAttr: "yes" and "on" are true.
func (f *Flag) UnmarshalXMLAttr(attr xml.Attr) error {
	*f = attr.Value == "yes" || attr.Value == "on"
	return nil
}

// Features is the document printed for the features command:
//
//	<doc>
//	  <itemtypes><itemtype name="dedic"/></itemtypes>
//	  <params><param name="url"/><param name="password" crypted="yes"/><customparam name="x" unique="yes" defval="y"/></params>
//	  <features><feature name="open"/>…</features>
//	</doc>
type Features struct {
	// XMLName is the root element, <doc>.
	XMLName xml.Name `xml:"doc"`
	// ItemTypes are the product-type internal names the module handles.
	ItemTypes []ItemType `xml:"itemtypes>itemtype"`
	// Params are the connection parameters BILLmanager stores.
	Params []Param `xml:"params>param"`
	// CustomParams are extra per-module settings.
	CustomParams []CustomParam `xml:"params>customparam"`
	// Features are the supported commands; BILLmanager calls no others.
	Features []Feature `xml:"features>feature"`
}

// ItemType is one <itemtype name="…"/>.
type ItemType struct {
	// Name is the item type's internal name ("dedic", "vhost", …).
	Name string `xml:"name,attr"`
}

// Param is one connection <param name="…" [crypted="yes"]/>.
type Param struct {
	// Name is the parameter name ("url", "username", "password", …).
	Name string `xml:"name,attr"`
	// Crypted stores the value encrypted.
	Crypted Flag `xml:"crypted,attr,omitempty"`
}

// CustomParam is one <customparam name="…" [unique="yes"] [defval="…"]/>.
type CustomParam struct {
	// Name is the setting's name.
	Name string `xml:"name,attr"`
	// Unique marks the setting unique="yes".
	Unique Flag `xml:"unique,attr,omitempty"`
	// DefVal is the default value.
	DefVal string `xml:"defval,attr,omitempty"`
}

// Feature is one <feature name="…"/>.
type Feature struct {
	// Name is the supported command.
	Name Command `xml:"name,attr"`
}

// FeatureList turns commands into a Features.Features value.
func FeatureList(cmds ...Command) []Feature {
	out := make([]Feature, len(cmds))
	for i, c := range cmds {
		out[i] = Feature{Name: c}
	}
	return out
}

// Supports reports whether f lists command c.
func (f *Features) Supports(c Command) bool {
	for _, ft := range f.Features {
		if ft.Name == c {
			return true
		}
	}
	return false
}

// Error is a failure reported to BILLmanager. BILLmanager shows the text of
// its message msg_error_<Type>; Object names the offending object or field
// and Value its value. Desc is free text added as a "desc" parameter.
type Error struct {
	// Type selects the message msg_error_<Type>.
	Type string
	// Object is the object or field the error is about.
	Object string
	// Value is the offending value.
	Value string
	// Desc is a human-readable description.
	Desc string
	// Err is the underlying cause; it is not printed.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("billmgr: ")
	b.WriteString(e.Type)
	if e.Object != "" {
		fmt.Fprintf(&b, " (object %s", e.Object)
		if e.Value != "" {
			fmt.Fprintf(&b, ", value %q", e.Value)
		}
		b.WriteString(")")
	}
	if e.Desc != "" {
		b.WriteString(": ")
		b.WriteString(e.Desc)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Error types used by this package.
const (
	// ErrTypeUsage: the command line could not be parsed.
	ErrTypeUsage = "usage"
	// ErrTypeUnsupported: the module does not implement the command.
	ErrTypeUnsupported = "unsupported"
	// ErrTypeInternal: any error that is not an *Error.
	ErrTypeInternal = "internal"
	// ErrTypeInvalidLogin: the panel rejected the connection credentials.
	ErrTypeInvalidLogin = "invalid_login_or_passwd"
)

// ErrUnsupported is the cause of the *Error returned for commands a
// [Handler] does not implement.
var ErrUnsupported = errors.New("billmgr: command not supported")

// asError converts any error to an *Error: *Error and *UsageError keep their
// meaning, anything else becomes type "internal" with its text as Desc.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		return &Error{Type: ErrTypeUsage, Object: ue.Option, Desc: ue.Reason, Err: err}
	}
	return &Error{Type: ErrTypeInternal, Desc: err.Error(), Err: err}
}

type xmlParam struct {
	Name  string `xml:"name,attr"`
	Type  string `xml:"type,attr,omitempty"`
	Msg   string `xml:"msg,attr,omitempty"`
	Value string `xml:",chardata"`
}

type xmlError struct {
	Type   string     `xml:"type,attr"`
	Object string     `xml:"object,attr,omitempty"`
	Params []xmlParam `xml:"param"`
}

type errorDoc struct {
	XMLName xml.Name `xml:"doc"`
	Error   xmlError `xml:"error"`
}

// MarshalErrorXML renders err as the error document a module prints on
// stdout before exiting non-zero:
//
//	<doc><error type="T" object="O"><param name="object" type="msg" msg="O">O</param><param name="value">V</param><param name="desc">D</param></error></doc>
//
// The object, value and desc parameters are only written when set. A non-*Error
// is reported with type "internal" and its text as desc.
func MarshalErrorXML(err error) ([]byte, error) {
	e := asError(err)
	x := xmlError{Type: e.Type, Object: e.Object}
	if x.Type == "" {
		x.Type = ErrTypeInternal
	}
	if e.Object != "" {
		x.Params = append(x.Params, xmlParam{Name: "object", Type: "msg", Msg: e.Object, Value: e.Object})
	}
	if e.Value != "" {
		x.Params = append(x.Params, xmlParam{Name: "value", Value: e.Value})
	}
	if e.Desc != "" {
		x.Params = append(x.Params, xmlParam{Name: "desc", Value: e.Desc})
	}
	return xml.Marshal(errorDoc{Error: x})
}

type opErrorDoc struct {
	XMLName xml.Name `xml:"doc"`
	Error   struct {
		Type      string `xml:"type,attr"`
		Object    string `xml:"object,attr,omitempty"`
		Value     string `xml:"value,attr,omitempty"`
		Backtrace string `xml:"backtrace"`
	} `xml:"error"`
}

// MarshalOperationErrorXML renders err in the shape stored on a running
// operation (mgrctl runningoperation.edit errorxml=…):
//
//	<doc><error type="T" object="O" value="V"><backtrace>D</backtrace></error></doc>
//
// [Mgrctl.OperationError] stores it.
func MarshalOperationErrorXML(err error) ([]byte, error) {
	e := asError(err)
	var d opErrorDoc
	d.Error.Type = e.Type
	if d.Error.Type == "" {
		d.Error.Type = ErrTypeInternal
	}
	d.Error.Object, d.Error.Value, d.Error.Backtrace = e.Object, e.Value, e.Desc
	return xml.Marshal(d)
}

// PanelLink is the answer to transition_control_panel.
type PanelLink struct {
	// URL is the login URL of the panel.
	URL string
	// KeyName is the panel key (keyname attribute).
	KeyName string
	// Name is the panel's display name.
	Name string
}

type panelDoc struct {
	XMLName    xml.Name `xml:"doc"`
	URL        string   `xml:"url"`
	PanelCount int      `xml:"panelcount"`
	PanelName  struct {
		KeyName string `xml:"keyname,attr"`
		Name    string `xml:",chardata"`
	} `xml:"panelname"`
}

func marshalPanelLink(p *PanelLink) ([]byte, error) {
	d := panelDoc{URL: p.URL, PanelCount: 1}
	d.PanelName.KeyName, d.PanelName.Name = p.KeyName, p.Name
	return xml.Marshal(d)
}

type modulesDoc struct {
	XMLName xml.Name `xml:"doc"`
	Modules []struct {
		ID int64 `xml:"id,attr"`
	} `xml:"modules>module"`
}

func marshalModules(ids []int64) ([]byte, error) {
	var d modulesDoc
	for _, id := range ids {
		d.Modules = append(d.Modules, struct {
			ID int64 `xml:"id,attr"`
		}{id})
	}
	if len(ids) == 0 {
		// Keep an empty <modules/> so the answer says "none" explicitly.
		return []byte("<doc><modules></modules></doc>"), nil
	}
	return xml.Marshal(d)
}

// okDoc is printed by check_connection, check_param and check_addon on
// success.
const okDoc = "<doc><ok/></doc>"

// SuitableModuleQuery is the stdin document of get_suitable_module:
// <doc><item><pricelist>N</pricelist>…</item><skip_modules>1,2</skip_modules></doc>.
type SuitableModuleQuery struct {
	// Item holds the <item> children by element name (pricelist, …).
	Item map[string]string
	// SkipModules are the module IDs not to offer again.
	SkipModules []int64
}

// Pricelist returns the tariff (pricelist) ID of the item, or 0.
func (q *SuitableModuleQuery) Pricelist() int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(q.Item["pricelist"]), 10, 64)
	return n
}

// ParseSuitableModuleQuery reads the get_suitable_module stdin document.
func ParseSuitableModuleQuery(r io.Reader) (*SuitableModuleQuery, error) {
	var doc struct {
		Item struct {
			Fields []field `xml:",any"`
		} `xml:"item"`
		Skip string `xml:"skip_modules"`
	}
	if err := decodeDoc(r, &doc); err != nil {
		return nil, err
	}
	q := &SuitableModuleQuery{Item: fieldsMap(doc.Item.Fields)}
	for s := range strings.SplitSeq(doc.Skip, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, &Error{Type: ErrTypeUsage, Object: "skip_modules", Value: s, Desc: "not a module ID", Err: err}
		}
		q.SkipModules = append(q.SkipModules, id)
	}
	return q, nil
}

// ParseConnectionParams reads the check_connection stdin document
// (<doc><processingmodule><id/>…param fields…</processingmodule></doc>) and
// returns the fields of <processingmodule> by element name.
func ParseConnectionParams(r io.Reader) (map[string]string, error) {
	var doc struct {
		PM struct {
			Fields []field `xml:",any"`
		} `xml:"processingmodule"`
	}
	if err := decodeDoc(r, &doc); err != nil {
		return nil, err
	}
	return fieldsMap(doc.PM.Fields), nil
}

type field struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

func fieldsMap(fs []field) map[string]string {
	m := make(map[string]string, len(fs))
	for _, f := range fs {
		m[f.XMLName.Local] = strings.TrimSpace(f.Value)
	}
	return m
}

func decodeDoc(r io.Reader, v any) error {
	if r == nil {
		return &Error{Type: ErrTypeUsage, Object: "stdin", Desc: "no input document"}
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("billmgr: reading stdin: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return &Error{Type: ErrTypeUsage, Object: "stdin", Desc: "empty input document"}
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return &Error{Type: ErrTypeUsage, Object: "stdin", Desc: "malformed XML: " + err.Error(), Err: err}
	}
	return nil
}
