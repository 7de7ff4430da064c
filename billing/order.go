package billing

import (
	"strconv"
	"strings"
)

// Customer order option keys, as the WHMCS DCImanager module reads them from
// the product's configurable options.
const (
	// OptionOS, OptionOSUpper and OptionOSTemplate all name the OS template.
	// When several are present OptionOSTemplate beats OptionOSUpper, which
	// beats OptionOS.
	OptionOS         = "os"
	OptionOSUpper    = "OS"
	OptionOSTemplate = "ostemplate"
	// OptionRecipe names the recipe run after the OS install.
	OptionRecipe = "recipe"
	// OptionIPv4 is the number of additional IPv4 addresses.
	OptionIPv4 = "IP"
	// OptionIPv6 is the number of additional IPv6 addresses.
	OptionIPv6 = "IPv6"
)

// OrderOptions are the options a customer chose when ordering. Zero values
// mean "not chosen": the tariff default applies, see [Tariff.Resolve].
type OrderOptions struct {
	// OSTemplate is the chosen OS template ID.
	OSTemplate string
	// Recipe is the chosen recipe ("null" explicitly asks for none).
	Recipe string
	// ExtraIPv4 is the number of additional IPv4 addresses (≥ 0).
	ExtraIPv4 int
	// ExtraIPv6 is the number of additional IPv6 addresses (≥ 0).
	ExtraIPv6 int
}

// ParseOrderOptions reads the customer's options from raw, keyed by option
// name (case-sensitive, exactly as listed in the Option… constants; other keys
// are ignored). Values are trimmed of surrounding white space, and an empty
// value counts as not given, so an empty "ostemplate" does not hide a
// non-empty "os".
//
// The IP counts must be non-negative decimal integers; anything else yields
// an *OptionError.
func ParseOrderOptions(raw map[string]string) (OrderOptions, error) {
	var o OrderOptions
	get := func(key string) string { return strings.TrimSpace(raw[key]) }
	for _, key := range []string{OptionOSTemplate, OptionOSUpper, OptionOS} {
		if v := get(key); v != "" {
			o.OSTemplate = v
			break
		}
	}
	o.Recipe = get(OptionRecipe)
	var err error
	if o.ExtraIPv4, err = parseCount(OptionIPv4, raw[OptionIPv4]); err != nil {
		return OrderOptions{}, err
	}
	if o.ExtraIPv6, err = parseCount(OptionIPv6, raw[OptionIPv6]); err != nil {
		return OrderOptions{}, err
	}
	return o, nil
}

func parseCount(key, raw string) (int, error) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return 0, nil
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, &OptionError{Key: key, Value: raw, Reason: "must be a non-negative decimal integer"}
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, &OptionError{Key: key, Value: raw, Reason: "out of range"}
	}
	return n, nil
}
