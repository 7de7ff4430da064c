package dcimanager6test

import (
	"github.com/ispkit/ispkit/internal/fakekit"
	"github.com/ispkit/ispkit/internal/mgr5fake"
	"github.com/ispkit/ispkit/internal/wire"
)

// The fault, call-log and strict-mode vocabulary is the same in every
// ispkit fake panel (dcimanager5test, dcimanager6test, ipmanagertest,
// ispmanagertest).

// Fault is one injected failure: what (Kind), where (Match: "[METHOD
// ]/path" below /api, a trailing "*" for a prefix, "" for every request)
// and how often (Times, or Probability drawn from the generator seeded by
// WithSeed or SetFaultSeed). FaultPanelError answers {"error":{"code":
// Code,"msg":Msg}} with Status (default 500).
type Fault = fakekit.Fault

// FaultKind says what a Fault does, and whether the request's change is
// applied (FaultKind.Applies).
type FaultKind = fakekit.FaultKind

// Fault kinds.
const (
	// FaultPanelError answers the panel's JSON error; not applied.
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
	// FaultMalformed answers 200 with a body that is not JSON; not applied.
	FaultMalformed = fakekit.FaultMalformed
	// FaultSlow applies the change and holds the answer for Fault.Delay
	// (or until the client gives up).
	FaultSlow = fakekit.FaultSlow
	// FaultExpiredSession ends the caller's token before the call: 401
	// with code 1000, nothing applied.
	FaultExpiredSession = fakekit.FaultExpiredSession
)

// Call is one request in the call log: "METHOD /path", the names of the
// query parameters and body fields (never values), the fault that hit it
// and whether its change was applied.
type Call = fakekit.Call

// Violation is what strict mode recorded: Func is "METHOD /path"; Param
// names the query parameter or body field the route does not model, or
// is empty for a path the fake does not route.
type Violation = mgr5fake.Violation

// TB is the part of testing.TB that Strict uses.
type TB = wire.TB

// Strict turns strict mode on for the rest of tb's test and, when the test
// ends, fails it (tb.Errorf) for every path, query parameter or body field
// the fake does not model and every call that dcimanager6.Ledger does not
// list. The project's own tests run every fake this way.
func (s *Server) Strict(tb TB) {
	tb.Helper()
	s.SetStrict(true)
	tb.Cleanup(func() {
		for _, v := range s.Violations() {
			tb.Errorf("strict fake: the fake does not model %s", v)
		}
		mgr5fake.CheckLedger(tb, wire.DCImanager6, s.Calls(), nil)
	})
}
