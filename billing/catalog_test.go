package billing_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
)

func mod(name string, kind billing.ModuleKind, sort int) *billing.Module {
	m := &billing.Module{Kind: kind, Name: name, URL: "https://" + name + ".example.com", Username: "admin", Password: "pw", SortOrder: sort, Department: "Tech"}
	if kind == billing.KindDCImanager6 {
		m.DataCenter = "dc6"
	}
	return m
}

// newCatalog returns a catalog with the DCImanager 6 managed data center
// "dc6" (location 1) that mod puts DCImanager 6 modules in.
func newCatalog(t *testing.T) *billing.Catalog {
	t.Helper()
	c := billing.NewCatalog()
	require.NoError(t, c.AddDataCenter(&billing.DataCenter{Name: "dc6", DCImanager6: true, LocationID: 1}))
	return c
}

func dedic(id int64, modules ...string) *billing.Tariff {
	return &billing.Tariff{ID: id, Name: fmt.Sprintf("tariff %d", id), ProductType: billing.ProductDedicatedServer, Modules: modules, ServerConfig: "E3-1230", OSTemplate: "ISPsystem__Debian-10-x86_64"}
}

func names(ms []*billing.Module) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

func TestSelectModulesOrder(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	require.NoError(t, c.AddModule(mod("zeta", billing.KindDCImanager5, 1)))
	require.NoError(t, c.AddModule(mod("alpha", billing.KindDCImanager6, 5)))
	require.NoError(t, c.AddModule(mod("beta", billing.KindDCImanager5, 1)))
	require.NoError(t, c.AddModule(mod("unused", billing.KindDCImanager5, 0)))

	tests := []struct {
		name    string
		modules []string
		want    []string
	}{
		{"lowest sort first, ties by name", []string{"alpha", "zeta", "beta"}, []string{"beta", "zeta", "alpha"}},
		{"single", []string{"alpha"}, []string{"alpha"}},
		{"unknown skipped", []string{"ghost", "alpha"}, []string{"alpha"}},
		{"duplicates collapse", []string{"alpha", "alpha"}, []string{"alpha"}},
		{"none known", []string{"ghost"}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := c.SelectModules(&billing.Tariff{Modules: tc.modules})
			assert.Equal(t, tc.want, names(got))
		})
	}
	assert.Nil(t, c.SelectModules(nil))
}

func TestSelectModulesReturnsCopies(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	require.NoError(t, c.AddModule(mod("a", billing.KindDCImanager5, 1)))
	got := c.SelectModules(&billing.Tariff{Modules: []string{"a"}})
	require.Len(t, got, 1)
	got[0].SortOrder = 99
	m, err := c.Module("a")
	require.NoError(t, err)
	assert.Equal(t, 1, m.SortOrder)
}

func TestCatalogModuleCRUD(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	m := mod("a", billing.KindDCImanager5, 1)
	require.NoError(t, c.AddModule(m))
	require.ErrorIs(t, c.AddModule(m), billing.ErrExists)

	m.Password = "changed" // the catalog holds its own copy
	got, err := c.Module("a")
	require.NoError(t, err)
	assert.Equal(t, "pw", got.Password)

	_, err = c.Module("nope")
	require.ErrorIs(t, err, billing.ErrNotFound)

	bad := mod("b", billing.KindDCImanager5, 1)
	bad.URL = ""
	var ve *billing.ArgumentError
	require.ErrorAs(t, c.AddModule(bad), &ve)

	m.SortOrder = 7
	require.NoError(t, c.UpdateModule(m))
	got, err = c.Module("a")
	require.NoError(t, err)
	assert.Equal(t, 7, got.SortOrder)
	require.ErrorIs(t, c.UpdateModule(mod("ghost", billing.KindDCImanager5, 1)), billing.ErrNotFound)

	require.ErrorIs(t, c.RemoveModule("ghost"), billing.ErrNotFound)
	require.NoError(t, c.RemoveModule("a"))
	assert.Empty(t, c.Modules())
}

