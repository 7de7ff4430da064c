package billing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
)

func TestMatchesServer(t *testing.T) {
	t.Parallel()
	tariff := &billing.Tariff{ServerConfig: "E3-1230"}
	tests := []struct {
		name           string
		tariff         *billing.Tariff
		chassis, stype string
		want           bool
	}{
		{"chassis template", tariff, "E3-1230", "", true},
		{"server type", tariff, "", "E3-1230", true},
		{"either", tariff, "other", "E3-1230", true},
		{"neither", tariff, "E5-2620", "E5", false},
		{"case sensitive", tariff, "e3-1230", "", false},
		{"no trimming", tariff, " E3-1230", "", false},
		{"empty config matches nothing", &billing.Tariff{}, "", "", false},
		{"nil tariff", nil, "E3-1230", "E3-1230", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.tariff.MatchesServer(tc.chassis, tc.stype))
		})
	}
}

func TestTariffValidate(t *testing.T) {
	t.Parallel()
	tests := []validateCase{
		{"valid", func(*billing.Tariff) {}, ""},
		{"zero id", func(t *billing.Tariff) { t.ID = 0 }, "ID"},
		{"no name", func(t *billing.Tariff) { t.Name = " " }, "Name"},
		{"bad product", func(t *billing.Tariff) { t.ProductType = "vps" }, "ProductType"},
		{"no modules", func(t *billing.Tariff) { t.Modules = nil }, "Modules"},
		{"empty module", func(t *billing.Tariff) { t.Modules = []string{""} }, "Modules"},
		{"duplicate module", func(t *billing.Tariff) { t.Modules = []string{"a", "a"} }, "Modules"},
		{"dedic without config", func(t *billing.Tariff) { t.ServerConfig = "" }, "ServerConfig"},
		{"colocation without config", func(t *billing.Tariff) { t.ProductType = billing.ProductColocation; t.ServerConfig = "" }, ""},
		{"unknown macro in username", func(t *billing.Tariff) { t.UsernameTemplate = "u@NAME@" }, "UsernameTemplate"},
		{"unknown macro in domain", func(t *billing.Tariff) { t.DomainTemplate = "@HOST@.example.com" }, "DomainTemplate"},
		{"known macros", func(t *billing.Tariff) { t.UsernameTemplate = "user@ID@"; t.DomainTemplate = "@USERNAME@.example.com" }, ""},
	}
	runValidateCases(t, tests)
}

func TestTariffDefaults(t *testing.T) {
	t.Parallel()
	tr := &billing.Tariff{}
	assert.Equal(t, "null", tr.EffectiveRecipe())
	assert.Equal(t, "public", tr.EffectiveIPGroup())
	tr.Recipe, tr.IPGroup = "#local__setup", "private"
	assert.Equal(t, "#local__setup", tr.EffectiveRecipe())
	assert.Equal(t, "private", tr.EffectiveIPGroup())
}

