package provision

import (
	"errors"
	"fmt"
)

// faultClass is what a failed step's error says about whose fault it is.
// classify is the one place errors are mapped to classes; a product's
// policy maps classes (per phase or step) to actions.
type faultClass int

const (
	// classTransient: anything not known to be final (a transport error,
	// a panel answer that may change); the step is retried in place.
	classTransient faultClass = iota + 1
	// classServer: the server the operation works on failed (its install
	// failed, it did not power on, it does not answer).
	classServer
	// classOrder: the request or the configuration is at fault (a bad
	// value, a refused state change); retrying cannot help.
	classOrder
	// classPanel: the panel (module) itself cannot serve now
	// (ErrPanelUnavailable, or what its FaultClassifier calls a panel
	// fault).
	classPanel
	// classInDoubt: a call may have taken effect and the panel cannot tell
	// now; nothing else may happen before it can.
	classInDoubt
	// classBug: a step broke its graph (an undeclared transition).
	classBug
)

func (c faultClass) String() string {
	switch c {
	case classTransient:
		return "transient"
	case classServer:
		return "server"
	case classOrder:
		return "order"
	case classPanel:
		return "panel"
	case classInDoubt:
		return "in doubt"
	case classBug:
		return "bug"
	}
	return fmt.Sprintf("faultClass(%d)", int(c))
}

// retried reports whether a step failing with class c is retried in place
// (Config.StepRetries times) before its policy applies.
func (c faultClass) retried() bool {
	return c == classTransient || c == classPanel || c == classInDoubt
}

// classify maps a step's error to its class.
func classify(err error) faultClass {
	var (
		doubt *inDoubtError
		panel *panelFault
		srv   *serverFailure
		perm  *permanentError
		bug   *transitionError
	)
	switch {
	case errors.As(err, &bug):
		return classBug
	case errors.As(err, &doubt):
		return classInDoubt
	case errors.As(err, &panel), errors.Is(err, ErrPanelUnavailable):
		return classPanel
	case errors.As(err, &srv):
		return classServer
	case errors.As(err, &perm), errors.Is(err, ErrInvalidRequest):
		return classOrder
	}
	return classTransient
}

// permanentError marks an error that retrying the step cannot fix (the
// order's or the configuration's).
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

func permanent(err error) error { return &permanentError{err} }

// serverFailure is a failure of the server being worked on. timedOut:
// a wait ran out; stop: the order stops after this server's roll-back
// (cause, when set, is what it fails with).
type serverFailure struct {
	reason   string
	timedOut bool
	stop     bool
	cause    error
}

func (s *serverFailure) Error() string { return s.reason }
func (s *serverFailure) Unwrap() error { return s.cause }

func serverFailed(format string, args ...any) error {
	return &serverFailure{reason: fmt.Sprintf(format, args...)}
}

// panelFault is a failure of the panel (module) itself, not of the
// request: after the step's retries a hosting Open tries the next module.
type panelFault struct{ err error }

func (m *panelFault) Error() string { return m.err.Error() }
func (m *panelFault) Unwrap() error { return m.err }

// inDoubtError: a call may have taken effect and the panel cannot tell
// now. The run is interrupted and the operation resumed later.
type inDoubtError struct{ err error }

func (c *inDoubtError) Error() string { return c.err.Error() }
func (c *inDoubtError) Unwrap() error { return c.err }

// transitionError: a step returned a step its graph does not declare.
type transitionError struct{ from, to step }

func (t *transitionError) Error() string {
	return fmt.Sprintf("step %s went to %s, which its graph does not declare", t.from, t.to)
}

// isPanelFault reports whether err is backend b's own failure, for which
// another module may serve the order: ErrPanelUnavailable, or what b's
// FaultClassifier says. A value error, a name collision or anything else
// is the request's and is not.
func isPanelFault(b any, err error) bool {
	if errors.Is(err, ErrPanelUnavailable) {
		return true
	}
	if fc, ok := b.(FaultClassifier); ok {
		return fc.IsPanelFault(err)
	}
	return false
}

// mayHaveHappened reports whether a failed call to backend b may still
// have taken effect. ErrPanelUnavailable says it did not; a backend
// without a FaultClassifier is assumed unsure.
func mayHaveHappened(b any, err error) bool {
	if errors.Is(err, ErrPanelUnavailable) {
		return false
	}
	if fc, ok := b.(FaultClassifier); ok {
		return fc.MayHaveHappened(err)
	}
	return true
}
