package billing

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Catalog holds the data centers and processing modules (both keyed by
// name) and the tariffs (keyed by ID) of one billing installation. It is safe for concurrent use. It stores
// and returns deep copies, so values passed in or handed out can be modified
// without affecting the catalog. The zero value is not usable; call
// [NewCatalog].
type Catalog struct {
	mu          sync.RWMutex
	dataCenters map[string]*DataCenter
	modules     map[string]*Module
	tariffs     map[int64]*Tariff
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{dataCenters: make(map[string]*DataCenter), modules: make(map[string]*Module), tariffs: make(map[int64]*Tariff)}
}

// AddModule validates m and adds a copy of it. It fails with the
// *ArgumentError from [Module.Validate] or, for "DataCenter", when the
// module's data center is not in the catalog or a DCImanager 6 module's data
// center is not DCImanager 6 managed; and with an error wrapping [ErrExists]
// if a module of that name is already present. Add the data center first
// ([Catalog.AddDataCenter]).
func (c *Catalog) AddModule(m *Module) error {
	if err := m.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkModuleDataCenterLocked(m); err != nil {
		return err
	}
	if _, ok := c.modules[m.Name]; ok {
		return fmt.Errorf("billing: processing module %q: %w", m.Name, ErrExists)
	}
	c.modules[m.Name] = m.Clone()
	return nil
}

// checkModuleDataCenterLocked checks that m's data center exists and, for a
// DCImanager 6 module, that it is DCImanager 6 managed.
func (c *Catalog) checkModuleDataCenterLocked(m *Module) error {
	if m.DataCenter == "" {
		return nil // Module.Validate requires one where it is needed
	}
	dc, ok := c.dataCenters[m.DataCenter]
	if !ok {
		return invalid("DataCenter", fmt.Sprintf("unknown data center %q (add it to the catalog first)", m.DataCenter))
	}
	if m.Kind == KindDCImanager6 && !dc.DCImanager6 {
		return invalid("DataCenter", fmt.Sprintf("data center %q is not DCImanager 6 managed", m.DataCenter))
	}
	return nil
}

// UpdateModule replaces the module called m.Name with a validated copy of m,
// checked like [Catalog.AddModule]. It fails with an error wrapping
// [ErrNotFound] for an unknown module, and with a *ModuleInUseError
// (wrapping [ErrModuleInUse]) when tariffs use the module and the update
// changes its NewServerType or its Kind. Moving a module to another data
// center is allowed.
func (c *Catalog) UpdateModule(m *Module) error {
	if err := m.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.modules[m.Name]
	if !ok {
		return fmt.Errorf("billing: processing module %q: %w", m.Name, ErrNotFound)
	}
	if err := c.checkModuleDataCenterLocked(m); err != nil {
		return err
	}
	if ids := c.tariffsUsingLocked(m.Name); len(ids) > 0 {
		switch {
		case old.NewServerType != m.NewServerType:
			return &ModuleInUseError{Module: m.Name, Op: "change NewServerType", Tariffs: ids}
		case old.Kind != m.Kind:
			return &ModuleInUseError{Module: m.Name, Op: "change Kind", Tariffs: ids}
		}
	}
	c.modules[m.Name] = m.Clone()
	return nil
}

// SetNewServerType changes the NewServerType option of module name. As in
// BILLmanager, the server type cannot be changed while at least one tariff
// uses the module: that returns a *ModuleInUseError wrapping
// [ErrModuleInUse]. Setting the current value again is a no-op and always
// succeeds. An unknown module yields an error wrapping [ErrNotFound]; turning
// the option on for a module without a Department yields a *ArgumentError.
func (c *Catalog) SetNewServerType(name string, on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.modules[name]
	if !ok {
		return fmt.Errorf("billing: processing module %q: %w", name, ErrNotFound)
	}
	if m.NewServerType == on {
		return nil
	}
	if ids := c.tariffsUsingLocked(name); len(ids) > 0 {
		return &ModuleInUseError{Module: name, Op: "change NewServerType", Tariffs: ids}
	}
	n := m.Clone()
	n.NewServerType = on
	if err := n.Validate(); err != nil {
		return err
	}
	c.modules[name] = n
	return nil
}

// RemoveModule deletes module name. It fails with a *ModuleInUseError while
// tariffs use it and with an error wrapping [ErrNotFound] if it is unknown.
func (c *Catalog) RemoveModule(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.modules[name]; !ok {
		return fmt.Errorf("billing: processing module %q: %w", name, ErrNotFound)
	}
	if ids := c.tariffsUsingLocked(name); len(ids) > 0 {
		return &ModuleInUseError{Module: name, Op: "remove", Tariffs: ids}
	}
	delete(c.modules, name)
	return nil
}

// Module returns a copy of module name, or an error wrapping [ErrNotFound].
func (c *Catalog) Module(name string) (*Module, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.modules[name]
	if !ok {
		return nil, fmt.Errorf("billing: processing module %q: %w", name, ErrNotFound)
	}
	return m.Clone(), nil
}

// Modules returns copies of all modules in selection order (see
// [Catalog.SelectModules]).
func (c *Catalog) Modules() []*Module {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Module, 0, len(c.modules))
	for _, m := range c.modules {
		out = append(out, m.Clone())
	}
	c.sortModulesLocked(out)
	return out
}

// AddTariff validates t and adds a copy of it. Beyond [Tariff.Validate], every
// module t names must be in the catalog (*ArgumentError for "Modules"
// otherwise) and able to serve its product type (see
// [ProductType.ServedBy]). A duplicate ID yields an error wrapping
// [ErrExists].
func (c *Catalog) AddTariff(t *Tariff) error {
	return c.putTariff(t, false)
}

// UpdateTariff replaces the tariff with ID t.ID, checked like [Catalog.AddTariff].
// An unknown ID yields an error wrapping [ErrNotFound].
func (c *Catalog) UpdateTariff(t *Tariff) error {
	return c.putTariff(t, true)
}

func (c *Catalog) putTariff(t *Tariff, update bool) error {
	if err := t.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, exists := c.tariffs[t.ID]
	switch {
	case update && !exists:
		return fmt.Errorf("billing: tariff %d: %w", t.ID, ErrNotFound)
	case !update && exists:
		return fmt.Errorf("billing: tariff %d: %w", t.ID, ErrExists)
	}
	for _, name := range t.Modules {
		m, ok := c.modules[name]
		if !ok {
			return invalid("Modules", fmt.Sprintf("unknown processing module %q", name))
		}
		if !t.ProductType.ServedBy(m.Kind) {
			return invalid("Modules", fmt.Sprintf("processing module %q (%s) cannot serve product type %q", name, m.Kind, t.ProductType))
		}
	}
	c.tariffs[t.ID] = t.Clone()
	return nil
}

// RemoveTariff deletes tariff id, or returns an error wrapping [ErrNotFound].
func (c *Catalog) RemoveTariff(id int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.tariffs[id]; !ok {
		return fmt.Errorf("billing: tariff %d: %w", id, ErrNotFound)
	}
	delete(c.tariffs, id)
	return nil
}

// Tariff returns a copy of tariff id, or an error wrapping [ErrNotFound].
func (c *Catalog) Tariff(id int64) (*Tariff, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.tariffs[id]
	if !ok {
		return nil, fmt.Errorf("billing: tariff %d: %w", id, ErrNotFound)
	}
	return t.Clone(), nil
}

// Tariffs returns copies of all tariffs ordered by ID.
func (c *Catalog) Tariffs() []*Tariff {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Tariff, 0, len(c.tariffs))
	for _, id := range slices.Sorted(maps.Keys(c.tariffs)) {
		out = append(out, c.tariffs[id].Clone())
	}
	return out
}

// TariffsUsing returns the IDs (ascending) of the tariffs connected to module
// name.
func (c *Catalog) TariffsUsing(name string) []int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tariffsUsingLocked(name)
}

func (c *Catalog) tariffsUsingLocked(name string) []int64 {
	var ids []int64
	for id, t := range c.tariffs {
		if t.UsesModule(name) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// SelectModules returns copies of the catalog's modules connected to t, in
// the order they should be tried: by their data center's SortOrder, then by
// the module's SortOrder ("the processing module with the lowest priority
// will be selected during service activation"), both ascending. The first is
// used for activation; the next one is used when it cannot serve the order
// (BILLmanager's service.getnextmodule).
//
// Ties, which the vendor documents do not order, are broken so that the
// order is deterministic: two data centers with the same SortOrder by data
// center name (so each data center's modules stay together), two modules
// with the same SortOrder by module name. A module without a data center
// counts as being in an unnamed data center of SortOrder 0.
//
// Module names of t that are not in the catalog are skipped. It returns nil
// for a nil t or when no module is found. The tariff does not need to be
// stored in the catalog.
func (c *Catalog) SelectModules(t *Tariff) []*Module {
	if t == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*Module
	seen := make(map[string]bool, len(t.Modules))
	for _, name := range t.Modules {
		m, ok := c.modules[name]
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, m.Clone())
	}
	c.sortModulesLocked(out)
	return out
}

// sortModulesLocked orders ms by data-center sort order and name, then
// module sort order and name.
func (c *Catalog) sortModulesLocked(ms []*Module) {
	dcSort := func(m *Module) int {
		if dc, ok := c.dataCenters[m.DataCenter]; ok {
			return dc.SortOrder
		}
		return 0
	}
	slices.SortFunc(ms, func(a, b *Module) int {
		return cmp.Or(cmp.Compare(dcSort(a), dcSort(b)), cmp.Compare(a.DataCenter, b.DataCenter),
			cmp.Compare(a.SortOrder, b.SortOrder), cmp.Compare(a.Name, b.Name))
	})
}
