package dcimanager6

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/wait"
)

// OperationsService reads operations and waits for them [G endpoints].
type OperationsService service

// Get returns one operation.
//
// endpoint: GET /dci/v3/operation/{id}
func (s *OperationsService) Get(ctx context.Context, id int64) (*Operation, error) {
	if err := checkID("Operations.Get", "id", id); err != nil {
		return nil, err
	}
	return get[Operation](ctx, s.c, "Operations.Get", pathf(pathOperation, id))
}

// List returns one page of operations, optionally of one server (0 = all).
//
// endpoint: GET /dci/v3/operation
func (s *OperationsService) List(ctx context.Context, serverID int64, opts *ListOptions) ([]Operation, int, error) {
	return list[Operation](ctx, s.c, "Operations.List", pathOperations, opts, serverWhere(serverID))
}

// All iterates over operations, optionally of one server (0 = all).
func (s *OperationsService) All(ctx context.Context, serverID int64, opts *ListOptions) iter.Seq2[Operation, error] {
	return all[Operation](ctx, s.c, "Operations.All", pathOperations, opts, serverWhere(serverID))
}

func serverWhere(id int64) Where {
	if id <= 0 {
		return Where{}
	}
	return EQ(filterServerID, id)
}

// WaitOption tunes a waiter.
type WaitOption func(*waitConfig)

type waitConfig struct {
	min, max   time.Duration
	clock      wait.Clock // nil: the wall clock
	progress   func(*Operation)
	opID       int64
	maxErrors  int
	allowEmpty bool
}

// WithProgress calls fn with every polled state of the operation that
// differs from the previous one (status or stages). fn runs on the
// caller's goroutine.
func WithProgress(fn func(*Operation)) WaitOption {
	return func(c *waitConfig) { c.progress = fn }
}

// WithPollBackoff overrides the client's poll interval bounds for one wait.
func WithPollBackoff(min, max time.Duration) WaitOption {
	return func(c *waitConfig) {
		if min > 0 && max >= min {
			c.min, c.max = min, max
		}
	}
}

// ForOperation makes WaitInstalled wait for this operation ID (as
// returned by Install) instead of whatever operation the server shows;
// this avoids reading the previous, finished operation as the result.
func ForOperation(id int64) WaitOption {
	return func(c *waitConfig) { c.opID = id }
}

// WithTransientErrors sets how many consecutive transient poll errors
// (transport failures, 5xx, unreadable bodies) a waiter tolerates
// (default 3).
func WithTransientErrors(n int) WaitOption {
	return func(c *waitConfig) {
		if n >= 0 {
			c.maxErrors = n
		}
	}
}

func (c *Client) waitConfig(opts []WaitOption) waitConfig {
	cfg := waitConfig{min: c.pollMin, max: c.pollMax, clock: c.clock, maxErrors: 3}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return cfg
}

func isTransient(err error) bool {
	var te *httpx.TransportError
	var pe *ProtocolError
	var ae *Error
	switch {
	case errors.As(err, &te):
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	case errors.As(err, &pe):
		return true
	case errors.As(err, &ae):
		return ae.StatusCode >= 500
	}
	return false
}

// poll runs check on the shared polling loop (internal/wait) until it
// reports done, backing off between rounds.
func poll[T any](ctx context.Context, cfg waitConfig, what func() string, check func() (T, bool, error)) (T, error) {
	var zero T
	v, err := wait.Until(ctx, wait.Options{
		Clock:        cfg.clock,
		Schedule:     wait.Backoff(cfg.min, cfg.max),
		Transient:    isTransient,
		MaxTransient: cfg.maxErrors,
	}, func(context.Context) (T, bool, error) { return check() })
	var we *wait.Error
	if !errors.As(err, &we) {
		return v, err // done, or a final error of the check
	}
	switch {
	case we.Reason == wait.Failing:
		return v, we.Err
	case we.Last != nil && errors.Is(we.Last, we.Err):
		return zero, fmt.Errorf("dcimanager6: %s: %w", what(), we.Last)
	case we.Last != nil:
		return zero, fmt.Errorf("dcimanager6: %s: %w (%v)", what(), we.Err, we.Last)
	}
	return zero, fmt.Errorf("dcimanager6: %s: %w", what(), we.Err)
}

func changed(prev, cur *Operation) bool {
	if prev == nil || prev.ID != cur.ID || prev.Status != cur.Status || len(prev.ProgressInfo) != len(cur.ProgressInfo) {
		return true
	}
	for i := range cur.ProgressInfo {
		if prev.ProgressInfo[i] != cur.ProgressInfo[i] {
			return true
		}
	}
	return false
}

// Wait polls the operation until it ends. It returns the operation when
// the status is ok, an *OperationError as soon as the status is error or
// canceled, and the context's error (wrapped, with the last status) when
// ctx ends first. It never reports success on a timeout.
func (s *OperationsService) Wait(ctx context.Context, id int64, opts ...WaitOption) (*Operation, error) {
	if err := checkID("Operations.Wait", "id", id); err != nil {
		return nil, err
	}
	cfg := s.c.waitConfig(opts)
	var last *Operation
	return poll(ctx, cfg, func() string { return waitWhat(id, last) }, func() (*Operation, bool, error) {
		op, err := s.Get(ctx, id)
		if err != nil {
			return nil, false, err
		}
		return finish(cfg, &last, op)
	})
}

func waitWhat(id int64, last *Operation) string {
	if last == nil {
		return fmt.Sprintf("waiting for operation %d", id)
	}
	return fmt.Sprintf("waiting for operation %d (last status %q)", last.ID, last.Status)
}

func finish(cfg waitConfig, last **Operation, op *Operation) (*Operation, bool, error) {
	if cfg.progress != nil && changed(*last, op) {
		cp := *op
		cp.ProgressInfo = append([]Stage(nil), op.ProgressInfo...)
		cfg.progress(&cp)
	}
	*last = op
	switch op.Status {
	case StatusOK:
		return op, true, nil
	case StatusError, StatusCanceled:
		return op, true, &OperationError{Operation: op}
	}
	return op, false, nil
}

// WaitInstalled polls the server until its current operation (or the one
// named with ForOperation) ends, and returns the server. It fails fast
// with an *OperationError when the operation ends with error or canceled.
func (s *ServersService) WaitInstalled(ctx context.Context, serverID int64, opts ...WaitOption) (*Server, error) {
	if err := checkID("Servers.WaitInstalled", "serverID", serverID); err != nil {
		return nil, err
	}
	cfg := s.c.waitConfig(opts)
	var last *Operation
	what := func() string {
		if last == nil {
			return fmt.Sprintf("waiting for server %d", serverID)
		}
		return fmt.Sprintf("waiting for server %d: %s", serverID, waitWhat(last.ID, last)[len("waiting for "):])
	}
	return poll(ctx, cfg, what, func() (*Server, bool, error) {
		srv, err := s.Get(ctx, serverID)
		if err != nil {
			return nil, false, err
		}
		op := srv.Operation
		if op == nil || (cfg.opID != 0 && op.ID != cfg.opID) {
			return srv, false, nil
		}
		_, done, err := finish(cfg, &last, op)
		return srv, done, err
	})
}