func TestResolve(t *testing.T) {
	t.Parallel()
	base := func() *billing.Tariff {
		tr := dedic(5, "dci")
		tr.DontWaitInstall = true
		return tr
	}
	tests := []struct {
		name   string
		tariff func() *billing.Tariff
		opts   billing.OrderOptions
		want   billing.ResolvedOrder
		field  string
	}{
		{
			name:   "tariff defaults",
			tariff: base,
			want: billing.ResolvedOrder{TariffID: 5, ProductType: billing.ProductDedicatedServer, ServerConfig: "E3-1230",
				OSTemplate: "ISPsystem__Debian-10-x86_64", Recipe: "null", IPGroup: "public", DontWaitInstall: true},
		},
		{
			name:   "customer overrides",
			tariff: func() *billing.Tariff { tr := base(); tr.Recipe = "repo__lamp"; tr.IPGroup = "white"; return tr },
			opts:   billing.OrderOptions{OSTemplate: "ISPsystem__CentOS-7-amd64", Recipe: "#local__web", ExtraIPv4: 2, ExtraIPv6: 1},
			want: billing.ResolvedOrder{TariffID: 5, ProductType: billing.ProductDedicatedServer, ServerConfig: "E3-1230",
				OSTemplate: "ISPsystem__CentOS-7-amd64", Recipe: "#local__web", ExtraIPv4: 2, ExtraIPv6: 1, IPGroup: "white", DontWaitInstall: true},
		},
		{
			name:   "tariff recipe used when customer gives none",
			tariff: func() *billing.Tariff { tr := base(); tr.Recipe = "repo__lamp"; return tr },
			want: billing.ResolvedOrder{TariffID: 5, ProductType: billing.ProductDedicatedServer, ServerConfig: "E3-1230",
				OSTemplate: "ISPsystem__Debian-10-x86_64", Recipe: "repo__lamp", IPGroup: "public", DontWaitInstall: true},
		},
		{
			name:   "no os anywhere",
			tariff: func() *billing.Tariff { tr := base(); tr.OSTemplate = ""; return tr },
			field:  "OSTemplate",
		},
		{
			name:   "os from customer only",
			tariff: func() *billing.Tariff { tr := base(); tr.OSTemplate = ""; return tr },
			opts:   billing.OrderOptions{OSTemplate: "X"},
			want: billing.ResolvedOrder{TariffID: 5, ProductType: billing.ProductDedicatedServer, ServerConfig: "E3-1230",
				OSTemplate: "X", Recipe: "null", IPGroup: "public", DontWaitInstall: true},
		},
		{"negative ipv4", base, billing.OrderOptions{ExtraIPv4: -1}, billing.ResolvedOrder{}, "ExtraIPv4"},
		{"negative ipv6", base, billing.OrderOptions{ExtraIPv6: -1}, billing.ResolvedOrder{}, "ExtraIPv6"},
		{
			name: "hosting ignores nothing, takes account template",
			tariff: func() *billing.Tariff {
				return &billing.Tariff{ID: 9, ProductType: billing.ProductSharedHosting, AccountTemplate: "Site hosting"}
			},
			want: billing.ResolvedOrder{TariffID: 9, ProductType: billing.ProductSharedHosting, AccountTemplate: "Site hosting", IPGroup: "public"},
		},
		{
			name:   "hosting refuses os",
			tariff: func() *billing.Tariff { return &billing.Tariff{ID: 9, ProductType: billing.ProductSharedHosting} },
			opts:   billing.OrderOptions{OSTemplate: "X"},
			field:  "OSTemplate",
		},
		{
			name:   "hosting refuses recipe",
			tariff: func() *billing.Tariff { return &billing.Tariff{ID: 9, ProductType: billing.ProductSharedHosting} },
			opts:   billing.OrderOptions{Recipe: "X"},
			field:  "Recipe",
		},
		{
			name:   "colocation refuses ips",
			tariff: func() *billing.Tariff { return &billing.Tariff{ID: 9, ProductType: billing.ProductColocation} },
			opts:   billing.OrderOptions{ExtraIPv6: 1},
			field:  "ExtraIPv4",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.tariff().Resolve(tc.opts)
			if tc.field != "" {
				var ve *billing.ArgumentError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, tc.field, ve.Arg)
				assert.Equal(t, billing.ResolvedOrder{}, got)
				return
			}
			require.NoError(t, err)
			assert.True(t, tc.want.Limits.Equal(got.Limits))
			got.Limits = billing.Limits{}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestResolveCopiesLimits(t *testing.T) {
	t.Parallel()
	tr := &billing.Tariff{ID: 1, ProductType: billing.ProductSharedHosting}
	require.NoError(t, tr.Limits.SetInt(billing.LimitDB, 10))
	r, err := tr.Resolve(billing.OrderOptions{})
	require.NoError(t, err)
	require.NoError(t, r.Limits.SetInt(billing.LimitDB, 99))
	n, err := tr.Limits.Databases()
	require.NoError(t, err)
	assert.Equal(t, int64(10), n)

	var nilTariff *billing.Tariff
	_, err = nilTariff.Resolve(billing.OrderOptions{})
	var ve *billing.ArgumentError
	require.ErrorAs(t, err, &ve)
}

func TestProductTypeServedBy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    billing.ProductType
		k    billing.ModuleKind
		want bool
	}{
		{billing.ProductDedicatedServer, billing.KindDCImanager5, true},
		{billing.ProductDedicatedServer, billing.KindDCImanager6, true},
		{billing.ProductDedicatedServer, billing.KindISPmanager, false},
		{billing.ProductColocation, billing.KindDCImanager5, true},
		{billing.ProductSharedHosting, billing.KindISPmanager, true},
		{billing.ProductSharedHosting, billing.KindDCImanager6, false},
		{billing.ProductExternalFTPStorage, billing.KindISPmanager, true},
		{"vps", billing.KindISPmanager, false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.p.ServedBy(tc.k), "%s by %s", tc.p, tc.k)
	}
}

func TestParseOrderOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  map[string]string
		want billing.OrderOptions
		key  string // expected *OptionError key
	}{
		{"empty", nil, billing.OrderOptions{}, ""},
		{"os", map[string]string{"os": "A"}, billing.OrderOptions{OSTemplate: "A"}, ""},
		{"OS beats os", map[string]string{"os": "A", "OS": "B"}, billing.OrderOptions{OSTemplate: "B"}, ""},
		{"ostemplate beats OS", map[string]string{"OS": "B", "ostemplate": "C"}, billing.OrderOptions{OSTemplate: "C"}, ""},
		{"ostemplate beats all", map[string]string{"os": "A", "OS": "B", "ostemplate": "C"}, billing.OrderOptions{OSTemplate: "C"}, ""},
		{"empty ostemplate does not hide os", map[string]string{"os": "A", "ostemplate": " "}, billing.OrderOptions{OSTemplate: "A"}, ""},
		{"other case ignored", map[string]string{"Os": "A", "OSTEMPLATE": "B"}, billing.OrderOptions{}, ""},
		{"recipe and ips", map[string]string{"recipe": "#local__x", "IP": "2", "IPv6": " 3 "}, billing.OrderOptions{Recipe: "#local__x", ExtraIPv4: 2, ExtraIPv6: 3}, ""},
		{"zero ip", map[string]string{"IP": "0"}, billing.OrderOptions{}, ""},
		{"empty ip", map[string]string{"IP": ""}, billing.OrderOptions{}, ""},
		{"negative ip", map[string]string{"IP": "-1"}, billing.OrderOptions{}, "IP"},
		{"plus sign", map[string]string{"IP": "+1"}, billing.OrderOptions{}, "IP"},
		{"not a number", map[string]string{"IPv6": "two"}, billing.OrderOptions{}, "IPv6"},
		{"fraction", map[string]string{"IPv6": "1.5"}, billing.OrderOptions{}, "IPv6"},
		{"overflow", map[string]string{"IP": "99999999999999999999999"}, billing.OrderOptions{}, "IP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := billing.ParseOrderOptions(tc.raw)
			if tc.key != "" {
				var oe *billing.OptionError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, tc.key, oe.Key)
				assert.Equal(t, tc.raw[tc.key], oe.Value)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// validateCase is a change to a valid dedicated tariff and the field whose
// ArgumentError Validate must then return ("" for none).
type validateCase struct {
	name   string
	mutate func(*billing.Tariff)
	field  string
}

// runValidateCases runs each case on a fresh tariff.
func runValidateCases(t *testing.T, tests []validateCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := dedic(1, "a")
			tc.mutate(tr)
			err := tr.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var ae *billing.ArgumentError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tc.field, ae.Arg)
		})
	}
}
