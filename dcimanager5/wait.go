package dcimanager5

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ispkit/ispkit/internal/wait"
)

// WaitOptions tune a waiter. The zero value uses the client's poll interval
// (WithPollInterval) and the context as the only deadline.
type WaitOptions struct {
	// Interval is the first pause between polls; later pauses grow with
	// full-jitter exponential backoff up to MaxInterval.
	Interval time.Duration
	// MaxInterval caps the pause between polls.
	MaxInterval time.Duration
	// Timeout, when positive, bounds the wait in addition to the context.
	Timeout time.Duration
	// MaxPollErrors is how many consecutive failed polls (transport or
	// protocol errors) are tolerated; default 3. Panel errors (*Error) and
	// a server missing from the list end the wait at once.
	MaxPollErrors int
	// OnProgress, when set, is called with the server row after every
	// successful poll.
	OnProgress func(Server)
}

func (s *ServersService) waitOpts(o *WaitOptions) WaitOptions {
	var w WaitOptions
	if o != nil {
		w = *o
	}
	if w.Interval <= 0 {
		w.Interval = s.c.pollMin
	}
	if w.MaxInterval <= 0 {
		w.MaxInterval = s.c.pollMax
	}
	if w.MaxInterval < w.Interval {
		w.MaxInterval = w.Interval
	}
	if w.MaxPollErrors <= 0 {
		w.MaxPollErrors = 3
	}
	return w
}

// Condition inspects a server row during a wait: done ends the wait with
// success; a non-nil error ends it with that error; otherwise pending
// describes what is still awaited (used in the timeout error).
type Condition func(Server) (done bool, pending string, err error)

// WaitFor polls the server list until cond reports done for server id,
// cond fails, or the context ends. what names the wait in errors. It
// returns the last row seen.
//
// Calls func=server on every poll.
func (s *ServersService) WaitFor(ctx context.Context, id int64, what string, cond Condition, o *WaitOptions) (*Server, error) {
	if err := checkID("Servers.WaitFor", "id", id); err != nil {
		return nil, err
	}
	if cond == nil {
		return nil, argErr("Servers.WaitFor", "cond", "nil")
	}
	w := s.waitOpts(o)
	var last *Server
	pending := "first poll"
	polls, err := w.poll(ctx, s.c.clock, what, func(ctx context.Context) (bool, error) {
		sv, err := s.Get(ctx, id)
		if err != nil {
			return false, err
		}
		last = sv
		if w.OnProgress != nil {
			w.OnProgress(*sv)
		}
		done, p, cerr := cond(*sv)
		if cerr != nil {
			return false, &condFailure{cerr}
		}
		pending = p
		return done, nil
	})
	return last, waitErr(polls, err, what, id, pending)
}

// condFailure carries an error of the wait's own condition (not of the
// poll), which ends the wait and is returned as it is.
type condFailure struct{ err error }

func (c *condFailure) Error() string { return c.err.Error() }

// poll runs check on the shared polling loop (internal/wait), pausing on
// clock (nil: the wall clock): backoff from Interval to MaxInterval,
// Timeout, and up to MaxPollErrors consecutive failed polls (transport or
// protocol errors).
func (w WaitOptions) poll(ctx context.Context, clock wait.Clock, what string, check func(context.Context) (bool, error)) (polls int, err error) {
	if w.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.Timeout)
		defer cancel()
	}
	_, err = wait.Until(ctx, wait.Options{
		What:         what,
		Clock:        clock,
		Timeout:      w.Timeout,
		Schedule:     wait.Backoff(w.Interval, w.MaxInterval),
		MaxTransient: w.MaxPollErrors - 1,
		Transient: func(err error) bool {
			_, cond := err.(*condFailure)
			return !cond && !isFatalPollError(err)
		},
	}, func(ctx context.Context) (struct{}, bool, error) {
		polls++
		done, err := check(ctx)
		return struct{}{}, done, err
	})
	return polls, err
}

