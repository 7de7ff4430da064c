package provision

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ProductState is what a product records about one operation
// (Operation.Data): *DedicatedState, *HostingState or *ColocationState.
// Read it with DecodeData.
type ProductState interface {
	common() *CommonState
	// serverID names the server the operation works on ("" when none);
	// events carry it.
	serverID() string
}

// CommonState is the part of every product's state the runner and the
// manual tasks use.
type CommonState struct {
	// Module is the processing module serving the operation.
	Module string `json:"module,omitempty"`
	// Error is the failure reason recorded by the failure step.
	Error string `json:"error,omitempty"`
	// Cause names the well-known error behind Error ("no_server",
	// "too_many_failures", …) so that Wait in another process matches it
	// with errors.Is.
	Cause string `json:"cause,omitempty"`
	// ManualTask is the reason of the manual task the operation raised.
	ManualTask string `json:"manual_task,omitempty"`
	// ManualResult is how staff resolved it: "completed" or "failed".
	ManualResult string `json:"manual_result,omitempty"`
}

func (c *CommonState) common() *CommonState { return c }
func (c *CommonState) serverID() string     { return "" }

// WaitStarts records when each wait of an operation began, so that its
// deadline continues from there after a crash, a restart or a step retry.
type WaitStarts struct {
	Power   time.Time `json:"power,omitzero"`
	Install time.Time `json:"install,omitzero"`
	Reach   time.Time `json:"reach,omitzero"`
	// Ports is when the wait for the switch ports to read back began
	// (Suspend, Unsuspend).
	Ports time.Time `json:"ports,omitzero"`
}

// errNewer: a record was written by a newer release; this one leaves the
// operation to it.
var errNewer = errors.New("written by a newer release than this one")

// dataVersion is the format of Operation.Data this release writes:
// {"v":2,"product":"<service kind>","state":{…}}. Version 1 (the first
// release) was a flat map of strings; decodeData reads both.
const dataVersion = 2

type dataEnvelope struct {
	V       int             `json:"v"`
	Product ServiceKind     `json:"product"`
	State   json.RawMessage `json:"state"`
}

// encodeData writes the envelope around the state (as json.Marshal of a
// dataEnvelope would, in one pass: it runs after every step).
func encodeData(p *product, st ProductState) (json.RawMessage, error) {
	state, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	kind, err := json.Marshal(p.kind)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(state)+len(kind)+32)
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, dataVersion, 10)
	b = append(b, `,"product":`...)
	b = append(b, kind...)
	b = append(b, `,"state":`...)
	b = append(b, state...)
	return append(b, '}'), nil
}

// DecodeData returns the state recorded in op.Data. It is nil for an
// operation recorded by an earlier release that has not run yet (its
// product is only known from the service).
func DecodeData(op *Operation) (ProductState, error) {
	p, st, err := decodeData(op, "")
	if p == nil {
		return nil, err
	}
	return st, err
}

// decodeData reads op.Data. kind (when known from the service) chooses the
// product of a version 1 record that did not name it; p is nil when the
// product is unknown.
func decodeData(op *Operation, kind ServiceKind) (*product, ProductState, error) {
	if isV2(op.Data) {
		var env dataEnvelope
		if err := json.Unmarshal(op.Data, &env); err != nil {
			return nil, nil, fmt.Errorf("provision: operation %s: data: %w", op.ID, err)
		}
		if env.V > dataVersion {
			return nil, nil, fmt.Errorf("provision: operation %s: data version %d: %w (%d)", op.ID, env.V, errNewer, dataVersion)
		}
		p := productOf(env.Product)
		if p == nil {
			return nil, nil, fmt.Errorf("provision: operation %s: unknown product %q", op.ID, env.Product)
		}
		st := p.newState()
		if len(env.State) > 0 && string(env.State) != "null" {
			if err := json.Unmarshal(env.State, st); err != nil {
				return nil, nil, fmt.Errorf("provision: operation %s: data: %w", op.ID, err)
			}
		}
		return p, st, nil
	}
	m, err := legacyMap(op.Data)
	if err != nil {
		return nil, nil, fmt.Errorf("provision: operation %s: data: %w", op.ID, err)
	}
	if k := m["service_kind"]; k != "" {
		kind = ServiceKind(k)
	}
	p := productOf(kind)
	if p == nil {
		return nil, nil, nil
	}
	st := p.newState()
	fromV1Common(st.common(), m)
	p.fromV1(st, m)
	return p, st, nil
}

// isV2 reports whether raw is a versioned envelope ({"v": <number>, …});
// a version 1 record is an object of strings, empty, or null.
func isV2(raw json.RawMessage) bool {
	var probe struct {
		V json.RawMessage `json:"v"`
	}
	if len(bytes.TrimSpace(raw)) == 0 || json.Unmarshal(raw, &probe) != nil || len(probe.V) == 0 {
		return false
	}
	var n int
	return json.Unmarshal(probe.V, &n) == nil
}

// legacyMap reads a version 1 record: a JSON object of strings (or null).
func legacyMap(raw json.RawMessage) (map[string]string, error) {
	m := map[string]string{}
	if len(bytes.TrimSpace(raw)) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}

// fromV1Common reads the keys every product shared in version 1.
func fromV1Common(c *CommonState, m map[string]string) {
	c.Module = m["module"]
	c.Error = m["error"]
	c.ManualTask = m["manual_task"]
	c.ManualResult = m["manual_result"]
}
