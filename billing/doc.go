// Package billing is the billing-side model of ispkit: the BILLmanager (and
// WHMCS) view of processing modules, tariff plans, customer orders, services
// and their lifecycle, username and domain generation, and ISPmanager
// resource limits. It is pure Go: it performs no HTTP and talks to no panel.
// The panel clients and the provisioning engine build on it.
//
// # Model
//
//   - A [DataCenter] has a name, a sort order and, when it is "DCImanager 6
//     managed", the DCImanager 6 location its servers come from.
//   - A [Module] is a processing module: the connection to one panel
//     (DCImanager 5, DCImanager 6 or ISPmanager) plus its sort order,
//     department, data center, error recipient, DCImanager "new server
//     type" option and optional IPmanager link. Its password never appears
//     when it is printed with fmt or logged with log/slog.
//   - A [Tariff] is a tariff plan: product type, connected modules, the
//     dedicated-server configuration, the OS templates it sells and its
//     default, the recipe, the ISPmanager account template and [Limits], and
//     the username and domain templates. [Tariff.CheckOSTemplate] refuses a
//     template the tariff does not sell; [Tariff.SyncOSTemplates] fills or
//     checks the list against the panel's.
//   - A [Catalog] stores data centers, modules and tariffs safely for
//     concurrent use, picks the modules for a tariff
//     ([Catalog.SelectModules]: data-center sort order, then module sort
//     order) and gives a DCImanager 6 module its location
//     ([Catalog.LocationID]).
//   - [ParseOrderOptions] reads the customer's options and [Tariff.Resolve]
//     combines them with the tariff defaults into a [ResolvedOrder].
//   - A [Service] moves through [Status] values following a fixed transition
//     table; [Service.Transition] returns an [Event] (EventWelcome on the
//     first activation).
//   - [ExpandTemplate], [SanitizeUsername], [Candidates] and [UniqueName]
//     generate panel usernames and domains.
//   - A [Notifier] delivers the [WelcomeMessage] (the service's properties,
//     after activation) and the [FailureMessage] (a failure that needs
//     staff, addressed to the module's ErrorRecipient); [WelcomeTemplate]
//     renders a welcome message from a Go text/template.
//   - [MergeLimits] merges template and tariff limits; [NeedsManualTask] and
//     [OnConfigUnavailable] decide when work becomes a [ManualTask].
//
// # Errors
//
// Bad input is reported with typed errors: *[ArgumentError] (ispkit's shared
// type: field and reason, never the value), *[OSTemplateError],
// *[OptionError], *[MacroError], *[LimitError], *[TransitionError],
// *[ModuleInUseError], *[DataCenterInUseError] and *[ExhaustedError]. Where
// a category exists they unwrap to a sentinel ([ErrModuleInUse],
// [ErrDataCenterInUse], [ErrOSTemplateNotSold], [ErrUnknownMacro],
// [ErrEmptyMacro], [ErrNamesExhausted]); look-ups use [ErrNotFound] and
// [ErrExists], wrapped with the key.
//
// # Behaviour chosen where the sources are silent
//
// The vendor documents describe the panels' behaviour only in prose. Where
// they say nothing, this package chooses as follows:
//
//   - Module kinds and product types are ispkit's own string values; only
//     "dedic" is (probably) BILLmanager's item type name. DCImanager modules
//     serve dedicated servers and colocation, ISPmanager modules serve shared
//     hosting and external FTP storage; [Catalog.AddTariff] refuses other
//     pairings.
//   - Data centers: a DCImanager 6 module must belong to a DCImanager 6
//     managed data center (the vendor's setup creates that first); other
//     modules may belong to any data center or to none. A data center that
//     is not DCImanager 6 managed may not carry a location ID. Turning the
//     management off or removing a data center is refused while modules
//     that need it belong to it.
//   - SelectModules breaks data-center sort-order ties by data-center name
//     and module ties by module name; a module without a data center counts
//     as being in an unnamed data center of sort order 0.
//   - OS templates: an empty list sells every template; names compare
//     exactly; the default must be listed; a sync fills only an empty list
//     and never removes a listed template.
//   - Module validation: NewServerType exists only for DCImanager modules
//     and then requires a Department (it receives the assembly tasks); the
//     IPmanager link is accepted only for DCImanager 5 (IPmanager is a mgr5
//     product). Unknown module names in a tariff are skipped by
//     SelectModules (AddTariff refuses them in the first place).
//   - Besides NewServerType (the only change the vendor forbids while a
//     tariff uses the module), changing a used module's Kind and removing a
//     used module are refused with [ErrModuleInUse] too.
//   - [Tariff.MatchesServer] compares exactly and case-sensitively (the
//     WHMCS module uses equality); an empty configuration matches nothing.
//   - Order options: empty values count as absent; the IP counts must be
//     non-negative decimal integers. OS, recipe and IP options are only
//     accepted for dedicated servers, and a dedicated-server order must end
//     up with an OS template.
//   - [SanitizeUsername] keeps letter case (the vendor text only says special
//     characters are removed). Lengths in [NextCandidate] count runes; the
//     base is trimmed and the numeric suffix kept, and no separator is
//     inserted (user_665 → user_6651), as in BILLmanager's retry example.
//     [UniqueName] checks at most [MaxNameAttempts] names.
//   - [ExpandTemplate] treats an '@' that does not open an @UPPER_CASE@ macro
//     as literal text, rejects unknown macros, and rejects macros whose value
//     is empty (or an ID of zero) instead of producing a half-filled name.
//   - [Limits] stores names without the "limit_" prefix and accepts both
//     spellings; a present but empty value counts as set and wins in
//     [MergeLimits].
//   - Status names are those of BILLmanager's service list; the numeric
//     codes of [Status.Code] are inferred from public module code. A service
//     never transitions to its own status; Deleted can only go to Processing
//     (reopen).
//   - Colocation is always a manual task; an unavailable configuration is a
//     manual task only for DCImanager modules with NewServerType.
//
// The BILLmanager processing-module protocol (the command line and XML a
// module binary speaks) lives in the sub-package billing/billmgr.
package billing
