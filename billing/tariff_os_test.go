package billing_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/billing"
)

const (
	debian = "ISPsystem__Debian-10-x86_64" // dedic's default
	centos = "ISPsystem__CentOS-7-amd64"
	win    = "ISPsystem__Windows-2019"
)

func TestTariffOSTemplatesValidate(t *testing.T) {
	t.Parallel()
	tests := []validateCase{
		{"no list", func(*billing.Tariff) {}, ""},
		{"list with default", func(tr *billing.Tariff) { tr.OSTemplates = []string{centos, debian} }, ""},
		{"list without a default", func(tr *billing.Tariff) { tr.OSTemplate = ""; tr.OSTemplates = []string{centos} }, ""},
		{"default not listed", func(tr *billing.Tariff) { tr.OSTemplates = []string{centos} }, "OSTemplate"},
		{"empty name", func(tr *billing.Tariff) { tr.OSTemplates = []string{debian, ""} }, "OSTemplates"},
		{"duplicate", func(tr *billing.Tariff) { tr.OSTemplates = []string{debian, debian} }, "OSTemplates"},
		{"not a dedicated server", func(tr *billing.Tariff) {
			tr.ProductType = billing.ProductSharedHosting
			tr.OSTemplate = ""
			tr.OSTemplates = []string{centos}
		}, "OSTemplates"},
	}
	runValidateCases(t, tests)
}

func TestCheckOSTemplate(t *testing.T) {
	t.Parallel()
	tr := dedic(9, "a")
	assert.True(t, tr.SellsOSTemplate(win), "no list: no restriction")
	assert.False(t, tr.SellsOSTemplate(""))
	require.NoError(t, tr.CheckOSTemplate(win))

	tr.OSTemplates = []string{debian, centos}
	require.NoError(t, tr.CheckOSTemplate(centos))
	for _, bad := range []string{win, "", "isppsystem__centos-7-amd64", "ISPsystem__CentOS-7-amd64 "} {
		err := tr.CheckOSTemplate(bad)
		var oe *billing.OSTemplateError
		require.ErrorAs(t, err, &oe, "%q", bad)
		assert.Equal(t, "OSTemplate", oe.Field)
		assert.Equal(t, int64(9), oe.TariffID)
		assert.Equal(t, bad, oe.Template)
		assert.ErrorIs(t, err, billing.ErrOSTemplateNotSold)
		assert.True(t, ispkit.IsInvalidArgument(err))
	}
	assert.Equal(t, `billing: invalid OSTemplate: tariff 9 does not sell OS template "ISPsystem__Windows-2019"`, tr.CheckOSTemplate(win).Error())

	var nilTariff *billing.Tariff
	assert.ErrorIs(t, nilTariff.CheckOSTemplate(debian), billing.ErrOSTemplateNotSold)
}

// Resolve is what the engine calls before touching a server: a template the
// tariff does not sell never gets that far.
func TestResolveRefusesUnsoldTemplate(t *testing.T) {
	t.Parallel()
	tr := dedic(3, "a")
	tr.OSTemplates = []string{debian, centos}

	r, err := tr.Resolve(billing.OrderOptions{OSTemplate: centos})
	require.NoError(t, err)
	assert.Equal(t, centos, r.OSTemplate)
	r, err = tr.Resolve(billing.OrderOptions{})
	require.NoError(t, err)
	assert.Equal(t, debian, r.OSTemplate, "the default is sold")

	opts, err := billing.ParseOrderOptions(map[string]string{"ostemplate": win})
	require.NoError(t, err)
	_, err = tr.Resolve(opts)
	require.ErrorIs(t, err, billing.ErrOSTemplateNotSold)
}

func TestSyncOSTemplatesFillsAnEmptyList(t *testing.T) {
	t.Parallel()
	tr := dedic(1, "a")
	r, err := tr.SyncOSTemplates([]string{win, debian, centos, debian})
	require.NoError(t, err)
	want := []string{centos, debian, win}
	assert.Equal(t, billing.OSTemplateSync{Added: want}, r)
	assert.Equal(t, want, tr.OSTemplates)
	require.NoError(t, tr.Validate())

	// The default is not on the panel: nothing is filled.
	tr = dedic(1, "a")
	r, err = tr.SyncOSTemplates([]string{win})
	var ae *billing.ArgumentError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "OSTemplate", ae.Arg)
	assert.Equal(t, []string{debian}, r.Missing)
	assert.Empty(t, tr.OSTemplates)
}

