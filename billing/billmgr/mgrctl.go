package billmgr

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultRoot is BILLmanager's installation directory. Modules live in
// DefaultRoot/processing, mgrctl is DefaultRoot/sbin/mgrctl, and
// BILLmanager runs modules with DefaultRoot as working directory.
const DefaultRoot = "/usr/local/mgr5"

// Root returns the BILLmanager installation directory a module binary runs
// from: the parent of the directory holding the executable when that
// directory is called "processing" (…/mgr5/processing/<module>), else
// [DefaultRoot]. A module installed elsewhere, or run with "go run", thus
// talks to the default installation.
func Root() string {
	exe, err := os.Executable()
	if err != nil {
		return DefaultRoot
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	dir := filepath.Dir(exe)
	if filepath.Base(dir) != "processing" {
		return DefaultRoot
	}
	return filepath.Dir(dir)
}

// Mgrctl runs BILLmanager's command-line client the way ISPsystem's own
// module helpers do:
//
//	<Root>/sbin/mgrctl -m billmgr <func> name=value … out=xml
//
// with <Root> as working directory and SSH_CONNECTION=<Module> in the
// environment (so that BILLmanager's log names the module instead of an
// address). mgrctl talks to the local BILLmanager without a login. A
// non-zero exit status or an error document is a failure (*MgrctlError).
//
// Parameter values travel on mgrctl's command line, which other local users
// can read in the process list: never pass a secret as a parameter. The
// callbacks of this package pass ids, statuses, dates and error text only.
type Mgrctl struct {
	// Root is the BILLmanager installation directory; empty means
	// DefaultRoot.
	Root string
	// Module is the module's name, sent as SSH_CONNECTION.
	Module string
	// Timeout bounds one mgrctl run; zero means one minute.
	Timeout time.Duration
	// Log receives one record per call (function and parameter names,
	// never values) at debug level, and failures at warn level; nil logs
	// nothing.
	Log *slog.Logger
}

// ErrMgrctl is matched (with errors.Is) by every *MgrctlError.
var ErrMgrctl = errors.New("billmgr: mgrctl call failed")

// MgrctlError is a failed mgrctl call: the program could not run, exited
// non-zero, or printed an error document (Type, Object and Message from
// it) or something that is not a document.
type MgrctlError struct {
	// Func is the BILLmanager function called.
	Func string
	// ExitCode is mgrctl's exit status (-1 when it did not run or was
	// killed).
	ExitCode int
	// Type and Object are the error document's attributes; Message its
	// text.
	Type, Object, Message string
	// Err is the cause when mgrctl could not run.
	Err error
}

// Error implements error.
func (e *MgrctlError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "billmgr: mgrctl %s", e.Func)
	if e.ExitCode != 0 {
		fmt.Fprintf(&b, ": exit status %d", e.ExitCode)
	}
	if e.Type != "" {
		fmt.Fprintf(&b, ": error %s", e.Type)
		if e.Object != "" {
			fmt.Fprintf(&b, " (%s)", e.Object)
		}
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Is matches ErrMgrctl.
func (e *MgrctlError) Is(target error) bool { return target == ErrMgrctl }

// Unwrap returns the cause.
func (e *MgrctlError) Unwrap() error { return e.Err }

// Reply is a parsed mgrctl answer (an out=xml document).
type Reply struct {
	// Fields are the document's leaf children by name (the fields of a
	// form such as processing.edit); a repeated name keeps the first.
	Fields map[string]string
	// Rows are the <elem> rows of a list, each by field name.
	Rows []map[string]string
}

// OK reports whether the document carries the <ok/> success marker.
func (r *Reply) OK() bool { _, ok := r.Fields["ok"]; return ok }

type xmlNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []xmlNode  `xml:",any"`
}

func (n *xmlNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func leaves(ns []xmlNode) map[string]string {
	m := make(map[string]string, len(ns))
	for _, c := range ns {
		if len(c.Children) > 0 {
			continue
		}
		if _, dup := m[c.XMLName.Local]; !dup {
			m[c.XMLName.Local] = strings.TrimSpace(c.Text)
		}
	}
	return m
}

// parseReply reads an out=xml document.
func parseReply(fn string, out []byte) (*Reply, error) {
	var doc xmlNode
	if err := xml.Unmarshal(out, &doc); err != nil || doc.XMLName.Local != "doc" {
		return nil, &MgrctlError{Func: fn, Message: fmt.Sprintf("the answer is not a BILLmanager document (%d bytes)", len(out))}
	}
	r := &Reply{Fields: leaves(doc.Children)}
	for _, c := range doc.Children {
		switch c.XMLName.Local {
		case "error":
			e := &MgrctlError{Func: fn, Type: c.attr("type"), Object: c.attr("object")}
			for _, p := range c.Children {
				if p.XMLName.Local == "msg" {
					e.Message = strings.TrimSpace(p.Text)
				}
			}
			if e.Type == "" {
				e.Type = "unknown"
			}
			return nil, e
		case "elem":
			r.Rows = append(r.Rows, leaves(c.Children))
		}
	}
	return r, nil
}

// Call runs mgrctl for function fn with params (sent sorted by name, then
// out=xml) and returns the parsed answer. Errors are *MgrctlError; the
// context cancels a running mgrctl.
func (m *Mgrctl) Call(ctx context.Context, fn string, params map[string]string) (*Reply, error) {
	if fn == "" || strings.ContainsAny(fn, " =\t\r\n") || strings.HasPrefix(fn, "-") {
		return nil, &MgrctlError{Func: fn, ExitCode: -1, Message: "not a function name"}
	}
	root := m.Root
	if root == "" {
		root = DefaultRoot
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := []string{"-m", "billmgr", fn}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if k == "" || k == "out" || strings.ContainsAny(k, "= \t\r\n") {
			return nil, &MgrctlError{Func: fn, ExitCode: -1, Message: "bad parameter name " + strconv.Quote(k)}
		}
		args = append(args, k+"="+params[k])
	}
	args = append(args, "out=xml")
	cmd := exec.CommandContext(ctx, filepath.Join(root, "sbin", "mgrctl"), args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "SSH_CONNECTION="+m.Module)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if m.Log != nil {
		m.Log.LogAttrs(ctx, slog.LevelDebug, "mgrctl", slog.String("func", fn),
			slog.Any("params", slices.Sorted(maps.Keys(params))), slog.Duration("duration", time.Since(start)))
	}
	reply, perr := parseReply(fn, stdout.Bytes())
	if err != nil {
		e := &MgrctlError{Func: fn, ExitCode: -1, Err: err}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			e.ExitCode, e.Err = ee.ExitCode(), nil
			var de *MgrctlError
			if errors.As(perr, &de) && de.Type != "" {
				e.Type, e.Object, e.Message = de.Type, de.Object, de.Message
			} else if s := strings.TrimSpace(stderr.String()); s != "" {
				e.Message = firstLine(s)
			}
		}
		m.warn(ctx, e)
		return nil, e
	}
	if perr != nil {
		m.warn(ctx, perr)
		return nil, perr
	}
	return reply, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func (m *Mgrctl) warn(ctx context.Context, err error) {
	if m.Log != nil {
		m.Log.LogAttrs(ctx, slog.LevelWarn, "mgrctl failed", slog.String("error", err.Error()))
	}
}

// Form returns the fields of a form view: fn with elid=id and no sok (for
// example processing.edit for a processing module's connection
// parameters).
func (m *Mgrctl) Form(ctx context.Context, fn string, id int64) (map[string]string, error) {
	r, err := m.Call(ctx, fn, map[string]string{"elid": strconv.FormatInt(id, 10)})
	if err != nil {
		return nil, err
	}
	return r.Fields, nil
}

// exec runs a callback: fn with elid=id, sok=ok and extra parameters.
func (m *Mgrctl) exec(ctx context.Context, fn string, id int64, extra map[string]string) error {
	p := map[string]string{"elid": strconv.FormatInt(id, 10), "sok": "ok"}
	maps.Copy(p, extra)
	_, err := m.Call(ctx, fn, p)
	return err
}
