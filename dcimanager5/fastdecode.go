package dcimanager5

import (
	"encoding/json"
)

// A small scanner for the shape of mgr5 list rows, used for the server
// list (which can hold thousands of rows). It handles exactly the shapes of
// spec mgr5 §2.2 (leaf {"$":…,"$attr":…}, flag {}, repeated leaf as an
// array, bare strings) and reports failure on anything else, in which case
// the caller falls back to encoding/json. The input was already validated
// by encoding/json when the document was decoded.
type scanner struct {
	b []byte
	i int
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

func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// rawString returns the bytes of a string without quotes and whether it
// contains escapes.
func (s *scanner) rawString() (raw []byte, escaped bool, ok bool) {
	if s.peek() != '"' {
		return nil, false, false
	}
	start := s.i
	s.i++
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			escaped = true
			s.i += 2
			continue
		case '"':
			s.i++
			return s.b[start:s.i], escaped, true
		}
		s.i++
	}
	return nil, false, false
}

func (s *scanner) str() (string, bool) {
	raw, esc, ok := s.rawString()
	if !ok {
		return "", false
	}
	if !esc {
		return string(raw[1 : len(raw)-1]), true
	}
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", false
	}
	return out, true
}

// skip skips one value of any kind.
func (s *scanner) skip() bool {
	switch c := s.peek(); c {
	case '"':
		_, _, ok := s.rawString()
		return ok
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, _, ok := s.rawString(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	case 0:
		return false
	default:
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return true
			}
			s.i++
		}
		return true
	}
}

func (s *scanner) expect(c byte) bool {
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

// leaf reads a field value into t.
func (s *scanner) leaf(t *text) bool {
	switch s.peek() {
	case '{':
		s.i++
		if s.expect('}') {
			return true
		}
		for {
			k, esc, ok := s.rawString()
			if !ok || esc || !s.expect(':') {
				return false
			}
			switch string(k) {
			case `"$"`:
				if t.T, ok = s.str(); !ok {
					return false
				}
			case `"$orig"`:
				if t.Orig, ok = s.str(); !ok {
					return false
				}
			default:
				if !s.skip() {
					return false
				}
			}
			if s.expect(',') {
				continue
			}
			return s.expect('}')
		}
	case '[':
		s.i++
		if s.expect(']') {
			return true
		}
		if !s.leaf(t) {
			return false
		}
		for s.expect(',') {
			var ignored text
			if !s.leaf(&ignored) {
				return false
			}
		}
		return s.expect(']')
	case '"':
		var ok bool
		t.T, ok = s.str()
		return ok
	default:
		start := s.i
		if !s.skip() {
			return false
		}
		if lit := string(s.b[start:s.i]); lit != "null" {
			t.T = lit
		}
		return true
	}
}

func (s *scanner) flag(f *flag) bool {
	var t text
	start := s.i
	if !s.leaf(&t) {
		return false
	}
	raw := string(s.b[start:s.i])
	*f = flag(raw != "null" && t.T != "off")
	return true
}

// row reads one server row object.
func (s *scanner) row(w *wireServer) bool {
	if !s.expect('{') {
		return false
	}
	if s.expect('}') {
		return true
	}
	for {
		k, esc, ok := s.rawString()
		if !ok || esc || !s.expect(':') {
			return false
		}
		s.ws()
		switch string(k[1 : len(k)-1]) {
		case "id":
			ok = s.leaf(&w.ID)
		case "name":
			ok = s.leaf(&w.Name)
		case "hostname":
			ok = s.leaf(&w.Hostname)
		case "ip":
			ok = s.leaf(&w.IP)
		case "owner":
			ok = s.leaf(&w.Owner)
		case "chassis_templ":
			ok = s.leaf(&w.ChassisTempl)
		case "type":
			ok = s.leaf(&w.Type)
		case "gen_chassis_name":
			ok = s.leaf(&w.GenChassisName)
		case "rack":
			ok = s.leaf(&w.Rack)
		case "ipmi":
			ok = s.leaf(&w.IPMI)
		case "blocked":
			ok = s.flag(&w.Blocked)
		case "hwproblem":
			ok = s.flag(&w.HWProblem)
		case "diag_in_progress":
			ok = s.flag(&w.DiagInProgress)
		case "disabled":
			ok = s.flag(&w.Disabled)
		case "poweron":
			ok = s.flag(&w.PowerOn)
		case "poweroff":
			ok = s.flag(&w.PowerOff)
		case "powererror":
			ok = s.flag(&w.PowerError)
		case "install_in_progress":
			ok = s.flag(&w.InstallInProgress)
		case "operation_failed":
			ok = s.flag(&w.OperationFailed)
		default:
			ok = s.skip()
		}
		if !ok {
			return false
		}
		if s.expect(',') {
			continue
		}
		return s.expect('}')
	}
}

// fastServers decodes elem (one row object or an array of rows); ok is
// false when the input has a shape the scanner does not handle.
func fastServers(elem []byte) (out []Server, ok bool) {
	s := &scanner{b: elem}
	switch s.peek() {
	case '{':
		var w wireServer
		if !s.row(&w) {
			return nil, false
		}
		return []Server{w.server()}, true
	case '[':
		s.i++
		// Rows are about 400 bytes in out=json; guess the capacity.
		out = make([]Server, 0, len(elem)/300+1)
		if s.expect(']') {
			return out, true
		}
		for {
			var w wireServer
			if !s.row(&w) {
				return nil, false
			}
			out = append(out, w.server())
			if s.expect(',') {
				continue
			}
			return out, s.expect(']')
		}
	}
	return nil, false
}