// waitErr maps the outcome of poll to the waiters' errors: a condition's
// own error as it is, anything else in a *WaitError.
func waitErr(polls int, err error, what string, id int64, pending string) error {
	if err == nil {
		return nil
	}
	if cf, ok := err.(*condFailure); ok {
		return cf.err
	}
	we := &WaitError{What: what, ServerID: id, Pending: pending, Polls: polls, Err: err}
	var e *wait.Error
	if errors.As(err, &e) {
		if e.Reason != wait.TimedOut {
			we.Err = e.Err // the context's error, or the last failed poll
		}
	}
	return we
}

func isFatalPollError(err error) bool {
	var pe *Error
	var ae *ArgumentError
	return errors.As(err, &pe) || errors.As(err, &ae) || errors.Is(err, ErrNotFound)
}

// WaitPoweredOn waits until server id shows the poweron flag. It fails at
// once with *PowerError when powererror appears.
//
// Calls func=server on every poll.
func (s *ServersService) WaitPoweredOn(ctx context.Context, id int64, o *WaitOptions) (*Server, error) {
	return s.WaitFor(ctx, id, "power on", func(sv Server) (bool, string, error) {
		if sv.PowerError {
			return false, "", &PowerError{ServerID: id, Server: sv}
		}
		return sv.PowerOn, "poweron not set", nil
	}, o)
}

// WaitPoweredOff waits until server id shows the poweroff flag. It fails
// at once with *PowerError when powererror appears (the WHMCS module
// accepts powererror as the end of a power-off; check errors.As if you do
// too).
//
// Calls func=server on every poll.
func (s *ServersService) WaitPoweredOff(ctx context.Context, id int64, o *WaitOptions) (*Server, error) {
	return s.WaitFor(ctx, id, "power off", func(sv Server) (bool, string, error) {
		if sv.PowerError {
			return false, "", &PowerError{ServerID: id, Server: sv}
		}
		return sv.PowerOff, "poweroff not set", nil
	}, o)
}

// WaitInstalled waits until the OS installation on server id has finished:
// the row shows neither install_in_progress nor operation_failed. Unlike
// the WHMCS module, which only notices a failure when its timeout expires,
// it returns *InstallFailedError as soon as operation_failed appears.
//
// Calls func=server on every poll.
func (s *ServersService) WaitInstalled(ctx context.Context, id int64, o *WaitOptions) (*Server, error) {
	return s.WaitFor(ctx, id, "install", func(sv Server) (bool, string, error) {
		if sv.OperationFailed {
			return false, "", &InstallFailedError{ServerID: id, Server: sv}
		}
		return !sv.InstallInProgress, "install_in_progress set", nil
	}, o)
}

// WaitEnabled waits until server id no longer shows the disabled flag.
//
// Calls func=server on every poll.
func (s *ServersService) WaitEnabled(ctx context.Context, id int64, o *WaitOptions) (*Server, error) {
	return s.WaitFor(ctx, id, "enable", func(sv Server) (bool, string, error) {
		return !sv.Disabled, "disabled set", nil
	}, o)
}

// WaitConnectionsIdle waits until no connection of server serverID shows
// func_in_progress (switch port or power commands finished). OnProgress in
// o is not called (there is no server row).
//
// Calls func=server.connection on every poll.
func (s *ConnectionsService) WaitConnectionsIdle(ctx context.Context, serverID int64, o *WaitOptions) error {
	if err := checkID("Connections.WaitConnectionsIdle", "serverID", serverID); err != nil {
		return err
	}
	w := (*ServersService)(s).waitOpts(o)
	pending := "first poll"
	polls, err := w.poll(ctx, s.c.clock, "connections idle", func(ctx context.Context) (bool, error) {
		conns, err := s.List(ctx, serverID)
		if err != nil {
			return false, err
		}
		var busy []string
		for _, c := range conns {
			if c.InProgress {
				busy = append(busy, fmt.Sprintf("%s %d", c.Type, c.ID))
			}
		}
		if len(busy) == 0 {
			return true, nil
		}
		pending = "func_in_progress on " + strings.Join(busy, ", ")
		return false, nil
	})
	return waitErr(polls, err, "connections idle", serverID, pending)
}
