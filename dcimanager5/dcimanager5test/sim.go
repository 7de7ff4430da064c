package dcimanager5test

import (
	"net/http"
	"time"
)

// Durations are how long the fake's timed operations take. A simulator
// changes them while it runs (SetDurations); tests usually give them at
// construction (WithPowerDuration, WithInstallDuration,
// WithConnectionDuration) or drive a ManualClock.
type Durations struct {
	// Power is the length of a power on, off or reboot.
	Power time.Duration `json:"power"`
	// Install is the length of an OS installation.
	Install time.Duration `json:"install"`
	// Switch is how long a switch-port command keeps func_in_progress.
	Switch time.Duration `json:"switch"`
}

// SetDurations changes the durations of operations started from now on;
// a zero or negative field leaves that duration as it is.
func (s *Server) SetDurations(d Durations) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.Power > 0 {
		s.opts.power = d.Power
	}
	if d.Install > 0 {
		s.opts.install = d.Install
	}
	if d.Switch > 0 {
		s.opts.conn = d.Switch
	}
}

// Durations returns the current durations of the timed operations.
func (s *Server) Durations() Durations {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Durations{Power: s.opts.power, Install: s.opts.install, Switch: s.opts.conn}
}

// Handler returns the panel as an http.Handler (the entry point path
// included), for serving it on a listener of one's own, as the ispkit
// command's simulator does. The fake's own server keeps running until
// Close.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }
