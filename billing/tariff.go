package billing

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// ProductType is the BILLmanager product type of a tariff plan. The values
// are the internal names used in this package; only "dedic" is (very likely)
// BILLmanager's own item type name, the others are ispkit's choice.
type ProductType string

// The product types named by the vendor documents.
const (
	// ProductDedicatedServer is "Dedicated server", served by DCImanager.
	ProductDedicatedServer ProductType = "dedic"
	// ProductColocation is "Colocation", served by DCImanager. Its set-up and
	// deletion are always manual tasks, see [NeedsManualTask].
	ProductColocation ProductType = "colocation"
	// ProductSharedHosting is shared (virtual) hosting, served by ISPmanager.
	ProductSharedHosting ProductType = "vhost"
	// ProductExternalFTPStorage is "External FTP-storage", an ISPmanager
	// account restricted by its account template; a variant of shared
	// hosting.
	ProductExternalFTPStorage ProductType = "ftpstorage"
)

// Valid reports whether p is one of the declared product types.
func (p ProductType) Valid() bool {
	switch p {
	case ProductDedicatedServer, ProductColocation, ProductSharedHosting, ProductExternalFTPStorage:
		return true
	}
	return false
}

// ServedBy reports whether a processing module of kind k can serve products
// of type p: DCImanager (5 and 6) serves dedicated servers and colocation,
// ISPmanager serves shared hosting and external FTP storage.
func (p ProductType) ServedBy(k ModuleKind) bool {
	switch p {
	case ProductDedicatedServer, ProductColocation:
		return k.IsDCImanager()
	case ProductSharedHosting, ProductExternalFTPStorage:
		return k == KindISPmanager
	}
	return false
}

// DefaultRecipe is the recipe value meaning "run no recipe after the OS
// install"; it is the tariff default.
const DefaultRecipe = "null"

// Tariff is a tariff plan: what is sold and how a processing module sets it
// up. A Tariff is a plain value; a [Catalog] stores copies of it.
type Tariff struct {
	// ID is the tariff's unique, positive ID.
	ID int64
	// Name is the display name.
	Name string
	// ProductType is the kind of product sold.
	ProductType ProductType
	// Modules lists the names of the processing modules connected to the
	// tariff. Their order does not matter: [Catalog.SelectModules] orders
	// them by SortOrder.
	Modules []string

	// ServerConfig is the dedicated-server configuration name (WHMCS
	// "Package Name"), matched against a DCImanager server's chassis
	// template or server type, see [Tariff.MatchesServer].
	ServerConfig string
	// OSTemplate is the default OS template ID, for example
	// "ISPsystem__CentOS-7-amd64" (WHMCS "Operation system"). The customer's
	// order options override it.
	OSTemplate string
	// OSTemplates lists the OS templates the tariff sells (BILLmanager's
	// "Activate required OS templates"), as the panel names them. Empty
	// means no restriction. When set, an order's template must be one of
	// them ([Tariff.CheckOSTemplate], called by [Tariff.Resolve]) and the
	// default OSTemplate must be one of them too. Fill or check it against
	// the panel with [Tariff.SyncOSTemplates].
	OSTemplates []string
	// Recipe is the default recipe run after the OS install; empty means
	// [DefaultRecipe] ("null", none). Local recipes are "#local__<name>",
	// repository recipes "<repo>__<name>".
	Recipe string
	// DontWaitInstall activates the service as soon as the OS install has
	// started instead of when it has finished.
	DontWaitInstall bool
	// IPGroup is the IP address group extra addresses are taken from; empty
	// means [DefaultIPGroup] ("public").
	IPGroup string

	// AccountTemplate is the ISPmanager account template (preset) name. If
	// the template does not exist ISPmanager creates it with unlimited
	// resources.
	AccountTemplate string
	// Limits are the resource limits set by billing. They win over the
	// account template's, see [MergeLimits].
	Limits Limits

	// UsernameTemplate is the username template (macros: @USERNAME@,
	// @DOMAIN@, @ID@, @ACCOUNT_ID@, @TYPE@), see [ExpandTemplate].
	UsernameTemplate string
	// DomainTemplate is the default-domain template, same macros.
	DomainTemplate string

	// License, when set, is the ISPsystem license sold with every server
	// of a dedicated-server tariff (see [LicenseSpec]).
	License *LicenseSpec
}

// Clone returns a deep copy of t.
func (t *Tariff) Clone() *Tariff {
	if t == nil {
		return nil
	}
	c := *t
	c.Modules = slices.Clone(t.Modules)
	c.OSTemplates = slices.Clone(t.OSTemplates)
	c.Limits = t.Limits.Clone()
	c.License = t.License.Clone()
	return &c
}

// EffectiveRecipe returns Recipe, or [DefaultRecipe] when it is empty.
func (t *Tariff) EffectiveRecipe() string {
	if t.Recipe == "" {
		return DefaultRecipe
	}
	return t.Recipe
}

// EffectiveIPGroup returns IPGroup, or [DefaultIPGroup] when it is empty.
func (t *Tariff) EffectiveIPGroup() string {
	if t.IPGroup == "" {
		return DefaultIPGroup
	}
	return t.IPGroup
}

// UsesModule reports whether name is one of t.Modules.
func (t *Tariff) UsesModule(name string) bool {
	return slices.Contains(t.Modules, name)
}

// MatchesServer reports whether a DCImanager server with the given chassis
// template (DCImanager 5 "chassis_templ", "Configuration") and server type
// ("type", for older servers) has the configuration this tariff sells. The
// comparison is exact and case-sensitive, as in the WHMCS module: a server
// matches when either value equals ServerConfig. A tariff without a
// ServerConfig matches no server, and empty server values never match.
func (t *Tariff) MatchesServer(chassisTemplate, serverType string) bool {
	if t == nil || t.ServerConfig == "" {
		return false
	}
	return chassisTemplate == t.ServerConfig || serverType == t.ServerConfig
}

// Validate checks the tariff on its own (that its modules exist is checked by
// [Catalog.AddTariff]) and returns the first problem as a *ArgumentError:
// ID must be positive, Name non-empty, ProductType known, Modules non-empty
// without empty or duplicate names; a dedicated-server tariff needs a
// ServerConfig; OSTemplates (dedicated servers only) has no empty or
// duplicate names and contains the default OSTemplate; the username and
// domain templates must only use known macros; Limits must hold valid names.
func (t *Tariff) Validate() error {
	if t == nil {
		return invalid("Tariff", "nil")
	}
	if t.ID <= 0 {
		return invalid("ID", "must be positive")
	}
	if strings.TrimSpace(t.Name) == "" {
		return invalid("Name", "required")
	}
	if !t.ProductType.Valid() {
		return invalid("ProductType", "unknown product type "+strconv.Quote(string(t.ProductType)))
	}
	if len(t.Modules) == 0 {
		return invalid("Modules", "at least one processing module is required")
	}
	seen := make(map[string]bool, len(t.Modules))
	for _, name := range t.Modules {
		if name == "" {
			return invalid("Modules", "empty module name")
		}
		if seen[name] {
			return invalid("Modules", "duplicate module "+strconv.Quote(name))
		}
		seen[name] = true
	}
	if t.ProductType == ProductDedicatedServer && t.ServerConfig == "" {
		return invalid("ServerConfig", "required for dedicated servers")
	}
	if err := t.validateOSTemplates(); err != nil {
		return err
	}
	if t.License != nil {
		if t.ProductType != ProductDedicatedServer {
			return invalid("License", "only dedicated-server tariffs sell a license with the server")
		}
		if err := t.License.Validate(); err != nil {
			return err
		}
	}
	for field, tmpl := range map[string]string{"UsernameTemplate": t.UsernameTemplate, "DomainTemplate": t.DomainTemplate} {
		if err := checkTemplate(tmpl); err != nil {
			return invalid(field, err.Error())
		}
	}
	for _, name := range t.Limits.Names() {
		if err := checkLimitName(name); err != nil {
			return invalid("Limits", err.Error())
		}
	}
	return nil
}

