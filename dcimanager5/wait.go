package dcimanager5

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ispkit/ispkit/internal/httpx"
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
	if w.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.Timeout)
		defer cancel()
	}
	var (
		last    *Server
		pending = "first poll"
		polls   int
		fails   int
	)
	for attempt := 0; ; attempt++ {
		polls++
		sv, err := s.Get(ctx, id)
		switch {
		case err == nil:
			fails = 0
			last = sv
			if w.OnProgress != nil {
				w.OnProgress(*sv)
			}
			done, p, cerr := cond(*sv)
			if cerr != nil {
				return sv, cerr
			}
			if done {
				return sv, nil
			}
			pending = p
		case ctx.Err() != nil:
			return last, &WaitError{What: what, ServerID: id, Pending: pending, Polls: polls, Err: ctx.Err()}
		case isFatalPollError(err):
			return last, &WaitError{What: what, ServerID: id, Pending: pending, Polls: polls, Err: err}
		default:
			fails++
			if fails >= w.MaxPollErrors {
				return last, &WaitError{What: what, ServerID: id, Pending: pending, Polls: polls, Err: err}
			}
		}
		if err := httpx.Sleep(ctx, httpx.Backoff(w.Interval, w.MaxInterval, attempt)); err != nil {
			return last, &WaitError{What: what, ServerID: id, Pending: pending, Polls: polls, Err: err}
		}
	}
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
	if w.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.Timeout)
		defer cancel()
	}
	pending := "first poll"
	polls, fails := 0, 0
	for attempt := 0; ; attempt++ {
		polls++
		conns, err := s.List(ctx, serverID)
		switch {
		case err == nil:
			fails = 0
			var busy []string
			for _, c := range conns {
				if c.InProgress {
					busy = append(busy, fmt.Sprintf("%s %d", c.Type, c.ID))
				}
			}
			if len(busy) == 0 {
				return nil
			}
			pending = "func_in_progress on " + strings.Join(busy, ", ")
		case ctx.Err() != nil:
			return &WaitError{What: "connections idle", ServerID: serverID, Pending: pending, Polls: polls, Err: ctx.Err()}
		case isFatalPollError(err):
			return &WaitError{What: "connections idle", ServerID: serverID, Pending: pending, Polls: polls, Err: err}
		default:
			fails++
			if fails >= w.MaxPollErrors {
				return &WaitError{What: "connections idle", ServerID: serverID, Pending: pending, Polls: polls, Err: err}
			}
		}
		if err := httpx.Sleep(ctx, httpx.Backoff(w.Interval, w.MaxInterval, attempt)); err != nil {
			return &WaitError{What: "connections idle", ServerID: serverID, Pending: pending, Polls: polls, Err: err}
		}
	}
}
