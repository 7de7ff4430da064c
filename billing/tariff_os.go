package billing

import (
	"fmt"
	"slices"

	"github.com/ispkit/ispkit"
)

// ErrOSTemplateNotSold is matched (with errors.Is) by an *OSTemplateError.
var ErrOSTemplateNotSold = fmt.Errorf("billing: OS template not sold by the tariff")

// OSTemplateError reports an order whose OS template the tariff does not sell
// (it is not in [Tariff.OSTemplates]). It matches both [ErrOSTemplateNotSold]
// and ispkit.ErrInvalidArgument: it is refused input, reported before any
// server is touched. The template name is not a secret and is part of the
// message.
type OSTemplateError struct {
	// TariffID is the tariff the order was checked against.
	TariffID int64
	// Field is the order field that holds the template: "OSTemplate".
	Field string
	// Template is the refused template.
	Template string
}

// Error implements error.
func (e *OSTemplateError) Error() string {
	return fmt.Sprintf("billing: invalid %s: tariff %d does not sell OS template %q", e.Field, e.TariffID, e.Template)
}

// Is reports whether target is ErrOSTemplateNotSold or
// ispkit.ErrInvalidArgument.
func (e *OSTemplateError) Is(target error) bool {
	return target == ErrOSTemplateNotSold || target == ispkit.ErrInvalidArgument
}

// SellsOSTemplate reports whether the tariff sells template: it is in
// OSTemplates, or OSTemplates is empty (no restriction) and template is not
// empty. Names compare exactly and case-sensitively, as the panels list them.
func (t *Tariff) SellsOSTemplate(template string) bool {
	if t == nil || template == "" {
		return false
	}
	return len(t.OSTemplates) == 0 || slices.Contains(t.OSTemplates, template)
}

// CheckOSTemplate returns nil when the tariff sells template (see
// [Tariff.SellsOSTemplate]) and an *OSTemplateError naming the field
// "OSTemplate" otherwise. The engine calls it (through [Tariff.Resolve])
// before any server is touched, so a customer cannot get a template the
// provider did not activate for the tariff.
func (t *Tariff) CheckOSTemplate(template string) error {
	if t.SellsOSTemplate(template) {
		return nil
	}
	var id int64
	if t != nil {
		id = t.ID
	}
	return &OSTemplateError{TariffID: id, Field: "OSTemplate", Template: template}
}

func (t *Tariff) validateOSTemplates() error {
	if len(t.OSTemplates) == 0 {
		return nil
	}
	if t.ProductType != ProductDedicatedServer {
		return invalid("OSTemplates", "only dedicated-server tariffs sell OS templates")
	}
	seen := make(map[string]bool, len(t.OSTemplates))
	for _, name := range t.OSTemplates {
		switch {
		case name == "":
			return invalid("OSTemplates", "empty template name")
		case seen[name]:
			return invalid("OSTemplates", "duplicate template name")
		}
		seen[name] = true
	}
	if t.OSTemplate != "" && !seen[t.OSTemplate] {
		return invalid("OSTemplate", "the default OS template must be one of OSTemplates")
	}
	return nil
}

// OSTemplateSync is the outcome of [Tariff.SyncOSTemplates]. Every list is
// sorted.
type OSTemplateSync struct {
	// Added are the templates put into an empty OSTemplates list.
	Added []string
	// Missing are templates the tariff lists (the default OSTemplate
	// included) that the panel no longer has. Orders for them would fail
	// on the panel: remove them, or restore them on the panel.
	Missing []string
	// Unlisted are panel templates the tariff does not list (only when the
	// list was not empty): the provider may activate them.
	Unlisted []string
}

// SyncOSTemplates compares the tariff with the panel's OS template list, as
// a provider does after changing templates on the panel (BILLmanager's
// "Activate required OS templates"; DCImanager 5 osmgr, DCImanager 6
// templates of the module's location). panel holds the names as the panel
// gives them, for example the ids of DCImanager 5's osmgr list; billing does
// not read panels itself.
//
// When the tariff lists no templates, the list is filled with the panel's
// (sorted, duplicates dropped) and reported as Added; if the default
// OSTemplate is not on the panel nothing is filled, the default is reported
// Missing and an *ArgumentError for "OSTemplate" is returned. Otherwise the list is
// left as it is and the report says which listed templates the panel no
// longer has (Missing) and which panel templates are not listed
// (Unlisted): removing a template customers may have ordered is the
// provider's decision. An empty name in panel is an *ArgumentError and
// changes nothing. For a tariff that is not a dedicated-server tariff it is
// an *ArgumentError too.
func (t *Tariff) SyncOSTemplates(panel []string) (OSTemplateSync, error) {
	if t == nil {
		return OSTemplateSync{}, invalid("Tariff", "nil")
	}
	if t.ProductType != ProductDedicatedServer {
		return OSTemplateSync{}, invalid("OSTemplates", "only dedicated-server tariffs sell OS templates")
	}
	have := make(map[string]bool, len(panel))
	for _, name := range panel {
		if name == "" {
			return OSTemplateSync{}, invalid("panel", "empty template name in the panel's list")
		}
		have[name] = true
	}
	var r OSTemplateSync
	if len(t.OSTemplates) == 0 {
		if t.OSTemplate != "" && !have[t.OSTemplate] {
			// Filling would sell a list without the default.
			r.Missing = []string{t.OSTemplate}
			return r, invalid("OSTemplate", "the default OS template is not on the panel; the list was not filled")
		}
		for name := range have {
			r.Added = append(r.Added, name)
		}
		slices.Sort(r.Added)
		t.OSTemplates = slices.Clone(r.Added)
		return r, nil
	}
	listed := make(map[string]bool, len(t.OSTemplates)+1)
	for _, name := range append(slices.Clone(t.OSTemplates), t.OSTemplate) {
		if name == "" || listed[name] {
			continue
		}
		listed[name] = true
		if !have[name] {
			r.Missing = append(r.Missing, name)
		}
	}
	for name := range have {
		if !listed[name] {
			r.Unlisted = append(r.Unlisted, name)
		}
	}
	slices.Sort(r.Missing)
	slices.Sort(r.Unlisted)
	return r, nil
}

// SyncOSTemplates runs [Tariff.SyncOSTemplates] on the stored tariff id and
// stores the result when the list was filled, all under the catalog's lock
// (a concurrent update cannot be lost). The report is returned with the
// error, if any. An unknown id yields an error
// wrapping [ErrNotFound].
func (c *Catalog) SyncOSTemplates(id int64, panel []string) (OSTemplateSync, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tariffs[id]
	if !ok {
		return OSTemplateSync{}, fmt.Errorf("billing: tariff %d: %w", id, ErrNotFound)
	}
	n := t.Clone()
	r, err := n.SyncOSTemplates(panel)
	if err == nil && len(r.Added) > 0 {
		c.tariffs[id] = n
	}
	return r, err
}
