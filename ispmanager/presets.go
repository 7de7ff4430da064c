package ispmanager

import (
	"context"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// PresetsService manages user templates ("presets", the "Account
// template" of a BILLmanager tariff). A preset is identified by its name.
type PresetsService service

// Preset is a user template and its limits.
type Preset struct {
	// Name is the template name and its elid; it may contain spaces
	// ("Site hosting").
	Name string
	// Limits are the template's limits. A preset the panel created on its
	// own has every limit Unlimited.
	Limits Limits
}

// List returns the names of all presets with the preset function.
func (s *PresetsService) List(ctx context.Context) ([]string, error) {
	rows, err := s.c.m.List(ctx, mgr5.Request{Func: "preset", Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		if n := r.Get("name"); n != "" {
			out = append(out, n)
		}
	}
	return out, nil
}

// Get reads a preset's limits from the preset.edit form (elid = name):
// every limit_* field, as the WHMCS module does. An
// unknown name fails with IsNotFound.
func (s *PresetsService) Get(ctx context.Context, name string) (*Preset, error) {
	if err := validatePresetName("Presets.Get", name); err != nil {
		return nil, err
	}
	d, err := s.c.m.Call(ctx, mgr5.Request{Func: "preset.edit", Elid: []string{name}, Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	return &Preset{Name: name, Limits: limitsFromForm(d.Form())}, nil
}

// Create adds a preset with preset.edit (sok=ok, no elid, name and the set
// limit_* values). Limits left unset get the panel's defaults. A taken
// name fails with IsExists. Sent once (not idempotent).
func (s *PresetsService) Create(ctx context.Context, p *Preset) error {
	const op = "Presets.Create"
	if p == nil {
		return argErr(op, "preset", "nil")
	}
	if err := validatePresetName(op, p.Name); err != nil {
		return err
	}
	if err := p.Limits.validate(op); err != nil {
		return err
	}
	v := url.Values{"name": {p.Name}}
	encodeLimits(v, p.Limits)
	_, err := s.c.m.Exec(ctx, mgr5.Request{Func: "preset.edit", Sok: true, Params: v, Class: httpx.NonIdempotent})
	return err
}

// Update changes the set limits of preset name with preset.edit (elid =
// name, sok=ok); unset limits keep their values. (assumed) Whether the panel
// re-applies an edited preset to the users created from it is not public;
// the fake does not (document it where it matters and use Users.Update).
func (s *PresetsService) Update(ctx context.Context, name string, l Limits) error {
	const op = "Presets.Update"
	if err := validatePresetName(op, name); err != nil {
		return err
	}
	if l.IsZero() {
		return argErr(op, "limits", "nothing to change")
	}
	if err := l.validate(op); err != nil {
		return err
	}
	v := url.Values{}
	encodeLimits(v, l)
	_, err := s.c.m.Exec(ctx, mgr5.Request{Func: "preset.edit", Elid: []string{name}, Sok: true, Params: v, Class: httpx.IdempotentWrite})
	return err
}

// validatePresetName: 1–64 characters of valid UTF-8, no control
// characters and no comma (a comma would split a group elid).
func validatePresetName(op, name string) error {
	if strings.TrimSpace(name) == "" {
		return argErr(op, "preset name", "empty")
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 64 {
		return argErr(op, "preset name", "longer than 64 characters or not UTF-8")
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || c == ',' {
			return argErr(op, "preset name", "contains a comma or a control character")
		}
	}
	return nil
}
