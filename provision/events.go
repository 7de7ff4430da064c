package provision

import (
	"time"

	"github.com/ispkit/ispkit/billing"
)

// EventType classifies progress events.
type EventType string

// Event types.
const (
	// EventStepStarted: a step is about to run (Step names it).
	EventStepStarted EventType = "step_started"
	// EventStepFinished: a step finished. Its result is recorded, or, for
	// a step that only read the panel, carried by the next record (the
	// run resumes before it after a crash and reads again).
	EventStepFinished EventType = "step_finished"
	// EventInstallProgress: the OS install progressed (Percent, -1 when the
	// panel does not report a percentage).
	EventInstallProgress EventType = "install_progress"
	// EventServerFailed: a server failed during Open (Error says why); it
	// is disabled with the reason in its notes and the next server is
	// tried.
	EventServerFailed EventType = "server_failed"
	// EventManualTask: work was handed to a department (Task).
	EventManualTask EventType = "manual_task"
	// EventWelcome: the service became Active for the first time; send the
	// welcome message (Properties holds what the customer got).
	EventWelcome EventType = "welcome"
	// EventOperationDone: the operation finished successfully.
	EventOperationDone EventType = "operation_done"
	// EventOperationFailed: the operation failed (Error says why).
	EventOperationFailed EventType = "operation_failed"
)

// Event is one progress notification. Subscribers receive it synchronously
// on the goroutine running the operation, so they must return quickly and
// must not call the engine's synchronous helpers.
type Event struct {
	Type        EventType
	Time        time.Time
	OperationID string
	ServiceID   string
	Kind        OperationKind
	// Step is the step concerned (step events).
	Step string
	// Module and ServerID name the backend and server involved, when known.
	Module   string
	ServerID string
	// Percent is the OS install progress (EventInstallProgress).
	Percent int
	// Error is the failure reason (EventServerFailed, EventOperationFailed).
	Error string
	// Task is the manual task (EventManualTask).
	Task *billing.ManualTask
	// Properties are the service's properties (EventWelcome).
	Properties map[string]string
}

// Subscribe registers fn for every event of this engine and returns a
// function that removes it.
func (e *Engine) Subscribe(fn func(Event)) (unsubscribe func()) {
	e.subMu.Lock()
	e.subSeq++
	id := e.subSeq
	e.subs[id] = fn
	e.subMu.Unlock()
	return func() {
		e.subMu.Lock()
		delete(e.subs, id)
		e.subMu.Unlock()
	}
}

// listening reports whether anyone subscribed to the engine's events: the
// progress of an install is read from the panel only then.
func (e *Engine) listening() bool {
	e.subMu.RLock()
	defer e.subMu.RUnlock()
	return len(e.subs) > 0
}

func (e *Engine) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	e.subMu.RLock()
	fns := make([]func(Event), 0, len(e.subs))
	for _, fn := range e.subs {
		fns = append(fns, fn)
	}
	e.subMu.RUnlock()
	for _, fn := range fns {
		fn(ev)
	}
	e.notifyFailure(ev)
}
