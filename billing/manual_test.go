package billing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ispkit/ispkit/billing"
)

func TestNeedsManualTask(t *testing.T) {
	t.Parallel()
	dci := mod("dci", billing.KindDCImanager5, 1)
	tests := []struct {
		name   string
		tariff *billing.Tariff
		module *billing.Module
		want   bool
		reason string
	}{
		{"colocation", &billing.Tariff{ProductType: billing.ProductColocation}, dci, true, billing.ReasonColocation},
		{"dedicated", &billing.Tariff{ProductType: billing.ProductDedicatedServer}, dci, false, ""},
		{"hosting", &billing.Tariff{ProductType: billing.ProductSharedHosting}, mod("isp", billing.KindISPmanager, 1), false, ""},
		{"nil tariff", nil, dci, false, ""},
		{"nil module", &billing.Tariff{ProductType: billing.ProductColocation}, nil, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, reason := billing.NeedsManualTask(tc.tariff, tc.module)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.reason, reason)
		})
	}
}

func TestOnConfigUnavailable(t *testing.T) {
	t.Parallel()
	newType := mod("new", billing.KindDCImanager6, 1)
	newType.NewServerType = true
	oldType := mod("old", billing.KindDCImanager5, 1)
	dedicated := &billing.Tariff{ProductType: billing.ProductDedicatedServer}
	tests := []struct {
		name   string
		tariff *billing.Tariff
		module *billing.Module
		want   bool
	}{
		{"new server type becomes a task", dedicated, newType, true},
		{"old server type is not a task", dedicated, oldType, false},
		{"hosting never", &billing.Tariff{ProductType: billing.ProductSharedHosting}, newType, false},
		{"nil module", dedicated, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, reason := billing.OnConfigUnavailable(tc.tariff, tc.module)
			assert.Equal(t, tc.want, got)
			if tc.want {
				assert.Equal(t, billing.ReasonConfigUnavailable, reason)
			} else {
				assert.Empty(t, reason)
			}
		})
	}
}

func TestNewManualTask(t *testing.T) {
	t.Parallel()
	m := mod("dci", billing.KindDCImanager5, 1)
	m.Department = "Assembly"
	assert.Equal(t, billing.ManualTask{Department: "Assembly", ServiceID: 7, Reason: billing.ReasonColocation},
		billing.NewManualTask(m, 7, billing.ReasonColocation))
	assert.Equal(t, billing.ManualTask{ServiceID: 7, Reason: "x"}, billing.NewManualTask(nil, 7, "x"))
}