func TestNewServerTypeInUse(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	require.NoError(t, c.AddModule(mod("dci", billing.KindDCImanager5, 1)))

	// Unused: the change is allowed.
	require.NoError(t, c.SetNewServerType("dci", true))
	m, err := c.Module("dci")
	require.NoError(t, err)
	assert.True(t, m.NewServerType)

	require.NoError(t, c.AddTariff(dedic(7, "dci")))
	require.NoError(t, c.AddTariff(dedic(3, "dci")))

	err = c.SetNewServerType("dci", false)
	require.ErrorIs(t, err, billing.ErrModuleInUse)
	var inUse *billing.ModuleInUseError
	require.ErrorAs(t, err, &inUse)
	assert.Equal(t, "dci", inUse.Module)
	assert.Equal(t, []int64{3, 7}, inUse.Tariffs)
	assert.Contains(t, err.Error(), `"dci"`)
	assert.Contains(t, err.Error(), "3, 7")

	// Same value again is a no-op.
	require.NoError(t, c.SetNewServerType("dci", true))

	// UpdateModule guards the same field.
	m.NewServerType = false
	require.ErrorIs(t, c.UpdateModule(m), billing.ErrModuleInUse)
	m.NewServerType = true
	m.Kind = billing.KindDCImanager6
	m.DataCenter = "dc6"
	require.ErrorIs(t, c.UpdateModule(m), billing.ErrModuleInUse)
	require.ErrorIs(t, c.RemoveModule("dci"), billing.ErrModuleInUse)

	// Other fields may change while in use.
	m.Kind = billing.KindDCImanager5
	m.SortOrder = 3
	require.NoError(t, c.UpdateModule(m))

	// After the tariffs are gone the change is allowed again.
	require.NoError(t, c.RemoveTariff(3))
	require.NoError(t, c.RemoveTariff(7))
	require.NoError(t, c.SetNewServerType("dci", false))
	require.ErrorIs(t, c.SetNewServerType("ghost", true), billing.ErrNotFound)
}

func TestSetNewServerTypeValidates(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	m := mod("dci", billing.KindDCImanager5, 1)
	m.Department = ""
	require.NoError(t, c.AddModule(m))
	var ve *billing.ArgumentError
	require.ErrorAs(t, c.SetNewServerType("dci", true), &ve)
	assert.Equal(t, "Department", ve.Arg)
	got, err := c.Module("dci")
	require.NoError(t, err)
	assert.False(t, got.NewServerType, "a refused change leaves the module untouched")
}

func TestCatalogTariffs(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	require.NoError(t, c.AddModule(mod("dci", billing.KindDCImanager5, 1)))
	require.NoError(t, c.AddModule(mod("isp", billing.KindISPmanager, 1)))

	tests := []struct {
		name   string
		tariff *billing.Tariff
		check  func(t *testing.T, err error)
	}{
		{"ok", dedic(1, "dci"), func(t *testing.T, err error) { require.NoError(t, err) }},
		{"unknown module", dedic(2, "ghost"), func(t *testing.T, err error) {
			var ve *billing.ArgumentError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "Modules", ve.Arg)
		}},
		{"wrong kind", dedic(3, "isp"), func(t *testing.T, err error) {
			var ve *billing.ArgumentError
			require.ErrorAs(t, err, &ve)
			assert.Contains(t, ve.Reason, "cannot serve")
		}},
		{"hosting on ispmanager", &billing.Tariff{ID: 4, Name: "Site hosting", ProductType: billing.ProductSharedHosting, Modules: []string{"isp"}}, func(t *testing.T, err error) {
			require.NoError(t, err)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, c.AddTariff(tc.tariff))
		})
	}
	require.ErrorIs(t, c.AddTariff(dedic(1, "dci")), billing.ErrExists)
	require.ErrorIs(t, c.UpdateTariff(dedic(99, "dci")), billing.ErrNotFound)

	upd := dedic(1, "dci")
	upd.Name = "renamed"
	require.NoError(t, c.UpdateTariff(upd))
	got, err := c.Tariff(1)
	require.NoError(t, err)
	assert.Equal(t, "renamed", got.Name)

	got.Modules[0] = "mutated"
	again, err := c.Tariff(1)
	require.NoError(t, err)
	assert.Equal(t, []string{"dci"}, again.Modules)

	_, err = c.Tariff(42)
	require.ErrorIs(t, err, billing.ErrNotFound)
	require.ErrorIs(t, c.RemoveTariff(42), billing.ErrNotFound)

	ids := []int64{}
	for _, tr := range c.Tariffs() {
		ids = append(ids, tr.ID)
	}
	assert.Equal(t, []int64{1, 4}, ids)
	assert.Equal(t, []int64{1}, c.TariffsUsing("dci"))
}

func TestCatalogConcurrent(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	require.NoError(t, c.AddModule(mod("dci", billing.KindDCImanager5, 1)))
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("m%02d", i)
			assert.NoError(t, c.AddModule(mod(name, billing.KindDCImanager5, i)))
			assert.NoError(t, c.AddTariff(dedic(int64(i+1), name, "dci")))
			_ = c.SelectModules(dedic(1, name, "dci"))
			_ = c.SetNewServerType("dci", i%2 == 0)
		}()
	}
	wg.Wait()
	assert.Len(t, c.Modules(), 21)
	assert.Len(t, c.TariffsUsing("dci"), 20)
}
