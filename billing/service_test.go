package billing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
)

var allStatuses = []billing.Status{
	billing.StatusOrdered, billing.StatusProcessing, billing.StatusActive,
	billing.StatusSuspended, billing.StatusDeleted,
}

func TestCanTransitionTable(t *testing.T) {
	t.Parallel()
	const (
		O = billing.StatusOrdered
		P = billing.StatusProcessing
		A = billing.StatusActive
		S = billing.StatusSuspended
		D = billing.StatusDeleted
	)
	allowed := map[[2]billing.Status]bool{
		{O, P}: true, {O, A}: true, {O, D}: true,
		{P, O}: true, {P, A}: true, {P, S}: true, {P, D}: true,
		{A, P}: true, {A, S}: true, {A, D}: true,
		{S, P}: true, {S, A}: true, {S, D}: true,
		{D, P}: true,
	}
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			assert.Equal(t, allowed[[2]billing.Status{from, to}], from.CanTransition(to), "%s -> %s", from, to)
		}
		assert.False(t, from.CanTransition("Bogus"))
		assert.False(t, billing.Status("").CanTransition(from))
	}
}

func TestStatusNamesAndCodes(t *testing.T) {
	t.Parallel()
	assert.Equal(t, billing.StatusOrdered, billing.StatusPending)
	assert.Equal(t, "Ordered", string(billing.StatusOrdered))
	for i, st := range []billing.Status{billing.StatusOrdered, billing.StatusActive, billing.StatusSuspended, billing.StatusDeleted, billing.StatusProcessing} {
		assert.True(t, st.Valid())
		assert.Equal(t, i+1, st.Code())
		back, ok := billing.StatusFromCode(i + 1)
		require.True(t, ok)
		assert.Equal(t, st, back)
	}
	assert.False(t, billing.Status("Pending").Valid())
	assert.Equal(t, 0, billing.Status("x").Code())
	_, ok := billing.StatusFromCode(9)
	assert.False(t, ok)
}

func TestServiceTransitionEvents(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	steps := []struct {
		to   billing.Status
		want billing.EventType
	}{
		{billing.StatusProcessing, billing.EventProcessing},
		{billing.StatusActive, billing.EventWelcome},
		{billing.StatusSuspended, billing.EventSuspended},
		{billing.StatusActive, billing.EventActivated},
		{billing.StatusProcessing, billing.EventProcessing},
		{billing.StatusActive, billing.EventActivated}, // not the first time: no second welcome
		{billing.StatusDeleted, billing.EventDeleted},
		{billing.StatusProcessing, billing.EventProcessing}, // reopen
		{billing.StatusActive, billing.EventActivated},
	}
	s := &billing.Service{ID: 117, Status: billing.StatusOrdered}
	for i, st := range steps {
		now := t0.Add(time.Duration(i) * time.Minute)
		from := s.Status
		ev, err := s.Transition(st.to, now)
		require.NoError(t, err, "step %d", i)
		assert.Equal(t, billing.Event{Type: st.want, ServiceID: 117, From: from, To: st.to, At: now}, ev, "step %d", i)
		assert.Equal(t, st.to, s.Status)
		assert.Equal(t, now, s.UpdatedAt)
	}
	assert.Equal(t, t0.Add(time.Minute), s.ActivatedAt, "ActivatedAt records the first activation")
}

func TestServiceWelcomeFromOrdered(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	s := &billing.Service{ID: 1, Status: billing.StatusOrdered}
	ev, err := s.Transition(billing.StatusActive, now)
	require.NoError(t, err)
	assert.Equal(t, billing.EventWelcome, ev.Type)
	assert.Equal(t, now, s.ActivatedAt)
}

func TestServiceOpenGivenUp(t *testing.T) {
	t.Parallel()
	s := &billing.Service{ID: 1, Status: billing.StatusProcessing}
	ev, err := s.Transition(billing.StatusOrdered, time.Unix(1, 0))
	require.NoError(t, err)
	assert.Equal(t, billing.EventReturnedToOrdered, ev.Type)
	assert.True(t, s.ActivatedAt.IsZero())
}

func TestServiceIllegalTransition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, to billing.Status
	}{
		{billing.StatusActive, billing.StatusActive},
		{billing.StatusActive, billing.StatusOrdered},
		{billing.StatusDeleted, billing.StatusActive},
		{billing.StatusOrdered, billing.StatusSuspended},
		{"", billing.StatusActive},
		{billing.StatusActive, "Paused"},
	}
	for _, tc := range tests {
		t.Run(string(tc.from)+"->"+string(tc.to), func(t *testing.T) {
			t.Parallel()
			updated := time.Unix(5, 0)
			s := &billing.Service{ID: 9, Status: tc.from, UpdatedAt: updated}
			ev, err := s.Transition(tc.to, time.Unix(10, 0))
			var te *billing.TransitionError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, billing.TransitionError{ServiceID: 9, From: tc.from, To: tc.to}, *te)
			assert.Contains(t, err.Error(), "service 9")
			assert.Equal(t, billing.Event{}, ev)
			assert.Equal(t, tc.from, s.Status, "unchanged")
			assert.Equal(t, updated, s.UpdatedAt, "unchanged")
		})
	}
}

func TestServiceProps(t *testing.T) {
	t.Parallel()
	s := &billing.Service{ID: 117, AccountID: 5, Username: "john", Domain: "example.com"}
	assert.Equal(t, "", s.Prop(billing.PropServerID))
	s.SetProp(billing.PropServerID, "42")
	s.SetProp(billing.PropIP, "192.0.2.10")
	assert.Equal(t, "42", s.Prop(billing.PropServerID))

	c := s.Clone()
	c.SetProp(billing.PropIP, "192.0.2.99")
	assert.Equal(t, "192.0.2.10", s.Prop(billing.PropIP))

	assert.Equal(t, billing.MacroVars{Username: "john", Domain: "example.com", ID: 117, AccountID: 5}, s.MacroVars())
	got, err := billing.ExpandTemplate("user@ID@", s.MacroVars())
	require.NoError(t, err)
	assert.Equal(t, "user117", got)
}
