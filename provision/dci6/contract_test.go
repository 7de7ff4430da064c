package dci6_test

import (
	"testing"
	"time"

	"github.com/ispkit/ispkit/provision/backendtest"
)

// TestDedicatedContract runs the backend contract over the DCImanager 6
// fake (HTTP), on two free servers of its seeded location 1.
func TestDedicatedContract(t *testing.T) {
	backendtest.RunDedicated(t, func(t *testing.T) backendtest.Dedicated {
		e := newEnv(t, time.Hour, time.Millisecond)
		var free []string
		for _, m := range e.fake.Machines() {
			if m.LocationID == 1 && m.Configuration == confE2146 && e.fake.Available(m.ID) {
				free = append(free, sid(m.ID))
			}
		}
		if len(free) > 2 {
			free = free[:2]
		}
		return backendtest.Dedicated{Backend: e.b, Servers: free, Config: confE2146,
			OSTemplate: "1", IPGroup: "public", NoNotes: true}
	})
}
