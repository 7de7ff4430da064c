package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/ispkit/ispkit/billing"
)

// Choices are the order options a plan accepts: what a customer may pick
// in the billing system's order form. The bridge refuses anything else
// before the engine sees it, because a value the panels refuse (an OS
// template that does not exist, more addresses than the pool holds) fails
// on server after server, and each failed server is disabled and taken out
// of sale until an operator looks at it.
type Choices struct {
	// OSTemplates are the OS templates that may be ordered (options os, OS
	// or ostemplate); the plan's own default is always among them.
	OSTemplates []string `json:"os_templates,omitempty"`
	// Recipes are the recipes that may be ordered (option recipe).
	Recipes []string `json:"recipes,omitempty"`
	// MaxIPv4 and MaxIPv6 bound the extra addresses (options IP, IPv6).
	MaxIPv4 int `json:"max_ipv4"`
	MaxIPv6 int `json:"max_ipv6"`
}

// Default bounds of the extra addresses of a dedicated plan.
const (
	defaultMaxIPv4 = 4
	defaultMaxIPv6 = 16
)

// choicesOf derives a plan's choices from its -plans entry: the default OS
// template and recipe plus the listed ones, and the address bounds. A
// hosting plan takes no options.
func choicesOf(ps planSpec) Choices {
	if ps.Kind != "dedicated" {
		return Choices{}
	}
	c := Choices{MaxIPv4: defaultMaxIPv4, MaxIPv6: defaultMaxIPv6}
	add := func(list *[]string, vs ...string) {
		for _, v := range vs {
			if v != "" && !slices.Contains(*list, v) {
				*list = append(*list, v)
			}
		}
	}
	add(&c.OSTemplates, ps.OSTemplate)
	add(&c.OSTemplates, ps.OSTemplates...)
	add(&c.Recipes, billing.DefaultRecipe, ps.Recipe)
	add(&c.Recipes, ps.Recipes...)
	if ps.MaxIPv4 != nil {
		c.MaxIPv4 = *ps.MaxIPv4
	}
	if ps.MaxIPv6 != nil {
		c.MaxIPv6 = *ps.MaxIPv6
	}
	return c
}

func planChoices(plans []planSpec) map[int64]Choices {
	out := make(map[int64]Choices, len(plans))
	for _, ps := range plans {
		out[ps.ID] = choicesOf(ps)
	}
	return out
}

// check refuses order options outside the choices.
func (c Choices) check(op string, opts map[string]string) error {
	var os string
	for _, k := range slices.Sorted(maps.Keys(opts)) { // the same error for the same input
		v := opts[k]
		field := "options." + k
		switch k {
		case billing.OptionOS, billing.OptionOSUpper, billing.OptionOSTemplate:
			if os != "" && v != os {
				return argErr(op, field, "names another OS template than the other OS option")
			}
			os = v
			if !slices.Contains(c.OSTemplates, v) {
				return argErr(op, field, c.refusal("OS template", c.OSTemplates))
			}
		case billing.OptionRecipe:
			if !slices.Contains(c.Recipes, v) {
				return argErr(op, field, c.refusal("recipe", c.Recipes))
			}
		case billing.OptionIPv4, billing.OptionIPv6:
			limit := c.MaxIPv4
			if k == billing.OptionIPv6 {
				limit = c.MaxIPv6
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > limit {
				return argErr(op, field, fmt.Sprintf("must be a number of addresses from 0 to %d", limit))
			}
		default:
			return argErr(op, field, "unknown option: the options are os, OS, ostemplate, recipe, IP and IPv6")
		}
	}
	return nil
}

func (c Choices) refusal(what string, allowed []string) string {
	if len(allowed) == 0 {
		return "this plan takes no " + what
	}
	return fmt.Sprintf("not a %s of this plan (GET /v1/plans lists them)", what)
}
