// Package fakekit is the vocabulary every ispkit fake panel shares: the
// faults a test can inject (what, where, how often), the call log that
// records what reached the panel, and the transport-level tricks that
// simulate a lost answer.
//
// A fault matches a function (mgr5 panels: "user.add.finish") or a path
// (DCImanager 6: "POST /dci/v3/server/*"). It hits once, N times, until
// cleared, or each matching request with a probability drawn from a
// seeded generator, so a failing run replays exactly.
package fakekit

import (
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ispkit/ispkit/internal/mgr5"
)

// FaultKind says what an injected fault does, and whether the request's
// change is applied to the fake's state.
type FaultKind int

const (
	// NoFault marks a call that no fault touched.
	NoFault FaultKind = iota
	// FaultPanelError answers the panel's own error: a doc.error (mgr5
	// panels, Fault.Err) or a JSON error with Fault.Status and Fault.Code
	// (DCImanager 6). Not applied.
	FaultPanelError
	// FaultStatus answers HTTP Fault.Status (default 502) with an HTML
	// page, as a proxy in front of the panel does. Not applied.
	FaultStatus
	// FaultDropBefore closes the connection without reading on: the
	// request is not applied and the client gets a transport error.
	FaultDropBefore
	// FaultDropAfter applies the request, then closes the connection: the
	// change happened and the answer is lost.
	FaultDropAfter
	// FaultTruncated applies the request and sends only the first half of
	// the answer it announced (Content-Length), then closes.
	FaultTruncated
	// FaultMalformed answers 200 with a body that is not a panel
	// document. Not applied.
	FaultMalformed
	// FaultSlow applies the request and holds the answer back for
	// Fault.Delay, or until the client gives up when Delay is zero.
	FaultSlow
	// FaultExpiredSession ends the caller's session before the call: the
	// panel answers as it does for an expired session (mgr5: doc.error
	// type auth; DCImanager 6: 401, code 1000). Not applied; a client that
	// logs in again and repeats the call succeeds.
	FaultExpiredSession
)

var kindNames = [...]string{"none", "panel-error", "status", "drop-before", "drop-after", "truncated", "malformed", "slow", "expired-session"}

// String names the kind, e.g. "drop-after".
func (k FaultKind) String() string {
	if int(k) >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "fault(?)"
}

// Applies reports whether a request hit by a fault of this kind changes
// the fake's state.
func (k FaultKind) Applies() bool {
	return k == NoFault || k == FaultDropAfter || k == FaultTruncated || k == FaultSlow
}

// Fault is one injected failure.
type Fault struct {
	// Match selects the requests: a function name on the mgr5 panels
	// ("server.edit"), or on DCImanager 6 a path below /api, optionally
	// after a method ("POST /dci/v3/server/*"; a trailing "*" makes it a
	// prefix). Empty matches every request.
	Match string
	// Kind says what happens.
	Kind FaultKind
	// Times is how many requests the fault hits: 0 means once, a negative
	// number until ClearFaults.
	Times int
	// Probability, when above zero, makes each matching request a hit
	// with that probability (drawn from the seeded generator, see
	// Faults.SetSeed); Times still bounds the hits.
	Probability float64
	// Err is the doc.error of FaultPanelError on the mgr5 panels (default
	// type "xml", an internal error).
	Err *mgr5.Error
	// Status is the HTTP status of FaultStatus and, on DCImanager 6, of
	// FaultPanelError (default 500). RetryAfter is sent with it if set.
	Status     int
	RetryAfter string
	// Code and Msg are the DCImanager 6 error of FaultPanelError.
	Code int
	Msg  string
	// Delay is how long FaultSlow holds the answer (0: until the client
	// gives up).
	Delay time.Duration

	hits int
}

// Faults holds the injected faults of one fake.
type Faults struct {
	mu   sync.Mutex
	list []*Fault
	rnd  *rand.Rand
	// Match decides whether a fault's Match selects a request's key; nil
	// compares them for equality.
	match func(pattern, key string) bool
}

// NewFaults returns an empty set; match decides whether a pattern selects
// a key (nil: equality).
func NewFaults(match func(pattern, key string) bool) *Faults {
	return &Faults{rnd: rand.New(rand.NewPCG(1, 2)), match: match}
}

// Add injects f; faults are consulted in the order added.
func (fs *Faults) Add(f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	f.hits = 0
	fs.list = append(fs.list, &f)
}

// Clear removes every fault.
func (fs *Faults) Clear() {
	fs.mu.Lock()
	fs.list = nil
	fs.mu.Unlock()
}

// SetSeed reseeds the generator behind Fault.Probability.
func (fs *Faults) SetSeed(seed uint64) {
	fs.mu.Lock()
	fs.rnd = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	fs.mu.Unlock()
}

// Take returns the fault that hits a request with key, counting the hit,
// or nil.
func (fs *Faults) Take(key string) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i := 0; i < len(fs.list); i++ {
		f := fs.list[i]
		if f.Match != "" && !fs.matches(f.Match, key) {
			continue
		}
		if f.Probability > 0 && fs.rnd.Float64() >= f.Probability {
			continue
		}
		f.hits++
		out := *f
		if f.Times > 0 && f.hits >= f.Times {
			fs.list = slices.Delete(fs.list, i, i+1)
		}
		return &out
	}
	return nil
}

