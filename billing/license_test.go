package billing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
)

func TestTariffLicense(t *testing.T) {
	t.Parallel()
	base := func() *billing.Tariff {
		return &billing.Tariff{ID: 1, Name: "D", ProductType: billing.ProductDedicatedServer, Modules: []string{"m"}, ServerConfig: "X",
			License: &billing.LicenseSpec{Pricelist: 55227}}
	}
	require.NoError(t, base().Validate())
	assert.Equal(t, 1, base().License.EffectivePeriod())
	for name, mod := range map[string]func(*billing.Tariff){
		"License.Pricelist":   func(t *billing.Tariff) { t.License.Pricelist = 0 },
		"License.Period":      func(t *billing.Tariff) { t.License.Period = 6 },
		"License.AutoProlong": func(t *billing.Tariff) { t.License.AutoProlong = 3 },
		"License": func(t *billing.Tariff) {
			t.ProductType, t.ServerConfig = billing.ProductSharedHosting, ""
			t.Modules = []string{"isp"}
		},
	} {
		tr := base()
		mod(tr)
		var ae *billing.ArgumentError
		require.ErrorAs(t, tr.Validate(), &ae, name)
		assert.Equal(t, name, ae.Arg)
	}
	tr := base()
	c := tr.Clone()
	c.License.Pricelist = 1
	assert.Equal(t, int64(55227), tr.License.Pricelist, "Clone copies the license")
}
