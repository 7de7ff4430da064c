package billing_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ispkit/ispkit/billing"
)

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err      error
		want     string
		sentinel error
	}{
		{&billing.ArgumentError{Package: "billing", Arg: "URL", Reason: "required"}, "billing: invalid URL: required", nil},
		{&billing.ModuleInUseError{Module: "dci", Op: "remove", Tariffs: []int64{1, 2}}, `billing: cannot remove: processing module "dci" is used by tariff(s) 1, 2`, billing.ErrModuleInUse},
		{&billing.TransitionError{ServiceID: 3, From: billing.StatusDeleted, To: billing.StatusActive}, `billing: service 3: illegal status transition "Deleted" -> "Active"`, nil},
		{&billing.MacroError{Macro: "@X@", Offset: 2, Err: billing.ErrUnknownMacro}, "billing: unknown macro: @X@ at offset 2", billing.ErrUnknownMacro},
		{&billing.OptionError{Key: "IP", Value: "x", Reason: "bad"}, `billing: order option IP="x": bad`, nil},
		{&billing.ExhaustedError{Base: "user", Attempts: 100}, `billing: no free name derived from "user" after 100 attempts`, billing.ErrNamesExhausted},
		{&billing.LimitError{Name: "db", Reason: "bad name"}, `billing: limit "db": bad name`, nil},
		{&billing.LimitError{Name: "db", Value: "x", Reason: "not an integer"}, `billing: limit "db" = "x": not an integer`, nil},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.err.Error())
		if tc.sentinel != nil {
			assert.True(t, errors.Is(tc.err, tc.sentinel), "%T should unwrap to %v", tc.err, tc.sentinel)
		}
	}
}
