package billing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/billing"
)

func TestDataCenterValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		dc    *billing.DataCenter
		field string // "" = valid
	}{
		{"plain", &billing.DataCenter{Name: "Amsterdam", SortOrder: 3}, ""},
		{"dci6 managed", &billing.DataCenter{Name: "Frankfurt", DCImanager6: true, LocationID: 7}, ""},
		{"nil", nil, "DataCenter"},
		{"no name", &billing.DataCenter{}, "Name"},
		{"padded name", &billing.DataCenter{Name: " A"}, "Name"},
		{"dci6 without location", &billing.DataCenter{Name: "F", DCImanager6: true}, "LocationID"},
		{"dci6 negative location", &billing.DataCenter{Name: "F", DCImanager6: true, LocationID: -1}, "LocationID"},
		{"location without dci6", &billing.DataCenter{Name: "F", LocationID: 2}, "LocationID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.dc.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var ae *billing.ArgumentError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tc.field, ae.Arg)
			assert.True(t, ispkit.IsInvalidArgument(err))
		})
	}
}

func TestCatalogDataCenterCRUD(t *testing.T) {
	t.Parallel()
	c := billing.NewCatalog()
	d := &billing.DataCenter{Name: "Frankfurt", DCImanager6: true, LocationID: 2, SortOrder: 5}
	require.NoError(t, c.AddDataCenter(d))
	require.ErrorIs(t, c.AddDataCenter(d), billing.ErrExists)
	var ae *billing.ArgumentError
	require.ErrorAs(t, c.AddDataCenter(&billing.DataCenter{Name: "x", DCImanager6: true}), &ae)

	d.LocationID = 99 // the catalog holds its own copy
	got, err := c.DataCenter("Frankfurt")
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.LocationID)
	got.SortOrder = 42 // and hands out copies
	got, _ = c.DataCenter("Frankfurt")
	assert.Equal(t, 5, got.SortOrder)

	_, err = c.DataCenter("Nowhere")
	require.ErrorIs(t, err, billing.ErrNotFound)
	require.ErrorIs(t, c.UpdateDataCenter(&billing.DataCenter{Name: "Nowhere"}), billing.ErrNotFound)
	require.ErrorIs(t, c.RemoveDataCenter("Nowhere"), billing.ErrNotFound)

	require.NoError(t, c.AddDataCenter(&billing.DataCenter{Name: "Amsterdam", SortOrder: 1}))
	require.NoError(t, c.AddDataCenter(&billing.DataCenter{Name: "Berlin", SortOrder: 1}))
	var order []string
	for _, dc := range c.DataCenters() {
		order = append(order, dc.Name)
	}
	assert.Equal(t, []string{"Amsterdam", "Berlin", "Frankfurt"}, order, "sort order, then name")

	require.NoError(t, c.UpdateDataCenter(&billing.DataCenter{Name: "Frankfurt", DCImanager6: true, LocationID: 3}))
	got, _ = c.DataCenter("Frankfurt")
	assert.Equal(t, int64(3), got.LocationID)
	require.NoError(t, c.RemoveDataCenter("Berlin"))
	_, err = c.DataCenter("Berlin")
	require.ErrorIs(t, err, billing.ErrNotFound)
}

func TestModuleBelongsToKnownDataCenter(t *testing.T) {
	t.Parallel()
	c := billing.NewCatalog()
	require.NoError(t, c.AddDataCenter(&billing.DataCenter{Name: "Amsterdam"}))
	require.NoError(t, c.AddDataCenter(&billing.DataCenter{Name: "Frankfurt", DCImanager6: true, LocationID: 4}))

	ghost := mod("dci5", billing.KindDCImanager5, 1)
	ghost.DataCenter = "Nowhere"
	var ae *billing.ArgumentError
	require.ErrorAs(t, c.AddModule(ghost), &ae)
	assert.Equal(t, "DataCenter", ae.Arg)

	dci6 := mod("dci6", billing.KindDCImanager6, 1)
	dci6.DataCenter = "Amsterdam" // not DCImanager 6 managed
	require.ErrorAs(t, c.AddModule(dci6), &ae)
	assert.Equal(t, "DataCenter", ae.Arg)
	assert.Contains(t, ae.Reason, "not DCImanager 6 managed")

	dci6.DataCenter = "Frankfurt"
	require.NoError(t, c.AddModule(dci6))
	dci6.DataCenter = "Amsterdam"
	require.ErrorAs(t, c.UpdateModule(dci6), &ae, "moving it to an unmanaged data center is refused")

	// A DCImanager 5 module may sit in any data center, or in none.
	dci5 := mod("dci5", billing.KindDCImanager5, 1)
	dci5.DataCenter = "Frankfurt"
	require.NoError(t, c.AddModule(dci5))
	dci5.DataCenter = ""
	require.NoError(t, c.UpdateModule(dci5))
	dc, err := c.ModuleDataCenter("dci5")
	require.NoError(t, err)
	assert.Nil(t, dc)
	dci5.DataCenter = "Amsterdam"
	require.NoError(t, c.UpdateModule(dci5))

	// The data centers are now in use.
	var inUse *billing.DataCenterInUseError
	err = c.RemoveDataCenter("Frankfurt")
	require.ErrorAs(t, err, &inUse)
	require.ErrorIs(t, err, billing.ErrDataCenterInUse)
	assert.Equal(t, []string{"dci6"}, inUse.Modules)
	assert.Equal(t, `billing: cannot remove: data center "Frankfurt" has processing module(s) dci6`, err.Error())
	err = c.UpdateDataCenter(&billing.DataCenter{Name: "Frankfurt"})
	require.ErrorIs(t, err, billing.ErrDataCenterInUse, "the DCImanager 6 module would lose its location")
	require.NoError(t, c.UpdateDataCenter(&billing.DataCenter{Name: "Amsterdam", SortOrder: 9}),
		"no DCImanager 6 module there: any change is fine")
	assert.Equal(t, []string{"dci5"}, c.ModulesIn("Amsterdam"))

	require.NoError(t, c.RemoveModule("dci6"))
	require.NoError(t, c.RemoveDataCenter("Frankfurt"))
}

func TestCatalogLocationID(t *testing.T) {
	t.Parallel()
	c := newCatalog(t) // "dc6", location 1
	require.NoError(t, c.AddModule(mod("dci6", billing.KindDCImanager6, 1)))
	require.NoError(t, c.AddModule(mod("dci5", billing.KindDCImanager5, 1)))

	loc, err := c.LocationID("dci6")
	require.NoError(t, err)
	assert.Equal(t, int64(1), loc)
	dc, err := c.ModuleDataCenter("dci6")
	require.NoError(t, err)
	assert.Equal(t, &billing.DataCenter{Name: "dc6", DCImanager6: true, LocationID: 1}, dc)

	// The location is given once: changing the data center changes it for
	// the module.
	require.NoError(t, c.UpdateDataCenter(&billing.DataCenter{Name: "dc6", DCImanager6: true, LocationID: 8}))
	loc, err = c.LocationID("dci6")
	require.NoError(t, err)
	assert.Equal(t, int64(8), loc)

	var ae *billing.ArgumentError
	_, err = c.LocationID("dci5")
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "DataCenter", ae.Arg)
	_, err = c.LocationID("ghost")
	require.ErrorIs(t, err, billing.ErrNotFound)
	_, err = c.ModuleDataCenter("ghost")
	require.ErrorIs(t, err, billing.ErrNotFound)
}

func TestSelectModulesByDataCenter(t *testing.T) {
	t.Parallel()
	c := billing.NewCatalog()
	for _, d := range []*billing.DataCenter{
		{Name: "far", SortOrder: 9},
		{Name: "near-b", SortOrder: 1},
		{Name: "near-a", SortOrder: 1},
		{Name: "zero", SortOrder: 0},
	} {
		require.NoError(t, c.AddDataCenter(d))
	}
	add := func(name, dc string, sort int) {
		m := mod(name, billing.KindDCImanager5, sort)
		m.DataCenter = dc
		require.NoError(t, c.AddModule(m))
	}
	add("far-1", "far", 1)   // best module sort, worst data center
	add("nb-5", "near-b", 5) // data-center tie with near-a: by name
	add("na-7", "near-a", 7) //
	add("na-3", "near-a", 3) //
	add("z-4", "zero", 4)    // sort order 0 data center
	add("none-2", "", 2)     // no data center: counts as sort order 0, name ""
	add("none-2b", "", 2)    // module tie: by name
	require.NoError(t, c.AddTariff(dedic(1, "far-1", "nb-5", "na-7", "na-3", "z-4", "none-2", "none-2b")))
	tf, err := c.Tariff(1)
	require.NoError(t, err)
	want := []string{"none-2", "none-2b", "z-4", "na-3", "na-7", "nb-5", "far-1"}
	assert.Equal(t, want, names(c.SelectModules(tf)))
	assert.Equal(t, want, names(c.Modules()), "Modules uses the selection order")

	// Re-sorting a data center re-orders its modules as a block.
	require.NoError(t, c.UpdateDataCenter(&billing.DataCenter{Name: "far", SortOrder: -1}))
	assert.Equal(t, []string{"far-1", "none-2", "none-2b", "z-4", "na-3", "na-7", "nb-5"}, names(c.SelectModules(tf)))
}
