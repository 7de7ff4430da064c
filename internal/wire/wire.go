// Package wire holds the shape of the wire ledgers: for each panel, every
// function (mgr5 panels) or method and path (DCImanager 6) a client sends,
// the parameters it sends with it, the public source that shows the call,
// and whether that source confirms it or the project assumes it.
//
// The fakes check every call they receive against the ledger of their
// panel when a test runs them strict, so a client cannot send a function
// or a parameter nobody wrote down.
package wire

import (
	"slices"
	"strings"
)

// Status says how well a wire call is supported.
type Status string

const (
	// Confirmed: a public source (vendor documentation, the vendor's own
	// modules, another working client, a captured answer) shows the call
	// with these parameters.
	Confirmed Status = "confirmed"
	// Assumed: no public source shows it; Note says what was assumed and
	// why. Check it against a real panel before relying on it.
	Assumed Status = "assumed"
)

// Call is one ledger entry.
type Call struct {
	// Func is the mgr5 function ("server.edit"), or for DCImanager 6 the
	// method and the path below /api with {id} for numbers
	// ("POST /dci/v3/server/{id}/power_on").
	Func string
	// Params are the parameter names the client may send with it (mgr5
	// form fields; DCImanager 6 query parameters and JSON body fields).
	// The mgr5 protocol parameters (func, out, elid, plid, sok, su, lang,
	// authinfo, auth) are implied.
	Params []string
	// Status is Confirmed or Assumed.
	Status Status
	// Source names the public material that shows the call, as something
	// a reader can open: a vendor documentation page, or a repository and
	// file path.
	Source string
	// Note says in words what is assumed, or what the source shows.
	Note string
}

// Ledger is the list of calls of one panel.
type Ledger []Call

// Find returns the entry for fn.
func (l Ledger) Find(fn string) (Call, bool) {
	for _, c := range l {
		if c.Func == fn || (strings.Contains(c.Func, "{") && matchTemplate(c.Func, fn)) {
			return c, true
		}
	}
	return Call{}, false
}

// Problems returns, for a call of fn with params, what the ledger does
// not list; skip names parameters the protocol itself carries.
func (l Ledger) Problems(fn string, params []string, skip func(string) bool) []string {
	c, ok := l.Find(fn)
	if !ok {
		return []string{fn + " is not in the ledger"}
	}
	var out []string
	for _, p := range params {
		if (skip != nil && skip(p)) || slices.Contains(c.Params, p) {
			continue
		}
		out = append(out, fn+": parameter "+p+" is not in the ledger")
	}
	return out
}

// matchTemplate reports whether path matches tmpl, where each "{id}"
// segment of tmpl matches one segment of digits and any other "{name}"
// one non-empty segment.
func matchTemplate(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if ts[i] == "{id}" {
			if ps[i] == "" || strings.Trim(ps[i], "0123456789") != "" {
				return false
			}
			continue
		}
		if strings.HasPrefix(ts[i], "{") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

// MGR5Protocol reports whether name is a parameter of the mgr5 protocol
// itself rather than of one function.
func MGR5Protocol(name string) bool {
	switch name {
	case "func", "out", "elid", "plid", "sok", "su", "lang", "authinfo", "auth":
		return true
	}
	return false
}

// TB is the part of testing.TB the strict fakes use.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Cleanup(func())
}
