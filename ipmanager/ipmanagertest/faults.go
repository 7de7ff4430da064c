package ipmanagertest

import (
	"github.com/ispkit/ispkit/internal/fakekit"
	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/internal/mgr5fake"
	"github.com/ispkit/ispkit/internal/wire"
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

// TB is the part of testing.TB that Strict uses.
type TB = wire.TB
