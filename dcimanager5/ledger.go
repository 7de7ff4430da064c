package dcimanager5

import "github.com/ispkit/ispkit/internal/wire"

// WireCall is one entry of the wire ledger: a call the client sends, its
// parameters, the public source that shows it, and whether that source
// confirms it or the call is assumed (Note says what).
type WireCall = wire.Call

// Wire statuses.
const (
	Confirmed = wire.Confirmed
	Assumed   = wire.Assumed
)

// Ledger returns the wire ledger of the client: every call it can send.
// The fakes fail a strict test when the client sends anything else.
func Ledger() []WireCall { return append([]WireCall(nil), wire.DCImanager5...) }