// ResolvedOrder is what a processing module needs to set up one order: the
// tariff defaults with the customer's options applied.
type ResolvedOrder struct {
	// TariffID is the tariff the order was resolved against.
	TariffID int64
	// ProductType is the tariff's product type.
	ProductType ProductType
	// ServerConfig is the dedicated-server configuration to allocate.
	ServerConfig string
	// OSTemplate is the OS template to install (customer's choice, else the
	// tariff default).
	OSTemplate string
	// Recipe is the recipe to run after the install; "null" means none.
	Recipe string
	// ExtraIPv4 is the number of additional IPv4 addresses ordered.
	ExtraIPv4 int
	// ExtraIPv6 is the number of additional IPv6 addresses ordered.
	ExtraIPv6 int
	// IPGroup is the IP address group to allocate addresses from.
	IPGroup string
	// DontWaitInstall activates the service once the install has started.
	DontWaitInstall bool
	// AccountTemplate is the ISPmanager account template.
	AccountTemplate string
	// Limits is a copy of the tariff's limits (to merge with the account
	// template's using [MergeLimits]).
	Limits Limits
}

// Resolve combines the tariff defaults with the customer's order options:
//
//   - OSTemplate and Recipe: the customer's choice when given, else the
//     tariff's; the recipe defaults to "null";
//   - ExtraIPv4 and ExtraIPv6 come from the options only;
//   - everything else comes from the tariff (IP group defaulting to
//     "public").
//
// A dedicated-server order without any OS template fails with a
// *ArgumentError for "OSTemplate"; one whose template the tariff does not
// sell (see [Tariff.OSTemplates]) with an *OSTemplateError. OS, recipe and IP options on a shared
// hosting, FTP storage or colocation tariff are refused with a
// *ArgumentError (no source defines them for those products), as are
// negative IP counts in a hand-built opts.
func (t *Tariff) Resolve(opts OrderOptions) (ResolvedOrder, error) {
	if t == nil {
		return ResolvedOrder{}, invalid("Tariff", "nil")
	}
	if opts.ExtraIPv4 < 0 {
		return ResolvedOrder{}, invalid("ExtraIPv4", "must not be negative")
	}
	if opts.ExtraIPv6 < 0 {
		return ResolvedOrder{}, invalid("ExtraIPv6", "must not be negative")
	}
	r := ResolvedOrder{
		TariffID:        t.ID,
		ProductType:     t.ProductType,
		ServerConfig:    t.ServerConfig,
		IPGroup:         t.EffectiveIPGroup(),
		DontWaitInstall: t.DontWaitInstall,
		AccountTemplate: t.AccountTemplate,
		Limits:          t.Limits.Clone(),
	}
	if t.ProductType != ProductDedicatedServer {
		switch {
		case opts.OSTemplate != "":
			return ResolvedOrder{}, invalid("OSTemplate", "only dedicated-server orders take an OS template")
		case opts.Recipe != "":
			return ResolvedOrder{}, invalid("Recipe", "only dedicated-server orders take a recipe")
		case opts.ExtraIPv4 != 0 || opts.ExtraIPv6 != 0:
			return ResolvedOrder{}, invalid("ExtraIPv4", "only dedicated-server orders take extra IP addresses")
		}
		return r, nil
	}
	r.OSTemplate = cmp.Or(opts.OSTemplate, t.OSTemplate)
	if r.OSTemplate == "" {
		return ResolvedOrder{}, invalid("OSTemplate", "neither the order nor the tariff names an OS template")
	}
	if err := t.CheckOSTemplate(r.OSTemplate); err != nil {
		return ResolvedOrder{}, err
	}
	r.Recipe = cmp.Or(opts.Recipe, t.EffectiveRecipe())
	r.ExtraIPv4 = opts.ExtraIPv4
	r.ExtraIPv6 = opts.ExtraIPv6
	return r, nil
}
