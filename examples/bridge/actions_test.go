package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stubEngine is an Engine whose operations run only when the test says
// so. Like the real engine it refuses a second unfinished operation of a
// service (ErrBusy) and returns the existing operation for a known id.
type stubEngine struct {
	mu       sync.Mutex
	services map[string]*Service
	ops      []Operation
	clock    time.Time
	submits  int
	// beforeSubmit, when set, runs under the lock before a submit is
	// recorded; an error is returned as the submit's.
	beforeSubmit func(s *stubEngine, id string) error
}

func newStub() *stubEngine {
	return &stubEngine{services: map[string]*Service{}, clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (s *stubEngine) tick() time.Time {
	s.clock = s.clock.Add(time.Second)
	return s.clock
}

func (s *stubEngine) put(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services[id] = &Service{ID: id, Plan: 1, Status: status, Properties: map[string]string{}}
}

func (s *stubEngine) submit(id, svc, kind string) (Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.submits++
	for _, o := range s.ops {
		if o.ID == id {
			return o, nil
		}
	}
	if s.beforeSubmit != nil {
		if err := s.beforeSubmit(s, id); err != nil {
			return Operation{}, err
		}
	}
	for _, o := range s.ops {
		if o.ServiceID == svc && !o.Finished() {
			return Operation{}, fmt.Errorf("service %s: %w", svc, ErrBusy)
		}
	}
	if kind == KindCreate && s.services[svc] == nil {
		s.services[svc] = &Service{ID: svc, Plan: 1, Status: StatusPending, Properties: map[string]string{}}
	}
	t := s.tick()
	o := Operation{ID: id, ServiceID: svc, Kind: kind, State: StateRunning, CreatedAt: t, UpdatedAt: t}
	s.ops = append(s.ops, o)
	return o, nil
}

// finish ends an operation and moves the service as the engine would.
func (s *stubEngine) finish(id, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, o := range s.ops {
		if o.ID != id {
			continue
		}
		s.ops[i].State = state
		if state == StateDone {
			to := map[string]string{KindCreate: StatusActive, KindSuspend: StatusSuspended, KindUnsuspend: StatusActive,
				KindTerminate: StatusTerminated}[o.Kind]
			if to != "" {
				s.services[o.ServiceID].Status = to
			}
		}
	}
}

func (s *stubEngine) Plans(context.Context) ([]Plan, error) {
	return []Plan{{ID: 1, Name: "p", Kind: "dedicated"}}, nil
}
func (s *stubEngine) Create(_ context.Context, id string, r CreateRequest) (Operation, error) {
	return s.submit(id, r.ServiceID, KindCreate)
}
func (s *stubEngine) Suspend(_ context.Context, id, svc string) (Operation, error) {
	return s.submit(id, svc, KindSuspend)
}
func (s *stubEngine) Unsuspend(_ context.Context, id, svc string) (Operation, error) {
	return s.submit(id, svc, KindUnsuspend)
}
func (s *stubEngine) Terminate(_ context.Context, id, svc string) (Operation, error) {
	return s.submit(id, svc, KindTerminate)
}
func (s *stubEngine) ChangePassword(_ context.Context, id, svc, _ string) (Operation, error) {
	return s.submit(id, svc, KindChangePassword)
}
func (s *stubEngine) LoginLink(context.Context, string) (string, error) { return "https://panel/", nil }
func (s *stubEngine) Service(_ context.Context, id string) (Service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.services[id]; v != nil {
		return *v, nil
	}
	return Service{}, ErrNotFound
}
func (s *stubEngine) Operations(_ context.Context, svc string) ([]Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Operation
	for _, o := range s.ops {
		if o.ServiceID == svc {
			out = append(out, o)
		}
	}
	return out, nil
}
func (s *stubEngine) Operation(_ context.Context, id string) (Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.ops {
		if o.ID == id {
			return o, nil
		}
	}
	return Operation{}, ErrNotFound
}
func (s *stubEngine) Wait(ctx context.Context, id string) (Operation, error) {
	o, err := s.Operation(ctx, id)
	if err != nil || o.Finished() {
		return o, err
	}
	<-ctx.Done()
	return o, ctx.Err()
}
func (s *stubEngine) Subscribe(func(Event)) func() { return func() {} }

func simpleAction(s *stubEngine, kind, svc string) *action {
	submit := map[string]func(context.Context, string, string) (Operation, error){
		KindSuspend: s.Suspend, KindUnsuspend: s.Unsuspend, KindTerminate: s.Terminate}[kind]
	return &action{kind: kind, service: svc, submit: func(ctx context.Context, id string) (Operation, error) {
		return submit(ctx, id, svc)
	}}
}

func createAction(s *stubEngine, svc string, plan int64) *action {
	return &action{kind: KindCreate, service: svc, plan: plan, submit: func(ctx context.Context, id string) (Operation, error) {
		return s.Create(ctx, id, CreateRequest{ServiceID: svc, Plan: plan})
	}}
}

func passwordAction(s *stubEngine, svc, pw string) *action {
	return &action{kind: KindChangePassword, service: svc, tag: passwordTag([]byte("key"), svc, pw),
		submit: func(ctx context.Context, id string) (Operation, error) { return s.ChangePassword(ctx, id, svc, pw) }}
}

// TestActionRules: what each action does in each status of the service.
func TestActionRules(t *testing.T) {
	t.Parallel()
	const (
		noop  = "no-op"
		run   = "new operation"
		state = "service_state"
		none  = "not_found"
	)
	statuses := []string{"", StatusPending, StatusProvisioning, StatusActive, StatusSuspended, StatusTerminated}
	want := map[string][]string{ // per status above
		KindCreate:         {run, run, noop, noop, noop, state},
		KindSuspend:        {none, state, state, run, noop, state},
		KindUnsuspend:      {none, state, state, noop, run, state},
		KindTerminate:      {none, run, state, run, run, noop},
		KindChangePassword: {none, state, state, run, run, state},
	}
	for kind, outcomes := range want {
		for i, st := range statuses {
			s := newStub()
			if st != "" {
				s.put("5", st)
			}
			var a *action
			switch kind {
			case KindCreate:
				a = createAction(s, "5", 1)
			case KindChangePassword:
				a = passwordAction(s, "5", "pw")
			default:
				a = simpleAction(s, kind, "5")
			}
			op, err := do(t.Context(), s, a)
			name := kind + " of a service " + st
			switch outcomes[i] {
			case noop:
				require.NoError(t, err, name)
				assert.Nil(t, op, name)
				assert.Zero(t, s.submits, name)
			case run:
				require.NoError(t, err, name)
				require.NotNil(t, op, name)
				assert.Equal(t, kind, op.Kind, name)
				assert.Contains(t, op.ID, "5."+kind+".1", name)
			case state:
				assert.ErrorIs(t, err, ErrState, name)
				assert.Zero(t, s.submits, name)
			case none:
				assert.ErrorIs(t, err, ErrNotFound, name)
			}
		}
	}
}

func TestActionConcurrentCallsShareOneOperation(t *testing.T) {
	t.Parallel()
	s := newStub()
	s.put("7", StatusActive)
	var wg sync.WaitGroup
	ids := make([]string, 32)
	for i := range ids {
		wg.Go(func() {
			op, err := do(t.Context(), s, simpleAction(s, KindSuspend, "7"))
			if assert.NoError(t, err) {
				ids[i] = op.ID
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		assert.Equal(t, "7.suspend.1", id)
	}
	ops, _ := s.Operations(t.Context(), "7")
	assert.Len(t, ops, 1)

	// Another action while it runs is busy, naming the running operation.
	_, err := do(t.Context(), s, simpleAction(s, KindTerminate, "7"))
	var busy *busyError
	require.ErrorAs(t, err, &busy)
	assert.Equal(t, "7.suspend.1", busy.op.ID)

	// Once done, the same call reports it without a new operation; the
	// next suspend after an unsuspend is attempt 2.
	s.finish("7.suspend.1", StateDone)
	op, err := do(t.Context(), s, simpleAction(s, KindSuspend, "7"))
	require.NoError(t, err)
	assert.Equal(t, "7.suspend.1", op.ID)
	op, err = do(t.Context(), s, simpleAction(s, KindUnsuspend, "7"))
	require.NoError(t, err)
	s.finish(op.ID, StateDone)
	op, err = do(t.Context(), s, simpleAction(s, KindSuspend, "7"))
	require.NoError(t, err)
	assert.Equal(t, "7.suspend.2", op.ID)
}

func TestActionPasswordChanges(t *testing.T) {
	t.Parallel()
	s := newStub()
	s.put("8", StatusActive)
	first, err := do(t.Context(), s, passwordAction(s, "8", "alpha"))
	require.NoError(t, err)
	assert.Regexp(t, `^8\.change_password\.1\.[0-9a-f]{12}$`, first.ID)
	assert.NotContains(t, first.ID, "alpha")

	again, err := do(t.Context(), s, passwordAction(s, "8", "alpha"))
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID, "the same change while it runs")

	_, err = do(t.Context(), s, passwordAction(s, "8", "beta"))
	assert.ErrorIs(t, err, ErrBusy, "another password while one is being set")

	s.finish(first.ID, StateDone)
	next, err := do(t.Context(), s, passwordAction(s, "8", "beta"))
	require.NoError(t, err)
	assert.Regexp(t, `^8\.change_password\.2\.`, next.ID)

	assert.NotEqual(t, passwordTag([]byte("k"), "8", "alpha"), passwordTag([]byte("k"), "9", "alpha"), "bound to the service")
	assert.NotEqual(t, passwordTag([]byte("k"), "8", "alpha"), passwordTag([]byte("other"), "8", "alpha"), "bound to the key")
}

func TestActionCreateRules(t *testing.T) {
	t.Parallel()
	s := newStub()
	op, err := do(t.Context(), s, createAction(s, "9", 1))
	require.NoError(t, err)
	assert.Equal(t, "9.create.1", op.ID)
	_, err = do(t.Context(), s, createAction(s, "9", 2))
	assert.ErrorIs(t, err, ErrConflict, "another plan under the same id")

	s.finish(op.ID, StateFailed) // the service stays pending
	op, err = do(t.Context(), s, createAction(s, "9", 1))
	require.NoError(t, err)
	assert.Equal(t, "9.create.2", op.ID, "a failed create is attempted again")
	s.finish(op.ID, StateDone)
	op, err = do(t.Context(), s, createAction(s, "9", 1))
	require.NoError(t, err)
	assert.Equal(t, "9.create.2", op.ID, "the successful attempt is reported")
}

// TestActionRace: the service changes between the bridge's look and its
// submit (another bridge won); the call looks again and reports the
// winner's result instead of failing.
func TestActionRace(t *testing.T) {
	t.Parallel()
	s := newStub()
	s.put("11", StatusActive)
	s.beforeSubmit = func(s *stubEngine, id string) error {
		s.beforeSubmit = nil
		t0 := s.tick()
		s.ops = append(s.ops, Operation{ID: "other", ServiceID: "11", Kind: KindSuspend, State: StateDone, CreatedAt: t0, UpdatedAt: t0})
		s.services["11"].Status = StatusSuspended
		return fmt.Errorf("suspended meanwhile: %w", ErrState)
	}
	op, err := do(t.Context(), s, simpleAction(s, KindSuspend, "11"))
	require.NoError(t, err)
	assert.Equal(t, "other", op.ID)

	s.beforeSubmit = func(*stubEngine, string) error { return errors.New("store down") }
	_, err = do(t.Context(), s, simpleAction(s, KindUnsuspend, "11"))
	assert.EqualError(t, err, "store down", "other errors are not retried")
}