func (fs *Faults) matches(pattern, key string) bool {
	if fs.match != nil {
		return fs.match(pattern, key)
	}
	return pattern == key
}

// MatchPath is the matcher of path-based fakes: pattern is "[METHOD ]path"
// with an optional trailing "*", key is "METHOD path".
func MatchPath(pattern, key string) bool {
	method, path, _ := strings.Cut(key, " ")
	if m, p, ok := strings.Cut(pattern, " "); ok {
		if !strings.EqualFold(m, method) {
			return false
		}
		pattern = p
	}
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(path, p)
	}
	return pattern == path
}

// Call is one request as the fake saw it, in arrival order.
type Call struct {
	// Seq numbers the calls from 1.
	Seq int
	// Func is the mgr5 function, or "METHOD /path" on DCImanager 6 (the
	// path below /api).
	Func string
	// Params are the names of the parameters sent (query, form or JSON
	// body), sorted; values are never kept: they may be passwords.
	Params []string
	// Caller is the authenticated login ("" before authentication); Su
	// and Elid are the mgr5 su= and elid= values.
	Caller, Su, Elid string
	// Fault is the injected fault that hit the call (NoFault if none).
	Fault FaultKind
	// Handled is true when the call reached the panel function (its
	// answer may still be the panel's error).
	Handled bool
	// Applied is true when the fake ran the function to completion: a
	// write's change is in the fake's state (whether or not the client
	// heard the answer).
	Applied bool
	// Status is the HTTP status sent (0 when the connection was dropped).
	Status int
	// At is when the call arrived, by the fake's clock.
	At time.Time
}

// Log is a fake's call log.
type Log struct {
	mu    sync.Mutex
	calls []Call
}

// Add appends c, numbering it, and returns its index for Update.
func (l *Log) Add(c Call) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.Seq = len(l.calls) + 1
	l.calls = append(l.calls, c)
	return len(l.calls) - 1
}

// Update changes the entry at index i.
func (l *Log) Update(i int, fn func(*Call)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i >= 0 && i < len(l.calls) {
		fn(&l.calls[i])
	}
}

// Calls returns a copy of the log.
func (l *Log) Calls() []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Call, len(l.calls))
	for i, c := range l.calls {
		c.Params = slices.Clone(c.Params)
		out[i] = c
	}
	return out
}

// Count returns how many calls of fn reached the panel function ("" =
// all), whatever their answer.
func (l *Log) Count(fn string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.calls {
		if c.Handled && (fn == "" || c.Func == fn) {
			n++
		}
	}
	return n
}

// Reset empties the log.
func (l *Log) Reset() {
	l.mu.Lock()
	l.calls = nil
	l.mu.Unlock()
}

// ParamNames returns the sorted names of a request's parameters.
func ParamNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Drop closes the client's connection at once, without an answer.
func Drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// WriteTruncated announces body in full (Content-Length) but sends only
// its first half, then closes the connection.
func WriteTruncated(w http.ResponseWriter, status int, header http.Header, body []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	_ = buf // nothing buffered is kept: the answer is written to conn
	var b strings.Builder
	b.WriteString("HTTP/1.1 ")
	b.WriteString(itoa(status))
	b.WriteString(" ")
	b.WriteString(http.StatusText(status))
	b.WriteString("\r\n")
	for k, vs := range header {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("Content-Length: " + itoa(len(body)) + "\r\nConnection: close\r\n\r\n")
	_, _ = conn.Write([]byte(b.String()))
	_, _ = conn.Write(body[:len(body)/2])
}

func itoa(n int) string { return strconv.Itoa(n) }

// MalformedBody is the 200 answer of FaultMalformed: the start of an HTML
// error page where a document was expected.
const MalformedBody = "<html><head><title>Bad Gateway</title></head><body><h1>Bad Gat"

// StatusPage is the HTML page of FaultStatus.
func StatusPage(status int) []byte {
	return []byte("<html><body><h1>" + itoa(status) + " " + http.StatusText(status) + "</h1></body></html>")
}

// Hold waits for d (or, when d is zero, until done closes), or until
// the request's client gives up (ctxDone).
func Hold(d time.Duration, ctxDone, done <-chan struct{}) {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-timer:
	case <-ctxDone:
	case <-done:
	}
}

// ParseFaultKind returns the kind named by String ("drop-after"), for
// tools that read faults as text.
func ParseFaultKind(name string) (FaultKind, bool) {
	for i, n := range kindNames {
		if i > 0 && n == name {
			return FaultKind(i), true
		}
	}
	return NoFault, false
}

// FaultKindNames lists the names ParseFaultKind accepts.
func FaultKindNames() []string { return append([]string(nil), kindNames[1:]...) }

// MarshalText encodes the kind by name ("drop-after"), so call logs read
// well as JSON.
func (k FaultKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }
