package billing

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// DataCenter is a BILLmanager data center (Integration → Data centers).
// Processing modules belong to a data center ([Module.DataCenter] holds its
// name); when several modules can serve an order, those of the data center
// with the lowest SortOrder are tried first (see [Catalog.SelectModules]).
//
// BILLmanager 6 sells DCImanager 6 servers only from a "DCImanager 6
// managed" data center, which names the DCImanager 6 location the servers
// come from ("DCImanager 6 Location ID"). This is the one place that holds
// the location: a DCImanager 6 module finds it through its data center
// ([Catalog.LocationID]).
type DataCenter struct {
	// Name is the data center's name, chosen by the provider. It is the
	// data center's key in a [Catalog] and what Module.DataCenter refers
	// to.
	Name string
	// DCImanager6 is BILLmanager's "DCImanager 6 managed data center"
	// switch. DCImanager 6 processing modules must belong to such a data
	// center.
	DCImanager6 bool
	// LocationID is the DCImanager 6 location the data center's servers
	// are provided from. It is required (positive) when DCImanager6 is set
	// and must be zero otherwise.
	LocationID int64
	// SortOrder is the data center's "Sorting order": modules of the data
	// center with the lowest value are tried first.
	SortOrder int
}

// Validate checks the data center on its own and returns the first problem
// as an *ArgumentError: Name must be non-empty without surrounding white
// space; a DCImanager 6 managed data center needs a positive LocationID; a
// data center that is not DCImanager 6 managed must not have one (a
// location nobody reads would be a silent misconfiguration).
func (d *DataCenter) Validate() error {
	if d == nil {
		return invalid("DataCenter", "nil")
	}
	if d.Name == "" {
		return invalid("Name", "required")
	}
	if strings.TrimSpace(d.Name) != d.Name {
		return invalid("Name", "must not start or end with white space")
	}
	switch {
	case d.DCImanager6 && d.LocationID <= 0:
		return invalid("LocationID", "a DCImanager 6 managed data center needs a positive DCImanager 6 location ID")
	case !d.DCImanager6 && d.LocationID != 0:
		return invalid("LocationID", "only a DCImanager 6 managed data center has a location ID")
	}
	return nil
}

// Clone returns a copy of d.
func (d *DataCenter) Clone() *DataCenter {
	if d == nil {
		return nil
	}
	c := *d
	return &c
}

// DataCenterInUseError is returned when a change to a data center is refused
// because processing modules belong to it. It unwraps to
// [ErrDataCenterInUse].
type DataCenterInUseError struct {
	// DataCenter is the data center's name.
	DataCenter string
	// Op is the refused change, for example "remove".
	Op string
	// Modules are the names of the modules that belong to it, sorted.
	Modules []string
}

// Error implements error.
func (e *DataCenterInUseError) Error() string {
	return fmt.Sprintf("billing: cannot %s: data center %q has processing module(s) %s",
		e.Op, e.DataCenter, strings.Join(e.Modules, ", "))
}

// Unwrap returns [ErrDataCenterInUse].
func (e *DataCenterInUseError) Unwrap() error { return ErrDataCenterInUse }

// AddDataCenter validates d and adds a copy of it. It fails with the
// *ArgumentError from [DataCenter.Validate], or with an error wrapping
// [ErrExists] if a data center of that name is already present.
func (c *Catalog) AddDataCenter(d *DataCenter) error {
	if err := d.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.dataCenters[d.Name]; ok {
		return fmt.Errorf("billing: data center %q: %w", d.Name, ErrExists)
	}
	c.dataCenters[d.Name] = d.Clone()
	return nil
}

// UpdateDataCenter replaces the data center called d.Name with a validated
// copy of d. An unknown name yields an error wrapping [ErrNotFound]. Turning
// DCImanager 6 management off while DCImanager 6 modules belong to the data
// center is refused with a *DataCenterInUseError (those modules would lose
// their location). Changing the location or the sort order is allowed: it
// applies to the next orders.
func (c *Catalog) UpdateDataCenter(d *DataCenter) error {
	if err := d.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.dataCenters[d.Name]; !ok {
		return fmt.Errorf("billing: data center %q: %w", d.Name, ErrNotFound)
	}
	if !d.DCImanager6 {
		var dci6 []string
		for _, m := range c.modulesInLocked(d.Name) {
			if c.modules[m].Kind == KindDCImanager6 {
				dci6 = append(dci6, m)
			}
		}
		if len(dci6) > 0 {
			return &DataCenterInUseError{DataCenter: d.Name, Op: "turn off DCImanager 6 management", Modules: dci6}
		}
	}
	c.dataCenters[d.Name] = d.Clone()
	return nil
}

// RemoveDataCenter deletes data center name. It fails with a
// *DataCenterInUseError while modules belong to it and with an error
// wrapping [ErrNotFound] if it is unknown.
func (c *Catalog) RemoveDataCenter(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.dataCenters[name]; !ok {
		return fmt.Errorf("billing: data center %q: %w", name, ErrNotFound)
	}
	if ms := c.modulesInLocked(name); len(ms) > 0 {
		return &DataCenterInUseError{DataCenter: name, Op: "remove", Modules: ms}
	}
	delete(c.dataCenters, name)
	return nil
}

// DataCenter returns a copy of data center name, or an error wrapping
// [ErrNotFound].
func (c *Catalog) DataCenter(name string) (*DataCenter, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	d, ok := c.dataCenters[name]
	if !ok {
		return nil, fmt.Errorf("billing: data center %q: %w", name, ErrNotFound)
	}
	return d.Clone(), nil
}

// DataCenters returns copies of all data centers ordered by SortOrder, then
// name.
func (c *Catalog) DataCenters() []*DataCenter {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*DataCenter, 0, len(c.dataCenters))
	for _, d := range c.dataCenters {
		out = append(out, d.Clone())
	}
	slices.SortFunc(out, func(a, b *DataCenter) int {
		return cmp.Or(cmp.Compare(a.SortOrder, b.SortOrder), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// ModulesIn returns the names (sorted) of the modules that belong to data
// center name.
func (c *Catalog) ModulesIn(name string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.modulesInLocked(name)
}

func (c *Catalog) modulesInLocked(name string) []string {
	var out []string
	for n, m := range c.modules {
		if m.DataCenter == name {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// ModuleDataCenter returns a copy of the data center module belongs to, or
// nil (and no error) when the module belongs to none. An unknown module
// yields an error wrapping [ErrNotFound].
func (c *Catalog) ModuleDataCenter(module string) (*DataCenter, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.modules[module]
	if !ok {
		return nil, fmt.Errorf("billing: processing module %q: %w", module, ErrNotFound)
	}
	if m.DataCenter == "" {
		return nil, nil
	}
	// AddModule and the data-center methods keep the reference valid.
	return c.dataCenters[m.DataCenter].Clone(), nil
}

// LocationID returns the DCImanager 6 location a module's servers come from:
// the LocationID of the module's DCImanager 6 managed data center. This is
// what a DCImanager 6 backend is configured with. An unknown module yields
// an error wrapping [ErrNotFound]; a module that is not in a DCImanager 6
// managed data center (any module that is not a DCImanager 6 module may be)
// yields an *ArgumentError for "DataCenter".
func (c *Catalog) LocationID(module string) (int64, error) {
	dc, err := c.ModuleDataCenter(module)
	if err != nil {
		return 0, err
	}
	if dc == nil || !dc.DCImanager6 {
		return 0, invalid("DataCenter", fmt.Sprintf("processing module %q is not in a DCImanager 6 managed data center", module))
	}
	return dc.LocationID, nil
}
