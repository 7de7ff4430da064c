// Command fakemgrctl is the fake BILLmanager mgrctl of package billmgrtest
// (see its documentation for what it accepts and answers). It finds its
// installation root as the parent of the directory holding it
// (<root>/sbin/mgrctl), reads <root>/etc/billmgrtest.json and appends each
// call to <root>/var/billmgrtest-mgrctl.jsonl.
package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ispkit/ispkit/billing/billmgr/billmgrtest"
)

// callbacks are the completion and bookkeeping functions with the
// parameters they take besides elid and sok.
var callbacks = map[string][]string{
	"service.postopen":           nil,
	"service.postsuspend":        nil,
	"service.postresume":         nil,
	"service.postclose":          nil,
	"service.postsetparam":       nil,
	"service.postprolong":        nil,
	"service.postreopen":         nil,
	"service.postchangepassword": nil,
	"service.saveparam":          {"name", "value"},
	"service.setstatus":          {"service_status"},
	"service.setexpiredate":      {"expiredate"},
	"runningoperation.edit":      {"errorxml"},
	"runningoperation.setmanual": nil,
}

var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

func main() {
	os.Exit(run())
}

type refusal struct {
	typ, object, msg string
}

func run() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakemgrctl:", err)
		return 2
	}
	root := filepath.Dir(filepath.Dir(exe))
	dir, _ := os.Getwd()
	call := billmgrtest.Call{Args: os.Args[1:], Params: map[string]string{}, Dir: dir, SSHConnection: os.Getenv("SSH_CONNECTION")}

	var st billmgrtest.State
	if b, err := os.ReadFile(filepath.Join(root, billmgrtest.StateFile)); err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			fmt.Fprintln(os.Stderr, "fakemgrctl: state:", err)
			return 2
		}
	}
	doc, ref, usage := answer(&call, &st)
	var out bytes.Buffer
	code := 0
	switch {
	case usage != "":
		code = 2
	case ref != nil:
		code = 1
		if f, ok := st.Fail[call.Func]; ok {
			code = f.Exit
		}
		if ref.typ != "" {
			out.WriteString(xml.Header)
			fmt.Fprintf(&out, `<doc><error type="%s" object="%s"><msg>%s</msg></error></doc>`+"\n", esc(ref.typ), esc(ref.object), esc(ref.msg))
		}
	default:
		out.WriteString(xml.Header)
		out.WriteString(doc)
		out.WriteString("\n")
	}
	call.Exit = code
	if err := record(root, call); err != nil {
		fmt.Fprintln(os.Stderr, "fakemgrctl: log:", err)
		return 2
	}
	if usage != "" {
		fmt.Fprintln(os.Stderr, "mgrctl:", usage)
	}
	_, _ = os.Stdout.Write(out.Bytes())
	return code
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func record(root string, c billmgrtest.Call) error {
	line, err := json.Marshal(c)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(root, billmgrtest.LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	// One write per call: appends of concurrent runs do not interleave.
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// answer parses the command line and decides the answer: a document, a
// refusal, or a usage error (bad command line).
func answer(c *billmgrtest.Call, st *billmgrtest.State) (string, *refusal, string) {
	args := c.Args
	if len(args) < 3 || args[0] != "-m" || args[1] != "billmgr" {
		return "", nil, "usage: mgrctl -m billmgr <func> [name=value …]"
	}
	c.Func = args[2]
	for _, a := range args[3:] {
		k, v, ok := strings.Cut(a, "=")
		if !ok || !paramName.MatchString(k) {
			return "", nil, fmt.Sprintf("bad argument %q (want name=value)", a)
		}
		if _, dup := c.Params[k]; dup {
			return "", &refusal{"value", k, "parameter given twice"}, ""
		}
		c.Params[k] = v
	}
	if c.Params["out"] != "xml" {
		return "", &refusal{"value", "out", "billmgrtest models out=xml only"}, ""
	}
	if f, ok := st.Fail[c.Func]; ok {
		return "", &refusal{f.Type, f.Object, f.Message}, ""
	}
	if forms, ok := st.Forms[c.Func]; ok {
		for k := range c.Params {
			if k != "elid" && k != "out" {
				return "", &refusal{"value", k, "billmgrtest: a form view takes elid only"}, ""
			}
		}
		fields, ok := forms[c.Params["elid"]]
		if !ok {
			return "", &refusal{"missed", "elid", "object not found"}, ""
		}
		var b strings.Builder
		b.WriteString("<doc>")
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			fmt.Fprintf(&b, "<%s>%s</%s>", k, esc(fields[k]), k)
		}
		b.WriteString("</doc>")
		return b.String(), nil, ""
	}
	extra, ok := callbacks[c.Func]
	if !ok {
		return "", &refusal{"missed", "func", "unknown function " + c.Func}, ""
	}
	for k := range c.Params {
		if k != "elid" && k != "sok" && k != "out" && !slices.Contains(extra, k) {
			return "", &refusal{"value", k, "billmgrtest: " + c.Func + " does not take " + k}, ""
		}
	}
	if c.Params["sok"] != "ok" {
		return "", &refusal{"value", "sok", "billmgrtest: without sok=ok " + c.Func + " only shows its form"}, ""
	}
	for _, k := range extra {
		if _, ok := c.Params[k]; !ok {
			return "", &refusal{"value", k, "required"}, ""
		}
	}
	id, err := strconv.ParseInt(c.Params["elid"], 10, 64)
	known := st.Items
	if strings.HasPrefix(c.Func, "runningoperation.") {
		known = st.Operations
	}
	if err != nil || !slices.Contains(known, id) {
		return "", &refusal{"missed", "elid", "object not found"}, ""
	}
	switch c.Func {
	case "service.setstatus":
		if _, err := strconv.Atoi(c.Params["service_status"]); err != nil {
			return "", &refusal{"value", "service_status", "not a number"}, ""
		}
	case "service.setexpiredate":
		if _, err := time.Parse(time.DateOnly, c.Params["expiredate"]); err != nil {
			return "", &refusal{"value", "expiredate", "not a date YYYY-MM-DD"}, ""
		}
	case "service.saveparam":
		if !paramName.MatchString(c.Params["name"]) {
			return "", &refusal{"value", "name", "not a parameter name"}, ""
		}
	case "runningoperation.edit":
		var d struct {
			XMLName xml.Name
			Error   *struct {
				Type string `xml:"type,attr"`
			} `xml:"error"`
		}
		if err := xml.Unmarshal([]byte(c.Params["errorxml"]), &d); err != nil || d.XMLName.Local != "doc" || d.Error == nil || d.Error.Type == "" {
			return "", &refusal{"value", "errorxml", "not an error document"}, ""
		}
	}
	return "<doc><ok/></doc>", nil, ""
}
