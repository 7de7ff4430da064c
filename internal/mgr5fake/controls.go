package mgr5fake

import (
	"time"

	"github.com/ispkit/ispkit/internal/wire"
)

// Controls are the test controls every fake mgr5 panel offers, written
// once: faults, the call log, sessions, strict mode and the one-row
// shape. The panel fakes (dcimanager5test, ipmanagertest, ispmanagertest)
// embed it, so their Server has these methods.
type Controls struct {
	core   *Server
	ledger wire.Ledger
}

// NewControls returns the controls of core, whose strict mode checks calls
// against ledger.
func NewControls(core *Server, ledger wire.Ledger) Controls {
	return Controls{core: core, ledger: ledger}
}

// Inject adds a fault; faults are consulted in the order added. Its Match
// is a function name ("" = every function).
func (c Controls) Inject(f Fault) { c.core.Inject(f) }

// ClearFaults removes every fault.
func (c Controls) ClearFaults() { c.core.ClearFaults() }

// SetFaultSeed reseeds the generator behind Fault.Probability, so a run
// with random faults replays exactly.
func (c Controls) SetFaultSeed(seed uint64) { c.core.SetFaultSeed(seed) }

// Calls returns a copy of the call log: every request, in arrival order,
// with its function, parameter names (never values), caller, the fault
// that hit it and whether its change was applied.
func (c Controls) Calls() []Call { return c.core.Calls() }

// CallCount returns how many calls of fn reached the panel function ("" =
// all), whatever their answer; faults that stop a call before the
// function do not count.
func (c Controls) CallCount(fn string) int { return c.core.CallCount(fn) }

// ResetCalls empties the call log.
func (c Controls) ResetCalls() { c.core.ResetCalls() }

// Requests returns the number of HTTP requests received.
func (c Controls) Requests() int64 { return c.core.Requests() }

// ExpireSessions ends every session, as a panel restart would.
func (c Controls) ExpireSessions() { c.core.ExpireSessions() }

// SetSessionTTL sets the idle lifetime of sessions (default one hour).
func (c Controls) SetSessionTTL(d time.Duration) { c.core.SetSessionTTL(d) }

// SessionCount returns the number of live sessions.
func (c Controls) SessionCount() int { return c.core.SessionCount() }

// SetStrict turns strict mode on or off: a function the fake does not
// model, and any parameter its function never read, are recorded (see
// Violations).
func (c Controls) SetStrict(on bool) { c.core.SetStrict(on) }

// Violations returns what strict mode recorded, in order.
func (c Controls) Violations() []Violation { return c.core.Violations() }

// SetOneRowArray chooses how out=json renders a list with one row: as an
// object (false, the default) or a one-item array (true). No public source
// settles which a real panel sends; clients must read both.
func (c Controls) SetOneRowArray(on bool) { c.core.SetOneRowArray(on) }

// Strict turns strict mode on for the rest of tb's test and, when the test
// ends, fails it (tb.Errorf) for every function or parameter the fake does
// not model and every call the client package's wire ledger (its Ledger
// function) does not list. The project's own tests run every fake this
// way.
func (c Controls) Strict(tb wire.TB) {
	tb.Helper()
	c.core.Enforce(tb, c.ledger)
}