func TestSyncOSTemplatesReportsMissing(t *testing.T) {
	t.Parallel()
	tr := dedic(1, "a")
	tr.OSTemplates = []string{debian, centos}
	r, err := tr.SyncOSTemplates([]string{"ISPsystem__Ubuntu-22.04-amd64", debian, win})
	require.NoError(t, err)
	assert.Equal(t, billing.OSTemplateSync{Missing: []string{centos}, Unlisted: []string{"ISPsystem__Ubuntu-22.04-amd64", win}}, r)
	assert.Equal(t, []string{debian, centos}, tr.OSTemplates, "listed templates are not dropped by the sync")

	// The default is reported too when the panel lost it.
	r, err = tr.SyncOSTemplates([]string{centos})
	require.NoError(t, err)
	assert.Equal(t, []string{debian}, r.Missing)

	var ae *billing.ArgumentError
	_, err = tr.SyncOSTemplates([]string{debian, ""})
	require.ErrorAs(t, err, &ae)
	hosting := &billing.Tariff{ID: 2, Name: "h", ProductType: billing.ProductSharedHosting, Modules: []string{"isp"}}
	_, err = hosting.SyncOSTemplates([]string{debian})
	require.ErrorAs(t, err, &ae)
	var nilTariff *billing.Tariff
	_, err = nilTariff.SyncOSTemplates(nil)
	require.ErrorAs(t, err, &ae)
}

func TestCatalogSyncOSTemplates(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	require.NoError(t, c.AddModule(mod("a", billing.KindDCImanager5, 1)))
	require.NoError(t, c.AddTariff(dedic(1, "a")))

	_, err := c.SyncOSTemplates(2, []string{debian})
	require.ErrorIs(t, err, billing.ErrNotFound)

	_, err = c.SyncOSTemplates(1, []string{centos})
	require.Error(t, err, "default missing on the panel")
	stored, _ := c.Tariff(1)
	assert.Empty(t, stored.OSTemplates, "the stored tariff is unchanged")

	r, err := c.SyncOSTemplates(1, []string{centos, debian})
	require.NoError(t, err)
	assert.Equal(t, []string{centos, debian}, r.Added)
	stored, _ = c.Tariff(1)
	assert.Equal(t, []string{centos, debian}, stored.OSTemplates)

	r, err = c.SyncOSTemplates(1, []string{debian})
	require.NoError(t, err)
	assert.Equal(t, []string{centos}, r.Missing)
	stored, _ = c.Tariff(1)
	assert.Equal(t, []string{centos, debian}, stored.OSTemplates)

	stored.OSTemplates[0] = "changed" // Tariff hands out deep copies
	again, _ := c.Tariff(1)
	assert.Equal(t, centos, again.OSTemplates[0])
}

func ExampleTariff_SyncOSTemplates() {
	tariff := &billing.Tariff{ID: 5, Name: "E3 server", ProductType: billing.ProductDedicatedServer,
		Modules: []string{"dci"}, ServerConfig: "E3-1230", OSTemplate: "ISPsystem__Debian-12-x86_64"}
	// The template ids DCImanager 5's osmgr list gave (read with the
	// dcimanager5 client; billing reads no panel itself).
	panel := []string{"ISPsystem__Debian-12-x86_64", "ISPsystem__AlmaLinux-9-x86_64"}
	r, err := tariff.SyncOSTemplates(panel)
	fmt.Println(r.Added, err)

	// Later the panel drops AlmaLinux: the tariff keeps it and says so.
	r, _ = tariff.SyncOSTemplates([]string{"ISPsystem__Debian-12-x86_64"})
	fmt.Println("missing on the panel:", r.Missing)

	// An order for a template the tariff does not sell is refused.
	err = tariff.CheckOSTemplate("ISPsystem__Windows-2019")
	fmt.Println(errors.Is(err, billing.ErrOSTemplateNotSold), err)
	// Output:
	// [ISPsystem__AlmaLinux-9-x86_64 ISPsystem__Debian-12-x86_64] <nil>
	// missing on the panel: [ISPsystem__AlmaLinux-9-x86_64]
	// true billing: invalid OSTemplate: tariff 5 does not sell OS template "ISPsystem__Windows-2019"
}
