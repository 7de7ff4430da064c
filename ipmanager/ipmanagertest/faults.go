package ipmanagertest

import (
	"github.com/ispkit/ispkit/internal/wire"
	"time"

	"github.com/ispkit/ispkit/internal/fakekit"
	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/internal/mgr5fake"
)

// The fault, call-log and strict-mode vocabulary is the same in every
// ispkit fake panel (dcimanager5test, dcimanager6test, ipmanagertest,
// ispmanagertest).

// Fault is one injected failure: what (Kind), where (Match: a function
// name such as "user.edit", "" for every function) and how often (Times,
// or Probability drawn from the generator seeded by SetFaultSeed).
type Fault = fakekit.Fault

// FaultKind says what a Fault does, and whether the request's change is
// applied (FaultKind.Applies).
type FaultKind = fakekit.FaultKind

// Fault kinds.
const (
	// FaultPanelError answers Fault.Err as doc.error (HTTP 200); not applied.
	FaultPanelError = fakekit.FaultPanelError
	// FaultStatus answers HTTP Fault.Status (default 502) with an HTML
	// page, as a proxy does; not applied.
	FaultStatus = fakekit.FaultStatus
	// FaultDropBefore closes the connection before the change: not applied.
	FaultDropBefore = fakekit.FaultDropBefore
	// FaultDropAfter applies the change, then closes the connection: the
	// answer is lost.
	FaultDropAfter = fakekit.FaultDropAfter
	// FaultTruncated applies the change and sends half of the answer.
	FaultTruncated = fakekit.FaultTruncated
	// FaultMalformed answers 200 with a body that is not a document; not
	// applied.
	FaultMalformed = fakekit.FaultMalformed
	// FaultSlow applies the change and holds the answer for Fault.Delay
	// (or until the client gives up).
	FaultSlow = fakekit.FaultSlow
	// FaultExpiredSession ends the caller's session (auth=) before the
	// call: the panel answers its auth error and nothing is applied. Calls
	// with authinfo carry no session and pass.
	FaultExpiredSession = fakekit.FaultExpiredSession
)

// PanelError is the doc.error of FaultPanelError (Type, Object, Value,
// Message); it is the client package's Error type.
type PanelError = mgr5.Error

// Call is one request in the call log: function, parameter names (never
// values), caller, the fault that hit it and whether its change was
// applied.
type Call = fakekit.Call

// Violation is what strict mode refused: a function the fake does not
// model, or a parameter its function never read.
type Violation = mgr5fake.Violation

// Inject adds a fault; faults are consulted in the order added.
func (s *Server) Inject(f Fault) { s.core.Inject(f) }

// ClearFaults removes every fault.
func (s *Server) ClearFaults() { s.core.ClearFaults() }

// SetFaultSeed reseeds the generator behind Fault.Probability, so a run
// with random faults replays exactly.
func (s *Server) SetFaultSeed(seed uint64) { s.core.SetFaultSeed(seed) }

// Calls returns a copy of the call log: every request, in arrival order.
func (s *Server) Calls() []Call { return s.core.Calls() }

// CallCount returns how many calls of fn reached the panel function ("" =
// all), whatever their answer; faults that stop a call before the
// function do not count.
func (s *Server) CallCount(fn string) int { return s.core.CallCount(fn) }

// ResetCalls empties the call log.
func (s *Server) ResetCalls() { s.core.ResetCalls() }

// Requests returns the number of HTTP requests received.
func (s *Server) Requests() int64 { return s.core.Requests() }

// ExpireSessions ends every session, as a panel restart would.
func (s *Server) ExpireSessions() { s.core.ExpireSessions() }

// SetSessionTTL sets the idle lifetime of sessions (default one hour).
func (s *Server) SetSessionTTL(d time.Duration) { s.core.SetSessionTTL(d) }

// SessionCount returns the number of live sessions.
func (s *Server) SessionCount() int { return s.core.SessionCount() }

// SetStrict turns strict mode on or off. In strict mode a function the
// fake does not model, and any parameter its function never read, are
// recorded (see Violations): a client that sends what the real panel
// would ignore can then fail its test. The project's own tests run
// strict.
func (s *Server) SetStrict(on bool) { s.core.SetStrict(on) }

// Violations returns what strict mode recorded, in order.
func (s *Server) Violations() []Violation { return s.core.Violations() }

// SetOneRowArray chooses how out=json renders a list with one row: as an
// object (false, the default) or a one-item array (true). No public source
// settles which a real panel sends; clients must read both.
func (s *Server) SetOneRowArray(on bool) { s.core.SetOneRowArray(on) }

// TB is the part of testing.TB that Strict uses.
type TB = wire.TB

// Strict turns strict mode on for the rest of tb's test and, when the test
// ends, fails it (tb.Errorf) for every function or parameter the fake does
// not model and every call that ipmanager.Ledger does not list. The
// project's own tests run every fake this way.
func (s *Server) Strict(tb TB) {
	tb.Helper()
	s.core.Enforce(tb, wire.IPmanager)
}
