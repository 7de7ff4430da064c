package dcimanager5

import (
	"strings"

	"github.com/ispkit/ispkit/internal/mgr5"
)

// The server list (thousands of rows) is read by the shared mgr5 list
// scanner (internal/mgr5/fastlist.go), the same one behind mgr5.DecodeList
// and Doc.Rows; there is no private scanner here any more.
//
// Decision (measured with go test -bench DecodeServers10k -count 6 on the
// 10,000-row body, elem step only): generic []mgr5.Row plus a conversion of
// each row (BenchmarkDecodeServers10kElemRowsConvert) costs ~4.5 µs,
// 16.3 allocs and ~2.6 KB per row, because every row becomes a map first;
// visiting the fields straight into wireServer
// (BenchmarkDecodeServers10kElemVisitor) costs ~1.8 µs, 11.3 allocs and
// ~350 B per row. That is 2.5x, so dcimanager5 keeps a specialised
// consumer — a mgr5.RowVisitor, not a scanner: the JSON grammar, escapes,
// validation and the fallback rules live only in mgr5.

// serverRows collects servers from mgr5.ScanElem.
type serverRows struct {
	out  []Server
	cur  wireServer
	open bool
}

func (r *serverRows) Row(bool) {
	r.flush()
	r.cur, r.open = wireServer{}, true
}

func (r *serverRows) flush() {
	if r.open {
		r.out = append(r.out, r.cur.server())
		r.open = false
	}
}

func textOf(v mgr5.Value) text { return text{T: v.Text, Orig: v.Orig} }

// flagOf is flag.UnmarshalJSON on a decoded value.
func flagOf(v mgr5.Value) flag { return flag(v.Present && v.Text != "off") }

// serverFields are wireServer's JSON names. encoding/json matches them
// case-insensitively; the visitor maps exact names only and gives any
// other spelling back to encoding/json.
var serverFields = [...]string{
	"id", "name", "hostname", "ip", "owner", "chassis_templ", "type", "gen_chassis_name", "rack", "ipmi",
	"blocked", "hwproblem", "diag_in_progress", "disabled", "poweron", "poweroff", "powererror",
	"install_in_progress", "operation_failed",
}

func (r *serverRows) Field(name string, v mgr5.Value) bool {
	w := &r.cur
	switch name {
	case "id":
		w.ID = textOf(v)
	case "name":
		w.Name = textOf(v)
	case "hostname":
		w.Hostname = textOf(v)
	case "ip":
		w.IP = textOf(v)
	case "owner":
		w.Owner = textOf(v)
	case "chassis_templ":
		w.ChassisTempl = textOf(v)
	case "type":
		w.Type = textOf(v)
	case "gen_chassis_name":
		w.GenChassisName = textOf(v)
	case "rack":
		w.Rack = textOf(v)
	case "ipmi":
		w.IPMI = textOf(v)
	case "blocked":
		w.Blocked = flagOf(v)
	case "hwproblem":
		w.HWProblem = flagOf(v)
	case "diag_in_progress":
		w.DiagInProgress = flagOf(v)
	case "disabled":
		w.Disabled = flagOf(v)
	case "poweron":
		w.PowerOn = flagOf(v)
	case "poweroff":
		w.PowerOff = flagOf(v)
	case "powererror":
		w.PowerError = flagOf(v)
	case "install_in_progress":
		w.InstallInProgress = flagOf(v)
	case "operation_failed":
		w.OperationFailed = flagOf(v)
	default:
		for _, f := range serverFields {
			if strings.EqualFold(name, f) {
				return false
			}
		}
	}
	return true
}

// fastServers decodes elem (one row object, an array of rows or null)
// with the shared scanner; ok is false when the input has a shape the
// scanner does not handle, and the caller falls back to encoding/json
// (elems[wireServer]), which gives the same result for every shape the
// scanner accepts.
func fastServers(elem []byte) (out []Server, ok bool) {
	r := serverRows{out: make([]Server, 0, len(elem)/300+1)}
	if !mgr5.ScanElem(elem, &r) {
		return nil, false
	}
	r.flush()
	if len(r.out) == 0 && isNullJSON(elem) {
		return nil, true
	}
	return r.out, true
}

// fastServerList decodes a whole server list body ({"doc":{"elem":…}}) in
// one pass with mgr5.ScanListBody. It gives what mgr5.Decode plus
// decodeServers give — nil for a missing or null elem, an empty slice for
// [] — and ok is false for everything else: a shape the scanner does not
// handle, a body that is not a document, and a doc.error (which
// mgr5.Decode reports).
func fastServerList(body []byte) (out []Server, ok bool) {
	// A server row is about 300 bytes of JSON: dividing by a little less
	// over-allocates slightly instead of growing (copying) the result.
	r := serverRows{out: make([]Server, 0, len(body)/256+1)}
	elem, errRaw, ok := mgr5.ScanListBody(body, &r)
	if !ok || (errRaw != nil && !isNullJSON(errRaw)) {
		return nil, false
	}
	r.flush()
	if elem == nil || isNullJSON(elem) {
		return nil, true
	}
	return r.out, true
}

func isNullJSON(b []byte) bool {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return len(b) >= 4 && string(b[:4]) == "null"
}
